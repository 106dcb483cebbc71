"""Resizing for ``nn.functional``: ``interpolate``, written with differentiable tensor ops.

Every mode is separable: each spatial axis is resampled on its own as a
weighted sum of a few gathered input rows (``index_select``), so autograd
(double backward included) comes for free.  The sampling positions and
weights copy torch's CPU kernels, including their float32 index arithmetic,
so the same input picks the same source pixels as in torch.

Example:
    >>> import neurarust as nr
    >>> from neurarust.nn._functional_interpolate import interpolate
    >>> interpolate(nr.tensor([[[[1.0, 2.0]]]]), scale_factor=2).tolist()
    [[[[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]]]
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import DTypeError, ShapeError
from ..ops._util import is_tensor
from ..ops.creation import tensor

__all__ = ["interpolate"]

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_INPUT_NDIM_OF_LINEAR_MODE = {"linear": 3, "bilinear": 4, "trilinear": 5}
_KEYS_CUBIC_A = -0.75  # torch's (OpenCV's) bicubic without antialias
_PIL_CUBIC_A = -0.5    # torch's (Pillow's) bicubic with antialias
_AXIS_NAMES = ("D", "H", "W")

# Per-axis sampling plan: ``index`` (taps, n_out) picks input positions and
# ``weight`` (taps, n_out) mixes them (None: a single tap of weight 1).
_Plan = Tuple[np.ndarray, Optional[np.ndarray]]


def _cubic_near(x, a):
    """Cubic convolution kernel on ``|x| <= 1``."""
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _cubic_far(x, a):
    """Cubic convolution kernel on ``1 < |x| < 2``."""
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def _scale(n_in, n_out, align_corners, scale_factor, opmath):
    """Input pixels per output pixel, rounded to ``opmath`` as torch's ``area_pixel_compute_scale``."""
    if align_corners:
        return opmath(n_in - 1) / opmath(n_out - 1) if n_out > 1 else opmath(0)
    if scale_factor is not None and scale_factor > 0:
        return opmath(1.0 / scale_factor)
    return opmath(n_in) / opmath(n_out)


def _source_position(scale, n_out, centered, opmath):
    """Real input coordinate of each output pixel (``centered``: half-pixel convention).

    Computed in float64 and rounded once, which reproduces the fused multiply-add
    torch's compiled float32 kernels use.
    """
    dst = np.arange(n_out, dtype=np.float64)
    real = float(scale) * (dst + 0.5) - 0.5 if centered else float(scale) * dst
    return real.astype(opmath)


def _floor_index(real, n_in):
    # torch floors with floorf, i.e. after rounding the position to float32.
    return np.minimum(np.floor(real.astype(np.float32)).astype(np.int64), n_in - 1)


