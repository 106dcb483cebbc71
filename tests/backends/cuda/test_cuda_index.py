"""CUDA indexing/sort/unique: host-side logic (everywhere) and every method against the CPU backend (GPU only).

Without a GPU, a fake runtime runs the host code of every method: it checks
that each kernel asked for exists in the rendered source of its module and
that the argument format and the arguments launched match its parameters.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from neurarust.backends.cpu import CPUBackend
from neurarust.backends.cuda import codegen, unavailable_reason
from neurarust.backends.cuda.array import CUDAArray, contiguous_strides
from neurarust.backends.cuda.index import advanced_plan
from neurarust.backends.cuda.runtime import DeviceRuntime

needs_gpu = pytest.mark.skipif(unavailable_reason() is not None, reason=f"CUDA unavailable: {unavailable_reason()}")


# ------------------------------------------------------------ fake runtime
class _Block:
    def __init__(self, ptr, nbytes):
        self.ptr, self.nbytes, self.device_index = ptr, nbytes, 0


def _param_kinds(source: str, name: str):
    match = re.search(r"void\s+" + name + r"\s*\((.*?)\)\s*\{", source, re.S)
    assert match, f"kernel {name} is not in its module"
    kinds = []
    for p in match.group(1).split(","):
        p = " ".join(p.split())
        kinds.append("P" if "*" in p else "i" if p.startswith("int ") else "d" if p.startswith("double")
                     else "f" if p.startswith("float ") else "q")
    return kinds


class FakeRuntime:
    """Allocations and launches without a GPU; downloads read zeros (so no count, no index error)."""

    def __init__(self):
        self.next_ptr, self.launches, self.seed, self.philox_offset = 1 << 20, [], 0, 0
        self.sm_count, self.max_resident_blocks = 132, 132 * 32

    def alloc(self, nbytes):
        block = _Block(self.next_ptr, nbytes)
        self.next_ptr += -(-max(nbytes, 1) // 512) * 512
        return block

    def function(self, family, key, name, fmt):
        kinds = _param_kinds(codegen.module_source(family, key), name)
        assert len(kinds) == len(fmt), f"{name}: format {fmt!r} for {len(kinds)} parameters"
        for k, f in zip(kinds, fmt):
            assert f == k or (f == "P" and k == "q"), f"{name}: format {fmt!r} does not match {kinds}"
        return (name, fmt)

    def _check(self, fn, args):
        name, fmt = fn
        assert len(args) == len(fmt), f"{name}: {len(args)} arguments for format {fmt!r}"
        for a, f in zip(args, fmt):
            if f == "P":
                assert isinstance(a, int) and a >= 0, (name, a)
            elif f in "qi":
                bound = 2 ** 63 if f == "q" else 2 ** 31
                assert isinstance(a, (int, np.integer)) and -bound <= int(a) < bound, (name, f, a)
                assert not isinstance(a, np.integer) or a.dtype == (np.int64 if f == "q" else np.int32), (name, f, a)
            else:
                assert isinstance(a, (float, np.floating)), (name, f, a)
        self.launches.append(name)

    def launch(self, fn, n, *args, block=256):
        if n > 0:
            self._check(fn, args)

    def launch_grid(self, fn, grid, block, *args):
        assert 1 <= block[0] <= 1024 and grid[0] >= 1
        self._check(fn, args)

    def memset_zero(self, ptr, nbytes):
        pass

    def copy_device(self, dst, src, nbytes):
        pass

    def upload(self, ptr, host, non_blocking=False):
        pass

    def download(self, host, ptr):
        host[...] = 0

    next_philox = DeviceRuntime.next_philox
    manual_seed = DeviceRuntime.manual_seed


def fake_backend():
    from neurarust.backends.cuda.backend import CUDABackend

    b = object.__new__(CUDABackend)
    b.device, b.rt = None, FakeRuntime()
    return b


def _arr(b, shape, dtype=np.float32, strides=None, offset=0):
    """A (garbage-filled) fake-device array with the given layout."""
    storage = b.empty((int(np.prod(shape)) * 4 + offset + 8,), dtype)
    return CUDAArray(storage.storage, shape, contiguous_strides(shape) if strides is None else strides, offset, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64, np.bool_, np.uint8])
def test_every_method_launches_kernels_that_match_their_signatures(dtype):
    b = fake_backend()
    a = _arr(b, (3, 4), dtype)
    t = _arr(b, (4, 3), dtype, strides=(1, 4))               # transposed
    big = _arr(b, (2,) * 10, dtype)                          # more dims than a kernel takes
    idx = _arr(b, (2,), np.int64)
    idx2 = _arr(b, (3, 2), np.int64)
    b.index_select(a, 1, idx)
    b.index_select(_arr(b, (), dtype), 0, _arr(b, (1,), np.int64))
    b.gather(t, 1, idx2)
    for reduce in ("none", "add", "multiply", "amax", "amin"):
        b.scatter_(a, 1, idx2, t, reduce)
    b.index_add_(a, 0, idx, _arr(b, (2, 4), dtype), 2.0 if dtype != np.bool_ else 1.0)
    b.take(t, idx2)
    b.take(big, idx)
    b.masked_select(a, _arr(b, (3, 4), np.bool_))
    b.masked_fill_(t, _arr(b, (3,), np.bool_), np.array(1, dtype))
    b.nonzero(big)
    b.cat([a, _arr(b, (2, 4), dtype)], 0, np.dtype(dtype))
    b.flip(t, (0, 1))
    b.tri(big, 1, True)
    b.getitem(a, (idx, slice(None, None, -1)))
    b.getitem(a, (slice(1, 3), None, idx2))
    b.getitem(a, (np.array([0, -1]), Ellipsis, idx))
    b.getitem(a, (_arr(b, (3, 4), np.bool_),))
    b.getitem(a, (np.array([True, False, True]),))
    b.getitem(a, (np.array(True),))
    for acc in (False, True):
        b.index_put_(a, (idx2, idx), _arr(b, (1, 3, 2), dtype), acc)
        b.index_put_(a, (np.array([1]),), _arr(b, (), dtype), acc)
    for n in (1, 5, 2048, 3000):
        for desc in (False, True):
            b.sort(_arr(b, (2, n), dtype), 1, desc, True)
    b.sort(t, 0, False, True)
    b.unique(a, True, True, True, None)
    b.unique(_arr(b, (), dtype), True, False, False, None)
    names = set(b.rt.launches)
    assert {f"nr_isort_global_{np.dtype(dtype).name}", f"nr_isort_small_{np.dtype(dtype).name}"} <= names


def test_advanced_plan_follows_numpy():
    dims = advanced_plan((3, 4, 5), (np.array([0]), None, Ellipsis, slice(1, 3)))
    assert [d[0] for d in dims] == ["index", "basic", "basic", "basic"]
    assert dims[1][1:] == (1, 0, 1, None) and dims[3][1:] == (2, 1, 1, 2)
    dims = advanced_plan((3, 4), (np.ones((3, 4), bool),))
    assert [(d[0], d[2], d[3]) for d in dims] == [("index", 0, 0), ("index", 1, 1)]
    with pytest.raises(IndexError, match="too many indices"):
        advanced_plan((3,), (np.array([0]), np.array([0])))
    with pytest.raises(IndexError, match="boolean index did not match"):
        advanced_plan((3,), (np.array([True, False]),))


def test_host_index_arrays_are_checked_before_any_launch():
    b = fake_backend()
    a = _arr(b, (3, 4))
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 1 with size 4"):
        b.getitem(a, (slice(None), np.array([0, 5])))
    with pytest.raises(ValueError, match="shape mismatch"):
        b.index_put_(a, (np.array([0, 1]),), _arr(b, (3, 4)), False)


# --------------------------------------------------------- against the CPU
if unavailable_reason() is None:
    import neurarust as nr
    from neurarust.device import backend_for

    CU = backend_for(nr.device("cuda"))
CPU = CPUBackend(None)
DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.int16, np.int8, np.uint8, np.bool_]


def _up(host):
    return CU.from_numpy(np.asarray(host))


def _sample(shape, dtype, rng, low=-5, high=5):
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    return rng.integers(low, high, shape).astype(dtype)


def _cuda_view(host_base, view):
    """The CUDA array with ``view``'s layout over an uploaded copy of ``host_base`` (which it views)."""
    base = _up(host_base)
    isz = host_base.itemsize
    offset = (view.__array_interface__["data"][0] - host_base.__array_interface__["data"][0]) // isz
    return CUDAArray(base.storage, view.shape, tuple(s // isz for s in view.strides), offset, view.dtype)


def _layouts(shape, dtype, rng):
    """(numpy view, CUDA view) pairs: contiguous, transposed, sliced with a negative step, broadcast."""
    base = _sample(tuple(n * 2 for n in shape) or (1,), dtype, rng)
    out = [np.ascontiguousarray(base[tuple(slice(0, n) for n in shape)]) if shape else base.reshape(())[()]]
    out[0] = np.asarray(out[0])
    pairs = [(out[0], _up(out[0]))]
    if len(shape) >= 2:
        t = np.ascontiguousarray(base[tuple(slice(0, n) for n in shape[::-1])])
        pairs.append((t.T, _cuda_view(t, t.T)))
        v = base[tuple(slice(None, None, 2) for _ in shape[:-1]) + (slice(shape[-1] - 1, None, -1),)][
            tuple(slice(0, n) for n in shape)]
        pairs.append((v, _cuda_view(base, v)))
        row = np.ascontiguousarray(base[0, :shape[-1]])
        bc = np.broadcast_to(row, shape)
        pairs.append((bc, _cuda_view(row, bc)))
    return pairs


def _same(cuda_arr, expected):
    got = CU.to_numpy(cuda_arr)
    assert got.shape == np.shape(expected) and got.dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(got, expected)


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_gathers_match_cpu(dtype):
    rng = np.random.default_rng(0)
    for x, cx in _layouts((4, 5), dtype, rng):
        idx = rng.integers(0, 5, 7)
        _same(CU.index_select(cx, 1, _up(idx)), CPU.index_select(x, 1, idx))
        g = rng.integers(0, 4, (6, 3))
        _same(CU.gather(cx, 0, _up(g)), CPU.gather(x, 0, g))
        flat = rng.integers(0, 20, (2, 3))
        _same(CU.take(cx, _up(flat)), CPU.take(x, flat))
        mask = rng.random((4, 5)) < 0.4
        _same(CU.masked_select(cx, _up(mask)), CPU.masked_select(x, mask))
        _same(CU.nonzero(cx), CPU.nonzero(x))
        _same(CU.flip(cx, (0, 1)), CPU.flip(x, (0, 1)))
        for diag, upper in ((0, True), (-1, False), (2, True)):
            _same(CU.tri(cx, diag, upper), CPU.tri(x, diag, upper))
    zero_d = np.asarray(_sample((), dtype, rng))
    _same(CU.nonzero(_up(zero_d)), CPU.nonzero(zero_d))
    empty = np.zeros((0, 3), dtype)
    _same(CU.nonzero(_up(empty)), CPU.nonzero(empty))


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", ["none", "add", "multiply", "amax", "amin"])
def test_scatter_matches_cpu(dtype, reduce):
    rng = np.random.default_rng(1)
    unique_rows = reduce == "none"  # assignment with duplicates keeps an arbitrary value on the GPU
    for x, cx in _layouts((4, 5), dtype, rng):
        if x.strides[0] == 0:
            continue  # a broadcast view cannot be written
        idx = np.stack([rng.permutation(4)[:3] if unique_rows else rng.integers(0, 4, 3) for _ in range(5)], 1)
        src = _sample((3, 5), dtype, rng, -3, 4)
        expected = x.copy()
        if dtype == np.float16 and reduce != "none":
            e32 = expected.astype(np.float32)
            CPU.scatter_(e32, 0, idx, src.astype(np.float32), reduce)
            expected = e32.astype(np.float16)
        else:
            CPU.scatter_(expected, 0, idx, src, reduce)
        CU.scatter_(cx, 0, _up(idx), _up(src), reduce)
        np.testing.assert_allclose(CU.to_numpy(cx).astype(np.float64), expected.astype(np.float64), rtol=1e-5)


@needs_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int16, np.bool_])
def test_index_add_and_index_put_match_cpu(dtype):
    rng = np.random.default_rng(2)
    x = _sample((5, 3), dtype, rng)
    idx = np.array([0, 4, 0, 2])
    src = _sample((4, 3), dtype, rng)
    alpha = 1.0 if dtype == np.bool_ else 3.0
    expected = x.copy()
    CPU.index_add_(expected, 0, idx, src, alpha)
    cx = _up(x)
    CU.index_add_(cx, 0, _up(idx), _up(src), alpha)
    np.testing.assert_allclose(CU.to_numpy(cx).astype(np.float64), expected.astype(np.float64), rtol=1e-6)
    for key in [(np.array([0, 4, 0]),), (np.array([1, -1]), np.array([2])), (x[:, 0] > 0,)]:
        vals = _sample((1,) + np.broadcast_to(x, x.shape)[key].shape[1:], dtype, rng)
        expected = x.copy()
        CPU.index_put_(expected, key, vals, True)
        cx = _up(x)
        ckey = tuple(_up(k) for k in key)
        CU.index_put_(cx, ckey, _up(vals), True)
        np.testing.assert_allclose(CU.to_numpy(cx).astype(np.float64), expected.astype(np.float64), rtol=1e-6)


