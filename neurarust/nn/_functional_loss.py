"""Loss functions of ``neurarust.nn.functional`` (torch's names, defaults and reductions).

``cross_entropy`` with class indices runs the fused kernel of
``neurarust/_core/nn_kernels.pyx`` through the backend: one pass over the
logits forward (log-sum-exp, gather, per-row losses) and one backward
(``softmax - one_hot``, scaled).  Every other loss is a short composition of
differentiable ops.

Example:
    >>> import neurarust as nr
    >>> from neurarust.nn import functional as F
    >>> F.cross_entropy(nr.zeros(2, 4), nr.tensor([0, 3]))
    tensor(1.3863)
"""
from __future__ import annotations

import math
import warnings
from typing import Optional

from .._core.tensor_base import TensorBase
from ..autograd.function import Function
from ..autograd.grad_mode import GradMode
from ..dtypes import float16, float32, int64
from ..errors import DTypeError, ShapeError, TensorIndexError
from ..ops._util import backend, wrap

Tensor = TensorBase

__all__ = [
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
]

_REDUCTIONS = ("none", "mean", "sum")


# ------------------------------------------------------------------ helpers
def _reduction(op, size_average, reduce, reduction, allowed=_REDUCTIONS):
    """torch's legacy ``size_average``/``reduce`` flags override ``reduction`` when given."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in allowed:
        raise ValueError(f"{op}(): {reduction!r} is not a valid value for reduction "
                         f"(expected one of {', '.join(map(repr, allowed))})")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_tensor(op, name, x):
    if not isinstance(x, TensorBase):
        raise TypeError(f"{op}(): argument '{name}' must be a Tensor, not {type(x).__name__}")


def _check_float(op, name, x):
    _check_tensor(op, name, x)
    if not x.dtype.is_floating_point:
        raise DTypeError(f"{op}(): expected a floating point {name}, got {x.dtype}")


def _pair(op, input, target, same_shape):
    """Checks an (input, target) pair of a pointwise loss; warns on broadcasting as torch does."""
    _check_float(op, "input", input)
    _check_tensor(op, "target", target)
    if tuple(input.shape) != tuple(target.shape):
        if same_shape:
            raise ShapeError(
                f"{op}(): using a target size ({list(target.shape)}) that is different to the input "
                f"size ({list(input.shape)}) is not supported; please ensure they have the same size"
            )
        warnings.warn(
            f"{op}(): using a target size ({list(target.shape)}) that is different to the input size "
            f"({list(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", UserWarning, stacklevel=3)
    if not target.dtype.is_floating_point:
        target = target.to(input.dtype)
    return target


def _safe_div(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or a != a else math.copysign(math.inf, a)
    return a / b


# ------------------------------------------------------------ regression
def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: Optional[Tensor] = None) -> Tensor:
    """Mean squared error ``(input - target) ** 2``, reduced.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.mse_loss(nr.tensor([1.0, 2.0]), nr.tensor([0.0, 0.0]))
        tensor(2.5000)
    """
    reduction = _reduction("mse_loss", size_average, reduce, reduction)
    target = _pair("mse_loss", input, target, False)
    loss = (input - target).square()
    return _reduce(loss if weight is None else loss * weight, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight: Optional[Tensor] = None) -> Tensor:
    """Mean absolute error ``|input - target|``, reduced.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.l1_loss(nr.tensor([1.0, -3.0]), nr.tensor([0.0, 0.0]), reduction="sum")
        tensor(4.)
    """
    reduction = _reduction("l1_loss", size_average, reduce, reduction)
    target = _pair("l1_loss", input, target, False)
    loss = (input - target).abs()
    return _reduce(loss if weight is None else loss * weight, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input - target``).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.smooth_l1_loss(nr.tensor([0.5, 3.0]), nr.tensor([0.0, 0.0]), reduction="none")
        tensor([0.1250, 2.5000])
    """
    reduction = _reduction("smooth_l1_loss", size_average, reduce, reduction)
    target = _pair("smooth_l1_loss", input, target, False)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss(): beta must be non-negative, got {beta}")
    d = input - target
    ad = d.abs()
    if beta == 0:
        return _reduce(ad, reduction)
    from ..ops.elementwise import where

    return _reduce(where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Optional[Tensor] = None) -> Tensor:
    """``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.huber_loss(nr.tensor([0.5, 3.0]), nr.tensor([0.0, 0.0]), reduction="none", delta=2.0)
        tensor([0.1250, 4.0000])
    """
    reduction = _reduction("huber_loss", None, None, reduction)
    target = _pair("huber_loss", input, target, False)
    if delta <= 0:
        raise ValueError(f"huber_loss(): delta must be positive, got {delta}")
    from ..ops.elementwise import where

    d = input - target
    ad = d.abs()
    loss = where(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    return _reduce(loss if weight is None else loss * weight, reduction)


# --------------------------------------------------------- classification
def _check_weight(op, weight, classes, dtype):
    if weight is None:
        return None
    _check_float(op, "weight", weight)
    if weight.ndim != 1 or weight.shape[0] != classes:
        raise ShapeError(f"{op}(): expected weight to be a 1-D tensor of size {classes} (one per class), "
                         f"got shape {list(weight.shape)}")
    return weight.detach().to(dtype)


def _check_class_target(op, input, target, class_dim):
    if target.dtype.is_floating_point or target.dtype is not int64:
        raise DTypeError(f"{op}(): expected target of dtype int64 (class indices) for input of shape "
                         f"{list(input.shape)}, got {target.dtype}")
    expected = tuple(input.shape[:class_dim]) + tuple(input.shape[class_dim + 1:])
    if tuple(target.shape) != expected:
        if input.ndim >= 2 and target.ndim >= 1 and target.shape[0] != input.shape[0]:
            raise ShapeError(f"{op}(): expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({target.shape[0]})")
        raise ShapeError(f"{op}(): expected target of shape {list(expected)} for input of shape "
                         f"{list(input.shape)}, got {list(target.shape)}")


def _out_of_range(op, target, ignore_index, classes):
    bad = ((target < 0) | (target >= classes)) & (target != ignore_index)
    if bool(bad.any()):
        value = int(target[bad].reshape(-1)[0])
        raise TensorIndexError(f"{op}(): Target {value} is out of bounds: expected class indices in "
                               f"[0, {classes - 1}] (or ignore_index={ignore_index})")


class CrossEntropy(Function):
    """Fused log-softmax + NLL + label smoothing over (N, C) logits and (N,) int64 targets."""

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction, ls):
        b = backend(x)
        dtype = x._dtype
        cdt = float32 if dtype is float16 else dtype
        xd = x._data if cdt is dtype else b.cast(x._data, cdt.numpy)
        wd = None if weight is None else b.contiguous(weight._data)
        try:
            lse, loss, nll, sm, wt = b.cross_entropy_forward(xd, target._data, wd, ignore_index, ls)
        except IndexError as e:
            raise TensorIndexError(f"cross_entropy(): {e}") from None
        n, classes = xd.shape
        ca, cb = 1.0 - ls, ls / classes
        if reduction == "none":
            out = loss
        else:
            def total(a):
                return float(b.to_numpy(b.reduce("sum", a, (0,), a.dtype)))

            s_nll, s_sm = total(nll), (total(sm) if ls else 0.0)
            if reduction == "mean":
                s_wt = total(wt)
                # Both terms are normalised by the total weight of the non-ignored targets.
                value = ca * _safe_div(s_nll, s_wt) + (cb * _safe_div(s_sm, s_wt) if ls else 0.0)
                ca, cb = _safe_div(ca, s_wt), _safe_div(cb, s_wt)
            else:
                value = ca * s_nll + cb * s_sm
            out = b.full((), value, cdt.numpy)
        if cdt is not dtype:
            out = b.cast(out, dtype.numpy)
        ctx.save_for_backward(x, target, weight)
        ctx.meta = (lse, ignore_index, reduction, ca, cb)
        return wrap(out, x._device, dtype)

    @staticmethod
    def backward(ctx, g):
        x, target, weight = ctx.saved_tensors
        lse, ignore_index, reduction, ca, cb = ctx.meta
        if GradMode.enabled:  # create_graph: a graph of differentiable ops instead of the kernel
            return _cross_entropy_grad_graph(x, target, weight, ignore_index, g, reduction, ca, cb), \
                None, None, None, None, None
        b = backend(x)
        dtype = x._dtype
        cdt = float32 if dtype is float16 else dtype
        xd = x._data if cdt is dtype else b.cast(x._data, cdt.numpy)
        gd = g._data if g._dtype is cdt else b.cast(g._data, cdt.numpy)
        wd = None if weight is None else b.contiguous(weight._data)
        if reduction == "none":
            gx = b.cross_entropy_backward(xd, target._data, wd, ignore_index, lse, gd, ca, cb)
        else:
            s = float(b.to_numpy(gd))
            gx = b.cross_entropy_backward(xd, target._data, wd, ignore_index, lse, None, ca * s, cb * s)
        if cdt is not dtype:
            gx = b.cast(gx, dtype.numpy)
        return wrap(gx, x._device, dtype), None, None, None, None, None


