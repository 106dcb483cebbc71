"""Resizing for ``nn.functional``: ``interpolate``, written with differentiable tensor ops.

Example:
    >>> import neurarust as nr
    >>> from neurarust.nn._functional_interpolate import interpolate
    >>> interpolate(nr.tensor([[[[1.0, 2.0]]]]), scale_factor=2).tolist()
    [[[[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]]]
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import numpy as np

from ..ops._util import wrap

__all__ = ["interpolate"]


def _source_scale(n_in, n_out, align_corners, scale_factor):
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale_factor if scale_factor is not None else n_in / n_out


def _axis_nearest(x, dim, n_out, scale_factor):
    n_in = x.shape[dim]
    scale = np.float32(_source_scale(n_in, n_out, False, scale_factor))
    # torch computes the source index in float32: floor(dst * scale), clipped
    src = np.minimum(np.floor(np.arange(n_out, dtype=np.float32) * scale).astype(np.int64), n_in - 1)
    return x.index_select(dim, wrap(src, x._device))


def _axis_linear(x, dim, n_out, align_corners, scale_factor):
    n_in = x.shape[dim]
    scale = _source_scale(n_in, n_out, align_corners, scale_factor)
    dst = np.arange(n_out, dtype=np.float64)
    src = dst * scale if align_corners else np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    lam = (src - lo).astype(x._dtype.numpy)
    shape = [1] * x.ndim
    shape[dim] = n_out
    lam_t = wrap(lam.reshape(shape), x._device)
    a = x.index_select(dim, wrap(lo, x._device))
    b = x.index_select(dim, wrap(hi, x._device))
    return a + (b - a) * lam_t


def interpolate(input, size: Optional[Union[int, Sequence[int]]] = None,
                scale_factor: Optional[Union[float, Sequence[float]]] = None, mode: str = "nearest",
                align_corners: Optional[bool] = None, recompute_scale_factor: Optional[bool] = None,
                antialias: bool = False):
    """Resizes an (N, C, H, W) input with ``'nearest'`` or ``'bilinear'`` sampling.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn._functional_interpolate import interpolate
        >>> interpolate(nr.tensor([[[[1.0, 2.0]]]]), scale_factor=2, mode="bilinear")
        tensor([[[[1.0000, 1.2500, 1.7500, 2.0000],
                  [1.0000, 1.2500, 1.7500, 2.0000]]]])
    """
    if mode not in ("nearest", "bilinear"):
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented (use 'nearest' or 'bilinear')")
    if input.ndim != 4:
        raise NotImplementedError(f"interpolate: only 4-D (N, C, H, W) inputs are supported, got "
                                  f"{input.ndim}D input of size {list(input.shape)}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    hw = tuple(input.shape[2:])
    if size is not None:
        out = (size, size) if isinstance(size, int) else tuple(int(s) for s in size)
        scales = (None, None)
    else:
        scales = (scale_factor,) * 2 if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        out = tuple(int(math.floor(n * s)) for n, s in zip(hw, scales))
        if recompute_scale_factor:
            scales = (None, None)
    if len(out) != 2 or min(out) < 1:
        raise ValueError(f"interpolate: invalid output size {out} for input {list(input.shape)}")
    y = input
    for dim, n_out, sf in ((2, out[0], scales[0]), (3, out[1], scales[1])):
        if mode == "nearest":
            y = _axis_nearest(y, dim, n_out, sf)
        else:
            y = _axis_linear(y, dim, n_out, bool(align_corners), sf)
    return y
