"""Tensor creation: dtype inference, zero-copy NumPy interop, factories, ranges, conversions, repr."""
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import assert_close, raises, torch_mod, torch_or_none  # noqa: E402,F401

import neurarust as nr  # noqa: E402

ALL_NUMPY_DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32,
                    np.float64]


# ------------------------------------------------------------------------ tensor()
# data (given the module, for nested tensors), the dtype torch infers
INFERENCE_CASES = [
    ("bools", lambda M: [True, False], "bool"),
    ("ints", lambda M: [1, 2, 3], "int64"),
    ("floats", lambda M: [1.0, 2.0], "float32"),
    ("bool_and_int", lambda M: [True, 2], "int64"),
    ("int_and_float", lambda M: [[1, 2.5], [3, 4]], "float32"),
    ("bool_and_float", lambda M: [True, 2.5], "float32"),
    ("python_int", lambda M: 3, "int64"),
    ("python_float", lambda M: 3.5, "float32"),
    ("python_bool", lambda M: False, "bool"),
    ("empty_list", lambda M: [], "float32"),
    ("nested_empty", lambda M: [[], []], "float32"),
    ("tuple", lambda M: (1, 2), "int64"),
    ("numpy_float64_scalars", lambda M: [np.float64(1.5), np.float64(2.0)], "float64"),
    ("numpy_int32_scalar_list", lambda M: [np.int32(1)], "int32"),
    ("numpy_float32_and_float", lambda M: [np.float32(1.5), 2.0], "float32"),
    ("tensors_0d", lambda M: [M.tensor(1.0), M.tensor(2.0)], "float32"),
    ("tensors_0d_float64", lambda M: [M.tensor(1.0, dtype=M.float64)], "float64"),
    ("tensor_int32_and_int", lambda M: [M.tensor(1, dtype=M.int32), 2], "int64"),
    ("tensor_input", lambda M: M.tensor([1.0, 2.0], dtype=M.float64), "float64"),
]


@pytest.mark.filterwarnings("ignore:To copy construct from a tensor")
@pytest.mark.parametrize("name,data,expected", INFERENCE_CASES, ids=[c[0] for c in INFERENCE_CASES])
def test_tensor_dtype_inference(name, data, expected):
    raw = data(nr)
    t = nr.tensor(raw)
    assert t.dtype.name == expected
    if isinstance(raw, nr.Tensor):
        raw = raw.tolist()
    elif isinstance(raw, list):
        raw = [v.item() if isinstance(v, nr.Tensor) else v for v in raw]
    np.testing.assert_array_equal(t.numpy(), np.asarray(raw, dtype=t.dtype.numpy))
    torch = torch_or_none()
    if torch is not None:
        assert str(torch.tensor(data(torch)).dtype) == f"torch.{expected}"


@pytest.mark.parametrize("np_dtype", ALL_NUMPY_DTYPES)
def test_numpy_arrays_and_scalars_keep_their_dtype(np_dtype):
    arr = (np.arange(6) % 3).astype(np_dtype).reshape(2, 3)
    t = nr.tensor(arr)
    assert t.dtype.numpy == np.dtype(np_dtype)
    np.testing.assert_array_equal(t.numpy(), arr)
    assert t.data_ptr() != arr.ctypes.data  # tensor() always copies
    assert nr.tensor(arr[0, 1]).dtype.numpy == np.dtype(np_dtype)  # numpy scalar


def test_tensor_with_dtype_converts_like_torch():
    assert nr.tensor([1.7, -1.7], dtype=nr.int32).tolist() == [1, -1]  # truncation toward zero
    assert nr.tensor([0, 2], dtype=nr.bool).tolist() == [False, True]
    assert nr.tensor(np.arange(3), dtype=nr.float16).dtype is nr.float16
    assert nr.tensor([1, 2], dtype="float64").dtype is nr.float64


@pytest.mark.parametrize("data,kwargs,exc,fragments", [
    ([[1, 2], [3]], {}, nr.ShapeError, ("tensor()",)),
    (["a"], {}, nr.DTypeError, ("tensor()", "U1")),
    ([2 ** 63], {}, nr.DTypeError, ("9223372036854775808", "int64", "overflow")),
    ([float("nan")], {"dtype": nr.int64}, nr.DTypeError, ("non-finite", "int64")),
])
def test_tensor_errors(data, kwargs, exc, fragments):
    with raises(exc, *fragments):
        nr.tensor(data, **kwargs)


