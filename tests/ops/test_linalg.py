"""Matrix products: matmul (1-D, 2-D, batched, broadcast), mm/bmm/mv/dot/outer/addmm and einsum.

Every product runs through ``check_op`` (forward against NumPy and torch, gradients against
torch, contiguous/transposed/sliced/broadcast operands, float32 and float64, gradcheck);
then every shape and dtype error must name both operands' shapes.
"""
import re

import numpy as np
import pytest

import neurarust as nr
from neurarust.testing import assert_close, check_op


def torch_module():
    return pytest.importorskip("torch")


def _matmul(a, b):
    return a @ b


# 0-d operands are an error for matmul, and an empty batch needs shapes that still fit.
NO_SCALAR = ("scalar",)

MATMUL_SHAPES = [
    ("1d@1d", [(4,), (4,)], [(0,), (0,)]),
    ("2d@1d", [(3, 4), (4,)], [(0, 4), (4,)]),
    ("1d@2d", [(4,), (4, 5)], [(0,), (0, 5)]),
    ("2d@2d", [(3, 4), (4, 5)], [(0, 4), (4, 5)]),
    ("3d@3d", [(2, 3, 4), (2, 4, 5)], [(0, 3, 4), (0, 4, 5)]),
    ("3d@2d", [(2, 3, 4), (4, 5)], [(2, 0, 4), (4, 5)]),
    ("2d@3d", [(3, 4), (2, 4, 5)], [(3, 0), (2, 0, 5)]),
    ("3d@1d", [(2, 3, 4), (4,)], [(0, 3, 4), (4,)]),
    ("1d@3d", [(4,), (2, 4, 5)], [(4,), (0, 4, 5)]),
    ("broadcast_batch", [(2, 1, 3, 4), (5, 4, 2)], [(2, 1, 0, 4), (5, 4, 2)]),
    ("broadcast_4d", [(1, 3, 2, 4), (2, 1, 4, 3)], [(1, 3, 2, 0), (2, 1, 0, 3)]),
    ("k=1", [(3, 1), (1, 2)], [(0, 1), (1, 2)]),
]


@pytest.mark.parametrize("shapes,empty", [m[1:] for m in MATMUL_SHAPES], ids=[m[0] for m in MATMUL_SHAPES])
def test_matmul(shapes, empty):
    check_op(_matmul, np.matmul, _matmul, shapes, empty_shapes=empty, skip=NO_SCALAR)
    check_op(nr.matmul, np.matmul, None, shapes, skip=NO_SCALAR + ("empty", "sliced"), gradcheck=False)


def test_matmul_transposed_operands():
    # a.T @ b.T with both operands transposed views, and the transposed-output identity.
    fn = lambda a, b: a.mT @ b.mT  # noqa: E731
    check_op(fn, lambda a, b: np.swapaxes(a, -1, -2) @ np.swapaxes(b, -1, -2), fn,
             [(2, 4, 3), (2, 5, 4)], skip=NO_SCALAR + ("empty",))
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    ta, tb = nr.tensor(a), nr.tensor(b)
    assert_close((tb.t() @ ta.t()).t(), ta @ tb)


def test_matmul_dtypes():
    for dtype in (nr.int64, nr.int32):
        a, b = nr.tensor([[1, 2], [3, 4]], dtype=dtype), nr.tensor([[5], [6]], dtype=dtype)
        out = a @ b
        assert out.dtype == dtype
        assert_close(out, np.array([[17], [39]], dtype=dtype.numpy))
    h = nr.tensor([[0.5, 1.5]], dtype=nr.float16) @ nr.tensor([[2.0], [4.0]], dtype=nr.float16)
    assert h.dtype == nr.float16
    assert_close(h, np.array([[7.0]], dtype=np.float16))
    check_op(_matmul, np.matmul, _matmul, [(3, 4), (4, 2)], dtypes=("float16",),
             skip=NO_SCALAR + ("empty",), gradcheck=False, grad=False)


def test_matmul_out_and_imatmul():
    a, b = nr.ones(2, 3), nr.ones(3, 3)
    out = nr.empty(2, 3)
    assert nr.matmul(a, b, out=out) is out
    assert_close(out, np.full((2, 3), 3.0, dtype=np.float32))
    a @= b
    assert_close(a, np.full((2, 3), 3.0, dtype=np.float32))


