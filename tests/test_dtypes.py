"""dtype promotion (promote_types, result_type), conversions (.to and friends), default dtype."""
import itertools
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _helpers import assert_close, check_fwd_bwd, raises, torch_mod, torch_or_none  # noqa: E402,F401

import neurarust as nr  # noqa: E402

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
PAIRS = list(itertools.product(NAMES, NAMES))


def _nr(name):
    return getattr(nr, name)


def _tensor(module, name, ndim):
    return module.ones((2,) * ndim, dtype=getattr(module, name))


# torch's promotion lattice, spelled out so the check also runs without torch: within a
# category the wider type wins; uint8 with a signed int goes to the next signed width that
# holds both; a higher category (bool < integer < floating) always wins.
def _expected_promotion(a, b):
    order = {"bool": 0, "uint8": 1, "int8": 1, "int16": 1, "int32": 1, "int64": 1,
             "float16": 2, "float32": 2, "float64": 2}
    if order[a] != order[b]:
        return a if order[a] > order[b] else b
    if a == b:
        return a
    if order[a] == 2:
        return max(a, b, key=lambda n: int(n[5:]))
    if "uint8" in (a, b):
        other = b if a == "uint8" else a
        return "int16" if other == "int8" else other
    return max(a, b, key=lambda n: int(n[3:]))


@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_promote_types_every_pair(a, b):
    got = nr.promote_types(_nr(a), _nr(b))
    assert got is _nr(_expected_promotion(a, b))
    assert got is nr.promote_types(_nr(b), _nr(a))  # symmetric
    torch = torch_or_none()
    if torch is not None:
        assert str(torch.promote_types(getattr(torch, a), getattr(torch, b))) == f"torch.{got.name}"


@pytest.mark.parametrize("dims", [(1, 1), (1, 0), (0, 1), (0, 0)],
                         ids=["tensor-tensor", "tensor-0d", "0d-tensor", "0d-0d"])
def test_result_type_of_tensor_pairs_matches_torch(torch_mod, dims):
    for a, b in PAIRS:
        got = nr.result_type(_tensor(nr, a, dims[0]), _tensor(nr, b, dims[1]))
        expected = torch_mod.result_type(_tensor(torch_mod, a, dims[0]), _tensor(torch_mod, b, dims[1]))
        assert str(expected) == f"torch.{got.name}", (a, b, dims)


@pytest.mark.parametrize("scalar", [True, 1, -1, 1000, 2.5, 1e300])
def test_result_type_with_python_scalars_matches_torch(torch_mod, scalar):
    for name in NAMES:
        for ndim in (0, 1):
            got = nr.result_type(_tensor(nr, name, ndim), scalar)
            expected = torch_mod.result_type(_tensor(torch_mod, name, ndim), scalar)
            assert str(expected) == f"torch.{got.name}", (name, ndim, scalar)


def test_result_type_rules_without_torch():
    # A dimensioned tensor decides within its category...
    assert nr.result_type(nr.ones(2, dtype=nr.uint8), 1000) is nr.uint8
    assert nr.result_type(nr.ones(2, dtype=nr.int8), nr.tensor(1, dtype=nr.int64)) is nr.int8
    assert nr.result_type(nr.ones(2, dtype=nr.float16), nr.tensor(1.0, dtype=nr.float64)) is nr.float16
    # ...a higher-category scalar picks its category's default, a higher-category 0-d tensor keeps its dtype.
    assert nr.result_type(nr.ones(2, dtype=nr.int32), 2.5) is nr.float32
    assert nr.result_type(nr.ones(2, dtype=nr.int32), nr.tensor(2.5, dtype=nr.float64)) is nr.float64
    assert nr.result_type(nr.ones(2, dtype=nr.bool), 3) is nr.int64
    assert nr.result_type(nr.tensor(1, dtype=nr.int8), nr.tensor(1, dtype=nr.int16)) is nr.int16
    assert nr.result_type(2, 2.5) is nr.float32 and nr.result_type(True, False) is nr.bool
    assert (nr.ones(2, dtype=nr.int32) * 2.5).dtype is nr.float32  # ops follow result_type
    assert (nr.ones(2, dtype=nr.uint8) + nr.tensor(300)).dtype is nr.uint8
    with raises(nr.DTypeError, "result_type"):
        nr.result_type()


# ---------------------------------------------------------------------- conversions
VALUES = np.array([-1.7, -0.5, 0.0, 0.5, 2.9, 300.2], np.float32)

CONVERSIONS = [
    ("to_int32", lambda t: t.to(nr.int32), np.int32),
    ("int", lambda t: t.int(), np.int32),
    ("long", lambda t: t.long(), np.int64),
    ("bool", lambda t: t.bool(), np.bool_),
    ("half", lambda t: t.half(), np.float16),
    ("double", lambda t: t.double(), np.float64),
    ("float", lambda t: t.double().float(), np.float32),
    ("to_keyword", lambda t: t.to(dtype=nr.float64), np.float64),
    ("to_device_and_dtype", lambda t: t.to("cpu", nr.int16), np.int16),
    ("to_other_tensor", lambda t: t.to(nr.zeros(1, dtype=nr.int8)), np.int8),
    ("type_as", lambda t: t.type_as(nr.zeros(1, dtype=nr.int64)), np.int64),
    ("type", lambda t: t.type(nr.float64), np.float64),
]


