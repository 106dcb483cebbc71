"""Matrix products: matmul (torch's full semantics), mm, bmm, mv, dot, outer, addmm, einsum.

CPU kernel: ``neurarust/_core/linalg.pyx`` (sgemm/dgemm through scipy's
``cython_blas``; transposed views are passed to BLAS without a copy).

Example:
    >>> import neurarust as nr
    >>> a = nr.ones(5, 2, 3); b = nr.ones(3, 4)
    >>> (a @ b).shape, nr.einsum("bij,jk->bik", a, b).shape
    (neurarust.Size([5, 2, 4]), neurarust.Size([5, 2, 4]))
"""
from __future__ import annotations

import math
import string

from .._core.tensor_base import TensorBase
from ..autograd.function import Function
from ..dtypes import float16, float32
from ..errors import DTypeError, ShapeError
from ._util import backend, broadcast_shapes, common_device, wrap


class MatMul(Function):
    """Batched product of operands with >= 2 dims; batch dims broadcast."""

    @staticmethod
    def forward(ctx, a, b):
        try:
            batch = broadcast_shapes("matmul", tuple(a.shape[:-2]), tuple(b.shape[:-2]))
        except ShapeError as e:
            # Name the operands' full shapes, not just their batch parts.
            raise ShapeError(
                f"matmul(): batch dimensions of shapes {list(a.shape)} and {list(b.shape)} cannot "
                f"be broadcast together ({e})"
            ) from None
        ea = a.expand(batch + tuple(a.shape[-2:]))
        eb = b.expand(batch + tuple(b.shape[-2:]))
        bk = backend(a)
        da, db = ea._data, eb._data
        dtype = a._dtype
        if dtype is float16:
            # No half GEMM on the CPU: compute in float32, round once at the end.
            da, db = bk.cast(da, float32.numpy), bk.cast(db, float32.numpy)
        out = bk.matmul(da, db)
        if dtype is float16:
            out = bk.cast(out, float16.numpy)
        ctx.save_for_backward(a, b)
        return wrap(out, a._device, dtype)

    @staticmethod
    def backward(ctx, g):
        from .elementwise import sum_to

        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = sum_to(g @ b.mT, tuple(a.shape)) if na else None
        gb = sum_to(a.mT @ g, tuple(b.shape)) if nb else None
        return ga, gb


class Mm(MatMul):
    """2-D by 2-D product, recorded as ``MmBackward0`` like torch."""


def _check_operands(op, a, b):
    for name, t in (("input", a), ("other", b)):
        if not isinstance(t, TensorBase):
            raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(t).__name__}")
    common_device(op, a, b)
    if a._dtype is not b._dtype:
        raise DTypeError(
            f"{op}(): expected both operands to have the same dtype, but got {a._dtype.name} "
            f"(shape {_shape_list(a)}) and {b._dtype.name} (shape {_shape_list(b)})"
        )
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(
            f"{op}(): both arguments need to be at least 1D, but they are {a.ndim}D (shape "
            f"{_shape_list(a)}) and {b.ndim}D (shape {_shape_list(b)})"
        )


def matmul(input, other, *, out=None):
    """Matrix product with torch's rules for 1-D, 2-D and batched (broadcast) operands.

    Example:
        >>> import neurarust as nr
        >>> nr.matmul(nr.ones(3), nr.ones(3)), nr.matmul(nr.ones(2, 3), nr.ones(3)).shape
        (tensor(3.), neurarust.Size([2]))
    """
    _check_operands("matmul", input, other)
    a, b = input, other
    squeeze_rows = a.ndim == 1
    squeeze_cols = b.ndim == 1
    if squeeze_rows:
        a = a.unsqueeze(0)
    if squeeze_cols:
        b = b.unsqueeze(-1)
    if a.shape[-1] != b.shape[-2]:
        raise ShapeError(
            f"matmul(): mat1 and mat2 shapes cannot be multiplied ({_shape_str(input)} and "
            f"{_shape_str(other)}): shapes {_shape_list(input)} and {_shape_list(other)}, inner "
            f"dimensions {a.shape[-1]} and {b.shape[-2]} differ"
        )
    result = (Mm if input.ndim == 2 and other.ndim == 2 else MatMul).apply(a, b)
    if squeeze_rows and squeeze_cols:
        result = result.reshape(tuple(result.shape[:-2]))
    elif squeeze_rows:
        result = result.squeeze(-2)
    elif squeeze_cols:
        result = result.squeeze(-1)
    if out is not None:
        from .elementwise import _maybe_out

        return _maybe_out(result, out)
    return result


