"""Indexing, joining and sorting: ``__getitem__``/``__setitem__``, gather/scatter, cat/stack, sort/topk...

CPU kernels: ``neurarust/_core/index.pyx``.  Ops that are compositions
(``repeat``, ``roll``, ``tril``, ``topk``...) are written with differentiable
primitives, so their gradients need no code of their own.

Example:
    >>> import neurarust as nr
    >>> x = nr.arange(12).view(3, 4)
    >>> x[1:, [0, 3]], x[x > 9]
    (tensor([[ 4,  7],
            [ 8, 11]]), tensor([10, 11]))
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from .._core.tensor_base import TensorBase
from ..autograd.function import Function
from ..autograd.grad_mode import GradMode
from ..dtypes import bool_, int64, promote_types
from ..errors import DTypeError, ShapeError, TensorIndexError
from ._util import backend, common_device, wrap, wrap_dim

values_indices = namedtuple("return_types", ["values", "indices"])


# ---------------------------------------------------------------- helpers
def _check_index_tensor(op, index, input, allow_bool=False):
    """``index`` as an int64 tensor on ``input``'s device (a mismatch raises, as in torch)."""
    if not isinstance(index, TensorBase):
        raise TypeError(f"{op}(): index must be a Tensor, got {type(index).__name__}")
    common_device(op, input, index)
    if index._dtype is not int64 and not (allow_bool and index._dtype is bool_):
        if index._dtype.category == 1:
            return index.to(int64)
        raise DTypeError(f"{op}(): Expected dtype int64 for index, got {index._dtype}")
    return index


def _wrap_negative(index, size, op):
    """Indices in [-size, size) made non-negative; anything else raises IndexError here."""
    data = index._data
    if index.numel():
        lo, hi = index.min().item(), index.max().item()
        if lo < -size or hi >= size:
            bad = lo if lo < -size else hi
            raise TensorIndexError(f"{op}(): index {bad} is out of bounds for dimension with size {size}")
        if lo < 0:
            return (index + size * (index < 0)).contiguous()
    del data
    return index


def _check_in_range(index, size, op, dim):
    if index.numel():
        lo, hi = index.min().item(), index.max().item()
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            raise TensorIndexError(f"{op}(): index {bad} is out of bounds for dimension {dim} with size {size}")


def _kernel_call(op, fn, *args):
    try:
        return fn(*args)
    except IndexError as exc:
        raise TensorIndexError(f"{op}(): {exc}") from None


# ---------------------------------------------------------- advanced index
def _is_basic(key) -> bool:
    items = key if isinstance(key, tuple) else (key,)
    for k in items:
        if k is None or k is Ellipsis or isinstance(k, slice):
            continue
        if isinstance(k, (bool, np.bool_)):
            return False
        if isinstance(k, (int, np.integer)):
            continue
        if isinstance(k, TensorBase) and k.ndim == 0 and k._dtype.category == 1:
            continue
        return False
    return True


def _basic_key(key):
    items = key if isinstance(key, tuple) else (key,)
    return tuple(int(k) if isinstance(k, (TensorBase, np.integer)) else k for k in items)


def _advanced_key(x, key):
    """Convert an index with tensors/lists/bools into backend arrays (numpy semantics = torch semantics)."""
    items = key if isinstance(key, tuple) else (key,)
    out = []
    for k in items:
        if isinstance(k, TensorBase):
            if k._dtype is bool_:
                out.append(k._data)
            elif k._dtype.category == 1:
                out.append(k._data if k._dtype is int64 else k.to(int64)._data)
            else:
                raise TensorIndexError(
                    f"tensors used as indices must be long, int, byte or bool tensors, got {k._dtype}"
                )
        elif isinstance(k, (list, tuple)):
            arr = np.asarray([v.item() if isinstance(v, TensorBase) else v for v in k])
            if arr.dtype.kind not in "biu" and arr.size:
                raise TensorIndexError(f"index lists must hold ints or bools, got {arr.dtype}")
            out.append(arr if arr.dtype.kind == "b" else arr.astype(np.int64))
        elif isinstance(k, (bool, np.bool_)):
            out.append(np.array(bool(k)))
        elif isinstance(k, np.ndarray):
            out.append(k)
        elif k is None or k is Ellipsis or isinstance(k, (slice, int, np.integer)):
            out.append(k)
        else:
            raise TensorIndexError(
                f"only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
                f"valid indices (got {type(k).__name__})"
            )
    return tuple(out)


class AdvancedIndex(Function):
    @staticmethod
    def forward(ctx, x, key):
        ctx.key = key
        ctx.in_shape = tuple(x.shape)
        try:
            data = backend(x).getitem(x._data, key)
        except IndexError as exc:
            raise TensorIndexError(str(exc)) from None
        return wrap(data, x._device, x._dtype)

    @staticmethod
    def backward(ctx, g):
        from .creation import zeros

        return IndexPut.apply(zeros(ctx.in_shape, dtype=g.dtype, device=g.device), g, ctx.key, True), None


