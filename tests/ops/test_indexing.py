"""Indexing, joining and sorting ops: values and gradients against NumPy and torch, plus errors.

Torch's indexing rules differ from NumPy's in one place: integers are applied
as ``select`` before advanced indexing, so they never join the broadcast of
the index tensors.  The NumPy references below spell that out where it matters.
"""
import pathlib
import sys
from types import SimpleNamespace

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import assert_close, check_both, check_fwd_bwd, check_op, raises, seeded, torch_mod, torch_or_none  # noqa: E402,F401

import neurarust as nr  # noqa: E402

FIXED_SHAPE = ("scalar", "empty")  # variants that change the input shape a fixed index relies on
MASK = seeded((2, 3, 4), seed=7) > 0


def _key_builders():
    """One key per case; ``T`` turns a list into an index tensor (nr.tensor, torch.tensor or np.array)."""
    return [
        ("int", lambda T: 1, None),
        ("negative_ints", lambda T: (-1, -2), None),
        ("slices_with_steps", lambda T: (slice(None), slice(None, None, 2), slice(1, None, 2)), None),
        ("negative_bounds", lambda T: (slice(None), slice(-2, None), slice(None, -1)), None),
        ("out_of_range_bounds", lambda T: (slice(1, 10), slice(-10, 2)), None),
        ("empty_slice", lambda T: (slice(2, 1),), None),
        ("none", lambda T: (None, 0, None, slice(None), None), None),
        ("ellipsis", lambda T: (Ellipsis, 1), None),
        ("ellipsis_none", lambda T: (None, Ellipsis, None), None),
        ("bool_mask_full", lambda T: T(MASK.tolist()), None),
        ("bool_mask_one_dim", lambda T: (slice(None), T([True, False, True])), None),
        ("bool_list", lambda T: [True, False], None),
        ("int_list_duplicates", lambda T: [1, 0, 1], None),
        ("int_tensor_2d", lambda T: (slice(None), T([[0, 1], [2, 2]])), None),
        ("negative_int_tensor", lambda T: (Ellipsis, T([-1, 0, -4])), None),
        ("advanced_adjacent", lambda T: (slice(None), T([0, 1]), T([1, 2])), None),
        ("advanced_separated", lambda T: (T([0, 1]), slice(None), T([1, 2])), None),
        ("advanced_broadcast", lambda T: (T([[0], [1]]), T([0, 2])), None),
        ("advanced_with_none", lambda T: (None, [0, 1]), None),
        ("advanced_after_ellipsis", lambda T: (Ellipsis, [0, 3]), None),
        ("advanced_int_advanced", lambda T: ([0, 1], 1, [1, 2]), None),
        ("advanced_slice_int", lambda T: ([1, 0], slice(None), 2), None),
        ("mask_then_slice", lambda T: (T([True, False]), slice(1, None)), None),
        # torch: the int selects first, so the index dim stays where it is: (3, 2), not (2, 3).
        ("int_slice_advanced", lambda T: (1, slice(None), [0, 1]), lambda a: a[1][:, [0, 1]]),
        ("int_advanced_slice", lambda T: (0, [2, 0], slice(1, 3)), lambda a: a[0][[2, 0], 1:3]),
        ("int_tensor_0d_then_advanced", lambda T: (T(1), slice(None), [3]), lambda a: a[1][:, [3]]),
        # torch: a Python bool is a new size-1 dim indexed in place; NumPy moves it to the front.
        ("int_slice_bool", lambda T: (1, slice(None), True), lambda a: a[1][:, None]),
    ]


KEYS = _key_builders()


@pytest.mark.parametrize("name,key,np_override", KEYS, ids=[k[0] for k in KEYS])
def test_getitem_forward_and_backward(name, key, np_override):
    torch = torch_or_none()
    np_fn = np_override or (lambda a: a[key(np.array)])
    torch_fn = (lambda t: t[key(torch.tensor)]) if torch is not None else None
    check_both(lambda x: x[key(nr.tensor)], np_fn, torch_fn, [(2, 3, 4)], skip=FIXED_SHAPE, name=name)


def test_basic_indexing_returns_views_and_advanced_indexing_copies():
    x = nr.arange(24.0).view(2, 3, 4)
    view = x[1, ::2, None]
    assert view.data_ptr() == x.data_ptr() + 4 * 12 and view.stride() == (8, 0, 1)
    view[0, 0, 0] = -1.0
    assert x[1, 0, 0].item() == -1.0
    copy = x[[1]]
    copy[0, 0, 0] = 99.0
    assert x[1, 0, 0].item() == -1.0


def test_zero_dim_and_empty_indexing(torch_mod):
    scalar = nr.tensor(5.0)
    for key in (Ellipsis, None, True, False, (None, None), nr.tensor(True)):
        expected = torch_mod.tensor(5.0)[torch_mod.tensor(True) if isinstance(key, nr.Tensor) else key]
        assert_close(scalar[key], expected)
    empty = nr.zeros(0, 3)
    for key in (slice(None), (slice(None), 1), [], (Ellipsis, [0, 2])):
        got, expected = empty[key], torch_mod.zeros(0, 3)[key]
        assert tuple(got.shape) == tuple(expected.shape)
    assert nr.arange(3)[nr.tensor([], dtype=nr.int64)].shape == (0,)


