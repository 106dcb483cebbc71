"""Elementwise kernels against numpy / Python / torch semantics.

Tolerances are torch.testing's defaults (float32: rtol 1.3e-6, atol 1e-5;
float64: rtol 1e-7, atol 1e-7).  exp/expm1/log*/tanh/sigmoid are our own
branch-free polynomials: test_transcendental_ulp pins them to <= 3 ulp
(measured <= 2.6) on dense grids, well inside those tolerances; float32 erf
and sin/cos/tan are ours too (<= 1 ulp, evaluated in double).
"""
import math

import numpy as np
import pytest
import scipy.special as scipy_special

from neurarust._core import config
from neurarust._core import elementwise as K

B, U = K.BINARY_OPS, K.UNARY_OPS
INTS = [np.int8, np.uint8, np.int16, np.int32, np.int64]
FLOATS = [np.float32, np.float64]
DTYPES = [np.bool_] + INTS + FLOATS
RNG = np.random.default_rng(11)
TOL = {np.dtype(np.float32): dict(rtol=1.3e-6, atol=1e-5),
       np.dtype(np.float64): dict(rtol=1e-7, atol=1e-7)}


def random(shape, dtype, low=-20, high=20, nonzero=False):
    return np.asarray(_random(shape, dtype, low, high, nonzero))  # 0-d stays an array


def _random(shape, dtype, low, high, nonzero):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        x = RNG.random(shape) < 0.5
        return np.ones(shape, bool) if nonzero else x
    if dtype.kind in "iu":
        x = RNG.integers(max(low, np.iinfo(dtype).min), min(high, np.iinfo(dtype).max),
                         size=shape).astype(dtype)
        if nonzero:
            x[x == 0] = 3
        return x
    x = (RNG.standard_normal(shape) * 4).astype(dtype)
    if nonzero:
        x[x == 0] = 1.5
    return x


def layout(x, kind):
    """A view holding x's values: contiguous, transposed or every-other-element."""
    if kind == "transposed":
        return np.ascontiguousarray(x.T).T
    if kind == "sliced":
        padded = np.zeros(tuple(2 * n for n in x.shape), x.dtype)
        padded[tuple(slice(None, None, 2) for _ in x.shape)] = x
        return padded[tuple(slice(None, None, 2) for _ in x.shape)]
    return x.copy()


def check(got, want):
    with np.errstate(all="ignore"):  # want may overflow got's dtype: inf on both sides
        want = np.asarray(want).astype(got.dtype)
    assert got.shape == want.shape
    if got.dtype == np.float16:
        np.testing.assert_array_equal(got, want)
    elif got.dtype.kind == "f":
        np.testing.assert_allclose(got, want, equal_nan=True, **TOL[got.dtype])
    else:
        np.testing.assert_array_equal(got, want.astype(got.dtype))


# ------------------------------------------------------------------ binary --

def python_ints(fn, x, y):
    """fn over Python ints, wrapped to x's dtype (two's complement)."""
    info = np.iinfo(x.dtype)
    vals = [(fn(int(a), int(b)) - info.min) % (1 << info.bits) + info.min
            for a, b in zip(x.ravel(), y.ravel())]
    return np.array(vals, dtype=x.dtype).reshape(x.shape)


def reference_binary(name, x, y):
    kind = x.dtype.kind
    with np.errstate(all="ignore"):
        if kind == "b" and name in ("add", "mul"):
            return (x | y) if name == "add" else (x & y)
        if kind in "iu" and name in ("floor_divide", "remainder", "pow"):
            fn = {"floor_divide": lambda a, b: a // b, "remainder": lambda a, b: a % b,
                  "pow": lambda a, b: a ** b}[name]
            return python_ints(fn, x, y)
        if name == "threshold_backward":  # torch's relu gradient: x unless y <= 0 (NaN y passes x)
            return np.where(y <= 0, np.zeros_like(x), x)
        if name == "remainder":  # torch: fmod, moved to the divisor's sign
            mod = np.fmod(x, y)
            return np.where((mod != 0) & ((y < 0) != (mod < 0)), mod + y, mod)
        fn = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
              "floor_divide": np.floor_divide, "fmod": np.fmod, "pow": np.power,
              "maximum": np.maximum, "minimum": np.minimum, "eq": np.equal, "ne": np.not_equal,
              "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
              "logical_and": np.logical_and, "logical_or": np.logical_or,
              "logical_xor": np.logical_xor, "bitwise_and": np.bitwise_and,
              "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor}[name]
        return fn(x, y)


def supported_binary(name, dtype):
    dtype = np.dtype(dtype)
    if name == "div":
        return dtype.kind == "f"
    if name.startswith("bitwise"):
        return dtype.kind != "f"
    if name in ("sub", "floor_divide", "remainder", "fmod", "pow", "threshold_backward"):
        return dtype != np.bool_
    return True


