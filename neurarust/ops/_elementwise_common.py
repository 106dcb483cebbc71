"""What every elementwise op module shares: operand conversion, the binary kernel call,
argument checks, ``out=`` handling and :func:`sum_to` (gradients back to an input's shape).

The public ops are in ``arithmetic``, ``unary``, ``activations``, ``comparison``,
``selection`` and ``inplace``; ``neurarust.ops.elementwise`` re-exports them all.
"""
from __future__ import annotations

import numpy as np

from .._core.tensor_base import TensorBase
from ..autograd.grad_mode import GradMode
from ..dtypes import float16, float32, result_type
from ..errors import AutogradError, IntegerDivisionByZeroError
from ._util import backend, broadcast_shapes, common_device, wrap


def sum_to(g, shape):
    """Sum a broadcast gradient back to ``shape``."""
    shape = tuple(shape)
    if g._data.shape == shape:
        return g
    lead = g.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    out = g.sum(dims, keepdim=True) if dims else g
    if lead:
        out = out.reshape(shape)
    return out


def _compute_dtype(dtype):
    # float16 math runs in float32 (the kernels have no half arithmetic) and is rounded back.
    return float32 if dtype is float16 else dtype


def _operand(x, dtype, b):
    """Backend array of ``x`` (tensor or Python scalar) in ``dtype``."""
    if isinstance(x, TensorBase):
        data = x._data
        return data if x._dtype is dtype else b.cast(data, dtype.numpy)
    return b.scalar_array(x, dtype.numpy)


def _binary_data(op, a, b, dtype):
    """Run binary kernel ``op`` with both operands converted to ``dtype``; returns (array, device)."""
    dev = common_device(op, a, b)
    bk = backend(a if isinstance(a, TensorBase) and a._device is dev else b)
    cdt = _compute_dtype(dtype)
    try:
        out = bk.binary(op, _operand(a, cdt, bk), _operand(b, cdt, bk))
    except ZeroDivisionError as exc:
        raise IntegerDivisionByZeroError(f"{op}: {exc}") from None
    except ValueError as exc:
        if "broadcast" in str(exc) or "shape" in str(exc):
            broadcast_shapes(op, getattr(a, "shape", ()), getattr(b, "shape", ()))
        raise
    if cdt is not dtype and out.dtype != np.bool_:
        out = bk.cast(out, dtype.numpy)
    return out, dev


def _shape_of(x):
    return x._data.shape if isinstance(x, TensorBase) else ()


def _scalars_only(*args):
    """Python-number operands for ``ctx``; tensors go through ``save_for_backward``.

    A ctx attribute holding a tensor input would make a reference cycle once
    an in-place op gives that input this node as its ``grad_fn``.
    """
    return tuple(None if isinstance(v, TensorBase) else v for v in args)


def _check_tensor_arg(op, x):
    if not isinstance(x, TensorBase):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")


def _check_number(op, x):
    if not isinstance(x, (TensorBase, bool, int, float, np.number, np.bool_)):
        raise TypeError(f"{op}(): expected a Tensor or a number, got {type(x).__name__}")


def _no_grad_binary(op, a, b):
    dtype = result_type(a, b)
    data, dev = _binary_data(op, a, b, dtype)
    return wrap(data, dev)


def _maybe_out(result, out):
    if out is None:
        return result
    if GradMode.enabled and (result._requires_grad or out._requires_grad):
        raise AutogradError("out= arguments don't support automatic differentiation, but one of the arguments requires grad.")
    if tuple(out.shape) != tuple(result.shape):
        from .views import _resize_out

        _resize_out(out, result)
        return out
    backend(out).copy_(out._data, result._data)
    out._version_counter.bump()
    return out