@pytest.mark.parametrize("key,exc,fragments", [
    (2, nr.TensorIndexError, ("index 2", "dimension 0", "size 2")),
    ((slice(None), -4), nr.TensorIndexError, ("index -4", "dimension 1", "size 3")),
    ([0, 2], nr.TensorIndexError, ("index 2", "size 2")),
    ((slice(None), slice(None), [4]), nr.TensorIndexError, ("index 4", "size 4")),
    ((1, slice(None), [0, 5]), nr.TensorIndexError, ("index 5", "size 4")),
    ((0, 0, 0, 0), nr.TensorIndexError, ("too many indices", "dimension 3")),
    ((Ellipsis, 0, Ellipsis), nr.TensorIndexError, ("single ellipsis",)),
    ([True, False, True], nr.TensorIndexError, ("boolean index", "2", "3")),
    (slice(None, None, -1), ValueError, ("step",)),
    ("a", nr.TensorIndexError, ("str",)),
])
def test_getitem_errors(key, exc, fragments):
    with raises(exc, *fragments):
        nr.arange(24.0).view(2, 3, 4)[key]
    if exc is nr.TensorIndexError:
        assert issubclass(exc, IndexError)


def test_float_index_tensor_is_rejected():
    with raises(IndexError, "tensors used as indices must be long, int, byte or bool", "float32"):
        nr.arange(3)[nr.tensor([1.0])]


# ----------------------------------------------------------------------------- setitem
def _np_lib():
    return SimpleNamespace(zeros=lambda *s: np.zeros(s), tensor=np.array, clone=np.copy)


def _libs():
    libs = [("numpy", _np_lib()), ("neurarust", SimpleNamespace(zeros=nr.zeros, tensor=nr.tensor,
                                                                clone=lambda t: t.clone()))]
    torch = torch_or_none()
    if torch is not None:
        libs.append(("torch", SimpleNamespace(zeros=torch.zeros, tensor=torch.tensor, clone=lambda t: t.clone())))
    return libs


# name, key (given T), value (given lib), NumPy key override for torch-only semantics
SETITEM_CASES = [
    ("scalar", lambda T: (0, 1), lambda L: 5.0, None),
    ("broadcast_row", lambda T: (slice(None), 1), lambda L: L.tensor([1.0, 2.0, 3.0, 4.0]), None),
    ("leading_ones_dropped", lambda T: 0, lambda L: L.tensor([[[1.0, 2.0, 3.0, 4.0]]]), None),
    ("int_into_float", lambda T: (1, 2), lambda L: L.tensor([7, 8, 9, 10]), None),
    ("ellipsis", lambda T: Ellipsis, lambda L: L.tensor([1.0, 2.0, 3.0, 4.0]), None),
    ("mask_scalar", lambda T: T(MASK.tolist()), lambda L: 7.0, None),
    ("mask_values", lambda T: T(MASK.tolist()), lambda L: L.tensor(np.arange(float(MASK.sum())).tolist()), None),
    ("mask_one_dim", lambda T: (slice(None), T([True, False, True])), lambda L: L.tensor([1.0, 2.0, 3.0, 4.0]), None),
    ("advanced", lambda T: (T([0, 1]), slice(None), T([1, 2])), lambda L: L.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), None),
    ("advanced_broadcast", lambda T: (slice(None), [0, 2]), lambda L: L.tensor([1.0, 2.0, 3.0, 4.0]), None),
    ("int_then_advanced", lambda T: (1, slice(None), [0, 1]), lambda L: L.tensor([[1.0, 2.0]]),
     lambda a, v: a[1].__setitem__((slice(None), [0, 1]), v)),
]


@pytest.mark.parametrize("name,key,value,np_set", SETITEM_CASES, ids=[c[0] for c in SETITEM_CASES])
def test_setitem_matches_numpy_and_torch(name, key, value, np_set):
    results = {}
    for lib_name, lib in _libs():
        x = lib.zeros(2, 3, 4)
        if lib_name == "numpy" and np_set is not None:
            np_set(x, value(lib))
        else:
            x[key(lib.tensor)] = value(lib)
        results[lib_name] = x
    expected = results.pop("numpy").astype(np.float32)
    for lib_name, got in results.items():
        assert_close(got, expected, msg=f"{name}: {lib_name}")


def test_setitem_bumps_the_version_and_writes_through_views():
    x = nr.zeros(3, 4)
    view = x[1:]
    x[[0, 2], 1] = 3.0
    assert x._version == 1 and view._version == 1 and view[1, 1].item() == 3.0
    view[0] = 1.0
    assert x[1].tolist() == [1.0] * 4 and x._version == 2