class IndexPut(Function):
    """A copy of ``x`` with ``values`` written (or added) at an advanced index."""

    @staticmethod
    def forward(ctx, x, values, key, accumulate):
        out = x.clone()
        vals = values.to(x._dtype) if isinstance(values, TensorBase) else values
        b = backend(out)
        v = vals._data if isinstance(vals, TensorBase) else b.scalar_array(vals, x._dtype.numpy)
        try:
            b.index_put_(out._data, key, v, accumulate)
        except IndexError as exc:
            raise TensorIndexError(str(exc)) from None
        except ValueError as exc:
            raise ShapeError(f"index_put: shape mismatch: {exc}") from None
        ctx.key = key
        ctx.accumulate = accumulate
        ctx.value_shape = tuple(values.shape) if isinstance(values, TensorBase) else None
        return out

    @staticmethod
    def backward(ctx, g):
        from .elementwise import sum_to

        nx, nv = ctx.needs_input_grad[:2]
        gx = gv = None
        if nx:
            gx = g if ctx.accumulate else IndexPut.apply(g, 0.0, ctx.key, False)
        if nv:
            gv = sum_to(AdvancedIndex.apply(g, ctx.key), ctx.value_shape)
        return gx, gv, None, None


def getitem(x, key):
    """``x[key]``: basic indexing gives a view; tensors, lists and masks copy (as in torch)."""
    from .views import Select, Slice

    if _is_basic(key):
        key = _basic_key(key)
        return (Select if all(isinstance(k, int) for k in key) else Slice).apply(x, key)
    split = _split_integer_indices(key)
    if split is not None:
        basic, key = split
        x = Slice.apply(x, basic)
    return AdvancedIndex.apply(x, _advanced_key(x, key))


def _is_integer_index(k) -> bool:
    if isinstance(k, (bool, np.bool_)):
        return False
    if isinstance(k, (int, np.integer)):
        return True
    return isinstance(k, TensorBase) and k.ndim == 0 and k._dtype.category == 1


def _dims_consumed(k) -> int:
    """How many dims of the indexed tensor an advanced index entry uses up."""
    if isinstance(k, TensorBase):
        return k.ndim if k._dtype is bool_ else 1
    if isinstance(k, np.ndarray):
        return k.ndim if k.dtype == np.bool_ else 1
    if isinstance(k, (list, tuple)):
        arr = np.asarray([v.item() if isinstance(v, TensorBase) else v for v in k])
        return arr.ndim if arr.dtype == np.bool_ else 1
    return 1


def _split_integer_indices(key):
    """(integer part, rest) of an advanced key, or None when it has no integer entries.

    torch applies integer entries as ``select`` before the advanced indexing, so
    they never join the broadcast of the index tensors: ``x[1, :, [0, 1]]`` on a
    (2, 3, 4) tensor is (3, 2) in torch, while NumPy (whose rules the backend
    follows for the rest) would give (2, 3).
    """
    items = key if isinstance(key, tuple) else (key,)
    if not any(_is_integer_index(k) for k in items):
        return None
    basic, rest = [], []
    for k in items:
        if _is_integer_index(k):
            basic.append(int(k))
        elif k is None or isinstance(k, (bool, np.bool_)):
            rest.append(k)  # adds a dim, consumes none
        elif k is Ellipsis:
            basic.append(k)
            rest.append(k)
        elif isinstance(k, slice):
            basic.append(slice(None))
            rest.append(k)
        else:
            basic.extend([slice(None)] * _dims_consumed(k))
            rest.append(k)
    return tuple(basic), tuple(rest)


def setitem(x, key, value):
    """``x[key] = value`` with broadcasting; recorded by autograd when needed."""
    from .elementwise import copy_inplace
    from .views import Slice

    recording = GradMode.enabled and (x._requires_grad or getattr(value, "_requires_grad", False))
    if _is_basic(key):
        target = Slice.apply(x, _basic_key(key)) if recording else _slice_no_grad(x, key)
        if not isinstance(value, TensorBase):
            from .creation import full

            value = full((), value, dtype=x._dtype, device=x._device)
        _check_broadcast_assign(value, target)
        extra = value.ndim - target.ndim
        if extra > 0:  # leading size-1 dims of the value are dropped, as in torch
            value = value.reshape(tuple(value.shape[extra:]))
        if recording:
            copy_inplace(target, value.to(x._dtype).expand(tuple(target.shape)))
        else:
            backend(x).copy_(target._data, value._data)
            x._version_counter.bump()
        return
    split = _split_integer_indices(key)
    target = x
    if split is not None:  # integers select first, as in getitem; then write into that view
        basic, key = split
        target = Slice.apply(x, basic) if recording else _slice_no_grad(x, basic)
    adv = _advanced_key(target, key)
    if recording:
        copy_inplace(target, IndexPut.apply(target, value, adv, False))
        return
    b = backend(x)
    v = value.to(x._dtype)._data if isinstance(value, TensorBase) else b.scalar_array(value, x._dtype.numpy)
    try:
        b.index_put_(target._data, adv, v, False)
    except IndexError as exc:
        raise TensorIndexError(str(exc)) from None
    except ValueError as exc:
        raise ShapeError(f"index_put: shape mismatch: {exc}") from None
    x._version_counter.bump()


