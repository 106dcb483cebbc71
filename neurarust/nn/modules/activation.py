"""Activation modules: thin wrappers over ``neurarust.nn.functional`` with torch's reprs."""
from __future__ import annotations

from typing import Optional

from .. import functional as F
from .module import Module

__all__ = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh",
           "Hardtanh", "Softplus", "Softmax", "LogSoftmax"]


class _Inplace(Module):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    """``max(x, 0)``; ``inplace=True`` overwrites the input.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.ReLU()(nr.tensor([-1.0, 2.0])), nn.ReLU(inplace=True)
        (tensor([0., 2.]), ReLU(inplace=True))
    """

    def forward(self, input):
        return F.relu(input, inplace=self.inplace)


class SiLU(_Inplace):
    """``x * sigmoid(x)``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.SiLU()(nr.tensor([0.0]))
        tensor([0.])
    """

    def forward(self, input):
        return F.silu(input, inplace=self.inplace)


class Mish(_Inplace):
    """``x * tanh(softplus(x))``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.Mish()(nr.tensor([0.0]))
        tensor([0.])
    """

    def forward(self, input):
        return F.mish(input, inplace=self.inplace)


class Hardtanh(Module):
    """``clamp(x, min_val, max_val)``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.Hardtanh(-2.0, 2.0), nn.Hardtanh()(nr.tensor([3.0]))
        (Hardtanh(min_val=-2.0, max_val=2.0), tensor([1.]))
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if max_val <= min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    """``min(max(x, 0), 6)``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.ReLU6(), nn.ReLU6()(nr.tensor([7.0]))
        (ReLU6(), tensor([6.]))
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x`` where ``x > 0`` else ``negative_slope * x``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.LeakyReLU(0.2), nn.LeakyReLU(0.5)(nr.tensor([-2.0]))
        (LeakyReLU(negative_slope=0.2), tensor([-1.]))
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """``x`` where ``x > 0`` else ``alpha * (exp(x) - 1)``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.ELU(), nn.ELU()(nr.tensor([1.0]))
        (ELU(alpha=1.0), tensor([1.]))
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """Gaussian error linear unit; ``approximate='tanh'`` for the tanh formula.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.GELU(), nn.GELU()(nr.tensor([0.0]))
        (GELU(approximate='none'), tensor([0.]))
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.Sigmoid()(nr.tensor([0.0]))
        tensor([0.5000])
    """

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """Hyperbolic tangent.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.Tanh()(nr.tensor([0.0]))
        tensor([0.])
    """

    def forward(self, input):
        return F.tanh(input)


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, linear above ``threshold``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.Softplus(), nn.Softplus()(nr.tensor([0.0]))
        (Softplus(beta=1.0, threshold=20.0), tensor([0.6931]))
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """Softmax along ``dim``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.Softmax(dim=1), nn.Softmax(dim=0)(nr.tensor([0.0, 0.0]))
        (Softmax(dim=1), tensor([0.5000, 0.5000]))
    """

    def __init__(self, dim: Optional[int] = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """Log-softmax along ``dim``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.LogSoftmax(dim=0)(nr.tensor([0.0, 0.0]))
        tensor([-0.6931, -0.6931])
    """

    def __init__(self, dim: Optional[int] = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.log_softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
