"""``Dropout`` and ``Dropout2d``: random zeroing in training mode, identity in eval mode."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout2d"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero elements with probability ``p`` and scale the rest by ``1 / (1 - p)`` while training.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> d = nn.Dropout(0.25); d
        Dropout(p=0.25, inplace=False)
        >>> x = nr.ones(4); d.eval()(x) is x
        True
    """

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) or (C, H, W) input with probability ``p`` while training.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> y = nn.Dropout2d(0.5)(nr.ones(1, 6, 2, 2))
        >>> sorted(set(y.sum((0, 2, 3)).tolist()) - {0.0, 8.0})
        []
    """

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)