def _cross_entropy_grad_graph(x, target, weight, ignore_index, g, reduction, ca, cb):
    """The kernel's backward formula written with differentiable ops (for double backward)."""
    from ..ops.elementwise import where
    from ..ops.reduction import softmax

    n, classes = x.shape
    valid = target != ignore_index
    safe_t = where(valid, target, 0)
    validf = valid.to(x.dtype)
    wt = validf if weight is None else weight[safe_t] * validf
    total_w = float(classes) if weight is None else weight.sum()
    rows = g if reduction == "none" else g.expand(n)
    a = rows * ca * wt
    b_ = rows * cb * validf
    onehot = one_hot(safe_t, classes).to(x.dtype)
    smooth_w = b_.unsqueeze(1) if weight is None else b_.unsqueeze(1) * weight.unsqueeze(0)
    return softmax(x, 1) * (a + b_ * total_w).unsqueeze(1) - smooth_w - onehot * a.unsqueeze(1)


def cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits ``input`` (C), (N, C) or (N, C, d1, ...) and class indices or probabilities.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> x = nr.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        >>> F.cross_entropy(x, nr.tensor([0, 2]), reduction="none")
        tensor([0.2395, 1.0986])
        >>> F.cross_entropy(x, nr.tensor([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]), label_smoothing=0.1)
        tensor(0.7357)
    """
    op = "cross_entropy"
    reduction = _reduction(op, size_average, reduce, reduction)
    _check_float(op, "input", input)
    _check_tensor(op, "target", target)
    if input.ndim == 0:
        raise ShapeError(f"{op}(): input must have at least 1 dimension (C) or 2 (N, C), got a 0-d tensor")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}(): label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    class_dim = 0 if input.ndim == 1 else 1
    classes = input.shape[class_dim]
    weight = _check_weight(op, weight, classes, input.dtype)
    if target.dtype.is_floating_point:
        return _cross_entropy_probs(input, target, weight, ignore_index, reduction, label_smoothing, class_dim)
    _check_class_target(op, input, target, class_dim)
    if input.ndim == 1:
        x2, t = input.unsqueeze(0), target.reshape(1)
    elif input.ndim == 2:
        x2, t = input, target
    else:
        x2, t = input.movedim(1, -1).reshape(-1, classes), target.reshape(-1)
    out = CrossEntropy.apply(x2, t, weight, int(ignore_index), reduction, float(label_smoothing))
    return out.reshape(tuple(target.shape)) if reduction == "none" else out


def _cross_entropy_probs(input, target, weight, ignore_index, reduction, ls, class_dim):
    op = "cross_entropy"
    if tuple(target.shape) != tuple(input.shape):
        raise ShapeError(f"{op}(): a probability target must have the input's shape {list(input.shape)}, "
                         f"got {list(target.shape)}")
    if ignore_index != -100:
        raise ValueError(f"{op}(): ignore_index is not supported for floating point (probability) targets")
    from ..ops.reduction import log_softmax

    classes = input.shape[class_dim]
    logp = log_softmax(input, class_dim)
    if ls:
        target = target * (1.0 - ls) + ls / classes
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape((classes,) + (1,) * (input.ndim - class_dim - 1))
    loss = -prod.sum(class_dim)
    return _reduce(loss, reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Optional[Tensor] = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (C), (N, C) or (N, C, d1, ...) at class indices.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.nll_loss(nr.tensor([[-1.0, -2.0], [-3.0, -4.0]]), nr.tensor([1, 0]))
        tensor(2.5000)
    """
    op = "nll_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _check_float(op, "input", input)
    _check_tensor(op, "target", target)
    if input.ndim == 0:
        raise ShapeError(f"{op}(): input must have at least 1 dimension, got a 0-d tensor")
    class_dim = 0 if input.ndim == 1 else 1
    classes = input.shape[class_dim]
    weight = _check_weight(op, weight, classes, input.dtype)
    _check_class_target(op, input, target, class_dim)
    _out_of_range(op, target, ignore_index, classes)
    from ..ops.elementwise import where

    valid = target != ignore_index
    safe_t = where(valid, target, 0)
    picked = input.gather(class_dim, safe_t.unsqueeze(class_dim)).squeeze(class_dim)
    wt = valid.to(input.dtype) if weight is None else weight[safe_t] * valid.to(input.dtype)
    loss = -picked * wt
    if reduction == "mean":
        return loss.sum() / wt.sum()
    return _reduce(loss, reduction)


