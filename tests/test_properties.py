"""Property tests (hypothesis): broadcasting, strided views and indexing against NumPy.

Gradients of views and indexing are checked exactly: every output element is
a copy of one input element, so the gradient of ``sum(out * w)`` is ``w``
scattered back (``np.bincount``) through the flat positions the op read.
"""
import pathlib
import sys

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402
from hypothesis.extra.numpy import mutually_broadcastable_shapes  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _helpers import assert_close, torch_or_none  # noqa: E402

import neurarust as nr  # noqa: E402

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


def _values(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _scatter_back(positions, weights, size):
    """Gradient of sum(weights * base.flat[positions]) with respect to base (duplicates add)."""
    return np.bincount(positions.reshape(-1), weights=weights.reshape(-1), minlength=size).astype(np.float64)


# ------------------------------------------------------------------ broadcasting
@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
       seed=st.integers(0, 2 ** 16))
def test_broadcast_binary_ops_and_their_gradients(shapes, seed):
    (shape_a, shape_b), result_shape = shapes.input_shapes, shapes.result_shape
    a, b = _values(shape_a, seed), _values(shape_b, seed + 1)
    ta, tb = nr.tensor(a, requires_grad=True), nr.tensor(b, requires_grad=True)
    out = ta * tb + ta
    assert tuple(out.shape) == result_shape == np.broadcast_shapes(shape_a, shape_b)
    assert_close(out, a * b + a)
    assert nr.broadcast_shapes(shape_a, shape_b) == result_shape
    w = _values(result_shape, seed + 2)
    (out * nr.tensor(w)).sum().backward()
    # d/da = w * (b + 1) summed over the dims a was broadcast along; likewise for b.
    expected_a = np.broadcast_to(w * (np.broadcast_to(b, result_shape) + 1), result_shape)
    expected_b = w * np.broadcast_to(a, result_shape)
    assert_close(ta.grad, _sum_to(expected_a, shape_a))
    assert_close(tb.grad, _sum_to(expected_b, shape_b))


def _sum_to(g, shape):
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


@SETTINGS
@given(shape=st.lists(st.integers(2, 4), min_size=1, max_size=3), data=st.data())
def test_incompatible_shapes_raise(shape, data):
    dim = data.draw(st.integers(0, len(shape) - 1))
    other = list(shape)
    other[dim] = shape[dim] + data.draw(st.integers(1, 3))  # neither equal nor 1
    with pytest.raises(nr.ShapeError) as info:
        nr.ones(*shape) + nr.ones(*other)
    assert str(list(shape)) in str(info.value) and str(other) in str(info.value)


# --------------------------------------------------------------- strided views
@st.composite
def strided_geometry(draw):
    """(storage length, shape, strides, offset) with every element inside the storage."""
    ndim = draw(st.integers(0, 3))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim)))
    strides = tuple(draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim)))
    offset = draw(st.integers(0, 6))
    reach = sum((n - 1) * s for n, s in zip(shape, strides)) if all(shape) else 0
    storage = offset + reach + 1 + draw(st.integers(0, 3))
    return storage, shape, strides, offset


@SETTINGS
@given(geometry=strided_geometry(), seed=st.integers(0, 2 ** 16))
def test_as_strided_matches_numpy_and_scatters_its_gradient(geometry, seed):
    storage, shape, strides, offset = geometry
    base = _values((storage,), seed)
    t = nr.tensor(base, requires_grad=True)
    view = t.as_strided(shape, strides, offset)
    positions = np.lib.stride_tricks.as_strided(np.arange(storage)[offset:], shape,
                                                tuple(8 * s for s in strides))
    assert tuple(view.shape) == shape and view.stride() == strides
    if view.numel():
        assert view.storage_offset() == offset
    assert_close(view, base[positions])
    w = _values(shape, seed + 1)
    (view * nr.tensor(w)).sum().backward()
    assert_close(t.grad, _scatter_back(positions, w, storage))


@st.composite
def shape_and_slices(draw):
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=1, max_size=4)))
    slices = []
    for n in shape:
        start = draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
        stop = draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
        step = draw(st.one_of(st.none(), st.integers(1, 3)))
        slices.append(slice(start, stop, step))
    perm = draw(st.permutations(range(len(shape))))
    return shape, tuple(slices), tuple(perm)


