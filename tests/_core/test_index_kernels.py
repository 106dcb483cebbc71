import itertools

import numpy as np
import pytest

from neurarust._core import index as K

DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.int32, np.int64, np.float16, np.float32,
          np.float64]
REDUCIBLE = [d for d in DTYPES if d is not np.float16]
RNG = np.random.default_rng(7)


def random(shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return RNG.random(shape) < 0.5
    if dtype.kind in "iu":
        return RNG.integers(-50 if dtype.kind == "i" else 0, 50, size=shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def indices(shape, bound):
    return RNG.integers(0, bound, size=shape, dtype=np.int64)


def layouts(x):
    """x itself, a transposed view and a strided slice, all built before any is written."""
    variants = [("contiguous", x)]
    if x.ndim >= 2:
        variants.append(("transposed", np.ascontiguousarray(x.T).T))
    padded = np.zeros(tuple(2 * n for n in x.shape), x.dtype)
    padded[tuple(slice(None, None, 2) for _ in x.shape)] = x
    variants.append(("sliced", padded[tuple(slice(None, None, 2) for _ in x.shape)]))
    return variants


def expect_error(kind, match, fn, *args, unchanged=()):
    before = [a.copy() for a in unchanged]
    with pytest.raises(kind, match=match):
        fn(*args)
    for original, array in zip(before, unchanged):
        np.testing.assert_array_equal(array, original)


# --------------------------------------------------------------------------- index_select


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_index_select_matches_numpy(dtype, axis):
    base = random((4, 5, 6), dtype)
    index = indices(7, base.shape[axis])
    for _, a in layouts(base):
        for _, idx in layouts(index):
            out = np.empty(np.take(a, idx, axis=axis).shape, dtype)
            K.index_select(a, axis, idx, out)
            np.testing.assert_array_equal(out, np.take(base, index, axis=axis))


def test_index_select_broadcast_input_0d_and_empty():
    a = np.broadcast_to(np.arange(3.0), (4, 3))
    out = np.empty((2, 3))
    K.index_select(a, 0, np.array([3, 0]), out)
    np.testing.assert_array_equal(out, a[[3, 0]])
    scalar_out = np.empty((), np.float32)
    K.index_select(np.array(2.5, np.float32), 0, np.array([0]), scalar_out)
    assert scalar_out == 2.5
    empty_out = np.empty((0, 3))
    K.index_select(a, 0, np.empty(0, np.int64), empty_out)
    K.index_select(np.empty((0, 3)), 1, np.array([2, 1]), np.empty((0, 2)))


def test_index_select_errors():
    a, out = random((3, 4), np.float32), np.zeros((2, 4), np.float32)
    expect_error(IndexError, "index_select: index 3 .* dim 0 .* size 3", K.index_select,
                 a, 0, np.array([0, 3]), out, unchanged=[out])
    expect_error(IndexError, "index -1", K.index_select, a, 0, np.array([1, -1]), out,
                 unchanged=[out])
    expect_error(TypeError, "index must have dtype int64", K.index_select,
                 a, 0, np.array([0, 1], np.int32), out, unchanged=[out])
    expect_error(TypeError, "out dtype", K.index_select, a, 0, np.array([0, 1]),
                 np.zeros((2, 4)), unchanged=[])
    expect_error(TypeError, "unsupported dtype", K.index_select, a.astype(np.complex64), 0,
                 np.array([0, 1]), out.astype(np.complex64))
    expect_error(ValueError, r"out shape \(2, 4\) does not match \(3, 4\)", K.index_select,
                 a, 0, np.array([0, 1, 2]), out, unchanged=[out])
    expect_error(ValueError, "1-D", K.index_select, a, 0, np.zeros((1, 2), np.int64), out)
    expect_error(IndexError, "axis 2 is out of range", K.index_select, a, 2, np.array([0, 1]), out)


# --------------------------------------------------------------------------- gather


def gather_reference(a, axis, index):
    axis %= a.ndim
    trimmed = a[tuple(slice(0, n) if d != axis else slice(None) for d, n in enumerate(index.shape))]
    return np.take_along_axis(trimmed, index, axis)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather_matches_numpy(dtype, axis):
    base = random((5, 6, 4), dtype)
    index = indices((3, 6, 2), base.shape[axis])   # smaller than a off the axis
    if axis in (1, -1):
        index = indices((5, 4, 4) if axis == 1 else (2, 6, 7), base.shape[axis])
    for (_, a), (_, idx) in itertools.product(layouts(base), layouts(index)):
        out = np.empty(idx.shape, dtype)
        K.gather(a, axis, idx, out)
        np.testing.assert_array_equal(out, gather_reference(base, axis, index))


def test_gather_strided_out_broadcast_index_0d_and_empty():
    a = random((4, 3), np.float64)
    idx = np.broadcast_to(np.array([[2], [0]]), (2, 3))
    out = np.zeros((3, 2)).T
    K.gather(a, 0, idx, out)
    np.testing.assert_array_equal(out, gather_reference(a, 0, np.ascontiguousarray(idx)))
    scalar_out = np.empty((), np.int16)
    K.gather(np.array(9, np.int16), 0, np.array(0), scalar_out)
    assert scalar_out == 9
    K.gather(a, 1, np.empty((4, 0), np.int64), np.empty((4, 0)))


def test_gather_and_scatter_reading_the_array_they_write():
    a = random((4, 4), np.float64)
    index = indices((4, 4), 4)
    expected = gather_reference(a, 1, index)
    K.gather(a, 1, index, a)          # out is a itself: a is read from a private copy
    np.testing.assert_array_equal(a, expected)
    b = random((4, 4), np.float64)
    expected = scatter_reference(b, 0, index, b, "add")
    K.scatter(b, 0, index, b, "add")  # src is out itself
    np.testing.assert_array_equal(b, expected)


def test_gather_errors():
    a, out = random((3, 4), np.float32), np.zeros((2, 4), np.float32)
    expect_error(IndexError, "gather: index 4 .* dim 1", K.gather, a, 1,
                 np.full((2, 4), 4, np.int64), out, unchanged=[out])
    expect_error(ValueError, "exceeds a shape", K.gather, a, 0, np.zeros((2, 5), np.int64),
                 np.zeros((2, 5), np.float32))
    expect_error(ValueError, "same|as many dims", K.gather, a, 0, np.zeros(4, np.int64),
                 np.zeros(4, np.float32))
    expect_error(ValueError, "out shape", K.gather, a, 0, np.zeros((2, 4), np.int64),
                 np.zeros((2, 3), np.float32))
    expect_error(TypeError, "int64", K.gather, a, 0, np.zeros((2, 4)), out)
    read_only = np.zeros((2, 4), np.float32)
    read_only.flags.writeable = False
    expect_error(ValueError, "writeable", K.gather, a, 0, np.zeros((2, 4), np.int64), read_only)


# --------------------------------------------------------------------------- scatter


def scatter_reference(out, axis, index, src, reduce):
    out = out.copy()
    axis %= out.ndim
    for pos in np.ndindex(*index.shape):
        target = list(pos)
        target[axis] = index[pos]
        target, value = tuple(target), src[pos]
        if reduce == "none":
            out[target] = value
        elif out.dtype == np.bool_:
            out[target] = (out[target] or value) if reduce in ("add", "amax") else (out[target] and value)
        elif reduce == "add":
            out[target] = out[target] + value
        elif reduce == "multiply":
            out[target] = out[target] * value
        elif reduce == "amax":
            out[target] = max(out[target], value) if not np.isnan(value) else value
        else:
            out[target] = min(out[target], value) if not np.isnan(value) else value
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", ["none", "add", "multiply", "amax", "amin"])
@pytest.mark.parametrize("axis", [0, 1])
def test_scatter_matches_reference(dtype, reduce, axis):
    start = random((4, 5), dtype)
    index = indices((3, 4), start.shape[axis])       # repeated indices on purpose
    src = random((3, 6), dtype)                       # larger than index
    if dtype is np.float16 and reduce != "none":
        # The caller upcasts float16 for arithmetic; the kernel refuses it.
        expect_error(TypeError, "float16", K.scatter, start, axis, index, src, reduce,
                     unchanged=[start])
        return
    with np.errstate(over="ignore"):
        expected = scatter_reference(start, axis, index, src, reduce)
    for (_, idx), (_, s) in itertools.product(layouts(index), layouts(src)):
        for _, out in layouts(start.copy()):
            K.scatter(out, axis, idx, s, reduce)
            np.testing.assert_array_equal(out, expected)


def test_scatter_last_write_wins_in_index_order_and_nan_amax():
    out = np.zeros(3)
    K.scatter(out, 0, np.array([1, 1, 1]), np.array([5.0, 6.0, 7.0]), "none")
    np.testing.assert_array_equal(out, [0, 7, 0])
    out = np.array([1.0, np.nan, 3.0], np.float32)
    K.scatter(out, 0, np.array([0, 2, 1]), np.array([np.nan, 9.0, 2.0], np.float32), "amax")
    np.testing.assert_array_equal(out, [np.nan, np.nan, 9.0])


def test_scatter_wraps_integers_0d_and_empty():
    out = np.array([100, 0], np.int8)
    K.scatter(out, 0, np.array([0, 0]), np.array([100, 100], np.int8), "add")
    assert out[0] == np.int8(300 - 256)
    scalar = np.array(2.0)
    K.scatter(scalar, 0, np.array(0), np.array(5.0), "multiply")
    assert scalar == 10.0
    untouched = np.ones((2, 2))
    K.scatter(untouched, 0, np.empty((0, 9), np.int64), np.empty((0, 1)), "none")
    np.testing.assert_array_equal(untouched, 1)


def test_scatter_errors():
    out, src = np.zeros((3, 4)), np.ones((3, 4))
    expect_error(IndexError, "scatter: index 3 .* dim 0", K.scatter, out, 0,
                 np.array([[0, 1, 2, 3]]), src, "add", unchanged=[out])
    expect_error(IndexError, "index -2", K.scatter, out, 1, np.array([[0, 0], [-2, 0]]), src,
                 "none", unchanged=[out])
    expect_error(ValueError, "reduce must be one of", K.scatter, out, 0,
                 np.zeros((1, 1), np.int64), src, "mean", unchanged=[out])
    expect_error(TypeError, "float16", K.scatter, out.astype(np.float16), 0,
                 np.zeros((1, 1), np.int64), src.astype(np.float16), "add")
    expect_error(TypeError, "src dtype", K.scatter, out, 0, np.zeros((1, 1), np.int64),
                 src.astype(np.float32), "none", unchanged=[out])
    expect_error(ValueError, "does not fit", K.scatter, out, 0, np.zeros((2, 5), np.int64), src,
                 "none", unchanged=[out])
    expect_error(ValueError, "does not fit", K.scatter, out, 0, np.zeros((2, 2), np.int64),
                 np.ones((1, 4)), "none", unchanged=[out])
    expect_error(ValueError, "same number of dims", K.scatter, out, 0, np.zeros(2, np.int64),
                 src, "none")


# --------------------------------------------------------------------------- index_add


def index_add_reference(out, axis, index, src, alpha):
    out = out.copy()
    moved = np.moveaxis(out, axis, 0)
    src_moved = np.moveaxis(src, axis, 0)
    for j, i in enumerate(index):
        if out.dtype == np.bool_:
            moved[i] = moved[i] | (src_moved[j] & bool(alpha))
        else:
            moved[i] = moved[i] + (src_moved[j] * out.dtype.type(alpha)).astype(out.dtype)
    return out


@pytest.mark.parametrize("dtype", REDUCIBLE)
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("alpha", [1.0, 3.0])
def test_index_add_matches_reference(dtype, axis, alpha):
    if dtype is np.bool_ and alpha != 1.0:
        alpha = 0.0
    start = random((4, 5, 3), dtype)
    index = indices(6, start.shape[axis])
    src_shape = list(start.shape)
    src_shape[axis] = 6
    src = random(tuple(src_shape), dtype)
    with np.errstate(over="ignore"):
        expected = index_add_reference(start, axis, index, src, alpha)
    for (_, idx), (_, s) in itertools.product(layouts(index), layouts(src)):
        for _, out in layouts(start.copy()):
            K.index_add(out, axis, idx, s, alpha)
            if np.dtype(dtype).kind == "f":
                np.testing.assert_allclose(out, expected, rtol=1e-6)
            else:
                np.testing.assert_array_equal(out, expected)


def test_index_add_is_deterministic_and_handles_0d_and_empty():
    src = RNG.standard_normal((10000, 1)).astype(np.float32)
    results = []
    for _ in range(2):
        out = np.zeros((1, 1), np.float32)
        K.index_add(out, 0, np.zeros(10000, np.int64), src, 1.0)
        results.append(out[0, 0])
    assert results[0] == results[1]
    scalar = np.array(1.0)
    K.index_add(scalar, 0, np.array([0]), np.array(2.0), 0.5)
    assert scalar == 2.0
    out = np.ones((2, 3))
    K.index_add(out, 1, np.empty(0, np.int64), np.empty((2, 0)), 1.0)
    np.testing.assert_array_equal(out, 1)


def test_index_add_errors():
    out = np.zeros((3, 4), np.int32)
    src = np.ones((2, 4), np.int32)
    expect_error(IndexError, "index_add: index 5", K.index_add, out, 0, np.array([0, 5]), src, 1.0,
                 unchanged=[out])
    expect_error(TypeError, "alpha 0.5", K.index_add, out, 0, np.array([0, 1]), src, 0.5,
                 unchanged=[out])
    expect_error(TypeError, "float16", K.index_add, out.astype(np.float16), 0, np.array([0, 1]),
                 src.astype(np.float16), 1.0)
    expect_error(ValueError, "src shape", K.index_add, out, 0, np.array([0, 1, 2]), src, 1.0,
                 unchanged=[out])
    expect_error(ValueError, "src shape", K.index_add, out, 0, np.array([0, 1]),
                 np.ones((2, 3), np.int32), 1.0, unchanged=[out])
    expect_error(TypeError, "src dtype", K.index_add, out, 0, np.array([0, 1]),
                 src.astype(np.int64), 1.0, unchanged=[out])


# --------------------------------------------------------------------------- take


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index_shape", [(3, 7), (2, 2)])   # many lookups (copy) / few (unravel)
def test_take_flattens_in_c_order_whatever_the_strides(dtype, index_shape):
    base = random((4, 6, 5), dtype)
    index = indices(index_shape, base.size)
    for (_, a), (_, idx) in itertools.product(layouts(base), layouts(index)):
        out = np.empty(idx.shape, dtype)
        K.take(a, idx, out)
        np.testing.assert_array_equal(out, base.ravel()[index])
    broadcast = np.broadcast_to(base[:, :1, :], (4, 6, 5))
    out = np.empty(index.shape, dtype)
    K.take(broadcast, index, out)
    np.testing.assert_array_equal(out, broadcast.ravel()[index])


def test_take_0d_and_errors():
    out = np.empty((), np.float32)
    K.take(np.array(4.0, np.float32), np.array(0), out)
    assert out == 4.0
    K.take(np.empty(0), np.empty((2, 0), np.int64), np.empty((2, 0)))
    a, out = np.arange(6.0).reshape(2, 3), np.zeros(2)
    expect_error(IndexError, "take: index 6 .* size 6", K.take, a, np.array([0, 6]), out,
                 unchanged=[out])
    expect_error(IndexError, "take: index 0", K.take, np.empty(0), np.array([0]), out[:1])
    expect_error(ValueError, "out shape", K.take, a, np.array([0, 1, 2]), out, unchanged=[out])


# --------------------------------------------------------------------------- masked_select / nonzero


@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_select_matches_numpy(dtype):
    base = random((5, 4, 3), dtype)
    mask = RNG.random(base.shape) < 0.4
    for (_, a), (_, m) in itertools.product(layouts(base), layouts(mask)):
        result = K.masked_select(a, m)
        assert result.dtype == dtype and result.ndim == 1
        np.testing.assert_array_equal(result, base[mask])


def test_masked_select_0d_empty_and_errors():
    np.testing.assert_array_equal(K.masked_select(np.array(3), np.array(True)), [3])
    assert K.masked_select(np.array(3), np.array(False)).shape == (0,)
    assert K.masked_select(np.empty((0, 2)), np.empty((0, 2), bool)).shape == (0,)
    expect_error(TypeError, "mask must have dtype bool", K.masked_select, np.ones(3), np.ones(3))
    expect_error(ValueError, "mask shape", K.masked_select, np.ones(3), np.ones(2, bool))


@pytest.mark.parametrize("dtype", DTYPES)
def test_nonzero_matches_argwhere(dtype):
    base = random((4, 5, 3), dtype)
    base[1] = 0
    for _, a in layouts(base):
        result = K.nonzero(a)
        assert result.dtype == np.int64
        np.testing.assert_array_equal(result, np.argwhere(base))


def test_nonzero_float_signed_zero_nan_0d_and_empty():
    values = np.array([0.0, -0.0, np.nan, 1e-45, -np.inf], np.float32)
    np.testing.assert_array_equal(K.nonzero(values), [[2], [3], [4]])
    half = np.array([-0.0, 0.0, 1.0], np.float16)
    np.testing.assert_array_equal(K.nonzero(half), [[2]])
    assert K.nonzero(np.array(5)).shape == (1, 0)
    assert K.nonzero(np.array(0.0)).shape == (0, 0)
    assert K.nonzero(np.empty((3, 0))).shape == (0, 2)
    expect_error(TypeError, "unsupported dtype", K.nonzero, np.ones(2, np.complex128))


# --------------------------------------------------------------------------- masked_fill


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask_shape", [(4, 5, 3), (5, 3), (1, 3), (4, 1, 1), ()])
def test_masked_fill_matches_where(dtype, mask_shape):
    base = random((4, 5, 3), dtype)
    mask = np.asarray(RNG.random(mask_shape) < 0.5)
    value = random((), dtype)
    expected = np.where(mask, value, base)
    for _, a in layouts(base.copy()):
        K.masked_fill(a, mask, np.asarray(value, dtype))
        np.testing.assert_array_equal(a, expected)


def test_masked_fill_mask_aliasing_data_0d_and_empty():
    a = np.array([[True, False], [False, True]])
    K.masked_fill(a, np.broadcast_to(a[0], (2, 2)), np.array(False))
    np.testing.assert_array_equal(a, [[False, False], [False, True]])
    scalar = np.array(1.5)
    K.masked_fill(scalar, np.array(True), np.array(-2.0))
    assert scalar == -2.0
    K.masked_fill(np.empty((0, 3)), np.ones(3, bool), np.array(0.0))


def test_masked_fill_errors():
    a = np.zeros((2, 3))
    expect_error(ValueError, "does not broadcast", K.masked_fill, a, np.ones((2, 1, 3), bool),
                 np.array(1.0), unchanged=[a])
    expect_error(ValueError, "does not broadcast", K.masked_fill, a, np.ones(2, bool),
                 np.array(1.0), unchanged=[a])
    expect_error(TypeError, "mask must have dtype bool", K.masked_fill, a, np.ones(3),
                 np.array(1.0), unchanged=[a])
    expect_error(TypeError, "value_array dtype", K.masked_fill, a, np.ones(3, bool),
                 np.array(1.0, np.float32), unchanged=[a])
    expect_error(ValueError, "0-d", K.masked_fill, a, np.ones(3, bool), np.array([1.0]),
                 unchanged=[a])
    read_only = np.zeros(3)
    read_only.flags.writeable = False
    expect_error(ValueError, "writeable", K.masked_fill, read_only, np.ones(3, bool), np.array(1.0))


def test_byteswapped_and_unaligned_inputs():
    swapped = np.arange(6, dtype=">i4").reshape(2, 3)
    out = np.empty((2, 2), np.int32)
    with pytest.raises(TypeError, match="native byte order"):
        K.index_select(swapped, 1, np.array([2, 0]), out.astype(">i4"))
    K.index_select(swapped, 1, np.array([2, 0]), out)
    np.testing.assert_array_equal(out, swapped[:, [2, 0]])
    raw = np.zeros(8 * 5 + 1, np.uint8)
    unaligned_index = raw[1:].view(np.int64)
    unaligned_index[:] = [2, 0, 1, 1, 0]
    a = np.arange(3.0)
    out = np.empty(5)
    K.take(a, unaligned_index, out)
    np.testing.assert_array_equal(out, a[[2, 0, 1, 1, 0]])
    result = K.masked_select(np.arange(3, dtype=">f8"), np.array([True, False, True]))
    np.testing.assert_array_equal(result, [0.0, 2.0])