def binary_inputs(name, dtype, shape_a, shape_b):
    if name == "pow" and np.dtype(dtype).kind in "iu":
        return random(shape_a, dtype, -5, 6), random(shape_b, dtype, 0, 6)
    if name == "pow":
        return np.abs(random(shape_a, dtype)) + 0.5, random(shape_b, dtype) / 4
    divides = name in ("floor_divide", "remainder", "fmod", "div")
    return random(shape_a, dtype), random(shape_b, dtype, nonzero=divides)


def out_dtype(name, dtype):
    returns_bool = name in ("eq", "ne", "lt", "le", "gt", "ge") or name.startswith("logical")
    return np.bool_ if returns_bool else dtype


@pytest.mark.parametrize("name", list(B))
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_every_op_and_dtype(name, dtype):
    x, y = binary_inputs(name, dtype, (7, 5), (5,))
    x = layout(x, "transposed")
    out = np.empty((7, 5), out_dtype(name, dtype))
    if not supported_binary(name, dtype):
        with pytest.raises(TypeError, match=name if name != "sub" else "Subtraction"):
            K.binary(B[name], x, y, out)
        return
    K.binary(B[name], x, y, out)
    check(out, reference_binary(name, x, np.broadcast_to(y, x.shape)))


@pytest.mark.parametrize("kind_a", ["contiguous", "transposed", "sliced"])
@pytest.mark.parametrize("kind_out", ["contiguous", "transposed", "sliced"])
@pytest.mark.parametrize("name,dtype", [("add", np.float32), ("floor_divide", np.int32),
                                        ("lt", np.float64), ("mul", np.int8)])
def test_binary_layouts(name, dtype, kind_a, kind_out):
    x, y = binary_inputs(name, dtype, (6, 9), (6, 9))
    x, y = layout(x, kind_a), layout(y, "sliced")
    out = layout(np.zeros((6, 9), out_dtype(name, dtype)), kind_out)
    K.binary(B[name], x, y, out)
    check(out, reference_binary(name, x, y))


@pytest.mark.parametrize("shape_a,shape_b,shape_out", [
    ((), (), ()), ((3, 1), (1, 4), (3, 4)), ((4,), (), (2, 3, 4)), ((1,), (5, 1), (5, 1)),
    ((0, 3), (3,), (0, 3)), ((2, 1, 3), (4, 1), (2, 4, 3)), ((1, 1), (1, 1), (1, 1)),
    ((3, 0), (1,), (3, 0)),
])
def test_binary_broadcast_scalar_and_empty(shape_a, shape_b, shape_out):
    x, y = random(shape_a, np.float32), random(shape_b, np.float32)
    out = np.full(shape_out, 7, np.float32)
    K.binary(B["sub"], x, y, out)
    check(out, np.broadcast_to(x - y, shape_out))


def test_binary_stride0_scalar_paths():
    x = random((1000,), np.float32)
    s = np.float32(2.5)
    out = np.empty_like(x)
    K.binary(B["mul"], x, np.broadcast_to(s, x.shape), out)
    check(out, x * s)
    K.binary(B["div"], np.broadcast_to(s, x.shape), x, out)
    check(out, s / x)


@pytest.mark.parametrize("which", ["a", "b"])
def test_binary_in_place(which):
    x, y = random((40, 30), np.float64), random((40, 30), np.float64)
    want = x - y
    if which == "a":
        K.binary(B["sub"], x, y, x)
        check(x, want)
    else:
        K.binary(B["sub"], x, y, y)
        check(y, want)


def test_binary_partial_overlap_reads_before_writes():
    buf = np.arange(20, dtype=np.int64)
    want = buf[:-1] + buf[1:]
    K.binary(B["add"], buf[:-1], buf[1:], buf[1:])
    check(buf[1:], want)
    buf = np.arange(12, dtype=np.float32).reshape(3, 4)
    want = buf + buf[0]
    K.binary(B["add"], buf, buf[0], buf)  # b is a broadcast view of out's first row
    check(buf, want)


def test_binary_integer_edge_semantics():
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        lo = np.iinfo(dtype).min
        x = np.array([lo, lo, 7, -7, 7, -7], dtype)
        y = np.array([-1, 1, -2, 2, 2, -2], dtype)
        out = np.empty_like(x)
        K.binary(B["floor_divide"], x, y, out)
        check(out, [lo, lo, -4, -4, 3, 3])  # INT_MIN // -1 wraps
        K.binary(B["remainder"], x, y, out)
        check(out, [0, 0, -1, 1, 1, -1])
        K.binary(B["fmod"], x, y, out)
        check(out, [0, 0, 1, -1, 1, -1])
    x = np.array([3, 2, -2], np.int32)
    out = np.empty_like(x)
    K.binary(B["pow"], x, np.array([40, 31, 31], np.int32), out)
    check(out, python_ints(pow, x, np.array([40, 31, 31], np.int32)))