@needs_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_, np.float16])
def test_getitem_and_setitem_match_numpy(dtype):
    rng = np.random.default_rng(3)
    for x, cx in _layouts((4, 5), dtype, rng):
        keys = [(np.array([3, -1, 0]),), (slice(None), np.array([[0, 4], [1, 1]])),
                (np.array([0, 2]), slice(None, None, -2), ), (np.array([1, 2]), np.array([[4], [0]])),
                (np.array([0, 1]), None, np.array([2, 3])), (Ellipsis, np.array([1])), (x != 0,),
                (np.array(True),), (np.array(False), slice(1, 3)), (np.array([True, False, True, True]), 0)]
        for key in keys:
            key = tuple(k if not isinstance(k, int) else np.array(k) for k in key)
            ckey = tuple(_up(k) if isinstance(k, np.ndarray) else k for k in key)
            _same(CU.getitem(cx, ckey), CPU.getitem(x, key))
            _same(CU.getitem(cx, key), CPU.getitem(x, key))
            # One scalar value: duplicate indices then write equal values, so the result is determined.
            value = np.asarray(_sample((), dtype, rng))
            expected, cy = x.copy(), CU.contiguous(cx)
            CPU.index_put_(expected, key, value, False)
            CU.index_put_(cy, ckey, _up(value), False)
            _same(cy, expected)
    cx = _up(np.zeros((3, 4), dtype))
    with pytest.raises(IndexError, match="out of bounds"):
        CU.getitem(cx, (_up(np.array([0, 3])),))
    with pytest.raises(IndexError, match="out of bounds"):
        CU.index_put_(cx, (slice(None), _up(np.array([-5]))), CU.scalar_array(1, dtype), False)
    _same(cx, np.zeros((3, 4), dtype))


