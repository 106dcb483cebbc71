"""View ops: values and gradients against NumPy and torch, layouts, shared storage, errors.

Each op is checked by ``check_both`` in every layout (contiguous, transposed,
sliced with NaN holes, stride-0 broadcast, 0-d, empty), so a view that reads
the wrong element or a backward that scatters to the wrong place fails.
"""
import pathlib
import sys

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided as np_as_strided
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import assert_close, check_both, check_fwd_bwd, raises, torch_mod  # noqa: E402,F401

import neurarust as nr  # noqa: E402

NO_SCALAR = ("scalar",)


def _reshape_np(shape_fn):
    return lambda x: x.reshape(shape_fn(x.shape))


# name, nr op, NumPy op, torch op, input shapes, check_op options
VIEW_OPS = [
    ("view_split_dim", lambda x: x.view(x.shape[0], 1, x.shape[1]),
     _reshape_np(lambda s: (s[0], 1, s[1])), lambda x: x.view(x.shape[0], 1, x.shape[1]),
     [(3, 4)], {"skip": NO_SCALAR}),
    ("reshape_flat", lambda x: x.reshape(-1), lambda x: x.reshape(-1), lambda x: x.reshape(-1),
     [(3, 4)], {}),
    ("reshape_3d", lambda x: x.reshape(2, -1, 2), lambda x: x.reshape(2, -1, 2),
     lambda x: x.reshape(2, -1, 2), [(4, 2)], {"skip": ("scalar", "empty")}),
    ("transpose", lambda x: x.transpose(0, 1), lambda x: np.swapaxes(x, 0, 1),
     lambda x: x.transpose(0, 1), [(3, 4)], {"skip": NO_SCALAR}),
    ("t", lambda x: x.t(), lambda x: x.T, lambda x: x.t(), [(3, 4)], {}),
    ("T", lambda x: x.T, lambda x: x.T, lambda x: x.permute(*range(x.ndim - 1, -1, -1)) if x.ndim else x,
     [(2, 3, 4)], {}),
    ("mT", lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2), lambda x: x.mT, [(2, 3, 4)],
     {"skip": NO_SCALAR}),
    ("permute", lambda x: x.permute(2, 0, 1), lambda x: np.transpose(x, (2, 0, 1)),
     lambda x: x.permute(2, 0, 1), [(2, 3, 4)], {"skip": NO_SCALAR}),
    ("squeeze_all", lambda x: x.squeeze(), np.squeeze, lambda x: x.squeeze(), [(3, 1, 4)], {}),
    ("squeeze_dim", lambda x: x.squeeze(1),
     lambda x: np.squeeze(x, 1) if x.shape[1] == 1 else x, lambda x: x.squeeze(1), [(3, 1, 4)],
     {"skip": NO_SCALAR}),
    ("squeeze_tuple", lambda x: x.squeeze((0, 1)),
     _reshape_np(lambda s: [n for i, n in enumerate(s) if not (i < 2 and n == 1)]),
     lambda x: x.squeeze((0, 1)), [(1, 1, 4)], {"skip": NO_SCALAR}),
    ("unsqueeze", lambda x: x.unsqueeze(-1), lambda x: np.expand_dims(x, -1),
     lambda x: x.unsqueeze(-1), [(3, 4)], {}),
    ("unsqueeze_front", lambda x: x.unsqueeze(0), lambda x: np.expand_dims(x, 0),
     lambda x: x.unsqueeze(0), [(3, 4)], {}),
    ("expand", lambda x: x.expand(2, 3, 4), lambda x: np.broadcast_to(x, (2, 3, 4)),
     lambda x: x.expand(2, 3, 4), [(3, 1)], {"skip": ("empty",)}),
    ("expand_keep", lambda x: x.expand(2, -1, -1), lambda x: np.broadcast_to(x, (2,) + x.shape),
     lambda x: x.expand(2, -1, -1), [(3, 4)], {"skip": NO_SCALAR}),
    ("expand_as", lambda x: x.expand_as(nr.zeros(2, 3, 4)),
     lambda x: np.broadcast_to(x, (2, 3, 4)), lambda x: x.expand(2, 3, 4), [(1, 4)],
     {"skip": ("empty",)}),
    ("broadcast_to", lambda x: nr.broadcast_to(x, (2, 3, 4)),
     lambda x: np.broadcast_to(x, (2, 3, 4)), lambda x: x.broadcast_to((2, 3, 4)), [(3, 1)],
     {"skip": ("empty",)}),
    ("narrow", lambda x: x.narrow(1, 1, 2), lambda x: x[:, 1:3], lambda x: x.narrow(1, 1, 2),
     [(3, 4)], {"skip": NO_SCALAR}),
    ("narrow_negative_start", lambda x: x.narrow(-1, -3, 2), lambda x: x[..., -3:-1],
     lambda x: x.narrow(-1, -3, 2), [(3, 4)], {"skip": NO_SCALAR}),
    ("select", lambda x: x.select(1, -1), lambda x: x[:, -1], lambda x: x.select(1, -1),
     [(3, 4)], {"skip": NO_SCALAR}),
    ("flatten", lambda x: x.flatten(), lambda x: x.reshape(-1), lambda x: x.flatten(),
     [(2, 3, 4)], {}),
    ("flatten_from_1", lambda x: x.flatten(1), _reshape_np(lambda s: (s[0], int(np.prod(s[1:])))),
     lambda x: x.flatten(1), [(2, 3, 4)], {"skip": NO_SCALAR}),
    ("unflatten", lambda x: x.unflatten(1, (2, -1)), _reshape_np(lambda s: (s[0], 2, s[1] // 2)),
     lambda x: x.unflatten(1, (2, -1)), [(3, 4)], {"skip": NO_SCALAR}),
    # Overlapping windows: the backward must accumulate into shared elements.
    ("unfold_overlap", lambda x: x.unfold(1, 2, 1), lambda x: sliding_window_view(x, 2, axis=1),
     lambda x: x.unfold(1, 2, 1), [(3, 4)], {"skip": NO_SCALAR}),
    ("unfold_step", lambda x: x.unfold(0, 2, 2), lambda x: sliding_window_view(x, 2, axis=0)[::2],
     lambda x: x.unfold(0, 2, 2), [(5, 3)], {"skip": ("scalar", "empty")}),
    ("movedim", lambda x: x.movedim(0, -1), lambda x: np.moveaxis(x, 0, -1),
     lambda x: x.movedim(0, -1), [(2, 3, 4)], {"skip": NO_SCALAR}),
    ("movedim_multi", lambda x: x.movedim((0, 1), (2, 0)), lambda x: np.moveaxis(x, (0, 1), (2, 0)),
     lambda x: x.movedim((0, 1), (2, 0)), [(2, 3, 4)], {"skip": NO_SCALAR}),
    ("contiguous", lambda x: x.contiguous(), lambda a: np.array(a, order="C"), lambda x: x.contiguous(),
     [(3, 4)], {}),
    ("clone", lambda x: x.clone(), lambda x: x.copy(), lambda x: x.clone(), [(3, 4)], {}),
]


@pytest.mark.parametrize("name,nr_fn,np_fn,torch_fn,shapes,options", VIEW_OPS,
                         ids=[case[0] for case in VIEW_OPS])
def test_view_op_forward_and_backward(name, nr_fn, np_fn, torch_fn, shapes, options):
    check_both(nr_fn, np_fn, torch_fn, shapes, name=name, **options)


def _np_as_strided(x, size, stride, offset):
    flat = np.ascontiguousarray(x).reshape(-1)[offset:]
    return np_as_strided(flat, size, tuple(s * flat.itemsize for s in stride), writeable=False)


@pytest.mark.parametrize("size,stride,offset", [((3, 3), (2, 1), 1), ((2, 5), (1, 1), 0), ((4,), (3,), 2)])
def test_as_strided_overlapping_windows(size, stride, offset):
    # as_strided's geometry is relative to the storage, so only a contiguous input is meaningful.
    only_contiguous = ("transposed", "sliced", "broadcast", "scalar", "empty")
    check_both(lambda x: x.as_strided(size, stride, offset), lambda x: _np_as_strided(x, size, stride, offset),
               lambda x: x.as_strided(size, stride, offset), [(12,)], skip=only_contiguous,
               name="as_strided")


def test_as_strided_defaults_to_the_input_storage_offset(torch_mod):
    x = nr.arange(12)[2:]
    expected = torch_mod.arange(12)[2:].as_strided((2, 2), (1, 2))
    got = x.as_strided((2, 2), (1, 2))
    assert_close(got, expected)
    assert got.storage_offset() == 2
    assert_close(got, np.array([[2, 4], [3, 5]]))


# ------------------------------------------------------------------ layout queries
# name, view of a (3, 4) tensor (NeuraRust or torch), the same view of a NumPy array
LAYOUT_CASES = [
    ("contiguous", lambda x: x, lambda a: a),
    ("transposed", lambda x: x.transpose(0, 1), lambda a: a.T),
    ("sliced", lambda x: x[1:, ::2], lambda a: a[1:, ::2]),
    ("row", lambda x: x[1], lambda a: a[1]),
    ("column", lambda x: x[:, 1], lambda a: a[:, 1]),
    ("column_keepdim", lambda x: x[:, 1:2], lambda a: a[:, 1:2]),
    ("expanded", lambda x: x[:1].expand(5, 4), lambda a: np.broadcast_to(a[:1], (5, 4))),
    ("unsqueezed", lambda x: x.unsqueeze(1), lambda a: a[:, None]),
    ("scalar", lambda x: x[2, 3], lambda a: a[2, 3, ...]),
    ("empty", lambda x: x[3:], lambda a: a[3:]),
    ("empty_transposed", lambda x: x[:0].t(), lambda a: a[:0].T),
    ("unfolded", lambda x: x.unfold(1, 2, 1), lambda a: sliding_window_view(a, 2, axis=1)),
]


@pytest.mark.parametrize("name,fn,np_fn", LAYOUT_CASES, ids=[c[0] for c in LAYOUT_CASES])
def test_stride_offset_contiguity_and_data_ptr(name, fn, np_fn):
    base = nr.arange(12, dtype=nr.float64).view(3, 4)
    view = fn(base)
    arr = np.arange(12, dtype=np.float64).reshape(3, 4)
    expected = np_fn(arr)
    assert_close(view, expected)
    # A size-1 dim's stride is arbitrary (NumPy says 0, torch size*stride of the next dim):
    # those are compared with torch below.
    assert [s for s, n in zip(view.stride(), view.shape) if n != 1] == [
        s // 8 for s, n in zip(expected.strides, expected.shape) if n != 1]
    offset = (expected.__array_interface__["data"][0] - arr.__array_interface__["data"][0]) // 8
    if view.numel():
        assert view.storage_offset() == offset
        assert view.data_ptr() == base.data_ptr() + 8 * offset
    for d in range(view.ndim):
        assert view.stride(d) == view.stride()[d]
        assert view.stride(d - view.ndim) == view.stride()[d]


@pytest.mark.parametrize("name,fn,np_fn", LAYOUT_CASES, ids=[c[0] for c in LAYOUT_CASES])
def test_layout_queries_match_torch(torch_mod, name, fn, np_fn):
    view = fn(nr.arange(12.0).view(3, 4))
    expected = fn(torch_mod.arange(12.0).view(3, 4))
    assert tuple(view.shape) == tuple(expected.shape)
    assert view.stride() == expected.stride()
    assert view.is_contiguous() == expected.is_contiguous(), name
    if view.numel():
        assert view.storage_offset() == expected.storage_offset()


def test_unsqueeze_strides_follow_torch():
    # torch gives the new size-1 dim the stride size*stride of the dim it precedes.
    x = nr.zeros(3, 4)
    assert x.unsqueeze(1).stride() == (4, 4, 1)
    assert x.unsqueeze(0).stride() == (12, 4, 1)
    assert x.unsqueeze(2).stride() == (4, 1, 1)
    assert x.t().unsqueeze(0).stride() == (4, 1, 4)
    assert x.t().unsqueeze(2).stride() == (1, 4, 1)
    assert x[:, ::2].unsqueeze(1).stride() == (4, 4, 2)
    assert x[0, 0].unsqueeze(0).stride() == (1,)


def test_is_contiguous_ignores_strides_of_size_one_dims():
    x = nr.arange(4.0).view(4, 1)
    assert x.t().is_contiguous()  # (1, 4) with strides (1, 1): rows of length 1 are still C order
    assert nr.zeros(2, 3)[:, :1].is_contiguous() is False


# ------------------------------------------------------------ storage sharing
def test_write_through_one_view_is_seen_through_every_view_and_numpy():
    x = nr.zeros(3, 4)
    transposed, sliced, row, flat = x.t(), x[1:, ::2], x[1], x.view(12)
    as_numpy = x.numpy()
    transposed[2, 1] = 7.0  # x[1, 2]
    assert x[1, 2].item() == 7.0
    assert sliced[0, 1].item() == 7.0
    assert row[2].item() == 7.0
    assert flat[6].item() == 7.0
    assert as_numpy[1, 2] == 7.0
    as_numpy[0, 3] = -1.0
    assert transposed[3, 0].item() == -1.0
    sliced.fill_(5.0)
    np.testing.assert_array_equal(as_numpy, [[0, 0, 0, -1], [5, 0, 5, 0], [5, 0, 5, 0]])


def test_numpy_of_a_transposed_view_shares_memory():
    x = nr.zeros(2, 3)
    arr = x.t().numpy()
    assert arr.shape == (3, 2) and arr.strides == (4, 12)
    arr[0, 1] = 5.0
    assert x[1, 0].item() == 5.0


def test_views_share_the_version_counter():
    x = nr.zeros(3, 4)
    views = [x.t(), x[1:], x.view(12), x.unsqueeze(0), x.expand(2, 3, 4), x.select(0, 1)]
    assert all(v._version == x._version == 0 for v in views)
    views[1].add_(1.0)
    assert x._version == 1
    assert all(v._version == 1 for v in views)
    x.mul_(2.0)
    assert all(v._version == 2 for v in views)
    views[2][0] = 3.0
    assert all(v._version == 3 for v in views) and x._version == 3


def test_reshape_views_when_possible_and_copies_otherwise():
    x = nr.arange(12.0).view(3, 4)
    viewed = x.reshape(2, 6)
    assert viewed.data_ptr() == x.data_ptr()
    viewed[0, 0] = 100.0
    assert x[0, 0].item() == 100.0

    transposed = x.t()
    copied = transposed.reshape(12)
    assert copied.data_ptr() != x.data_ptr()
    assert copied.is_contiguous()
    np.testing.assert_array_equal(copied.numpy(), x.numpy().T.reshape(-1))
    copied[1] = -5.0
    assert x[1, 0].item() == 4.0  # the copy does not write back
    # A transposed tensor with a size-1 dim can still be viewed.
    column = x[:, :1].t()
    assert column.reshape(3).data_ptr() == x.data_ptr()


def test_view_of_a_view_keeps_storage_and_offset():
    x = nr.arange(24, dtype=nr.float64)
    v = x[4:].view(4, 5)[1:, 1:].t()
    assert v.storage_offset() == 10
    expected = np.arange(24.0)[4:].reshape(4, 5)[1:, 1:].T
    assert_close(v, expected)
    assert v.stride() == (1, 5)


def test_contiguous_copies_only_when_needed():
    x = nr.arange(12.0).view(3, 4)
    assert x.contiguous() is x
    t = x.t()
    c = t.contiguous()
    assert c is not t and c.is_contiguous() and c.data_ptr() != x.data_ptr()
    assert_close(c, x.numpy().T.copy())
    c[0, 0] = 50.0
    assert x[0, 0].item() == 0.0
    sliced_rows = x[::2]
    assert not sliced_rows.is_contiguous()
    assert sliced_rows.contiguous().stride() == (4, 1)


def test_clone_owns_its_storage_and_keeps_the_layout_values():
    x = nr.arange(6, dtype=nr.float64).view(2, 3)
    c = x.t().clone()
    assert c.data_ptr() != x.data_ptr()
    assert_close(c, np.arange(6.0).reshape(2, 3).T)
    c.zero_()
    assert x.sum().item() == 15.0


def test_expand_has_zero_strides(torch_mod):
    x = nr.tensor([[1.0], [2.0]])
    e = x.expand(3, 2, 4)
    assert e.stride() == (0, 1, 0)
    assert e.stride() == torch_mod.tensor([[1.0], [2.0]]).expand(3, 2, 4).stride()
    assert e.data_ptr() == x.data_ptr()
    assert x.expand(2, 1) is x  # expanding to the same shape is the identity, as in torch
    assert nr.broadcast_to(x, (2, 4)).stride() == (1, 0)
    assert x.t().expand_as(nr.zeros(3, 2)).stride() == (0, 1)


def test_expand_gradient_sums_over_broadcast_dims():
    w = nr.tensor([[1.0], [2.0]], dtype=nr.float64, requires_grad=True)
    weights = nr.arange(24, dtype=nr.float64).view(3, 2, 4)
    (w.expand(3, 2, 4) * weights).sum().backward()
    assert_close(w.grad, np.arange(24.0).reshape(3, 2, 4).sum(axis=(0, 2), keepdims=True)[0])


# -------------------------------------------------------------------- 0-d and empty
def test_zero_dim_views():
    x = nr.tensor(3.0)
    assert x.view(1).shape == (1,) and x.view(()).shape == ()
    assert x.view(-1).shape == (1,)
    assert x.unsqueeze(0).shape == (1,) and x.unsqueeze(-1).shape == (1,)
    assert x.squeeze().shape == () and x.squeeze(0).shape == ()
    assert x.t().shape == () and x.T.shape == () and x.transpose(0, -1).shape == ()
    assert x.flatten().shape == (1,)
    assert x.reshape(1, 1).stride() == (1, 1)
    assert x.expand(2, 3).stride() == (0, 0)
    assert x.unfold(0, 1, 1).tolist() == [3.0]
    assert x.stride() == () and x.storage_offset() == 0 and x.is_contiguous()


ZERO_DIM_VIEWS = [
    ("view_1", lambda x: x.view(1), lambda a: a.reshape(1)),
    ("view_empty_shape", lambda x: x.view(()), lambda a: a.reshape(())),
    ("reshape_1x1", lambda x: x.reshape(1, 1), lambda a: a.reshape(1, 1)),
    ("unsqueeze", lambda x: x.unsqueeze(0), lambda a: a[None]),
    ("squeeze", lambda x: x.squeeze(), lambda a: a),
    ("t", lambda x: x.t(), lambda a: a),
    ("T", lambda x: x.T, lambda a: a),
    ("flatten", lambda x: x.flatten(), lambda a: a.reshape(1)),
    ("expand", lambda x: x.expand(2, 3), lambda a: np.broadcast_to(a, (2, 3))),
    ("unfold", lambda x: x.unfold(0, 1, 1), lambda a: a.reshape(1)),
    ("as_strided_repeat", lambda x: x.as_strided((3,), (0,)), lambda a: np.broadcast_to(a, (3,))),
    ("clone", lambda x: x.clone(), lambda a: a.copy()),
    ("contiguous", lambda x: x.contiguous(), lambda a: a),
]


@pytest.mark.filterwarnings("ignore:Tensor.T is deprecated")
@pytest.mark.parametrize("name,fn,np_fn", ZERO_DIM_VIEWS, ids=[c[0] for c in ZERO_DIM_VIEWS])
def test_zero_dim_view_forward_and_backward(name, fn, np_fn):
    check_fwd_bwd(fn, np_fn, fn, [np.array(-1.5)])


def test_empty_views(torch_mod):
    x = nr.zeros(0, 3)
    for fn in (lambda t: t.view(3, 0), lambda t: t.view(-1, 3), lambda t: t.t(), lambda t: t.reshape(-1),
               lambda t: t.unsqueeze(1), lambda t: t.flatten(), lambda t: t[:, 1:], lambda t: t.expand(2, 0, 3)):
        got, expected = fn(x), fn(torch_mod.zeros(0, 3))
        assert tuple(got.shape) == tuple(expected.shape)
        assert got.is_contiguous() == expected.is_contiguous()


# ------------------------------------------------------------------------- errors
def test_view_error_when_the_layout_cannot_be_viewed():
    with raises(nr.ShapeError, "view", "[4, 3]", "[12]", "reshape"):
        nr.arange(12.0).view(3, 4).t().view(12)
    with raises(RuntimeError, "view"):  # torch's exception type still catches it
        nr.arange(12.0).view(3, 4)[:, :2].view(6)


@pytest.mark.parametrize("call,exc,fragments", [
    (lambda x: x.view(5, -1), nr.ShapeError, ("view", "[5, -1]", "12")),
    (lambda x: x.view(-1, -1), nr.ShapeError, ("view", "only one dimension can be inferred")),
    (lambda x: x.reshape(5), nr.ShapeError, ("reshape", "[5]", "12")),
    (lambda x: x.expand(2, 4), nr.ShapeError, ("expand", "(2)", "(3)", "[2, 4]", "[3, 4]")),
    (lambda x: x.expand(4), nr.ShapeError, ("expand", "(1)", "(2)")),
    (lambda x: nr.broadcast_to(x, (3, 5)), nr.ShapeError, ("expand", "[3, 5]", "[3, 4]")),
    (lambda x: x.permute(0, 0), nr.ShapeError, ("permute", "(0, 0)")),
    (lambda x: x.permute(0), nr.ShapeError, ("permute", "2", "1")),
    (lambda x: x.transpose(0, 2), nr.TensorIndexError, ("transpose", "[-2, 1]", "2")),
    (lambda x: x.view(1, 3, 4).t(), nr.ShapeError, ("t()", "3D")),
    (lambda x: x[0].mT, nr.ShapeError, ("mT", "1-D")),
    (lambda x: x.squeeze(2), nr.TensorIndexError, ("squeeze", "2")),
    (lambda x: x.unsqueeze(3), nr.TensorIndexError, ("unsqueeze", "[-3, 2]", "3")),
    (lambda x: x.narrow(1, 3, 2), nr.TensorIndexError, ("narrow", "(3)", "(2)", "(4)")),
    (lambda x: x.narrow(0, 0, -1), nr.TensorIndexError, ("narrow", "length", "-1")),
    (lambda x: x.narrow(2, 0, 1), nr.TensorIndexError, ("narrow", "2")),
    (lambda x: x.select(1, 4), nr.TensorIndexError, ("select", "4", "[3, 4]", "dimension 1")),
    (lambda x: x.select(0, -4), nr.TensorIndexError, ("select", "-4", "[3, 4]")),
    (lambda x: x[0, 0].select(0, 0), nr.TensorIndexError, ("select", "0-dim")),
    (lambda x: x.flatten(1, 0), nr.ShapeError, ("flatten", "start_dim", "end_dim")),
    (lambda x: x.unflatten(1, (3, -1)), nr.ShapeError, ("unflatten", "[3, -1]", "4")),
    (lambda x: x.unflatten(1, (3, 2)), nr.ShapeError, ("unflatten", "[3, 2]", "4")),
    (lambda x: x.unfold(1, 5, 1), nr.ShapeError, ("unfold", "5", "4")),
    (lambda x: x.unfold(1, 2, 0), nr.ShapeError, ("unfold", "step", "0")),
    (lambda x: x.as_strided((4, 4), (4, 1)), nr.ShapeError, ("as_strided", "[4, 4]", "[4, 1]", "12")),
    (lambda x: x.as_strided((2, 2), (1, 2), 10), nr.ShapeError, ("as_strided", "10", "12")),
    (lambda x: x.as_strided((2,), (-1,)), nr.ShapeError, ("as_strided", "negative", "(-1,)")),
    (lambda x: x.as_strided((2, 2), (1,)), nr.ShapeError, ("as_strided", "(1)", "(2)")),
    (lambda x: x.movedim((0, 1), (1,)), nr.ShapeError, ("movedim", "[0, 1]", "[1]")),
    (lambda x: x.movedim(0, 2), nr.TensorIndexError, ("movedim", "[-2, 1]", "2")),
])
def test_view_errors_name_the_op_and_the_shapes(call, exc, fragments):
    with raises(exc, *fragments):
        call(nr.arange(12.0).view(3, 4))


def test_view_errors_are_the_torch_exception_types(torch_mod):
    # Every NeuraRust error above is also the builtin type torch raises for the same call.
    for call in (lambda m, x: x.t().view(12), lambda m, x: x.expand(2, 4), lambda m, x: x.flatten(1, 0)):
        with pytest.raises(RuntimeError):
            call(torch_mod, torch_mod.arange(12.0).view(3, 4))
        with pytest.raises(RuntimeError):
            call(nr, nr.arange(12.0).view(3, 4))
    for call in (lambda x: x.transpose(0, 2), lambda x: x.select(1, 4), lambda x: x.unsqueeze(3)):
        with pytest.raises(IndexError):
            call(torch_mod.arange(12.0).view(3, 4))
        with pytest.raises(IndexError):
            call(nr.arange(12.0).view(3, 4))
