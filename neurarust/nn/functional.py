"""``neurarust.nn.functional``: torch's functional API (activations, linear, dropout, losses...).

The losses live in ``_functional_loss``; convolution, pooling and
normalisation come from ``_functional_conv`` when that module is present.

Example:
    >>> import neurarust as nr
    >>> from neurarust.nn import functional as F
    >>> F.relu(nr.tensor([-1.0, 2.0])), F.one_hot(nr.tensor([1]), 3)
    (tensor([0., 2.]), tensor([[0, 1, 0]]))
"""
from __future__ import annotations

import warnings
from typing import Optional, Sequence

from .._core.tensor_base import TensorBase
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..dtypes import float32, int32, int64
from ..errors import DTypeError, ShapeError, TensorIndexError
from ..ops import elementwise as _ew
from ..ops import reduction as _red
from ..ops._util import backend, wrap
from ._functional_loss import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                               cross_entropy, huber_loss, kl_div, l1_loss, mse_loss, nll_loss,
                               one_hot, smooth_l1_loss)
from ._functional_loss import __all__ as _loss_names
from ._functional_linear import Linear, Relu, linear, relu  # noqa: F401

Tensor = TensorBase

__all__ = [
    "linear", "bilinear", "relu", "relu_", "relu6", "leaky_relu", "elu", "gelu", "silu", "mish",
    "sigmoid", "tanh", "hardtanh", "softplus", "softmax", "log_softmax", "dropout", "dropout2d",
    "embedding", "one_hot", "pad",
] + list(_loss_names)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``y[..., o] = x1 @ weight[o] @ x2 + bias[o]``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.bilinear(nr.ones(2, 3), nr.ones(2, 4), nr.ones(5, 3, 4)).shape
        neurarust.Size([2, 5])
    """
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2] \
            or tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise ShapeError(
            f"bilinear(): input1 {list(input1.shape)}, input2 {list(input2.shape)} and weight "
            f"{list(weight.shape)} do not fit: expected (..., in1), (..., in2) and (out, in1, in2)"
        )
    out_f, in1, in2 = weight.shape
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    # One GEMM against weight laid out as (in1, out * in2), then a row-wise dot with x2.
    tmp = (x1 @ weight.permute(1, 0, 2).reshape(in1, out_f * in2)).reshape(-1, out_f, in2)
    out = (tmp * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(lead + (out_f,))


# ------------------------------------------------------------ activations
def _inplace(input, out, inplace):
    return _ew.copy_inplace(input, out) if inplace else out


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> x = nr.tensor([-1.0, 2.0]); F.relu_(x) is x
        True
    """
    return input.relu_()


