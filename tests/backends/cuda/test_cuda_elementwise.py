"""CUDA elementwise ops: host-side routing (runs everywhere) and every method against the CPU backend (GPU only).

(Named ``test_cuda_elementwise.py``: ``tests/ops/test_elementwise.py`` already
takes the module name ``test_elementwise`` in pytest's default import mode.)
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from neurarust._core import elementwise as core_ew
from neurarust.backends.cpu import CPUBackend
from neurarust.backends.cuda import codegen, unavailable_reason
from neurarust.backends.cuda.array import CUDAArray
from neurarust.backends.cuda.elementwise import flat_like, host_scalar, needs_copy, value_arg
from neurarust.backends.cuda.kernels import elementwise as K

needs_gpu = pytest.mark.skipif(unavailable_reason() is not None, reason=f"CUDA unavailable: {unavailable_reason()}")
CPU = CPUBackend(None)


# ------------------------------------------------------------------ host side
def test_op_tables_cover_the_cpu_ops_and_dtypes():
    """Same op names, and an (op, dtype) has a kernel exactly when the CPU kernels have one."""
    assert set(K.UNARY) == set(core_ew.UNARY_OPS)
    assert set(K.BINARY) == set(core_ew.BINARY_OPS)
    for dtype in K.NUMERIC:
        x = np.ones(2, dtype)
        for op in K.UNARY:
            try:
                CPU.unary(op, x)
                cpu_has = True
            except TypeError:
                cpu_has = False
            assert K.unary_supports(op, dtype) == cpu_has, (op, dtype)
        for op in K.BINARY:
            try:
                CPU.binary(op, x, x)
                cpu_has = True
            except TypeError:
                cpu_has = False
            assert K.binary_supports(op, dtype) == cpu_has, (op, dtype)


class _Storage:
    def __init__(self, ptr=4096, nbytes=4096):
        self.ptr, self.nbytes, self.device_index = ptr, nbytes, 0


def test_needs_copy_only_for_overlap_that_is_not_an_exact_alias():
    s = _Storage()
    out = CUDAArray(s, (4, 5), (5, 1), 0, np.float32)
    assert not needs_copy(out, out)                                           # in place
    assert not needs_copy(out, CUDAArray(s, (5,), (1,), 20, np.float32))     # disjoint, same storage
    assert not needs_copy(out, CUDAArray(_Storage(), (4, 5), (5, 1), 0, np.float32))
    assert needs_copy(out, CUDAArray(s, (4, 5), (1, 4), 0, np.float32))      # transposed self
    assert needs_copy(out, CUDAArray(s, (5,), (1,), 0, np.float32))          # broadcast row of itself
    assert needs_copy(out, CUDAArray(s, (4, 5), (5, 1), 1, np.float32))      # shifted by one
    assert needs_copy(out, CUDAArray(s, (), (), 3, np.float32))              # one of its elements
    assert not needs_copy(CUDAArray(s, (0, 5), (5, 1), 0, np.float32), out)  # empty out


def test_flat_like_and_scalars():
    s = _Storage()
    out = CUDAArray(s, (2, 3), (3, 1), 0, np.float32)
    assert flat_like(out, CUDAArray(s, (1, 2, 3), (6, 3, 1), 0, np.float32))
    assert not flat_like(out, CUDAArray(s, (3,), (1,), 0, np.float32))        # broadcast
    assert not flat_like(out, CUDAArray(s, (2, 3), (1, 2), 0, np.float32))     # transposed
    assert host_scalar(np.asarray(2.5)) == 2.5
    assert host_scalar(CUDAArray(s, (), (), 0, np.float32, host_value=np.float32(3))) == 3
    assert host_scalar(CUDAArray(s, (), (), 0, np.float32)) is None
    assert host_scalar(CUDAArray(s, (1,), (1,), 0, np.float32)) is None
    assert value_arg(np.uint8(255), "uint8") == 255 and value_arg(True, "bool") == 1
    assert value_arg(0.1, "float32") == np.float32(0.1) and value_arg(0.1, "float64") == 0.1


_C_FORMAT = {"i64": "q", "long long": "q", "int": "i", "double": "d", "float": "f"}


def _signatures(source):
    sigs = {}
    for name, params in re.findall(r'extern "C" __global__ void (\w+)\(([^)]*)\)', source):
        fmt = ""
        for p in params.split(","):
            ctype = p.strip().rsplit(" ", 1)[0]
            fmt += "P" if "*" in ctype else _C_FORMAT[ctype.replace("const ", "")]
        sigs[name] = fmt
    return sigs


class _RecordingRuntime:
    """Checks every kernel the backend asks for against its rendered signature; runs nothing."""

    def __init__(self):
        self.calls = []
        self._sigs = {}

    def function(self, family, key, name, fmt):
        sigs = self._sigs.setdefault((family, key), _signatures(codegen.module_source(family, key)))
        assert name in sigs, f"{name} is not in module {family}{key}"
        assert sigs[name] == fmt, f"{name}: host passes {fmt}, kernel takes {sigs[name]}"
        return (name, fmt)

    def launch(self, fn, n, *args, block=256):
        assert len(args) == len(fn[1]), fn
        self.calls.append(fn[0])

    def alloc(self, nbytes):
        return _Storage(4096 * (len(self.calls) + 2), nbytes)

    def memset_zero(self, ptr, nbytes):
        pass

    def download(self, host, ptr):
        host[...] = 0


@pytest.fixture
def recorded():
    from neurarust.backends.cuda.backend import CUDABackend

    b = object.__new__(CUDABackend)
    b.device, b.rt = None, _RecordingRuntime()
    return b


def test_every_route_calls_a_kernel_with_its_signature(recorded):
    b = recorded
    x = b.empty((3, 4), np.float32)
    t = b.permute(b.empty((4, 3), np.float32), (1, 0))
    s = b.scalar_array(2.0, np.float32)
    for op in K.UNARY:
        if K.unary_supports(op, "float32"):
            b.unary(op, x), b.unary(op, t)
    for op in K.BINARY:
        if K.binary_supports(op, "float32"):
            b.binary(op, x, x), b.binary(op, x, s), b.binary(op, s, x), b.binary(op, t, s), b.binary(op, x, t)
    b.binary("add", x, b.empty((1, 4), np.float32))
    b.binary("add", x, x, out=x)
    for dtype in ("int8", "uint8", "int64"):
        y = b.empty((5,), dtype)
        b.binary("floor_divide", y, y), b.binary("pow", y, b.view(b.storage_of(b.empty((10,), dtype)), (5,), (2,), 1))
    b.where(b.empty((3, 4), np.bool_), x, s), b.where(b.empty((4,), np.bool_), t, x)
    h = b.empty((2,), np.float16)
    b.where(b.empty((2,), np.bool_), h, h)
    b.clamp(x, s, None), b.clamp(t, None, s), b.clamp(x, x, t)
    b.lerp(x, t, s), b.lerp(x, x, x)
    b.nan_to_num(t, 0.0, 1.0, -1.0), b.nan_to_num(x, 0.0, 1.0, -1.0)
    calls = set(b.rt.calls)
    for name in ("nr_unary_exp_float32_contig", "nr_unary_exp_float32_strided", "nr_binary_add_float32_contig",
                 "nr_binary_add_float32_scalar", "nr_binary_add_float32_strided", "nr_binary_anyzero_int8_contig",
                 "nr_binary_anynegative_int64_strided", "nr_select_where_float16_contig",
                 "nr_select_clamp_float32_strided", "nr_select_lerp_float32_contig"):
        assert name in calls


def test_errors_match_the_cpu_backend(recorded):
    b = recorded
    i = b.empty((3,), np.int32)
    with pytest.raises(ZeroDivisionError):
        b.binary("remainder", i, b.scalar_array(0, np.int32))
    with pytest.raises(ValueError, match="negative integer powers"):
        b.binary("pow", i, b.scalar_array(-1, np.int32))
    with pytest.raises(TypeError, match="true division"):
        b.binary("div", i, i)
    with pytest.raises(TypeError, match="Subtraction"):
        b.binary("sub", b.empty((2,), np.bool_), b.empty((2,), np.bool_))
    with pytest.raises(TypeError, match="same dtype"):
        b.binary("add", i, b.empty((3,), np.int64))
    with pytest.raises(TypeError):
        b.unary("exp", b.empty((2,), np.float16))
    with pytest.raises(TypeError, match="Negation"):
        b.unary("neg", b.empty((2,), np.bool_))
    with pytest.raises(ValueError):
        b.binary("add", i, b.empty((4,), np.int32))
    with pytest.raises(ValueError, match="unknown op"):
        b.unary("nope", i)


# ------------------------------------------------------------ against the CPU
def _values(dtype, shape, rng):
    """An ndarray of ``shape`` with random values and, when it has room, the edge cases."""
    if dtype == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        v = np.asarray(rng.integers(max(info.min, -100), min(info.max, 100), size=shape, endpoint=True), dtype)
        flat = v.reshape(-1)
        if flat.size >= 4:  # the wrap-around edges
            flat[:2] = (info.min, info.max)
        return v
    v = np.asarray(rng.standard_normal(shape) * 3, dtype)
    flat = v.reshape(-1)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 0.5, -2.5, 1e-30, 80.0, -100.0], dtype)
    k = min(flat.size // 2, specials.size)
    flat[:k] = specials[:k]
    return v


def _dev(g, host):
    """``host`` on the device (0-d arrays without a host value, so kernels read them from memory)."""
    host = np.asarray(host)
    return g.reshape_view(g.from_numpy(host.reshape(-1)), host.shape)


def _layouts(g, host):
    """(name, device array) pairs holding ``host``'s values in various layouts."""
    out = [("contig", _dev(g, host))]
    if host.ndim == 2:
        out.append(("transposed", g.permute(g.from_numpy(np.ascontiguousarray(host.T)), (1, 0))))
        big = np.zeros((host.shape[0] + 1, 2 * host.shape[1]), host.dtype)
        big[1:, ::2] = host
        st = g.storage_of(g.from_numpy(big))
        out.append(("sliced", g.view(st, host.shape, (2 * host.shape[1], 2), 2 * host.shape[1])))
        flipped = np.ascontiguousarray(host[::-1])
        st = g.storage_of(g.from_numpy(flipped))
        out.append(("negative", g.view(st, host.shape, (-host.shape[1], 1), (host.shape[0] - 1) * host.shape[1])))
    return out