@pytest.mark.parametrize("key,value,fragments", [
    ((slice(None), 1), nr.arange(3.0), ("[3]", "[2, 4]")),
    ((slice(None), [0, 2]), nr.arange(3.0), ("shape mismatch", "(3,)")),
    (0, nr.ones(2, 3, 4), ("[2, 3, 4]", "[3, 4]")),
])
def test_setitem_shape_errors(key, value, fragments):
    with raises(nr.ShapeError, *fragments):
        nr.zeros(2, 3, 4)[key] = value


def test_setitem_out_of_range_errors():
    with raises(nr.TensorIndexError, "index 5", "size 2"):
        nr.zeros(2, 3)[5] = 1.0
    with raises(nr.TensorIndexError, "index 3", "size 3"):
        nr.zeros(2, 3)[:, [0, 3]] = 1.0


def _setitem_graphs():
    """(name, f(lib, w, v)) where w (3, 4) and v (4,) require grad; f returns a (3, 4) result."""
    def zeros_then_write(L, w, v):
        x = L.zeros(3, 4)
        x[0] = v * 2
        return x + 0 * w

    def clone_slice(L, w, v):
        x = L.clone(w * 1)
        x[1:] = v
        return x

    def element(L, w, v):
        x = w * 1
        x[1, 2] = v[0] * 3
        return x

    def advanced_rows(L, w, v):
        x = L.clone(w)
        x[[0, 2]] = v
        return x

    def advanced_points(L, w, v):
        x = L.clone(w)
        x[[0, 2], [1, 3]] = v[:2]
        return x

    def mask(L, w, v):
        x = L.clone(w)
        x[x > 0] = 0.0
        return x * v

    def through_transposed_view(L, w, v):
        x = w * 1
        x.T[0] = v[:3]
        return x

    def through_sliced_view(L, w, v):
        x = w * 1
        y = x[:, ::2]
        y[1] = v[:2]
        return x

    def int_then_advanced(L, w, v):
        x = w * 1
        x[1, [0, 3]] = v[1:3] * v[3]
        return x

    return [(f.__name__, f) for f in (zeros_then_write, clone_slice, element, advanced_rows,
                                      advanced_points, mask, through_transposed_view,
                                      through_sliced_view, int_then_advanced)]


def _numerical_grad(fn, arrays, weights, eps=1e-6):
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            orig = a[i]
            a[i] = orig + eps
            plus = (fn(*arrays) * weights).sum()
            a[i] = orig - eps
            minus = (fn(*arrays) * weights).sum()
            a[i] = orig
            g[i] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize("name,graph", _setitem_graphs(), ids=[g[0] for g in _setitem_graphs()])
def test_autograd_through_setitem(name, graph):
    w0, v0, weights = seeded((3, 4), 1), seeded((4,), 2), seeded((3, 4), 3)
    np_lib = _np_lib()
    expected_out = graph(np_lib, w0.copy(), v0.copy())
    expected_grads = _numerical_grad(lambda w, v: graph(np_lib, w.copy(), v), [w0.copy(), v0.copy()], weights)
    for lib_name, lib in _libs()[1:]:
        w = lib.tensor(w0.copy()).requires_grad_(True)
        v = lib.tensor(v0.copy()).requires_grad_(True)
        out = graph(lib, w, v)
        (out * lib.tensor(weights)).sum().backward()
        assert_close(out, expected_out, msg=f"{name}: {lib_name} forward")
        assert_close(w.grad, expected_grads[0], rtol=1e-6, atol=1e-8, msg=f"{name}: {lib_name} grad of w")
        assert_close(v.grad, expected_grads[1], rtol=1e-6, atol=1e-8, msg=f"{name}: {lib_name} grad of v")


def test_setitem_into_zeros_gives_the_value_its_gradient():
    w = nr.tensor(1.5, requires_grad=True)
    x = nr.zeros(3)
    x[0] = w * 2
    x.sum().backward()
    assert w.grad.item() == 2.0
    assert x.grad_fn is not None and x.requires_grad


# ----------------------------------------------------------- gather / scatter / joining ops
def np_gather(x, dim, index):
    coords = list(np.indices(index.shape))
    coords[dim] = index
    return x[tuple(coords)]


def np_scatter(x, dim, index, src, reduce=None):
    out = x.copy()
    src = np.broadcast_to(src, index.shape) if np.ndim(src) == 0 else src[tuple(slice(0, n) for n in index.shape)]
    coords = list(np.indices(index.shape))
    coords[dim] = index
    coords = tuple(coords)
    if reduce is None:
        out[coords] = src
    elif reduce == "add":
        np.add.at(out, coords, src)
    else:
        np.multiply.at(out, coords, src)
    return out


def np_index_add(x, dim, index, source, alpha):
    out = x.copy()
    for i, j in enumerate(index):
        out[(slice(None),) * dim + (j,)] += alpha * np.take(source, i, axis=dim)
    return out


def np_split_sizes(x, sizes, axis):
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis))


G_INDEX = np.array([[0, 3, 3], [1, 1, 0], [2, 0, 1]])
S_INDEX = np.array([[0, 3], [1, 2], [2, 0]])
DUP_INDEX = np.array([[0, 0], [1, 1], [3, 3]])

