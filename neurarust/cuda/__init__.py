"""``nr.cuda``: torch.cuda's device-management API.

Everything here works without a GPU: ``is_available()`` is False,
``device_count()`` is 0, the memory statistics are 0, and functions that need
a device raise :class:`~neurarust.errors.DeviceError` saying why CUDA is
unavailable (pycuda missing, no driver, no device).

Example:
    >>> import neurarust as nr
    >>> nr.cuda.is_available() in (True, False)
    True
    >>> nr.cuda.memory_allocated() >= 0
    True
"""
from __future__ import annotations

from typing import Any, Optional

from ..backends.cuda import runtime as _runtime
from ..device import as_device
from ..errors import DeviceError, OutOfMemoryError

__all__ = ["is_available", "device_count", "current_device", "set_device", "synchronize", "manual_seed",
           "manual_seed_all", "memory_allocated", "max_memory_allocated", "memory_reserved",
           "reset_peak_memory_stats", "empty_cache", "get_device_name", "unavailable_reason",
           "OutOfMemoryError"]


def is_available() -> bool:
    """Whether a CUDA device can be used (pycuda installed, a driver, at least one GPU).

    Example:
        >>> import neurarust as nr
        >>> isinstance(nr.cuda.is_available(), bool)
        True
    """
    return _runtime.unavailable_reason() is None


def unavailable_reason() -> Optional[str]:
    """Why CUDA cannot be used, or None when it can.

    Example:
        >>> import neurarust as nr
        >>> nr.cuda.is_available() or isinstance(nr.cuda.unavailable_reason(), str)
        True
    """
    return _runtime.unavailable_reason()


def device_count() -> int:
    """The number of usable CUDA devices (0 without CUDA).

    Example:
        >>> import neurarust as nr
        >>> nr.cuda.device_count() >= 0
        True
    """
    return _runtime.device_count()


def current_device() -> int:
    """The index of the device ``"cuda"`` stands for.

    Example:
        >>> import neurarust as nr
        >>> nr.cuda.current_device()
        0
    """
    return _runtime.current_device()


def _index(dev: Any) -> int:
    if dev is None:
        return _runtime.current_device()
    if isinstance(dev, int):
        return dev
    d = as_device(dev)
    if d.type != "cuda":
        raise DeviceError(f"expected a cuda device, got '{d}'")
    return d.index


def set_device(device: Any) -> None:
    """Make ``device`` (an index, ``"cuda:N"`` or a device) the current CUDA device.

    Example:
        >>> import neurarust as nr
        >>> if nr.cuda.is_available(): nr.cuda.set_device(0)
    """
    _runtime.set_device(_index(device))


def synchronize(device: Any = None) -> None:
    """Wait until every kernel queued on ``device`` (default: the current one) has finished.

    Example:
        >>> import neurarust as nr
        >>> if nr.cuda.is_available(): nr.cuda.synchronize()
    """
    _runtime.runtime_for(_index(device)).synchronize()


def manual_seed(seed: int) -> None:
    """Seed the generator of the current CUDA device (silently deferred without CUDA, as in torch).

    Example:
        >>> import neurarust as nr
        >>> nr.cuda.manual_seed(0)
    """
    rt = _runtime.initialized_runtimes().get(_runtime.current_device())
    if rt is None:  # not started yet: the seed applies when it starts
        _runtime.manual_seed_all(seed)
    else:
        rt.manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed the generators of every CUDA device.

    Example:
        >>> import neurarust as nr
        >>> nr.cuda.manual_seed_all(0)
    """
    _runtime.manual_seed_all(seed)


def _allocator(device: Any):
    rt = _runtime.initialized_runtimes().get(_index(device))
    return None if rt is None else rt.allocator


def _stat(device: Any, name: str) -> int:
    """An allocator statistic; 0 for a device nothing has run on (statistics never start one)."""
    alloc = _allocator(device)
    return 0 if alloc is None else getattr(alloc, name)


def memory_allocated(device: Any = None) -> int:
    """Bytes held by live tensors on ``device`` (rounded to the allocator's block sizes).

    Example:
        >>> import neurarust as nr
        >>> nr.cuda.memory_allocated() >= 0
        True
    """
    return _stat(device, "allocated")


def max_memory_allocated(device: Any = None) -> int:
    """The peak of :func:`memory_allocated` since start or the last :func:`reset_peak_memory_stats`.

    Example:
        >>> import neurarust as nr
        >>> nr.cuda.max_memory_allocated() >= nr.cuda.memory_allocated()
        True
    """
    return _stat(device, "peak_allocated")


def memory_reserved(device: Any = None) -> int:
    """Bytes taken from the driver: live blocks plus the allocator's cache.

    Example:
        >>> import neurarust as nr
        >>> nr.cuda.memory_reserved() >= nr.cuda.memory_allocated()
        True
    """
    return _stat(device, "reserved")


def reset_peak_memory_stats(device: Any = None) -> None:
    """Start :func:`max_memory_allocated` again from the current allocation.

    Example:
        >>> import neurarust as nr
        >>> nr.cuda.reset_peak_memory_stats()
    """
    alloc = _allocator(device)
    if alloc is not None:
        alloc.reset_peak()


def empty_cache() -> None:
    """Return the allocator's cached, unused blocks to the driver (other processes can use them).

    Example:
        >>> import neurarust as nr
        >>> nr.cuda.empty_cache()
    """
    for rt in _runtime.initialized_runtimes().values():
        rt.allocator.empty_cache()


def get_device_name(device: Any = None) -> str:
    """The GPU's name, e.g. ``"NVIDIA H100 80GB HBM3"``.

    Example:
        >>> import neurarust as nr
        >>> if nr.cuda.is_available(): name = nr.cuda.get_device_name()
    """
    return _runtime.runtime_for(_index(device)).name