def _slice_no_grad(x, key):
    from .views import Slice

    prev = GradMode.enabled
    GradMode.enabled = False
    try:
        return Slice.apply(x, _basic_key(key))
    finally:
        GradMode.enabled = prev


def _check_broadcast_assign(value, target):
    vs, ts = tuple(value.shape), tuple(target.shape)
    ok = len(vs) <= len(ts) or all(n == 1 for n in vs[: len(vs) - len(ts)])
    vs_trim = vs[len(vs) - len(ts):] if len(vs) > len(ts) else vs
    if ok:
        for a, b in zip(reversed(vs_trim), reversed(ts)):
            if a != 1 and a != b:
                ok = False
    if not ok:
        raise ShapeError(f"shape mismatch: value tensor of shape {list(vs)} cannot be broadcast to indexing result of shape {list(ts)}")


# ------------------------------------------------------- gather / scatter
class IndexSelect(Function):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.meta = (tuple(x.shape), dim, index)
        data = _kernel_call("index_select", backend(x).index_select, x._data, dim, index.contiguous()._data)
        return wrap(data, x._device, x._dtype)

    @staticmethod
    def backward(ctx, g):
        shape, dim, index = ctx.meta
        from .creation import zeros

        return zeros(shape, dtype=g.dtype, device=g.device).index_add(dim, index, g), None, None


def index_select(input, dim: int, index):
    """Entries of ``input`` along ``dim`` at the positions in the 1-D ``index``.

    Example:
        >>> import neurarust as nr
        >>> nr.arange(6).view(2, 3).index_select(1, nr.tensor([2, 0]))
        tensor([[2, 0],
                [5, 3]])
    """
    index = _check_index_tensor("index_select", index, input)
    if index.ndim > 1:
        raise ShapeError(f"index_select(): Index is supposed to be a vector, got shape {list(index.shape)}")
    d = wrap_dim(dim, input.ndim, "index_select") if input.ndim else 0
    if input.ndim == 0 and index.numel() != 1:
        raise ShapeError(f"index_select(): Index to scalar can have only 1 value, got {index.numel()} value(s)")
    src = input if input.ndim else input.reshape(1)
    index = index.reshape(-1)
    _check_in_range(index, src.shape[d], "index_select", d)
    out = IndexSelect.apply(src, d, index)
    return out.reshape(()) if input.ndim == 0 else out


class Gather(Function):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.meta = (tuple(x.shape), dim, index)
        data = _kernel_call("gather", backend(x).gather, x._data, dim, index._data)
        return wrap(data, x._device, x._dtype)

    @staticmethod
    def backward(ctx, g):
        shape, dim, index = ctx.meta
        from .creation import zeros

        return zeros(shape, dtype=g.dtype, device=g.device).scatter_add(dim, index, g), None, None


def _check_gather_shapes(op, x, dim, index, src=None):
    if index.ndim != x.ndim:
        raise ShapeError(f"{op}(): Index tensor must have the same number of dimensions as input tensor "
                         f"({index.ndim} vs {x.ndim})")
    for d in range(x.ndim):
        if d != dim and index.shape[d] > x.shape[d]:
            raise ShapeError(f"{op}(): Size does not match at dimension {d} expected index {list(index.shape)} "
                             f"to be smaller than self {list(x.shape)} apart from dimension {dim}")
        if src is not None and index.shape[d] > src.shape[d]:
            raise ShapeError(f"{op}(): Expected index {list(index.shape)} to be smaller than src {list(src.shape)}")


def gather(input, dim: int, index, *, sparse_grad: bool = False):
    """``out[i][j] = input[index[i][j]][j]`` for ``dim=0`` (and so on).

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([[1, 2], [3, 4]]).gather(1, nr.tensor([[0, 0], [1, 0]]))
        tensor([[1, 1],
                [4, 3]])
    """
    index = _check_index_tensor("gather", index, input)
    if input.ndim <= 1 and index.ndim <= 1 and input.ndim != index.ndim:
        # torch treats a 0-d input or index as 1-D of length 1 here.
        out = gather(input.reshape(-1), dim, index.reshape(-1))
        return out.reshape(tuple(index.shape))
    d = wrap_dim(dim, input.ndim, "gather") if input.ndim else 0
    _check_gather_shapes("gather", input, d, index)
    _check_in_range(index, input.shape[d] if input.ndim else 1, "gather", d)
    return Gather.apply(input, d, index.contiguous())