class BinaryCrossEntropy(Function):
    """``-(y log x + (1 - y) log(1 - x))`` with logs clamped at -100, and torch's gradient."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return -(y * x.log().clamp(min=-100.0) + (1 - y) * (1 - x).log().clamp(min=-100.0))

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        nx, ny = ctx.needs_input_grad
        # eps keeps the gradient finite at x = 0 or 1, where the clamped loss is flat.
        gx = g * (x - y) / (x * (1 - x)).clamp(min=1e-12) if nx else None
        gy = g * ((1 - x).log().clamp(min=-100.0) - x.log().clamp(min=-100.0)) if ny else None
        return gx, gy


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy between probabilities ``input`` and ``target`` (same shape).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.binary_cross_entropy(nr.tensor([0.5, 0.9]), nr.tensor([1.0, 1.0]), reduction="none")
        tensor([0.6931, 0.1054])
    """
    op = "binary_cross_entropy"
    reduction = _reduction(op, size_average, reduce, reduction)
    if isinstance(target, TensorBase) and not target.dtype.is_floating_point:
        raise DTypeError(f"{op}(): expected a floating point target, got {target.dtype}")
    target = _pair(op, input, target, True)
    with_grad = input.detach()
    if bool(((with_grad < 0) | (with_grad > 1)).any()):
        raise ValueError(f"{op}(): all elements of input should be between 0 and 1")
    loss = BinaryCrossEntropy.apply(input, target.to(input.dtype))
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Optional[Tensor] = None) -> Tensor:
    """Sigmoid + binary cross-entropy in one numerically stable expression.

    ``loss = (1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)``, times ``weight``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.binary_cross_entropy_with_logits(nr.tensor([0.0, 100.0]), nr.tensor([1.0, 0.0]), reduction="none")
        tensor([  0.6931, 100.0000])
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(op, size_average, reduce, reduction)
    target = _pair(op, input, target, True)
    from ..ops.elementwise import softplus

    target = target.to(input.dtype)
    # softplus(-x) = -log(sigmoid(x)); its own threshold keeps large |x| exact and stable.
    sp = softplus(-input)
    if pos_weight is None:
        loss = (1 - target) * input + sp
    else:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * sp
    return _reduce(loss if weight is None else loss * weight, reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence with ``input`` given as log-probabilities.

    ``reduction='batchmean'`` divides the sum by the batch size (the mathematically right mean).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.kl_div(nr.tensor([0.5, 0.5]).log(), nr.tensor([0.25, 0.75]), reduction="sum")
        tensor(0.1308)
    """
    op = "kl_div"
    reduction = _reduction(op, size_average, reduce, reduction, _REDUCTIONS + ("batchmean",))
    target = _pair(op, input, target, False)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support "
                      "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
                      "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
                      "major release.", UserWarning, stacklevel=2)
    from ..ops.elementwise import where

    if log_target:
        loss = target.exp() * (target - input)
    else:
        # xlogy: 0 where target == 0 (its log would be -inf); log(1) keeps that branch's gradient 0.
        safe = where(target == 0, 1.0, target)
        loss = target * safe.log() - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding: a new last dim of size ``num_classes`` (max + 1 when -1).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn import functional as F
        >>> F.one_hot(nr.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    _check_tensor("one_hot", "tensor", tensor)
    if tensor.dtype is not int64:
        raise DTypeError(f"one_hot(): one_hot is only applicable to index tensor of dtype int64, got {tensor.dtype}")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise ValueError("one_hot(): can not infer total number of classes from empty tensor")
        num_classes = int(tensor.max()) + 1
    if tensor.numel():
        lo, hi = int(tensor.min()), int(tensor.max())
        if lo < 0:
            raise TensorIndexError(f"one_hot(): class values must be non-negative, got {lo}")
        if hi >= num_classes:
            raise TensorIndexError(
                f"one_hot(): class values must be smaller than num_classes ({num_classes}), got {hi}")
    from ..ops.creation import zeros

    out = zeros(tuple(tensor.shape) + (num_classes,), dtype=int64, device=tensor.device)
    return out.scatter_(-1, tensor.unsqueeze(-1), 1)
