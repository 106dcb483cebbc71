"""Resizing layers: ``Upsample``, ``UpsamplingNearest2d`` and ``UpsamplingBilinear2d``.

Each is a thin module around :func:`neurarust.nn.functional.interpolate`.

Example:
    >>> import neurarust as nr
    >>> from neurarust import nn
    >>> nn.Upsample(scale_factor=2)(nr.zeros(1, 3, 4, 4)).shape
    neurarust.Size([1, 3, 8, 8])
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

from .._functional_interpolate import interpolate
from .module import Module

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]

_Size = Union[int, Sequence[int]]
_Ratio = Union[float, Sequence[float]]


class Upsample(Module):
    """Resize (N, C, L), (N, C, H, W) or (N, C, D, H, W) inputs to ``size`` or by ``scale_factor``.

    ``mode`` is any ``interpolate`` mode: ``'nearest'``, ``'nearest-exact'``,
    ``'linear'``, ``'bilinear'``, ``'bicubic'``, ``'trilinear'``, ``'area'``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> up = nn.Upsample(scale_factor=2, mode="linear", align_corners=True)
        >>> up, up(nr.tensor([[[0.0, 3.0]]]))
        (Upsample(scale_factor=2.0, mode='linear'), tensor([[[0., 1., 2., 3.]]]))
    """

    def __init__(self, size: Optional[_Size] = None, scale_factor: Optional[_Ratio] = None,
                 mode: str = "nearest", align_corners: Optional[bool] = None,
                 recompute_scale_factor: Optional[bool] = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            # torch stores a falsy factor (0, 0.0) as None too.
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        """Resize ``input`` with this module's settings.

        Example:
            >>> import neurarust as nr
            >>> from neurarust import nn
            >>> nn.Upsample(size=3)(nr.tensor([[[1.0, 2.0]]]))
            tensor([[[1., 1., 2.]]])
        """
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        """``scale_factor`` (or ``size``) and ``mode``, as torch prints them.

        Example:
            >>> from neurarust import nn
            >>> nn.Upsample(size=(4, 6), mode="bilinear").extra_repr()
            "size=(4, 6), mode='bilinear'"
        """
        info = (f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None
                else f"size={self.size!r}")
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample`` with ``mode='nearest'`` for (N, C, H, W) inputs.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.UpsamplingNearest2d(scale_factor=2)(nr.tensor([[[[1.0, 2.0]]]]))
        tensor([[[[1., 1., 2., 2.],
                  [1., 1., 2., 2.]]]])
    """

    def __init__(self, size: Optional[_Size] = None, scale_factor: Optional[_Ratio] = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample`` with ``mode='bilinear'`` and ``align_corners=True`` for (N, C, H, W) inputs.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> nn.UpsamplingBilinear2d(size=(1, 3))(nr.tensor([[[[0.0, 2.0]]]]))
        tensor([[[[0., 1., 2.]]]])
    """

    def __init__(self, size: Optional[_Size] = None, scale_factor: Optional[_Ratio] = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
