"""In-place ops: :func:`copy_inplace`, the one mechanism behind every ``x.op_()``, and
:func:`inplace_binary` (``x.add_(y)`` ...), which writes straight into ``x`` when no graph
is recorded.
"""
from __future__ import annotations

from .._core.tensor_base import TensorBase
from ..autograd.function import save_before_overwrite
from ..autograd.grad_mode import GradMode
from ..dtypes import float16, result_type
from ..errors import AutogradError, DTypeError, ShapeError
from ._elementwise_common import _operand
from ._util import backend, broadcast_shapes
from .arithmetic import (_check_sub_operands, add, div, floor_divide, fmod, maximum, minimum, mul, pow,
                         remainder, sub)
from .comparison import (bitwise_and, bitwise_or, bitwise_xor, eq, ge, gt, le, logical_and, logical_or,
                         logical_xor, lt, ne)


def can_cast(src, dst) -> bool:
    """torch's rule for in-place results: never to a lower category."""
    return src.category <= dst.category


def copy_inplace(self, result):
    """Write ``result`` into ``self`` and make ``self`` take ``result``'s place in the graph.

    The one mechanism behind every in-place op: run the out-of-place op, then
    copy the values in.  When ``self`` is a view of a tensor in the graph, the
    base gets a new history through a ``ScatterRegion`` node
    (``ops/views.py::rebase_view_history``), the way
    torch's ``CopySlices`` works.
    """
    if not isinstance(result, TensorBase):
        raise TypeError(f"in-place op produced {type(result).__name__}, expected a Tensor")
    if tuple(result.shape) != tuple(self.shape):
        raise ShapeError(
            f"output with shape {list(self.shape)} doesn't match the broadcast shape {list(result.shape)}"
        )
    if not can_cast(result._dtype, self._dtype):
        raise DTypeError(f"result type {result._dtype.name} can't be cast to the desired output type {self._dtype.name}")
    recording = GradMode.enabled and (self._requires_grad or result._requires_grad)
    if recording:
        _check_inplace_allowed(self)
        save_before_overwrite(result._grad_fn, self)
        if self._base is not None:
            from .views import rebase_view_history

            rebase_view_history(self, result)
            return self
    backend(self).copy_(self._data, result._data)
    self._version_counter.bump()
    if recording:
        if result._dtype is not self._dtype:
            result = result.to(self._dtype)
        self._grad_fn = result._grad_fn
        self._output_nr = result._output_nr
        self._requires_grad = True
    return self


def _check_inplace_allowed(self):
    if self._grad_fn is None and self._requires_grad:
        raise AutogradError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    base = self._base
    if base is not None and base._grad_fn is None and base._requires_grad:
        raise AutogradError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )


def inplace_binary(op, self, other, **kwargs):
    """``self.op_(other)``: a direct kernel write when nothing needs a graph."""
    if not (GradMode.enabled and (self._requires_grad or getattr(other, "_requires_grad", False))):
        dtype = result_type(self, other)
        if (dtype is self._dtype and op in _DIRECT_INPLACE and not kwargs
                and dtype is not float16 and (not isinstance(other, TensorBase) or other._device is self._device)):
            if not isinstance(other, TensorBase) or len(other.shape) <= self.ndim and broadcast_shapes(op, self.shape, other.shape) == tuple(self.shape):
                b = backend(self)
                if op == "sub":
                    _check_sub_operands(self, other)
                b.binary(_DIRECT_INPLACE[op], self._data, _operand(other, dtype, b), out=self._data)
                self._version_counter.bump()
                return self
    return copy_inplace(self, _OUT_OF_PLACE[op](self, other, **kwargs))


_DIRECT_INPLACE = {"add": "add", "sub": "sub", "mul": "mul", "maximum": "maximum", "minimum": "minimum"}
_OUT_OF_PLACE = {"add": add, "sub": sub, "mul": mul, "div": div, "pow": pow, "remainder": remainder,
                 "fmod": fmod, "floor_divide": floor_divide, "maximum": maximum, "minimum": minimum,
                 "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor,
                 "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor,
                 "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge}