class Scatter(Function):
    @staticmethod
    def forward(ctx, x, dim, index, src, reduce):
        out = x.clone()
        b = backend(out)
        src_data = src.to(x._dtype)._data if isinstance(src, TensorBase) else b.full(tuple(index.shape), src, x._dtype.numpy)
        _kernel_call("scatter", b.scatter_, out._data, dim, index._data, src_data, reduce)
        ctx.meta = (dim, index, reduce, tuple(src.shape) if isinstance(src, TensorBase) else None)
        return out

    @staticmethod
    def backward(ctx, g):
        dim, index, reduce, src_shape = ctx.meta
        nx, _, _, ns = ctx.needs_input_grad[:4]
        gx = gs = None
        if reduce == "add":
            gx = g if nx else None
        elif reduce == "none":
            gx = g.scatter(dim, index, 0.0) if nx else None
        elif nx or ns:
            raise AutogradError_(f"scatter with reduce='{reduce}' has no gradient implemented")
        if ns:
            from .creation import zeros

            gs = g.gather(dim, index)
            if tuple(gs.shape) != src_shape:
                pad = zeros(src_shape, dtype=g.dtype, device=g.device)
                pad[tuple(slice(0, n) for n in index.shape)] = gs
                gs = pad
        return gx, None, None, gs, None


def AutogradError_(msg):
    from ..errors import AutogradError

    return AutogradError(msg)


def _scatter(op, input, dim, index, src, reduce):
    index = _check_index_tensor(op, index, input)
    if isinstance(src, TensorBase):
        common_device(op, input, src)
    d = wrap_dim(dim, input.ndim, op) if input.ndim else 0
    _check_gather_shapes(op, input, d, index, src if isinstance(src, TensorBase) else None)
    _check_in_range(index, input.shape[d] if input.ndim else 1, op, d)
    return Scatter.apply(input, d, index.contiguous(), src, reduce)


_SCATTER_REDUCE = {None: "none", "add": "add", "multiply": "multiply", "sum": "add", "prod": "multiply",
                   "amax": "amax", "amin": "amin"}


def scatter(input, dim: int, index, src=None, *, value=None, reduce=None):
    """Write ``src`` (or ``value``) into a copy of ``input`` at ``index`` along ``dim``.

    Example:
        >>> import neurarust as nr
        >>> nr.zeros(3).scatter(0, nr.tensor([2, 0]), nr.tensor([5.0, 7.0]))
        tensor([7., 0., 5.])
    """
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter(): expected 'src' or 'value'")
    if reduce not in _SCATTER_REDUCE:
        raise ValueError(f"scatter(): reduce must be 'add' or 'multiply', got {reduce!r}")
    return _scatter("scatter", input, dim, index, src, _SCATTER_REDUCE[reduce])


def scatter_add(input, dim: int, index, src):
    """Add ``src`` into a copy of ``input`` at ``index`` along ``dim`` (duplicates accumulate).

    Example:
        >>> import neurarust as nr
        >>> nr.zeros(2).scatter_add(0, nr.tensor([1, 1, 0]), nr.tensor([1.0, 2.0, 3.0]))
        tensor([3., 3.])
    """
    return _scatter("scatter_add", input, dim, index, src, "add")


def scatter_reduce(input, dim: int, index, src, reduce: str, *, include_self: bool = True):
    """Reduce ``src`` into a copy of ``input`` at ``index`` (``sum``, ``prod``, ``amax``, ``amin``)."""
    if reduce not in ("sum", "prod", "amax", "amin"):
        raise ValueError(f"scatter_reduce(): reduce must be one of sum, prod, amax, amin, got {reduce!r}")
    if not include_self:
        raise ValueError("scatter_reduce(): include_self=False is not supported")
    return _scatter("scatter_reduce", input, dim, index, src, _SCATTER_REDUCE[reduce])


class IndexAdd(Function):
    @staticmethod
    def forward(ctx, x, dim, index, src, alpha):
        out = x.clone()
        _kernel_call("index_add", backend(out).index_add_, out._data, dim, index._data,
                     src.to(x._dtype)._data, float(alpha))
        ctx.meta = (dim, index, alpha)
        return out

    @staticmethod
    def backward(ctx, g):
        dim, index, alpha = ctx.meta
        ns = ctx.needs_input_grad[3]
        gs = g.index_select(dim, index) * alpha if ns else None
        return g, None, None, gs, None


