"""Tests for neurarust._core.reduce against numpy (float64 references)."""
import itertools

import numpy as np
import pytest

from neurarust._core import reduce as R

RNG = np.random.default_rng(20240611)
ALL_DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.int32, np.int64, np.float32, np.float64]
FLOAT_DTYPES = [np.float32, np.float64]
SHAPE = (5, 6, 7)
AXES_SETS = [(), (0,), (1,), (2,), (0, 1), (1, 2), (0, 2), (0, 1, 2)]


# ------------------------------------------------------------------ helpers --

def random(shape, dtype, low=None, high=None):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return RNG.random(shape) < 0.6
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo = max(info.min, -100) if low is None else low
        hi = min(info.max, 100) if high is None else high
        return RNG.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
    if low is not None:
        return RNG.uniform(low, high, size=shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def layouts(shape, dtype, **kw):
    """The same logical shape stored contiguously, transposed, sliced with
    steps and offsets, reversed, and broadcast (stride-0 dims)."""
    yield "contiguous", random(shape, dtype, **kw)
    yield "transposed", random(shape[::-1], dtype, **kw).T
    big = random(tuple(2 * s + 1 for s in shape), dtype, **kw)
    yield "sliced", big[tuple(slice(1, 1 + 2 * s, 2) for s in shape)]
    yield "reversed", random(shape, dtype, **kw)[::-1, ..., ::-1]  # negative strides
    if len(shape) >= 2:
        small = random((1,) + shape[1:-1] + (1,), dtype, **kw)
        yield "broadcast", np.broadcast_to(small, shape)


def out_shape(shape, axes):
    reduced = set(axes) if axes else set(range(len(shape)))
    return tuple(s for d, s in enumerate(shape) if d not in reduced)


def np_axis(a, axes):
    return axes if axes else None


def reference(op, a, axes):
    ax = np_axis(a, axes)
    if op in ("sum", "prod"):
        acc = np.float64 if a.dtype.kind == "f" else np.int64
        fn = np.sum if op == "sum" else np.prod
        return fn(a.astype(acc), axis=ax)
    fn = {"max": np.max, "min": np.min, "all": np.all, "any": np.any}[op]
    return fn(a, axis=ax)


def run_reduce(op, a, axes):
    if op in ("sum", "prod"):
        dtype = a.dtype if a.dtype.kind == "f" else np.int64
    elif op in ("all", "any"):
        dtype = np.bool_
    else:
        dtype = a.dtype
    out = np.empty(out_shape(a.shape, axes), dtype=dtype)
    R.reduce(op, a, axes, out)
    return out


def assert_close(out, expected, terms=1):
    """Float results compared to float64 references.

    float32 sums accumulate in float64, so they are the float64 result
    rounded once: the base tolerances (rtol 1.3e-6, atol 1e-5) need no
    scaling with the number of terms.  float64 results differ from numpy's
    pairwise order by rounding that grows at most linearly with the term
    count, hence the `terms` scaling of the (tiny) float64 tolerance.
    """
    expected = np.asarray(expected)
    if out.dtype == np.float32:
        np.testing.assert_allclose(out, expected.astype(np.float64), rtol=1.3e-6, atol=1e-5)
    elif out.dtype == np.float64:
        np.testing.assert_allclose(out, expected, rtol=1e-13 * terms, atol=1e-13 * terms)
    else:
        np.testing.assert_array_equal(out, expected)


# ----------------------------------------------------------------- reduce --

@pytest.mark.parametrize("op", ["sum", "prod", "max", "min", "all", "any"])
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_reduce_matches_numpy(op, dtype):
    # prod of floats: factors near 1 keep 210-term products finite.
    kw = {"low": 0.8, "high": 1.25} if op == "prod" and np.dtype(dtype).kind == "f" else {}
    for name, a in layouts(SHAPE, dtype, **kw):
        for axes in AXES_SETS:
            out = run_reduce(op, a, axes)
            expected = reference(op, a, axes)
            assert out.shape == np.shape(expected), (name, axes)
            if op in ("max", "min", "all", "any"):
                np.testing.assert_array_equal(out, expected, err_msg=f"{name} {axes}")
            else:
                assert_close(out, expected, terms=a.size)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_reduce_zero_dim_input(dtype):
    a = np.array(random((), dtype))
    for op in ["sum", "prod", "max", "min", "all", "any"]:
        out = run_reduce(op, a, ())
        np.testing.assert_array_equal(out, reference(op, a, ()))


@pytest.mark.parametrize("shape,axes", [((0, 4), (0,)), ((0, 4), ()), ((3, 0), (1,)),
                                        ((3, 0), (0,)), ((2, 0, 3), (0, 2))])
def test_reduce_empty(shape, axes):
    a = np.zeros(shape, np.float32)
    expected = {"sum": 0, "prod": 1, "all": True, "any": False}
    for op, value in expected.items():
        out = run_reduce(op, a, axes)
        np.testing.assert_array_equal(out, np.full(out_shape(shape, axes), value))
    reduced = [shape[d] for d in (axes or range(len(shape)))]
    for op in ["max", "min"]:
        if 0 in reduced:
            with pytest.raises(ValueError, match=rf"{op}\(\): Expected reduction dim"):
                run_reduce(op, a, axes)
        else:
            assert run_reduce(op, a, axes).size == 0


def test_reduce_large_shapes_all_strategies():
    # Long runs (blocks and chunks), axis-0 rows, short inner runs and a
    # narrow kept dim each take a different path through the drivers.
    cases = [((300001,), ()), ((700, 900), (0,)), ((700, 900), (1,)),
             ((20000, 3), (1,)), ((20000, 3), (0,)), ((3, 20000), (0,)),
             ((40, 50, 60), (0, 2)), ((17, 4099), ())]
    for shape, axes in cases:
        for dtype in [np.float32, np.float64, np.int32]:
            a = random(shape, dtype)
            for op in ["sum", "max"]:
                out = run_reduce(op, a, axes)
                expected = reference(op, a, axes)
                if op == "max":
                    np.testing.assert_array_equal(out, expected)
                else:
                    assert_close(out, expected, terms=a.size)
            at = np.asfortranarray(a)
            assert_close(run_reduce("sum", at, axes), reference("sum", a, axes), terms=a.size)


def test_float32_sum_is_as_accurate_as_numpy():
    import math

    n = 1 << 21
    heavy_tailed = RNG.standard_normal(n) * np.exp(RNG.uniform(-10, 10, n))
    for a in [RNG.random(n).astype(np.float32) * 100, heavy_tailed.astype(np.float32)]:
        for view in [a, a[::3]]:  # contiguous and strided runs
            exact = math.fsum(view.astype(np.float64))
            ours = float(run_reduce("sum", view, ()))
            ulp = float(np.spacing(np.float32(exact)))
            # Both are blocked schemes with at most 15 float32 roundings per
            # partial, so their errors have the same order but no fixed ranking.
            assert abs(ours - exact) <= 2 * max(abs(float(np.sum(view)) - exact), ulp)
    # 1 + many tiny values: a plain float32 running sum would drop them all.
    a = np.full(1 << 20, 1e-8, np.float32)
    a[0] = 1.0
    exact = 1.0 + ((1 << 20) - 1) * float(np.float32(1e-8))
    assert abs(float(run_reduce("sum", a, ())) - exact) <= 2 * float(np.spacing(np.float32(exact)))


def test_integer_sum_and_prod_wrap_like_numpy():
    a = np.array([2**62, 2**62, 2**62, 7], np.int64)
    np.testing.assert_array_equal(run_reduce("sum", a, ()), np.sum(a))
    b = np.array([2**40, 2**40, 3], np.int64)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(run_reduce("prod", b, ()), np.prod(b))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_nan_and_inf(dtype):
    a = random((4, 9), dtype)
    a[1, 3] = np.nan
    a[2, 0] = np.inf
    a[3, 8] = -np.inf
    for op in ["sum", "prod", "max", "min"]:
        for axes in [(), (0,), (1,)]:
            out = run_reduce(op, a, axes)
            with np.errstate(invalid="ignore"):
                expected = reference(op, a, axes)
            np.testing.assert_array_equal(np.isnan(out), np.isnan(expected), err_msg=f"{op}{axes}")
            finite = ~np.isnan(expected)
            np.testing.assert_allclose(np.asarray(out)[finite], np.asarray(expected)[finite],
                                       rtol=1e-6)
    # NaN is truthy, like numpy and torch.
    z = np.array([0.0, np.nan], dtype)
    assert run_reduce("any", z, ()) and not run_reduce("all", z, ())


def test_unaligned_input_is_handled():
    raw = np.zeros(4 * 1000 + 1, np.uint8)
    a = np.frombuffer(raw.data, dtype=np.float32, count=1000, offset=1)
    assert not a.flags.aligned
    np.testing.assert_array_equal(run_reduce("sum", a, ()), np.float32(0))


# -------------------------------------------------------------- arg_reduce --

def run_arg(op, a, axis, with_values=True):
    shape = () if axis == -1 else tuple(s for d, s in enumerate(a.shape) if d != axis)
    idx = np.empty(shape, np.int64)
    vals = np.empty(shape, a.dtype) if with_values else None
    R.arg_reduce(op, a, axis, vals, idx)
    return vals, idx


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_arg_reduce_matches_numpy(dtype):
    # Few distinct values: plenty of ties, which must resolve to the first.
    kw = {} if dtype == np.bool_ else {"low": 0, "high": 3}
    for name, a in layouts(SHAPE, dtype, **kw):
        for op, np_arg in [("max", np.argmax), ("min", np.argmin)]:
            for axis in [-1, 0, 1, 2]:
                vals, idx = run_arg(op, a, axis)
                expected = np_arg(a, axis=None if axis == -1 else axis)
                np.testing.assert_array_equal(idx, expected, err_msg=f"{name} {op} {axis}")
                if axis == -1:
                    ref_vals = a.ravel()[expected]
                else:
                    picked = np.take_along_axis(a, np.expand_dims(expected, axis), axis)
                    ref_vals = picked.squeeze(axis)
                np.testing.assert_array_equal(vals, ref_vals)
                _, idx_only = run_arg(op, a, axis, with_values=False)
                np.testing.assert_array_equal(idx_only, idx)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_arg_reduce_nan_counts_as_extreme(dtype):
    a = random((6, 70), dtype)
    a[2, 5] = a[2, 40] = np.nan
    a[4, 66] = np.nan
    for op, np_arg in [("max", np.argmax), ("min", np.argmin)]:
        for axis in [-1, 0, 1]:
            _, idx = run_arg(op, a, axis)
            np.testing.assert_array_equal(idx, np_arg(a, axis=None if axis == -1 else axis))


def test_arg_reduce_signed_zeros_tie_to_first():
    a = np.zeros(200, np.float64)
    a[7] = -0.0
    a[3] = -0.0
    vals, idx = run_arg("max", a[3:], -1)
    assert idx == 0 and np.signbit(vals)
    vals, idx = run_arg("min", a, -1)
    assert idx == 0 and not np.signbit(vals)


def test_arg_reduce_large_and_strided():
    a = random((300000,), np.float32)
    a[123456] = 50.0
    a[223456] = 50.0
    assert run_arg("max", a, -1)[1] == 123456
    b = random((300, 400), np.float64)
    for arr in [b, b.T, b[::3, 1::2], np.asfortranarray(b)]:
        for axis in [-1, 0, 1]:
            _, idx = run_arg("min", arr, axis)
            np.testing.assert_array_equal(idx, np.argmin(arr, axis=None if axis == -1 else axis))


def test_arg_reduce_zero_dim_and_empty():
    a = np.array(3.5, np.float32)
    vals, idx = run_arg("max", a, -1)
    assert idx == 0 and vals == 3.5
    with pytest.raises(ValueError, match=r"argmax\(\): Expected reduction dim"):
        run_arg("max", np.zeros((0, 3), np.float32), -1, with_values=False)
    with pytest.raises(ValueError, match=r"min\(\): Expected reduction dim 0"):
        run_arg("min", np.zeros((0, 3), np.float32), 0)
    vals, idx = run_arg("max", np.zeros((0, 3), np.float32), 1)
    assert idx.shape == (0,)


# --------------------------------------------------------------------- var --

def run_var(a, axes, correction, with_mean=True):
    shape = out_shape(a.shape, axes)
    out = np.empty(shape, a.dtype)
    mean = np.empty(shape, a.dtype) if with_mean else None
    R.var(a, axes, correction, out, mean)
    return out, mean


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_var_matches_numpy(dtype):
    for name, a in layouts(SHAPE, dtype):
        a = a + 1000  # a large mean makes one-pass formulas fail
        for axes in AXES_SETS:
            for correction in [0, 1, 2.5]:
                out, mean = run_var(a, axes, correction)
                a64 = a.astype(np.float64)
                n = a.size // max(np.prod(out.shape, dtype=int), 1)
                expected = np.var(a64, axis=np_axis(a, axes)) * n / (n - correction)
                assert_close(out, expected, terms=n)
                assert_close(mean, np.mean(a64, axis=np_axis(a, axes)), terms=n)


def test_var_degenerate_counts_like_torch():
    with np.errstate(divide="ignore", invalid="ignore"):
        out, mean = run_var(np.array([3.0]), (), 1)  # 0 / 0
        assert np.isnan(out) and mean == 3.0
        out, _ = run_var(np.array([1.0, 2.0]), (), 2)  # 0.5 / 0
        assert np.isinf(out)
        out, mean = run_var(np.zeros((0,), np.float32), (), 1)
        assert np.isnan(out) and np.isnan(mean)
    out, _ = run_var(random((3, 4), np.float64), (1,), 0, with_mean=False)
    assert out.shape == (3,)


# -------------------------------------------------------------- cumulative --

@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_cumulative_matches_numpy(op, dtype):
    kw = {"low": 0.8, "high": 1.25} if op == "cumprod" and np.dtype(dtype).kind == "f" else {}
    out_dtype = dtype if np.dtype(dtype).kind == "f" else np.int64
    fn = np.cumsum if op == "cumsum" else np.cumprod
    for name, a in layouts(SHAPE, dtype, **kw):
        for axis in range(3):
            out = np.empty(a.shape, out_dtype)
            R.cumulative(op, a, axis, out)
            acc = np.float64 if out.dtype.kind == "f" else np.int64
            assert_close(out, fn(a.astype(acc), axis=axis), terms=a.shape[axis])
    z = np.array(random((), dtype))
    out = np.empty((), out_dtype)
    R.cumulative(op, z, 0, out)
    np.testing.assert_array_equal(out, z.astype(out_dtype))
    empty = np.zeros((0, 3), dtype)
    R.cumulative(op, empty, 0, np.empty((0, 3), out_dtype))


def test_cumulative_large_axis_zero():
    a = random((3000, 257), np.float32)
    out = np.empty_like(a)
    R.cumulative("cumsum", a, 0, out)
    assert_close(out, np.cumsum(a.astype(np.float64), axis=0))


# ------------------------------------------------------ softmax/logsumexp --

def softmax_reference(a, axis, log):
    a64 = a.astype(np.float64)
    with np.errstate(invalid="ignore"):
        shifted = a64 - np.max(a64, axis=axis, keepdims=True)
        lse = np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        return shifted - lse if log else np.exp(shifted - lse)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("log", [False, True])
def test_softmax_matches_reference(dtype, log):
    for name, a in itertools.chain(layouts(SHAPE, dtype), layouts((3, 100, 70), dtype)):
        a = a * 10
        for axis in range(a.ndim):
            out = np.empty(a.shape, dtype)
            R.softmax(a, axis, out, log)
            assert_close(out, softmax_reference(a, axis, log))
    out = np.empty((), dtype)
    R.softmax(np.array(2.0, dtype), 0, out, log)
    assert out == (0.0 if log else 1.0)
    R.softmax(np.zeros((0, 4), dtype), 1, np.empty((0, 4), dtype), log)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_softmax_special_values(dtype):
    a = np.array([[-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 2.0],
                  [np.nan, 1.0, 2.0], [-np.inf, 0.0, 0.0], [1000.0, -1000.0, 0.0]], dtype)
    for log in [False, True]:
        for arr, axis in [(a, 1), (np.ascontiguousarray(a.T), 0)]:
            out = np.empty(arr.shape, dtype)
            R.softmax(arr, axis, out, log)
            out = out if axis == 1 else out.T
            assert np.isnan(out[:3]).all()  # all -inf, +inf and NaN lines: NaN (torch)
            expected = softmax_reference(a[3:], 1, log)
            np.testing.assert_allclose(out[3:], expected, rtol=1e-6)


def run_logsumexp(a, axes):
    out = np.empty(out_shape(a.shape, axes), a.dtype)
    R.logsumexp(a, axes, out)
    return out


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_logsumexp_matches_reference(dtype):
    for name, a in layouts(SHAPE, dtype):
        a = a * 30
        for axes in AXES_SETS:
            a64 = a.astype(np.float64)
            ax = np_axis(a, axes)
            m = np.max(a64, axis=ax, keepdims=True)
            expected = np.log(np.sum(np.exp(a64 - m), axis=ax)) + np.squeeze(m, axis=ax)
            assert_close(run_logsumexp(a, axes), expected)
    a = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [np.inf, -np.inf], [np.nan, 1.0]], dtype)
    out = run_logsumexp(a, (1,))
    assert out[0] == -np.inf and out[1] == np.inf and out[2] == np.inf and np.isnan(out[3])
    assert run_logsumexp(np.zeros((0, 3), dtype), (0,)).tolist() == [-np.inf] * 3


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_exp_accuracy(dtype):
    finfo = np.finfo(dtype)
    lo, hi = (-120, 90) if dtype == np.float32 else (-760, 720)  # past both ends of the range
    x = np.concatenate([np.linspace(lo, hi, 200001), RNG.standard_normal(10000) * 10]).astype(dtype)
    got = R._exp_for_testing(x).astype(np.float64)
    with np.errstate(over="ignore"):
        want = np.exp(x.astype(np.float64))
        want_rounded = want.astype(dtype).astype(np.float64)
    normal = (want_rounded >= finfo.tiny) & np.isfinite(want_rounded)
    ulp = np.spacing(want_rounded[normal].astype(dtype)).astype(np.float64)
    assert np.max(np.abs(got[normal] - want[normal]) / ulp) <= 2.0
    # Outside the normal range: rounding to 0/subnormal/inf must still be right to 1 subnormal ulp.
    tiny = ~normal
    np.testing.assert_allclose(got[tiny], want_rounded[tiny], rtol=0,
                               atol=float(finfo.smallest_subnormal) * 2)
    assert np.isnan(R._exp_for_testing(np.array([np.nan], dtype)))[0]