class Hardtanh(Function):
    """``clamp(x, lo, hi)`` whose gradient is 0 at the boundaries too, as torch's."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        return x.clamp(lo, hi)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        return g * ((x > lo) & (x < hi)), None, None


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``clamp(x, min_val, max_val)``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.hardtanh(nr.tensor([-2.0, 0.5, 2.0]))
        tensor([-1.0000,  0.5000,  1.0000])
    """
    if min_val > max_val:
        raise ValueError(f"hardtanh(): min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _inplace(input, Hardtanh.apply(input, float(min_val), float(max_val)), inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.relu6(nr.tensor([-1.0, 3.0, 9.0]))
        tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where ``x > 0`` else ``negative_slope * x``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.leaky_relu(nr.tensor([-1.0, 2.0]), 0.1)
        tensor([-0.1000,  2.0000])
    """
    return _ew.leaky_relu(input, negative_slope, inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where ``x > 0`` else ``alpha * (exp(x) - 1)``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.elu(nr.tensor([-1.0, 2.0]))
        tensor([-0.6321,  2.0000])
    """
    return _ew.elu(input, alpha, inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit (exact, or ``approximate='tanh'``).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.gelu(nr.tensor([1.0]))
        tensor([0.8413])
    """
    return _ew.gelu(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.silu(nr.tensor([1.0]))
        tensor([0.7311])
    """
    return _inplace(input, _ew.silu(input), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.mish(nr.tensor([1.0]))
        tensor([0.8651])
    """
    # The composite saves its input in several nodes: an in-place call works on a copy so
    # that overwriting ``input`` does not invalidate them.
    x = input.clone() if inplace and input.requires_grad else input
    return _inplace(input, x * _ew.tanh(_ew.softplus(x)), inplace)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.sigmoid(nr.tensor([0.0]))
        tensor([0.5000])
    """
    return _ew.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.tanh(nr.tensor([0.0]))
        tensor([0.])
    """
    return _ew.tanh(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.softplus(nr.tensor([0.0, 30.0]))
        tensor([ 0.6931, 30.0000])
    """
    return _ew.softplus(input, beta, threshold)


def _implicit_dim(name, ndim, dim):
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                      "include dim=X as an argument.", UserWarning, stacklevel=3)
    return dim


def softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.softmax(nr.tensor([0.0, 0.0]), dim=0)
        tensor([0.5000, 0.5000])
    """
    return _red.softmax(input, _implicit_dim("softmax", input.ndim, dim), dtype)


def log_softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed stably.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.log_softmax(nr.tensor([0.0, 0.0]), dim=0)
        tensor([-0.6931, -0.6931])
    """
    return _red.log_softmax(input, _implicit_dim("log_softmax", input.ndim, dim), dtype)


# --------------------------------------------------------------- dropout
def _check_p(op, p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}(): dropout probability has to be between 0 and 1, but got {p}")


def _dropout_mask(input, shape, p):
    """Keep-mask already scaled by ``1 / (1 - p)``: the product is then one multiply."""
    from ..ops.random import rand

    keep = 1.0 - p
    u = rand(shape, dtype=input.dtype if input.dtype.is_floating_point else float32, device=input.device)
    return _ew.where(u < keep, 1.0 / keep, 0.0).to(input.dtype) if keep > 0 else u * 0


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (training only).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> x = nr.ones(1000); y = F.dropout(x, 0.5)
        >>> sorted(set(y.tolist())), F.dropout(x, 0.5, training=False) is x
        ([0.0, 2.0], True)
    """
    _check_p("dropout", p)
    if not training or p == 0.0:
        return input
    return _inplace(input, input * _dropout_mask(input, tuple(input.shape), p), inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) or (C, H, W) input with probability ``p``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> y = F.dropout2d(nr.ones(2, 8, 3, 3), 0.5)
        >>> bool(((y.sum((2, 3)) == 0) | (y.sum((2, 3)) == 18)).all())
        True
    """
    _check_p("dropout2d", p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated "
                      "and will result in an error in a future release. To retain the behavior and "
                      "silence this warning, please use dropout instead.", UserWarning, stacklevel=2)
    if not training or p == 0.0:
        return input
    if input.ndim < 2:
        return dropout(input, p, training, inplace)
    # An unbatched (C, H, W) input drops channels of dim 0; batched inputs of dims 0-1.
    lead = 1 if input.ndim == 3 else 2
    shape = tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)
    return _inplace(input, input * _dropout_mask(input, shape, p), inplace)


# ------------------------------------------------------------- embedding
class Embedding(Function):
    """Row lookup; backward scatter-adds the output gradient into the table (index_add kernel)."""

    @staticmethod
    def forward(ctx, index, weight, padding_idx):
        b = backend(weight)
        flat = b.reshape_view(b.contiguous(index._data), (index.numel(),))
        rows = b.index_select(weight._data, 0, flat)
        ctx.save_for_backward(index)
        ctx.meta = (tuple(weight.shape), padding_idx)
        return wrap(b.reshape_view(rows, tuple(index.shape) + (weight.shape[1],)), weight._device, weight._dtype)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        shape, padding_idx = ctx.meta
        from ..ops.creation import zeros

        flat = index.reshape(-1)
        g2 = g.reshape(-1, shape[1])
        if padding_idx is not None:
            # The padding row receives no gradient: its rows of g are zeroed first.
            g2 = g2 * (flat != padding_idx).unsqueeze(1).to(g2.dtype)
        gw = zeros(shape, dtype=g.dtype, device=g.device).index_add(0, flat, g2)
        return None, gw, None


def embedding(input: Tensor, weight: Tensor, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` at the int64 indices ``input``; ``padding_idx`` gets no gradient.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.embedding(nr.tensor([[2, 0]]), nr.arange(6.0).reshape(3, 2))
        tensor([[[4., 5.],
                 [0., 1.]]])
    """
    if input.dtype not in (int64, int32):
        raise DTypeError(f"embedding(): expected indices of dtype int64 or int32, got {input.dtype}")
    if weight.ndim != 2:
        raise ShapeError(f"embedding(): weight must be 2-D (num_embeddings, embedding_dim), got {list(weight.shape)}")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding(): scale_grad_by_freq and sparse are not supported")
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding(): padding_idx must be within num_embeddings ({num}), got {padding_idx}")
        padding_idx = padding_idx % num
    index = input.to(int64)
    if index.numel():
        lo, hi = int(index.min()), int(index.max())
        if lo < 0 or hi >= num:
            raise TensorIndexError(f"embedding(): index {lo if lo < 0 else hi} is out of range for a table "
                                   f"of {num} embeddings")
    if max_norm is not None:
        _renorm_rows(weight, index, max_norm, norm_type)
    return Embedding.apply(index, weight, padding_idx)


def _renorm_rows(weight, index, max_norm, norm_type):
    """Rescale, in place, the looked-up rows whose norm exceeds ``max_norm`` (torch's max_norm)."""
    with no_grad():
        rows = index.reshape(-1).unique()
        sel = weight[rows]
        norms = sel.abs().pow(norm_type).sum(1).pow(1.0 / norm_type)
        scale = _ew.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight[rows] = sel * scale.unsqueeze(1)


# ------------------------------------------------------------------- pad
def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: Optional[float] = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left_last, right_last, left_prev, right_prev, ...)``.

    ``mode`` is ``'constant'`` (any number of dims, negative pads crop),
    ``'reflect'``, ``'replicate'`` or ``'circular'``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.pad(nr.tensor([[1.0, 2.0, 3.0]]), (2, 1), mode="reflect")
        tensor([[3., 2., 1., 2., 3., 2.]])
    """
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ShapeError(f"pad(): padding length must be even and at most 2 * input.ndim ({2 * input.ndim}), "
                         f"got {len(pad)}")
    if mode != "constant" and value not in (None, 0, 0.0):
        raise ValueError(f"pad(): padding mode {mode!r} doesn't take in value argument")
    out = input
    for i in range(len(pad) // 2):
        dim = input.ndim - 1 - i
        left, right = pad[2 * i], pad[2 * i + 1]
        if mode == "constant":
            out = _pad_constant(out, dim, left, right, 0.0 if value is None else value)
        elif mode in ("reflect", "replicate", "circular"):
            out = _pad_index(out, dim, left, right, mode)
        else:
            raise ValueError(f"pad(): unsupported padding mode {mode!r}; expected 'constant', 'reflect', "
                             "'replicate' or 'circular'")
    return out


def _pad_constant(x, dim, left, right, value):
    from ..ops.creation import full
    from ..ops.indexing import cat

    n = x.shape[dim]
    if left < 0 or right < 0:
        start, stop = max(-left, 0), n - max(-right, 0)
        if stop < start:
            raise ShapeError(f"pad(): cropping {-left}, {-right} from dim {dim} of size {n} leaves a negative size")
        x = x.narrow(dim, start, stop - start)
        left, right = max(left, 0), max(right, 0)
    parts = []
    for size in (left, None, right):
        if size is None:
            parts.append(x)
        elif size:
            shape = list(x.shape)
            shape[dim] = size
            parts.append(full(shape, value, dtype=x.dtype, device=x.device))
    return cat(parts, dim) if len(parts) > 1 else x


def _pad_index(x, dim, left, right, mode):
    from ..ops.creation import tensor

    n = x.shape[dim]
    if left < 0 or right < 0:
        raise ShapeError(f"pad(): negative padding is only supported in 'constant' mode, got {left}, {right}")
    if mode == "reflect" and (left >= n or right >= n):
        raise ShapeError(f"pad(): padding size should be less than the corresponding input dimension, "
                         f"but got: padding ({left}, {right}) at dimension {dim} of input {list(x.shape)}")
    if mode == "circular" and (left > n or right > n):
        raise ShapeError(f"pad(): padding value causes wrapping around more than once ({left}, {right} for size {n})")
    if n == 0:
        raise ShapeError(f"pad(): cannot {mode}-pad an empty dimension {dim}")
    idx = list(range(-left, n + right))
    if mode == "reflect":
        idx = [-i if i < 0 else (2 * (n - 1) - i if i >= n else i) for i in idx]
    elif mode == "replicate":
        idx = [min(max(i, 0), n - 1) for i in idx]
    else:
        idx = [i % n for i in idx]
    # index_select is differentiable: its backward scatter-adds the padded edges back.
    return x.index_select(dim, tensor(idx, dtype=int64, device=x.device))


# Convolution, pooling and normalisation functionals (another module, when present).
try:
    from . import _functional_conv as _conv
except ImportError as _exc:  # pragma: no cover - depends on which parts of nn are present
    # Only a missing file is skipped; a broken one must fail loudly.
    if getattr(_exc, "name", None) != f"{__name__.rpartition('.')[0]}._functional_conv":
        raise
    _conv = None
else:
    for _name in getattr(_conv, "__all__", ()):
        globals()[_name] = getattr(_conv, _name)
        if _name not in __all__:
            __all__.append(_name)