@pytest.mark.parametrize("name,fn,np_fn,shapes,empty", [
    ("mm", lambda a, b: a.mm(b), np.matmul, [(3, 4), (4, 5)], [(0, 4), (4, 5)]),
    ("bmm", lambda a, b: a.bmm(b), np.matmul, [(2, 3, 4), (2, 4, 5)], [(0, 3, 4), (0, 4, 5)]),
    ("mv", lambda a, v: a.mv(v), np.matmul, [(3, 4), (4,)], [(0, 4), (4,)]),
    ("dot", lambda a, b: a.dot(b), np.dot, [(5,), (5,)], [(0,), (0,)]),
    ("outer", lambda a, b: a.outer(b), np.outer, [(3,), (4,)], [(0,), (4,)]),
    ("inner", lambda a, b: a.inner(b), np.inner, [(5,), (5,)], [(0,), (0,)]),
], ids=["mm", "bmm", "mv", "dot", "outer", "inner"])
def test_named_products(name, fn, np_fn, shapes, empty):
    check_op(fn, lambda *xs: np.asarray(np_fn(*xs)), fn, shapes, empty_shapes=empty, skip=NO_SCALAR, name=name)
    nr_fn = getattr(nr, name)
    check_op(nr_fn, lambda *xs: np.asarray(np_fn(*xs)), None, shapes, skip=NO_SCALAR + ("empty",),
             gradcheck=False, name="nr." + name)


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1), (2, 0.5)])
@pytest.mark.parametrize("bias_shape", [(3, 5), (5,), (1, 5), (3, 1)], ids=str)
def test_addmm(bias_shape, beta, alpha):
    fn = lambda c, a, b: c.addmm(a, b, beta=beta, alpha=alpha)  # noqa: E731
    np_fn = lambda c, a, b: (beta * c + alpha * (a @ b)).astype(a.dtype)  # noqa: E731
    check_op(fn, np_fn, fn, [bias_shape, (3, 4), (4, 5)], skip=NO_SCALAR + ("empty",))
    nr_fn = lambda c, a, b: nr.addmm(c, a, b, beta=beta, alpha=alpha)  # noqa: E731
    check_op(nr_fn, np_fn, None, [bias_shape, (3, 4), (4, 5)], skip=NO_SCALAR + ("empty",), gradcheck=False)


def test_addmm_beta_zero_ignores_nan_in_input():
    # torch: with beta=0 the input is ignored, so its NaN/inf do not reach the result.
    c = nr.tensor([[np.nan, np.inf]])
    out = nr.addmm(c, nr.ones(1, 3), nr.ones(3, 2), beta=0)
    assert_close(out, np.array([[3.0, 3.0]], dtype=np.float32))


def test_addmv_and_baddbmm():
    check_op(lambda c, a, v: nr.addmv(c, a, v, beta=0.5, alpha=2.0),
             lambda c, a, v: (0.5 * c + 2.0 * (a @ v)).astype(a.dtype),
             lambda c, a, v: c.addmv(a, v, beta=0.5, alpha=2.0), [(3,), (3, 4), (4,)], skip=NO_SCALAR + ("empty",))
    check_op(lambda c, a, b: nr.baddbmm(c, a, b, beta=0.5, alpha=2.0),
             lambda c, a, b: (0.5 * c + 2.0 * (a @ b)).astype(a.dtype),
             lambda c, a, b: c.baddbmm(a, b, beta=0.5, alpha=2.0), [(3, 5), (2, 3, 4), (2, 4, 5)],
             skip=NO_SCALAR + ("empty",))


