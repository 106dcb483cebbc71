"""The ``opaque`` test device: CPU kernels behind arrays that hide their type.

Its arrays expose only what the backend protocol allows code above the
backends to read (``shape``, ``ndim``, ``size``, ``dtype``) and refuse any
conversion to NumPy.  Running ops, autograd, nn and optimizers on it checks,
on machines without a GPU, that nothing outside ``neurarust/backends``
treats a device array as a NumPy array, that every device transfer goes
through ``to_numpy``/``from_numpy``, and that device-mixing rules hold: what
a CUDA backend relies on.

Example:
    >>> import neurarust as nr
    >>> from neurarust.testing import opaque_device
    >>> with opaque_device() as dev:
    ...     x = nr.ones(2, 3, device=dev)
    ...     print(x.device, (x * 2).sum().item())
    opaque:0 12.0
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np

from ..device import as_device, register_backend, unregister_backend

__all__ = ["OpaqueArray", "OpaqueBackend", "opaque_device", "entered_device"]


class OpaqueArray:
    """A device array that is not a NumPy array (and cannot be turned into one)."""

    __slots__ = ("_host", "__weakref__")

    def __init__(self, host: np.ndarray) -> None:
        self._host = host

    shape = property(lambda self: self._host.shape)
    ndim = property(lambda self: self._host.ndim)
    size = property(lambda self: self._host.size)
    dtype = property(lambda self: self._host.dtype)

    def __array__(self, *args, **kwargs):
        raise TypeError("an opaque device array was used as a NumPy array outside its backend")

    def __repr__(self) -> str:
        return f"OpaqueArray(shape={self.shape}, dtype={self.dtype})"


def _unwrap(x: Any) -> Any:
    if isinstance(x, OpaqueArray):
        return x._host
    if isinstance(x, tuple):
        return tuple(_unwrap(v) for v in x)
    if isinstance(x, list):
        return [_unwrap(v) for v in x]
    return x


def _wrap(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return OpaqueArray(x)
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


class OpaqueBackend:
    """Every protocol method of the CPU backend, with arrays wrapped in :class:`OpaqueArray`.

    Host transfers copy, as a real device's would.  A 0-d NumPy operand (a CPU
    scalar tensor joining an op) is accepted, as on CUDA.
    """

    name = "opaque"

    def __init__(self, dev) -> None:
        from ..backends.cpu import CPUBackend

        self.device = dev
        self._cpu = CPUBackend(dev)
        self._pinned = set()

    def from_numpy(self, array: np.ndarray, non_blocking: bool = False) -> OpaqueArray:
        return OpaqueArray(np.array(array, order="C", copy=True))

    def pin_host(self, host: np.ndarray) -> np.ndarray:
        pinned = np.empty_like(host)
        pinned[...] = host
        self._pinned.add(id(pinned))
        return pinned

    def is_pinned_host(self, host: np.ndarray) -> bool:
        return id(host) in self._pinned

    def to_numpy(self, arr) -> np.ndarray:
        if isinstance(arr, np.ndarray):
            return arr
        return np.array(arr._host, order="C", copy=True)

    def __getattr__(self, name: str):
        method = getattr(self._cpu, name)
        if not callable(method):
            return method

        def call(*args, **kwargs):
            for a in args:
                if isinstance(a, np.ndarray) and a.ndim != 0:
                    raise TypeError(f"opaque backend: {name}() got a host array of shape {a.shape}; "
                                    f"only 0-d CPU scalars may join a device op")
            result = method(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()})
            return _wrap(result)

        call.__name__ = name
        return call


@contextlib.contextmanager
def opaque_device(index: int = 0) -> Iterator[Any]:
    """Register the ``opaque`` device type for the duration of the block and yield ``opaque:index``."""
    register_backend("opaque", OpaqueBackend, default_index=lambda: 0)
    try:
        yield as_device(f"opaque:{index}")
    finally:
        unregister_backend("opaque")


@contextlib.contextmanager
def entered_device(name: Any) -> Iterator[Any]:
    """The device ``name`` (e.g. from ``devices_under_test()``), registering ``opaque`` for the block.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.testing import entered_device
        >>> with entered_device("opaque") as dev:
        ...     print(nr.zeros(1, device=dev).device)
        opaque:0
    """
    if str(name).split(":")[0] == "opaque":
        with opaque_device() as dev:
            yield dev
    else:
        yield as_device(name)
