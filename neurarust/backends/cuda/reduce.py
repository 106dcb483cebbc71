"""Reduction methods of the CUDA backend (kernels in ``kernels/reduce.py``).

Every reduction is planned in plain Python (``plan_rows``/``plan_reduce``/
``plan_lines``, tested without a GPU): the kept dims become output rows
(merged, any strides), the reduced dims one run of ``n`` elements at stride
``sr`` (merged after sorting by stride; a layout that does not merge is
copied once), then one of two kernel shapes is picked:

* ``inner`` when the run is the most contiguous: a block (a warp for short
  rows) per row, long rows cut into segments whose partials a ``final``
  launch combines (a full reduction of a large array is two passes);
* ``outer`` when the kept dims are the contiguous ones (``sum(0)`` of a
  matrix): threads over adjacent outputs read coalesced, ``blockDim.y``
  threads and ``gridDim.y`` segments split each row.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .array import MAX_KERNEL_DIMS, CUDAArray, merge_dims
from .codegen import layout_args, layout_format
from .kernels.reduce import ACC_NBYTES, REDUCE_OPS, SCAN_OPS, reduce_types, scan_types

__all__ = ["ReduceMethods", "plan_rows", "plan_reduce", "plan_lines", "RowLayout", "Launch"]

BLOCK = 256
WARP_ROWS_MAX = 512      # rows up to this long get a warp each instead of a block
MIN_SEGMENT = 16384      # elements: shorter rows are never cut into segments
TINY_ROW = 16            # rows this short reduce in one thread each (outer shape)
OUTER_MIN_LINES = 512    # scan/softmax: fewer lines than this run a group per line


class RowLayout(NamedTuple):
    """``rows`` outputs (kept dims ``shape``/``strides``, C order of the output) by ``n`` elements at ``sr``."""

    shape: Tuple[int, ...]
    strides: Tuple[int, ...]
    rows: int
    n: int
    sr: int


class Launch(NamedTuple):
    kind: str                 # "inner" or "outer"
    grid: Tuple[int, int, int]
    block: Tuple[int, int, int]
    warp_mode: int
    segs: int
    seg_len: int


def plan_rows(shape: Sequence[int], strides: Sequence[int], axes: Sequence[int],
              sort_reduced: bool = True) -> Optional[RowLayout]:
    """The row layout of reducing ``axes`` (empty: all dims), or None when it needs a contiguous copy.

    ``sort_reduced=False`` keeps the reduced dims in C order (flat indices of argmax).

    Example:
        >>> plan_rows((4, 3), (1, 4), (0,))
        RowLayout(shape=(3,), strides=(4,), rows=3, n=4, sr=1)
    """
    axes = tuple(axes) if axes else tuple(range(len(shape)))
    kept = [d for d in range(len(shape)) if d not in axes]
    red = sorted(axes, key=lambda d: -abs(strides[d])) if sort_reduced else sorted(axes)
    rows = math.prod(shape[d] for d in kept)
    n = math.prod(shape[d] for d in red)
    kshape, (kstrides,) = merge_dims([shape[d] for d in kept], [[strides[d] for d in kept]])
    if len(kshape) > MAX_KERNEL_DIMS:
        return None
    if n == 0 or rows == 0:
        return RowLayout(kshape, kstrides, rows, n, 1)
    rshape, (rstrides,) = merge_dims([shape[d] for d in red], [[strides[d] for d in red]])
    if len(rshape) > 1:
        return None
    return RowLayout(kshape, kstrides, rows, n, rstrides[0] if rshape else 1)


def _inner_launch(rows: int, n: int, sm_count: int, allow_segments: bool = True) -> Launch:
    target = 8 * sm_count  # 256-thread blocks resident at full occupancy
    warp = n <= WARP_ROWS_MAX
    groups = BLOCK // 32 if warp else 1
    blocks = -(-rows // groups)
    segs, seg_len = 1, max(n, 1)
    if allow_segments and blocks < target and n >= 2 * MIN_SEGMENT:
        segs = min(-(-target // blocks), n // MIN_SEGMENT)
        seg_len = -(-(-(-n // segs)) // 16) * 16  # a multiple of 16 keeps segments vector-aligned alike
        segs = -(-n // seg_len)
        warp, groups, blocks = False, 1, rows
    grid = max(1, min(-(-rows * segs // groups), 32 * sm_count))
    return Launch("inner", (grid, 1, 1), (BLOCK, 1, 1), int(warp), segs, seg_len)


def _outer_launch(rows: int, n: int, sm_count: int) -> Launch:
    target = 8 * sm_count
    by = 1 if n < 64 else 8
    bx = BLOCK // by
    gx = -(-rows // bx)
    segs, seg_len = 1, max(n, 1)
    if gx < target and n >= 2 * by * 64:
        segs = min(-(-target // gx), n // (by * 64))
        seg_len = -(-n // segs)
        segs = -(-n // seg_len)
    return Launch("outer", (max(1, min(gx, 32 * sm_count)), segs, 1), (bx, by, 1), 0, segs, seg_len)


def plan_reduce(layout: RowLayout, sm_count: int) -> Launch:
    """Kernel shape and geometry for a row layout (see the module docstring).

    Example:
        >>> plan_reduce(RowLayout((4096,), (1,), 4096, 4096, 4096), 132).kind
        'outer'
    """
    rows, n = layout.rows, layout.n
    if layout.shape:
        inner_stride = abs(layout.strides[-1])
        if n <= TINY_ROW or abs(layout.sr) > inner_stride:
            return _outer_launch(rows, n, sm_count)
    return _inner_launch(rows, n, sm_count)


def plan_lines(rows: int, n: int, sa: int, kept_inner_stride: Optional[int], sm_count: int) -> Launch:
    """Geometry of a line-wise op (scan, softmax): a group per line, or a thread per line.

    Example:
        >>> plan_lines(4096, 4096, 1, 4096, 132).kind, plan_lines(4096, 4096, 4096, 1, 132).kind
        ('inner', 'outer')
    """
    if kept_inner_stride is not None and rows >= OUTER_MIN_LINES and (
            n <= TINY_ROW or abs(sa) > abs(kept_inner_stride)):
        grid = max(1, min(-(-rows // BLOCK), 32 * sm_count))
        return Launch("outer", (grid, 1, 1), (BLOCK, 1, 1), 0, 1, n)
    return _inner_launch(rows, n, sm_count, allow_segments=False)


def _norm_axes(a, axes) -> Tuple[int, ...]:
    return tuple(axes) if axes else tuple(range(a.ndim))


def _out_shape(a, axes) -> Tuple[int, ...]:
    return tuple(n for d, n in enumerate(a.shape) if d not in axes)


def _empty_message(fname, a, axes) -> str:
    if len(axes) == a.ndim:
        return (f"{fname}(): Expected reduction dim to be specified for input.numel() == 0 "
                f"(input shape {a.shape}). Specify the reduction dim with the 'dim' argument.")
    return f"{fname}(): Expected reduction dims {axes} of input shape {a.shape} to have non-zero size."


class ReduceMethods:
    """reduce, arg_reduce, var, cumulative, softmax and logsumexp of the backend protocol."""

    # ------------------------------------------------------------ plumbing
    def _rows_of(self, a: CUDAArray, axes, sort_reduced=True):
        """``(array, layout)``: ``a`` itself, or a copy with the reduced dims last and contiguous."""
        layout = plan_rows(a.shape, a.strides, axes, sort_reduced)
        if layout is not None:
            return a, layout
        kept = [d for d in range(a.ndim) if d not in axes]
        red = sorted(axes)
        a = self.contiguous(self.permute(a, kept + red))
        layout = plan_rows(a.shape, a.strides, tuple(range(len(kept), a.ndim)), sort_reduced)
        return a, layout

    def _run_reduce(self, op: str, a: CUDAArray, layout: RowLayout, out: CUDAArray, out_idx=None,
                    center=None, param: float = 0.0) -> None:
        """Launch ``op`` over ``layout`` of ``a`` into C-contiguous ``out`` (and ``out_idx``)."""
        if layout.rows == 0:
            return
        rt = self.rt
        key = (op, a.dtype.name)
        _, _, acc = reduce_types(op, a.dtype.name)
        fmt = "PPPPPd" + "qqqqq" + "i" + layout_format(1)
        launch = plan_reduce(layout, rt.sm_count)
        kname = "reduce_" + launch.kind + "_" + op + "_" + a.dtype.name
        fn = rt.function("reduce", key, "nr_" + kname, fmt)
        out_ptr = out.ptr if out is not None else 0
        idx_ptr = out_idx.ptr if out_idx is not None else 0
        center_ptr = center.ptr if center is not None else 0
        scratch = None
        if launch.segs > 1:
            scratch = rt.alloc(layout.rows * launch.segs * ACC_NBYTES[acc])
        rt.launch_grid(fn, launch.grid, launch.block, a.ptr, out_ptr, idx_ptr,
                       scratch.ptr if scratch is not None else 0, center_ptr, np.float64(param),
                       np.int64(layout.rows), np.int64(layout.n), np.int64(layout.sr), np.int64(launch.seg_len),
                       np.int64(launch.segs), np.int32(launch.warp_mode),
                       *layout_args(layout.shape, [layout.strides]))
        if scratch is None:
            return
        # Second pass: each row's segs partials (contiguous) meet, then the op's finish.
        fin = rt.function("reduce", key, f"nr_reduce_final_{op}_{a.dtype.name}", fmt)
        pshape, (pstrides,) = merge_dims((layout.rows,), [(launch.segs,)])
        second = _inner_launch(layout.rows, launch.segs, rt.sm_count, allow_segments=False)
        rt.launch_grid(fin, second.grid, second.block, scratch.ptr, out_ptr, idx_ptr, 0, center_ptr,
                       np.float64(param), np.int64(layout.rows), np.int64(launch.segs), np.int64(1),
                       np.int64(launch.segs), np.int64(1), np.int32(second.warp_mode),
                       *layout_args(pshape, [pstrides]))

    # ------------------------------------------------------------ protocol
    def reduce(self, op, a, axes, out_dtype):
        """Reduce over ``axes`` (empty: all dims): sum, prod, max, min, all, any (CPU dtype rules)."""
        if op not in REDUCE_OPS:
            raise ValueError(f"reduce(): unknown op {op!r}; expected one of {', '.join(REDUCE_OPS)}")
        a = self._device_array(a)
        axes = _norm_axes(a, axes)
        src, layout = self._rows_of(a, axes)
        if op in ("max", "min") and layout.n == 0:
            raise ValueError(_empty_message(op, a, axes))
        _, natural, _ = reduce_types(op, a.dtype.name)
        out = self.empty(_out_shape(a, axes), natural)
        if layout.n == 0:  # empty reductions give the identity
            self.fill_(out, 1 if op in ("prod", "all") else 0)
        else:
            self._run_reduce(op, src, layout, out)
        return out if out.dtype == np.dtype(out_dtype) else self.cast(out, out_dtype)

    def arg_reduce(self, op, a, axis, with_values):
        """``(values or None, int64 indices)`` of the max/min along ``axis`` (None: flattened, C order)."""
        if op not in ("max", "min"):
            raise ValueError(f"arg_reduce(): unknown op {op!r}; expected 'max' or 'min'")
        a = self._device_array(a)
        fname = op if with_values else "arg" + op
        flatten = axis is None or a.ndim == 0
        axes = tuple(range(a.ndim)) if flatten else (axis,)
        shape = () if flatten else _out_shape(a, axes)
        if flatten and a.size == 0:
            raise ValueError(f"{fname}(): Expected reduction dim to be specified for input.numel() == 0 "
                             f"(input shape {a.shape}).")
        if not flatten and a.shape[axis] == 0:
            raise ValueError(f"{fname}(): Expected reduction dim {axis} of input shape {a.shape} "
                             f"to have non-zero size.")
        src, layout = self._rows_of(a, axes, sort_reduced=not flatten)
        values = self.empty(shape, a.dtype) if with_values else None
        indices = self.empty(shape, np.int64)
        self._run_reduce("arg" + op, src, layout, values, indices)
        return values, indices

    def _float_input(self, op: str, a) -> CUDAArray:
        """``a`` on this device; a non-floating dtype raises the CPU kernels' TypeError."""
        a = self._device_array(a)
        if a.dtype.kind != "f":
            raise TypeError(f"{op}(): input of shape {a.shape} has unsupported dtype {a.dtype}; "
                            f"expected a floating dtype")
        return a

    def _float_rows(self, op: str, a, axes):
        """``(a, shape, src, layout, out)`` for a floating reduction over ``axes``."""
        a = self._float_input(op, a)
        axes = _norm_axes(a, axes)
        shape = _out_shape(a, axes)
        src, layout = self._rows_of(a, axes)
        return a, shape, src, layout, self.empty(shape, a.dtype)

    def var(self, a, axes, correction):
        """Variance dividing by ``max(0, N - correction)``: mean then squared deviations, both in float64."""
        a, shape, src, layout, out = self._float_rows("var", a, axes)
        divisor = max(0.0, layout.n - correction)
        if layout.n == 0:  # no squared deviations: 0 / divisor, as the CPU computes it
            self.fill_(out, float("nan") if divisor == 0 else 0.0)
            return out
        mean = self.empty(shape, np.float64)
        self._run_reduce("mean64", src, layout, mean, param=float(layout.n))
        self._run_reduce("sqdev", src, layout, out, center=mean, param=divisor)
        return out

    def logsumexp(self, a, axes):
        """``max + log(sum(exp(a - max)))`` over ``axes``; an empty reduction gives -inf."""
        a, shape, src, layout, out = self._float_rows("logsumexp", a, axes)
        if layout.n == 0:
            self.fill_(out, float("-inf"))
            return out
        center = self.empty(shape, a.dtype)
        self._run_reduce("max", src, layout, center)
        if a.dtype == np.float16:  # the kernel's center is its float accumulator (exact widening)
            center = self.cast(center, np.float32)
        self._run_reduce("sumexp", src, layout, out, center=center)
        return out

    def _lines(self, a: CUDAArray, out: CUDAArray, axis: int):
        """``(a, shape, [a strides, out strides], n, sa, so)`` of the lines along ``axis``."""
        if a.ndim == 0:
            a, out, axis = self.reshape_view(a, (1,)), self.reshape_view(out, (1,)), 0
        kept = [d for d in range(a.ndim) if d != axis]
        mshape, mstrides = merge_dims([a.shape[d] for d in kept],
                                      [[a.strides[d] for d in kept], [out.strides[d] for d in kept]])
        if len(mshape) > MAX_KERNEL_DIMS:  # a's copy has out's layout: kept dims merge into <= 2
            return self._lines(self.contiguous(a), out, axis)
        return a, mshape, mstrides, a.shape[axis], a.strides[axis], out.strides[axis]

    def _launch_lines(self, family: str, key: tuple, name: str, a, out, axis, extra, extra_fmt) -> None:
        a, mshape, mstrides, n, sa, so = self._lines(a, out, axis)
        rows = math.prod(mshape)
        if rows == 0 or n == 0:
            return
        rt = self.rt
        launch = plan_lines(rows, n, sa, mstrides[0][-1] if mshape else None, rt.sm_count)
        fmt = "PP" + "qqqq" + extra_fmt + "i" + layout_format(2)
        fn = rt.function(family, key, f"nr_{family}_{launch.kind}_{name}", fmt)
        rt.launch_grid(fn, launch.grid, launch.block, a.ptr, out.ptr, np.int64(rows), np.int64(n),
                       np.int64(sa), np.int64(so), *extra, np.int32(launch.warp_mode),
                       *layout_args(mshape, mstrides))

    def cumulative(self, op, a, axis, out_dtype):
        """cumsum / cumprod along ``axis`` (bool and integers accumulate into int64)."""
        if op not in SCAN_OPS:
            raise ValueError(f"cumulative(): unknown op {op!r}; expected 'cumsum' or 'cumprod'")
        a = self._device_array(a)
        _, natural = scan_types(op, a.dtype.name)
        out = self.empty(a.shape, natural)
        self._launch_lines("scan", (op, a.dtype.name), f"{op}_{a.dtype.name}", a, out, axis, (), "")
        return out if out.dtype == np.dtype(out_dtype) else self.cast(out, out_dtype)

    def softmax(self, a, axis, log):
        """softmax (log_softmax when ``log``) along ``axis``; a line of all -inf gives NaN, like torch."""
        a = self._float_input("log_softmax" if log else "softmax", a)
        out = self.empty(a.shape, a.dtype)
        self._launch_lines("softmax", (a.dtype.name,), a.dtype.name, a, out, axis,
                           (np.int32(1 if log else 0),), "i")
        return out