# -------------------------------------------------------------- validation --

def test_error_paths():
    a = random((3, 4), np.float32)
    out = np.empty((3,), np.float32)
    with pytest.raises(ValueError, match="unknown op 'mean'"):
        R.reduce("mean", a, (1,), out)
    with pytest.raises(TypeError, match="unsupported dtype float16"):
        R.reduce("sum", a.astype(np.float16), (1,), out)
    with pytest.raises(TypeError, match="unsupported dtype complex64"):
        R.reduce("sum", a.astype(np.complex64), (1,), out)
    with pytest.raises(TypeError, match="unsupported dtype"):
        R.reduce("sum", a.astype(">f4"), (1,), out)
    with pytest.raises(TypeError, match="out has dtype float64, expected float32"):
        R.reduce("sum", a, (1,), np.empty((3,), np.float64))
    with pytest.raises(TypeError, match="expected int64"):
        R.reduce("sum", a.astype(np.int32), (1,), np.empty((3,), np.int32))
    with pytest.raises(TypeError, match="expected bool"):
        R.reduce("any", a, (1,), out)
    with pytest.raises(ValueError, match=r"out has shape \(4,\), expected \(3,\)"):
        R.reduce("sum", a, (1,), np.empty((4,), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        R.reduce("sum", random((3, 4, 5), np.float32), (2,), np.empty((4, 3), np.float32).T)
    ro = np.empty((3,), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        R.reduce("sum", a, (1,), ro)
    with pytest.raises(ValueError, match="overlaps the input"):
        R.reduce("sum", a, (1,), a.reshape(-1)[:3])
    with pytest.raises(ValueError, match="axis 2 out of range"):
        R.reduce("sum", a, (2,), out)
    with pytest.raises(ValueError, match="axis -1 out of range"):
        R.reduce("sum", a, (-1,), out)
    with pytest.raises(ValueError, match="repeated"):
        R.reduce("sum", a, (1, 1), out)
    with pytest.raises(ValueError, match="tuple of ints"):
        R.reduce("sum", a, (1.0,), out)
    with pytest.raises(ValueError, match="tuple of ints"):
        R.reduce("sum", a, (True,), out)
    with pytest.raises(TypeError):
        R.reduce("sum", a, [1], out)
    with pytest.raises(TypeError):
        R.reduce("sum", a, None, out)
    with pytest.raises(TypeError, match="must be a numpy.ndarray"):
        R.arg_reduce("max", a, 1, [0, 0, 0], np.empty((3,), np.int64))

    idx = np.empty((3,), np.int64)
    with pytest.raises(ValueError, match="unknown op 'median'"):
        R.arg_reduce("median", a, 1, None, idx)
    with pytest.raises(ValueError, match="axis 5 out of range"):
        R.arg_reduce("max", a, 5, None, idx)
    with pytest.raises(TypeError, match="indices_out has dtype int32"):
        R.arg_reduce("max", a, 1, None, idx.astype(np.int32))
    with pytest.raises(TypeError, match="values_out has dtype float64"):
        R.arg_reduce("max", a, 1, np.empty((3,), np.float64), idx)
    with pytest.raises(ValueError, match="values_out and indices_out overlap"):
        buf = np.empty(3, np.int64)
        R.arg_reduce("max", a.astype(np.int64), 1, buf, buf)

    with pytest.raises(TypeError, match="expected float32 or float64"):
        R.var(a.astype(np.int32), (1,), 1.0, np.empty((3,), np.int32))
    with pytest.raises(TypeError, match="mean_out has dtype float64"):
        R.var(a, (1,), 1.0, out, np.empty((3,), np.float64))
    with pytest.raises(ValueError, match="out and mean_out overlap"):
        R.var(a, (1,), 1.0, out, out)

    with pytest.raises(ValueError, match="unknown op 'cummax'"):
        R.cumulative("cummax", a, 0, np.empty_like(a))
    with pytest.raises(TypeError, match="expected int64"):
        R.cumulative("cumsum", a.astype(np.int8), 0, np.empty((3, 4), np.int8))
    with pytest.raises(ValueError, match="overlaps the input"):
        b = a.copy()
        R.cumulative("cumsum", b, 0, b)
    with pytest.raises(ValueError, match="axis 2 out of range"):
        R.cumulative("cumsum", a, 2, np.empty_like(a))
    with pytest.raises(ValueError, match="0-d input"):
        R.cumulative("cumsum", np.array(1.0), 1, np.empty((), np.float64))

    with pytest.raises(TypeError, match=r"softmax\(\).*expected float32 or float64"):
        R.softmax(a.astype(np.int64), 1, np.empty((3, 4), np.int64))
    with pytest.raises(ValueError, match=r"log_softmax\(\): out has shape"):
        R.softmax(a, 1, np.empty((4, 3), np.float32), True)
    with pytest.raises(TypeError, match="logsumexp"):
        R.logsumexp(a.astype(np.bool_), (1,), np.empty((3,), np.bool_))


# ------------------------------------------------------------- determinism --

@pytest.mark.skipif(not R._openmp_enabled(), reason="built without OpenMP")
def test_results_are_bit_identical_across_thread_counts():
    big = random((2_000_003,), np.float32)          # one output, many chunks
    tall = random((40000, 37), np.float64)          # rows: too few tiles -> chunks
    wide = random((600, 1500), np.float32)          # many outputs / many tiles
    cube = random((60, 70, 80), np.float32).transpose(2, 0, 1)

    def outputs():
        res = [run_reduce("sum", big, ()), run_reduce("prod", big[:5000] * 0 + 1, ()),
               run_reduce("sum", tall, (0,)), run_reduce("sum", tall, (1,)),
               run_reduce("sum", wide, (0,)), run_reduce("sum", wide, (1,)),
               run_reduce("sum", cube, (0, 2)), run_reduce("max", big, ()),
               run_var(tall, (0,), 1)[0], run_var(big, (), 1)[0],
               run_logsumexp(wide, (0,)), run_logsumexp(big, ()),
               run_arg("max", big, -1)[1], run_arg("min", tall, 0)[1]]
        for axis in [0, 1]:
            out = np.empty_like(wide)
            R.softmax(wide, axis, out, False)
            res.append(out)
            out = np.empty_like(wide)
            R.cumulative("cumsum", wide, axis, out)
            res.append(out)
        return [np.asarray(r).tobytes() for r in res]

    saved = R._max_threads()
    try:
        R._set_threads_for_testing(1)
        baseline = outputs()
        for threads in [2, 3, 4]:
            R._set_threads_for_testing(threads)
            assert outputs() == baseline, f"results differ with {threads} threads"
    finally:
        R._set_threads_for_testing(saved)