def _nearest_plan(n_in, n_out, scale_factor, exact, opmath, torch_fast_path) -> _Plan:
    if torch_fast_path:
        # torch's ``nearest_idx`` special-cases equal and doubled sizes; the rest is float32.
        dst = np.arange(n_out)
        if not exact and n_out in (n_in, 2 * n_in):
            return (dst // (n_out // n_in))[None], None
        scale = _scale(n_in, n_out, False, scale_factor, np.float32)
        real = (dst + 0.5) * float(scale) if exact else dst.astype(np.float32) * scale
        return _floor_index(real, n_in)[None], None
    scale = _scale(n_in, n_out, False, scale_factor, opmath)
    if not exact:
        return _floor_index(_source_position(scale, n_out, False, opmath), n_in)[None], None
    real = np.maximum(_source_position(scale, n_out, True, opmath), 0)
    return _floor_index(real.astype(np.float64) + 0.5, n_in)[None], None


def _uses_torch_fast_nearest(input, out_sizes) -> bool:
    """Whether torch's CPU resizes this input with its vectorised nearest kernel (not the generic one).

    The two kernels round source positions differently, so picking the same
    one keeps every chosen pixel identical to torch's.
    """
    if input.ndim == 4 and sum(out_sizes) <= 128:
        return True
    if input.ndim not in (4, 5) or input.shape[1] <= 3:
        return False
    # channels-last strides: C varies fastest, then the spatial dims, then N.
    order = [1] + list(range(input.ndim - 1, 1, -1)) + [0]
    expected = 1
    for dim in order:
        if input.shape[dim] != 1 and input.stride(dim) != expected:
            return False
        expected *= input.shape[dim]
    return True


def _clamped_fraction(real, index, opmath):
    return np.clip(real - index.astype(opmath), 0, 1).astype(opmath)


def _linear_plan(n_in, n_out, align_corners, scale_factor, opmath) -> _Plan:
    scale = _scale(n_in, n_out, align_corners, scale_factor, opmath)
    real = _source_position(scale, n_out, not align_corners, opmath)
    if not align_corners:
        real = np.maximum(real, 0)
    lo = _floor_index(real, n_in)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = _clamped_fraction(real, lo, opmath)
    return np.stack([lo, hi]), np.stack([1 - frac, frac])


def _cubic_plan(n_in, n_out, align_corners, scale_factor, opmath) -> _Plan:
    scale = _scale(n_in, n_out, align_corners, scale_factor, opmath)
    real = _source_position(scale, n_out, not align_corners, opmath)
    base = _floor_index(real, n_in)
    t = _clamped_fraction(real, base, opmath)
    a = opmath(_KEYS_CUBIC_A)
    weight = np.stack([_cubic_far(t + 1, a), _cubic_near(t, a), _cubic_near(1 - t, a),
                       _cubic_far(2 - t, a)])
    # Taps beyond the border repeat the edge pixel (torch clamps the index).
    index = np.clip(base[None] + np.arange(-1, 3)[:, None], 0, n_in - 1)
    return index, weight.astype(opmath)


def _antialias_plan(n_in, n_out, align_corners, scale_factor, cubic, opmath) -> _Plan:
    """Pillow-style resampling: the filter is widened by the downscale factor, weights renormalised."""
    scale = float(_scale(n_in, n_out, align_corners, scale_factor, opmath))
    half_width = 2.0 if cubic else 1.0
    support = half_width * scale if scale >= 1.0 else half_width
    taps = int(math.ceil(support)) * 2 + 1
    inv_scale = 1.0 / scale if scale >= 1.0 else 1.0
    center = (scale * (np.arange(n_out) + 0.5)).astype(opmath).astype(np.float64)
    start = np.maximum(np.trunc(center - support + 0.5).astype(np.int64), 0)
    count = np.clip(np.minimum(np.trunc(center + support + 0.5).astype(np.int64), n_in) - start, 0, taps)
    offset = np.arange(taps)[:, None]
    x = np.abs((offset + start - center + 0.5) * inv_scale)
    if cubic:
        a = _PIL_CUBIC_A
        weight = np.where(x < 1, _cubic_near(x, a), np.where(x < 2, _cubic_far(x, a), 0.0))
    else:
        weight = np.maximum(1 - x, 0.0)
    weight = np.where(offset < count, weight, 0.0).astype(opmath)
    total = weight.sum(0)
    weight = np.where(total != 0, weight / np.where(total != 0, total, 1), weight)
    index = np.minimum(start + offset, n_in - 1)
    return index, weight.astype(opmath)


def _area_plan(n_in, n_out, opmath) -> _Plan:
    """Adaptive average pooling windows ``[floor(i*n_in/n_out), ceil((i+1)*n_in/n_out))``."""
    i = np.arange(n_out)
    start = i * n_in // n_out
    stop = -(-(i + 1) * n_in // n_out)
    length = stop - start
    offset = np.arange(int(length.max()))[:, None]
    index = np.minimum(start + offset, stop - 1)
    weight = np.where(offset < length, 1.0 / length, 0.0).astype(opmath)
    return (index, None) if weight.shape[0] == 1 else (index, weight)


def _plan_axis(mode, n_in, n_out, scale_factor, align_corners, antialias, opmath,
               torch_fast_nearest) -> Optional[_Plan]:
    """How to resample one axis, or None where the resampling is the identity."""
    if antialias:
        if n_in == n_out:  # torch skips the axis
            return None
        return _antialias_plan(n_in, n_out, align_corners, scale_factor, mode == "bicubic", opmath)
    if mode in ("nearest", "nearest-exact"):
        plan = _nearest_plan(n_in, n_out, scale_factor, mode == "nearest-exact", opmath,
                             torch_fast_nearest)
    elif mode == "area":
        plan = _area_plan(n_in, n_out, opmath)
    elif mode == "bicubic":
        return _cubic_plan(n_in, n_out, align_corners, scale_factor, opmath)
    elif n_in == n_out:  # torch's linear kernels copy equal-sized axes whatever the scale
        return None
    else:
        return _linear_plan(n_in, n_out, align_corners, scale_factor, opmath)
    index, weight = plan
    if weight is None and n_in == n_out and np.array_equal(index[0], np.arange(n_in)):
        return None
    return plan


def _resample_axis(x, dim: int, index: np.ndarray, weight: Optional[np.ndarray]):
    taps, n_out = index.shape
    picked = x.index_select(dim, tensor(index.reshape(-1), device=x.device))
    if weight is None:
        return picked
    shape = tuple(x.shape)
    picked = picked.reshape(shape[:dim] + (taps, n_out) + shape[dim + 1:])
    mix = tensor(weight.reshape((taps, n_out) + (1,) * (x.ndim - dim - 1)), dtype=x.dtype, device=x.device)
    return (picked * mix).sum(dim)


def _is_integer(v) -> bool:
    if is_tensor(v):
        return v.ndim == 0 and not v.dtype.is_floating_point
    return isinstance(v, (int, np.integer))


def _size_type_error(size):
    types = [type(s) for s in size] if isinstance(size, (list, tuple)) else [type(size)]
    return TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                     f"Tuple[int, int, int], but got size with types {types}")


def _output_geometry(input, size, scale_factor, mode, recompute_scale_factor):
    """Output sizes and the scale factors the kernels see (None: derive from the sizes)."""
    spatial = input.ndim - 2
    in_sizes = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != spatial:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got input "
                    f"with spatial dimensions of {in_sizes} and output size of {size}. Please provide "
                    "input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) "
                    "format.")
            sizes = list(size)
        else:
            sizes = [size] * spatial
        if not all(_is_integer(s) for s in sizes):
            raise _size_type_error(size)
        out_sizes: Optional[List[int]] = [int(s) for s in sizes]
        scales: List[Optional[float]] = [None] * spatial
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != spatial:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {in_sizes} and scale_factor of shape "
                    f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                    "and scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * spatial
        out_sizes = None
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if out_sizes is None:
        out_sizes = [int(n * s) for n, s in zip(in_sizes, scales)]
        # "area" always works from the integer sizes, as if recompute_scale_factor were set.
        if recompute_scale_factor or mode == "area":
            scales = [None] * spatial
    return out_sizes, scales


