"""CUDA nn methods (conv, pool, norms, cross-entropy, optimizer steps) against the CPU backend.

Host-side helpers are tested everywhere; the method comparisons need a GPU.
Kernels whose sums run in the CPU kernels' order (im2col/col2im, max pool,
the average pools) must match bit for bit; the others are compared with
tolerances that cover a different summation order (cuBLAS, block
reductions) and fused multiply-adds.
"""
from __future__ import annotations

import numpy as np
import pytest

import neurarust as nr
from neurarust.backends.cuda import unavailable_reason
from neurarust.backends.cuda.array import CUDAArray
from neurarust.backends.cuda.kernels import nn as KC
from neurarust.backends.cuda.kernels import nn_norm as KN
from neurarust.backends.cuda.nn import conv_col_strides, use_wide_index
from neurarust.backends.cuda.nn_norm import channel_block
from neurarust.backends.cuda.nn_optim import operands_overlap
from neurarust.device import backend_for

needs_gpu = pytest.mark.skipif(unavailable_reason() is not None, reason=f"CUDA unavailable: {unavailable_reason()}")
DTYPES = [np.float32, np.float64]


# ------------------------------------------------------------------ host side
def test_index_width():
    assert not use_wide_index(0, 2**30 - 1)
    assert use_wide_index(5, 2**30)
    assert not use_wide_index()


