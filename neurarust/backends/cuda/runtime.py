"""The driver side of the CUDA backend: pycuda, contexts, memory, compiled kernels.

Everything that calls into ``pycuda.driver`` lives here or in ``blas.py``.
pycuda is imported lazily: NeuraRust installs and imports without it.

One :class:`DeviceRuntime` per GPU holds the device's primary context, a
caching allocator, the compiled-kernel cache and the random seed.  All work
is queued on the context's default stream, in order, so no event
bookkeeping is needed between kernels, copies and freed blocks.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ...errors import DeviceError
from . import codegen
from .allocator import CachingAllocator

__all__ = ["unavailable_reason", "device_count", "runtime_for", "DeviceRuntime", "grid_size",
           "current_device", "set_device", "manual_seed_all", "initialized_runtimes"]

_driver = None
_current_index = 0
_default_seed = 0
_init_error: Optional[str] = None
_runtimes: Dict[int, "DeviceRuntime"] = {}
_state = threading.local()
_lock = threading.Lock()

BLOCK = 256


def _load_driver():
    """``pycuda.driver``, initialised; or None with the reason kept in ``_init_error``."""
    global _driver, _init_error
    if _driver is not None or _init_error is not None:
        return _driver
    try:
        import pycuda.driver as driver  # optional dependency: the [cuda] extra
    except ImportError as exc:
        _init_error = f"pycuda is not installed (pip install 'neurarust[cuda]'): {exc}"
        return None
    except OSError as exc:  # libcuda.so could not be loaded
        _init_error = f"the CUDA driver library could not be loaded ({exc})"
        return None
    try:
        driver.init()
        if driver.Device.count() == 0:
            _init_error = "no CUDA device was found"
            return None
    except Exception as exc:  # pycuda raises its own error types for driver failures
        _init_error = f"the CUDA driver could not be initialised ({exc})"
        return None
    _driver = driver
    return driver


def unavailable_reason() -> Optional[str]:
    """Why CUDA cannot be used (pycuda missing, no driver, no device), or None if it can."""
    if os.environ.get("NEURARUST_DISABLE_CUDA") == "1":
        return "CUDA is disabled by NEURARUST_DISABLE_CUDA=1"
    _load_driver()
    return _init_error


def device_count() -> int:
    if unavailable_reason() is not None:
        return 0
    return _driver.Device.count()


def current_device() -> int:
    """The index that ``"cuda"`` without one stands for (0 until ``set_device``)."""
    return _current_index


def set_device(index: int) -> None:
    global _current_index
    if index < 0:
        return  # torch ignores negative indices here
    runtime_for(index)  # validates the index and says why CUDA is unavailable
    _current_index = index


def manual_seed_all(seed: int) -> None:
    """Seed every CUDA device's generator, now and for runtimes created later."""
    global _default_seed
    _default_seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    for rt in list(_runtimes.values()):
        rt.manual_seed(seed)


def initialized_runtimes():
    """The runtimes created so far (memory statistics never start a device)."""
    return dict(_runtimes)


def runtime_for(index: int) -> "DeviceRuntime":
    """The runtime of ``cuda:index`` (created on first use)."""
    rt = _runtimes.get(index)
    if rt is not None:
        return rt
    reason = unavailable_reason()
    if reason is not None:
        raise DeviceError(f"device 'cuda:{index}' is not available: {reason}")
    count = _driver.Device.count()
    if not 0 <= index < count:
        raise DeviceError(f"device 'cuda:{index}' is not available: there are {count} CUDA device(s) "
                          f"(valid indices 0..{count - 1})")
    with _lock:
        rt = _runtimes.get(index)
        if rt is None:
            rt = _runtimes[index] = DeviceRuntime(index)
    return rt