def index_add(input, dim: int, index, source, *, alpha=1):
    """Add ``alpha * source`` into a copy of ``input`` at ``index`` along ``dim``.

    Example:
        >>> import neurarust as nr
        >>> nr.zeros(3).index_add(0, nr.tensor([0, 0]), nr.tensor([1.0, 2.0]))
        tensor([3., 0., 0.])
    """
    index = _check_index_tensor("index_add", index, input).reshape(-1)
    d = wrap_dim(dim, input.ndim, "index_add") if input.ndim else 0
    _check_in_range(index, input.shape[d] if input.ndim else 1, "index_add", d)
    expected = list(input.shape)
    if expected:
        expected[d] = index.shape[0]
    if list(source.shape) != expected and not (input.ndim == 0 and source.numel() == index.numel()):
        raise ShapeError(f"index_add(): source shape {list(source.shape)} does not match {expected}")
    return IndexAdd.apply(input, d, index.contiguous(), source, alpha)


class Take(Function):
    @staticmethod
    def forward(ctx, x, index):
        ctx.meta = (tuple(x.shape), index)
        data = _kernel_call("take", backend(x).take, x._data, index._data)
        return wrap(data, x._device, x._dtype)

    @staticmethod
    def backward(ctx, g):
        from .views import IndexAddFlat

        shape, index = ctx.meta
        return IndexAddFlat.apply(g, index, shape), None


def take(input, index):
    """Elements of the flattened ``input`` at ``index`` (negative indices count from the end).

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([[1, 2], [3, 4]]).take(nr.tensor([0, -1]))
        tensor([1, 4])
    """
    index = _check_index_tensor("take", index, input)
    index = _wrap_negative(index, input.numel(), "take")
    return Take.apply(input, index.contiguous())


def masked_fill(input, mask, value):
    """``value`` where ``mask`` is True (broadcast), ``input`` elsewhere.

    Example:
        >>> import neurarust as nr
        >>> nr.zeros(3).masked_fill(nr.tensor([True, False, True]), 1.0)
        tensor([1., 0., 1.])
    """
    from .elementwise import where

    if not isinstance(mask, TensorBase) or mask._dtype is not bool_:
        raise DTypeError(f"masked_fill(): expected a bool mask, got {getattr(mask, 'dtype', type(mask).__name__)}")
    if isinstance(value, TensorBase):
        if value.ndim:
            raise ShapeError(f"masked_fill(): only supports a 0-dimensional value tensor, but got tensor with {value.ndim} dimension(s)")
        value = value.to(input._dtype)
    else:
        from .creation import full

        value = full((), value, dtype=input._dtype, device=input._device)
    from ._util import broadcast_shapes

    if broadcast_shapes("masked_fill", tuple(mask.shape), tuple(input.shape)) != tuple(input.shape):
        raise ShapeError(f"masked_fill(): mask of shape {list(mask.shape)} is not broadcastable to {list(input.shape)}")
    out = where(mask, value, input)
    if tuple(out.shape) != tuple(input.shape):
        raise ShapeError(f"masked_fill(): mask of shape {list(mask.shape)} is not broadcastable to {list(input.shape)}")
    return out


def masked_select(input, mask):
    """The elements where ``mask`` is True, as a 1-D tensor.

    Example:
        >>> import neurarust as nr
        >>> nr.arange(4).masked_select(nr.tensor([True, False, True, False]))
        tensor([0, 2])
    """
    from .views import broadcast_tensors

    if mask._dtype is not bool_:
        raise DTypeError(f"masked_select(): expected a bool mask, got {mask._dtype}")
    from ._util import broadcast_shapes

    broadcast_shapes("masked_select", tuple(input.shape), tuple(mask.shape))
    x, m = broadcast_tensors(input, mask)
    flat_index = nonzero(m.reshape(-1)).reshape(-1)
    return x.reshape(-1).take(flat_index)


def nonzero(input, *, as_tuple: bool = False):
    """Indices of the non-zero elements, as an (n, ndim) tensor or a tuple of 1-D tensors.

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([[0, 1], [2, 0]]).nonzero()
        tensor([[0, 1],
                [1, 0]])
    """
    data = backend(input).nonzero(input._data)
    idx = wrap(data, input._device, int64)
    if as_tuple:
        if input.ndim == 0:
            # A 0-d input is treated as 1-D of length 1: index 0 when it is non-zero.
            from .creation import zeros

            return (zeros(idx.shape[0], dtype=int64, device=input.device),)
        return tuple(idx.select(1, d) for d in range(input.ndim))
    return idx


def argwhere(input):
    """``nonzero(input)``."""
    return nonzero(input)


