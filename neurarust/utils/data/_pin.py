"""``pin_memory=True``: batches copied into page-locked host memory for fast GPU uploads."""
from __future__ import annotations

import warnings
from typing import Any, Iterator

from ..._core.tensor_base import TensorBase
from ...errors import DeviceError


def pin_batch(data: Any, device: str) -> Any:
    """``data`` with every tensor replaced by a pinned copy (containers rebuilt as in collation)."""
    if isinstance(data, TensorBase):
        return data.pin_memory(device)
    if isinstance(data, dict):
        return type(data)({k: pin_batch(v, device) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(pin_batch(v, device) for v in data))
    if isinstance(data, (list, tuple)):
        return type(data)(pin_batch(v, device) for v in data)
    return data


class PinningIter:
    """Wraps a loader's iterator; without a device that can pin, warns once and passes batches through."""

    def __init__(self, inner: Iterator[Any], device: str) -> None:
        self._inner = inner
        self._device = device or "cuda"
        self._enabled = True

    def __iter__(self) -> "PinningIter":
        return self

    def __next__(self) -> Any:
        batch = next(self._inner)
        if not self._enabled:
            return batch
        try:
            return pin_batch(batch, self._device)
        except DeviceError as exc:
            self._enabled = False
            warnings.warn(f"'pin_memory' is set but memory cannot be pinned for '{self._device}' ({exc}); "
                          f"batches stay in ordinary memory", stacklevel=2)
            return batch

    def __len__(self) -> int:
        return len(self._inner)  # type: ignore[arg-type]