def _shape_str(t):
    return "x".join(str(n) for n in t.shape) if t.ndim else "scalar"


def _shape_list(t):
    return str(list(t.shape))


def mm(input, mat2, *, out=None):
    """Product of two 2-D matrices.

    Example:
        >>> import neurarust as nr
        >>> nr.mm(nr.eye(2), nr.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor([[1., 2.],
                [3., 4.]])
    """
    _check_operands("mm", input, mat2)
    if input.ndim != 2 or mat2.ndim != 2:
        raise ShapeError(
            f"mm(): both arguments must be 2D matrices, got {input.ndim}D (shape {_shape_list(input)}) "
            f"and {mat2.ndim}D (shape {_shape_list(mat2)})"
        )
    return matmul(input, mat2, out=out)


def bmm(input, mat2, *, out=None):
    """Batched product of two 3-D tensors with equal batch sizes.

    Example:
        >>> import neurarust as nr
        >>> nr.bmm(nr.ones(4, 2, 3), nr.ones(4, 3, 5)).shape
        neurarust.Size([4, 2, 5])
    """
    _check_operands("bmm", input, mat2)
    if input.ndim != 3 or mat2.ndim != 3:
        raise ShapeError(
            f"bmm(): batch1 must be a 3D tensor and batch2 must be a 3D tensor, got shapes "
            f"{_shape_list(input)} and {_shape_list(mat2)}"
        )
    if input.shape[0] != mat2.shape[0]:
        raise ShapeError(
            f"bmm(): batch sizes differ: {input.shape[0]} and {mat2.shape[0]} (shapes "
            f"{_shape_list(input)} and {_shape_list(mat2)})"
        )
    return matmul(input, mat2, out=out)


def mv(input, vec, *, out=None):
    """Matrix-vector product.

    Example:
        >>> import neurarust as nr
        >>> nr.mv(nr.ones(2, 3), nr.ones(3))
        tensor([3., 3.])
    """
    _check_operands("mv", input, vec)
    if input.ndim != 2 or vec.ndim != 1:
        raise ShapeError(
            f"mv(): expected a 2-D matrix and a 1-D vector, got shapes {_shape_list(input)} and "
            f"{_shape_list(vec)}"
        )
    return matmul(input, vec, out=out)


def dot(input, other, *, out=None):
    """Dot product of two 1-D tensors.

    Example:
        >>> import neurarust as nr
        >>> nr.dot(nr.tensor([1, 2]), nr.tensor([3, 4]))
        tensor(11)
    """
    _check_operands("dot", input, other)
    if input.ndim != 1 or other.ndim != 1:
        raise ShapeError(
            f"dot(): 1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors (shapes "
            f"{_shape_list(input)} and {_shape_list(other)})"
        )
    if input.shape[0] != other.shape[0]:
        raise ShapeError(
            f"dot(): inconsistent tensor size, expected tensor {_shape_list(input)} and src "
            f"{_shape_list(other)} to have the same number of elements"
        )
    return matmul(input, other, out=out)


inner = dot