# ------------------------------------------------------------- joining
class Cat(Function):
    @staticmethod
    def forward(ctx, dim, kept, *tensors):
        # Skipped (legacy empty 1-D) tensors still take part in type promotion, as in torch.
        dtype = tensors[0]._dtype
        for t in tensors[1:]:
            dtype = promote_types(dtype, t._dtype)
        joined = [t for t, keep in zip(tensors, kept) if keep]
        ctx.sizes = [t.shape[dim] if keep else None for t, keep in zip(tensors, kept)]
        ctx.dim = dim
        data = backend(joined[0]).cat([t._data for t in joined], dim, dtype.numpy)
        return wrap(data, joined[0]._device, dtype)

    @staticmethod
    def backward(ctx, g):
        from .creation import zeros

        grads, start = [], 0
        for n in ctx.sizes:
            if n is None:  # a skipped empty tensor gets an empty gradient
                grads.append(zeros(0, dtype=g.dtype, device=g.device))
                continue
            grads.append(g.narrow(ctx.dim, start, n))
            start += n
        return (None, None, *grads)


def cat(tensors, dim: int = 0, *, out=None):
    """Concatenate along ``dim`` (dtypes promote; 1-D empty tensors are skipped, as in torch).

    Example:
        >>> import neurarust as nr
        >>> nr.cat([nr.zeros(1, 2), nr.ones(2, 2)]).shape
        neurarust.Size([3, 2])
    """
    tensors = list(tensors)
    if not tensors:
        raise ShapeError("cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, TensorBase):
            raise TypeError(f"cat(): expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    common_device("cat", *tensors)
    kept = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    ref = kept[0]
    if ref.ndim == 0:
        raise ShapeError("cat(): zero-dimensional tensor (at position 0) cannot be concatenated")
    d = wrap_dim(dim, ref.ndim, "cat")
    for i, t in enumerate(kept):
        if t.ndim != ref.ndim or any(a != b for j, (a, b) in enumerate(zip(t.shape, ref.shape)) if j != d):
            raise ShapeError(
                f"cat(): Sizes of tensors must match except in dimension {d}. Expected "
                f"{list(ref.shape)} but got {list(t.shape)} for tensor number {i} in the list"
            )
    kept_flags = tuple(any(t is k for k in kept) for t in tensors)
    result = Cat.apply(d, kept_flags, *tensors)
    if out is not None:
        from .elementwise import _maybe_out

        return _maybe_out(result, out)
    return result


concat = concatenate = cat


def stack(tensors, dim: int = 0, *, out=None):
    """Join tensors of equal shape along a new dim.

    Example:
        >>> import neurarust as nr
        >>> nr.stack([nr.zeros(2), nr.ones(2)], dim=1)
        tensor([[0., 1.],
                [0., 1.]])
    """
    tensors = list(tensors)
    if not tensors:
        raise ShapeError("stack(): expects a non-empty TensorList")
    shape = tuple(tensors[0].shape)
    for i, t in enumerate(tensors):
        if tuple(t.shape) != shape:
            raise ShapeError(f"stack(): stack expects each tensor to be equal size, but got {list(shape)} at "
                             f"entry 0 and {list(t.shape)} at entry {i}")
    d = wrap_dim(dim, len(shape) + 1, "stack")
    return cat([t.unsqueeze(d) for t in tensors], d, out=out)


def hstack(tensors):
    """Stack horizontally (dim 1, or dim 0 for 1-D)."""
    tensors = [t if t.ndim else t.reshape(1) for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """Stack vertically (rows)."""
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


def split(tensor, split_size_or_sections, dim: int = 0):
    """Split into chunks of a given size, or of the given list of sizes (views).

    Example:
        >>> import neurarust as nr
        >>> [t.tolist() for t in nr.arange(5).split(2)], [t.shape[0] for t in nr.arange(5).split([1, 4])]
        ([[0, 1], [2, 3], [4]], [1, 4])
    """
    d = wrap_dim(dim, tensor.ndim, "split")
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0 and n:
            raise ShapeError(f"split(): split_size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ShapeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                             f"dimension {d}), but got split_sizes={sizes}")
    out, start = [], 0
    for s in sizes:
        out.append(tensor.narrow(d, start, s))
        start += s
    return tuple(out)


def chunk(input, chunks: int, dim: int = 0):
    """Split into ``chunks`` pieces of size ``ceil(n / chunks)`` (the last may be smaller).

    Example:
        >>> import neurarust as nr
        >>> [t.shape[0] for t in nr.arange(5).chunk(3)]
        [2, 2, 1]
    """
    if chunks <= 0:
        raise ShapeError(f"chunk(): chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, input.ndim, "chunk")
    n = input.shape[d]
    if n == 0:  # torch gives ``chunks`` empty pieces
        return split(input, [0] * chunks, d)
    return split(input, max(1, math.ceil(n / chunks)), d)


def tensor_split(input, indices_or_sections, dim: int = 0):
    """Split into ``n`` nearly equal parts or at the given indices."""
    d = wrap_dim(dim, input.ndim, "tensor_split")
    n = input.shape[d]
    if isinstance(indices_or_sections, TensorBase) and indices_or_sections.ndim == 0:
        indices_or_sections = int(indices_or_sections.item())
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ShapeError(f"tensor_split(): number of sections must be larger than 0, got {k}")
        base, extra = divmod(n, k)
        sizes = [base + 1] * extra + [base] * (k - extra)
        bounds = [sum(sizes[:i]) for i in range(k + 1)]
    else:
        # Python slice semantics: negative indices count from the end, out-of-range ones clamp,
        # and a piece whose end comes before its start is empty.
        indices = indices_or_sections.tolist() if isinstance(indices_or_sections, TensorBase) else indices_or_sections
        bounds = [0] + [min(max(int(i) + n if int(i) < 0 else int(i), 0), n) for i in indices] + [n]
    return tuple(input.narrow(d, a, max(0, b - a)) for a, b in zip(bounds, bounds[1:]))


def unbind(input, dim: int = 0):
    """All slices along ``dim`` (views), with the dim removed.

    Example:
        >>> import neurarust as nr
        >>> [t.tolist() for t in nr.tensor([[1, 2], [3, 4]]).unbind(1)]
        [[1, 3], [2, 4]]
    """
    if input.ndim == 0:
        raise TensorIndexError(f"unbind(): Dimension specified as {dim} but tensor has no dimensions")
    d = wrap_dim(dim, input.ndim, "unbind")
    return tuple(input.select(d, i) for i in range(input.shape[d]))


class Flip(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return wrap(backend(x).flip(x._data, dims), x._device, x._dtype)

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, ctx.dims), None


def flip(input, dims):
    """Reverse the order along ``dims`` (a copy, as in torch).

    Example:
        >>> import neurarust as nr
        >>> nr.arange(3).flip(0)
        tensor([2, 1, 0])
    """
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    dims = tuple(sorted({wrap_dim(d, input.ndim, "flip") for d in dims})) if input.ndim else ()
    if not dims:
        return input.clone()
    return Flip.apply(input, dims)


def fliplr(input):
    """Flip along dim 1."""
    return flip(input, (1,))


def flipud(input):
    """Flip along dim 0."""
    return flip(input, (0,))


def roll(input, shifts, dims=None):
    """Rotate elements along ``dims`` by ``shifts`` (flattened when ``dims`` is None).

    Example:
        >>> import neurarust as nr
        >>> nr.arange(4).roll(1)
        tensor([3, 0, 1, 2])
    """
    from .creation import arange

    if dims is None:
        return roll(input.reshape(-1), shifts, 0).reshape(tuple(input.shape))
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise ShapeError(f"roll(): shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    out = input
    for s, d in zip(shifts, dims):
        if input.ndim == 0:
            raise TensorIndexError(f"roll(): Dimension specified as {d} but tensor has no dimensions")
        d = wrap_dim(d, input.ndim, "roll")
        n = input.shape[d]
        if n == 0:
            continue
        index = (arange(n, device=input.device) - s) % n
        out = out.index_select(d, index)
    return out


def repeat(input, *sizes):
    """Tile ``input`` ``sizes[i]`` times along each dim (a copy).

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([1, 2]).repeat(2, 2)
        tensor([[1, 2, 1, 2],
                [1, 2, 1, 2]])
    """
    if len(sizes) == 1 and not isinstance(sizes[0], (int, np.integer)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < input.ndim:
        raise ShapeError("repeat(): Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    x = input.reshape((1,) * (len(sizes) - input.ndim) + tuple(input.shape))
    interleaved, expanded, final = [], [], []
    for r, n in zip(sizes, x.shape):
        interleaved += [1, n]
        expanded += [r, n]
        final.append(r * n)
    return x.reshape(interleaved).expand(expanded).reshape(final)


def tile(input, dims):
    """Like ``repeat``, padding ``dims`` with leading 1s.

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([[1, 2]]).tile((2,))
        tensor([[1, 2, 1, 2]])
    """
    dims = tuple(dims)
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times (an int or a tensor of counts).

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([1, 2]).repeat_interleave(2), nr.tensor([1, 2]).repeat_interleave(nr.tensor([1, 3]))
        (tensor([1, 1, 2, 2]), tensor([1, 2, 2, 2]))
    """
    from .creation import arange, tensor as make

    if repeats is None:
        counts = input
        return arange(counts.numel(), device=input.device).repeat_interleave(counts)
    if dim is None:
        input = input.reshape(-1)
        dim = 0
    d = wrap_dim(dim, input.ndim, "repeat_interleave")
    n = input.shape[d]
    if isinstance(repeats, TensorBase):
        counts = repeats.reshape(-1)
        if counts.numel() == 1:
            counts = counts.expand(n)
        if counts.numel() != n:
            raise ShapeError(f"repeat_interleave(): repeats must have the same size as input along dim, but got repeats.size(0) = {counts.numel()} and input.size({d}) = {n}")
        if (counts < 0).any():
            raise ShapeError("repeat_interleave(): repeats can not be negative")
        counts_np = counts.to("cpu").numpy().astype(np.int64)
    else:
        if repeats < 0:
            raise ShapeError("repeat_interleave(): repeats can not be negative")
        counts_np = np.full(n, int(repeats), np.int64)
    index = make(np.repeat(np.arange(n, dtype=np.int64), counts_np), device=input.device)
    return input.index_select(d, index)


def _tri(input, diagonal, upper):
    from .creation import ones
    from .elementwise import where

    if input.ndim < 2:
        raise ShapeError(f"{'triu' if upper else 'tril'}: input tensor must have at least 2 dimensions")
    rows, cols = input.shape[-2:]
    keep = ones(rows, cols, dtype=bool_, device=input.device)
    mask = wrap(backend(keep).tri(keep._data, int(diagonal), upper), keep.device, bool_)
    return where(mask, input, 0)


def tril(input, diagonal: int = 0):
    """Lower triangle (elements above the ``diagonal``-th diagonal set to 0).

    Example:
        >>> import neurarust as nr
        >>> nr.ones(2, 2).tril()
        tensor([[1., 0.],
                [1., 1.]])
    """
    return _tri(input, diagonal, upper=False)


def triu(input, diagonal: int = 0):
    """Upper triangle.

    Example:
        >>> import neurarust as nr
        >>> nr.ones(2, 2).triu(1)
        tensor([[0., 1.],
                [0., 0.]])
    """
    return _tri(input, diagonal, upper=True)


# ------------------------------------------------------------- sorting
def sort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """Sorted values and their original indices along ``dim`` (NaN sorts last, as in torch).

    Example:
        >>> import neurarust as nr
        >>> v, i = nr.tensor([3, 1, 2]).sort(); v, i
        (tensor([1, 2, 3]), tensor([1, 2, 0]))
    """
    if input.ndim == 0:
        from .creation import zeros

        return values_indices(input.clone(), zeros((), dtype=int64, device=input.device))
    d = wrap_dim(dim, input.ndim, "sort")
    data = input._data
    if input._dtype.itemsize == 2 and input._dtype.is_floating_point:
        data = backend(input).cast(data, np.float32)
    _, idx = backend(input).sort(data, d, bool(descending), True)
    indices = wrap(idx, input._device, int64)
    return values_indices(input.gather(d, indices), indices)


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """Indices that sort ``input`` along ``dim``.

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([3, 1, 2]).argsort(descending=True)
        tensor([0, 2, 1])
    """
    return sort(input, dim, descending, stable).indices


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """The ``k`` largest (or smallest) values along ``dim`` with their indices.

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([1, 5, 3, 4]).topk(2)
        return_types(values=tensor([5, 4]), indices=tensor([1, 3]))
    """
    d = wrap_dim(dim, input.ndim, "topk") if input.ndim else 0
    n = input.shape[d] if input.ndim else 1
    if k < 0 or k > n:
        raise TensorIndexError(f"topk(): selected index k={k} out of range for dimension of size {n}")
    values, indices = sort(input, d, descending=largest)
    if input.ndim == 0:
        return values_indices(values, indices)
    return values_indices(values.narrow(d, 0, k), indices.narrow(d, 0, k))


def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest value along ``dim`` and its index."""
    d = wrap_dim(dim, input.ndim, "kthvalue")
    if not 1 <= k <= input.shape[d]:
        raise TensorIndexError(f"kthvalue(): selected number k={k} out of range for dimension {d}")
    values, indices = sort(input, d)
    v, i = values.select(d, k - 1), indices.select(d, k - 1)
    if keepdim:
        v, i = v.unsqueeze(d), i.unsqueeze(d)
    return values_indices(v, i)


def unique(input, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim=None):
    """The unique values (sorted), optionally with inverse indices and counts.

    Example:
        >>> import neurarust as nr
        >>> nr.unique(nr.tensor([2, 1, 2, 3]), return_counts=True)
        (tensor([1, 2, 3]), tensor([1, 2, 1]))
    """
    d = None if dim is None else wrap_dim(dim, input.ndim, "unique")
    result = backend(input).unique(input._data, sorted, return_inverse, return_counts, d)
    if not isinstance(result, tuple):
        return wrap(result, input._device, input._dtype)
    values = wrap(result[0], input._device, input._dtype)
    extras = []
    i = 1
    if return_inverse:
        inv = wrap(result[i], input._device, int64)
        extras.append(inv.reshape(tuple(input.shape)) if d is None else inv.reshape(-1))
        i += 1
    if return_counts:
        extras.append(wrap(result[i], input._device, int64))
    return (values, *extras)