def grid_size(n: int, rt: "DeviceRuntime", block: int = BLOCK) -> int:
    """Blocks for a grid-stride loop over ``n`` items: enough to fill the GPU, no more."""
    return max(1, min(-(-n // block), rt.max_resident_blocks))


class DeviceRuntime:
    """One GPU: its context, allocator, kernel cache and random seed."""

    def __init__(self, index: int) -> None:
        drv = _driver
        self.index = index
        self.device = drv.Device(index)
        self.context = self.device.retain_primary_context()
        self.name = self.device.name()
        attr = drv.device_attribute
        self.sm_count = self.device.get_attribute(attr.MULTIPROCESSOR_COUNT)
        self.max_resident_blocks = self.sm_count * 32
        self.compute_capability = self.device.compute_capability()
        self.activate()
        oom = tuple(e for e in (getattr(drv, "MemoryError", None), MemoryError) if e is not None)
        self.allocator = CachingAllocator(index, self._raw_malloc, self._raw_free, int, oom,
                                          self._describe_memory)
        self._modules: Dict[Tuple[str, tuple], Any] = {}
        self._functions: Dict[Tuple[str, tuple, str], Any] = {}
        self._pinned_in_flight = []
        self.seed = _default_seed
        self.philox_offset = 0
        self._blas = None

    # ---------------------------------------------------------------- context
    def activate(self) -> None:
        """Make this device's context current on the calling thread (cheap when it already is)."""
        if getattr(_state, "current", None) is self:
            return
        previous = getattr(_state, "current", None)
        if previous is not None:
            previous.context.pop()
        self.context.push()
        _state.current = self

    def synchronize(self) -> None:
        self.activate()
        _driver.Context.synchronize()
        self._pinned_in_flight.clear()

    # ----------------------------------------------------------------- memory
    def _raw_malloc(self, nbytes: int):
        self.activate()
        return _driver.mem_alloc(nbytes)

    def _raw_free(self, handle) -> None:
        self.activate()
        handle.free()

    def _describe_memory(self) -> str:
        try:
            free, total = _driver.mem_get_info()
        except Exception:  # the device may be in an error state already
            return ""
        return f" The device has {free / 2**30:.2f} GiB free of {total / 2**30:.2f} GiB."

    def alloc(self, nbytes: int):
        self.activate()
        return self.allocator.allocate(nbytes)

    def upload(self, ptr: int, host: np.ndarray, non_blocking: bool = False) -> None:
        """Copy a C-contiguous host array to ``ptr``; async only from page-locked memory."""
        self.activate()
        if host.nbytes == 0:
            return
        if non_blocking and is_pagelocked(host):
            _driver.memcpy_htod_async(ptr, host, None)
            self._pinned_in_flight.append(host)  # keep the source alive until the copy has run
            if len(self._pinned_in_flight) > 64:
                self.synchronize()
        else:
            _driver.memcpy_htod(ptr, host)

    def download(self, host: np.ndarray, ptr: int) -> None:
        """Copy into a C-contiguous host array (waits for queued work)."""
        self.activate()
        if host.nbytes:
            _driver.memcpy_dtoh(host, ptr)

    def copy_device(self, dst_ptr: int, src_ptr: int, nbytes: int) -> None:
        self.activate()
        if nbytes:
            _driver.memcpy_dtod_async(dst_ptr, src_ptr, nbytes, None)

    def memset_zero(self, ptr: int, nbytes: int) -> None:
        self.activate()
        if nbytes:
            _driver.memset_d8_async(ptr, 0, nbytes, None)

    def pagelocked_empty(self, shape, np_dtype) -> np.ndarray:
        self.activate()
        return _driver.pagelocked_empty(tuple(shape), np_dtype)

    # ---------------------------------------------------------------- kernels
    def function(self, family: str, key: tuple, name: str, arg_format: str):
        """The prepared kernel ``name`` of module ``(family, key)``, compiled once per context."""
        fkey = (family, key, name)
        fn = self._functions.get(fkey)
        if fn is not None:
            return fn
        mkey = (family, key)
        module = self._modules.get(mkey)
        if module is None:
            module = self._modules[mkey] = self._compile(codegen.module_source(family, key), family, key)
        fn = module.get_function(name)
        fn.prepare(arg_format)
        self._functions[fkey] = fn
        return fn

    def _compile(self, source: str, family: str, key: tuple):
        self.activate()
        from pycuda.compiler import SourceModule  # optional dependency

        try:
            return SourceModule(source, options=["-O3"], no_extern_c=True)
        except Exception as exc:  # a compile error is a bug of ours: say which kernel
            raise DeviceError(f"CUDA kernel module {family}{key} failed to compile: {exc}") from exc

    def launch(self, fn, n: int, *args, block: int = BLOCK) -> None:
        """Run a grid-stride kernel over ``n`` items (nothing to do when ``n`` is 0)."""
        if n <= 0:
            return
        self.activate()
        fn.prepared_async_call((grid_size(n, self, block), 1, 1), (block, 1, 1), None, *args)

    def launch_grid(self, fn, grid: Tuple[int, int, int], block: Tuple[int, int, int], *args) -> None:
        """Run a kernel with an explicit grid (e.g. one block per reduced row)."""
        if grid[0] * grid[1] * grid[2] == 0:
            return
        self.activate()
        fn.prepared_async_call(grid, block, None, *args)

    # ------------------------------------------------------------------- BLAS
    @property
    def blas(self):
        if self._blas is None:
            from .blas import CuBLAS

            self.activate()
            self._blas = CuBLAS(self)
        return self._blas

    # ----------------------------------------------------------------- random
    def next_philox(self, n: int) -> Tuple[int, int]:
        """``(seed, offset)`` for a kernel drawing ``n`` counter-based random numbers."""
        offset = self.philox_offset
        self.philox_offset += -(-n // 4) * 4  # each Philox call yields 4 numbers
        return self.seed, offset

    def manual_seed(self, seed: int) -> None:
        self.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        self.philox_offset = 0


def is_pagelocked(host: np.ndarray) -> bool:
    """Whether ``host`` lives in page-locked memory from ``pagelocked_empty``."""
    base = host
    while base is not None:
        if "HostAllocation" in type(base).__name__ or getattr(base, "_nr_pinned", False):
            return True
        base = getattr(base, "base", None)
    return False
