"""Pooling layers: max, average and adaptive average pooling in 1-D and 2-D.

Example:
    >>> import neurarust as nr
    >>> from neurarust import nn
    >>> nn.MaxPool2d(2)(nr.zeros(1, 3, 28, 28)).shape
    neurarust.Size([1, 3, 14, 14])
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

from .. import _functional_conv as F
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d"]

_Size = Union[int, Sequence[int]]


class _MaxPoolNd(Module):
    def __init__(self, kernel_size: _Size, stride: Optional[_Size] = None, padding: _Size = 0,
                 dilation: _Size = 1, return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling (``return_indices=True`` also returns the argmax positions).

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.MaxPool1d(2, return_indices=True)(nr.tensor([[[1.0, 4.0, 3.0, 2.0]]]))
        (tensor([[[4., 3.]]]), tensor([[[1, 2]]]))
    """

    def forward(self, input):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling.

    Example:
        >>> from neurarust import nn
        >>> nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)
    """

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool1d(Module):
    """1-D average pooling.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.AvgPool1d(2)(nr.tensor([[[1.0, 3.0, 5.0, 7.0]]]))
        tensor([[[2., 6.]]])
    """

    def __init__(self, kernel_size: _Size, stride: Optional[_Size] = None, padding: _Size = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


def _single(v):
    return (v,) if isinstance(v, int) else tuple(v)


class AvgPool2d(Module):
    """2-D average pooling (``count_include_pad``, ``ceil_mode``, ``divisor_override``).

    Example:
        >>> from neurarust import nn
        >>> nn.AvgPool2d(2, stride=1, padding=1)
        AvgPool2d(kernel_size=2, stride=1, padding=1)
    """

    def __init__(self, kernel_size: _Size, stride: Optional[_Size] = None, padding: _Size = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: Optional[int] = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool1d(Module):
    """Average pooling to a fixed output length.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.AdaptiveAvgPool1d(1)(nr.tensor([[[1.0, 2.0, 6.0]]]))
        tensor([[[3.]]])
    """

    def __init__(self, output_size: _Size) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (``None`` keeps that input size).

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> pool = nn.AdaptiveAvgPool2d((1, None)); pool, pool(nr.zeros(2, 3, 5, 7)).shape
        (AdaptiveAvgPool2d(output_size=(1, None)), neurarust.Size([2, 3, 1, 7]))
    """

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)
