"""Reductions: sum/mean/prod/max/min, amax/amin, argmax/argmin, var/std, logsumexp, norm,
all/any, cumsum/cumprod and softmax/log_softmax.

Every op runs through ``check_op`` for int, negative, tuple and None dims with and without
keepdim (forward against NumPy and torch, gradients against torch, every layout, float32
and float64, gradcheck), then NaN behaviour and empty inputs are checked case by case.
"""
import math

import numpy as np
import pytest
from scipy import special

import neurarust as nr
from neurarust.testing import assert_close, torch_or_none, uniform
from neurarust.testing import check_op as _check_op


def check_op(*args, **kwargs):
    # gradcheck's cost grows with (input size) x (output size): a smaller 3-D input keeps it fast.
    return _check_op(*args, gradcheck_shapes=[(2, 3, 3)], **kwargs)


def torch_module():
    return pytest.importorskip("torch")


# Gradients at ties and infinite gradients follow torch's conventions, which central
# differences cannot check: without torch those cases check the forward only.
HAVE_TORCH = torch_or_none() is not None


def _axis(x, dim):
    """NumPy's axis for torch's ``dim``: 0-d tensors accept dim 0/-1 (and tuples of them)."""
    if x.ndim == 0 or dim is None:
        return None
    return dim


DIMS = [(None, False), (1, False), (-1, True), (0, True), ((0, 2), False), ((-1, 0), True)]
DIM_IDS = [f"dim={d}-keepdim={k}" for d, k in DIMS]
SHAPE = [(2, 3, 4)]


def _kw(dim, keepdim):
    return {} if dim is None else {"dim": dim, "keepdim": keepdim}


def _np_reduce(np_fn, dim, keepdim, **extra):
    def f(x):
        return np.asarray(np_fn(x, axis=_axis(x, dim), keepdims=keepdim and dim is not None, **extra))
    return f


def _skips(dim, empty_ok=True):
    # A 0-d input only takes dim 0 or -1; the empty variant makes dim 0 empty.
    skip = []
    if isinstance(dim, tuple) or dim not in (None, 0, -1):
        skip.append("scalar")
    if not empty_ok:
        skip.append("empty")
    return tuple(skip)


@pytest.mark.filterwarnings("ignore:Mean of empty slice")  # NumPy's NaN mean of an empty input
@pytest.mark.parametrize("dim,keepdim", DIMS, ids=DIM_IDS)
@pytest.mark.parametrize("op", ["sum", "mean", "prod"])
def test_sum_mean_prod(op, dim, keepdim):
    if op == "prod" and isinstance(dim, tuple):
        pytest.skip("torch.prod takes a single dim")
    fn = lambda x: getattr(x, op)(**_kw(dim, keepdim))  # noqa: E731
    with np.errstate(invalid="ignore"):  # the mean of an empty tensor is NaN in both
        check_op(fn, _np_reduce(getattr(np, op), dim, keepdim), fn, SHAPE, name=op,
                 generator=uniform(0.5, 1.5) if op == "prod" else None, skip=_skips(dim))


@pytest.mark.parametrize("dtype", [nr.bool, nr.uint8, nr.int32, nr.int64])
def test_sum_prod_of_integers_give_int64(dtype):
    x = nr.tensor([[1, 0, 3], [2, 2, 1]]).to(dtype)
    for op in ("sum", "prod"):
        for kwargs in ({}, {"dim": 1}, {"dim": 0, "keepdim": True}):
            out = getattr(x, op)(**kwargs)
            assert out.dtype == nr.int64
            ref = getattr(np, op)(x.numpy().astype(np.int64), axis=kwargs.get("dim"),
                                  keepdims=kwargs.get("keepdim", False))
            assert_close(out, np.asarray(ref))
    assert x.sum(dtype=nr.float64).dtype == nr.float64
    with pytest.raises(TypeError, match="mean"):
        x.mean()
    assert_close(x.mean(dtype=nr.float64), np.float64(x.numpy().astype(np.float64).mean()))


