"""Indexing, sorting and unique methods of the CUDA backend (kernels in ``kernels/index.py``).

Semantics follow ``backends/cpu.py`` and ``_core/index.pyx``.  Indices
reach ``index_select``/``gather``/``scatter_``/``index_add_``/``take``
validated by the ops (the CPU kernels re-check them); the kernels here skip
an out-of-range index instead of touching memory out of bounds (a gather
writes 0), without a host round trip.  Advanced indexing (``getitem``,
``index_put_``) is not validated by the ops, so it checks every index on the
device and raises numpy's ``IndexError`` after one synchronisation, before
anything is written.  Output sizes that depend on data (``nonzero``,
``masked_select``, boolean masks, ``unique``) synchronise once to read a count.

Where duplicate indices write one element, ``scatter_`` without reduction
and ``index_put_`` without accumulation keep an arbitrary one of the values
(the CPU keeps the last, torch's CUDA backend any); floating-point additions
into one element happen in an arbitrary order.
"""
from __future__ import annotations

import numpy as np

from .array import MAX_KERNEL_DIMS, CUDAArray, contiguous_strides, merge_dims
from .codegen import layout_args, layout_format
from .kernels.index import BITS, SCAN_TILE, SORT_TILE
from .launch import strided_launch

__all__ = ["IndexMethods", "advanced_plan"]

_I64 = np.dtype(np.int64)


class _Offsets:
    """A stand-in storage at address 0: a uint8 view over it has ``ptr`` == its element offset."""

    ptr = 0
    nbytes = 0

    def __init__(self, device_index: int) -> None:
        self.device_index = device_index


def _restride(arr: CUDAArray, shape, strides, offset=None) -> CUDAArray:
    return CUDAArray(arr.storage, shape, strides, arr.offset if offset is None else offset, arr.dtype)


def _axis_view(arr: CUDAArray, shape, axis: int) -> CUDAArray:
    """``arr`` read over ``shape`` with stride 0 on ``axis`` (a 0-d arr reads its one element)."""
    strides = list(arr.strides) if arr.ndim else [0] * len(shape)
    if strides:
        strides[axis] = 0
    return _restride(arr, shape, strides)


def _along(index: CUDAArray, shape, axis: int) -> CUDAArray:
    """A 0-d/1-D index read over ``shape``: its entries advance along ``axis`` only."""
    strides = [0] * len(shape)
    if strides and index.ndim:
        strides[axis] = index.strides[0]
    return _restride(index, shape, strides)


def _broadcast_to(arr: CUDAArray, shape) -> CUDAArray:
    """A zero-stride view of ``arr`` with exactly ``shape`` (numpy broadcasting rules, checked before)."""
    lead = len(shape) - arr.ndim
    strides = [0] * lead + [0 if n == 1 else s for n, s in zip(arr.shape, arr.strides)]
    return _restride(arr, shape, strides)


def _pow2(n: int) -> int:
    p = 2
    while p < n:
        p *= 2
    return p


def advanced_plan(shape, key):
    """Lay out numpy advanced indexing of an array of ``shape`` by ``key`` (device independent).

    Returns, per dim of the indexed view, ``("basic", size, start, step, a_dim)`` (``a_dim`` None for a new
    axis) or ``("index", entry, a_dim, column)`` (``entry`` the key position;
    ``column`` the coordinate of a boolean mask, ``-1`` for an integer array,
    ``"scalar"`` for a 0-d boolean).  Raises numpy's IndexError messages.

    Example:
        >>> import numpy as np
        >>> dims = advanced_plan((3, 4), (slice(None), np.array([0, 2])))
        >>> [d[0] for d in dims]
        ['basic', 'index']
    """
    items = key if isinstance(key, tuple) else (key,)

    def consumed(k):
        if k is None or k is Ellipsis:
            return 0
        if _is_bool_array(k):
            return k.ndim
        return 1

    used = sum(consumed(k) for k in items)
    if used > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, but {used} were indexed")
    if sum(k is Ellipsis for k in items) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if not any(k is Ellipsis for k in items):
        items = tuple(items) + (Ellipsis,)
    dims, d = [], 0
    for pos, k in enumerate(items):
        if k is Ellipsis:
            for _ in range(len(shape) - used):
                dims.append(("basic", shape[d], 0, 1, d))
                d += 1
        elif k is None:
            dims.append(("basic", 1, 0, 1, None))
        elif isinstance(k, slice):
            start, stop, step = k.indices(shape[d])
            dims.append(("basic", len(range(start, stop, step)), start, step, d))
            d += 1
        elif _is_bool_array(k):
            if k.ndim == 0:
                dims.append(("index", pos, None, "scalar"))
            for c in range(k.ndim):
                if k.shape[c] != shape[d]:
                    raise IndexError(f"boolean index did not match indexed array along axis {d}; size of axis is "
                                     f"{shape[d]} but size of corresponding boolean axis is {k.shape[c]}")
                dims.append(("index", pos, d, c))
                d += 1
        else:
            dims.append(("index", pos, d, -1))
            d += 1
    return dims


