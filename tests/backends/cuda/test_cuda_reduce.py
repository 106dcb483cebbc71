"""CUDA reductions: host-side plans (run everywhere) and every method against the CPU backend (GPU only)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import neurarust as nr
from neurarust.backends.cuda import unavailable_reason
from neurarust.backends.cuda.reduce import RowLayout, plan_lines, plan_reduce, plan_rows

needs_gpu = pytest.mark.skipif(unavailable_reason() is not None, reason=f"CUDA unavailable: {unavailable_reason()}")


# ------------------------------------------------------------------ host side
def _strided(shape, strides, size=None):
    """A float64 array over a fresh random buffer with element ``strides`` (offset keeps them in range)."""
    lo = sum((n - 1) * s for n, s in zip(shape, strides) if s < 0)
    hi = sum((n - 1) * s for n, s in zip(shape, strides) if s > 0)
    buf = np.random.default_rng(0).standard_normal(size or (hi - lo + 1))
    return np.lib.stride_tricks.as_strided(buf[-lo:], shape, [s * 8 for s in strides]), buf, -lo


def _reduce_via_layout(layout, buf, offset):
    """Sum each row of a RowLayout the way the kernels address it (C-order rows, j * sr)."""
    out = []
    for idx in itertools.product(*map(range, layout.shape)):
        base = offset + sum(i * s for i, s in zip(idx, layout.strides))
        out.append(sum(buf[base + j * layout.sr] for j in range(layout.n)))
    return np.array(out)


@pytest.mark.parametrize("shape,strides,axes", [
    ((4, 5), (5, 1), (1,)),
    ((4, 5), (5, 1), (0,)),
    ((4, 5), (1, 4), (0,)),                  # transposed
    ((3, 4, 5), (20, 5, 1), (0, 2)),         # reduced dims that do not merge: copy
    ((3, 4, 5), (1, 15, 3), (1, 2)),         # transposed, merges after sorting by stride
    ((3, 4, 5), (40, 10, 2), ()),            # sliced, full reduction
    ((4, 6), (0, 1), (0,)),                  # broadcast reduced dim
    ((4, 6), (0, 1), (1,)),                  # broadcast kept dim
    ((6,), (-1,), (0,)),                     # negative stride
    ((), (), ()),                            # 0-d
    ((2, 1, 3, 1), (3, 7, 1, 9), (1, 3)),    # only size-1 dims reduced
    ((2,) * 10, tuple(2 ** (10 - d) for d in range(10)), (1,)),   # 9 kept dims after merging: copy
])
def test_plan_rows_addresses_every_element_once(shape, strides, axes):
    x, buf, offset = _strided(shape, strides)
    full = axes if axes else tuple(range(len(shape)))
    expected = np.sum(x, axis=full).reshape(-1)
    layout = plan_rows(shape, strides, axes)
    if layout is None:  # the backend copies the permuted array, then plans again
        kept = [d for d in range(len(shape)) if d not in full]
        copy = np.ascontiguousarray(np.transpose(x, kept + sorted(full)))
        layout = plan_rows(copy.shape, [s // 8 for s in copy.strides], tuple(range(len(kept), copy.ndim)))
        buf, offset = copy.reshape(-1), 0
    assert layout is not None and len(layout.shape) <= 8
    assert layout.rows == expected.size and layout.n == math.prod(shape[d] for d in full)
    np.testing.assert_allclose(_reduce_via_layout(layout, buf, offset), expected, rtol=1e-12)


def test_plan_rows_flat_order_for_argmax_is_c_order():
    # sort_reduced=False must keep logical order: a transposed layout cannot be one run.
    assert plan_rows((3, 4), (1, 3), (), sort_reduced=False) is None
    assert plan_rows((3, 4), (4, 1), (), sort_reduced=False) == RowLayout((), (), 1, 12, 1)
    assert plan_rows((3, 4), (1, 3), ()) == RowLayout((), (), 1, 12, 1)


def test_plan_rows_empty():
    assert plan_rows((0, 3), (3, 1), (0,)) == RowLayout((3,), (1,), 3, 0, 1)
    assert plan_rows((3, 0), (1, 1), (0,)).rows == 0


def _check_segments(launch, n):
    assert launch.segs >= 1 and (launch.segs - 1) * launch.seg_len < max(n, 1) <= launch.segs * launch.seg_len


@pytest.mark.parametrize("rows,n,sr,inner_stride", [
    (1, 1, 1, None), (1, 64 * 2 ** 20, 1, None), (4096, 4096, 1, 4096), (4096, 4096, 4096, 1),
    (3, 10 ** 6, 1, 10 ** 6), (10 ** 6, 4, 1, 4), (50, 2048, 50, 1), (7, 100000, 7, 1), (5, 0, 1, 1),
    (10 ** 7, 300, 1, 300),
])
def test_plan_reduce_geometry(rows, n, sr, inner_stride):
    shape = () if inner_stride is None else (rows,)
    strides = () if inner_stride is None else (inner_stride,)
    launch = plan_reduce(RowLayout(shape, strides, rows, n, sr), sm_count=132)
    bx, by, bz = launch.block
    assert bx * by * bz == 256 and bz == 1 and by & (by - 1) == 0
    assert 1 <= launch.grid[0] <= 32 * 132 and launch.grid[2] == 1
    _check_segments(launch, n)
    if launch.kind == "outer":
        assert launch.grid[1] == launch.segs and bx % 32 == 0
    else:
        assert launch.grid[1] == 1 and launch.seg_len % 16 == 0 or launch.segs == 1
        assert not (launch.warp_mode and launch.segs > 1)
    if (rows, n) == (1, 64 * 2 ** 20):  # a full reduction of a large array fills the GPU
        assert launch.kind == "inner" and launch.segs >= 8 * 132
    if (rows, n, sr) == (4096, 4096, 4096):  # sum(0) of a matrix reads coalesced
        assert launch.kind == "outer"


def test_plan_lines_geometry():
    assert plan_lines(4096, 4096, 1, 4096, 132).kind == "inner"
    assert plan_lines(4096, 4096, 4096, 1, 132).kind == "outer"
    assert plan_lines(4, 4096, 4096, 1, 132).kind == "inner"      # few lines: a group each
    assert plan_lines(1, 100, 1, None, 132).warp_mode == 1
    assert plan_lines(8, 10 ** 6, 1, 10 ** 6, 132).segs == 1


# ------------------------------------------------------------------- GPU side
@pytest.fixture(scope="module")
def backends():
    from neurarust.backends.cpu import CPUBackend
    from neurarust.device import backend_for

    return backend_for(nr.device("cuda")), CPUBackend(nr.device("cpu"))


def _layouts(cuda, x):
    """``(name, device array)`` views holding ``x``: contiguous, transposed, sliced."""
    yield "contig", cuda.from_numpy(x)
    if x.ndim == 0:
        return
    rev = tuple(range(x.ndim - 1, -1, -1))
    yield "transposed", cuda.permute(cuda.from_numpy(np.ascontiguousarray(x.transpose(rev))), rev)
    big = np.zeros(x.shape[:-1] + (2 * x.shape[-1] + 1,), x.dtype)
    big[..., 1::2] = x
    dev = cuda.from_numpy(big)
    strides = list(dev.strides)
    strides[-1] *= 2
    yield "sliced", cuda.view(cuda.storage_of(dev), x.shape, strides, 1)


def _data(dtype, shape, rng, nan=False):
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -50), min(info.max, 50), shape, endpoint=True).astype(dtype)
    x = rng.uniform(-1, 1, shape).astype(dtype)
    if nan and x.size > 2:
        x.reshape(-1)[x.size // 3] = np.nan
    return x


def _close(got, want, dtype):
    assert got.dtype == want.dtype and got.shape == want.shape
    if np.dtype(dtype).kind == "f":
        tol = {np.float16: 2e-3, np.float32: 1e-5, np.float64: 1e-12}[np.dtype(dtype).type]
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


def _cpu_input(x):
    """The CPU kernels have no float16: the reference runs in float32 and rounds once."""
    return x.astype(np.float32) if x.dtype == np.float16 else x


DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64]
SHAPES_AXES = [((5, 7), (1,)), ((5, 7), (0,)), ((3, 4, 6), (0, 2)), ((3, 4, 6), ()), ((9,), (0,)),
               ((600, 3), (0,)), ((2, 40000), (1,)), ((2048, 50), (0,)), ((200001,), ())]


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["sum", "prod", "max", "min", "all", "any"])
def test_reduce_matches_cpu(backends, op, dtype):
    cuda, cpu = backends
    rng = np.random.default_rng(1)
    for shape, axes in SHAPES_AXES:
        x = _data(dtype, shape, rng, nan=op in ("max", "min"))
        if op == "prod" and np.dtype(dtype).kind == "f":
            x = (1 + x / 1000).astype(dtype)  # keep long products finite
        ref_in = _cpu_input(x)
        natural = {"all": np.bool_, "any": np.bool_}.get(op, np.int64 if np.dtype(dtype).kind in "biu" and
                                                         op in ("sum", "prod") else ref_in.dtype)
        want = cpu.reduce(op, ref_in, axes, natural)
        if dtype == np.float16 and op not in ("all", "any"):
            want = want.astype(np.float16)
        for _, dev in _layouts(cuda, x):
            got = cuda.to_numpy(cuda.reduce(op, dev, axes, want.dtype))
            _close(got, want, dtype if op not in ("all", "any") else np.bool_)


@needs_gpu
def test_reduce_broadcast_zero_d_and_empty(backends):
    cuda, cpu = backends
    row = np.arange(6, dtype=np.float32)
    dev = cuda.view(cuda.storage_of(cuda.from_numpy(row)), (4, 6), (0, 1), 0)
    for axes in [(0,), (1,), ()]:
        want = cpu.reduce("sum", np.broadcast_to(row, (4, 6)), axes, np.float32)
        _close(cuda.to_numpy(cuda.reduce("sum", dev, axes, np.float32)), want, np.float32)
    scalar = cuda.from_numpy(np.array(3.5, np.float32))
    assert cuda.to_numpy(cuda.reduce("max", scalar, (), np.float32)) == np.float32(3.5)
    empty = cuda.from_numpy(np.zeros((0, 3), np.int32))
    np.testing.assert_array_equal(cuda.to_numpy(cuda.reduce("sum", empty, (0,), np.int64)), [0, 0, 0])
    np.testing.assert_array_equal(cuda.to_numpy(cuda.reduce("prod", empty, (0,), np.int64)), [1, 1, 1])
    assert cuda.to_numpy(cuda.reduce("all", empty, (), np.bool_)) == np.True_
    assert cuda.to_numpy(cuda.reduce("sum", empty, (1,), np.int64)).shape == (0,)
    with pytest.raises(ValueError, match="Expected reduction dim"):
        cuda.reduce("max", empty, (0,), np.int32)


@needs_gpu
def test_reduce_nan_and_integer_wraparound(backends):
    cuda, _ = backends
    x = np.array([[1.0, np.nan, 3.0], [np.inf, -np.inf, 2.0]], np.float32)
    got = cuda.to_numpy(cuda.reduce("max", cuda.from_numpy(x), (1,), np.float32))
    np.testing.assert_array_equal(got, [np.nan, np.inf])
    got = cuda.to_numpy(cuda.reduce("min", cuda.from_numpy(x), (1,), np.float32))
    np.testing.assert_array_equal(got, [np.nan, -np.inf])
    big = np.full(4, 2 ** 62, np.int64)  # int64 sums wrap like the CPU (and torch)
    assert cuda.to_numpy(cuda.reduce("sum", cuda.from_numpy(big), (), np.int64)) == np.int64(0)


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["max", "min"])
def test_arg_reduce_matches_cpu(backends, op, dtype):
    cuda, cpu = backends
    rng = np.random.default_rng(2)
    for shape, axis in [((5, 7), 1), ((5, 7), 0), ((3, 4, 6), 1), ((3, 4, 6), None), ((600, 3), 0),
                        ((2, 40000), 1), ((200001,), None), ((), None)]:
        x = _data(dtype, shape, rng, nan=True)
        if np.dtype(dtype).kind == "f" and x.size > 4:
            x.reshape(-1)[[1, 3]] = x.reshape(-1)[0]  # ties resolve to the first occurrence
        ref_in = _cpu_input(x)
        want_v, want_i = cpu.arg_reduce(op, ref_in, axis, True)
        for _, dev in _layouts(cuda, x):
            values, indices = cuda.arg_reduce(op, dev, axis, True)
            np.testing.assert_array_equal(cuda.to_numpy(indices), want_i, err_msg=f"{shape} {axis}")
            np.testing.assert_array_equal(cuda.to_numpy(values), want_v.astype(x.dtype))
            none, idx = cuda.arg_reduce(op, dev, axis, False)
            assert none is None
            np.testing.assert_array_equal(cuda.to_numpy(idx), want_i)


@needs_gpu
def test_arg_reduce_signed_zero_and_empty(backends):
    cuda, _ = backends
    x = cuda.from_numpy(np.array([0.0, -0.0, 0.0], np.float32))
    v, i = cuda.arg_reduce("min", x, 0, True)
    assert cuda.to_numpy(i) == 0 and not np.signbit(cuda.to_numpy(v))
    with pytest.raises(ValueError, match="non-zero size"):
        cuda.arg_reduce("max", cuda.from_numpy(np.zeros((2, 0), np.float32)), 1, False)
    _, i = cuda.arg_reduce("max", cuda.from_numpy(np.zeros((0, 2), np.float32)), 1, False)
    assert cuda.to_numpy(i).shape == (0,)


@needs_gpu
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_var_and_logsumexp_match_cpu(backends, dtype):
    cuda, cpu = backends
    rng = np.random.default_rng(3)
    for shape, axes in SHAPES_AXES:
        x = _data(dtype, shape, rng) + 10  # an offset mean: the two-pass variance must not cancel
        x = x.astype(dtype)
        ref_in = _cpu_input(x)
        for _, dev in _layouts(cuda, x):
            for correction in (0.0, 1.0, 2.5):
                want = cpu.var(ref_in, axes, correction).astype(dtype)
                _close(cuda.to_numpy(cuda.var(dev, axes, correction)), want, dtype)
            want = cpu.logsumexp(ref_in, axes).astype(dtype)
            _close(cuda.to_numpy(cuda.logsumexp(dev, axes)), want, dtype)


@needs_gpu
def test_var_logsumexp_edges(backends):
    cuda, cpu = backends
    x = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [np.nan, 0.0], [1.0, 2.0]], np.float32)
    want = cpu.logsumexp(x, (1,))
    _close(cuda.to_numpy(cuda.logsumexp(cuda.from_numpy(x), (1,))), want, np.float32)
    empty = cuda.from_numpy(np.zeros((0, 2), np.float32))
    np.testing.assert_array_equal(cuda.to_numpy(cuda.logsumexp(empty, (0,))), [-np.inf, -np.inf])
    np.testing.assert_array_equal(cuda.to_numpy(cuda.var(empty, (0,), 1.0)), [np.nan, np.nan])
    one = cuda.from_numpy(np.array([2.0], np.float64))
    assert np.isnan(cuda.to_numpy(cuda.var(one, (), 1.0)))   # 0 / 0
    assert cuda.to_numpy(cuda.var(one, (), 0.0)) == 0.0


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_cumulative_matches_cpu(backends, op, dtype):
    cuda, cpu = backends
    rng = np.random.default_rng(4)
    for shape, axis in [((5, 7), 1), ((5, 7), 0), ((3, 1000), 1), ((1000, 600), 0), ((600, 7), 0),
                        ((3, 4, 6), 1), ((), 0), ((0, 3), 1), ((70000,), 0)]:
        x = _data(dtype, shape, rng)
        if op == "cumprod":
            x = (np.abs(x) % 3 + 1).astype(dtype) if np.dtype(dtype).kind in "iu" else x
            if np.dtype(dtype).kind == "f":
                x = (1 + x / 1000).astype(dtype)
        ref_in = _cpu_input(x)
        natural = np.int64 if np.dtype(dtype).kind in "biu" else ref_in.dtype
        want = cpu.cumulative(op, ref_in, axis, natural)
        if dtype == np.float16:
            want = want.astype(np.float16)
        for _, dev in _layouts(cuda, x):
            got = cuda.to_numpy(cuda.cumulative(op, dev, axis, want.dtype))
            _close(got, want, dtype if np.dtype(dtype).kind == "f" else np.int64)


@needs_gpu
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_matches_cpu(backends, dtype, log):
    cuda, cpu = backends
    rng = np.random.default_rng(5)
    for shape, axis in [((5, 300), 1), ((4, 3000), 1), ((2, 10000), 1), ((700, 9), 0), ((5, 7), 0),
                        ((3, 4, 6), 1), ((), 0), ((0, 4), 1), ((8, 4096), 1)]:
        x = (_data(dtype, shape, rng) * 10).astype(dtype)
        ref_in = _cpu_input(x)
        want = cpu.softmax(ref_in.reshape(1) if x.ndim == 0 else ref_in, axis, log).reshape(x.shape)
        want = want.astype(dtype)
        for _, dev in _layouts(cuda, x):
            _close(cuda.to_numpy(cuda.softmax(dev, axis, log)), want, dtype)


@needs_gpu
def test_softmax_infinities_and_nan(backends):
    cuda, cpu = backends
    x = np.array([[-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 0.0], [np.nan, 0.0, 1.0], [0.0, -np.inf, 1.0]],
                 np.float32)
    for log in (False, True):
        want = cpu.softmax(x, 1, log)
        _close(cuda.to_numpy(cuda.softmax(cuda.from_numpy(x), 1, log)), want, np.float32)