@needs_gpu
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 7, 2048, 2049, 5000])
def test_sort_matches_cpu_stable_with_nan_last(dtype, n):
    rng = np.random.default_rng(4)
    x = _sample((3, n), dtype, rng, -4, 4)  # many ties: stability shows
    if np.dtype(dtype).kind == "f":
        x[0, ::3] = np.nan
        x[1, ::5] = -0.0
        x[2, :2] = [np.inf, -np.inf][: min(n, 2)]
    for axis, arr in ((1, x), (0, np.ascontiguousarray(x.T))):
        for desc in (False, True):
            ev, ei = CPU.sort(arr, axis, desc, True)
            cv, ci = CU.sort(_up(arr), axis, desc, True)
            _same(ci, ei)
            np.testing.assert_array_equal(CU.to_numpy(cv), ev)


@needs_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_, np.float16])
def test_unique_and_cat_match_cpu(dtype):
    rng = np.random.default_rng(5)
    for shape in [(3, 4), (), (0,), (3000,)]:
        x = _sample(shape, dtype, rng, -3, 3)
        if np.dtype(dtype).kind == "f" and x.size > 2:
            x.reshape(-1)[:2] = np.nan
        expected = CPU.unique(x, True, True, True, None)
        got = CU.unique(_up(x), True, True, True, None)
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(CU.to_numpy(g), e)
        _same(CU.unique(_up(x), True, False, False, None), CPU.unique(x, True, False, False, None))
    x = _sample((3, 4), dtype, rng)
    _same(CU.unique(_up(x), True, False, True, 0)[1], CPU.unique(x, True, False, True, 0)[1])
    parts = [x, np.ascontiguousarray(x[:1]), np.zeros((0, 4), dtype)]
    _same(CU.cat([_up(p) for p in parts], 0, np.dtype(np.float64)), CPU.cat(parts, 0, np.dtype(np.float64)))
