"""Conv, pool and norm kernels (neurarust/_core/{conv,pool,norm}.pyx) against NumPy loops."""
import numpy as np
import pytest

from neurarust._core import conv, norm, pool

RNG = np.random.default_rng(0)


def ref_im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow):
    n, c, h, w = x.shape
    cols = np.zeros((n, c, kh, kw, oh, ow), x.dtype)
    for i in range(kh):
        for j in range(kw):
            for a in range(oh):
                for b in range(ow):
                    y, z = a * sh - ph + i * dh, b * sw - pw + j * dw
                    if 0 <= y < h and 0 <= z < w:
                        cols[:, :, i, j, a, b] = x[:, :, y, z]
    return cols.reshape(n, c * kh * kw, oh * ow)


GEOMS = [(3, 3, 1, 1, 1, 1, 1, 1), (2, 3, 2, 1, 0, 1, 1, 2), (3, 2, 2, 3, 2, 1, 2, 1), (1, 1, 1, 1, 0, 0, 1, 1)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geom", GEOMS)
def test_im2col_col2im_match_loops_and_are_adjoint(dtype, geom):
    kh, kw, sh, sw, ph, pw, dh, dw = geom
    x = RNG.standard_normal((2, 3, 7, 6)).astype(dtype)
    oh = (7 + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (6 + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    cols = np.empty((2, 3 * kh * kw, oh * ow), dtype)
    conv.im2col(x, cols, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
    np.testing.assert_array_equal(cols, ref_im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow))
    # <im2col(x), c> == <x, col2im(c)>
    c = RNG.standard_normal(cols.shape).astype(dtype)
    back = np.empty_like(x)
    conv.col2im(c, back, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow)
    np.testing.assert_allclose((cols * c).sum(), (x * back).sum(), rtol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geom", [(3, 3, 1, 1, 1, 1, 7), (2, 3, 0, 2, 1, 2, 6), (5, 4, 3, 1, 2, 1, 9),
                                  (3, 5, 2, 4, 1, 1, 3), (4, 2, 6, 0, 3, 1, 2), (1, 1, 0, 0, 1, 1, 7)])
def test_im2col_stride1_same_width_path(dtype, geom):
    # Stride 1 with OW == W takes the flat-shift path: asymmetric padding,
    # dilation, padding wider than the plane and any OH must match the loops.
    kh, kw, ph, pw, dh, dw, oh = geom
    x = RNG.standard_normal((2, 3, 5, 3 if kw == 5 else 6)).astype(dtype)
    ow = x.shape[3]
    cols = np.full((2, 3 * kh * kw, oh * ow), np.nan, dtype)
    conv.im2col(x, cols, kh, kw, 1, 1, ph, pw, dh, dw, oh, ow)
    np.testing.assert_array_equal(cols, ref_im2col(x, kh, kw, 1, 1, ph, pw, dh, dw, oh, ow))


def ref_conv(x, w, b, s, p, d, g, oh, ow):
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    cols = ref_im2col(x, kh, kw, s[0], s[1], p[0], p[1], d[0], d[1], oh, ow)
    cols = cols.reshape(n, g, cg * kh * kw, oh * ow)
    y = np.einsum("gok,ngkl->ngol", w.reshape(g, o // g, -1), cols).reshape(n, o, oh, ow)
    return y + (0 if b is None else b[:, None, None])


@pytest.mark.parametrize("groups,bias", [(1, True), (2, False), (4, True)])
def test_conv_products_match_reference(groups, bias):
    x = RNG.standard_normal((2, 4, 6, 5))
    w = RNG.standard_normal((8, 4 // groups, 3, 2))
    b = RNG.standard_normal(8) if bias else None
    s, p, d = (2, 1), (1, 0), (1, 2)
    oh, ow = (6 + 2 - 2 - 1) // 2 + 1, (5 - 2 - 1) // 1 + 1
    y = np.empty((2, 8, oh, ow))
    conv.conv2d_forward(x, w, b, y, *s, *p, *d, groups)
    np.testing.assert_allclose(y, ref_conv(x, w, b, s, p, d, groups, oh, ow), rtol=1e-10, atol=1e-10)
    # gradients from the adjoint identities: <conv(x, w), g> is linear in x and in w
    g = RNG.standard_normal(y.shape)
    gx, gw = np.empty_like(x), np.empty_like(w)
    conv.conv2d_input_grad(g, w, gx, *s, *p, *d, groups)
    conv.conv2d_weight_grad(x, g, gw, *s, *p, *d, groups)
    ref = lambda xx, ww: (ref_conv(xx, ww, None, s, p, d, groups, oh, ow) * g).sum()  # noqa: E731
    e = RNG.standard_normal(x.shape)
    np.testing.assert_allclose(ref(e, w), (e * gx).sum(), rtol=1e-9)
    f = RNG.standard_normal(w.shape)
    np.testing.assert_allclose(ref(x, f), (f * gw).sum(), rtol=1e-9)


def test_conv_kernel_rejects_bad_arguments():
    x, w, y = np.zeros((1, 3, 4, 4)), np.zeros((2, 3, 3, 3)), np.zeros((1, 2, 2, 2))
    with pytest.raises(ValueError, match="groups"):
        conv.conv2d_forward(x, np.zeros((2, 2, 3, 3)), None, y, 1, 1, 0, 0, 1, 1, 1)
    with pytest.raises(TypeError, match="dtype"):
        conv.conv2d_forward(x, w.astype(np.float32), None, y, 1, 1, 0, 0, 1, 1, 1)
    with pytest.raises(ValueError, match="contiguous"):
        conv.conv2d_forward(x.transpose(0, 1, 3, 2), w, None, y, 1, 1, 0, 0, 1, 1, 1)
    with pytest.raises(ValueError, match="stride"):
        conv.conv2d_forward(x, w, None, y, 0, 1, 0, 0, 1, 1, 1)


def test_max_pool_kernel_with_padding_and_nan():
    x = np.array([[[[1.0, 5.0, 2.0], [np.nan, 0.0, 3.0], [4.0, -1.0, 9.0]]]], np.float32)
    y, idx = np.empty((1, 1, 2, 2), np.float32), np.empty((1, 1, 2, 2), np.int64)
    pool.max_pool2d_forward(x, y, idx, 2, 2, 2, 2, 1, 1, 1, 1)
    # windows: {1}, {5,2}, {nan,4}, {0,3,-1,9}
    assert idx.ravel().tolist() == [0, 1, 3, 8]
    assert np.isnan(y[0, 0, 1, 0]) and y.ravel()[[0, 1, 3]].tolist() == [1.0, 5.0, 9.0]
    g = np.arange(1.0, 5.0, dtype=np.float32).reshape(1, 1, 2, 2)
    gx = np.empty_like(x)
    pool.max_pool2d_backward(g, idx, gx)
    assert gx.ravel().tolist() == [1, 2, 0, 3, 0, 0, 0, 0, 4]
    with pytest.raises(IndexError):
        pool.max_pool2d_backward(g, idx + 100, gx)


def ref_max_pool_2x2(x):
    """Row-major scan of each 2x2 window: a larger value or a NaN replaces the best."""
    n, c, h, w = x.shape
    y = np.empty((n, c, h // 2, w // 2), x.dtype)
    idx = np.empty(y.shape, np.int64)
    for a in range(h // 2):
        for b in range(w // 2):
            best, bi = x[:, :, 2 * a, 2 * b], np.full((n, c), 2 * a * w + 2 * b)
            for i, j in ((0, 1), (1, 0), (1, 1)):
                v = x[:, :, 2 * a + i, 2 * b + j]
                take = (v > best) | np.isnan(v)
                best, bi = np.where(take, v, best), np.where(take, (2 * a + i) * w + 2 * b + j, bi)
            y[:, :, a, b], idx[:, :, a, b] = best, bi
    return y, idx


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hw", [(6, 8), (7, 5)])
def test_max_pool_2x2_fast_path_matches_scan_order(dtype, hw):
    # Small integers give ties; NaNs (several per window too) test the NaN rule.
    x = RNG.integers(0, 4, (2, 3) + hw).astype(dtype)
    x[RNG.random(x.shape) < 0.1] = np.nan
    ry, ridx = ref_max_pool_2x2(x)
    y, idx = np.empty(ry.shape, dtype), np.empty(ry.shape, np.int64)
    pool.max_pool2d_forward(x, y, idx, 2, 2, 2, 2, 0, 0, 1, 1)
    np.testing.assert_array_equal(idx, ridx)
    np.testing.assert_array_equal(y, ry)
    # The general path (taken when ceil-mode windows overhang) agrees on full windows.
    oh, ow = -(-hw[0] // 2) + 1, -(-hw[1] // 2) + 1
    y2, idx2 = np.empty((2, 3, oh, ow), dtype), np.empty((2, 3, oh, ow), np.int64)
    pool.max_pool2d_forward(x, y2, idx2, 2, 2, 2, 2, 0, 0, 1, 1)
    np.testing.assert_array_equal(idx2[:, :, : ry.shape[2], : ry.shape[3]], ridx)


def test_max_pool_backward_rejects_out_of_range_indices():
    g = np.ones((1, 2, 2, 2), np.float32)
    gx = np.empty((1, 2, 4, 4), np.float32)
    for bad in (16, -2):
        idx = np.zeros((1, 2, 2, 2), np.int64)
        idx[0, 1, 1, 0] = bad
        with pytest.raises(IndexError, match="out of range"):
            pool.max_pool2d_backward(g, idx, gx)
    idx = np.array([0, 5, 10, -1] * 2, np.int64).reshape(1, 2, 2, 2)
    pool.max_pool2d_backward(g, idx, gx)  # -1 (an empty window) is skipped
    assert gx.reshape(2, 16)[:, [0, 5, 10]].tolist() == [[1, 1, 1]] * 2 and gx.sum() == 6


def test_avg_and_adaptive_kernels_are_adjoint_to_their_backward():
    x = RNG.standard_normal((2, 3, 7, 5))
    for include_pad in (True, False):
        y = np.empty((2, 3, 4, 3))
        pool.avg_pool2d_forward(x, y, 3, 2, 2, 2, 1, 1, include_pad)
        g = RNG.standard_normal(y.shape)
        gx = np.empty_like(x)
        pool.avg_pool2d_backward(g, gx, 3, 2, 2, 2, 1, 1, include_pad)
        np.testing.assert_allclose((y * g).sum(), (x * gx).sum(), rtol=1e-10)
    y = np.empty((2, 3, 3, 2))
    pool.adaptive_avg_pool2d_forward(x, y)
    # bin (0, 0): rows [0, 3), cols [0, 3)
    np.testing.assert_allclose(y[:, :, 0, 0], x[:, :, :3, :3].mean((2, 3)))
    g = RNG.standard_normal(y.shape)
    gx = np.empty_like(x)
    pool.adaptive_avg_pool2d_backward(g, gx)
    np.testing.assert_allclose((y * g).sum(), (x * gx).sum(), rtol=1e-10)


def test_norm_kernels_match_numpy():
    x = RNG.standard_normal((4, 3, 5)) * 3 + 100  # large mean: the shifted one-pass variance must hold
    w, b = RNG.standard_normal(3), RNG.standard_normal(3)
    mean, rstd, var, y = np.empty(3), np.empty(3), np.empty(3), np.empty_like(x)
    norm.batch_norm_forward(x, w, b, mean, rstd, var, y, 1e-5, True)
    np.testing.assert_allclose(mean, x.mean((0, 2)), rtol=1e-12)
    np.testing.assert_allclose(var, x.var((0, 2)), rtol=1e-9)
    ref = (x - x.mean((0, 2), keepdims=True)) / np.sqrt(x.var((0, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, ref * w[:, None] + b[:, None], rtol=1e-8, atol=1e-8)
    gm, gr = np.empty(4 * 1), np.empty(4 * 1)
    x2 = x.reshape(4, 15)
    y2 = np.empty_like(x2)
    norm.layer_norm_forward(x2, None, None, gm, gr, y2, 0.0)
    np.testing.assert_allclose(y2, (x2 - x2.mean(1, keepdims=True)) / x2.std(1, keepdims=True), atol=1e-8)
    with pytest.raises(ValueError, match="shape"):
        norm.layer_norm_forward(x2, np.ones(3), None, gm, gr, y2, 0.0)


def test_conv_outputs_from_reused_blocks_stay_correct():
    # Two training-like rounds: the second round's outputs reuse the first's pages.
    from neurarust.backends.cpu import CPUBackend

    be = CPUBackend("cpu")
    x = RNG.standard_normal((8, 4, 24, 24)).astype(np.float32)
    w = RNG.standard_normal((16, 4, 3, 3)).astype(np.float32)
    first = be.conv2d(x, w, None, (1, 1), (1, 1), (1, 1), 1, (24, 24))
    ref = first.copy()
    del first
    again = be.conv2d(x, w, None, (1, 1), (1, 1), (1, 1), 1, (24, 24))
    other = be.conv2d(x * 2, w, None, (1, 1), (1, 1), (1, 1), 1, (24, 24))
    np.testing.assert_array_equal(again, ref)
    np.testing.assert_array_equal(other, 2 * ref)


def test_relu_backward_kernel_is_thresholds_backward_and_checks_arguments():
    from neurarust._core import nn_kernels

    y = np.array([np.nan, -1.0, 0.0, 2.0, -0.0], np.float64)
    g = np.array([1.0, np.nan, np.inf, np.nan, 3.0], np.float64)
    out = np.empty_like(y)
    nn_kernels.relu_backward(g, y, out)
    np.testing.assert_array_equal(out, [1.0, 0.0, 0.0, np.nan, 0.0])
    with pytest.raises(TypeError, match="share dtype"):
        nn_kernels.relu_backward(g.astype(np.float32), y, out)
    with pytest.raises(ValueError, match="shapes differ"):
        nn_kernels.relu_backward(g[:3], y[:3], out)
    with pytest.raises(ValueError, match="C-contiguous"):
        nn_kernels.relu_backward(g[::2], y[::2], out[:3])


def test_backend_outputs_from_the_block_cache_never_alias_live_arrays():
    # matmul, linear and elementwise (here relu) outputs above the cache threshold
    # come from reused blocks: results held by the caller must keep their values.
    from neurarust.backends.cpu import CPUBackend

    b = CPUBackend(None)
    x = np.random.default_rng(3).standard_normal((256, 300)).astype(np.float32)
    w = np.random.default_rng(4).standard_normal((300, 300)).astype(np.float32)
    first = b.matmul(x, w)
    kept = first.copy()
    for _ in range(3):
        other = b.linear(x, w.T, None)
        assert not np.shares_memory(other, first)
        r = b.unary("relu", other)
        assert not np.shares_memory(r, first) and not np.shares_memory(r, other)
        del other, r
    np.testing.assert_array_equal(first, kept)