def outer(input, vec2):
    """Outer product of two 1-D tensors.

    Example:
        >>> import neurarust as nr
        >>> nr.outer(nr.tensor([1, 2]), nr.tensor([1, 10]))
        tensor([[ 1, 10],
                [ 2, 20]])
    """
    if input.ndim != 1 or vec2.ndim != 1:
        raise ShapeError(
            f"outer(): expected 1-D tensors, got shapes {_shape_list(input)} and {_shape_list(vec2)}"
        )
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat1 @ mat2)``.

    Example:
        >>> import neurarust as nr
        >>> nr.addmm(nr.ones(2), nr.eye(2), nr.eye(2), beta=0.5)
        tensor([[1.5000, 0.5000],
                [0.5000, 1.5000]])
    """
    product = mm(mat1, mat2)
    out_shape = tuple(product.shape)
    try:
        fits = broadcast_shapes("addmm", tuple(input.shape), out_shape) == out_shape
    except ShapeError:
        fits = False
    if not fits:
        raise ShapeError(
            f"addmm(): input of shape {_shape_list(input)} cannot be broadcast to the product's shape "
            f"{list(out_shape)} of mat1 {_shape_list(mat1)} and mat2 {_shape_list(mat2)}"
        )
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        # torch ignores the input when beta == 0: its NaN and inf must not reach the result
        # (input * 0 would be NaN there); nan_to_num keeps a zero gradient flowing to it.
        result = product + input.nan_to_num(0.0, 0.0, 0.0) * 0
    else:
        result = product + (input if beta == 1 else input * beta)
    if out is not None:
        from .elementwise import _maybe_out

        return _maybe_out(result, out)
    return result


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)``."""
    return (input * beta if beta != 1 else input) + (mv(mat, vec) * alpha if alpha != 1 else mv(mat, vec))


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    return (input * beta if beta != 1 else input) + (bmm(batch1, batch2) * alpha if alpha != 1 else bmm(batch1, batch2))


# ------------------------------------------------------------------ einsum
def _parse_einsum(equation, operands):
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, rhs = eq.split("->")
    else:
        lhs, rhs = eq, None
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ShapeError(f"einsum(): {len(terms)} operand subscripts for {len(operands)} operands in '{equation}'")
    used = set(c for c in eq if c.isalpha())
    free = [c for c in string.ascii_letters if c not in used]
    ell_dims = 0
    expanded = []
    for term, t in zip(terms, operands):
        if "..." in term:
            n = t.ndim - (len(term) - 3)
            if n < 0:
                raise ShapeError(f"einsum(): operand has {t.ndim} dims, fewer than subscripts in '{term}'")
            ell_dims = max(ell_dims, n)
            term = term.replace("...", "".join(free[ell_dims - n:ell_dims]) if n else "")
        if len(term) != t.ndim:
            raise ShapeError(f"einsum(): the number of subscripts in '{term}' does not match the operand's {t.ndim} dims")
        for c in term:
            if not c.isalpha():
                raise ShapeError(f"einsum(): invalid subscript '{c}' in '{equation}'")
        expanded.append(term)
    ell = "".join(free[:ell_dims])
    if rhs is None:
        counts = {}
        for term in expanded:
            for c in term:
                counts[c] = counts.get(c, 0) + 1
        rhs = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    else:
        rhs = rhs.replace("...", ell)
    return expanded, rhs


def _check_subscript_sizes(equation, terms, operands):
    """One size per subscript: equal within an operand (diagonals), equal or 1 across operands."""
    seen = {}
    for k, (term, t) in enumerate(zip(terms, operands)):
        own = {}
        for c, n in zip(term, t.shape):
            if c in own and own[c] != n:
                problem = f"subscript '{c}' is repeated in operand {k} for dims of sizes {own[c]} and {n}"
            elif c in seen and seen[c][0] != n and 1 not in (seen[c][0], n):
                problem = f"subscript '{c}' has size {seen[c][0]} in operand {seen[c][1]} and {n} in operand {k}"
            else:
                own[c] = n
                if n != 1 or c not in seen:
                    seen[c] = (n, k)
                continue
            shapes = " and ".join(str(list(o.shape)) for o in operands)
            raise ShapeError(f"einsum(): {problem} in '{equation}' (operand shapes {shapes})")


