"""Convolution and pooling for ``nn.functional``: autograd Functions and the public API.

Every spatial op runs on 4-D (N, C, H, W) tensors; 1-D ops and unbatched
inputs are reshaped views of that case.  Kernels: ``neurarust/_core/conv.pyx``
(im2col + BLAS GEMM) and ``neurarust/_core/pool.pyx``, reached through CPU
backend methods (``conv2d``, ``max_pool2d``...).

Convolution's backward is written with three mutually adjoint Functions
(conv, its input gradient = transposed conv, its weight gradient), so its
gradients are themselves differentiable (double backward works).  The
pooling backwards are Functions too: max pool's gathers by the saved indices,
average pools' adjoint is the forward pool.

Example:
    >>> import neurarust as nr
    >>> from neurarust.nn import _functional_conv as F
    >>> x = nr.ones(1, 1, 4, 4, requires_grad=True)
    >>> y = F.max_pool2d(F.conv2d(x, nr.ones(2, 1, 3, 3), padding=1), 2)
    >>> y.shape, y.grad_fn.name()
    (neurarust.Size([1, 2, 2, 2]), 'MaxPool2DWithIndicesBackward0')
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

from ..autograd.function import Function
from ..dtypes import float32, float64
from ..errors import DTypeError, ShapeError
from ..ops._util import backend, common_device, wrap

__all__ = ["conv1d", "conv2d", "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool1d",
           "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d"]

IntOr2 = Union[int, Sequence[int]]


# ----------------------------------------------------------------- helpers
def _pair(v, op: str, name: str, n: int = 2) -> Tuple[int, ...]:
    if isinstance(v, int):
        return (v,) * n
    v = tuple(int(i) for i in v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {v}")
    return v


def _check_float(op: str, *tensors) -> None:
    for t in tensors:
        if t is not None and t._dtype is not float32 and t._dtype is not float64:
            raise DTypeError(f"{op}: expected a float32 or float64 tensor, got {t._dtype.name} "
                             f"(shape {list(t.shape)})")
    dtypes = {t._dtype for t in tensors if t is not None}
    if len(dtypes) > 1:
        names = ", ".join(f"{t._dtype.name} {list(t.shape)}" for t in tensors if t is not None)
        raise DTypeError(f"{op}: expected all tensors to have the same dtype, got {names}")


def _to_4d(x, op: str, spatial: int):
    """Batched 4-D view of a (C, *S) or (N, C, *S) input with ``spatial`` dims (1 or 2)."""
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input to "
                         f"{op}, but got input of size: {list(x.shape)}")
    batched = x.ndim == spatial + 2
    if not batched:
        x = x.unsqueeze(0)
    if spatial == 1:
        x = x.unsqueeze(2)
    return x, batched


def _from_4d(y, batched: bool, spatial: int):
    if spatial == 1:
        y = y.squeeze(2)
    return y if batched else y.squeeze(0)


# ------------------------------------------------------------- convolution
class Convolution(Function):
    """conv2d on 4-D tensors; ``geom`` = (stride, leading padding, dilation, groups)."""

    @staticmethod
    def forward(ctx, x, w, b, geom, out_hw):
        stride, padding, dilation, groups = geom
        ctx.save_for_backward(x, w)
        ctx.geom = geom
        data = backend(x).conv2d(x._data, w._data, None if b is None else b._data, stride, padding,
                                 dilation, groups, out_hw)
        return wrap(data, x._device, x._dtype)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        gx = ConvolutionBackward.apply(g, w, tuple(x.shape), ctx.geom) if nx else None
        gw = ConvolutionWeight.apply(x, g, tuple(w.shape), ctx.geom) if nw else None
        gb = g.sum((0, 2, 3)) if nb else None
        return gx, gw, gb, None, None


class ConvolutionBackward(Function):
    """Input gradient of :class:`Convolution` (a transposed convolution of ``g`` by ``w``)."""

    @staticmethod
    def forward(ctx, g, w, input_shape, geom):
        stride, padding, dilation, groups = geom
        ctx.save_for_backward(g, w)
        ctx.geom = geom
        data = backend(g).conv2d_input_grad(g._data, w._data, input_shape, stride, padding,
                                            dilation, groups)
        return wrap(data, g._device, g._dtype)

    @staticmethod
    def backward(ctx, gg):
        g, w = ctx.saved_tensors
        ng, nw = ctx.needs_input_grad[:2]
        out_hw = tuple(g.shape[2:])
        d_g = Convolution.apply(gg, w, None, ctx.geom, out_hw) if ng else None
        d_w = ConvolutionWeight.apply(gg, g, tuple(w.shape), ctx.geom) if nw else None
        return d_g, d_w, None, None


class ConvolutionWeight(Function):
    """Weight gradient of :class:`Convolution`, summed over the batch inside BLAS."""

    @staticmethod
    def forward(ctx, x, g, weight_shape, geom):
        stride, padding, dilation, groups = geom
        ctx.save_for_backward(x, g)
        ctx.geom = geom
        data = backend(x).conv2d_weight_grad(x._data, g._data, weight_shape, stride, padding,
                                             dilation, groups)
        return wrap(data, x._device, x._dtype)

    @staticmethod
    def backward(ctx, gw):
        x, g = ctx.saved_tensors
        nx, ng = ctx.needs_input_grad[:2]
        d_x = ConvolutionBackward.apply(g, gw, tuple(x.shape), ctx.geom) if nx else None
        d_g = Convolution.apply(x, gw, None, ctx.geom, tuple(g.shape[2:])) if ng else None
        return d_x, d_g, None, None


def _check_conv(op, x, weight, bias, groups, spatial, transposed=False):
    if not hasattr(x, "_data") or not hasattr(weight, "_data"):
        raise TypeError(f"{op}(): input and weight must be Tensors")
    common_device(op, x, weight, bias)
    _check_float(op, x, weight, bias)
    if weight.ndim != spatial + 2:
        raise ShapeError(f"{op}: expected a {spatial + 2}D weight, but got weight of size "
                         f"{list(weight.shape)}")
    if groups < 1:
        raise ValueError(f"{op}: non-positive groups is not supported (got groups={groups})")
    in_ch = weight.shape[0] if transposed else weight.shape[1] * groups
    out_ch = weight.shape[1] * groups if transposed else weight.shape[0]
    if not transposed and weight.shape[0] % groups:
        raise ShapeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                         f"dimension 0, but got weight of size {list(weight.shape)} instead")
    if transposed and weight.shape[0] % groups:
        raise ShapeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                         f"weight divisible by groups={groups} at dimension 0")
    x_shape = list(x.shape) if x.ndim == spatial + 2 else [1] + list(x.shape)
    if x.ndim in (spatial + 1, spatial + 2) and x_shape[1] != in_ch:
        what = "transposed=1, " if transposed else f"groups={groups}, "
        raise ShapeError(f"Given {what}weight of size {list(weight.shape)}, expected input"
                         f"{list(x.shape)} to have {in_ch} channels, but got {x_shape[1]} "
                         f"channels instead")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_ch):
        raise ShapeError(f"Given weight of size {list(weight.shape)}, expected bias to be "
                         f"1-dimensional with {out_ch} elements, but got bias of size "
                         f"{list(bias.shape)} instead")


def _conv(op, x, weight, bias, stride, padding, dilation, groups, spatial):
    _check_conv(op, x, weight, bias, groups, spatial)
    x4, batched = _to_4d(x, op, spatial)
    w4 = weight.unsqueeze(2) if spatial == 1 else weight
    k = tuple(w4.shape[2:])
    stride = (1,) + _pair(stride, op, "stride", 1) if spatial == 1 else _pair(stride, op, "stride")
    dilation = (1,) + _pair(dilation, op, "dilation", 1) if spatial == 1 else _pair(dilation, op, "dilation")
    size = tuple(x4.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            lead, total = (0, 0), (0, 0)
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            total = tuple(d * (kk - 1) for d, kk in zip(dilation, k))
            lead = tuple(t // 2 for t in total)  # any odd remainder goes after, as in torch
        else:
            raise ValueError(f"Invalid padding string {padding!r}, should be one of 'valid' or 'same'")
    else:
        p = (0,) + _pair(padding, op, "padding", 1) if spatial == 1 else _pair(padding, op, "padding")
        if min(p) < 0:
            raise ValueError(f"{op}: negative padding is not supported (got {p})")
        lead, total = p, (2 * p[0], 2 * p[1])
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: stride and dilation must be positive (got stride={stride}, "
                         f"dilation={dilation})")
    padded = tuple(n + t for n, t in zip(size, total))
    eff = tuple(d * (kk - 1) + 1 for d, kk in zip(dilation, k))
    if any(e > n for e, n in zip(eff, padded)):
        sl = slice(1, None) if spatial == 1 else slice(None)
        raise ShapeError(f"{op}: Calculated padded input size per channel: "
                         f"({' x '.join(map(str, padded[sl]))}). Kernel size: "
                         f"({' x '.join(map(str, eff[sl]))}). Kernel size can't be greater than "
                         f"actual input size")
    out_hw = tuple((n - e) // s + 1 for n, e, s in zip(padded, eff, stride))
    y = Convolution.apply(x4, w4, bias, (stride, lead, dilation, groups), out_hw)
    return _from_4d(y, batched, spatial)


def conv2d(input, weight, bias=None, stride: IntOr2 = 1, padding: Union[IntOr2, str] = 0,
           dilation: IntOr2 = 1, groups: int = 1):
    """2-D convolution (cross-correlation) of ``input`` (N, C, H, W) or (C, H, W).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn._functional_conv import conv2d
        >>> conv2d(nr.ones(1, 1, 3, 3), nr.ones(1, 1, 2, 2), padding="same").squeeze()
        tensor([[4., 4., 2.],
                [4., 4., 2.],
                [2., 2., 1.]])
    """
    return _conv("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(input, weight, bias=None, stride: IntOr2 = 1, padding: Union[IntOr2, str] = 0,
           dilation: IntOr2 = 1, groups: int = 1):
    """1-D convolution of ``input`` (N, C, L) or (C, L) with ``weight`` (O, C/groups, k).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn._functional_conv import conv1d
        >>> conv1d(nr.arange(5.0).view(1, 1, 5), nr.ones(1, 1, 2), stride=2)
        tensor([[[1., 5.]]])
    """
    return _conv("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def conv_transpose2d(input, weight, bias=None, stride: IntOr2 = 1, padding: IntOr2 = 0,
                     output_padding: IntOr2 = 0, groups: int = 1, dilation: IntOr2 = 1):
    """Transposed 2-D convolution; ``weight`` is (C_in, C_out/groups, kH, kW).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn._functional_conv import conv_transpose2d
        >>> conv_transpose2d(nr.ones(1, 1, 2, 2), nr.ones(1, 1, 2, 2), stride=2).shape
        neurarust.Size([1, 1, 4, 4])
    """
    op = "conv_transpose2d"
    _check_conv(op, input, weight, bias, groups, 2, transposed=True)
    x4, batched = _to_4d(input, op, 2)
    stride, padding = _pair(stride, op, "stride"), _pair(padding, op, "padding")
    output_padding, dilation = _pair(output_padding, op, "output_padding"), _pair(dilation, op, "dilation")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: stride and dilation must be positive and padding non-negative")
    if any(o >= s and o >= d for o, s, d in zip(output_padding, stride, dilation)) or min(output_padding) < 0:
        raise ValueError(f"{op}: output padding must be smaller than either stride or dilation, "
                         f"but got output_padding={output_padding}, stride={stride}, "
                         f"dilation={dilation}")
    k = tuple(weight.shape[2:])
    out_hw = tuple((n - 1) * s - 2 * p + d * (kk - 1) + op_ + 1
                   for n, s, p, d, kk, op_ in zip(x4.shape[2:], stride, padding, dilation, k, output_padding))
    if min(out_hw) < 1:
        raise ShapeError(f"{op}: input {list(input.shape)} gives a non-positive output size {list(out_hw)}")
    shape = (x4.shape[0], weight.shape[1] * groups) + out_hw
    y = ConvolutionBackward.apply(x4, weight, shape, (stride, padding, dilation, groups))
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return _from_4d(y, batched, 2)


# ----------------------------------------------------------------- pooling
def _pool_out(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1  # the last window must start inside the input or its left padding
    return out


def _pool_geometry(op, x4, kernel_size, stride, padding, dilation, ceil_mode, spatial):
    n = spatial
    k = _pair(kernel_size, op, "kernel_size", n)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _pair(stride, op, "stride", n)
    p, d = _pair(padding, op, "padding", n), _pair(dilation, op, "dilation", n)
    if min(k) < 1 or min(s) < 1 or min(d) < 1:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be greater than zero, but got "
                         f"kernel_size={k}, stride={s}, dilation={d}")
    for pp, kk, dd in zip(p, k, d):
        if pp < 0 or pp > (dd * (kk - 1) + 1) // 2:
            raise ValueError(f"{op}: pad should be at most half of effective kernel size, but got "
                             f"pad={pp}, kernel_size={kk} and dilation={dd}")
    if n == 1:
        k, s, p, d = (1,) + k, (1,) + s, (0,) + p, (1,) + d
    out = tuple(_pool_out(size, *a, ceil_mode) for size, *a in zip(x4.shape[2:], k, s, p, d))
    if min(out) < 1:
        sizes = "x".join(map(str, x4.shape[1:])) if n == 2 else f"{x4.shape[1]}x{x4.shape[3]}"
        outs = "x".join(map(str, (x4.shape[1],) + out[2 - n:]))
        raise ShapeError(f"{op}: Given input size: ({sizes}). Calculated output size: ({outs}). "
                         f"Output size is too small")
    return k, s, p, d, out


class MaxPool2DWithIndices(Function):
    @staticmethod
    def forward(ctx, x, k, s, p, d, out_hw):
        y, idx = backend(x).max_pool2d(x._data, k, s, p, d, out_hw)
        ctx.state = (idx, tuple(x.shape))
        indices = wrap(idx, x._device)
        ctx.mark_non_differentiable(indices)
        return wrap(y, x._device, x._dtype), indices

    @staticmethod
    def backward(ctx, g, _g_indices):
        idx, shape = ctx.state
        return MaxPool2DWithIndicesBackward.apply(g, idx, shape), None, None, None, None, None


class MaxPool2DWithIndicesBackward(Function):
    """Scatters ``g`` to the argmax positions; its own gradient gathers from them."""

    @staticmethod
    def forward(ctx, g, idx, input_shape):
        ctx.state = (idx, tuple(g.shape))
        return wrap(backend(g).max_pool2d_backward(g._data, idx, input_shape), g._device, g._dtype)

    @staticmethod
    def backward(ctx, gg):
        idx, g_shape = ctx.state
        n, c = g_shape[:2]
        index = wrap(idx, gg._device).reshape(n, c, -1)
        return gg.reshape(n, c, -1).gather(2, index).reshape(g_shape), None, None


def _max_pool(op, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, spatial):
    _check_float(op, input)
    x4, batched = _to_4d(input, op, spatial)
    k, s, p, d, out = _pool_geometry(op, x4, kernel_size, stride, padding, dilation, ceil_mode, spatial)
    y, idx = MaxPool2DWithIndices.apply(x4, k, s, p, d, out)
    y = _from_4d(y, batched, spatial)
    return (y, _from_4d(idx, batched, spatial)) if return_indices else y


def max_pool2d(input, kernel_size: IntOr2, stride: Optional[IntOr2] = None, padding: IntOr2 = 0,
               dilation: IntOr2 = 1, ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling; with ``return_indices`` also the flat argmax positions per plane.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn._functional_conv import max_pool2d
        >>> max_pool2d(nr.arange(16.0).view(1, 1, 4, 4), 2, return_indices=True)[1]
        tensor([[[[ 5,  7],
                  [13, 15]]]])
    """
    return _max_pool("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, 2)


def max_pool1d(input, kernel_size: IntOr2, stride: Optional[IntOr2] = None, padding: IntOr2 = 0,
               dilation: IntOr2 = 1, ceil_mode: bool = False, return_indices: bool = False):
    """1-D max pooling of (N, C, L) or (C, L) inputs.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn._functional_conv import max_pool1d
        >>> max_pool1d(nr.tensor([[[1.0, 3.0, 2.0, 0.0, 5.0]]]), 2, ceil_mode=True)
        tensor([[[3., 2., 5.]]])
    """
    return _max_pool("max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, 1)


class AvgPool2D(Function):
    @staticmethod
    def forward(ctx, x, k, s, p, out_hw, include_pad, divisor):
        ctx.state = (tuple(x.shape), k, s, p, out_hw, include_pad, divisor)
        return wrap(backend(x).avg_pool2d(x._data, k, s, p, out_hw, include_pad, divisor),
                    x._device, x._dtype)

    @staticmethod
    def backward(ctx, g):
        return (AvgPool2DBackward.apply(g, ctx.state),) + (None,) * 6


class AvgPool2DBackward(Function):
    """The adjoint of average pooling; its own adjoint is the forward pool."""

    @staticmethod
    def forward(ctx, g, state):
        ctx.state = state
        shape, k, s, p, _, include_pad, divisor = state
        return wrap(backend(g).avg_pool2d_backward(g._data, shape, k, s, p, include_pad, divisor),
                    g._device, g._dtype)

    @staticmethod
    def backward(ctx, gg):
        _, k, s, p, out_hw, include_pad, divisor = ctx.state
        return AvgPool2D.apply(gg, k, s, p, out_hw, include_pad, divisor), None


def _avg_pool(op, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, spatial):
    _check_float(op, input)
    if divisor_override is not None and divisor_override <= 0:
        raise ValueError(f"{op}: divisor must be not zero")
    x4, batched = _to_4d(input, op, spatial)
    k, s, p, _, out = _pool_geometry(op, x4, kernel_size, stride, padding, 1, ceil_mode, spatial)
    y = AvgPool2D.apply(x4, k, s, p, out, bool(count_include_pad), divisor_override)
    return _from_4d(y, batched, spatial)


def avg_pool2d(input, kernel_size: IntOr2, stride: Optional[IntOr2] = None, padding: IntOr2 = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Optional[int] = None):
    """2-D average pooling.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn._functional_conv import avg_pool2d
        >>> avg_pool2d(nr.ones(1, 1, 2, 2), 2, stride=1, padding=1, count_include_pad=False).squeeze()
        tensor([[1., 1., 1.],
                [1., 1., 1.],
                [1., 1., 1.]])
    """
    return _avg_pool("avg_pool2d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, 2)


def avg_pool1d(input, kernel_size: IntOr2, stride: Optional[IntOr2] = None, padding: IntOr2 = 0,
               ceil_mode: bool = False, count_include_pad: bool = True):
    """1-D average pooling of (N, C, L) or (C, L) inputs.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn._functional_conv import avg_pool1d
        >>> avg_pool1d(nr.tensor([[[1.0, 3.0, 2.0, 6.0]]]), 2)
        tensor([[[2., 4.]]])
    """
    return _avg_pool("avg_pool1d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None, 1)


class AdaptiveAvgPool2D(Function):
    @staticmethod
    def forward(ctx, x, out_hw):
        ctx.shape = tuple(x.shape)
        return wrap(backend(x).adaptive_avg_pool2d(x._data, out_hw), x._device, x._dtype)

    @staticmethod
    def backward(ctx, g):
        return AdaptiveAvgPool2DBackward.apply(g, ctx.shape), None


class AdaptiveAvgPool2DBackward(Function):
    @staticmethod
    def forward(ctx, g, input_shape):
        ctx.out_hw = tuple(g.shape[2:])
        return wrap(backend(g).adaptive_avg_pool2d_backward(g._data, input_shape), g._device, g._dtype)

    @staticmethod
    def backward(ctx, gg):
        return AdaptiveAvgPool2D.apply(gg, ctx.out_hw), None


def _adaptive(op, input, output_size, spatial):
    _check_float(op, input)
    x4, batched = _to_4d(input, op, spatial)
    if spatial == 1:
        out = (1,) + _pair(output_size, op, "output_size", 1)
    else:
        sizes = (output_size, output_size) if isinstance(output_size, int) or output_size is None else tuple(output_size)
        if len(sizes) != 2:
            raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size}")
        out = tuple(n if o is None else int(o) for n, o in zip(x4.shape[2:], sizes))
    if min(out) < 1 and x4.numel() > 0:
        raise ValueError(f"{op}: output_size must be positive, got {output_size}")
    if any(n == 0 for n in x4.shape[2:]):
        raise ShapeError(f"{op}: expected input with non-zero spatial sizes, got {list(input.shape)}")
    return _from_4d(AdaptiveAvgPool2D.apply(x4, out), batched, spatial)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (``None`` keeps that input size).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn._functional_conv import adaptive_avg_pool2d
        >>> adaptive_avg_pool2d(nr.arange(9.0).view(1, 1, 3, 3), 1)
        tensor([[[[4.]]]])
    """
    return _adaptive("adaptive_avg_pool2d", input, output_size, 2)


def adaptive_avg_pool1d(input, output_size):
    """1-D adaptive average pooling of (N, C, L) or (C, L) inputs.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn._functional_conv import adaptive_avg_pool1d
        >>> adaptive_avg_pool1d(nr.tensor([[[1.0, 2.0, 3.0, 4.0]]]), 2)
        tensor([[[1.5000, 3.5000]]])
    """
    return _adaptive("adaptive_avg_pool1d", input, output_size, 1)


# Norms and resizing live in a sibling file (size); re-exported for one functional namespace.
from ._functional_interpolate import interpolate  # noqa: E402
from ._functional_norm import batch_norm, group_norm, layer_norm  # noqa: E402

__all__ += ["batch_norm", "layer_norm", "group_norm", "interpolate"]
