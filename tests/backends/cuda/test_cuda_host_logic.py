"""The CUDA backend's host-side logic, tested without a GPU: layouts, GEMM plans, the allocator."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import neurarust as nr
from neurarust.backends.cuda.allocator import CachingAllocator, round_size
from neurarust.backends.cuda.array import (CUDAArray, broadcast_strides, contiguous_strides,
                                           merge_dims)
from neurarust.backends.cuda.linalg import column_major_operand, gemm_plan


def _offsets(shape, strides):
    """Element offsets of a layout in C order of its logical indices."""
    return [sum(i * s for i, s in zip(idx, strides)) for idx in itertools.product(*map(range, shape))]


@pytest.mark.parametrize("shape,strides", [
    ((2, 3, 4), [(12, 4, 1), (0, 0, 1)]),
    ((2, 3, 4), [(1, 2, 6), (12, 4, 1)]),       # transposed operand: nothing merges
    ((4, 1, 5), [(5, 7, 1), (5, 0, 1)]),         # size-1 dims are dropped whatever their stride
    ((3, 0, 2), [(0, 2, 1), (2, 2, 1)]),
    ((6,), [(2,), (-1,)]),
    ((), [(), ()]),
])
def test_merge_dims_keeps_every_operands_element_order(shape, strides):
    mshape, mstrides = merge_dims(shape, strides)
    assert len(mshape) <= len(shape)
    for st, mst in zip(strides, mstrides):
        assert _offsets(mshape, mst) == _offsets(shape, st)


def test_merge_dims_collapses_contiguous_operands():
    assert merge_dims((2, 3, 4), [contiguous_strides((2, 3, 4))] * 3) == ((24,), [(1,), (1,), (1,)])


def test_broadcast_strides_zero_on_broadcast_dims():
    assert broadcast_strides((3, 1), (1, 1), (2, 3, 4)) == (0, 1, 0)


class _FakeStorage:
    ptr, nbytes, device_index = 4096, 1024, 0


def test_cuda_array_layout_queries():
    a = CUDAArray(_FakeStorage(), (3, 4), (1, 3), 2, np.float32)
    assert (a.ndim, a.size, a.itemsize, a.ptr) == (2, 12, 4, 4096 + 8)
    assert not a.is_c_contiguous()
    assert CUDAArray(_FakeStorage(), (3, 1, 4), (4, 99, 1), 0, np.float32).is_c_contiguous()
    assert CUDAArray(_FakeStorage(), (3,), (-1,), 5, np.float32).span() == (3, 6)


def _matmul_via_plan(a, b):
    """Run a plan with NumPy playing cuBLAS (column-major, op flags, lds, batch strides)."""
    plan = gemm_plan(a.shape, tuple(s // a.itemsize for s in a.strides),
                     b.shape, tuple(s // b.itemsize for s in b.strides))
    assert isinstance(plan, tuple), plan
    batch, (op_a, ld_a, sa), (op_b, ld_b, sb) = plan
    m, k = a.shape[-2:]
    n = b.shape[-1]
    flat_a = np.lib.stride_tricks.as_strided(a, (a.size * 4 + 64,), (a.itemsize,))  # raw memory of a
    flat_b = np.lib.stride_tricks.as_strided(b, (b.size * 4 + 64,), (b.itemsize,))
    out = np.empty((batch, m, n))

    def colmajor(flat, start, rows, cols, ld):
        return np.array([[flat[start + r + c * ld] for c in range(cols)] for r in range(rows)])

    for i in range(batch):
        # cuBLAS computes C^T (n x m) = op_b(B') @ op_a(A') with the swapped operands.
        bt = colmajor(flat_b, i * sb, n, k, ld_b) if op_b == 0 else colmajor(flat_b, i * sb, k, n, ld_b).T
        at = colmajor(flat_a, i * sa, k, m, ld_a) if op_a == 0 else colmajor(flat_a, i * sa, m, k, ld_a).T
        out[i] = (bt @ at).T
    return out.reshape(a.shape[:-1] + (n,))


@pytest.mark.parametrize("case", ["plain", "a_transposed", "b_transposed", "both", "batched", "broadcast_b",
                                  "row_vector"])
def test_gemm_plan_reads_operands_without_copies(case):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 5))
    b = rng.standard_normal((5, 4))
    if case in ("a_transposed", "both"):
        a = np.ascontiguousarray(a.T).T
    if case in ("b_transposed", "both"):
        b = np.ascontiguousarray(b.T).T
    if case == "batched":
        a, b = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 5, 4))
    if case == "broadcast_b":
        a = rng.standard_normal((2, 3, 5))
        b = np.broadcast_to(b, (2, 5, 4))
    if case == "row_vector":
        a = rng.standard_normal((1, 5))
    np.testing.assert_allclose(_matmul_via_plan(a, b), a @ b, rtol=1e-12)


def test_gemm_plan_asks_for_copies_it_needs():
    assert gemm_plan((3, 4), (8, 2), (4, 5), (5, 1)) == "copy_a"     # every other element
    assert gemm_plan((3, 4), (4, 1), (4, 5), (10, 2)) == "copy_b"
    assert gemm_plan((2, 2, 3, 4), (12, 24, 4, 1), (2, 2, 4, 5), (40, 20, 5, 1)) is None  # batch dims do not merge
    assert column_major_operand(1, 1, 0, 0) == (0, 1)


def test_caching_allocator_reuses_blocks_and_keeps_statistics():
    live, freed = {}, []
    counter = itertools.count(1)

    def malloc(n):
        h = next(counter)
        live[h] = n
        return h

    alloc = CachingAllocator(0, malloc, lambda h: freed.append(live.pop(h)), lambda h: h * 1 << 20)
    a = alloc.allocate(1000)
    assert a.nbytes == round_size(1000) == 1024
    assert alloc.allocated == alloc.peak_allocated == 1024
    ptr = a.ptr
    del a
    assert (alloc.allocated, alloc.cached) == (0, 1024)
    b = alloc.allocate(700)  # same size class: the cached block comes back
    assert b.ptr == ptr and len(live) == 1
    big = alloc.allocate(3 << 20)
    assert big.nbytes == 4 << 20 and alloc.peak_allocated == 1024 + (4 << 20)
    del big
    alloc.reset_peak()
    assert alloc.peak_allocated == 1024
    alloc.empty_cache()
    assert freed == [4 << 20] and alloc.cached == 0 and alloc.reserved == 1024


def test_caching_allocator_retries_after_emptying_the_cache_then_names_the_sizes():
    budget = {"left": 2048}
    handles = itertools.count(1)

    def malloc(n):
        if n > budget["left"]:
            raise MemoryError("out of memory")
        budget["left"] -= n
        return next(handles)

    def free(h):
        budget["left"] += 1024

    alloc = CachingAllocator(0, malloc, free, lambda h: h)
    a, b = alloc.allocate(1024), alloc.allocate(1024)
    del a  # cached, not returned: the next request of another size must empty the cache
    c = alloc.allocate(512)
    assert c.nbytes == 512
    with pytest.raises(nr.OutOfMemoryError, match=r"tried to allocate 1\.00 MiB.*cuda:0") as info:
        alloc.allocate(1 << 20)
    assert isinstance(info.value, RuntimeError)
    del b, c


def test_cuda_api_without_a_gpu():
    if nr.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert nr.cuda.device_count() == 0
    assert nr.cuda.memory_allocated() == nr.cuda.max_memory_allocated() == nr.cuda.memory_reserved() == 0
    nr.cuda.empty_cache()
    nr.cuda.reset_peak_memory_stats()
    nr.cuda.manual_seed(3)
    with pytest.raises(nr.DeviceError, match="not available"):
        nr.cuda.synchronize()
    with pytest.raises(nr.DeviceError, match="not available"):
        nr.ones(2).cuda()
    assert nr.device("cuda") != nr.device("cuda:0") and str(nr.device("cuda:1")) == "cuda:1"


class _RecordingRuntime:
    """Enough of DeviceRuntime for the memory methods: blocks from a fake allocator, uploads recorded."""

    def __init__(self):
        self.uploads = []
        self.allocator = CachingAllocator(0, lambda n: n, lambda h: None, lambda h: 1 << 20)

    def alloc(self, nbytes):
        return self.allocator.allocate(nbytes)

    def upload(self, ptr, host, non_blocking=False):
        self.uploads.append((ptr, host.shape, host.flags.c_contiguous, non_blocking))


def _host_only_backend():
    from neurarust.backends.cuda.backend import CUDABackend

    backend = object.__new__(CUDABackend)  # no driver: only the host-side bookkeeping runs
    backend.rt = _RecordingRuntime()
    return backend


@pytest.mark.parametrize("host", [np.array(2.5, np.float32), np.arange(6.0).reshape(2, 3).T, np.zeros((0, 3))])
def test_from_numpy_keeps_the_shape_and_uploads_contiguous_data(host):
    backend = _host_only_backend()
    arr = backend.from_numpy(host)
    assert arr.shape == host.shape and arr.dtype == host.dtype and arr.is_c_contiguous()
    (ptr, shape, contiguous, _), = backend.rt.uploads
    assert ptr == arr.ptr and shape == host.shape and contiguous


def test_dense_copies_only_non_contiguous_arrays():
    backend = _host_only_backend()
    copies = []
    backend.contiguous = lambda a: copies.append(a) or a
    a = backend.empty((3, 4), np.float32)
    assert backend._dense(a) is a and backend._dense(None) is None and not copies
    t = backend.permute(a, (1, 0))
    backend._dense(t)
    assert copies == [t]
    assert backend.reshape_view(a, (2, -1)).shape == (2, 6)
    assert backend.storage_of(CUDAArray(a.storage, (2,), (1,), 5, a.dtype)).offset == 5