# ------------------------------------------------------------------ einsum
EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,jk->...ik", [(2, 2, 3, 4), (4, 5)]),
    ("i...,i...->...", [(3, 2, 4), (3, 2, 4)]),
    ("ij,jk", [(3, 4), (4, 5)]),  # implicit output: alphabetical free indices
    ("ba,ac", [(3, 4), (4, 5)]),  # implicit output is 'bc'
    ("ji", [(3, 4)]),  # implicit output 'ij': a transpose
    ("ii", [(4, 4)]),  # trace
    ("ii->i", [(4, 4)]),  # diagonal
    ("bii->b", [(2, 3, 3)]),  # batched trace
    ("iij->j", [(3, 3, 2)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ij,kj->ik", [(3, 4), (5, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),  # multi-operand
    ("i,ij,j->", [(3,), (3, 4), (4,)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("ij,jk->", [(3, 4), (4, 5)]),
    (" i j , j k -> i k ", [(3, 4), (4, 5)]),  # spaces are ignored
]


@pytest.mark.parametrize("equation,shapes", EINSUM, ids=[e[0].replace(" ", "_") for e in EINSUM])
def test_einsum(equation, shapes):
    # the '...' forms broadcast like the other batched ops: the broadcast layout applies to them too
    fn = lambda *xs: nr.einsum(equation, *xs)  # noqa: E731
    np_fn = lambda *xs: np.asarray(np.einsum(equation.replace(" ", ""), *xs))  # noqa: E731

    def torch_fn(*xs):
        import torch
        return torch.einsum(equation, *xs)

    check_op(fn, np_fn, torch_fn, shapes, skip=NO_SCALAR + ("empty",), name=equation)


def test_einsum_operand_list_and_broadcast_ellipsis():
    a = nr.randn(2, 3)
    b = nr.randn(3, 4)
    assert_close(nr.einsum("ij,jk->ik", [a, b]), a @ b)
    fn = lambda x, y: nr.einsum("...ij,...jk->...ik", x, y)  # noqa: E731
    check_op(fn, lambda x, y: np.einsum("...ij,...jk->...ik", x, y), None, [(1, 3, 2, 4), (2, 1, 4, 5)],
             skip=NO_SCALAR + ("empty",))


# ------------------------------------------------------------------ errors
def _names(message, shape):
    """Whether ``message`` spells ``shape`` in one of the usual ways."""
    forms = [str(list(shape)), str(tuple(shape))] + (["x".join(map(str, shape))] if len(shape) > 1 else [])
    return any(f in message for f in forms)


# (id, op written once for both libraries: ``m`` is neurarust or torch, shapes of a and b)
SHAPE_ERRORS = [
    ("matmul_inner", lambda m, a, b: a @ b, (2, 3), (4, 5)),
    ("matmul_1d", lambda m, a, b: a @ b, (3,), (4,)),
    ("matmul_2d_1d", lambda m, a, b: m.matmul(a, b), (2, 3), (4,)),
    ("matmul_batch", lambda m, a, b: a @ b, (2, 3, 4), (3, 4, 5)),
    ("matmul_0d", lambda m, a, b: m.matmul(a, b), (), (3,)),
    ("mm_1d", lambda m, a, b: m.mm(a, b), (3,), (3, 2)),
    ("mm_3d", lambda m, a, b: m.mm(a, b), (2, 2, 3), (3, 2)),
    ("mm_inner", lambda m, a, b: a.mm(b), (2, 3), (2, 3)),
    ("bmm_2d", lambda m, a, b: m.bmm(a, b), (2, 3), (3, 4)),
    ("bmm_batch", lambda m, a, b: m.bmm(a, b), (2, 3, 4), (5, 4, 2)),
    ("bmm_inner", lambda m, a, b: m.bmm(a, b), (2, 3, 4), (2, 5, 2)),
    ("mv_dims", lambda m, a, b: m.mv(a, b), (3,), (3,)),
    ("mv_inner", lambda m, a, b: m.mv(a, b), (2, 3), (4,)),
    ("dot_2d", lambda m, a, b: m.dot(a, b), (2, 2), (2, 2)),
    ("dot_size", lambda m, a, b: m.dot(a, b), (3,), (4,)),
    ("outer_2d", lambda m, a, b: m.outer(a, b), (2, 2), (3,)),
    ("addmm_bias", lambda m, a, b: m.addmm(m.ones(4, 4), a, b), (2, 3), (3, 5)),
    ("einsum_sizes", lambda m, a, b: m.einsum("ij,jk->ik", a, b), (2, 3), (4, 5)),
    ("einsum_diagonal", lambda m, a, b: m.einsum("ii,j->j", a, b), (2, 3), (3,)),
]


@pytest.mark.parametrize("name,fn,shape_a,shape_b", SHAPE_ERRORS, ids=[e[0] for e in SHAPE_ERRORS])
def test_shape_errors_name_both_shapes(name, fn, shape_a, shape_b):
    with pytest.raises(nr.ShapeError) as info:
        fn(nr, nr.ones(shape_a), nr.ones(shape_b))
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)
    message = str(info.value)
    assert _names(message, shape_a) and _names(message, shape_b), message
    torch = torch_module()
    with pytest.raises(RuntimeError):  # torch refuses the same operands
        fn(torch, torch.ones(shape_a), torch.ones(shape_b))


DTYPE_ERRORS = [
    ("matmul", lambda a, b: a @ b, (2, 3), (3, 2)),
    ("mm", nr.mm, (2, 3), (3, 2)),
    ("bmm", nr.bmm, (1, 2, 3), (1, 3, 2)),
    ("mv", nr.mv, (2, 3), (3,)),
    ("dot", nr.dot, (3,), (3,)),
]


@pytest.mark.parametrize("name,fn,shape_a,shape_b", DTYPE_ERRORS, ids=[e[0] for e in DTYPE_ERRORS])
@pytest.mark.parametrize("dtypes", [(nr.float32, nr.float64), (nr.int64, nr.float32)], ids=["f32-f64", "i64-f32"])
def test_dtype_errors_name_both_shapes_and_dtypes(name, fn, shape_a, shape_b, dtypes):
    a, b = nr.ones(*shape_a, dtype=dtypes[0]), nr.ones(*shape_b, dtype=dtypes[1])
    with pytest.raises(nr.DTypeError) as info:
        fn(a, b)
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, TypeError)
    message = str(info.value)
    assert _names(message, shape_a) and _names(message, shape_b), message
    assert re.search(dtypes[0].name, message) and re.search(dtypes[1].name, message), message


def test_einsum_equation_errors():
    a = nr.ones(2, 3)
    with pytest.raises(ValueError, match="operand"):
        nr.einsum("ij,jk->ik", a)  # two subscripts, one operand
    with pytest.raises(ValueError, match=r"ijk|3"):
        nr.einsum("ijk->i", a)  # more subscripts than dims
    with pytest.raises(ValueError, match="z"):
        nr.einsum("ij->z", a)  # output index absent from the inputs
    with pytest.raises(ValueError):
        nr.einsum("ij->")  # no operand