# ----------------------------------------------------------------- NumPy zero-copy
@pytest.mark.parametrize("make_view", [
    lambda a: a,
    lambda a: a[:, ::2],
    lambda a: a.T,
    lambda a: a[1:, 1:3],
    lambda a: a[:, ::2].T,
    lambda a: np.asfortranarray(a),
    lambda a: a[1],
], ids=["contiguous", "step", "transposed", "offset", "step_transposed", "fortran", "row"])
def test_from_numpy_shares_memory_with_strided_views(make_view):
    base = np.arange(12.0).reshape(3, 4)
    arr = make_view(base)
    t = nr.from_numpy(arr)
    assert t.shape == arr.shape and t.dtype is nr.float64
    assert t.stride() == tuple(s // 8 for s in arr.strides)
    assert t.data_ptr() == arr.ctypes.data
    assert t.is_contiguous() == arr.flags.c_contiguous
    np.testing.assert_array_equal(t.numpy(), arr)
    arr[(0,) * arr.ndim] = -7.0
    assert t[(0,) * arr.ndim].item() == -7.0
    t[(-1,) * arr.ndim] = 42.0
    assert arr[(-1,) * arr.ndim] == 42.0
    assert np.shares_memory(t.numpy(), arr)


def test_from_numpy_errors():
    with raises(nr.ShapeError, "from_numpy", "negative"):
        nr.from_numpy(np.arange(4.0)[::-1])
    with raises(ValueError, "negative"):  # torch raises ValueError here too
        nr.from_numpy(np.arange(6.0).reshape(2, 3)[:, ::-2])
    with raises(nr.DTypeError, "from_numpy", "uint16"):
        nr.from_numpy(np.zeros(2, np.uint16))
    with raises(nr.DTypeError, "from_numpy"):
        nr.from_numpy(np.zeros(2, ">f4"))
    with raises(TypeError, "from_numpy", "list"):
        nr.from_numpy([1.0, 2.0])


def test_as_tensor_shares_memory_only_without_conversion():
    arr = np.arange(4.0)
    shared = nr.as_tensor(arr)
    assert shared.data_ptr() == arr.ctypes.data
    arr[0] = 10.0
    assert shared[0].item() == 10.0
    assert nr.as_tensor(arr, dtype=nr.float64).data_ptr() == arr.ctypes.data
    converted = nr.as_tensor(arr, dtype=nr.float32)
    assert converted.data_ptr() != arr.ctypes.data and converted.dtype is nr.float32
    t = nr.ones(2)
    assert nr.as_tensor(t) is t
    assert nr.as_tensor(t, dtype=nr.float64).dtype is nr.float64
    assert nr.as_tensor([1, 2]).dtype is nr.int64


def test_numpy_method_is_zero_copy_for_views():
    x = nr.arange(6, dtype=nr.float64).view(2, 3)
    for view in (x, x.t(), x[:, 1:], x[:, ::2], x.expand(2, 2, 3)):
        arr = view.numpy()
        assert arr.ctypes.data == view.data_ptr()
        assert arr.strides == tuple(8 * s for s in view.stride())
        np.testing.assert_array_equal(arr, np.array(view.tolist()))
    x.t().numpy()[2, 0] = -3.0
    assert x[0, 2].item() == -3.0
    with raises(nr.AutogradError, "requires grad", "detach"):
        nr.ones(2, requires_grad=True).numpy()
    assert nr.ones(2, requires_grad=True).detach().numpy().tolist() == [1.0, 1.0]


def test_array_protocol_tolist_and_item():
    x = nr.tensor([[1.5, 2.0]], requires_grad=True)
    arr = np.asarray(x)  # __array__ detaches, as torch's does not need to
    assert arr.dtype == np.float32 and arr.tolist() == [[1.5, 2.0]]
    assert np.asarray(nr.tensor([1, 2]), dtype=np.float64).dtype == np.float64
    assert nr.arange(6).view(2, 3).t().tolist() == [[0, 3], [1, 4], [2, 5]]
    assert nr.zeros(0, 2).tolist() == []
    assert nr.tensor(2.5).tolist() == 2.5
    assert nr.tensor([True]).tolist() == [True]
    for value, kind in ((nr.tensor([[3]]), int), (nr.tensor(2.5), float), (nr.tensor([True]), bool)):
        assert type(value.item()) is kind
    assert nr.tensor(np.float32(0.1)).item() == float(np.float32(0.1))
    with raises(nr.ShapeError, "2 elements", "Scalar"):
        nr.tensor([1, 2]).item()
    assert float(nr.tensor([2.5])) == 2.5 and int(nr.tensor(7)) == 7 and bool(nr.tensor([1]))
    with raises(nr.ShapeError, "ambiguous"):
        bool(nr.tensor([1, 2]))


# --------------------------------------------------------------------- factories
@pytest.mark.parametrize("factory,fill", [(nr.zeros, 0), (nr.ones, 1), (nr.empty, None)])
def test_filled_factories_shapes_and_dtypes(factory, fill):
    for args in ((2, 3), ((2, 3),), ([2, 3],)):
        t = factory(*args)
        assert t.shape == (2, 3) and t.dtype is nr.float32 and t.is_contiguous()
        if fill is not None:
            np.testing.assert_array_equal(t.numpy(), np.full((2, 3), fill, np.float32))
    assert factory(()).shape == () and factory(0, 3).shape == (0, 3)
    for dtype in (nr.int32, nr.bool, nr.float16, nr.uint8):
        assert factory(2, dtype=dtype).dtype is dtype
    assert factory(2, requires_grad=True).requires_grad
    with raises(nr.ShapeError, factory.__name__, "-1"):
        factory(2, -1)


def test_full_infers_its_dtype_from_the_fill_value():
    assert nr.full((2,), 3).dtype is nr.int64
    assert nr.full((2,), True).dtype is nr.bool
    assert nr.full((2,), 1.5).dtype is nr.float32
    assert nr.full((2,), 1.5, dtype=nr.int64).tolist() == [1, 1]
    assert nr.full((), 7).shape == ()
    assert nr.full((2, 1), nr.tensor(2.0)).tolist() == [[2.0], [2.0]]
    torch = torch_or_none()
    if torch is not None:
        for fill in (3, True, 1.5):
            assert str(torch.full((2,), fill).dtype).split(".")[1] == nr.full((2,), fill).dtype.name


def test_like_factories_keep_shape_dtype_unless_told():
    src = nr.ones(2, 3, dtype=nr.int32)
    for fn, value in ((nr.zeros_like, 0), (nr.ones_like, 1), (lambda t, **k: nr.full_like(t, 2.7, **k), 2)):
        out = fn(src)
        assert out.shape == (2, 3) and out.dtype is nr.int32
        np.testing.assert_array_equal(out.numpy(), np.full((2, 3), value, np.int32))  # 2.7 truncated
        assert fn(src, dtype=nr.float64).dtype is nr.float64
    empty = nr.empty_like(src.t())
    assert empty.shape == (3, 2) and empty.dtype is nr.int32
    assert nr.zeros_like(nr.ones(2), requires_grad=True).requires_grad


@pytest.mark.parametrize("args,kwargs", [
    ((5,), {}), ((2, 7), {}), ((5, 0, -2), {}), ((0, 1, 0.25), {}), ((1.0, 4), {}),
    ((1, -1, -0.5), {}), ((3, 3), {}), ((-1.0, 1.0, 0.3), {}), ((5,), {"dtype": "float64"}),
    ((10,), {"dtype": "int8"}), ((0, 10, 3), {"dtype": "float32"}),
])
def test_arange(args, kwargs):
    got = nr.arange(*args, **{k: getattr(nr, v) for k, v in kwargs.items()})
    float_args = any(isinstance(a, float) for a in args)
    expected_dtype = kwargs.get("dtype", "float32" if float_args else "int64")
    assert got.dtype.name == expected_dtype
    assert_close(got, np.arange(*args, dtype=np.float64).astype(expected_dtype), rtol=1e-6, atol=1e-6)
    torch = torch_or_none()
    if torch is not None:
        assert_close(got, torch.arange(*args, **{k: getattr(torch, v) for k, v in kwargs.items()}))


@pytest.mark.parametrize("args,fragments", [
    ((0, 3, 0), ("arange", "step", "nonzero")),
    ((0, 3, -1), ("arange", "inconsistent", "start=0", "end=3", "step=-1")),
    ((3, 0), ("arange", "inconsistent")),
    ((0, float("inf")), ("arange", "inf")),
])
def test_arange_errors(args, fragments):
    with raises(nr.ShapeError, *fragments):
        nr.arange(*args)


def test_linspace_logspace_eye():
    assert_close(nr.linspace(0, 1, 5), np.linspace(0, 1, 5).astype(np.float32))
    assert_close(nr.linspace(-1, 1, 4, dtype=nr.float64), np.linspace(-1, 1, 4))
    assert nr.linspace(2, 3, 1).tolist() == [2.0] and nr.linspace(2, 3, 0).shape == (0,)
    assert nr.linspace(0, 10, 4, dtype=nr.int64).tolist() == [0, 3, 6, 10]
    assert_close(nr.logspace(0, 2, 3), np.array([1.0, 10.0, 100.0], np.float32))
    assert_close(nr.logspace(-1, 1, 3, base=2), np.array([0.5, 1.0, 2.0], np.float32))
    assert_close(nr.eye(3), np.eye(3, dtype=np.float32))
    assert_close(nr.eye(2, 3, dtype=nr.int64), np.eye(2, 3, dtype=np.int64))
    assert nr.eye(0).shape == (0, 0)
    with raises(nr.ShapeError, "linspace", "-1"):
        nr.linspace(0, 1, -1)
    with raises(nr.ShapeError, "logspace", "-2"):
        nr.logspace(0, 1, -2)
    with raises(nr.ShapeError, "eye", "n=-1"):
        nr.eye(-1)
    torch = torch_or_none()
    if torch is not None:
        assert_close(nr.linspace(-1, 1, 4), torch.linspace(-1, 1, 4))
        assert_close(nr.logspace(-1, 1, 3, base=2), torch.logspace(-1, 1, 3, base=2))
        assert_close(nr.eye(2, 3), torch.eye(2, 3))


# --------------------------------------------------------------------------- repr
REPR_CASES = [
    lambda M: M.tensor([1.0, 2.0, 3.0]),
    lambda M: M.tensor([1.5, -2.25, 100.0]),
    lambda M: M.tensor([[1, 2], [300, -4]]),
    lambda M: M.tensor([True, False]),
    lambda M: M.tensor(3.5),
    lambda M: M.tensor(3),
    lambda M: M.tensor([1.0, 2.0], dtype=M.float64),
    lambda M: M.tensor([1, 2], dtype=M.int32),
    lambda M: M.tensor([1.0, 2.0], dtype=M.float16),
    lambda M: M.tensor([1.0, 2.0], requires_grad=True),
    lambda M: M.tensor([1.0, 2.0], requires_grad=True) * 2,
    lambda M: M.tensor([1.0, 2.0], requires_grad=True).sum(),
    lambda M: M.ones(3, dtype=M.float64, requires_grad=True),
    lambda M: M.zeros(0),
    lambda M: M.zeros(2, 0, dtype=M.int32),
    lambda M: M.tensor([1e-5, 1.0]),
    lambda M: M.tensor([float("nan"), float("inf"), -float("inf"), 1.5]),
    lambda M: M.arange(12.0).view(3, 4) / 7,
    lambda M: M.arange(24).view(2, 3, 4),
    lambda M: M.arange(30.0).view(3, 10) * 1.5,  # wraps rows at 80 columns
    lambda M: M.arange(2000.0).view(40, 50),  # summarized with "..."
    lambda M: (M.arange(20.0) * 1.5).to(M.float64),  # dtype suffix after a wrapped body
    lambda M: M.tensor([[1.0, 2.0]]).t(),
]


@pytest.mark.parametrize("index", range(len(REPR_CASES)))
def test_repr_matches_torch(torch_mod, index):
    make = REPR_CASES[index]
    assert repr(make(nr)) == repr(make(torch_mod)).replace("torch.", "neurarust.")


def test_repr_known_text():
    # torch's output for these, written out so the check also runs without torch.
    assert repr(nr.tensor([1.5, -2.25, 100.0])) == "tensor([  1.5000,  -2.2500, 100.0000])"
    assert repr(nr.tensor([[1, 2], [300, -4]])) == "tensor([[  1,   2],\n        [300,  -4]])"
    assert repr(nr.tensor([True, False])) == "tensor([ True, False])"
    assert repr(nr.tensor([1.0, 2.0], requires_grad=True) * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr(nr.zeros(2, 0, dtype=nr.int32)) == "tensor([], size=(2, 0), dtype=neurarust.int32)"
    assert repr(nr.tensor([1, 2], dtype=nr.int32)) == "tensor([1, 2], dtype=neurarust.int32)"
    assert str(nr.tensor(2.0, dtype=nr.float64, requires_grad=True)) == (
        "tensor(2., dtype=neurarust.float64, requires_grad=True)")
    # Rows wrap after as many padded elements as fit in 80 columns after the indent.
    assert repr(nr.arange(10.0) * 1.5) == (
        "tensor([ 0.0000,  1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000,\n"
        "        12.0000, 13.5000])")
    assert repr((nr.arange(9.0) * 1.5).double()) == (
        "tensor([ 0.0000,  1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000,\n"
        "        12.0000], dtype=neurarust.float64)")