@pytest.mark.parametrize("dim,keepdim", [(1, False), (-1, True), (0, False), (None, False)],
                         ids=["dim1", "dim-1-keep", "dim0", "all"])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min(op, dim, keepdim):
    fn = lambda x: getattr(x, op)(**_kw(dim, keepdim))  # noqa: E731
    np_arg = getattr(np, "arg" + op)

    def np_fn(x):
        values = getattr(np, op)(x, axis=_axis(x, dim), keepdims=keepdim and dim is not None)
        if dim is None:
            return np.asarray(values)
        idx = np_arg(x, axis=_axis(x, dim), keepdims=keepdim) if x.ndim else np.asarray(0)
        return np.asarray(values), np.asarray(idx, dtype=np.int64)

    # Reducing over all of an empty input, or along an empty dim, is an error (tested below).
    check_op(fn, np_fn, fn, SHAPE, name=op, skip=_skips(dim, empty_ok=dim in (1, -1)))


@pytest.mark.parametrize("dim,keepdim", DIMS, ids=DIM_IDS)
@pytest.mark.parametrize("op", ["amax", "amin"])
def test_amax_amin(op, dim, keepdim):
    fn = lambda x: getattr(x, op)(**({} if dim is None else {"dim": dim, "keepdim": keepdim}))  # noqa: E731
    empty_ok = dim is not None and 0 not in ((dim,) if isinstance(dim, int) else dim)
    check_op(fn, _np_reduce(getattr(np, op), dim, keepdim), fn, SHAPE, name=op,
             skip=_skips(dim, empty_ok=empty_ok))


@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (1, False), (-1, True)],
                         ids=["all", "all-keep", "dim1", "dim-1-keep"])
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin(op, dim, keepdim):
    fn = lambda x: getattr(x, op)(dim=dim, keepdim=keepdim)  # noqa: E731

    def np_fn(x):
        idx = getattr(np, op)(x, axis=_axis(x, dim))
        if keepdim and x.ndim:
            idx = np.reshape(idx, (1,) * x.ndim) if dim is None else np.expand_dims(idx, dim)
        # torch: a 0-d input gives a 0-d index whatever dim/keepdim say.
        return np.asarray(idx, dtype=np.int64).reshape(np.shape(idx) if x.ndim else ())

    check_op(fn, np_fn, fn, SHAPE, name=op, grad=False, skip=("empty",) + _skips(dim))


def test_ties():
    # max/min(dim) send the gradient to the returned index; amax/amin and max() share it evenly.
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    for fn, np_fn in ((lambda t: t.max(dim=1), lambda a: (a.max(1), np.argmax(a, 1))),
                      (lambda t: t.min(dim=0), lambda a: (a.min(0), np.argmin(a, 0))),
                      (lambda t: t.amax(dim=1), lambda a: a.max(1)),
                      (lambda t: t.amin(dim=(0, 1)), lambda a: np.asarray(a.min())),
                      (lambda t: t.max(), lambda a: np.asarray(a.max()))):
        check_op(fn, np_fn, fn, inputs=[x], gradcheck=False, skip=("broadcast", "scalar", "empty"),
                 grad=HAVE_TORCH)
    assert_close(nr.tensor([[1.0, 3.0, 3.0]]).amax(1, keepdim=True), np.array([[3.0]], dtype=np.float32))
    t = nr.tensor(x, requires_grad=True)
    t.amax(dim=1).sum().backward()
    assert_close(t.grad, np.array([[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]))
    assert_close(nr.tensor([2, 7, 7, 1]).argmax(), np.int64(1))  # first occurrence, as in torch


@pytest.mark.filterwarnings("ignore:.*degrees of freedom")  # torch warns when N - correction <= 0
@pytest.mark.filterwarnings("ignore:Degrees of freedom")  # so does NumPy
@pytest.mark.parametrize("correction", [0, 1, 2])
@pytest.mark.parametrize("dim,keepdim", DIMS, ids=DIM_IDS)
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_with_correction(op, dim, keepdim, correction):
    fn = lambda x: getattr(x, op)(dim=dim, keepdim=keepdim, correction=correction)  # noqa: E731
    np_fn = _np_reduce(getattr(np, op), dim, keepdim, ddof=correction)
    # Over dim 0 (N = 2) correction 2 divides by zero: inf values and gradients, as in torch,
    # which central differences cannot check.
    infinite = correction == 2 and dim == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        check_op(fn, np_fn, fn, SHAPE, name=op, skip=("scalar", "empty"), gradcheck=not infinite,
                 grad=HAVE_TORCH or not infinite)


def test_var_std_unbiased_flag_and_defaults():
    a = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    x = nr.tensor(a)
    assert_close(x.var(), np.var(a, ddof=1))
    assert_close(x.var(unbiased=False), np.var(a, ddof=0))
    assert_close(x.std(1, unbiased=True), np.std(a, axis=1, ddof=1))
    assert_close(x.std(dim=0, keepdim=True), np.std(a, axis=0, ddof=1, keepdims=True))
    var, mean = nr.var_mean(x, dim=1, correction=0)
    assert_close((var, mean), (np.var(a, axis=1), np.mean(a, axis=1)))
    std, mean = nr.std_mean(x)
    assert_close((std, mean), (np.std(a, ddof=1), np.mean(a)))
    with pytest.raises(TypeError):
        nr.tensor([1, 2, 3]).var()


@pytest.mark.parametrize("dim,keepdim", [(1, False), (-1, True), ((0, 2), False), (0, True)],
                         ids=["dim1", "dim-1-keep", "dims02", "dim0-keep"])
def test_logsumexp(dim, keepdim):
    fn = lambda x: x.logsumexp(dim, keepdim)  # noqa: E731

    def np_fn(x):
        out = np.asarray(special.logsumexp(x, axis=_axis(x, dim), keepdims=keepdim)).astype(x.dtype)
        return out.reshape(()) if x.ndim == 0 else out  # torch keeps 0-d inputs 0-d

    check_op(fn, np_fn, fn, SHAPE, generator=uniform(-20, 20), skip=_skips(dim, empty_ok=False))
    # No overflow for large values, as in torch.
    assert_close(nr.tensor([1000.0, 1000.0]).logsumexp(0), np.float32(1000 + math.log(2)))
    assert_close(nr.tensor([1, 2, 3]).logsumexp(0), np.float32(special.logsumexp([1.0, 2.0, 3.0])))


def _np_norm(p, dim, keepdim):
    def f(x):
        axis, kd = _axis(x, dim), keepdim and dim is not None
        a = np.abs(x)
        if p == "fro" or p == 2:
            r = np.sqrt(np.sum(a * a, axis=axis, keepdims=kd))
        elif p == math.inf:
            r = np.max(a, axis=axis, keepdims=kd)
        elif p == -math.inf:
            r = np.min(a, axis=axis, keepdims=kd)
        elif p == 0:
            r = np.sum(a != 0, axis=axis, keepdims=kd).astype(x.dtype)
        else:
            r = np.sum(a ** p, axis=axis, keepdims=kd) ** (1.0 / p)
        return np.asarray(r).astype(x.dtype)
    return f


@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), (-1, True), ((0, 2), False)],
                         ids=["all", "dim1", "dim-1-keep", "dims02"])