def _is_bool_array(k) -> bool:
    return getattr(k, "dtype", None) == np.bool_ and hasattr(k, "ndim")


class IndexMethods:
    """index_select ... unique of the backend protocol."""

    # ------------------------------------------------------------ helpers
    def _bits(self, dtype) -> str:
        return BITS[np.dtype(dtype).itemsize]

    def _move(self, op, bits, shape, arrays, extra=(), extra_format=""):
        rt = self.rt
        strided_launch(rt, lambda layout, fmt: rt.function("index_move", (bits, layout),
                                                           f"nr_imove_{op}_{bits}_{layout}", fmt),
                       shape, arrays, extra, extra_format)

    def _scan_fn(self, op, fmt):
        return self.rt.function("index_scan", ("int64",), f"nr_iscan_{op}_int64", fmt)

    def _scan_launch(self, op, shape, arrays, extra=(), extra_format=""):
        rt = self.rt
        strided_launch(rt, lambda layout, fmt: self._scan_fn(f"{op}_{layout}", fmt), shape, arrays, extra,
                       extra_format)

    def _private(self, arr, written):
        """``arr`` or a copy of it when it shares storage with ``written`` (reads must not see writes)."""
        if isinstance(arr, CUDAArray) and arr.storage is written.storage:
            return self.contiguous(arr)
        return arr

    def _exclusive_scan(self, buf: CUDAArray) -> None:
        """In-place exclusive prefix sum of a contiguous int64 array."""
        n = buf.size
        blocks = -(-n // SCAN_TILE)
        if blocks == 0:
            return
        sums = self.empty((blocks,), _I64)
        self.rt.launch_grid(self._scan_fn("block", "PPPq"), (blocks, 1, 1), (256, 1, 1),
                            buf.ptr, buf.ptr, sums.ptr, np.int64(n))
        if blocks > 1:
            self._exclusive_scan(sums)
            self.rt.launch(self._scan_fn("add", "PPq"), n, buf.ptr, sums.ptr, np.int64(n))

    def _positions(self, a: CUDAArray):
        """(pos, count): pos is the exclusive scan of "a is non-zero" in C order, with pos[size] = count."""
        n = a.size
        pos = self.zeros((n + 1,), _I64)
        view = CUDAArray(pos.storage, a.shape, contiguous_strides(a.shape), 0, _I64)
        rt = self.rt
        strided_launch(rt, lambda layout, fmt: rt.function("index_count", (a.dtype.name, layout),
                                                           f"nr_icount_nonzero_{a.dtype.name}_{layout}", fmt),
                       a.shape, [view, a])
        self._exclusive_scan(pos)
        return pos, view, self._read_i64(pos, n)

    def _read_i64(self, arr: CUDAArray, i: int) -> int:
        host = np.empty(1, _I64)
        self.rt.download(host, arr.ptr + i * 8)
        return int(host[0])

    # ------------------------------------------------------ gather/scatter
    def index_select(self, a, axis, index):
        shape = a.shape[:axis] + (index.size,) + a.shape[axis + 1:] if a.ndim else ()
        out = self.empty(shape, a.dtype)
        self._gather_along(out, _along(index, shape, axis), _axis_view(a, shape, axis), a, axis)
        return out

    def gather(self, a, axis, index):
        out = self.empty(index.shape, a.dtype)
        self._gather_along(out, index, _axis_view(a, index.shape, axis), a, axis)
        return out

    def _gather_along(self, out, index, a_view, a, axis):
        stride, bound = (a.strides[axis], a.shape[axis]) if a.ndim else (0, 1)
        self._move("gather", self._bits(a.dtype), out.shape, [out, index, a_view],
                   (np.int64(stride), np.int64(bound)), "qq")

    def scatter_(self, out, axis, index, src, reduce):
        if index.size == 0:
            return
        src = self._private(self._device_array(src, out.dtype), out)
        index = self._private(index, out)
        shape = index.shape
        src_view = _restride(src, shape, src.strides if src.ndim else [0] * len(shape))
        self._scatter_along(out, axis, shape, index, src_view, reduce, 1.0)

    def index_add_(self, out, axis, index, src, alpha):
        if src.size == 0:
            return
        src = self._private(src, out)
        index = self._private(index, out)
        self._scatter_along(out, axis, src.shape, _along(index, src.shape, axis), src, "add", float(alpha))

    def _scatter_along(self, out, axis, shape, index, src, reduce, alpha):
        stride, bound = (out.strides[axis], out.shape[axis]) if out.ndim else (0, 1)
        out_view = _axis_view(out, shape, axis)
        if reduce == "none":
            self._move("scatter", self._bits(out.dtype), shape, [out_view, index, src],
                       (np.int64(stride), np.int64(bound)), "qq")
            return
        dtype = out.dtype.name
        if dtype == "bool":
            if alpha == 0.0:
                return  # or-ing False changes nothing
            # On bool bytes "or" is max and "and" is min, as on the CPU.
            dtype, reduce, alpha = "uint8", {"add": "amax", "multiply": "amin"}.get(reduce, reduce), 1.0
        is_float = out.dtype.kind == "f"
        scaled = alpha != 1.0
        al = np.float64(alpha) if is_float else np.int64(int(alpha))
        rt = self.rt
        strided_launch(rt, lambda layout, fmt: rt.function("index_reduce", (dtype, layout),
                                                           f"nr_ireduce_scatter_{reduce}_{dtype}_{layout}", fmt),
                       shape, [out_view, index, src],
                       (np.int64(stride), np.int64(bound), al, np.int32(scaled)), "qq" + ("d" if is_float else "q") + "i")

    def take(self, a, index):
        index = self._dense(index)
        out = self.empty(index.shape, a.dtype)
        mshape, (mstrides,) = merge_dims(a.shape, [a.strides])
        if len(mshape) > MAX_KERNEL_DIMS:
            a = self.contiguous(a)
            mshape, mstrides = (a.size,), (1,)
        bits = self._bits(a.dtype)
        fn = self.rt.function("index_move", (bits, "strided"), f"nr_imove_take_{bits}_strided",
                              "PPPqq" + layout_format(1))
        self.rt.launch(fn, out.size, out.ptr, index.ptr, a.ptr, np.int64(a.size), np.int64(out.size),
                       *layout_args(mshape, [mstrides]))
        return out

    # -------------------------------------------------------------- masks
    def masked_select(self, a, mask):
        pos, view, count = self._positions(mask)
        out = self.empty((count,), a.dtype)
        if count:
            self._move("select", self._bits(a.dtype), a.shape, [view, a], (out.ptr,), "P")
        return out

    def masked_fill_(self, a, mask, value):
        value = self._device_array(value)
        if value.dtype != a.dtype:
            value = self.cast(value, a.dtype)
        mask = self._private(mask, a)
        self._move("masked_fill", self._bits(a.dtype), a.shape, [a, mask, value])

    def nonzero(self, a):
        pos, _, count = self._positions(a)
        out = self.empty((count, a.ndim), _I64)
        if count and a.ndim:
            shape = self.from_numpy(np.asarray(a.shape, _I64))
            self.rt.launch(self._scan_fn("coords", "PPPiq"), a.size, pos.ptr, shape.ptr, out.ptr,
                           np.int32(a.ndim), np.int64(a.size))
        return out

    # ------------------------------------------------- advanced indexing
    def _index_array(self, k, size, axis, err, slot):
        """Key entry ``k`` (int, int array, host or device) wrapped into [0, size) on the device."""
        if isinstance(k, CUDAArray):
            if k.dtype.kind not in "iu":
                raise IndexError("arrays used as indices must be of integer (or boolean) type")
            if k.dtype != _I64:
                k = self.cast(k, _I64)
            out = self.empty(k.shape, _I64)
            self._scan_launch("wrap", k.shape, [out, k], (np.int64(size), err.ptr + 16 * slot), "qP")
            return out
        host = np.asarray(k)
        if host.dtype.kind not in "iu":
            raise IndexError("arrays used as indices must be of integer (or boolean) type")
        host = host.astype(np.int64)
        bad = host[(host < -size) | (host >= size)]
        if bad.size:
            raise IndexError(f"index {bad.flat[0]} is out of bounds for axis {axis} with size {size}")
        return self.from_numpy(np.where(host < 0, host + size, host))

    def _advanced(self, a, key):
        """(element offsets into a's storage over the result shape, result shape); bounds are checked."""
        items = key if isinstance(key, tuple) else (key,)
        dims = advanced_plan(a.shape, key)
        masks = {}  # key position -> (count, coordinate columns)
        for kind, pos, *_ in dims:
            if kind == "index" and pos not in masks and _is_bool_array(items[pos]):
                m = items[pos]
                if m.ndim == 0:
                    masks[pos] = None
                elif isinstance(m, CUDAArray):
                    coords = self.nonzero(m)
                    masks[pos] = [_restride(coords, (coords.shape[0],), (m.ndim,), coords.offset + c)
                                  for c in range(m.ndim)]
                else:
                    masks[pos] = [self.from_numpy(c.astype(np.int64)) for c in np.nonzero(m)]
        err = self.zeros((2 * len(dims),), _I64)
        view_shape, view_strides, offset, indexed = [], [], a.offset, []
        for d, entry in enumerate(dims):
            if entry[0] == "basic":
                _, size, start, step, ad = entry
                stride = 0 if ad is None else a.strides[ad]
                offset += start * stride
                view_shape.append(size)
                view_strides.append(stride * step)
                continue
            _, pos, ad, column = entry
            if column == "scalar":  # a 0-d bool: a new axis indexed by [0] (True) or [] (False)
                view_shape.append(1)
                view_strides.append(0)
                idx = self.zeros((1 if bool(self.to_numpy(items[pos])) else 0,), _I64)
            elif column >= 0:
                view_shape.append(a.shape[ad])
                view_strides.append(a.strides[ad])
                idx = masks[pos][column]
            else:
                view_shape.append(a.shape[ad])
                view_strides.append(a.strides[ad])
                idx = self._index_array(items[pos], a.shape[ad], ad, err, d)
            indexed.append((d, idx))
        # One synchronisation reads the error words of every device index array.
        on_device = any(isinstance(items[e[1]], CUDAArray) and e[3] == -1 for e in dims if e[0] == "index")
        flags = self.to_numpy(err).reshape(-1, 2) if on_device else ()
        for d, (flag, value) in enumerate(flags):
            if flag:
                raise IndexError(f"index {value} is out of bounds for axis {dims[d][2]} with size {view_shape[d]}")
        try:
            bshape = tuple(np.broadcast_shapes(*(idx.shape for _, idx in indexed)))
        except ValueError:
            shapes = " ".join(str(idx.shape) for _, idx in indexed)
            raise IndexError(f"shape mismatch: indexing arrays could not be broadcast together with shapes {shapes}") from None
        adv = [d for d, _ in indexed]
        basic = [d for d in range(len(dims)) if d not in adv]
        # numpy: adjacent index arrays put their dims in place; separated ones put them first.
        adjacent = adv == list(range(adv[0], adv[-1] + 1))
        before = [d for d in basic if adjacent and d < adv[0]]
        after = [d for d in basic if not adjacent or d > adv[-1]]
        rshape = tuple(view_shape[d] for d in before) + bshape + tuple(view_shape[d] for d in after)
        nb = len(before)
        bdims = range(nb, nb + len(bshape))
        base_strides = ([view_strides[d] for d in before] + [0] * len(bshape)
                        + [view_strides[d] for d in after])
        off = self.empty(rshape, _I64)
        base = CUDAArray(_Offsets(a.device_index), rshape, base_strides, offset, np.uint8)
        self._scan_launch("adv_init", rshape, [off, base])
        for d, idx in indexed:
            lead = len(bshape) - idx.ndim
            strides = [0] * len(rshape)
            for j, (n, s) in enumerate(zip(idx.shape, idx.strides)):
                strides[bdims[lead + j]] = 0 if n == 1 else s
            view = _restride(idx, rshape, strides)
            self._scan_launch("adv_add", rshape, [off, view], (np.int64(view_strides[d]),), "q")
        return off, rshape

    def getitem(self, a, key):
        """Advanced (copying) indexing with numpy's rules; ``key`` holds ints, slices, None, Ellipsis, arrays."""
        off, rshape = self._advanced(a, key)
        out = self.empty(rshape, a.dtype)
        bits = self._bits(a.dtype)
        fn = self.rt.function("index_move", (bits, "contig"), f"nr_imove_adv_gather_{bits}_contig", "PPPq")
        self.rt.launch(fn, out.size, out.ptr, off.ptr, a.storage.ptr, np.int64(out.size))
        return out

    def index_put_(self, a, key, values, accumulate):
        """``a[key] = values`` (``+=`` with repeats accumulating); every index is checked before writing."""
        off, rshape = self._advanced(a, key)
        values = self._device_array(values)
        if values.dtype != a.dtype:
            values = self.cast(values, a.dtype)
        vshape = values.shape
        while len(vshape) > len(rshape) and vshape[0] == 1:
            vshape = vshape[1:]
        ok = len(vshape) <= len(rshape) and all(v in (1, r) for v, r in zip(vshape[::-1], rshape[::-1]))
        if not ok:
            raise ValueError(f"shape mismatch: value array of shape {values.shape} could not be broadcast "
                             f"to indexing result of shape {rshape}")
        values = self._private(values, a)
        values = _broadcast_to(_restride(values, vshape, values.strides[values.ndim - len(vshape):]), rshape)
        if not accumulate:
            self._move("put", self._bits(a.dtype), rshape, [off, values], (a.storage.ptr,), "P")
            return
        # bool: += is or, which is max on 0/1 bytes.
        dtype, fname = ("uint8", "put_amax") if a.dtype == np.bool_ else (a.dtype.name, "put_add")
        rt = self.rt
        strided_launch(rt, lambda layout, fmt: rt.function("index_reduce", (dtype, layout),
                                                           f"nr_ireduce_{fname}_{dtype}_{layout}", fmt),
                       rshape, [off, values], (a.storage.ptr,), "P")

    # ---------------------------------------------------------- joining
    def cat(self, arrays, axis, np_dtype):
        shape = list(arrays[0].shape)
        shape[axis] = sum(x.shape[axis] for x in arrays)
        out = self.empty(shape, np_dtype)
        start = 0
        for x in arrays:
            part = list(shape)
            part[axis] = x.shape[axis]
            self.copy_(_restride(out, part, out.strides, out.offset + start * out.strides[axis]), x)
            start += x.shape[axis]
        return out

    def flip(self, a, axes):
        strides, offset = list(a.strides), a.offset
        for d in (d % a.ndim for d in axes):
            if a.shape[d] > 0:
                offset += (a.shape[d] - 1) * strides[d]
                strides[d] = -strides[d]
        return self.contiguous(_restride(a, a.shape, strides, offset))

    def tri(self, a, diagonal, upper):
        out = self.empty(a.shape, a.dtype)
        rows, cols = a.shape[-2:]
        self._move("tri", self._bits(a.dtype), a.shape, [out, a],
                   (np.int64(rows), np.int64(cols), np.int64(diagonal), np.int32(bool(upper))), "qqqi")
        return out

    # ------------------------------------------------------------ sorting
    def sort(self, a, axis, descending, stable):
        """(values, int64 indices) along ``axis``: always stable; NaN is the greatest value."""
        if a.ndim == 0:
            return self.contiguous(a), self.zeros((), _I64)
        perm = [d for d in range(a.ndim) if d != axis] + [axis]
        moved = self.permute(a, perm)
        vals, idx = self.empty(moved.shape, a.dtype), self.empty(moved.shape, _I64)
        if a.size:
            self._sort_rows(self.contiguous(moved), vals, idx, bool(descending))
        if axis == a.ndim - 1:
            return vals, idx
        back = [perm.index(d) for d in range(a.ndim)]
        return self.contiguous(self.permute(vals, back)), self.contiguous(self.permute(idx, back))

    def _sort_fn(self, dtype, op, fmt):
        return self.rt.function("index_sort", (dtype.name,), f"nr_isort_{op}_{dtype.name}", fmt)

    def _sort_rows(self, src, vals, idx, desc):
        """Sort the rows (last dim, length L) of the contiguous ``src`` into ``vals``/``idx``."""
        length = src.shape[-1]
        rows = src.size // length
        p = _pow2(length)
        dt, rt, d = src.dtype, self.rt, np.int32(desc)
        if p <= SORT_TILE:
            rt.launch_grid(self._sort_fn(dt, "small", "PPPqii"), (rows, 1, 1), (p // 2, 1, 1),
                           src.ptr, vals.ptr, idx.ptr, np.int64(length), np.int32(p), d)
            return
        n = rows * p
        keys, order = self.empty((n,), dt), self.empty((n,), np.int32)
        rt.launch(self._sort_fn(dt, "init", "PPPqqq"), n, src.ptr, keys.ptr, order.ptr, np.int64(length),
                  np.int64(p), np.int64(n))
        tile = self._sort_fn(dt, "tile", "PPqqi")
        step = self._sort_fn(dt, "global", "PPqqqiq")
        grid, block = (n // SORT_TILE, 1, 1), (SORT_TILE // 2, 1, 1)
        rt.launch_grid(tile, grid, block, keys.ptr, order.ptr, np.int64(p), np.int64(0), d)
        k = 2 * SORT_TILE
        while k <= p:
            j = k // 2
            while j >= SORT_TILE:
                rt.launch(step, n // 2, keys.ptr, order.ptr, np.int64(p), np.int64(k), np.int64(j), d,
                          np.int64(n // 2))
                j //= 2
            rt.launch_grid(tile, grid, block, keys.ptr, order.ptr, np.int64(p), np.int64(k), d)
            k *= 2
        rt.launch(self._sort_fn(dt, "finish", "PPPPqqq"), rows * length, keys.ptr, order.ptr, vals.ptr, idx.ptr,
                  np.int64(length), np.int64(p), np.int64(rows * length))

    def unique(self, a, sorted_, return_inverse, return_counts, axis):
        """numpy's ``unique`` (always sorted; NaNs merge); ``axis`` is done on the host (rarely used)."""
        if axis is not None:
            from ..cpu import CPUBackend

            result = CPUBackend.unique(None, self.to_numpy(a), sorted_, return_inverse, return_counts, axis)
            if not isinstance(result, tuple):
                return self.from_numpy(result)
            return tuple(self.from_numpy(r) for r in result)
        n = a.size
        flat = self.reshape_view(self.contiguous(a), (n,))
        values, perm = self.sort(flat, 0, False, True)
        pos = self.zeros((n + 1,), _I64)
        if n:
            self.rt.launch(self._sort_fn(a.dtype, "unique_flags", "PPq"), n, values.ptr, pos.ptr, np.int64(n))
        self._exclusive_scan(pos)
        count = self._read_i64(pos, n) if n else 0
        out = self.empty((count,), a.dtype)
        if count:
            self.rt.launch(self._sort_fn(a.dtype, "unique_values", "PPPq"), n, values.ptr, pos.ptr, out.ptr,
                           np.int64(n))
        if not (return_inverse or return_counts):
            return out
        result = [out]
        if return_inverse:  # numpy 2 gives the inverse the input's shape
            inv = self.empty(a.shape, _I64)
            self.rt.launch(self._scan_fn("inverse", "PPPq"), n, pos.ptr, perm.ptr, inv.ptr, np.int64(n))
            result.append(inv)
        if return_counts:
            starts, counts = self.empty((count,), _I64), self.empty((count,), _I64)
            self.rt.launch(self._scan_fn("starts", "PPq"), n, pos.ptr, starts.ptr, np.int64(n))
            self.rt.launch(self._scan_fn("counts", "PPqq"), count, starts.ptr, counts.ptr, np.int64(n),
                           np.int64(count))
            result.append(counts)
        return tuple(result)