# name, f(*inputs, M) for M in (neurarust, torch), NumPy reference, input shapes, check_op options
OPS = [
    ("index_select", lambda x, M: x.index_select(1, M.tensor([2, 0, 2], device=x.device)), lambda x: x[:, [2, 0, 2]],
     [(3, 4)], {"skip": ("scalar",)}),
    ("gather", lambda x, M: x.gather(1, M.tensor(G_INDEX, device=x.device)), lambda x: np_gather(x, 1, G_INDEX),
     [(3, 4)], {"skip": FIXED_SHAPE}),
    ("gather_smaller_index", lambda x, M: x.gather(0, M.tensor([[2, 0]], device=x.device)),
     lambda x: np_gather(x, 0, np.array([[2, 0]])), [(3, 4)], {"skip": FIXED_SHAPE}),
    ("scatter_src", lambda x, s, M: x.scatter(1, M.tensor(S_INDEX, device=x.device), s),
     lambda x, s: np_scatter(x, 1, S_INDEX, s), [(3, 4), (3, 2)], {"skip": FIXED_SHAPE}),
    ("scatter_value", lambda x, M: x.scatter(1, M.tensor(S_INDEX, device=x.device), 2.5),
     lambda x: np_scatter(x, 1, S_INDEX, np.array(2.5, x.dtype)), [(3, 4)], {"skip": FIXED_SHAPE}),
    ("scatter_add_duplicates", lambda x, s, M: x.scatter_add(1, M.tensor(DUP_INDEX, device=x.device), s),
     lambda x, s: np_scatter(x, 1, DUP_INDEX, s, "add"), [(3, 4), (3, 2)], {"skip": FIXED_SHAPE}),
    ("index_add_alpha", lambda x, s, M: x.index_add(0, M.tensor([0, 0, 2], device=x.device), s, alpha=2),
     lambda x, s: np_index_add(x, 0, [0, 0, 2], s, 2), [(3, 4), (3, 4)], {"skip": FIXED_SHAPE}),
    ("take_negative", lambda x, M: x.take(M.tensor([[0, -1], [5, 5]], device=x.device)),
     lambda x: np.take(x.reshape(-1), [[0, -1], [5, 5]]), [(3, 4)], {"skip": FIXED_SHAPE}),
    ("masked_fill_broadcast_mask", lambda x, M: x.masked_fill(M.tensor([True, False, False, True], device=x.device), 2.0),
     lambda x: np.where([True, False, False, True], 2.0, x).astype(x.dtype), [(3, 4)], {"skip": ("scalar",)}),
    ("masked_select_data_mask", lambda x, M: x.masked_select(x > 0), lambda x: x[x > 0], [(3, 4)], {}),
    ("masked_select_broadcast_input", lambda x, M: x.masked_select(M.tensor(MASK[0].tolist(), device=x.device)),
     lambda x: np.broadcast_to(x, (3, 4))[MASK[0]], [(4,)], {"skip": FIXED_SHAPE}),
    ("cat_dim1", lambda a, b, M: M.cat([a, b], 1), lambda a, b: np.concatenate([a, b], 1),
     [(3, 2), (3, 4)], {"skip": ("scalar",)}),
    ("cat_three", lambda a, b, c, M: M.cat([a, b, c]), lambda a, b, c: np.concatenate([a, b, c]),
     [(1, 3), (2, 3), (1, 3)], {"skip": ("scalar",)}),
    ("stack_last", lambda a, b, M: M.stack([a, b], -1), lambda a, b: np.stack([a, b], -1),
     [(3, 4), (3, 4)], {}),
    ("split_int", lambda x, M: x.split(3, 1), lambda x: np_split_sizes(x, [3, 3, 1], 1), [(2, 7)],
     {"skip": FIXED_SHAPE}),
    ("split_sections", lambda x, M: x.split([1, 4], 1), lambda x: np_split_sizes(x, [1, 4], 1),
     [(2, 5)], {"skip": FIXED_SHAPE}),
    ("chunk", lambda x, M: x.chunk(3, 1), lambda x: np_split_sizes(x, [3, 3, 1], 1), [(2, 7)],
     {"skip": FIXED_SHAPE}),
    ("tensor_split_sections", lambda x, M: x.tensor_split(3, 1), lambda x: np_split_sizes(x, [3, 2, 2], 1),
     [(2, 7)], {"skip": FIXED_SHAPE}),
    ("tensor_split_unsorted", lambda x, M: x.tensor_split([5, 2], 1),
     lambda x: (x[:, :5], x[:, 5:2], x[:, 2:]), [(2, 7)], {"skip": FIXED_SHAPE}),
    ("tensor_split_negative", lambda x, M: x.tensor_split([-2], 1), lambda x: (x[:, :-2], x[:, -2:]),
     [(2, 7)], {"skip": FIXED_SHAPE}),
    ("unbind", lambda x, M: x.unbind(1), lambda x: tuple(np.moveaxis(x, 1, 0)), [(3, 4)], {"skip": FIXED_SHAPE}),
    ("flip", lambda x, M: x.flip((0, 1)), lambda x: np.flip(x, (0, 1)), [(3, 4)], {"skip": ("scalar",)}),
    ("flip_last", lambda x, M: x.flip(-1), lambda x: np.flip(x, -1), [(2, 3, 4)], {"skip": ("scalar",)}),
    ("roll", lambda x, M: x.roll(1, 1), lambda x: np.roll(x, 1, 1), [(3, 4)], {"skip": ("scalar",)}),
    ("roll_flat", lambda x, M: x.roll(-2), lambda x: np.roll(x, -2), [(3, 4)], {}),
    ("roll_two_dims", lambda x, M: x.roll((1, -1), (0, 1)), lambda x: np.roll(x, (1, -1), (0, 1)),
     [(3, 4)], {"skip": ("scalar",)}),
    ("repeat", lambda x, M: x.repeat(2, 1, 3), lambda x: np.tile(x, (2, 1, 3)), [(3, 4)], {}),
    ("tile_short_dims", lambda x, M: x.tile((2,)), lambda x: np.tile(x, (2,)), [(3, 4)], {}),
    ("repeat_interleave_int", lambda x, M: x.repeat_interleave(2, dim=0), lambda x: np.repeat(x, 2, 0),
     [(3, 4)], {"skip": ("scalar",)}),
    ("repeat_interleave_flat", lambda x, M: x.repeat_interleave(2), lambda x: np.repeat(x, 2), [(3, 4)], {}),
    ("repeat_interleave_tensor", lambda x, M: x.repeat_interleave(M.tensor([1, 0, 2], device=x.device), dim=0),
     lambda x: np.repeat(x, [1, 0, 2], 0), [(3, 4)], {"skip": FIXED_SHAPE}),
    ("tril", lambda x, M: x.tril(), np.tril, [(3, 4)], {"skip": ("scalar",)}),
    ("tril_below", lambda x, M: x.tril(-1), lambda x: np.tril(x, -1), [(3, 4)], {"skip": ("scalar",)}),
    ("triu_batched", lambda x, M: x.triu(2), lambda x: np.triu(x, 2), [(2, 3, 4)], {"skip": ("scalar",)}),
    ("sort", lambda x, M: x.sort(1).values, lambda x: np.sort(x, 1), [(3, 4)], {"skip": ("scalar",)}),
    ("sort_descending", lambda x, M: x.sort(0, descending=True).values, lambda x: -np.sort(-x, 0),
     [(3, 4)], {"skip": ("scalar",)}),
    ("topk_largest", lambda x, M: x.topk(2, 1).values, lambda x: -np.sort(-x, 1)[:, :2], [(3, 4)],
     {"skip": ("scalar",)}),
    ("topk_smallest", lambda x, M: x.topk(2, 0, largest=False).values, lambda x: np.sort(x, 0)[:2],
     [(3, 4)], {"skip": FIXED_SHAPE}),
    ("kthvalue", lambda x, M: x.kthvalue(2, 1).values, lambda x: np.sort(x, 1)[:, 1], [(3, 4)],
     {"skip": FIXED_SHAPE}),
    ("kthvalue_keepdim", lambda x, M: x.kthvalue(3, 0, True).values, lambda x: np.sort(x, 0)[2:3],
     [(3, 4)], {"skip": FIXED_SHAPE}),
]


