"""Loss modules: each stores its options and calls the ``neurarust.nn.functional`` loss."""
from __future__ import annotations

from typing import Optional

from ..._core.tensor_base import TensorBase
from .. import _functional_loss as F
from .module import Module

__all__ = ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
           "BCEWithLogitsLoss", "KLDivLoss"]


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        # torch resolves the legacy flags once, at construction.
        if size_average is not None or reduce is not None:
            reduction = F._reduction(type(self).__name__, size_average, reduce, reduction)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight: Optional[TensorBase] = None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.MSELoss()(nr.tensor([1.0, 3.0]), nr.tensor([0.0, 0.0]))
        tensor(5.)
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.L1Loss(reduction="sum")(nr.tensor([1.0, -3.0]), nr.tensor([0.0, 0.0]))
        tensor(4.)
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic below ``beta``, linear above.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.SmoothL1Loss(beta=0.5)(nr.tensor([0.25, 2.0]), nr.tensor([0.0, 0.0]))
        tensor(0.9062)
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Quadratic below ``delta``, linear (slope ``delta``) above.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.HuberLoss(delta=2.0)(nr.tensor([1.0, 4.0]), nr.tensor([0.0, 0.0]))
        tensor(3.2500)
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy on logits, with class-index or probability targets.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.CrossEntropyLoss()(nr.zeros(2, 4), nr.tensor([1, 3]))
        tensor(1.3863)
    """

    def __init__(self, weight: Optional[TensorBase] = None, size_average=None, ignore_index: int = -100,
                 reduce=None, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities at class indices.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.NLLLoss()(nr.tensor([[-1.0, -2.0]]), nr.tensor([1]))
        tensor(2.)
    """

    def __init__(self, weight: Optional[TensorBase] = None, size_average=None, ignore_index: int = -100,
                 reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.BCELoss()(nr.tensor([0.5]), nr.tensor([1.0]))
        tensor(0.6931)
    """

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy, stable; ``pos_weight`` weighs the positive term.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.BCEWithLogitsLoss(pos_weight=nr.tensor([2.0]))(nr.tensor([0.0]), nr.tensor([1.0]))
        tensor(1.3863)
    """

    def __init__(self, weight: Optional[TensorBase] = None, size_average=None, reduce=None,
                 reduction: str = "mean", pos_weight: Optional[TensorBase] = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence; ``input`` holds log-probabilities.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.KLDivLoss(reduction="batchmean")(nr.tensor([[0.5, 0.5]]).log(), nr.tensor([[0.25, 0.75]]))
        tensor(0.1308)
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
