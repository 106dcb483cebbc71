"""View ops: new layouts over the same storage (no copy), with their gradients.

Layout math (shape/strides/offset) is device-independent and done here; the
backend only builds the view (``backend.view(storage, shape, strides, offset)``).

Example:
    >>> import neurarust as nr
    >>> x = nr.arange(6).view(2, 3); y = x.t(); y[0, 1] = 100; x
    tensor([[  0,   1,   2],
            [100,   4,   5]])
"""
from __future__ import annotations

import math
from typing import Tuple

import numpy as np

from ..autograd.function import Function
from ..errors import ShapeError, TensorIndexError
from ._util import backend, broadcast_shapes, view_of, wrap, wrap_dim


# ------------------------------------------------------------------ layout
def layout(t) -> Tuple[Tuple[int, ...], Tuple[int, ...], int]:
    return tuple(t.shape), t.stride(), t.storage_offset()


def make_view(t, shape, strides, offset):
    data = backend(t).view(t._storage(), tuple(shape), tuple(strides), int(offset))
    return view_of(t, data)


def contiguous_strides(shape) -> Tuple[int, ...]:
    strides = []
    acc = 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(strides))


def view_strides(old_shape, old_strides, new_shape):
    """Strides that let ``new_shape`` view memory laid out as (old_shape, old_strides), or None.

    Works chunk by chunk: a run of old dims that is contiguous in memory can be
    split or merged freely; anything else needs a copy (torch's rule).
    """
    numel = math.prod(old_shape)
    if numel == 0 or not old_shape:
        return contiguous_strides(new_shape)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base_stride = old_strides[-1] if old_strides else 1
    tensor_numel = 1
    view_numel = 1
    for d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[d]
        if d == 0 or (old_shape[d - 1] != 1 and old_strides[d - 1] != tensor_numel * chunk_base_stride):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base_stride
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                chunk_base_stride = old_strides[d - 1]
                tensor_numel = 1
                view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_strides)