@pytest.mark.parametrize("name,f,np_fn,shapes,options", OPS, ids=[o[0] for o in OPS])
def test_op_forward_and_backward(name, f, np_fn, shapes, options):
    torch = torch_or_none()
    torch_fn = (lambda *xs: f(*xs, torch)) if torch is not None else None
    check_both(lambda *xs: f(*xs, nr), np_fn, torch_fn, shapes, name=name, **options)


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_reduce_argument(reduce):
    x, src = seeded((3, 4), 4), seeded((3, 2), 5)
    got = nr.tensor(x).scatter(1, nr.tensor(DUP_INDEX), nr.tensor(src), reduce=reduce)
    assert_close(got, np_scatter(x, 1, DUP_INDEX, src, reduce))
    value = nr.tensor(x).scatter(1, nr.tensor(DUP_INDEX), 1.5, reduce=reduce)
    assert_close(value, np_scatter(x, 1, DUP_INDEX, np.array(1.5), reduce))
    torch = torch_or_none()
    if torch is not None:
        expected = torch.tensor(x).scatter(1, torch.tensor(DUP_INDEX), torch.tensor(src), reduce=reduce)
        assert_close(got, expected)


def test_scatter_src_larger_than_index_gradient():
    # Only the leading index.shape block of src is used; the rest gets zero gradient.  torch's
    # own ScatterBackward0 fails on this case (it returns a gradient of the index's shape), so
    # the reference is NumPy alone.
    index = np.array([[2, 0]])
    check_op(lambda x, s: x.scatter(0, nr.tensor(index, device=x.device), s), lambda x, s: np_scatter(x, 0, index, s), None,
             [(3, 4), (2, 3)], skip=FIXED_SHAPE, use_torch=False)


