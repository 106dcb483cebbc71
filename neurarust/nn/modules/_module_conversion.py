"""Moving and casting a :class:`Module`'s parameters and buffers (``to``, ``cpu``, ``double``...).

Parameters keep their identity (optimizers hold references to them): only
their data is swapped.

Example:
    >>> import neurarust as nr
    >>> lin = nr.nn.Linear(2, 1); w = lin.weight
    >>> lin.double().weight is w, w.dtype
    (True, neurarust.float64)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..._core.tensor_base import TensorBase
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...device import as_device
from ...dtypes import as_dtype, float16, float32, float64

if TYPE_CHECKING:
    from .module import Module

__all__ = []


class _ConversionMixin:
    """Device and dtype conversion of a module tree, in place."""

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> "Module":
        if recurse:
            for module in self.children():
                module._apply(fn)
        for name, param in self._parameters.items():
            if param is None:
                continue
            with no_grad():
                new = fn(param)
            # Keep the Parameter object (optimizers hold references to it) and swap its data.
            if new is not param:
                param.data = new
            if param.grad is not None:
                with no_grad():
                    new_grad = fn(param.grad)
                if new_grad is not param.grad:
                    param._grad = new_grad.detach()
        for name, buf in self._buffers.items():
            if buf is not None:
                self._buffers[name] = fn(buf)
        return self

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """Move parameters and buffers to a device and/or cast floating ones to a dtype, in place.

        Accepts ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` and
        the ``device=``/``dtype=`` keywords.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(1)); m.register_buffer("n", nr.zeros(1, dtype=nr.int64))
            >>> _ = m.to(nr.float64); m.w.dtype, m.n.dtype
            (neurarust.float64, neurarust.int64)
        """
        device = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, TensorBase):
                device, dtype = a.device, a.dtype
            elif isinstance(a, bool):
                continue  # non_blocking
            elif isinstance(a, (str, int)) or (hasattr(a, "type") and hasattr(a, "index")):
                device = a
            elif a is not None:
                dtype = a
        if dtype is not None:
            dtype = as_dtype(dtype)
            if not dtype.is_floating_point:
                raise TypeError("nn.Module.to only accepts floating point or complex dtypes, "
                                f"but got desired dtype={dtype}")
        if device is not None:
            device = as_device(device)

        def convert(t: Tensor) -> Tensor:
            target = dtype if dtype is not None and t.is_floating_point() else None
            return t.to(device=device, dtype=target)

        return self._apply(convert)

    def cpu(self) -> "Module":
        """Move everything to the CPU.

        Example:
            >>> import neurarust as nr
            >>> nr.nn.Module().cpu()
            Module()
        """
        return self._apply(lambda t: t.cpu())

    def cuda(self, device: Any = None) -> "Module":
        """Move everything to a CUDA device (raises ``DeviceError`` where CUDA is unavailable)."""
        return self._apply(lambda t: t.cuda(device))

    def type(self, dst_type: Any) -> "Module":
        """Cast all parameters and buffers to ``dst_type``.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(1)); m.type(nr.float64).w.dtype
            neurarust.float64
        """
        return self._apply(lambda t: t.type(dst_type))

    def _cast_floating(self, dtype: Any) -> "Module":
        return self._apply(lambda t: t.to(dtype) if t.is_floating_point() else t)

    def float(self) -> "Module":
        """Cast floating parameters and buffers to float32.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(1, dtype=nr.float64))
            >>> m.float().w.dtype
            neurarust.float32
        """
        return self._cast_floating(float32)

    def double(self) -> "Module":
        """Cast floating parameters and buffers to float64.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(1)); m.double().w.dtype
            neurarust.float64
        """
        return self._cast_floating(float64)

    def half(self) -> "Module":
        """Cast floating parameters and buffers to float16.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(1)); m.half().w.dtype
            neurarust.float16
        """
        return self._cast_floating(float16)