@pytest.mark.parametrize("name,convert,np_dtype", CONVERSIONS, ids=[c[0] for c in CONVERSIONS])
def test_conversions_match_numpy_casts(name, convert, np_dtype):
    # float -> int truncates toward zero, as C casts (numpy and torch both do).
    got = convert(nr.tensor(VALUES))
    assert got.dtype.numpy == np.dtype(np_dtype)
    np.testing.assert_array_equal(got.numpy(), VALUES.astype(np_dtype))
    transposed = convert(nr.tensor(VALUES.reshape(2, 3)).t())
    np.testing.assert_array_equal(transposed.numpy(), VALUES.reshape(2, 3).T.astype(np_dtype))


def test_integer_conversions_wrap_like_torch():
    assert nr.tensor([-1, 256, 3]).to(nr.uint8).tolist() == [255, 0, 3]
    assert nr.tensor([127, 128, -129]).to(nr.int8).tolist() == [127, -128, 127]
    assert nr.tensor([True, False]).to(nr.float64).tolist() == [1.0, 0.0]
    assert nr.tensor([70000.0, 1e-8]).half().tolist() == [float("inf"), 0.0]


def test_to_returns_self_unless_something_changes():
    t = nr.ones(3)
    assert t.to(nr.float32) is t and t.to("cpu") is t and t.float() is t and t.type_as(t) is t
    copy = t.to(nr.float32, copy=True)
    assert copy is not t and copy.data_ptr() != t.data_ptr()
    assert t.type() == "neurarust.FloatTensor" and nr.ones(1, dtype=nr.int64).type() == "neurarust.LongTensor"


def test_conversion_gradients():
    # A float -> float conversion passes the gradient back in the source dtype.
    check_fwd_bwd(lambda x: x.to(nr.float64) * 3, lambda x: x.astype(np.float64) * 3,
                  lambda x: x.double() * 3, [np.array([1.5, -2.0, 0.25], np.float32)])
    x = nr.ones(2, requires_grad=True)
    (x.double() * nr.tensor([2.0, 3.0], dtype=nr.float64)).sum().backward()
    assert x.grad.dtype is nr.float32 and x.grad.tolist() == [2.0, 3.0]
    assert not nr.ones(2, requires_grad=True).long().requires_grad  # integers carry no gradient
    half = nr.ones(2, requires_grad=True).half()
    assert half.requires_grad and half.dtype is nr.float16


# -------------------------------------------------------------------- default dtype
@pytest.fixture
def float64_default():
    previous = nr.get_default_dtype()
    nr.set_default_dtype(nr.float64)
    yield
    nr.set_default_dtype(previous)


def test_set_default_dtype_changes_every_float_factory(float64_default):
    assert nr.get_default_dtype() is nr.float64
    assert nr.tensor(1.5).dtype is nr.float64 and nr.tensor([1, 2.5]).dtype is nr.float64
    assert nr.tensor([1, 2]).dtype is nr.int64  # ints are not affected
    for make in (lambda: nr.zeros(2), lambda: nr.ones(2), lambda: nr.empty(2), lambda: nr.full((2,), 1.5),
                 lambda: nr.arange(0.0, 1.0, 0.5), lambda: nr.linspace(0, 1, 3), lambda: nr.eye(2),
                 lambda: nr.rand(2), lambda: nr.randn(2)):
        assert make().dtype is nr.float64
    assert (nr.ones(2, dtype=nr.int32) * 2.5).dtype is nr.float64
    assert (nr.arange(3) / 2).dtype is nr.float64
    assert nr.result_type(nr.ones(2, dtype=nr.int64), 1.0) is nr.float64
    # repr hides the default dtype and shows the others.
    assert repr(nr.tensor([1.5])) == "tensor([1.5000])"
    assert repr(nr.tensor([1.5], dtype=nr.float32)) == "tensor([1.5000], dtype=neurarust.float32)"


def test_set_default_dtype_matches_torch(torch_mod, float64_default):
    previous = torch_mod.get_default_dtype()
    torch_mod.set_default_dtype(torch_mod.float64)
    try:
        for make in (lambda M: M.tensor([1, 2.5]), lambda M: M.ones(2, dtype=M.int32) * 2.5,
                     lambda M: M.arange(3) / 2, lambda M: M.tensor([1.5], dtype=M.float32)):
            assert repr(make(nr)) == repr(make(torch_mod)).replace("torch.", "neurarust.")
    finally:
        torch_mod.set_default_dtype(previous)


def test_default_dtype_is_restored_and_validated():
    assert nr.get_default_dtype() is nr.float32  # the fixture above put it back
    with raises(nr.DTypeError, "set_default_dtype", "int32"):
        nr.set_default_dtype(nr.int32)
    assert nr.get_default_dtype() is nr.float32
    with raises(nr.DTypeError, "unsupported dtype", "complex"):
        nr.zeros(2, dtype="complex64")