def test_masked_fill_with_a_tensor_value_that_requires_grad():
    mask = [True, False, False, True]
    check_fwd_bwd(lambda x, v: x.masked_fill(nr.tensor(mask), v),
                  lambda x, v: np.where(mask, v, x), lambda x, v: x.masked_fill(_torch().tensor(mask), v),
                  [seeded((3, 4), 1), np.array(0.75)])


def _torch():
    return torch_or_none()


@pytest.mark.parametrize("name,nr_fn,np_fn,torch_fn", [
    ("getitem_ellipsis", lambda x: x[...], lambda x: x[...], lambda x: x[...]),
    ("getitem_none", lambda x: x[None], lambda x: x[None], lambda x: x[None]),
    ("getitem_true", lambda x: x[True], lambda x: x[True], lambda x: x[True]),
    ("index_select", lambda x: x.index_select(0, nr.tensor([0])), lambda x: x,
     lambda x: x.index_select(0, _torch().tensor([0]))),
    ("gather_repeated", lambda x: x.gather(0, nr.tensor([0, 0])), lambda x: np.array([x, x]),
     lambda x: x.gather(0, _torch().tensor([0, 0]))),
    ("gather", lambda x: x.gather(0, nr.tensor(0)), lambda x: x, lambda x: x.gather(0, _torch().tensor(0))),
    ("take", lambda x: x.take(nr.tensor([0, -1])), lambda x: np.array([x, x]),
     lambda x: x.take(_torch().tensor([0, -1]))),
    ("masked_fill", lambda x: x.masked_fill(nr.tensor(True), 2.0), lambda x: np.array(2.0),
     lambda x: x.masked_fill(_torch().tensor(True), 2.0)),
    ("stack", lambda x: nr.stack([x, x * 2]), lambda x: np.array([x, x * 2]), lambda x: _torch().stack([x, x * 2])),
    ("flip", lambda x: x.flip(0), lambda x: x, lambda x: x.flip(0)),
    ("roll", lambda x: x.roll(1), lambda x: x, lambda x: x.roll(1)),
    ("repeat", lambda x: x.repeat(2, 3), lambda x: np.full((2, 3), x), lambda x: x.repeat(2, 3)),
    ("repeat_interleave", lambda x: x.repeat_interleave(3), lambda x: np.full(3, x),
     lambda x: x.repeat_interleave(3)),
    ("sort", lambda x: x.sort().values, lambda x: x, lambda x: x.sort().values),
    ("topk", lambda x: x.topk(1).values, lambda x: x, lambda x: x.topk(1).values),
])
def test_zero_dim_inputs(name, nr_fn, np_fn, torch_fn):
    check_fwd_bwd(nr_fn, np_fn, torch_fn, [np.array(1.25)])


def test_scatter_reduce_add_gradient_matches_central_differences():
    # torch has no derivative for scatter(reduce=...); the add case is linear, so check it numerically.
    check_op(lambda x, s: x.scatter(1, nr.tensor(DUP_INDEX, device=x.device), s, reduce="add"),
             lambda x, s: np_scatter(x, 1, DUP_INDEX, s, "add"), None, [(3, 4), (3, 2)],
             skip=FIXED_SHAPE, use_torch=False)
    x = nr.ones(3, 4, requires_grad=True)
    with raises(nr.AutogradError, "scatter", "multiply"):
        x.scatter(1, nr.tensor(DUP_INDEX), 2.0, reduce="multiply").sum().backward()


def test_cat_type_promotion_and_skipped_empty_tensors():
    # Expected dtypes are torch.cat's (torch.result_type of the inputs).
    cases = [((nr.int32, nr.float64), nr.float64), ((nr.uint8, nr.int8), nr.int16),
             ((nr.bool, nr.uint8), nr.uint8), ((nr.int32, nr.float16), nr.float16),
             ((nr.int64, nr.bool), nr.int64)]
    for (a, b), expected in cases:
        assert nr.cat([nr.ones(2, dtype=a), nr.ones(1, dtype=b)]).dtype is expected
    # A 1-D empty tensor is skipped for shapes but still promotes the dtype.
    out = nr.cat([nr.ones(2, 2, dtype=nr.int64), nr.tensor([]), nr.zeros(1, 2, dtype=nr.int64)])
    assert out.dtype is nr.float32 and out.shape == (3, 2)
    assert_close(out, np.array([[1, 1], [1, 1], [0, 0]], np.float32))
    a, e = nr.ones(2, 2, requires_grad=True), nr.tensor([], requires_grad=True)
    (nr.cat([a, e]) * 3).sum().backward()
    assert_close(a.grad, np.full((2, 2), 3.0, np.float32))
    assert e.grad is not None and e.grad.shape == (0,)  # torch gives the skipped tensor an empty grad
    assert nr.cat([nr.tensor([]), nr.tensor([])]).shape == (0,)