@pytest.mark.parametrize("groups", [1, 2])
def test_conv_column_layouts_make_the_gemm_a_convolution(groups):
    """Columns written at conv_col_strides, multiplied as nn.py does, give the CPU's conv2d."""
    cpu = backend_for(nr.device("cpu"))
    rng = np.random.default_rng(0)
    n, c, o, h, w, k = 3, 4, 6, 5, 5, (3, 3)
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((o, c // groups) + k)
    ohw = (3, 3)
    ref_cols = cpu.im2col(x, k, (1, 1), (0, 0), (1, 1), ohw)           # (N, C*9, L)
    cg, kk, length = c // groups, c // groups * 9, 9
    flat = np.zeros(n * c * 9 * length)
    sg, sk, sn = conv_col_strides(groups > 1, n, kk, length)
    for b in range(n):
        for ch in range(c):
            g, r0 = divmod(ch, cg)
            for r in range(9):
                for pos in range(length):
                    flat[g * sg + (r0 * 9 + r) * sk + b * sn + pos] = ref_cols[b, ch * 9 + r, pos]
    if groups == 1:
        y = np.matmul(wt.reshape(1, o, kk), flat.reshape(n, kk, length))
    else:
        y = np.matmul(wt.reshape(groups, o // groups, kk), flat.reshape(groups, kk, n * length))
        y = y.reshape(o, n, length).transpose(1, 0, 2)
    expected = cpu.conv2d(x, wt, None, (1, 1), (0, 0), (1, 1), groups, ohw)
    np.testing.assert_allclose(y.reshape(expected.shape), expected, rtol=1e-12, atol=1e-12)


def test_channel_block_shapes():
    for s in (1, 2, 100):
        tx, ty = channel_block(s)
        assert tx * ty <= 256 and ty & (ty - 1) == 0  # the tree reduction halves ty


def test_kernel_tables_match_rendered_signatures():
    for dtype in KC.NN_DTYPES:
        src = KC._render_conv((dtype,)) + KC._render_pool((dtype,)) + KN._render((dtype,))
        for kind, table in (("conv", KC._CONV_KERNELS), ("pool", KC._POOL_KERNELS)):
            for op, (params, _) in table.items():
                for wide in (False, True):
                    name = f"nr_{kind}_{op}_{dtype}_{'i64' if wide else 'i32'}("
                    assert name in src
                    assert len(KC.arg_format(kind, op, wide)) == params.count(",") + 1
        for op, (params, _) in KN._KERNELS.items():
            assert f"nr_norm_{op}_{dtype}(" in src
            assert len(KN.arg_format(op)) == params.count(",") + 1


class _Block:
    def __init__(self, ptr):
        self.ptr, self.nbytes, self.device_index = ptr, 1 << 20, 0


def test_operands_overlap():
    blk, other = _Block(4096), _Block(1 << 30)
    a = CUDAArray(blk, (4, 4), (4, 1), 0, np.float32)
    assert operands_overlap(a, CUDAArray(blk, (4,), (1,), 12, np.float32))
    assert not operands_overlap(a, CUDAArray(blk, (4,), (1,), 16, np.float32))
    assert not operands_overlap(a, CUDAArray(other, (4, 4), (4, 1), 0, np.float32))
    assert not operands_overlap(a, CUDAArray(blk, (0,), (1,), 0, np.float32))
    assert operands_overlap(a, CUDAArray(blk, (4, 4), (1, 4), 0, np.float32))


# ------------------------------------------------------------ GPU vs CPU
@pytest.fixture(scope="module")
def be():
    return backend_for(nr.device("cpu")), backend_for(nr.device("cuda"))


def _dev(gpu, a, layout="contig"):
    """``a`` on the GPU: C-contiguous, or a transposed view of a copy (non-contiguous)."""
    if a is None:
        return None
    if layout == "contig" or a.ndim < 2:
        return gpu.from_numpy(a)
    dims = list(range(a.ndim))
    dims[-1], dims[-2] = dims[-2], dims[-1]
    return gpu.permute(gpu.from_numpy(np.ascontiguousarray(np.transpose(a, dims))), dims)


def _host(gpu, a):
    return None if a is None else gpu.to_numpy(a)


def _close(got, exp, dtype, exact=False, f32=1e-5, f64=1e-12):
    assert got.shape == exp.shape and got.dtype == exp.dtype
    if exact:
        np.testing.assert_array_equal(got, exp)
    else:
        tol = f32 if dtype == np.float32 else f64
        np.testing.assert_allclose(got, exp, rtol=tol, atol=tol)


def _out(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


CONV_CASES = [  # (N, C, H, W, O, kernel, stride, padding, dilation, groups, bias)
    (2, 3, 7, 6, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    (1, 4, 5, 5, 6, (3, 2), (2, 1), (1, 0), (1, 2), 2, False),
    (3, 4, 6, 5, 4, (2, 2), (2, 2), (0, 1), (2, 1), 2, True),
    (2, 3, 4, 4, 5, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),    # 1x1: no im2col
    (2, 4, 4, 4, 4, (1, 1), (1, 1), (0, 0), (1, 1), 4, False),   # depthwise
    (2, 3, 9, 1, 2, (3, 1), (2, 1), (2, 0), (2, 1), 1, False),   # conv1d as H x 1
]


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv(be, dtype, case):
    cpu, gpu = be
    n, c, h, w, o, k, s, p, d, g, with_bias = case
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c // g) + k).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if with_bias else None
    ohw = tuple(_out(*a) for a in zip((h, w), k, s, p, d))
    y = cpu.conv2d(x, wt, b, s, p, d, g, ohw)
    tol = dict(f32=1e-4, f64=1e-11)
    _close(_host(gpu, gpu.conv2d(_dev(gpu, x, "strided"), _dev(gpu, wt), _dev(gpu, b), s, p, d, g, ohw)),
           y, dtype, **tol)
    gy = rng.standard_normal(y.shape).astype(dtype)
    _close(_host(gpu, gpu.conv2d_input_grad(_dev(gpu, gy), _dev(gpu, wt), x.shape, s, p, d, g)),
           cpu.conv2d_input_grad(gy, wt, x.shape, s, p, d, g), dtype, **tol)
    _close(_host(gpu, gpu.conv2d_weight_grad(_dev(gpu, x), _dev(gpu, gy, "strided"), wt.shape, s, p, d, g)),
           cpu.conv2d_weight_grad(x, gy, wt.shape, s, p, d, g), dtype, **tol)
    if g == 1:
        cols = cpu.im2col(x, k, s, p, d, ohw)
        _close(_host(gpu, gpu.im2col(_dev(gpu, x), k, s, p, d, ohw)), cols, dtype, exact=True)
        _close(_host(gpu, gpu.col2im(_dev(gpu, cols), x.shape, k, s, p, d, ohw)),
               cpu.col2im(cols, x.shape, k, s, p, d, ohw), dtype, exact=True)


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_empty_batch(be, dtype):
    cpu, gpu = be
    x, wt = np.zeros((0, 2, 4, 4), dtype), np.ones((3, 2, 3, 3), dtype)
    geom = ((1, 1), (0, 0), (1, 1), 1)
    assert gpu.conv2d(_dev(gpu, x), _dev(gpu, wt), None, *geom, (2, 2)).shape == (0, 3, 2, 2)
    g = np.zeros((0, 3, 2, 2), dtype)
    _close(_host(gpu, gpu.conv2d_weight_grad(_dev(gpu, x), _dev(gpu, g), wt.shape, *geom)),
           cpu.conv2d_weight_grad(x, g, wt.shape, *geom), dtype, exact=True)


POOL_CASES = [  # (shape, kernel, stride, padding, dilation, out_hw or None)
    ((2, 3, 7, 6), (3, 3), (2, 2), (1, 1), (1, 1), None),
    ((1, 2, 6, 6), (2, 2), (2, 2), (0, 0), (1, 1), None),
    ((2, 1, 9, 8), (3, 2), (1, 2), (1, 1), (2, 1), None),
    ((1, 2, 5, 5), (2, 2), (2, 2), (0, 0), (1, 1), (3, 3)),   # ceil_mode: a clipped last window
]


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
def test_pools(be, dtype, case):
    cpu, gpu = be
    shape, k, s, p, d, ohw = case
    ohw = ohw or tuple(_out(*a) for a in zip(shape[2:], k, s, p, d))
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    x.ravel()[::7] = x.ravel()[3]            # ties: the first maximum wins
    x.ravel()[[5, 17]] = np.nan              # NaN wins
    y, idx = cpu.max_pool2d(x, k, s, p, d, ohw)
    yg, ig = gpu.max_pool2d(_dev(gpu, x, "strided"), k, s, p, d, ohw)
    _close(_host(gpu, yg), y, dtype, exact=True)
    np.testing.assert_array_equal(_host(gpu, ig), idx)
    g = rng.standard_normal(y.shape).astype(dtype)
    # Overlapping windows scatter with atomics: the order of the sums may differ.
    _close(_host(gpu, gpu.max_pool2d_backward(_dev(gpu, g), ig, shape)),
           cpu.max_pool2d_backward(g, idx, shape), dtype)
    if d != (1, 1):
        return
    for include_pad, divisor in ((True, None), (False, None), (True, 3)):
        _close(_host(gpu, gpu.avg_pool2d(_dev(gpu, x, "strided"), k, s, p, ohw, include_pad, divisor)),
               cpu.avg_pool2d(x, k, s, p, ohw, include_pad, divisor), dtype, exact=True)
        _close(_host(gpu, gpu.avg_pool2d_backward(_dev(gpu, g), shape, k, s, p, include_pad, divisor)),
               cpu.avg_pool2d_backward(g, shape, k, s, p, include_pad, divisor), dtype, exact=True)


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,out_hw", [((2, 3, 7, 5), (3, 2)), ((1, 1, 3, 4), (5, 7)), ((1, 2, 6, 6), (1, 1))])
def test_adaptive_avg_pool(be, dtype, shape, out_hw):
    cpu, gpu = be
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(dtype)
    _close(_host(gpu, gpu.adaptive_avg_pool2d(_dev(gpu, x, "strided"), out_hw)),
           cpu.adaptive_avg_pool2d(x, out_hw), dtype, exact=True)
    g = rng.standard_normal(shape[:2] + out_hw).astype(dtype)
    _close(_host(gpu, gpu.adaptive_avg_pool2d_backward(_dev(gpu, g), shape)),
           cpu.adaptive_avg_pool2d_backward(g, shape), dtype, exact=True)


@needs_gpu
def test_max_pool_backward_rejects_bad_indices(be):
    _, gpu = be
    g = gpu.from_numpy(np.ones((1, 1, 1, 2), np.float32))
    with pytest.raises(IndexError, match="index out of range for planes of 4 elements"):
        gpu.max_pool2d_backward(g, gpu.from_numpy(np.array([[[[0, 99]]]], np.int64)), (1, 1, 2, 2))


NEEDS = [(True, True, True), (True, False, False), (False, True, False), (False, False, True)]


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 5, 1), (3, 40, 1), (2, 3, 7), (5, 2, 33)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm(be, dtype, shape, affine):
    cpu, gpu = be
    rng = np.random.default_rng(4)
    c = shape[1]
    x = (rng.standard_normal(shape) * 3 + 10).astype(dtype)  # a large mean: the shifted sums matter
    w = rng.standard_normal(c).astype(dtype) if affine else None
    b = rng.standard_normal(c).astype(dtype) if affine else None
    exp = cpu.batch_norm(x, w, b, None, None, 1e-5, True)
    got = gpu.batch_norm(_dev(gpu, x, "strided"), _dev(gpu, w), _dev(gpu, b), None, None, 1e-5, True)
    for e, a in zip(exp, got):
        _close(_host(gpu, a), e, dtype)
    rm, rv = rng.standard_normal(c).astype(dtype), (rng.random(c) + 0.5).astype(dtype)
    rstd = 1.0 / np.sqrt(rv.astype(np.float64) + 1e-5)
    _close(_host(gpu, gpu.batch_norm(_dev(gpu, x), _dev(gpu, w), _dev(gpu, b), _dev(gpu, rm), _dev(gpu, rstd),
                                     1e-5, False)[0]),
           cpu.batch_norm(x, w, b, rm, rstd, 1e-5, False)[0], dtype)
    g = rng.standard_normal(shape).astype(dtype)
    for training in (True, False):
        for needs in NEEDS:
            want = cpu.batch_norm_backward(g, x, exp[1], exp[2], w, needs, training)
            have = gpu.batch_norm_backward(_dev(gpu, g), _dev(gpu, x), got[1], got[2], _dev(gpu, w), needs, training)
            for e, a in zip(want, have):
                assert (e is None) == (a is None)
                if e is not None:
                    _close(_host(gpu, a), e, dtype, f32=1e-4, f64=1e-10)


@needs_gpu
def test_batch_norm_needs_values(be):
    _, gpu = be
    with pytest.raises(ValueError, match="no values"):
        gpu.batch_norm(gpu.zeros((0, 3, 1), np.float32), None, None, None, None, 1e-5, True)


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,groups", [((2, 6, 5), 3), ((3, 4, 1), 2), ((1, 8, 40), 1), ((7, 33), 0),
                                          ((300, 5), 0), ((2, 0), 0), ((0, 4), 0)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_and_layer_norm(be, dtype, shape, groups, affine):
    cpu, gpu = be
    rng = np.random.default_rng(5)
    c = shape[1]
    x = (rng.standard_normal(shape) * 2 + 5).astype(dtype)
    w = rng.standard_normal(c).astype(dtype) if affine else None
    b = rng.standard_normal(c).astype(dtype) if affine else None
    y, mean, rstd = cpu.group_norm(x, groups, w, b, 1e-5)
    yg, mg, rg = gpu.group_norm(_dev(gpu, x, "strided"), groups, _dev(gpu, w), _dev(gpu, b), 1e-5)
    _close(_host(gpu, yg), y, dtype)
    if x.size:  # statistics of empty groups are unspecified on both backends
        _close(_host(gpu, mg), mean, np.float64)
        _close(_host(gpu, rg), rstd, np.float64)
    g = rng.standard_normal(shape).astype(dtype)
    for needs in NEEDS:
        want = cpu.group_norm_backward(g, x, groups, mean, rstd, w, needs)
        have = gpu.group_norm_backward(_dev(gpu, g), _dev(gpu, x), groups, mg, rg, _dev(gpu, w), needs)
        for e, a in zip(want, have):
            assert (e is None) == (a is None)
            if e is not None:
                _close(_host(gpu, a), e, dtype, f32=1e-4, f64=1e-10)


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,c", [(5, 3), (4, 70), (17, 10), (1, 1)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ls", [0.0, 0.2])
def test_cross_entropy(be, dtype, n, c, weighted, ls):
    cpu, gpu = be
    rng = np.random.default_rng(6)
    x = (rng.standard_normal((n, c)) * 3).astype(dtype)
    t = rng.integers(0, c, n).astype(np.int64)
    if n > 3:
        t[1] = -100            # ignored row
        x[2, 0] = np.nan       # NaN propagates through the row
        x[3, :] = -np.inf      # log(0)
    w = (rng.random(c) + 0.5).astype(dtype) if weighted else None
    exp = cpu.cross_entropy_forward(x, t, w, -100, ls)
    got = gpu.cross_entropy_forward(_dev(gpu, x, "strided"), _dev(gpu, t), _dev(gpu, w), -100, ls)
    for e, a in zip(exp, got):
        _close(_host(gpu, a), e, dtype)
    gout = rng.standard_normal(n).astype(dtype)
    for go in (None, gout):
        _close(_host(gpu, gpu.cross_entropy_backward(_dev(gpu, x), _dev(gpu, t), _dev(gpu, w), -100, got[0],
                                                     _dev(gpu, go), 0.7, 0.1)),
               cpu.cross_entropy_backward(x, t, w, -100, exp[0], go, 0.7, 0.1), dtype)


@needs_gpu
def test_cross_entropy_target_out_of_range(be):
    _, gpu = be
    x, t = gpu.zeros((3, 4), np.float32), gpu.from_numpy(np.array([0, 5, -3], np.int64))
    with pytest.raises(IndexError, match=r"Target 5 is out of bounds: .*\[0, 3\].* position 1"):
        gpu.cross_entropy_forward(x, t, None, -100, 0.0)


def _optim_cases(shape, rng, dtype):
    def mk(positive=False):
        a = rng.standard_normal(shape).astype(dtype)
        return np.abs(a) + 0.5 if positive else a
    bc = (0.01 / (1 - 0.9 ** 3), float(np.sqrt(1 - 0.999 ** 3)))
    return [
        ("sgd_step_", [mk(), mk(), None], (0.1, 0.0, 0.0, 0.0, False, False, False)),
        ("sgd_step_", [mk(), mk(), mk()], (0.1, 0.9, 0.1, 0.01, False, True, True)),
        ("sgd_step_", [mk(), mk(), mk()], (0.1, 0.9, 0.0, 0.0, True, False, False)),
        ("adam_step_", [mk(), mk(), mk(), mk(True), None], (0.01, 0.9, 0.999, 1e-8, 0.0, False, *bc, False)),
        ("adam_step_", [mk(), mk(), mk(), mk(True), mk(True)], (0.01, 0.9, 0.999, 1e-8, 0.01, False, *bc, True)),
        ("adam_step_", [mk(), mk(), mk(), mk(True), mk(True)], (0.01, 0.9, 0.999, 1e-8, 0.05, True, *bc, False)),
        ("rmsprop_step_", [mk(), mk(), mk(True) + 2, None, None], (0.01, 0.99, 1e-8, 0.0, 0.0, False)),
        ("rmsprop_step_", [mk(), mk(), mk(True) + 2, mk() * 0.1, mk()], (0.01, 0.99, 1e-8, 0.01, 0.9, True)),
        ("adagrad_step_", [mk(), mk(), mk(True)], (0.05, 0.0, 1e-10, False)),
        ("adagrad_step_", [mk(), mk(), mk(True)], (0.05, 0.1, 1e-10, True)),
    ]


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contig", "strided", "broadcast_grad"])
def test_optimizer_steps(be, dtype, layout):
    cpu, gpu = be
    rng = np.random.default_rng(7)
    shape = (7, 13)
    for name, arrays, args in _optim_cases(shape, rng, dtype):
        host = [None if a is None else a.copy() for a in arrays]
        dev = [None if a is None else _dev(gpu, a, "strided" if layout == "strided" else "contig") for a in arrays]
        if layout == "broadcast_grad":  # one row read for every row (zero stride), on both backends
            host[1] = np.broadcast_to(arrays[1][:1], shape)
            row = gpu.from_numpy(np.ascontiguousarray(arrays[1][:1]))
            dev[1] = CUDAArray(row.storage, shape, (0, 1), row.offset, row.dtype)
        assert getattr(cpu, name)(*host, *args) is True
        assert getattr(gpu, name)(*dev, *args) is True
        for k, (e, a) in enumerate(zip(host, dev)):
            if e is not None and k != 1:
                _close(_host(gpu, a), e, dtype, f32=1e-5, f64=1e-12)


@needs_gpu
def test_optimizer_steps_validate_like_the_cpu(be):
    _, gpu = be
    half = gpu.from_numpy(np.ones(3, np.float16))
    assert gpu.sgd_step_(half, half, None, 0.1, 0.0, 0.0, 0.0, False, False, False) is False
    p, g5 = gpu.from_numpy(np.ones(4, np.float32)), gpu.from_numpy(np.ones(5, np.float32))
    with pytest.raises(ValueError, match="share memory"):
        gpu.sgd_step_(p, p, None, 0.1, 0.0, 0.0, 0.0, False, False, False)
    with pytest.raises(ValueError, match="need a momentum_buffer"):
        gpu.sgd_step_(p, gpu.from_numpy(np.ones(4, np.float32)), None, 0.1, 0.9, 0.0, 0.0, True, False, False)
    with pytest.raises(ValueError, match="does not match"):
        gpu.sgd_step_(p, g5, None, 0.1, 0.0, 0.0, 0.0, False, False, False)