def test_binary_float_edge_semantics():
    nan, inf = np.nan, np.inf
    x = np.array([nan, 1.0, -0.0, 5.0, -5.0, 1.0], np.float32)
    y = np.array([1.0, nan, 0.0, -3.0, 3.0, 0.0], np.float32)
    out = np.empty_like(x)
    K.binary(B["maximum"], x, y, out)
    check(out, [nan, nan, 0.0, 5.0, 3.0, 1.0])
    K.binary(B["minimum"], x, y, out)
    check(out, [nan, nan, 0.0, -3.0, -5.0, 0.0])
    K.binary(B["floor_divide"], x, y, out)
    check(out, [nan, nan, nan, -2.0, -2.0, inf])
    K.binary(B["remainder"], x, y, out)
    check(out, [nan, nan, nan, -1.0, 1.0, nan])


def test_threshold_backward_semantics():
    # torch's relu gradient (checked against torch.ops.aten.threshold_backward): a masked
    # inf/nan gradient gives 0 (a product would give nan); a NaN output passes the gradient.
    nan, inf = np.nan, np.inf
    g = np.array([inf, nan, 2.0, 3.0, -4.0, 5.0], np.float32)
    y = np.array([0.0, -1.0, -0.0, nan, 1.5, 1e-30], np.float32)
    out = np.empty_like(g)
    K.binary(B["threshold_backward"], g, y, out)
    check(out, [0.0, 0.0, 0.0, 3.0, -4.0, 5.0])


@pytest.mark.parametrize("dtype", INTS)
def test_integer_division_exact_over_full_range(dtype):
    """<= 32-bit division runs through floating point: check it stays exact,
    exhaustively for 8-bit types and on extremes + random values otherwise."""
    info = np.iinfo(dtype)
    if info.bits == 8:
        values = np.arange(info.min, info.max + 1)
        x, y = np.meshgrid(values, values)
    else:
        edges = [info.min, info.min + 1, -7, -1, 1, 2, 3, 7, info.max - 1, info.max]
        edges = [e for e in edges if info.min <= e <= info.max]
        rand = RNG.integers(info.min, info.max, size=20_000, endpoint=True)
        x = np.concatenate([np.repeat(edges, len(edges)), rand, rand[::-1]])
        y = np.concatenate([np.tile(edges, len(edges)), rand[::-1] >> RNG.integers(0, info.bits, 20_000),
                            rand])
    x, y = x.astype(dtype).ravel(), y.astype(dtype).ravel()
    keep = y != 0
    x, y = x[keep], y[keep]
    out = np.empty_like(x)
    with np.errstate(all="ignore"):
        for name, ref in (("floor_divide", np.floor_divide), ("remainder", np.remainder),
                          ("fmod", np.fmod)):
            K.binary(B[name], x, y, out)
            np.testing.assert_array_equal(out, ref(x, y), err_msg=name)


def test_float32_pow_specials_and_accuracy():
    """C99 pow specials, the x ** 2 fast path, and <= 1 ulp."""
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0,
                         3.0, -3.0, 2.5, -2.5, 1e-30, 1e30, 127.0, -126.0], np.float32)
    x, y = [v.ravel() for v in np.meshgrid(specials, specials)]
    out = np.empty_like(x)
    K.binary(B["pow"], x, y, out)
    with np.errstate(all="ignore"):
        want = np.power(x.astype(np.float64), y.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(out, want)
    signed = ~np.isnan(want)
    np.testing.assert_array_equal(np.signbit(out[signed]), np.signbit(want[signed]))
    for dtype in FLOATS:  # a broadcast exponent of 2 takes the x * x path
        base = np.array([np.nan, -np.inf, -3.0, -0.0, 0.0, 1.5, 1e30], dtype)
        K.binary(B["pow"], base, np.broadcast_to(np.array(2, dtype), base.shape), sq := np.empty_like(base))
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(sq, np.power(base, 2))
    x = np.exp(RNG.uniform(-20, 20, 200_000)).astype(np.float32)
    y = RNG.uniform(-4, 4, 200_000).astype(np.float32)
    K.binary(B["pow"], x, y, out := np.empty_like(x))
    want = np.power(x.astype(np.float64), y.astype(np.float64))
    rounded = want.astype(np.float32)
    ok = np.isfinite(rounded) & (rounded != 0)
    assert (np.abs(out[ok] - want[ok]) / np.spacing(np.abs(rounded[ok])) <= 1.0).all()


@pytest.mark.parametrize("name", ["floor_divide", "remainder", "fmod"])
@pytest.mark.parametrize("dtype", INTS)
def test_integer_division_by_zero_raises_before_writing(name, dtype):
    x, y = random((50,), dtype), random((50,), dtype, nonzero=True)
    y[37] = 0
    out = np.full(50, 9, dtype)
    with pytest.raises(ZeroDivisionError, match=f"{name}: integer division by zero"):
        K.binary(B[name], x, y, out)
    assert (out == 9).all()


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64])
def test_integer_negative_power_raises(dtype):
    out = np.full(3, 9, dtype)
    with pytest.raises(ValueError, match="integers to negative integer powers"):
        K.binary(B["pow"], np.array([2, 3, 4], dtype), np.array([1, -1, 2], dtype), out)
    assert (out == 9).all()
    K.binary(B["pow"], np.array([2, 3, 4], np.uint8), np.array([1, 255, 2], np.uint8),
             np.empty(3, np.uint8))  # uint8 exponents are never negative