@SETTINGS
@given(case=shape_and_slices(), seed=st.integers(0, 2 ** 16))
def test_slicing_and_permute_views_match_numpy(case, seed):
    shape, key, perm = case
    base = _values(shape, seed)
    t = nr.tensor(base, requires_grad=True)
    view = t[key].permute(*perm)
    expected = np.transpose(base[key], perm)
    assert_close(view, expected)
    if expected.size:  # an empty view's strides are arbitrary (NumPy and torch differ there)
        # Same layout as NumPy's view of a C-contiguous array (strides of size-1 dims are free).
        assert [s for s, n in zip(view.stride(), view.shape) if n != 1] == [
            s // 8 for s, n in zip(expected.strides, expected.shape) if n != 1]
        offset = (expected.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // 8
        assert view.storage_offset() == offset
        assert view.is_contiguous() == expected.flags.c_contiguous
    positions = np.transpose(np.arange(base.size).reshape(shape)[key], perm)
    w = _values(expected.shape, seed + 1)
    (view * nr.tensor(w)).sum().backward()
    assert_close(t.grad, _scatter_back(positions, w, base.size).reshape(shape))


# ---------------------------------------------------------------------- indexing
@st.composite
def index_keys(draw):
    """A shape and a key mixing ints, slices, None, Ellipsis, int lists and a bool mask.

    Index lists share one length, and a mask comes only with length-1 lists, so the
    advanced indices always broadcast together.
    """
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    with_mask = draw(st.booleans())
    list_length = 1 if with_mask else draw(st.integers(1, 3))
    mask_used = False
    entries = []
    use_ellipsis = draw(st.booleans())
    ellipsis_at = draw(st.integers(0, len(shape))) if use_ellipsis else -1
    skipped = draw(st.integers(0, len(shape))) if use_ellipsis else 0
    for i, n in enumerate(shape):
        if i == ellipsis_at:
            entries.append(Ellipsis)
        if ellipsis_at <= i < ellipsis_at + skipped:
            continue  # this dim is covered by the Ellipsis
        kinds = ["int", "slice", "list", "none_then_slice", "full"] + (["mask"] if with_mask and not mask_used else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "int":
            entries.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            entries.append(slice(draw(st.integers(-n, n)), draw(st.integers(-n, n)), draw(st.integers(1, 2))))
        elif kind == "list":
            entries.append(draw(st.lists(st.integers(-n, n - 1), min_size=list_length, max_size=list_length)))
        elif kind == "mask":
            mask_used = True
            entries.append(np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))))
        elif kind == "none_then_slice":
            entries += [None, slice(None)]
        else:
            entries.append(slice(None))
    if ellipsis_at == len(shape):
        entries.append(Ellipsis)
    return shape, tuple(entries)


def _is_advanced(k):
    return isinstance(k, (list, np.ndarray))


def _torch_rule_reference(arr, key):
    """torch's rule stated directly: integers select first, then the rest indexes the result."""
    if not (any(_is_advanced(k) for k in key) and any(isinstance(k, int) for k in key)):
        return arr[key]  # NumPy and torch agree here
    first, rest = [], []
    for k in key:
        if isinstance(k, int):
            first.append(k)
        elif k is None:
            rest.append(k)
        elif k is Ellipsis:
            first.append(k)
            rest.append(k)
        else:  # a slice or an advanced index: keep the dim for the second step
            first.append(slice(None))
            rest.append(k)
    return arr[tuple(first)][tuple(rest)]


def _to_nr_key(key):
    return tuple(nr.tensor(k) if isinstance(k, np.ndarray) else k for k in key)


@SETTINGS
@given(case=index_keys(), seed=st.integers(0, 2 ** 16))
def test_random_getitem_matches_numpy_and_torch(case, seed):
    shape, key = case
    base = _values(shape, seed)
    t = nr.tensor(base, requires_grad=True)
    out = t[_to_nr_key(key)]
    expected = _torch_rule_reference(base, key)
    assert_close(out, expected)
    torch = torch_or_none()
    if torch is not None:
        torch_key = tuple(torch.from_numpy(k) if isinstance(k, np.ndarray) else k for k in key)
        assert_close(out, torch.from_numpy(base)[torch_key])
    positions = _torch_rule_reference(np.arange(base.size).reshape(shape), key)
    w = _values(np.shape(expected), seed + 1)
    (out * nr.tensor(w)).sum().backward()
    assert_close(t.grad, _scatter_back(np.asarray(positions), np.asarray(w), base.size).reshape(shape))


@SETTINGS
@given(case=index_keys(), seed=st.integers(0, 2 ** 16))
def test_random_setitem_matches_numpy(case, seed):
    shape, key = case
    # Repeated positions make the written value ambiguous (torch leaves it undefined): skip them.
    positions = np.asarray(_torch_rule_reference(np.arange(int(np.prod(shape))).reshape(shape), key))
    hypothesis.assume(len(np.unique(positions)) == positions.size)
    expected = np.zeros(shape)
    values = _values(positions.shape, seed)
    expected.reshape(-1)[positions.reshape(-1)] = values.reshape(-1)
    t = nr.zeros(shape, dtype=nr.float64)
    t[_to_nr_key(key)] = nr.tensor(values)
    assert_close(t, expected)
    t2 = nr.zeros(shape, dtype=nr.float64)
    t2[_to_nr_key(key)] = 2.5  # a scalar broadcasts to every indexed position
    expected2 = np.zeros(shape)
    expected2.reshape(-1)[positions.reshape(-1)] = 2.5
    assert_close(t2, expected2)
