"""``Identity``, ``Linear`` and ``Bilinear`` layers (torch's defaults and initialisation)."""
from __future__ import annotations

import math
from typing import Any

from ...ops.creation import empty
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear"]


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> x = nr.ones(2); nn.Identity(54, unused="x")(x) is x
        True
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """``y = x @ weight.T + bias`` with ``weight`` (out_features, in_features).

    Weights start Kaiming-uniform (``a = sqrt(5)``) and the bias uniform in
    ``(-1/sqrt(in_features), 1/sqrt(in_features))``, as in torch.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> m = nn.Linear(3, 2); m
        Linear(in_features=3, out_features=2, bias=True)
        >>> m(nr.ones(4, 3)).shape, m.weight.shape
        (neurarust.Size([4, 2]), neurarust.Size([2, 3]))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in_features), device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weights and bias with torch's default initialisation."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """``y = x1 @ weight[o] @ x2 + bias[o]`` with ``weight`` (out, in1, in2).

    Weights and bias start uniform in ``(-1/sqrt(in1_features), 1/sqrt(in1_features))``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> m = nn.Bilinear(3, 4, 5); m
        Bilinear(in1_features=3, in2_features=4, out_features=5, bias=True)
        >>> m(nr.ones(2, 3), nr.ones(2, 4)).shape
        neurarust.Size([2, 5])
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in1_features, in2_features), device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw weight and bias uniformly in ``(-1/sqrt(in1), 1/sqrt(in1))``."""
        bound = 1 / math.sqrt(self.weight.shape[1]) if self.weight.shape[1] else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
