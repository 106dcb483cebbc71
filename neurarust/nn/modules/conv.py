"""Convolution layers: ``Conv1d``, ``Conv2d`` and ``ConvTranspose2d``.

Weights start Kaiming-uniform (``a = sqrt(5)``) and biases uniform in
``(-1/sqrt(fan_in), 1/sqrt(fan_in))``, as in torch.  ``Conv1d`` and
``Conv2d`` take every torch ``padding_mode`` (``'zeros'``, ``'reflect'``,
``'replicate'``, ``'circular'``); the transposed convolution only ``'zeros'``.

Example:
    >>> import neurarust as nr
    >>> from neurarust import nn
    >>> nn.Conv2d(1, 32, 3, padding=1)(nr.zeros(2, 1, 28, 28)).shape
    neurarust.Size([2, 32, 28, 28])
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

from ...ops.creation import empty
from .. import _functional_conv as F
from .. import init
from ..functional import pad
from ..parameter import Parameter
from .module import Module

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d"]

_Size = Union[int, Sequence[int]]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v, n: int) -> Tuple[int, ...]:
    if isinstance(v, int):
        return (v,) * n
    v = tuple(int(i) for i in v)
    return v * n if len(v) == 1 else v


class _ConvNd(Module):
    _dims = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _Size, stride: _Size = 1,
                 padding: Union[_Size, str] = 0, dilation: _Size = 1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None,
                 output_padding: _Size = 0) -> None:
        super().__init__()
        n = self._dims
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.stride = _ntuple(stride, n)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                                 f"{{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, n)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {{{', '.join(map(repr, _PADDING_MODES))}}}, "
                             f"but got padding_mode='{padding_mode}'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _ntuple(kernel_size, n)
        self.dilation = _ntuple(dilation, n)
        self.output_padding = _ntuple(output_padding, n)
        self.transposed = self._transposed
        self.groups = groups
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = self._explicit_padding()
        if self._transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(empty(shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _explicit_padding(self):
        """``F.pad`` argument (last dim first, left then right) equal to ``self.padding``, as torch stores it.

        ``'same'`` puts any odd remainder of ``dilation * (kernel - 1)`` after
        the input, like the zero-padded convolution does.
        """
        if not isinstance(self.padding, str):
            return tuple(p for p in reversed(self.padding) for _ in range(2))
        explicit = [0, 0] * self._dims
        if self.padding == "same":
            for i, (d, k) in enumerate(zip(reversed(self.dilation), reversed(self.kernel_size))):
                total = d * (k - 1)
                explicit[2 * i], explicit[2 * i + 1] = total // 2, total - total // 2
        return explicit

    def _conv_forward(self, conv, input):
        if self.padding_mode == "zeros":
            return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)
        padded = pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
        return conv(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def reset_parameters(self) -> None:
        """Kaiming-uniform weight (a = sqrt(5)) and uniform(+-1/sqrt(fan_in)) bias, as in torch."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        n = self._dims
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) or (C_in, L) inputs.

    Example:
        >>> from neurarust import nn
        >>> nn.Conv1d(4, 8, 3, stride=2, bias=False)
        Conv1d(4, 8, kernel_size=(3,), stride=(2,), bias=False)
    """

    _dims = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _Size, stride: _Size = 1,
                 padding: Union[_Size, str] = 0, dilation: _Size = 1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype)

    def forward(self, input):
        return self._conv_forward(F.conv1d, input)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) or (C_in, H, W) inputs.

    Example:
        >>> from neurarust import nn
        >>> nn.Conv2d(3, 6, (3, 5), padding="same", groups=3, padding_mode="reflect")
        Conv2d(3, 6, kernel_size=(3, 5), stride=(1, 1), padding=same, groups=3, padding_mode=reflect)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _Size, stride: _Size = 1,
                 padding: Union[_Size, str] = 0, dilation: _Size = 1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype)

    def forward(self, input):
        return self._conv_forward(F.conv2d, input)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution; ``weight`` is (C_in, C_out/groups, kH, kW).

    ``forward(input, output_size=None)``: ``output_size`` picks the output
    padding that gives that size, as in torch.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> up = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        >>> up, up(nr.zeros(1, 8, 5, 5)).shape
        (ConvTranspose2d(8, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1)), neurarust.Size([1, 4, 10, 10]))
    """

    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _Size, stride: _Size = 1,
                 padding: _Size = 0, output_padding: _Size = 0, groups: int = 1, bias: bool = True,
                 dilation: _Size = 1, padding_mode: str = "zeros", device=None, dtype=None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        if isinstance(padding, str):
            raise ValueError("ConvTranspose2d: padding must be an int or a tuple of ints")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype, output_padding)

    def forward(self, input, output_size: Optional[Sequence[int]] = None):
        output_padding = self.output_padding
        if output_size is not None:
            out = tuple(output_size)[-2:]
            low = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                   zip(input.shape[-2:], self.stride, self.padding, self.dilation, self.kernel_size)]
            output_padding = tuple(o - lo for o, lo in zip(out, low))
            if any(op < 0 or op >= s for op, s in zip(output_padding, self.stride)):
                raise ValueError(f"requested an output size of {list(out)}, but valid sizes range "
                                 f"from {low} to {[lo + s - 1 for lo, s in zip(low, self.stride)]} "
                                 f"(for an input of {list(input.shape[-2:])})")
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)