def infer_shape(shape, numel: int, op: str):
    shape = list(shape)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise ShapeError(f"{op}(): only one dimension can be inferred")
    if any(s < -1 for s in shape):
        raise ShapeError(f"{op}(): invalid shape dimension in {tuple(shape)}")
    known = math.prod(s for s in shape if s != -1)
    if unknown:
        if known == 0 or numel % known:
            raise ShapeError(f"{op}(): shape '{list(shape)}' is invalid for input of size {numel}")
        shape[unknown[0]] = numel // known
    elif known != numel:
        raise ShapeError(f"{op}(): shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(shape)


def _shape_args(shape, op):
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


# ------------------------------------------------------------ view Functions
class View(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        if backend(x).is_c_contiguous(x._data):
            # A contiguous layout always views as any shape: let the backend array do it.
            return view_of(x, backend(x).reshape_view(x._data, shape))
        strides = view_strides(tuple(x.shape), x.stride(), shape)
        if strides is None:
            raise ShapeError(
                f"view size is not compatible with input tensor's size and stride (at least one "
                f"dimension spans across two contiguous subspaces): input {list(x.shape)} with "
                f"strides {list(x.stride())} to {list(shape)}. Use .reshape(...) instead."
            )
        return make_view(x, shape, strides, x.storage_offset())

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.inverse = tuple(np.argsort(dims))
        return view_of(x, backend(x).permute(x._data, dims))

    @staticmethod
    def backward(ctx, g):
        return g.permute(ctx.inverse), None


class Transpose(Permute):
    """A two-dim permute, recorded under torch's node name (``TransposeBackward0``)."""


class T(Permute):
    """``t()``, recorded as ``TBackward0`` like torch."""


class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = tuple(x.shape)
        in_shape, in_strides, offset = layout(x)
        lead = len(shape) - len(in_shape)
        strides = []
        for i, n in enumerate(shape):
            if i < lead:
                strides.append(0)
                continue
            m = in_shape[i - lead]
            if m == n:
                strides.append(in_strides[i - lead])
            elif m == 1:
                strides.append(0)
            else:
                raise ShapeError(
                    f"expand(): the expanded size of the tensor ({n}) must match the existing size ({m}) at "
                    f"non-singleton dimension {i}. Target sizes: {list(shape)}. Tensor sizes: {list(in_shape)}"
                )
        return make_view(x, shape, strides, offset)

    @staticmethod
    def backward(ctx, g):
        from .elementwise import sum_to

        return sum_to(g, ctx.in_shape), None


class Slice(Function):
    """Basic indexing (ints, slices, None, Ellipsis) as a strided view."""

    @staticmethod
    def forward(ctx, x, key):
        shape, strides, offset = layout(x)
        ctx.in_shape = shape
        ctx.key = key
        new_shape, new_strides, new_offset = basic_index_layout(shape, strides, offset, key)
        return make_view(x, new_shape, new_strides, new_offset)

    @staticmethod
    def backward(ctx, g):
        return SliceScatterZeros.apply(g, ctx.in_shape, ctx.key), None


class Select(Slice):
    """Integer indexing (``x[i]``, ``select``), recorded as ``SelectBackward0`` like torch."""


class SliceScatterZeros(Function):
    """zeros(shape) with ``g`` written at ``key``; the gradient of :class:`Slice`."""

    @staticmethod
    def forward(ctx, g, shape, key):
        from .creation import zeros

        ctx.key = key
        out = zeros(shape, dtype=g.dtype, device=g.device)
        target = Slice.forward(ctx_dummy, out, key)
        backend(out).copy_(target._data, g._data)
        return out

    @staticmethod
    def backward(ctx, gg):
        return Slice.apply(gg, ctx.key), None, None


class _Dummy:
    def __setattr__(self, name, value):
        pass


ctx_dummy = _Dummy()


def normalize_basic_key(key, ndim):
    """Expand Ellipsis and check the number of indexed dims; returns a list of entries."""
    if not isinstance(key, tuple):
        key = (key,)
    n_ellipsis = sum(1 for k in key if k is Ellipsis)
    if n_ellipsis > 1:
        raise TensorIndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(1 for k in key if k is not None and k is not Ellipsis)
    if consumed > ndim:
        raise TensorIndexError(f"too many indices for tensor of dimension {ndim}")
    out = []
    for k in key:
        if k is Ellipsis:
            out.extend([slice(None)] * (ndim - consumed))
        else:
            out.append(k)
    if not n_ellipsis:
        out.extend([slice(None)] * (ndim - consumed))
    return out


def basic_index_layout(shape, strides, offset, key):
    entries = normalize_basic_key(key, len(shape))
    new_shape, new_strides = [], []
    d = 0
    for k in entries:
        if k is None:
            new_shape.append(1)
            new_strides.append(0)
            continue
        n = shape[d]
        if isinstance(k, slice):
            start, stop, step = k.indices(n) if k.step is None or k.step > 0 else (None, None, k.step)
            if step is None or step <= 0:
                raise ValueError("step must be greater than zero")
            length = max(0, (stop - start + step - 1) // step)
            if length:
                offset += start * strides[d]
            new_shape.append(length)
            new_strides.append(strides[d] * step)
        else:
            i = int(k)
            if i < -n or i >= n:
                raise TensorIndexError(f"index {i} is out of bounds for dimension {d} with size {n}")
            offset += (i + n if i < 0 else i) * strides[d]
        d += 1
    return tuple(new_shape), tuple(new_strides), offset


class AsStrided(Function):
    @staticmethod
    def forward(ctx, x, shape, strides, offset):
        ctx.in_shape = tuple(x.shape)
        ctx.geometry = (tuple(shape), tuple(strides), offset)
        ctx.x_layout = layout(x)
        _check_in_storage(x, shape, strides, offset)
        return make_view(x, shape, strides, offset)

    @staticmethod
    def backward(ctx, g):
        index = region_index_from_layouts(ctx.x_layout, ctx.geometry, g.device)
        return IndexAddFlat.apply(g, index, ctx.in_shape), None, None, None


def _check_in_storage(x, shape, strides, offset):
    if any(s < 0 for s in strides) or offset < 0:
        raise ShapeError(f"as_strided(): negative strides or offset are not supported ({strides}, {offset})")
    if len(shape) != len(strides):
        raise ShapeError(f"as_strided(): mismatch in length of strides ({len(strides)}) and shape ({len(shape)})")
    if any(n < 0 for n in shape):
        raise ShapeError(f"as_strided(): negative size in shape {tuple(shape)}")
    storage_len = x._storage().shape[0]
    if math.prod(shape) and offset + sum((n - 1) * s for n, s in zip(shape, strides)) >= storage_len:
        raise ShapeError(
            f"as_strided(): setStorage: sizes {list(shape)}, strides {list(strides)}, storage offset "
            f"{offset} require more than the storage's {storage_len} elements"
        )


def region_index_from_layouts(base_layout, view_geometry, device):
    """C-order flat indices into the base's logical elements of each element of a view."""
    from .creation import tensor

    b_shape, b_strides, b_offset = base_layout
    v_shape, v_strides, v_offset = view_geometry
    positions = np.full((), v_offset, np.int64)
    for n, s in zip(v_shape, v_strides):
        positions = positions[..., None] + np.arange(n, dtype=np.int64) * s
    base_pos = np.full((), b_offset, np.int64)
    for n, s in zip(b_shape, b_strides):
        base_pos = base_pos[..., None] + np.arange(n, dtype=np.int64) * s
    base_pos = base_pos.reshape(-1)
    span = int(base_pos.max()) + 1 if base_pos.size else 0
    inverse = np.full(max(span, int(positions.max()) + 1 if positions.size else 0), -1, np.int64)
    inverse[base_pos] = np.arange(base_pos.size, dtype=np.int64)
    flat = inverse[positions.reshape(positions.shape)] if positions.size else positions.astype(np.int64)
    if positions.size and (flat < 0).any():
        raise ShapeError("view touches memory outside its base tensor; cannot compute its gradient")
    return tensor(flat.reshape(v_shape), device=device)


class IndexAddFlat(Function):
    """zeros(shape).flatten().index_add(0, index.flatten(), g.flatten()) reshaped: as_strided's gradient."""

    @staticmethod
    def forward(ctx, g, index, shape):
        from .creation import zeros

        ctx.index = index
        out = zeros(math.prod(shape), dtype=g.dtype, device=g.device)
        backend(out).index_add_(out._data, 0, index.reshape(-1).contiguous()._data,
                                g.reshape(-1).contiguous()._data, 1.0)
        return out.reshape(shape)

    @staticmethod
    def backward(ctx, gg):
        return gg.reshape(-1).take(ctx.index), None, None


class ScatterRegion(Function):
    """A copy of ``base`` whose elements at flat ``index`` are replaced by ``src``."""

    @staticmethod
    def forward(ctx, base, src, index):
        ctx.index = index
        out = base.clone()
        src_flat = src.to(base.dtype).expand(tuple(index.shape)).contiguous().reshape(-1)
        backend(out).scatter_(out.reshape(-1)._data, 0, index.reshape(-1).contiguous()._data,
                              src_flat._data, "none")
        ctx.src_shape = tuple(src.shape)
        return out

    @staticmethod
    def backward(ctx, g):
        from .creation import zeros
        from .elementwise import sum_to

        nb, ns, _ = ctx.needs_input_grad
        g_base = ScatterRegion.apply(g, zeros((), dtype=g.dtype, device=g.device), ctx.index) if nb else None
        g_src = sum_to(g.reshape(-1).take(ctx.index), ctx.src_shape) if ns else None
        return g_base, g_src, None


def rebase_view_history(view, result):
    """In-place write of ``result`` into ``view`` when autograd is recording (torch's CopySlices)."""
    base = view._base
    index = region_index_from_layouts(layout(base), layout(view), base.device)
    src = result if result._dtype is view._dtype else result.to(view._dtype)
    new_base = ScatterRegion.apply(base, src, index)
    backend(view).copy_(view._data, src._data)
    view._version_counter.bump()
    base._grad_fn = new_base._grad_fn
    base._output_nr = 0
    base._requires_grad = True
    new_view = AsStrided.apply(base, *layout(view))
    view._grad_fn = new_view._grad_fn
    view._output_nr = 0
    view._requires_grad = True


class Unfold(Function):
    @staticmethod
    def forward(ctx, x, dim, size, step):
        shape, strides, offset = layout(x)
        ctx.x_layout = (shape, strides, offset)
        n = shape[dim] if shape else 1
        if size > n:
            raise ShapeError(f"unfold(): maximum size for tensor at dimension {dim} is {n} but size is {size}")
        if step <= 0:
            raise ShapeError(f"unfold(): step is {step} but must be > 0")
        if not shape:
            new_shape, new_strides = (size,), (1,)
        else:
            count = (n - size) // step + 1
            new_shape = shape[:dim] + (count,) + shape[dim + 1:] + (size,)
            new_strides = strides[:dim] + (strides[dim] * step,) + strides[dim + 1:] + (strides[dim],)
        ctx.geometry = (new_shape, new_strides, offset)
        ctx.in_shape = shape
        return make_view(x, new_shape, new_strides, offset)

    @staticmethod
    def backward(ctx, g):
        index = region_index_from_layouts(ctx.x_layout, ctx.geometry, g.device)
        return IndexAddFlat.apply(g, index, ctx.in_shape), None, None, None


# ---------------------------------------------------------------- public API
def view(input, *shape):
    """A view with a new shape (no copy); one dim may be -1.

    Example:
        >>> import neurarust as nr
        >>> nr.arange(6).view(2, -1).shape
        neurarust.Size([2, 3])
    """
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
        return input.to(shape[0]) if shape[0] is not None else input
    shape = infer_shape(_shape_args(shape, "view"), input.numel(), "view")
    if shape == tuple(input.shape):
        return View.apply(input, shape)
    return View.apply(input, shape)


def view_as(input, other):
    """``input.view(other.shape)``."""
    return view(input, tuple(other.shape))


def reshape(input, *shape):
    """A view when the layout allows it, else a copy (as in torch).

    Example:
        >>> import neurarust as nr
        >>> x = nr.arange(6).view(2, 3).t(); x.reshape(6)
        tensor([0, 3, 1, 4, 2, 5])
    """
    shape = infer_shape(_shape_args(shape, "reshape"), input.numel(), "reshape")
    if view_strides(tuple(input.shape), input.stride(), shape) is not None:
        return View.apply(input, shape)
    return View.apply(input.contiguous(), shape)


def reshape_as(input, other):
    return reshape(input, tuple(other.shape))


def permute(input, *dims):
    """Reorder the dimensions (a view).

    Example:
        >>> import neurarust as nr
        >>> nr.zeros(2, 3, 4).permute(2, 0, 1).shape
        neurarust.Size([4, 2, 3])
    """
    dims = _shape_args(dims, "permute") if dims else ()
    ndim = input.ndim
    if len(dims) != ndim:
        raise ShapeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length "
            f"of the desired ordering of dimensions i.e. input.dim() = {ndim} is not equal to len(dims) = {len(dims)}"
        )
    dims = tuple(wrap_dim(d, ndim, "permute") for d in dims)
    if len(set(dims)) != ndim:
        raise ShapeError(f"permute(): repeated dim in {dims}")
    return Permute.apply(input, dims)


def transpose(input, dim0: int, dim1: int):
    """Swap two dimensions (a view).

    Example:
        >>> import neurarust as nr
        >>> nr.zeros(2, 3).transpose(0, 1).shape
        neurarust.Size([3, 2])
    """
    ndim = input.ndim
    if ndim == 0:
        wrap_dim(dim0, 0, "transpose"), wrap_dim(dim1, 0, "transpose")
        return Permute.apply(input, ())
    d0, d1 = wrap_dim(dim0, ndim, "transpose"), wrap_dim(dim1, ndim, "transpose")
    dims = list(range(ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Transpose.apply(input, tuple(dims))


swapaxes = swapdims = transpose


def t(input):
    """Transpose a tensor of at most 2 dims.

    Example:
        >>> import neurarust as nr
        >>> nr.ones(2, 3).t().shape
        neurarust.Size([3, 2])
    """
    if input.ndim > 2:
        raise ShapeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return T.apply(input, (1, 0) if input.ndim == 2 else tuple(range(input.ndim)))


def adjoint_mT(input):
    if input.ndim < 2:
        raise ShapeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {input.ndim}-D tensor.")
    return transpose(input, -2, -1)


def full_T(input):
    return Permute.apply(input, tuple(reversed(range(input.ndim))))


def movedim(input, source, destination):
    """Move dims from ``source`` to ``destination`` positions.

    Example:
        >>> import neurarust as nr
        >>> nr.zeros(2, 3, 4).movedim(0, -1).shape
        neurarust.Size([3, 4, 2])
    """
    ndim = input.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise ShapeError(f"movedim(): Invalid source or destination dims: source ({src}) and destination ({dst}) must have the same number of elements")
    src = [wrap_dim(d, ndim, "movedim") for d in src]
    dst = [wrap_dim(d, ndim, "movedim") for d in dst]
    order = [d for d in range(ndim) if d not in src]
    perm = [None] * ndim
    for s, d in zip(src, dst):
        perm[d] = s
    it = iter(order)
    perm = [p if p is not None else next(it) for p in perm]
    return Permute.apply(input, tuple(perm))


moveaxis = movedim


def squeeze(input, dim=None):
    """Remove size-1 dims (all, or the given ones).

    Example:
        >>> import neurarust as nr
        >>> nr.zeros(1, 2, 1).squeeze().shape, nr.zeros(1, 2, 1).squeeze(0).shape
        (neurarust.Size([2]), neurarust.Size([2, 1]))
    """
    shape = tuple(input.shape)
    if dim is None:
        dims = {i for i, n in enumerate(shape) if n == 1}
    else:
        dims = {wrap_dim(d, input.ndim, "squeeze") for d in ((dim,) if isinstance(dim, int) else dim)}
        dims = {d for d in dims if input.ndim and shape[d] == 1}
    new_shape = tuple(n for i, n in enumerate(shape) if i not in dims)
    return View.apply(input, new_shape)


def unsqueeze(input, dim: int):
    """Insert a size-1 dim at ``dim``.

    Example:
        >>> import neurarust as nr
        >>> nr.zeros(2, 3).unsqueeze(-1).shape
        neurarust.Size([2, 3, 1])
    """
    d = wrap_dim(dim, input.ndim + 1, "unsqueeze")
    return Unsqueeze.apply(input, d)


class Unsqueeze(Function):
    """A size-1 dim at ``dim`` with torch's stride: size*stride of the dim it precedes, 1 at the end."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        shape, strides, offset = layout(x)
        new_stride = shape[dim] * strides[dim] if dim < len(shape) else 1
        return make_view(x, shape[:dim] + (1,) + shape[dim:], strides[:dim] + (new_stride,) + strides[dim:],
                         offset)

    @staticmethod
    def backward(ctx, g):
        return g.squeeze(ctx.dim), None


def expand(input, *sizes):
    """Broadcast to a larger shape without copying (-1 keeps a dim).

    Example:
        >>> import neurarust as nr
        >>> nr.tensor([1, 2]).expand(3, 2).stride()
        (0, 1)
    """
    sizes = _shape_args(sizes, "expand")
    if len(sizes) < input.ndim:
        raise ShapeError(
            f"expand(): the number of sizes provided ({len(sizes)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({input.ndim})"
        )
    lead = len(sizes) - input.ndim
    shape = tuple(input.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    if any(s < 0 for s in shape):
        raise ShapeError(f"expand(): -1 is not allowed in a leading, non-existing dimension {sizes}")
    if shape == tuple(input.shape):
        return input
    return Expand.apply(input, shape)


def expand_as(input, other):
    """``input.expand(other.shape)``."""
    return expand(input, tuple(other.shape))


def broadcast_to(input, shape):
    """Broadcast ``input`` to ``shape`` (a view).

    Example:
        >>> import neurarust as nr
        >>> nr.broadcast_to(nr.tensor([1, 2]), (2, 2))
        tensor([[1, 2],
                [1, 2]])
    """
    return expand(input, tuple(shape))


def broadcast_tensors(*tensors):
    """Expand all tensors to their common broadcast shape.

    Example:
        >>> import neurarust as nr
        >>> [t.shape for t in nr.broadcast_tensors(nr.zeros(2, 1), nr.zeros(3))]
        [neurarust.Size([2, 3]), neurarust.Size([2, 3])]
    """
    shape = broadcast_shapes("broadcast_tensors", *(tuple(t.shape) for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


def narrow(input, dim: int, start: int, length: int):
    """``length`` elements of ``dim`` from ``start`` (a view).

    Example:
        >>> import neurarust as nr
        >>> nr.arange(5).narrow(0, 1, 3)
        tensor([1, 2, 3])
    """
    d = wrap_dim(dim, input.ndim, "narrow")
    n = input.shape[d]
    start = int(start)
    if start < 0:
        start += n
    if length < 0:
        raise TensorIndexError(f"narrow(): length must be non-negative, got {length}")
    if start < 0 or start > n or start + length > n:
        raise TensorIndexError(f"narrow(): start ({start}) + length ({length}) exceeds dimension size ({n}).")
    key = (slice(None),) * d + (slice(start, start + length),)
    return Slice.apply(input, key)


def select(input, dim: int, index: int):
    """The slice at ``index`` along ``dim``, with that dim removed (a view).

    Example:
        >>> import neurarust as nr
        >>> nr.arange(6).view(2, 3).select(1, 2)
        tensor([2, 5])
    """
    if input.ndim == 0:
        raise TensorIndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input.ndim, "select")
    index = int(index)
    n = input.shape[d]
    if index < -n or index >= n:
        raise TensorIndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at dimension {d}")
    return Slice.apply(input, (slice(None),) * d + (index,))


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dims ``start_dim..end_dim`` into one.

    Example:
        >>> import neurarust as nr
        >>> nr.zeros(2, 3, 4).flatten(1).shape
        neurarust.Size([2, 12])
    """
    if input.ndim == 0:
        return reshape(input, (1,))
    s = wrap_dim(start_dim, input.ndim, "flatten")
    e = wrap_dim(end_dim, input.ndim, "flatten")
    if s > e:
        raise ShapeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = tuple(input.shape)
    new_shape = shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:]
    return reshape(input, new_shape)


def ravel(input):
    """Flatten to 1-D (a view when possible)."""
    return reshape(input, (-1,))


def unflatten(input, dim: int, sizes):
    """Split ``dim`` into ``sizes``.

    Example:
        >>> import neurarust as nr
        >>> nr.zeros(2, 12).unflatten(1, (3, -1)).shape
        neurarust.Size([2, 3, 4])
    """
    d = wrap_dim(dim, input.ndim, "unflatten")
    sizes = infer_shape(tuple(sizes), input.shape[d], "unflatten")
    shape = tuple(input.shape)
    return view(input, shape[:d] + sizes + shape[d + 1:]) if view_strides(shape, input.stride(), shape[:d] + sizes + shape[d + 1:]) else reshape(input, shape[:d] + sizes + shape[d + 1:])


def unfold(input, dimension: int, size: int, step: int):
    """All windows of ``size`` elements along ``dimension`` with stride ``step`` (a view).

    Example:
        >>> import neurarust as nr
        >>> nr.arange(5).unfold(0, 2, 2)
        tensor([[0, 1],
                [2, 3]])
    """
    d = wrap_dim(dimension, input.ndim, "unfold") if input.ndim else 0
    return Unfold.apply(input, d, int(size), int(step))


def as_strided(input, size, stride, storage_offset=None):
    """A view with explicit shape, strides and storage offset (checked against the storage).

    Example:
        >>> import neurarust as nr
        >>> nr.arange(6).as_strided((2, 2), (1, 2))
        tensor([[0, 2],
                [1, 3]])
    """
    offset = input.storage_offset() if storage_offset is None else int(storage_offset)
    return AsStrided.apply(input, tuple(int(s) for s in size), tuple(int(s) for s in stride), offset)


def _resize_out(out, result):
    raise ShapeError(
        f"out= tensor has shape {list(out.shape)} but the result has shape {list(result.shape)}"
    )


# ------------------------------------------------------------- copies
class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return wrap(backend(x).contiguous(x._data), x._device, x._dtype)

    @staticmethod
    def backward(ctx, g):
        return g


def clone(input, *, memory_format=None):
    """A copy with its own storage (differentiable).

    Example:
        >>> import neurarust as nr
        >>> x = nr.ones(2); y = x.clone(); y[0] = 5; x
        tensor([1., 1.])
    """
    return Clone.apply(input)


def contiguous(input, memory_format=None):
    """``input`` itself if C-contiguous, else a C-contiguous copy.

    Example:
        >>> import neurarust as nr
        >>> x = nr.zeros(2, 3).t(); x.contiguous().is_contiguous(), x.is_contiguous()
        (True, False)
    """
    if input.is_contiguous():
        return input
    return Clone.apply(input)


