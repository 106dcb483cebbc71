"""``linear`` and ``relu`` for ``neurarust.nn.functional``: the two ops of every MLP step.

Both are hot at small sizes (per-call overhead) and at large ones (memory
traffic), so each has a fast path:

* ``linear`` checks its arguments with a few field reads in the common case
  and runs ``x @ weight.T + bias`` as one GEMM whose output starts as the bias
  (backend method ``linear``; any backend without it gets matmul + add).
* ``relu`` saves its output and computes the backward in one pass
  (backend method ``relu_backward``: ``0 where y <= 0 else grad``, torch's
  ``threshold_backward``), instead of a compare, a cast and a multiply.

Example:
    >>> import neurarust as nr
    >>> from neurarust.nn import functional as F
    >>> x = nr.tensor([[1.0, -2.0]], requires_grad=True)
    >>> y = F.relu(F.linear(x, nr.eye(2), nr.tensor([0.5, 0.5])))
    >>> y.sum().backward(); y, x.grad
    (tensor([[1.5000, 0.0000]], grad_fn=<ReluBackward0>), tensor([[1., 0.]]))
"""
from __future__ import annotations

from typing import Optional

from .._core.tensor_base import TensorBase
from ..autograd.function import Function
from ..autograd.grad_mode import GradMode
from ..dtypes import float16, float32, float64
from ..errors import DTypeError, ShapeError
from ..ops import elementwise as _ew
from ..ops._util import backend, wrap

Tensor = TensorBase

__all__ = ["linear", "relu"]


# ---------------------------------------------------------------- linear
class Linear(Function):
    """``x @ weight.T + bias`` as one GEMM on a transposed view (bias fused in when it is 1-D).

    Arrays are handled through backend methods only (``reshape_view``,
    ``permute``...), so any device backend runs it.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        b = backend(x)
        out_f, in_f = weight._data.shape
        x2 = _rows(b, x._data, in_f)
        wt = b.permute(weight._data, (1, 0))  # BLAS reads the transposed view; nothing is copied
        dtype = x._dtype
        fused = getattr(b, "linear", None)
        if fused is not None and (dtype is float32 or dtype is float64) \
                and (bias is None or bias.ndim == 1):
            out = fused(x2, weight._data, None if bias is None else bias._data)
        else:
            if dtype is float16:  # no half GEMM: compute in float32, round once
                x2, wt = b.cast(x2, float32.numpy), b.cast(wt, float32.numpy)
            out = b.matmul(x2, wt)
            if bias is not None:
                bd = bias._data if dtype is not float16 else b.cast(bias._data, float32.numpy)
                b.binary("add", out, bd, out=out)
            if dtype is float16:
                out = b.cast(out, float16.numpy)
        if x.ndim != 2:
            out = b.reshape_view(out, tuple(x._data.shape[:-1]) + (out_f,))
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return wrap(out, x._device, dtype)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        out_f, in_f = weight.shape
        if GradMode.enabled or x._dtype is float16:
            # create_graph (or half precision): differentiable ops record the derivative's graph.
            g2 = g.reshape(-1, out_f)
            gx = (g2 @ weight).reshape(tuple(x.shape)) if nx else None
            gw = g2.t() @ x.reshape(-1, in_f) if nw else None
            return gx, gw, (g2.sum(0) if nb else None)
        # Plain backward: three kernel calls on the arrays, transposes as views (no copies).
        b = backend(g)
        g2 = _rows(b, g._data, out_f)
        dev, dtype = x._device, x._dtype
        gx = None
        if nx:
            gx = b.matmul(g2, weight._data)
            if x.ndim != 2:
                gx = b.reshape_view(gx, tuple(x._data.shape))
            gx = wrap(gx, dev, dtype)
        gw = wrap(b.matmul(b.permute(g2, (1, 0)), _rows(b, x._data, in_f)), dev, dtype) if nw else None
        gb = wrap(b.reduce("sum", g2, (0,), g2.dtype), dev, dtype) if nb else None
        return gx, gw, gb


def _rows(b, arr, cols):
    """``arr`` as a 2-D (rows, cols) array: itself when 2-D, else a C-contiguous reshape."""
    if arr.ndim == 2:
        return arr
    if not b.is_c_contiguous(arr):
        arr = b.contiguous(arr)
    rows = 1
    for n in arr.shape[:-1]:
        rows *= n
    return b.reshape_view(arr, (rows, cols))


def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``input @ weight.T + bias`` over the last dim of ``input``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.linear(nr.ones(2, 3), nr.ones(4, 3), nr.tensor([0.0, 1.0, 2.0, 3.0]))
        tensor([[3., 4., 5., 6.],
                [3., 4., 5., 6.]])
    """
    # The common case (floating tensors of one dtype, 2+-D input, 1-D bias)
    # costs a few field reads; anything else takes the full checks below.
    if isinstance(input, TensorBase) and isinstance(weight, TensorBase):
        dtype = input._dtype
        xs, ws = input._data.shape, weight._data.shape
        if (len(xs) >= 2 and len(ws) == 2 and xs[-1] == ws[1] and weight._dtype is dtype
                and dtype.is_floating_point
                and (bias is None or (isinstance(bias, TensorBase) and bias._dtype is dtype
                                      and bias._data.shape == (ws[0],)))):
            return Linear.apply(input, weight, bias)
    for name, t in (("input", input), ("weight", weight)):
        if not isinstance(t, TensorBase):
            raise TypeError(f"linear(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ShapeError(
            f"linear(): input of shape {list(input.shape)} and weight of shape {list(weight.shape)} "
            f"do not fit: expected input (..., {weight.shape[1] if weight.ndim == 2 else 'in_features'}) "
            "and weight (out_features, in_features)"
        )
    if bias is not None and (bias.ndim > 1 or (bias.ndim == 1 and bias.shape[0] != weight.shape[0])):
        raise ShapeError(f"linear(): bias of shape {list(bias.shape)} does not fit weight of shape "
                         f"{list(weight.shape)}: expected ({weight.shape[0]},)")
    if input.dtype is not weight.dtype or (bias is not None and bias.dtype is not input.dtype):
        raise DTypeError(
            f"linear(): mat1 and mat2 must have the same dtype, but got {input.dtype.name} (input) and "
            f"{weight.dtype.name} (weight){'' if bias is None else f' and {bias.dtype.name} (bias)'}"
        )
    if not input.dtype.is_floating_point:
        return input @ weight.t() + (0 if bias is None else bias)
    if input.ndim == 1:
        return Linear.apply(input.unsqueeze(0), weight, bias).squeeze(0)
    return Linear.apply(input, weight, bias)


# ------------------------------------------------------------------ relu
class Relu(Function):
    """``max(x, 0)`` (the backend's relu kernel); backward in one pass from the saved output."""

    @staticmethod
    def forward(ctx, x):
        result = wrap(backend(x).unary("relu", x._data), x._device, x._dtype)
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if not GradMode.enabled:
            fused = getattr(backend(g), "relu_backward", None)
            data = fused(g._data, y._data) if fused is not None else None
            if data is not None:
                return wrap(data, g._device, g._dtype)
        # create_graph, or no fused kernel: torch's threshold_backward with tensor ops
        # (a NaN output lets the gradient through; y <= 0 blocks even a NaN gradient).
        return _ew.where(y <= 0, 0.0, g)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.relu(nr.tensor([-1.0, 0.5]))
        tensor([0.0000, 0.5000])
    """
    if inplace:
        return input.relu_()
    if isinstance(input, TensorBase) and (input._dtype is float32 or input._dtype is float64):
        return Relu.apply(input)
    return _ew.relu(input)
