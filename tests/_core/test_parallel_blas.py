"""One thread pool: scipy's BLAS on one thread, products and convolutions split across ours.

The split kernels (``parallel_blas.pxd``, ``conv.pyx``) are checked at 1 and 2
threads against a float64 NumPy reference; the convolutions, whose split is by
whole samples (fixed chunks for the weight gradient), must also give the same
bits at both thread counts.
"""
import numpy as np
import pytest

import neurarust as nr
from neurarust._core import conv, linalg
from neurarust.backends import blas_threads

RNG = np.random.default_rng(11)


@pytest.fixture
def thread_counts():
    """Yields the thread counts to try and restores the current one afterwards."""
    before = nr.get_num_threads()
    yield (1, 2)
    nr.set_num_threads(before)


def _at_each_thread_count(counts, fn):
    results = []
    for n in counts:
        nr.set_num_threads(n)
        results.append(fn())
    return results


def test_import_leaves_scipy_blas_single_threaded():
    count = blas_threads.get_blas_threads()
    if count is None:
        pytest.skip("scipy does not use a findable OpenBLAS here")
    assert count == 1
    nr.set_num_threads(nr.get_num_threads())
    assert blas_threads.get_blas_threads() == 1


@pytest.mark.parametrize("m,k,n", [(700, 300, 200),    # split by rows of the output
                                   (150, 400, 900),    # split by columns
                                   (1, 3000, 1500),    # gemv over a row vector (op(A) = b^T)
                                   (1500, 3000, 1),    # gemv, matrix-vector
                                   (3, 50, 40)])       # too small to split
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "a_transposed", "b_transposed"])
def test_matmul_split_matches_reference(thread_counts, m, k, n, dtype, layout):
    a = RNG.standard_normal((m, k)).astype(dtype)
    b = RNG.standard_normal((k, n)).astype(dtype)
    if layout == "a_transposed":
        a = np.ascontiguousarray(a.T).T
    elif layout == "b_transposed":
        b = np.ascontiguousarray(b.T).T
    expected = a.astype(np.float64) @ b.astype(np.float64)
    tol = 2e-4 if dtype == np.float32 else 1e-10

    def product():
        out = np.empty((m, n), dtype)
        linalg.matmul(a, b, out)
        return out

    for out in _at_each_thread_count(thread_counts, product):
        np.testing.assert_allclose(out, expected, rtol=tol, atol=tol * np.sqrt(k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_split_accumulates_onto_the_bias(thread_counts, dtype):
    x = RNG.standard_normal((300, 500)).astype(dtype)
    w = RNG.standard_normal((700, 500)).astype(dtype)
    bias = RNG.standard_normal(700).astype(dtype)
    expected = x.astype(np.float64) @ w.T.astype(np.float64) + bias
    tol = 2e-4 if dtype == np.float32 else 1e-10

    def run():
        out = np.empty((300, 700), dtype)
        linalg.linear(x, w, bias, out)
        return out

    for out in _at_each_thread_count(thread_counts, run):
        np.testing.assert_allclose(out, expected, rtol=tol, atol=tol * 25)


def test_batched_matmul_runs_items_on_threads(thread_counts):
    a = RNG.standard_normal((6, 120, 90)).astype(np.float32)
    b = RNG.standard_normal((6, 90, 110)).astype(np.float32)
    expected = a.astype(np.float64) @ b.astype(np.float64)

    def run():
        out = np.empty((6, 120, 110), np.float32)
        linalg.matmul(a, b, out)
        return out

    one, two = _at_each_thread_count(thread_counts, run)
    np.testing.assert_allclose(one, expected, rtol=2e-4, atol=2e-3)
    # Each item is one unsplit BLAS call whichever thread runs it.
    np.testing.assert_array_equal(one, two)


def _conv_reference(x, w, pad):
    """Direct float64 convolution (stride 1, dilation 1, one group)."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    y = np.zeros((n, o, oh, ow))
    for i in range(kh):
        for j in range(kw):
            y += np.einsum("nchw,oc->nohw", xp[:, :, i:i + oh, j:j + ow], w[:, :, i, j])
    return y


@pytest.mark.parametrize("batch", [1, 7, 20])   # 20 = chunks of 8, 8 and 4 for the weight grad
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_batch_split_is_exact_and_thread_independent(thread_counts, batch, dtype):
    x = RNG.standard_normal((batch, 6, 14, 14)).astype(dtype)
    w = RNG.standard_normal((16, 6, 3, 3)).astype(dtype)
    gy = RNG.standard_normal((batch, 16, 14, 14)).astype(dtype)
    tol = 1e-4 if dtype == np.float32 else 1e-11

    def run():
        y = np.empty((batch, 16, 14, 14), dtype)
        conv.conv2d_forward(x, w, None, y, 1, 1, 1, 1, 1, 1, 1)
        gx = np.empty_like(x)
        conv.conv2d_input_grad(gy, w, gx, 1, 1, 1, 1, 1, 1, 1)
        gw = np.empty_like(w)
        conv.conv2d_weight_grad(x, gy, gw, 1, 1, 1, 1, 1, 1, 1)
        return y, gx, gw

    (y1, gx1, gw1), (y2, gx2, gw2) = _at_each_thread_count(thread_counts, run)
    np.testing.assert_allclose(y1, _conv_reference(x, w, 1), rtol=tol, atol=tol * 10)
    # <gx, w-conv> adjointness: sum(gy * conv(x, w)) == sum(gx * x) == sum(gw * w).
    inner = float(np.sum(gy.astype(np.float64) * _conv_reference(x, w, 1)))
    assert np.isclose(float(np.sum(gx1.astype(np.float64) * x)), inner, rtol=tol * 10)
    assert np.isclose(float(np.sum(gw1.astype(np.float64) * w)), inner, rtol=tol * 10)
    for one, two in ((y1, y2), (gx1, gx2), (gw1, gw2)):
        np.testing.assert_array_equal(one, two)