def test_binary_argument_errors():
    f = np.zeros(4, np.float32)
    with pytest.raises(TypeError, match=r"binary\(add\): a and b must have the same dtype"):
        K.binary(B["add"], f, np.zeros(4, np.float64), f)
    with pytest.raises(TypeError, match=r"binary\(lt\): out must have dtype bool"):
        K.binary(B["lt"], f, f, f)
    with pytest.raises(TypeError, match=r"out must have dtype float32, got float64"):
        K.binary(B["add"], f, f, np.zeros(4))
    with pytest.raises(TypeError, match="unsupported dtype float16"):
        K.binary(B["add"], f.astype(np.float16), f.astype(np.float16), f.astype(np.float16))
    with pytest.raises(TypeError, match="unsupported dtype uint16"):
        K.binary(B["add"], f.astype(np.uint16), f.astype(np.uint16), f.astype(np.uint16))
    swapped = f.astype(">f4")
    with pytest.raises(TypeError, match="non-native byte order"):
        K.binary(B["add"], swapped, swapped, swapped)
    with pytest.raises(ValueError, match=r"b of shape \(3,\) does not broadcast to out of shape \(4,\)"):
        K.binary(B["add"], f, np.zeros(3, np.float32), f)
    with pytest.raises(ValueError, match="does not broadcast"):
        K.binary(B["add"], np.zeros((2, 4), np.float32), f, f)  # out would need broadcasting
    with pytest.raises(ValueError, match="read-only"):
        K.binary(B["add"], f, f, np.broadcast_to(f, (2, 4)))
    with pytest.raises(ValueError, match="unknown op code"):
        K.binary(99, f, f, f)
    with pytest.raises(TypeError, match="true division needs a float dtype"):
        K.binary(B["div"], np.ones(2, np.int32), np.ones(2, np.int32), np.ones(2, np.int32))
    with pytest.raises(TypeError, match="needs an integer or bool dtype"):
        K.binary(B["bitwise_and"], f, f, f)
    with pytest.raises(TypeError):
        K.binary(B["add"], [1.0], f, f)
    with pytest.raises(TypeError):
        K.binary(B["add"], None, f, f)


# ------------------------------------------------------------------- unary --

def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def reference_unary(name, x, p0=0.0, p1=0.0):
    kind = x.dtype.kind
    if kind in "iub" and name in ("floor", "ceil", "round", "trunc"):
        return x
    if x.dtype == np.bool_ and name in ("abs", "sign", "square", "relu"):
        return x
    if kind in "iu":
        with np.errstate(all="ignore"):
            return {"neg": lambda v: -v, "abs": np.abs, "sign": np.sign, "square": lambda v: v * v,
                    "relu": lambda v: np.maximum(v, 0), "bitwise_not": np.invert,
                    "isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite,
                    "logical_not": np.logical_not}[name](x)
    if kind == "b":
        return {"bitwise_not": np.logical_not, "logical_not": np.logical_not,
                "isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite}[name](x)
    v = x.astype(np.float64)
    with np.errstate(all="ignore"):
        table = {
            "neg": lambda: -v, "abs": lambda: np.abs(v), "square": lambda: v * v,
            "sign": lambda: np.where(np.isnan(v), 0.0, np.sign(v)),  # torch: sign(nan) == 0
            "reciprocal": lambda: 1 / v, "exp": lambda: np.exp(v), "expm1": lambda: np.expm1(v),
            "log": lambda: np.log(v), "log1p": lambda: np.log1p(v), "log2": lambda: np.log2(v),
            "log10": lambda: np.log10(v), "sqrt": lambda: np.sqrt(v), "rsqrt": lambda: 1 / np.sqrt(v),
            "sin": lambda: np.sin(v), "cos": lambda: np.cos(v), "tan": lambda: np.tan(v),
            "tanh": lambda: np.tanh(v), "sigmoid": lambda: 1 / (1 + np.exp(-v)),
            "relu": lambda: np.where(v <= 0, 0.0, v),  # NaN stays NaN
            "gelu": lambda: 0.5 * v * (1 + _erf(v / math.sqrt(2))),
            "gelu_tanh": lambda: 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3))),
            "silu": lambda: v / (1 + np.exp(-v)),
            "softplus": lambda: np.where(v * p0 > p1, v, np.log1p(np.exp(v * p0)) / p0),
            "leaky_relu": lambda: np.where(v > 0, v, v * p0),
            "elu": lambda: np.where(v > 0, v, p0 * np.expm1(v)),
            "erf": lambda: _erf(v), "floor": lambda: np.floor(v), "ceil": lambda: np.ceil(v),
            "round": lambda: np.round(v), "trunc": lambda: np.trunc(v),
            "isnan": lambda: np.isnan(v), "isinf": lambda: np.isinf(v),
            "isfinite": lambda: np.isfinite(v), "logical_not": lambda: v == 0,
        }
        return table[name]()