def _check(actual, expected, what):
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, what
    if expected.dtype.kind == "f":
        # float16 only moves through where: exact.
        tol = {"float16": (0, 0), "float32": (1e-5, 1e-6), "float64": (1e-12, 1e-13)}[expected.dtype.name]
        np.testing.assert_allclose(actual, expected, rtol=tol[0], atol=tol[1], equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


@pytest.fixture(scope="module")
def gpu():
    import neurarust as nr
    from neurarust.device import backend_for

    return backend_for(nr.device("cuda"))


@needs_gpu
@pytest.mark.parametrize("dtype", K.NUMERIC)
def test_unary_matches_cpu(gpu, dtype):
    rng = np.random.default_rng(0)
    host = _values(dtype, (5, 7), rng)
    for op in K.UNARY:
        if not K.unary_supports(op, dtype):
            continue
        p0, p1 = {"softplus": (2.0, 3.0), "leaky_relu": (0.1, 0.0), "elu": (1.5, 0.0)}.get(op, (0.0, 0.0))
        expected = CPU.unary(op, host, p0, p1)
        for name, arr in _layouts(gpu, host):
            _check(gpu.to_numpy(gpu.unary(op, arr, p0, p1)), expected, f"{op} {dtype} {name}")
        for shape in ((), (0, 3), (37,)):
            h = _values(dtype, shape, rng)
            _check(gpu.to_numpy(gpu.unary(op, _dev(gpu, h), p0, p1)), CPU.unary(op, h, p0, p1),
                   f"{op} {dtype} {shape}")


def _divisor_safe(op, dtype, b):
    """b with the values the CPU rejects (zero divisors, negative integer exponents) replaced."""
    if np.dtype(dtype).kind in "iu":
        if op in ("floor_divide", "remainder", "fmod"):
            b = np.where(b == 0, np.ones_like(b), b)
        if op == "pow":
            b = np.abs(b.astype(np.int64) % 5).astype(dtype)
    return b


@needs_gpu
@pytest.mark.parametrize("dtype", K.NUMERIC)
def test_binary_matches_cpu(gpu, dtype):
    rng = np.random.default_rng(1)
    ha, hb = _values(dtype, (4, 6), rng), _values(dtype, (4, 6), rng)
    row, scalar = _values(dtype, (6,), rng), _values(dtype, (), rng)
    for op in K.BINARY:
        if not K.binary_supports(op, dtype):
            continue
        b_full, b_row = _divisor_safe(op, dtype, hb), _divisor_safe(op, dtype, row)
        s = _divisor_safe(op, dtype, scalar)[()]
        ha_b = _divisor_safe(op, dtype, ha)  # ha where it is the divisor
        expected = CPU.binary(op, ha, b_full)
        for (na, da), (nb, db) in zip(_layouts(gpu, ha), _layouts(gpu, b_full)[::-1]):
            _check(gpu.to_numpy(gpu.binary(op, da, db)), expected, f"{op} {dtype} {na}/{nb}")
        da = _dev(gpu, ha)
        cases = [  # (a, b, host a, host b)
            (da, _dev(gpu, b_row), ha, b_row),                       # broadcast row
            (_dev(gpu, b_row), _dev(gpu, ha_b), b_row, ha_b),
            (da, gpu.scalar_array(s, dtype), ha, np.asarray(s)),          # by value
            (gpu.scalar_array(s, dtype), _dev(gpu, ha_b), np.asarray(s), ha_b),
            (da, np.asarray(s), ha, np.asarray(s)),                       # CPU 0-d joining
            (_layouts(gpu, ha)[1][1], gpu.scalar_array(s, dtype), ha, np.asarray(s)),  # strided + value
            (da, _dev(gpu, np.asarray(s).reshape(1, 1)), ha, np.asarray(s).reshape(1, 1)),  # read once
            (_dev(gpu, ha[:, :1]), _dev(gpu, b_row), ha[:, :1], b_row),              # outer
            (_dev(gpu, ha[:0]), _dev(gpu, b_row), ha[:0], b_row),                    # empty
            (gpu.scalar_array(ha[0, 0], dtype), gpu.scalar_array(s, dtype), ha[0, 0], np.asarray(s)),  # 0-d
        ]
        for k, (a, b, xa, xb) in enumerate(cases):
            _check(gpu.to_numpy(gpu.binary(op, a, b)), CPU.binary(op, np.asarray(xa), np.asarray(xb)),
                   f"{op} {dtype} case {k}")


@needs_gpu
def test_binary_in_place_and_overlapping_out(gpu):
    h = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = _dev(gpu, h)
    gpu.binary("add", x, gpu.scalar_array(1.0, np.float32), out=x)
    np.testing.assert_array_equal(gpu.to_numpy(x), h + 1)
    gpu.binary("mul", x, x, out=x)
    np.testing.assert_array_equal(gpu.to_numpy(x), (h + 1) ** 2)
    y = _dev(gpu, h.copy())
    row0 = gpu.view(gpu.storage_of(y), (4,), (1,), 0)
    gpu.binary("sub", y, row0, out=y)          # y -= y[0]: reads the row before it is overwritten
    np.testing.assert_array_equal(gpu.to_numpy(y), h - h[0])
    z = _dev(gpu, h.copy())
    gpu.binary("add", z, gpu.view(gpu.storage_of(z), (), (), 5), out=z)   # z += z[1, 1]
    np.testing.assert_array_equal(gpu.to_numpy(z), h + h[1, 1])
    sq = _dev(gpu, np.arange(9, dtype=np.float64).reshape(3, 3))
    gpu.binary("add", sq, gpu.permute(sq, (1, 0)), out=sq)  # sq += sq.T
    e = np.arange(9, dtype=np.float64).reshape(3, 3)
    np.testing.assert_array_equal(gpu.to_numpy(sq), e + e.T)


@needs_gpu
def test_integer_division_and_power_checks(gpu):
    for dtype in ("int8", "uint8", "int32", "int64"):
        a = _dev(gpu, np.array([7, -7, 5][: 3 if dtype != "uint8" else 1], dtype))
        for op in ("floor_divide", "remainder", "fmod"):
            with pytest.raises(ZeroDivisionError):
                gpu.binary(op, a, _dev(gpu, np.zeros(a.shape, dtype)))
            with pytest.raises(ZeroDivisionError):
                gpu.binary(op, a, gpu.scalar_array(0, dtype))
    with pytest.raises(ValueError):
        gpu.binary("pow", _dev(gpu, np.array([2, 3], np.int16)), _dev(gpu, np.array([1, -1], np.int16)))
    h = np.array([-128, 127, -7, 7], np.int8)
    for op in ("floor_divide", "remainder", "fmod"):  # INT_MIN / -1 wraps like the CPU
        _check(gpu.to_numpy(gpu.binary(op, _dev(gpu, h), gpu.scalar_array(-1, np.int8))),
               CPU.binary(op, h, np.asarray(-1, np.int8)), op)


@needs_gpu
@pytest.mark.parametrize("dtype", K.NUMERIC + ("float16",))
def test_where_matches_cpu(gpu, dtype):
    rng = np.random.default_rng(2)
    cond = rng.random((4, 5)) < 0.5
    a, b = _values(dtype, (4, 5), rng), _values(dtype, (5,), rng)
    s = np.asarray(_values(dtype, (), rng))
    for (nc, dc), (na, da) in zip(_layouts(gpu, cond), _layouts(gpu, a)):
        _check(gpu.to_numpy(gpu.where(dc, da, _dev(gpu, b))), CPU.where(cond, a, b), f"{dtype} {nc}/{na}")
    dc, da = _dev(gpu, cond), _dev(gpu, a)
    _check(gpu.to_numpy(gpu.where(dc, da, gpu.scalar_array(s[()], dtype))), CPU.where(cond, a, s), dtype)
    _check(gpu.to_numpy(gpu.where(dc, np.asarray(s), da)), CPU.where(cond, s, a), dtype)
    _check(gpu.to_numpy(gpu.where(_dev(gpu, cond[:0]), _dev(gpu, a[:0]), gpu.scalar_array(s[()], dtype))),
           CPU.where(cond[:0], a[:0], s), dtype)


@needs_gpu
@pytest.mark.parametrize("dtype", K.NUMERIC)
def test_clamp_matches_cpu(gpu, dtype):
    rng = np.random.default_rng(3)
    a, lo, hi = (_values(dtype, (4, 5), rng) for _ in range(3))
    row = _values(dtype, (5,), rng)
    s_lo, s_hi = np.sort(np.array([_values(dtype, (), rng), _values(dtype, (), rng)]))
    for bounds in ((lo, hi), (lo, None), (None, hi), (row, None), (np.asarray(s_lo), np.asarray(s_hi)),
                   (np.asarray(s_hi), np.asarray(s_lo)), (None, np.asarray(s_hi)), (row, np.asarray(s_hi))):
        expected = CPU.clamp(a, *bounds)
        for name, da in _layouts(gpu, a):
            dev = [None if x is None else gpu.scalar_array(x[()], dtype) if x.ndim == 0 else _dev(gpu, x)
                   for x in bounds]
            _check(gpu.to_numpy(gpu.clamp(da, *dev)), expected, f"clamp {dtype} {name}")
    if dtype.startswith("float"):
        nan = np.asarray(np.nan, dtype)
        _check(gpu.to_numpy(gpu.clamp(_dev(gpu, a), gpu.scalar_array(nan[()], dtype), None)),
               CPU.clamp(a, nan, None), "nan bound")


@needs_gpu
@pytest.mark.parametrize("dtype", ("float32", "float64"))
def test_lerp_and_nan_to_num_match_cpu(gpu, dtype):
    rng = np.random.default_rng(4)
    s, e, w = (_values(dtype, (4, 5), rng) for _ in range(3))
    for (ns, ds), (ne, de) in zip(_layouts(gpu, s), _layouts(gpu, e)[::-1]):
        _check(gpu.to_numpy(gpu.lerp(ds, de, _dev(gpu, w))), CPU.lerp(s, e, w), f"lerp {ns}/{ne}")
        for wv in (0.25, 0.75, 1.0):
            wa = np.asarray(wv, dtype)
            _check(gpu.to_numpy(gpu.lerp(ds, de, gpu.scalar_array(wv, dtype))), CPU.lerp(s, e, wa), f"lerp {wv}")
        _check(gpu.to_numpy(gpu.nan_to_num(ds, 0.5, 9.0, -9.0)), CPU.nan_to_num(s, 0.5, 9.0, -9.0), ns)
    big = float(np.finfo(dtype).max)
    _check(gpu.to_numpy(gpu.nan_to_num(_dev(gpu, s), 0.0, big, -big)), CPU.nan_to_num(s, 0.0, big, -big),
           "finfo bounds")
    _check(gpu.to_numpy(gpu.lerp(_dev(gpu, s[0]), _dev(gpu, e), np.asarray(0.3, dtype))),
           CPU.lerp(s[0], e, np.asarray(0.3, dtype)), "broadcast start, CPU weight")
