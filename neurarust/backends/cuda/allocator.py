"""A caching allocator for device memory.

``cudaMalloc``/``cudaFree`` synchronise the device and cost tens of
microseconds, so freed blocks are kept in size-class free lists and handed
out again.  Every kernel runs on one stream per device, so a block freed by
Python (its last array died) may be reused at once: the work that used it is
queued before any work that will use it next.

Sizes are rounded up (512 B granules below 1 MiB, 2 MiB granules above), and
a request reuses a cached block of the same rounded size.  Statistics follow
``torch.cuda``: ``memory_allocated`` counts live blocks, ``memory_reserved``
live plus cached ones.

The raw ``malloc``/``free`` functions are injected, so the bookkeeping is
tested without a GPU.
"""
from __future__ import annotations

import threading
from typing import Callable, Dict, List

from ...errors import OutOfMemoryError

__all__ = ["CachingAllocator", "Block", "round_size"]

_SMALL_GRANULE = 512
_LARGE_GRANULE = 2 << 20
_SMALL_LIMIT = 1 << 20


def round_size(nbytes: int) -> int:
    """The size class of a request of ``nbytes`` (at least one granule)."""
    nbytes = max(int(nbytes), 1)
    granule = _SMALL_GRANULE if nbytes <= _SMALL_LIMIT else _LARGE_GRANULE
    return -(-nbytes // granule) * granule


class Block:
    """A device allocation lent to arrays; it returns to its allocator when the last array dies."""

    __slots__ = ("ptr", "nbytes", "device_index", "_allocator", "_handle", "__weakref__")

    def __init__(self, allocator: "CachingAllocator", handle, ptr: int, nbytes: int, device_index: int):
        self._allocator = allocator
        self._handle = handle
        self.ptr = ptr
        self.nbytes = nbytes
        self.device_index = device_index

    def __del__(self) -> None:
        allocator = self._allocator
        if allocator is not None:
            self._allocator = None
            allocator._release(self._handle, self.nbytes)


class CachingAllocator:
    """Size-class caching over ``malloc(nbytes) -> handle`` / ``free(handle)``.

    ``handle_ptr(handle)`` gives a handle's device address.  ``malloc`` must
    raise ``MemoryError`` (or the driver's out-of-memory error listed in
    ``oom_errors``) when the device is full: the cache is then emptied and the
    request retried once before :class:`~neurarust.errors.OutOfMemoryError`.
    """

    def __init__(self, device_index: int, malloc: Callable[[int], object], free: Callable[[object], None],
                 handle_ptr: Callable[[object], int], oom_errors: tuple = (MemoryError,),
                 describe_device: Callable[[], str] = lambda: "") -> None:
        self.device_index = device_index
        self._malloc = malloc
        self._free = free
        self._handle_ptr = handle_ptr
        self._oom_errors = oom_errors
        self._describe_device = describe_device
        self._cache: Dict[int, List[object]] = {}
        self._lock = threading.Lock()
        self.allocated = 0
        self.peak_allocated = 0
        self.cached = 0

    def allocate(self, nbytes: int) -> Block:
        size = round_size(nbytes)
        with self._lock:
            bucket = self._cache.get(size)
            handle = bucket.pop() if bucket else None
            if handle is not None:
                self.cached -= size
        if handle is None:
            handle = self._fresh(size, nbytes)
        with self._lock:
            self.allocated += size
            if self.allocated > self.peak_allocated:
                self.peak_allocated = self.allocated
        return Block(self, handle, self._handle_ptr(handle), size, self.device_index)

    def _fresh(self, size: int, requested: int):
        try:
            return self._malloc(size)
        except self._oom_errors:
            pass
        self.empty_cache()
        try:
            return self._malloc(size)
        except self._oom_errors as exc:
            raise OutOfMemoryError(
                f"CUDA out of memory: tried to allocate {_fmt(requested)} on cuda:{self.device_index}"
                f" ({_fmt(self.allocated)} allocated by NeuraRust, cache emptied and retried)."
                f"{self._describe_device()} ({exc})") from None

    def _release(self, handle, size: int) -> None:
        with self._lock:
            self.allocated -= size
            self.cached += size
            self._cache.setdefault(size, []).append(handle)

    def empty_cache(self) -> None:
        """Return every cached (unused) block to the driver."""
        with self._lock:
            handles = [h for bucket in self._cache.values() for h in bucket]
            self._cache.clear()
            self.cached = 0
        for h in handles:
            self._free(h)

    def reset_peak(self) -> None:
        with self._lock:
            self.peak_allocated = self.allocated

    @property
    def reserved(self) -> int:
        return self.allocated + self.cached


def _fmt(nbytes: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.2f} {unit}"
    return f"{nbytes} bytes"
