import tracemalloc

import numpy as np
import pytest

from neurarust._core.linalg import matmul

FLOAT_DTYPES = [np.float32, np.float64]
INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8]
RNG = np.random.default_rng(1234)


def random(shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return RNG.random(shape) < 0.3
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        # Full range: products overflow, which exercises the wrapping.
        return RNG.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    return RNG.standard_normal(shape).astype(dtype)


def reference(a, b):
    """numpy's product; floats computed in float64 so only our rounding is measured."""
    if a.dtype.kind == "f":
        return np.matmul(a.astype(np.float64), b.astype(np.float64))
    return np.matmul(a, b)


def assert_matches(out, a, b):
    expected = reference(a, b)
    if out.dtype == np.float32:
        # Each output is a K-term float32 dot product.  With random-sign data
        # rounding errors add like a random walk, so the error grows like
        # sqrt(K) * eps * |a||b| (eps = 1.2e-7, values ~N(0, 1)); the base
        # tolerances rtol 1.3e-6, atol 1e-5 are scaled by that sqrt(K).
        scale = np.sqrt(max(a.shape[-1], 1))
        np.testing.assert_allclose(out, expected, rtol=1.3e-6 * scale, atol=1e-5 * scale)
    elif out.dtype == np.float64:
        scale = np.sqrt(max(a.shape[-1], 1))
        np.testing.assert_allclose(out, expected, rtol=1e-13 * scale, atol=1e-13 * scale)
    else:
        np.testing.assert_array_equal(out, expected)


def run(a, b, dtype=None):
    dtype = a.dtype if dtype is None else dtype
    out = np.full(a.shape[:-1] + b.shape[-1:], 7, dtype=dtype)
    if out.dtype.kind == "f":
        out.fill(np.nan)  # beta = 0 must overwrite, never scale, stale values
    matmul(a, b, out)
    return out


def transposed_view(x):
    """Same values as x, stored so that x's last two dims are a transposed view."""
    return np.ascontiguousarray(np.swapaxes(x, -1, -2)).swapaxes(-1, -2)


SHAPES = [
    (1, 1, 1),
    (2, 3, 4),      # C loop (tiny)
    (5, 7, 3),      # BLAS gemm
    (33, 64, 17),
    (1, 50, 40),    # gemv, M == 1
    (40, 50, 1),    # gemv, N == 1
    (1, 70, 1),     # dot
    (30, 1, 20),    # K == 1: outer product
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES + [np.bool_])
@pytest.mark.parametrize("mkn", SHAPES)
@pytest.mark.parametrize("layout", ["contiguous", "a_transposed", "b_transposed", "both_transposed",
                                    "sliced"])
def test_matches_numpy_across_layouts(dtype, mkn, layout):
    m, k, n = mkn
    a, b = random((m, k), dtype), random((k, n), dtype)
    if layout in ("a_transposed", "both_transposed"):
        a = transposed_view(a)
    if layout in ("b_transposed", "both_transposed"):
        b = transposed_view(b)
    if layout == "sliced":
        # Step-2 slices in both dims: neither BLAS form fits, forcing a copy.
        a = random((2 * m, 2 * k), dtype)[::2, ::2]
        b = random((2 * k, 2 * n), dtype)[::2, ::2]
    assert_matches(run(a, b), a, b)


@pytest.mark.parametrize("layout", ["contiguous", "a_transposed", "b_transposed", "both_transposed",
                                    "broadcast_batch"])
def test_blas_operands_are_not_copied(layout):
    """Row-contiguous and transposed views go to BLAS as they are (numpy reports
    its buffer allocations to tracemalloc, so a copy would show up)."""
    a, b = random((3, 96, 64), np.float32), random((3, 64, 80), np.float32)
    if layout in ("a_transposed", "both_transposed"):
        a = transposed_view(a)
    if layout in ("b_transposed", "both_transposed"):
        b = transposed_view(b)
    if layout == "broadcast_batch":
        b = np.broadcast_to(b[:1], b.shape)
    out = np.empty((3, 96, 80), np.float32)
    tracemalloc.start()
    try:
        matmul(a, b, out)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4096
    assert_matches(out, a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_batched_with_broadcast_batch_strides(dtype):
    a = random((3, 1, 6, 9), dtype)
    b = random((1, 4, 9, 5), dtype)
    a_wide = np.broadcast_to(a, (3, 4, 6, 9))   # stride 0 on dim 1
    b_wide = np.broadcast_to(b, (3, 4, 9, 5))   # stride 0 on dim 0
    assert a_wide.strides[1] == 0 and b_wide.strides[0] == 0
    assert_matches(run(a_wide, b_wide), a_wide, b_wide)


def test_broadcast_batch_needing_copy_is_not_materialised():
    # A sliced (copy-needing) operand broadcast over a batch: still correct.
    base = random((12, 16), np.float32)[::2, ::2]
    a = np.broadcast_to(base, (50, 6, 8))
    b = random((50, 8, 3), np.float32)
    assert_matches(run(a, b), a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8, np.bool_])
def test_large_batch_of_small_matrices(dtype):
    # Enough total work for the OpenMP split of the C-loop kernel.
    a, b = random((70, 16, 16), dtype), random((70, 16, 16), dtype)
    assert_matches(run(a, b), a, b)


def test_batched_transposed_and_sliced_mix():
    a = transposed_view(random((2, 3, 10, 20), np.float64))
    b = random((2, 3, 20, 14), np.float64)[..., ::2]
    assert_matches(run(a, b), a, b)


def test_rows_broadcast_within_matrix():
    # Stride 0 inside a matrix is not a valid BLAS leading dimension.
    a = np.broadcast_to(random((1, 9), np.float32), (8, 9))
    b = np.broadcast_to(random((9, 1), np.float32), (9, 7))
    assert_matches(run(a, b), a, b)


def test_size_one_dims_with_odd_strides():
    a = np.lib.stride_tricks.as_strided(random((64,), np.float32), shape=(1, 16), strides=(3, 4))
    b = np.lib.stride_tricks.as_strided(random((64,), np.float32), shape=(16, 1), strides=(4, 12345))
    assert_matches(run(a, b), a, b)
    c = np.lib.stride_tricks.as_strided(random((64,), np.float32), shape=(16, 1), strides=(8, 0))
    d = random((1, 20), np.float32)
    assert_matches(run(c, d), c, d)


def test_unaligned_and_byteswapped_operands():
    raw = np.zeros(4 * 60 + 1, np.uint8)
    unaligned = raw[1:].view(np.float32).reshape(6, 10)
    unaligned[...] = random((6, 10), np.float32)
    assert not unaligned.flags.aligned
    swapped = random((10, 5), np.float32).astype(">f4")
    assert_matches(run(unaligned, swapped, np.float32), unaligned.astype(np.float32),
                   swapped.astype(np.float32))


def test_float_nan_and_inf_propagate():
    a = np.array([[0.0, 1.0], [2.0, 3.0]], np.float32)
    b = np.array([[np.nan, 1.0], [np.inf, 1.0]], np.float32)
    np.testing.assert_array_equal(run(a, b), np.matmul(a, b))


def test_integer_products_wrap():
    a = np.full((2, 3), 100, np.int8)
    b = np.full((3, 2), 3, np.int8)
    np.testing.assert_array_equal(run(a, b), np.matmul(a, b))   # 900 wraps to -124
    big = np.full((1, 2), 2**62, np.int64)
    np.testing.assert_array_equal(run(big, np.full((2, 1), 4, np.int64)), [[0]])


def test_k_zero_writes_zeros():
    for dtype in (np.float32, np.int16, np.bool_):
        a, b = np.empty((2, 3, 0), dtype), np.empty((2, 0, 4), dtype)
        out = run(a, b)
        np.testing.assert_array_equal(out, np.zeros((2, 3, 4), dtype))


@pytest.mark.parametrize("a_shape,b_shape", [((0, 3), (3, 4)), ((2, 3), (3, 0)), ((0, 2, 3), (0, 3, 4))])
def test_empty_outputs(a_shape, b_shape):
    a, b = np.ones(a_shape, np.float32), np.ones(b_shape, np.float32)
    out = np.empty(a_shape[:-1] + b_shape[-1:], np.float32)
    matmul(a, b, out)
    assert out.shape == np.matmul(a, b).shape


@pytest.mark.parametrize("size", [1, 3, 40])
def test_out_aliasing_an_operand(size):
    a = random((size, size), np.float64)
    b = random((size, size), np.float64)
    expected = reference(a, b)
    matmul(a, b, a)
    np.testing.assert_allclose(a, expected, rtol=1e-12, atol=1e-12)


def expect_error(kind, match, a, b, out):
    before = out.copy()
    with pytest.raises(kind, match=match):
        matmul(a, b, out)
    np.testing.assert_array_equal(out, before)


def test_shape_errors():
    f = np.float32
    expect_error(ValueError, "matmul.*at least 2", np.ones(3, f), np.ones(3, f), np.ones(1, f))
    expect_error(ValueError, "same number of dims", np.ones((2, 3), f), np.ones((1, 3, 4), f),
                 np.ones((2, 4), f))
    expect_error(ValueError, r"\(2, 3\).*\(4, 5\)", np.ones((2, 3), f), np.ones((4, 5), f),
                 np.ones((2, 5), f))
    expect_error(ValueError, "batch", np.ones((2, 2, 3), f), np.ones((3, 3, 4), f),
                 np.ones((2, 2, 4), f))
    expect_error(ValueError, "out", np.ones((2, 3), f), np.ones((3, 4), f), np.ones((2, 5), f))
    expect_error(ValueError, "C-contiguous", np.ones((2, 3), f), np.ones((3, 4), f),
                 np.ones((4, 2), f).T)
    read_only = np.ones((2, 4), f)
    read_only.flags.writeable = False
    expect_error(ValueError, "writeable", np.ones((2, 3), f), np.ones((3, 4), f), read_only)
    expect_error(TypeError, "native byte order", np.ones((2, 3), f), np.ones((3, 4), f),
                 np.ones((2, 4), ">f4"))


@pytest.mark.parametrize("dtypes", [
    (np.float32, np.float64, np.float32),
    (np.float32, np.float32, np.float64),
    (np.int8, np.uint8, np.int8),
    (np.float16, np.float16, np.float16),
    (np.complex64, np.complex64, np.complex64),
    (np.uint16, np.uint16, np.uint16),
])
def test_dtype_errors(dtypes):
    a, b, out = (np.ones(s, d) for s, d in zip([(2, 3), (3, 4), (2, 4)], dtypes))
    expect_error(TypeError, "matmul.*dtype", a, b, out)


def test_non_arrays_rejected():
    with pytest.raises(TypeError):
        matmul([[1.0]], np.ones((1, 1)), np.ones((1, 1)))
    with pytest.raises(TypeError):
        matmul(None, np.ones((1, 1)), np.ones((1, 1)))


# ------------------------------------------------------------------ linear
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("m,k,n", [(1, 300, 70), (9, 5, 1), (33, 40, 20), (2, 3, 2), (3, 0, 4)])
def test_linear_adds_bias_in_the_product(dtype, m, k, n):
    from neurarust._core.linalg import linear

    x, w, bias = random((m, k), dtype), random((n, k), dtype), random((n,), dtype)
    out = np.full((m, n), np.nan, dtype)  # garbage must never leak into the result
    linear(x, w, bias, out)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, reference(x, w.T) + bias, rtol=tol, atol=tol)
    linear(x, w, None, out)
    np.testing.assert_allclose(out, reference(x, w.T), rtol=tol, atol=tol)
    # A transposed (column-major) weight view is read without a copy and gives the same result.
    wt = np.asfortranarray(w)
    linear(x, wt, bias, out)
    np.testing.assert_allclose(out, reference(x, w.T) + bias, rtol=tol, atol=tol)


def test_linear_with_out_overlapping_operands_and_bad_arguments():
    from neurarust._core.linalg import linear

    buf = random((4, 4), np.float64)
    x, bias = buf[:, :3].copy(), buf[0].copy()
    w = random((4, 3), np.float64)
    expected = reference(x, w.T) + bias
    # out shares memory with the bias: the bias is read before out is written.
    same = np.empty((1, 4)); same[0] = bias
    linear(x[:1], w, same[0], same)
    np.testing.assert_allclose(same, expected[:1], rtol=1e-12)
    out = np.empty((4, 4))
    with pytest.raises(ValueError, match="bias must be"):
        linear(x, w, np.ones(3), out)
    with pytest.raises(ValueError, match="bias must be"):
        linear(x, w, np.ones(4, np.float32), out)
    with pytest.raises(ValueError, match="out must be"):
        linear(x, w, bias, np.empty((4, 4), order="F"))
    with pytest.raises(TypeError, match="float32 or float64"):
        linear(np.ones((4, 3), np.int64), np.ones((4, 3), np.int64), None, np.empty((4, 4), np.int64))
    with pytest.raises(ValueError, match="2-D"):
        linear(np.ones(3), w, bias, out)