INT_OK = {"neg", "abs", "sign", "square", "relu", "floor", "ceil", "round", "trunc", "isnan",
          "isinf", "isfinite", "logical_not", "bitwise_not"}
BOOL_OK = INT_OK - {"neg"}
BOOL_OUT = {"isnan", "isinf", "isfinite", "logical_not"}
PARAMS = {"softplus": (2.0, 10.0), "leaky_relu": (0.1, 0.0), "elu": (1.5, 0.0)}
SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1e-30, -1e-30, 30.0,
            -30.0, 100.0, -100.0, 700.0, -800.0, 1e-310]


def unary_input(name, dtype):
    x = random((6, 7), dtype)
    if np.dtype(dtype).kind == "f":
        if name in ("log", "log2", "log10", "sqrt", "rsqrt"):
            x = np.abs(x) + 1e-3
        if name == "log1p":
            x = np.abs(x) - 0.9
        flat = x.reshape(-1)
        with np.errstate(all="ignore"):
            flat[:len(SPECIALS)] = np.array(SPECIALS, dtype=dtype)
    return x


@pytest.mark.parametrize("name", list(U))
@pytest.mark.parametrize("dtype", DTYPES)
def test_unary_every_op_and_dtype(name, dtype):
    x = layout(unary_input(name, dtype), "transposed")
    kind = np.dtype(dtype).kind
    out = np.empty(x.shape, np.bool_ if name in BOOL_OUT else dtype)
    p0, p1 = PARAMS.get(name, (0.0, 0.0))
    allowed = name in (BOOL_OK if kind == "b" else INT_OK if kind in "iu" else set(U) - {"bitwise_not"})
    if not allowed:
        with pytest.raises(TypeError, match=name if name != "neg" else "Negation"):
            K.unary(U[name], x, out, p0, p1)
        return
    K.unary(U[name], x, out, p0, p1)
    want = reference_unary(name, x, p0, p1)
    check(out, want)


def test_unary_torch_semantics():
    x = np.array([np.nan, -1.0, -0.0, 0.5, 1.5, 2.5, -2.5, 3.0], np.float32)
    out = np.empty_like(x)
    K.unary(U["relu"], x, out)
    check(out, [np.nan, 0, 0, 0.5, 1.5, 2.5, 0, 3])
    K.unary(U["sign"], x, out)
    check(out, [0, -1, 0, 1, 1, 1, -1, 1])
    K.unary(U["round"], x, out)
    check(out, [np.nan, -1, 0, 0, 2, 2, -2, 3])  # half to even
    big = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0], np.float32)
    out = np.empty_like(big)
    with np.errstate(all="raise"):
        K.unary(U["sigmoid"], big, out)  # no overflow, no FP exception leaks to numpy
    check(out, [0.0, 3.7200760e-44, 0.5, 1.0, 1.0])
    trig = np.array([-0.0, 0.0, 1e-30, 3e7, -1e9, 1e6, np.inf, np.nan], np.float32)
    for name in ("sin", "cos", "tan"):  # beyond 1e6 and non-finite: libm fallback
        K.unary(U[name], trig, got := np.empty_like(trig))
        with np.errstate(invalid="ignore"):
            want = getattr(np, name)(trig.astype(np.float64)).astype(np.float32)
        np.testing.assert_allclose(got, want, rtol=1.3e-6, atol=1e-6, equal_nan=True)
        assert np.signbit(got[0]) == (name != "cos")  # sin(-0) == tan(-0) == -0
    i = np.array([np.iinfo(np.int32).min, -3, 0, 5], np.int32)
    out = np.empty_like(i)
    K.unary(U["abs"], i, out)
    check(out, [np.iinfo(np.int32).min, 3, 0, 5])  # abs(INT_MIN) wraps
    K.unary(U["neg"], i, out)
    check(out, [np.iinfo(np.int32).min, 3, 0, -5])