def _diagonal_reduce(term, t):
    """Handle a subscript repeated inside one operand (e.g. 'ii') by taking the diagonal."""
    while len(set(term)) != len(term):
        c = next(ch for ch in term if term.count(ch) > 1)
        i = term.index(c)
        j = term.index(c, i + 1)
        n = t.shape[i]
        if t.shape[j] != n:
            raise ShapeError(f"einsum(): subscript '{c}' is repeated for dims of different sizes {t.shape[i]} and {t.shape[j]}")
        from .views import as_strided

        strides = t.contiguous().stride()
        base = t.contiguous()
        shape = [s for k, s in enumerate(base.shape) if k != j]
        new_strides = [s for k, s in enumerate(strides) if k != j]
        new_strides[i] = strides[i] + strides[j]
        t = as_strided(base, shape, new_strides, base.storage_offset())
        term = term[:j] + term[j + 1:]
    return term, t


def _sum_out(term, t, keep):
    dims = [i for i, c in enumerate(term) if c not in keep]
    if not dims:
        return term, t
    t = t.sum(tuple(dims))
    return "".join(c for c in term if c in keep), t


def _contract(ta, a, tb, b, keep):
    sizes = {}
    for term, t in ((ta, a), (tb, b)):
        for c, n in zip(term, t.shape):
            if sizes.get(c, n) != n and sizes.get(c, n) != 1 and n != 1:
                raise ShapeError(f"einsum(): operands do not broadcast with remapped shapes for subscript '{c}': {sizes[c]} vs {n}")
            sizes[c] = max(sizes.get(c, n), n)
    batch = [c for c in ta if c in tb and c in keep]
    contracted = [c for c in ta if c in tb and c not in keep]
    a_only = [c for c in ta if c not in tb]
    b_only = [c for c in tb if c not in ta]
    pa = a.permute([ta.index(c) for c in batch + a_only + contracted])
    pb = b.permute([tb.index(c) for c in batch + contracted + b_only])
    bsz = [sizes[c] for c in batch]
    m = math.prod(sizes[c] for c in a_only)
    k = math.prod(sizes[c] for c in contracted)
    n = math.prod(sizes[c] for c in b_only)
    pa = pa.expand([sizes[c] for c in batch + a_only + contracted]).reshape(bsz + [m, k])
    pb = pb.expand([sizes[c] for c in batch + contracted + b_only]).reshape(bsz + [k, n])
    out = (pa @ pb).reshape(bsz + [sizes[c] for c in a_only + b_only])
    return "".join(batch + a_only + b_only), out


def einsum(equation: str, *operands):
    """Einstein summation, by pairwise contraction through permute/reshape/matmul.

    Supports ``...``, implicit output, repeated subscripts (diagonals) and any
    number of operands.

    Example:
        >>> import neurarust as nr
        >>> a = nr.arange(6.0).view(2, 3)
        >>> nr.einsum("ij->ji", a).shape, nr.einsum("ij,ij->", a, a), nr.einsum("ii", nr.eye(3))
        (neurarust.Size([3, 2]), tensor(55.), tensor(3.))
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ShapeError("einsum(): must provide at least one operand")
    terms, rhs = _parse_einsum(equation, operands)
    _check_subscript_sizes(equation, terms, operands)
    items = []
    for term, t in zip(terms, operands):
        items.append(_diagonal_reduce(term, t))
    # Indices needed later: the output and every operand not yet contracted.
    while True:
        for i, (term, t) in enumerate(items):
            others = "".join(tm for j, (tm, _) in enumerate(items) if j != i)
            items[i] = _sum_out(term, t, set(rhs) | set(others))
        if len(items) == 1:
            break
        (ta, a), (tb, b) = items[0], items[1]
        rest = "".join(tm for tm, _ in items[2:])
        items = [_contract(ta, a, tb, b, set(rhs) | set(rest))] + items[2:]
    term, t = items[0]
    missing = [c for c in rhs if c not in term]
    if missing:
        raise ShapeError(f"einsum(): output subscript(s) {missing} do not appear in any input")
    return t.permute([term.index(c) for c in rhs]) if rhs else t