def _check_mode(input, mode: str) -> None:
    n = input.ndim
    needed = _INPUT_NDIM_OF_LINEAR_MODE.get(mode)
    if needed is not None and n in (3, 4, 5) and n != needed:
        raise NotImplementedError(f"Got {n}D input, but {mode} mode needs {needed}D input")
    if mode not in _MODES or n not in (3, 4, 5) or (mode == "bicubic" and n != 4):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {n}D) for the modes: "
            f"{' | '.join(_MODES)} (got {mode})")
    if mode not in ("nearest", "nearest-exact") and not input.dtype.is_floating_point:
        raise DTypeError(f"interpolate(): mode {mode!r} needs a floating point input, got "
                         f"{input.dtype.name} (shape {list(input.shape)})")


def interpolate(input, size: Optional[Union[int, Sequence[int]]] = None,
                scale_factor: Optional[Union[float, Sequence[float]]] = None, mode: str = "nearest",
                align_corners: Optional[bool] = None, recompute_scale_factor: Optional[bool] = None,
                antialias: bool = False):
    """Resizes an (N, C, L), (N, C, H, W) or (N, C, D, H, W) input, as ``torch.nn.functional.interpolate``.

    ``mode``: ``'nearest'`` and ``'nearest-exact'`` (any rank), ``'linear'``
    (3-D), ``'bilinear'`` and ``'bicubic'`` (4-D), ``'trilinear'`` (5-D),
    ``'area'`` (adaptive average pooling, any rank).  ``antialias=True``
    (bilinear and bicubic only) low-pass filters when downsampling.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn._functional_interpolate import interpolate
        >>> interpolate(nr.tensor([[[[1.0, 2.0]]]]), scale_factor=2, mode="bilinear")
        tensor([[[[1.0000, 1.2500, 1.7500, 2.0000],
                  [1.0000, 1.2500, 1.7500, 2.0000]]]])
        >>> interpolate(nr.tensor([[[1.0, 2.0, 3.0, 4.0]]]), size=2, mode="area")
        tensor([[[1.5000, 3.5000]]])
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    else:
        align_corners = bool(align_corners)
    out_sizes, scales = _output_geometry(input, size, scale_factor, mode, recompute_scale_factor)
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and requires "
                         "a 4-D tensor as input")
    _check_mode(input, mode)
    in_sizes = list(input.shape[2:])
    if min(in_sizes + out_sizes) < 1:
        names = _AXIS_NAMES[-len(in_sizes):]
        raise ShapeError("Input and output sizes should be greater than 0, but got input ("
                         + ", ".join(f"{a}: {n}" for a, n in zip(names, in_sizes)) + ") and output ("
                         + ", ".join(f"{a}: {n}" for a, n in zip(names, out_sizes)) + ")")
    # torch computes positions in float32 for every dtype but float64 ("opmath").
    opmath = np.float64 if input.dtype.numpy == np.float64 else np.float32
    torch_fast_nearest = _uses_torch_fast_nearest(input, out_sizes)
    result = input
    # Last axis first, like torch's separable antialias kernel (the order only moves rounding).
    for axis in reversed(range(len(out_sizes))):
        dim = axis + 2
        plan = _plan_axis(mode, result.shape[dim], out_sizes[axis], scales[axis], align_corners,
                          antialias, opmath, torch_fast_nearest)
        if plan is not None:
            result = _resample_axis(result, dim, *plan)
    # Like torch, the result never aliases the input, even when no axis changed.
    return input.clone() if result is input else result