@pytest.mark.parametrize("name", ["exp", "expm1", "log", "log1p", "log2", "log10", "tanh", "sigmoid",
                                  "erf", "sin", "cos", "tan"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_transcendental_ulp(name, dtype):
    lo, hi = {"exp": (-100, 88), "expm1": (-20, 88), "tanh": (-12, 12), "sigmoid": (-80, 80),
              "erf": (-6, 6), "sin": (-1e4, 1e4), "cos": (-1e4, 1e4),
              "tan": (-100, 100)}.get(name, (-80, 80))
    t = np.concatenate([np.linspace(lo, hi, 200_001), RNG.uniform(-1, 1, 50_000)])
    x = (np.exp(t) if name in ("log", "log2", "log10", "log1p") else t).astype(dtype)
    if name == "log1p":
        x = np.concatenate([x, np.linspace(-0.999, 1, 50_001).astype(dtype)])
    out = np.empty_like(x)
    K.unary(U[name], x, out)
    wide = np.longdouble if dtype == np.float64 and name != "erf" else np.float64
    xw = x.astype(wide)
    with np.errstate(all="ignore"):
        want = {"exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p,
                "log2": np.log2, "log10": np.log10, "tanh": np.tanh,
                "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "erf": scipy_special.erf,
                "sin": np.sin, "cos": np.cos, "tan": np.tan}[name](xw)
        rounded = want.astype(dtype)
    finite = np.isfinite(rounded)
    assert np.array_equal(np.isfinite(out), finite)
    ulp = np.spacing(np.abs(rounded[finite])).astype(wide)
    err = np.abs(out[finite].astype(wide) - want[finite]) / ulp
    assert err.max() <= 3.0, f"{name} {np.dtype(dtype)}: {err.max():.2f} ulp"


def test_unary_shape_and_dtype_errors():
    f = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"unary\(exp\): input of shape \(2, 3\) and out of shape \(3, 2\)"):
        K.unary(U["exp"], f, np.zeros((3, 2), np.float32))
    with pytest.raises(TypeError, match=r"unary\(isnan\): out must have dtype bool"):
        K.unary(U["isnan"], f, f)
    with pytest.raises(TypeError, match=r"unary\(exp\): needs a float dtype"):
        K.unary(U["exp"], f.astype(np.int32), f.astype(np.int32))
    with pytest.raises(TypeError, match="needs an integer or bool dtype"):
        K.unary(U["bitwise_not"], f, f)
    with pytest.raises(ValueError, match="unknown op code"):
        K.unary(-1, f, f)


def test_unary_empty_zero_d_and_in_place():
    e = np.zeros((0, 4), np.float32)
    K.unary(U["exp"], e, e)
    z = np.array(2.0)
    K.unary(U["square"], z, z)
    assert z == 4.0
    x = random((33, 17), np.float64)
    want = np.exp(x)
    K.unary(U["exp"], x, x)
    check(x, want)


def test_nan_to_num():
    x = np.array([np.nan, np.inf, -np.inf, 1.5], np.float32)
    out = np.empty_like(x)
    K.nan_to_num(x, out, 0.0, 9.0, -9.0)
    check(out, [0.0, 9.0, -9.0, 1.5])
    with pytest.raises(TypeError, match="nan_to_num: needs a float dtype"):
        K.nan_to_num(np.zeros(4, np.int32), np.zeros(4, np.int32), 0.0, 1.0, -1.0)


# --------------------------------------------------- where / clamp / lerp --

@pytest.mark.parametrize("dtype", DTYPES + [np.float16])
def test_where(dtype):
    cond = RNG.random((5, 6)) < 0.5
    a, b = random((5, 6), dtype), random((6,), dtype)
    out = np.empty((5, 6), dtype)
    K.where(layout(cond, "transposed"), a, b, out)
    check(out, np.where(cond, a, b))
    K.where(cond, a, np.broadcast_to(b[0], ()), out)
    check(out, np.where(cond, a, b[0]))
    with pytest.raises(TypeError, match="where: cond must be bool"):
        K.where(cond.astype(np.int8), a, b, out)


@pytest.mark.parametrize("dtype", DTYPES)
def test_clamp(dtype):
    a = random((4, 5), dtype)
    lo, hi = random((5,), dtype, -8, 2), random((4, 1), dtype, 2, 8)
    out = np.empty_like(a)
    K.clamp(a, lo, hi, out)
    check(out, np.minimum(np.maximum(a, lo), hi))
    K.clamp(a, lo, None, out)
    check(out, np.maximum(a, lo))
    K.clamp(a, None, hi, out)
    check(out, np.minimum(a, hi))
    with pytest.raises(ValueError, match="at least one"):
        K.clamp(a, None, None, out)


def test_clamp_nan_and_crossed_bounds():
    a = np.array([np.nan, 1.0, 5.0, -5.0], np.float32)
    out = np.empty_like(a)
    K.clamp(a, np.array(0.0, np.float32), np.array(2.0, np.float32), out)
    check(out, [np.nan, 1.0, 2.0, 0.0])
    K.clamp(a, np.array(np.nan, np.float32), None, out)
    check(out, [np.nan] * 4)
    K.clamp(a, np.array(3.0, np.float32), np.array(1.0, np.float32), out)
    check(out, [np.nan, 1.0, 1.0, 1.0])  # lo > hi gives hi
    with pytest.raises(TypeError, match="clamp: lo must have dtype float32"):
        K.clamp(a, np.zeros(1), None, out)


@pytest.mark.parametrize("dtype", FLOATS)
def test_lerp(dtype):
    s, e = random((3, 4), dtype), random((4,), dtype)
    w = np.array([[-0.5, 0.0, 0.49, 0.5], [0.51, 1.0, 1.5, 0.25], [2, 3, 4, 5]], dtype)
    out = np.empty((3, 4), dtype)
    K.lerp(s, e, w, out)
    d = e - s
    check(out, np.where(np.abs(w) < 0.5, s + w * d, e - d * (1 - w)))
    with pytest.raises(TypeError, match="lerp: needs a float dtype"):
        K.lerp(s.astype(np.int32), e.astype(np.int32), w.astype(np.int32), out.astype(np.int32))


# -------------------------------------------------------------------- copy --

COPY_DTYPES = DTYPES + [np.float16]


def copy_values(dtype):
    if np.dtype(dtype).kind == "f":  # in range of every integer type once truncated
        return (RNG.standard_normal((7, 9)) * 40).clip(-127, 126).astype(dtype)
    return random((7, 9), dtype)


@pytest.mark.parametrize("src_dtype", COPY_DTYPES)
@pytest.mark.parametrize("dst_dtype", COPY_DTYPES)
def test_copy_every_dtype_pair(src_dtype, dst_dtype):
    src = layout(copy_values(src_dtype), "transposed")
    dst = layout(np.zeros((7, 9), dst_dtype), "sliced")
    K.copy(src, dst)
    with np.errstate(all="ignore"):
        want = src.astype(dst_dtype)
    if np.dtype(dst_dtype) == np.float16:
        np.testing.assert_array_equal(dst, want)
    else:
        check(dst, want)


def test_half_conversions_exhaustive():
    bits = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    halves = bits.view(np.float16)
    for wide in (np.float32, np.float64):
        out = np.empty(halves.shape, wide)
        K.copy(halves, out)
        np.testing.assert_array_equal(out, halves.astype(wide))
        back = np.empty(halves.shape, np.float16)
        K.copy(out, back)
        np.testing.assert_array_equal(back.view(np.uint16)[~np.isnan(halves)],
                                      bits[~np.isnan(halves)])
        assert np.isnan(back[np.isnan(halves)]).all()
    # Rounding: ties to even, subnormals, overflow to inf, for both widths.
    probe = np.concatenate([RNG.standard_normal(200_000) * 10, RNG.uniform(-7e4, 7e4, 50_000),
                            RNG.uniform(-1e-4, 1e-4, 50_000), np.exp2(np.arange(-30, 17)),
                            (np.arange(-2048, 2048) + 0.5) * 2.0 ** -24, [65504, 65519.99, 65520, 1e9]])
    for wide in (np.float32, np.float64):
        x = probe.astype(wide)
        out = np.empty(x.shape, np.float16)
        K.copy(x, out)
        with np.errstate(over="ignore"):
            np.testing.assert_array_equal(out, x.astype(np.float16))


def test_copy_float_to_int_truncates_and_never_traps():
    x = np.array([2.9, -2.9, 0.5, -0.5, 100.99], np.float32)
    out = np.empty(5, np.int16)
    K.copy(x, out)
    check(out, [2, -2, 0, 0, 100])
    wild = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 3e9], np.float64)
    for dtype in INTS + [np.bool_]:
        K.copy(wild, np.empty(6, dtype))  # any value, but no crash
    out = np.empty(6, np.bool_)
    K.copy(np.array([0.0, -0.0, np.nan, 1e-45, -2, 0], np.float32), out)
    check(out, [False, False, True, True, True, False])


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_copy_overlapping_same_storage(direction):
    buf = np.arange(30, dtype=np.int32)
    want = buf.copy()
    if direction == "forward":
        K.copy(buf[:-3], buf[3:])
        want[3:] = want[:-3].copy()
    else:
        K.copy(buf[3:], buf[:-3])
        want[:-3] = want[3:].copy()
    check(buf, want)
    sq = np.arange(36, dtype=np.float64).reshape(6, 6)
    want = sq.T.copy()
    K.copy(sq.T, sq)  # in-place transpose
    check(sq, want)
    raw = np.arange(16, dtype=np.int32)
    as_float = raw.view(np.float32)
    K.copy(raw, as_float)  # same elements, other dtype: element-wise in place
    check(as_float, np.arange(16, dtype=np.float32))