def test_chunk_and_split_of_an_empty_dim():
    # torch: ``chunks`` empty pieces from chunk, a single empty piece from split.
    assert [p.shape for p in nr.zeros(0, 2).chunk(3)] == [(0, 2)] * 3
    assert [p.shape for p in nr.zeros(2, 0).chunk(2, 1)] == [(2, 0)] * 2
    assert [p.shape for p in nr.zeros(0).split(2)] == [(0,)]


def test_nonzero_and_one_argument_where():
    x = np.array([[0, 1.5, 0], [2, 0, -1]])
    t = nr.tensor(x)
    assert_close(t.nonzero(), np.argwhere(x))
    assert_close(t.nonzero(as_tuple=True), list(np.nonzero(x)))
    assert_close(nr.where(t != 0), list(np.nonzero(x)))
    assert_close(nr.argwhere(t), np.argwhere(x))
    assert nr.zeros(0, 3).nonzero().shape == (0, 2)
    # 0-d input: an (n, 0) result; as_tuple treats it as 1-D of length 1 (torch).
    assert nr.tensor(3).nonzero().shape == (1, 0)
    assert_close(nr.tensor(3).nonzero(as_tuple=True), [np.array([0])])
    assert_close(nr.tensor(0).nonzero(as_tuple=True), [np.zeros(0, np.int64)])


NAN = float("nan")


def test_sort_descending_stable_and_nan_last():
    values, indices = nr.tensor([3.0, 1.0, 2.0, 1.0]).sort()
    assert_close(values, np.array([1.0, 1.0, 2.0, 3.0], np.float32))
    assert_close(indices, np.argsort([3.0, 1.0, 2.0, 1.0], kind="stable"))
    ties = np.array([1, 0, 1, 0, 1, 0])
    assert_close(nr.tensor(ties).sort(stable=True).indices, np.argsort(ties, kind="stable"))
    # Stable descending keeps equal elements in their original order too.
    assert_close(nr.tensor(ties).sort(descending=True, stable=True).indices, np.array([0, 2, 4, 1, 3, 5]))
    with_nan = np.array([NAN, 1.0, -1.0, NAN, 0.0])
    asc = nr.tensor(with_nan).sort()
    assert_close(asc.values, np.sort(with_nan), equal_nan=True)  # NaN last, as NumPy
    assert_close(asc.indices, np.argsort(with_nan, kind="stable"))
    desc = nr.tensor(with_nan).sort(descending=True)  # torch: NaN counts as the largest value
    assert_close(desc.values, np.array([NAN, NAN, 1.0, 0.0, -1.0]), equal_nan=True)
    assert_close(desc.indices, np.array([0, 3, 1, 4, 2]))
    assert_close(nr.tensor([[3, 1, 2], [0, 2, 1]]).argsort(dim=1, descending=True),
                 np.argsort(-np.array([[3, 1, 2], [0, 2, 1]]), axis=1, kind="stable"))
    torch = torch_or_none()
    if torch is not None:
        for d in (False, True):
            expected = torch.tensor(with_nan, dtype=torch.float32).sort(descending=d, stable=True)
            got = nr.tensor(with_nan, dtype=nr.float32).sort(descending=d, stable=True)
            assert_close(got.values, expected.values, equal_nan=True)
            assert_close(got.indices, expected.indices)


def test_topk_kthvalue_indices():
    x = np.array([[1.0, 5.0, 3.0, 4.0], [0.5, -1.0, 2.0, 8.0]])
    top = nr.tensor(x).topk(2)
    assert_close(top.indices, np.argsort(-x, axis=1)[:, :2])
    low = nr.tensor(x).topk(3, dim=1, largest=False)
    assert_close(low.indices, np.argsort(x, axis=1)[:, :3])
    kth = nr.tensor(x).kthvalue(2, dim=1)
    assert_close(kth.values, np.sort(x, axis=1)[:, 1])
    assert_close(kth.indices, np.argsort(x, axis=1)[:, 1])
    assert nr.tensor(x).kthvalue(1, 0, keepdim=True).values.shape == (1, 4)


def test_unique_with_inverse_and_counts():
    x = np.array([[2, 1, 2], [3, 1, 5]])
    values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    got = nr.unique(nr.tensor(x), return_inverse=True, return_counts=True)
    assert_close(got[0], values)
    assert_close(got[1], inverse.reshape(x.shape))  # torch: the inverse has the input's shape
    assert_close(got[2], counts)
    assert_close(nr.tensor(x).unique(), values)
    rows = np.array([[1, 2], [0, 1], [1, 2]])
    u, inv, cnt = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    got = nr.unique(nr.tensor(rows), dim=0, return_inverse=True, return_counts=True)
    assert_close(got[0], u)
    assert_close(got[1], inv.reshape(-1))
    assert_close(got[2], cnt)


