"""The exception hierarchy.

Every error NeuraRust raises derives from :class:`NeuraRustError` *and* from
the builtin a Python user would catch (``ValueError`` for shapes,
``TypeError`` for dtypes, ``IndexError`` for indices) *and* from what PyTorch
raises in the same situation (usually ``RuntimeError``), so code written to
catch torch's exceptions keeps working.

Example:
    >>> import neurarust as nr
    >>> try:
    ...     nr.ones(2, 3) @ nr.ones(2, 3)
    ... except nr.ShapeError as e:
    ...     print(type(e).__mro__[1:4])
    (<class 'neurarust.errors.NeuraRustError'>, <class 'ValueError'>, <class 'RuntimeError'>)
"""

__all__ = [
    "NeuraRustError",
    "ShapeError",
    "DTypeError",
    "TensorIndexError",
    "DeviceError",
    "DeviceConversionError",
    "AutogradError",
    "IntegerDivisionByZeroError",
    "OutOfMemoryError",
]


class NeuraRustError(Exception):
    """Root of every exception raised by NeuraRust."""


class ShapeError(NeuraRustError, ValueError, RuntimeError):
    """Shapes that do not fit the operation (broadcasting, matmul, views...)."""


class DTypeError(NeuraRustError, TypeError, RuntimeError):
    """A dtype the operation does not accept, or an invalid cast."""


class TensorIndexError(NeuraRustError, IndexError, RuntimeError):
    """An index out of range or of the wrong kind."""


class DeviceError(NeuraRustError, RuntimeError):
    """An unavailable device, or tensors on different devices in one op."""


class DeviceConversionError(DeviceError, TypeError):
    """A device tensor where host memory is needed (``numpy()``); torch raises TypeError there."""


class AutogradError(NeuraRustError, RuntimeError):
    """Misuse of autograd: backward twice, in-place on saved tensors, ..."""


class IntegerDivisionByZeroError(NeuraRustError, ZeroDivisionError, RuntimeError):
    """Integer division or remainder by zero (torch raises RuntimeError)."""


class OutOfMemoryError(DeviceError):
    """A device allocation failed even after the allocator's cache was emptied (torch's
    ``torch.cuda.OutOfMemoryError``, also a ``RuntimeError``)."""