@pytest.mark.parametrize("p", [1, 2, math.inf, -math.inf, "fro", 3, 0], ids=str)
def test_norm(p, dim, keepdim):
    fn = lambda x: x.norm(p, dim, keepdim)  # noqa: E731
    empty_ok = p not in (math.inf, -math.inf) or dim in (1, -1)
    check_op(fn, _np_norm(p, dim, keepdim), fn, SHAPE, name=f"norm_p{p}",
             generator=uniform(0.3, 2.0) if p in (0,) else None,
             skip=_skips(dim, empty_ok=empty_ok), gradcheck=p != 0)


def test_norm_gradient_at_zero_is_zero():
    x = nr.zeros(3, requires_grad=True)
    x.norm().backward()
    assert_close(x.grad, np.zeros(3, dtype=np.float32))
    with pytest.raises(TypeError):
        nr.tensor([1, 2]).norm()


@pytest.mark.parametrize("dim,keepdim", DIMS, ids=DIM_IDS)
@pytest.mark.parametrize("op", ["all", "any"])
@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.float32])
def test_all_any(op, dim, keepdim, dtype):
    x = (np.random.default_rng(3).random((2, 3, 4)) < 0.7).astype(dtype)
    x[0, 0, :] = 1  # make some all() results True
    if dtype is np.float32:
        x[1, 1, 1] = np.nan  # NaN is non-zero: it counts as True
    fn = lambda t: getattr(t, op)(**_kw(dim, keepdim))  # noqa: E731
    np_fn = _np_reduce(getattr(np, op), dim, keepdim)
    skip = ("broadcast",) + _skips(dim)
    check_op(fn, np_fn, fn, inputs=[x], grad=False, skip=skip)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_cumsum_cumprod(op, dim):
    fn = lambda x: getattr(x, op)(dim)  # noqa: E731

    def np_fn(x):
        return getattr(np, op)(x, axis=dim) if x.ndim else x.copy()

    check_op(fn, np_fn, fn, SHAPE, generator=uniform(0.5, 1.5), name=op,
             skip=() if dim in (0, -1) else ("scalar",))
    ints = nr.tensor([[1, 2], [3, 4]], dtype=nr.int32)
    assert getattr(ints, op)(dim).dtype == nr.int64
    assert getattr(ints, op)(dim, dtype=nr.float64).dtype == nr.float64
    assert_close(getattr(ints, op)(dim), getattr(np, op)(ints.numpy().astype(np.int64), axis=dim))