@pytest.mark.parametrize("call,exc,fragments", [
    (lambda x: x.index_select(1, nr.tensor([4])), nr.TensorIndexError, ("index_select", "4", "dimension 1", "size 4")),
    (lambda x: x.index_select(1, nr.tensor([[1]])), nr.ShapeError, ("index_select", "[1, 1]")),
    (lambda x: x.index_select(1, nr.tensor([1.0])), nr.DTypeError, ("index_select", "float32")),
    (lambda x: x.gather(1, nr.tensor([0, 1])), nr.ShapeError, ("gather", "1 vs 2")),
    (lambda x: x.gather(1, nr.tensor([[0, 4]])), nr.TensorIndexError, ("gather", "4", "dimension 1", "size 4")),
    (lambda x: x.gather(1, nr.zeros(4, 1, dtype=nr.int64)), nr.ShapeError, ("gather", "[4, 1]", "[3, 4]")),
    (lambda x: x.scatter(1, nr.tensor([[0, 4]]), 1.0), nr.TensorIndexError, ("scatter", "4", "dimension 1")),
    (lambda x: x.scatter(1, nr.tensor([[0]]), 1.0, reduce="max"), ValueError, ("scatter", "'max'")),
    (lambda x: x.scatter(1, nr.tensor([[0]])), TypeError, ("scatter", "src")),
    (lambda x: x.scatter_add(0, nr.tensor([[0, 1, 2, 0]]), nr.ones(1, 2)), nr.ShapeError, ("scatter_add", "[1, 4]", "[1, 2]")),
    (lambda x: x.index_add(0, nr.tensor([0, 1]), nr.ones(2, 3)), nr.ShapeError, ("index_add", "[2, 3]", "[2, 4]")),
    (lambda x: x.index_add(0, nr.tensor([0, 3]), nr.ones(2, 4)), nr.TensorIndexError, ("index_add", "3", "size 3")),
    (lambda x: x.masked_fill(nr.tensor([1, 0, 1, 0]), 1.0), nr.DTypeError, ("masked_fill", "int64")),
    (lambda x: x.masked_fill(nr.tensor([True, False]), 1.0), nr.ShapeError, ("masked_fill", "[2]", "[3, 4]")),
    (lambda x: x.masked_fill(x > 0, nr.ones(1)), nr.ShapeError, ("masked_fill", "1 dimension")),
    (lambda x: x.masked_select(nr.tensor([True, False])), nr.ShapeError, ("masked_select", "[3, 4]", "[2]")),
    (lambda x: x.take(nr.tensor([12])), nr.TensorIndexError, ("take", "12", "12")),
    (lambda x: x.take(nr.tensor([-13])), nr.TensorIndexError, ("take", "-13")),
    (lambda x: nr.cat([x, nr.zeros(1, 3)]), nr.ShapeError, ("cat", "[3, 4]", "[1, 3]", "tensor number 1")),
    (lambda x: nr.cat([x[0, 0], x[0, 1]]), nr.ShapeError, ("cat", "zero-dimensional")),
    (lambda x: nr.cat([]), nr.ShapeError, ("cat", "non-empty")),
    (lambda x: nr.cat([x, 3]), TypeError, ("cat", "element 1", "int")),
    (lambda x: nr.stack([x, x[:2]]), nr.ShapeError, ("stack", "[3, 4]", "[2, 4]", "entry 1")),
    (lambda x: x.split([1, 2], 1), nr.ShapeError, ("split_with_sizes", "[1, 2]", "4")),
    (lambda x: x.chunk(0), nr.ShapeError, ("chunk", "0")),
    (lambda x: x.tensor_split(0), nr.ShapeError, ("tensor_split", "0")),
    (lambda x: x[0, 0].unbind(), nr.TensorIndexError, ("unbind", "no dimensions")),
    (lambda x: x[0, 0].roll(1, 0), nr.TensorIndexError, ("roll", "no dimensions")),
    (lambda x: x[0, 0].index_select(0, nr.tensor([0, 0])), nr.ShapeError, ("index_select", "2 value")),
    (lambda x: x.flip(2), nr.TensorIndexError, ("flip", "2")),
    (lambda x: x.roll((1, 2), 0), nr.ShapeError, ("roll", "shifts: 2", "dims:1")),
    (lambda x: x.repeat(2), nr.ShapeError, ("repeat", "dimensions")),
    (lambda x: x.repeat_interleave(-1), nr.ShapeError, ("repeat_interleave", "negative")),
    (lambda x: x.repeat_interleave(nr.tensor([1, 2]), dim=0), nr.ShapeError, ("repeat_interleave", "= 2", "= 3")),
    (lambda x: x[0].tril(), nr.ShapeError, ("tril", "2 dimensions")),
    (lambda x: x.topk(5), nr.TensorIndexError, ("topk", "k=5", "4")),
    (lambda x: x.kthvalue(5), nr.TensorIndexError, ("kthvalue", "k=5", "dimension 1")),
    (lambda x: x.sort(2), nr.TensorIndexError, ("sort", "2")),
])
def test_op_errors_name_the_op_and_the_shapes(call, exc, fragments):
    with raises(exc, *fragments):
        call(nr.arange(12.0).view(3, 4))