@pytest.mark.parametrize("shape_src,shape_dst", [((), ()), ((), (3, 4)), ((4,), (3, 4)), ((0,), (2, 0)),
                                                 ((3, 1), (3, 5)), ((1, 1, 1), (1, 1, 1))])
def test_copy_broadcast_zero_d_empty(shape_src, shape_dst):
    src = random(shape_src, np.int64)
    dst = np.zeros(shape_dst, np.float32)
    K.copy(src, dst)
    check(dst, np.broadcast_to(src, shape_dst))
    with pytest.raises(ValueError, match="copy: src of shape"):
        K.copy(np.zeros((2, 2)), np.zeros((3,)))


def test_copy_reversed_and_unaligned():
    x = np.arange(50, dtype=np.float64)
    dst = np.empty(50, np.float64)
    K.copy(x[::-1], dst)
    check(dst, x[::-1])
    K.copy(x, dst[::-1])
    check(dst[::-1], x)
    raw = bytearray(4 * 33 + 1)
    unaligned = np.frombuffer(raw, dtype=np.float32, offset=1, count=33)
    assert not unaligned.flags.aligned
    K.copy(np.arange(33, dtype=np.float32), unaligned)
    check(unaligned, np.arange(33))
    out = np.empty(33, np.float32)
    K.binary(B["mul"], unaligned, unaligned, out)
    check(out, np.arange(33.0) ** 2)