@pytest.mark.parametrize("values", [[2.0, 0.0, 3.0, 4.0], [0.0, 1.5, 0.0, 2.0], [1.5, 2.0, 3.0, 0.0],
                                    [[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]]], ids=["one", "two", "last", "2d"])
def test_cumprod_and_prod_gradients_with_zeros(values):
    # prod / x is undefined at zeros: the gradient is the product of the other elements.
    x = np.array(values)
    check_op(lambda t: t.cumprod(-1), lambda a: np.cumprod(a, axis=-1).reshape(a.shape), lambda t: t.cumprod(-1),
             inputs=[x], skip=("broadcast",))
    check_op(lambda t: t.prod(-1), lambda a: np.asarray(np.prod(a, axis=-1)), lambda t: t.prod(-1),
             inputs=[x], skip=("broadcast",))
    check_op(lambda t: t.prod(), lambda a: np.asarray(np.prod(a)), lambda t: t.prod(),
             inputs=[x], skip=("broadcast",))


def _np_softmax(dim, log):
    def f(x):
        axis = _axis(x, dim)
        shifted = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)
        with np.errstate(divide="ignore"):  # log(0) of an empty sum
            lse = np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        return (shifted - lse) if log else np.exp(shifted - lse)
    return f


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax(log, dim):
    name = "log_softmax" if log else "softmax"
    fn = lambda x: getattr(x, name)(dim)  # noqa: E731
    check_op(fn, _np_softmax(dim, log), fn, SHAPE, generator=uniform(-5, 5), name=name,
             skip=() if dim in (0, -1) else ("scalar",))
    check_op(lambda x: getattr(nr, name)(x, dim=dim), _np_softmax(dim, log), None, [(3, 4)], name=name,
             skip=("scalar",) if dim == 1 else ())
    big = nr.tensor([1000.0, 0.0, -1000.0])  # stable: no overflow
    assert_close(getattr(big, name)(0), _np_softmax(0, log)(np.array([1000.0, 0.0, -1000.0], dtype=np.float32)))


def test_softmax_dtype_argument_and_implicit_dim():
    x = nr.tensor([[1.0, 2.0], [3.0, 5.0]])
    out = nr.softmax(x, dim=1, dtype=nr.float64)
    assert out.dtype == nr.float64
    assert_close(out, _np_softmax(1, False)(x.numpy().astype(np.float64)))
    ints = nr.tensor([[1, 2], [3, 5]])
    with pytest.raises(TypeError):
        nr.softmax(ints, dim=1)
    assert_close(nr.log_softmax(ints, dim=0, dtype=nr.float32), _np_softmax(0, True)(x.numpy()))
    torch = torch_module()
    with pytest.warns(UserWarning):  # torch's implicit dim is deprecated: it picks 1 for 2-D
        expected = torch.nn.functional.softmax(torch.from_numpy(x.numpy()))
    assert_close(nr.softmax(x), expected)


# ------------------------------------------------------------------ NaN / inf
NAN = np.nan
NAN_CASES = [
    ("sum", lambda t: t.sum(1), lambda a: a.sum(1)),
    ("mean", lambda t: t.mean(1), lambda a: a.mean(1)),
    ("prod", lambda t: t.prod(1), lambda a: a.prod(1)),
    ("max", lambda t: t.max(), lambda a: np.asarray(np.max(a))),
    ("max_dim", lambda t: t.max(1), lambda a: (np.max(a, 1), np.argmax(a, 1))),
    ("min_dim", lambda t: t.min(1), lambda a: (np.min(a, 1), np.argmin(a, 1))),
    ("amax", lambda t: t.amax(1), lambda a: np.max(a, 1)),
    ("amin", lambda t: t.amin(0), lambda a: np.min(a, 0)),
    ("argmax", lambda t: t.argmax(1), lambda a: np.argmax(a, 1)),
    ("argmin", lambda t: t.argmin(), lambda a: np.asarray(np.argmin(a))),
    ("var", lambda t: t.var(1), lambda a: a.var(1, ddof=1)),
    ("logsumexp", lambda t: t.logsumexp(1), lambda a: special.logsumexp(a, 1).astype(a.dtype)),
    ("norm", lambda t: t.norm(dim=1), lambda a: np.sqrt((a * a).sum(1))),
    ("cumsum", lambda t: t.cumsum(1), lambda a: np.cumsum(a, 1)),
    ("softmax", lambda t: t.softmax(1), _np_softmax(1, False)),
]


