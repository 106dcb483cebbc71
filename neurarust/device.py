"""Devices, and the one place that maps a device to its backend.

Nothing outside this module and ``neurarust/backends`` looks at a device's
type: tensors ask :func:`backend_for` for the kernels of their device.

Example:
    >>> import neurarust as nr
    >>> nr.device("cpu"), nr.device("cuda:1").index
    (device(type='cpu'), 1)
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Union

from .errors import DeviceError

__all__ = ["device", "backend_for", "register_backend", "unregister_backend", "seed_devices", "as_device"]

_KNOWN_TYPES = ["cpu", "cuda"]


class device:
    """A device a tensor lives on: ``cpu`` or ``cuda[:index]``.

    Example:
        >>> import neurarust as nr
        >>> nr.device("cuda", 0)
        device(type='cuda', index=0)
    """

    __slots__ = ("type", "index", "_backend")

    def __new__(cls, type_or_str: Union[str, "device"], index: Optional[int] = None):
        if isinstance(type_or_str, device):
            if index is not None:
                raise DeviceError("device(): index given twice")
            return type_or_str
        if not isinstance(type_or_str, str):
            raise DeviceError(f"device(): expected a string like 'cpu' or 'cuda:0', got {type_or_str!r}")
        name = type_or_str.strip()
        if ":" in name:
            name, _, idx = name.partition(":")
            if index is not None or not idx.isdigit():
                raise DeviceError(f"device(): invalid device string {type_or_str!r}; expected 'cuda:N'")
            index = int(idx)
        if name not in _KNOWN_TYPES:
            raise DeviceError(
                f"device(): unknown device type {name!r}; expected one of {', '.join(_KNOWN_TYPES)}"
            )
        if index is not None and (not isinstance(index, int) or index < 0):
            raise DeviceError(f"device(): index must be a non-negative int, got {index!r}")
        key = (name, index)
        cached = _DEVICES.get(key)
        if cached is not None:
            return cached
        self = object.__new__(cls)
        self.type = name
        self.index = index
        self._backend = None
        _DEVICES[key] = self
        return self

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except DeviceError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))


_DEVICES: Dict[Any, device] = {}
_BACKEND_FACTORIES: Dict[str, Callable[[device], Any]] = {}
_DEFAULT_INDEX: Dict[str, Callable[[], int]] = {}
_SEEDERS: Dict[str, Callable[[int], None]] = {}


def register_backend(device_type: str, factory: Callable[[device], Any], *,
                     default_index: Optional[Callable[[], int]] = None,
                     manual_seed: Optional[Callable[[int], None]] = None) -> None:
    """Register the factory that builds the backend for ``device_type``.

    A factory is called once per device and may raise :class:`DeviceError`
    to say why the device cannot be used (e.g. no driver).  ``default_index``
    gives the index that ``"<type>"`` without one stands for (torch's
    current device), so tensors always carry a full device such as
    ``cuda:0``.  ``manual_seed`` seeds every device of the type
    (``nr.manual_seed`` calls it).  A new type becomes a known device type.
    """
    if device_type not in _KNOWN_TYPES:
        _KNOWN_TYPES.append(device_type)
    _BACKEND_FACTORIES[device_type] = factory
    if default_index is not None:
        _DEFAULT_INDEX[device_type] = default_index
    if manual_seed is not None:
        _SEEDERS[device_type] = manual_seed


def unregister_backend(device_type: str) -> None:
    """Forget a device type registered with :func:`register_backend` (cpu and cuda stay known)."""
    _BACKEND_FACTORIES.pop(device_type, None)
    _DEFAULT_INDEX.pop(device_type, None)
    _SEEDERS.pop(device_type, None)
    builtin = device_type in ("cpu", "cuda")
    if not builtin and device_type in _KNOWN_TYPES:
        _KNOWN_TYPES.remove(device_type)
    for key in [k for k in _DEVICES if k[0] == device_type]:
        if builtin:
            _DEVICES[key]._backend = None  # the type stays known; its backend is built again on use
        else:
            del _DEVICES[key]


def seed_devices(seed: int) -> None:
    """Seed the generators of every registered device type that has one (``nr.manual_seed``)."""
    for seeder in list(_SEEDERS.values()):
        seeder(seed)


def backend_for(dev: device) -> Any:
    """The backend object that runs kernels for ``dev`` (the single dispatch point)."""
    backend = dev._backend
    if backend is None:
        factory = _BACKEND_FACTORIES.get(dev.type)
        if factory is None:
            raise DeviceError(f"no backend is registered for device '{dev}'")
        backend = dev._backend = factory(dev)
    return backend


def as_device(value: Any) -> device:
    if value is None:
        return CPU
    if not isinstance(value, device):
        value = device("cuda", value) if isinstance(value, int) else device(value)
    if value.index is None:
        default_index = _DEFAULT_INDEX.get(value.type)
        if default_index is not None:
            return device(value.type, default_index())
    return value


CPU = device("cpu")