# --------------------------------------------------------------- threading --

@pytest.fixture
def restore_threads():
    saved = config.get_num_threads()
    yield
    config.set_num_threads(saved)


def test_results_do_not_depend_on_thread_count(restore_threads):
    a = random((300, 700), np.float32)
    b = random((700, 300), np.float32)
    results = []
    for threads in (1, 2, 3):
        config.set_num_threads(threads)
        outs = [np.empty((300, 700), np.float32) for _ in range(4)]
        K.binary(B["add"], a, b.T, outs[0])  # tiled, transposed operand
        K.unary(U["exp"], a, outs[1])
        K.copy(b.T, outs[2])
        K.binary(B["mul"], a[:, :1], a[:1, :], outs[3])
        results.append(outs)
    for outs in results[1:]:
        for got, want in zip(outs, results[0]):
            np.testing.assert_array_equal(got, want)
    check(results[0][0], a + b.T)
    check(results[0][2], b.T)


def random_view(shape, dtype):
    """A view with shape `shape` over a bigger buffer: random axis order, steps
    and reversals, so the iterator's sort/merge/flip/tile logic all get hit."""
    order = RNG.permutation(len(shape))
    steps = RNG.integers(1, 3, size=len(shape)) * RNG.choice([-1, 1], size=len(shape))
    base_shape = [shape[ax] * abs(steps[ax]) for ax in order]
    base = random(tuple(base_shape), dtype)
    view = base.transpose(np.argsort(order))
    return np.asarray(view[tuple(slice(None, None, int(st)) for st in steps)])


@pytest.mark.parametrize("seed", range(40))
def test_iterator_on_random_views(seed):
    ndim = int(RNG.integers(1, 5))
    shape = tuple(int(n) for n in RNG.integers(1, 70 if ndim <= 2 else 12, size=ndim))
    dtype = [np.float32, np.float64, np.int16, np.uint8][seed % 4]
    b_shape = tuple(1 if RNG.random() < 0.3 else n for n in shape)[int(RNG.integers(0, ndim + 1)):]
    a, b = random_view(shape, dtype), random_view(b_shape, dtype)  # b broadcasts
    out = random_view(shape, dtype)
    with np.errstate(all="ignore"):
        want = a + b
    K.binary(B["add"], a, b, out)
    check(out, want)
    dst = random_view(shape, np.float64)
    K.copy(a, dst)
    check(dst, a)


def test_large_transposed_3d_and_permuted():
    x = random((40, 50, 60), np.float64)
    p = x.transpose(2, 0, 1)
    out = np.empty(p.shape, np.float64)
    K.binary(B["add"], p, np.ascontiguousarray(p), out)
    check(out, 2 * p)
    K.copy(p, out)
    check(out, p)