@pytest.mark.parametrize("name,fn,np_fn", NAN_CASES, ids=[c[0] for c in NAN_CASES])
def test_nan_propagates_like_torch(name, fn, np_fn):
    # Row 0 has a NaN, row 1 has +inf, row 2 is finite.
    x = np.array([[1.0, NAN, 3.0, -1.0], [2.0, np.inf, -4.0, 0.5], [0.5, 2.0, -3.0, 1.0]])
    with np.errstate(invalid="ignore"):
        check_op(fn, np_fn, fn, inputs=[x], grad=False, skip=("broadcast", "scalar", "empty"))


def test_softmax_and_logsumexp_with_infinities():
    x = np.array([[-np.inf, 0.0, 1.0], [-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0]], dtype=np.float32)
    t = nr.tensor(x)
    with np.errstate(invalid="ignore"):
        assert_close(t.softmax(1)[0], _np_softmax(1, False)(x)[0])
    assert_close(t.logsumexp(1), np.array([special.logsumexp(x[0]), -np.inf, np.inf], dtype=np.float32))
    torch = torch_module()
    tx = torch.from_numpy(x)
    assert_close(t.softmax(1), tx.softmax(1), equal_nan=True)
    assert_close(t.log_softmax(1), tx.log_softmax(1), equal_nan=True)
    assert_close(t.logsumexp(1), tx.logsumexp(1), equal_nan=True)


# ---------------------------------------------------------------- empty inputs
EMPTY_ERRORS = [
    ("max", lambda t: t.max()), ("min", lambda t: t.min()), ("amax", lambda t: t.amax()),
    ("amin", lambda t: t.amin(0)), ("argmax", lambda t: t.argmax()), ("argmin", lambda t: t.argmin(0)),
    ("max_dim", lambda t: t.max(0)), ("min_dim", lambda t: t.min(dim=0)),
]


@pytest.mark.parametrize("name,fn", EMPTY_ERRORS, ids=[e[0] for e in EMPTY_ERRORS])
def test_empty_input_errors(name, fn):
    x = nr.zeros(0, 3)
    with pytest.raises(RuntimeError, match="numel\\(\\) == 0|non-zero size|[Ee]xpected reduction dim"):
        fn(x)
    with pytest.raises(ValueError):  # ShapeError is a ValueError too
        fn(x)
    torch = torch_module()
    with pytest.raises((RuntimeError, IndexError)):
        fn(torch.zeros(0, 3))


def test_empty_input_values():
    x = nr.zeros(0, 3)
    e = np.zeros((0, 3), dtype=np.float32)
    assert_close(x.sum(), np.float32(0))
    assert_close(x.prod(), np.float32(1))
    assert_close(x.mean(), np.float32(np.nan), equal_nan=True)
    assert_close(x.sum(0), np.zeros(3, dtype=np.float32))
    assert_close(x.max(1).values, np.zeros(0, dtype=np.float32))
    assert_close(x.amax(1), np.zeros(0, dtype=np.float32))
    assert_close(x.logsumexp(0), np.full(3, -np.inf, dtype=np.float32))
    assert_close(x.norm(), np.float32(0))
    assert_close(x.all(), np.bool_(True))
    assert_close(x.any(), np.bool_(False))
    assert_close(x.softmax(0), e)
    assert_close(x.cumsum(0), e)
    assert_close(nr.zeros(0, dtype=nr.int32).sum(), np.int64(0))


def test_dim_errors_name_the_range():
    x = nr.ones(2, 3)
    for fn in (lambda: x.sum(2), lambda: x.mean(-3), lambda: x.max(5), lambda: x.softmax(2),
               lambda: x.cumsum(3), lambda: x.argmax(2), lambda: x.var(4)):
        with pytest.raises(IndexError, match=r"range|out of"):
            fn()
    with pytest.raises(RuntimeError, match="multiple times"):
        x.sum((0, 0))
    with pytest.raises(RuntimeError, match="multiple times"):
        x.amax((1, -1))
