"""Losses (functional and modules) against NumPy references, torch, and float64 gradcheck.

The fused cross-entropy kernel is covered over class counts below and above
its 32-wide lanes, spatial dims, weights, ignore_index, label smoothing and
every reduction; every other loss is checked the same way on fewer shapes.
"""
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import assert_close, raises, torch_or_none  # noqa: E402

import neurarust as nr  # noqa: E402
from neurarust import nn  # noqa: E402
from neurarust.autograd import gradcheck  # noqa: E402
from neurarust.nn import functional as F  # noqa: E402

REDUCTIONS = ("mean", "sum", "none")


def _np_log_softmax(x, axis):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


def np_cross_entropy(x, t, w=None, ignore_index=-100, reduction="mean", ls=0.0):
    """Reference with class indices; class dim 1 (or 0 for 1-D input)."""
    if x.ndim == 1:
        x, t = x[None], np.asarray(t)[None]
        out = np_cross_entropy(x, t, w, ignore_index, reduction, ls)
        return out[0] if reduction == "none" else out
    c = x.shape[1]
    logp = np.moveaxis(_np_log_softmax(x, 1), 1, -1).reshape(-1, c)
    tf = t.reshape(-1)
    w = np.ones(c) if w is None else w
    valid = tf != ignore_index
    safe = np.where(valid, tf, 0)
    wt = w[safe] * valid
    nll = -logp[np.arange(len(tf)), safe] * wt
    smooth = -(logp * w).sum(1) * valid
    if reduction == "none":
        return ((1 - ls) * nll + ls / c * smooth).reshape(t.shape)
    if reduction == "sum":
        return (1 - ls) * nll.sum() + ls / c * smooth.sum()
    return (1 - ls) * nll.sum() / wt.sum() + ls / c * smooth.sum() / wt.sum()


def _reduce(v, reduction):
    return v.mean() if reduction == "mean" else v.sum() if reduction == "sum" else v


def _targets(rng, shape, c, ignore=True):
    t = rng.integers(0, c, shape)
    if ignore and t.size > 2:
        t.reshape(-1)[1] = -100
    return t


CE_CASES = [((5, 3), None), ((7, 37), None), ((4, 33), "w"), ((3, 70), "w"), ((2, 4, 3, 2), "w"),
            ((2, 5, 3), None), ((6,), None), ((0, 4), None)]


@pytest.mark.parametrize("shape,weighted", CE_CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ls", [0.0, 0.15])
def test_cross_entropy_indices(shape, weighted, reduction, ls):
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    x = rng.standard_normal(shape) * 3
    if shape[0] == 0 and reduction == "mean":
        assert np.isnan(F.cross_entropy(nr.tensor(x), nr.zeros(0, dtype=nr.int64)).item())
        return
    c = shape[1] if len(shape) > 1 else shape[0]
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    t = _targets(rng, tshape, c)
    w = rng.uniform(0.2, 2.0, c) if weighted else None
    expected = np_cross_entropy(x, t, w, -100, reduction, ls)
    xt = nr.tensor(x, requires_grad=True)
    wt = None if w is None else nr.tensor(w)
    out = F.cross_entropy(xt, nr.tensor(t), wt, reduction=reduction, label_smoothing=ls)
    assert_close(out, np.asarray(expected))
    gradcheck(lambda a: F.cross_entropy(a, nr.tensor(t), wt, reduction=reduction, label_smoothing=ls),
              (xt,))
    torch = torch_or_none()
    if torch is None:
        return
    xr = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(xr, torch.tensor(t), None if w is None else torch.tensor(w),
                                            reduction=reduction, label_smoothing=ls)
    gout = rng.standard_normal(tuple(ref.shape))  # a non-uniform upstream gradient
    ref.backward(torch.tensor(gout))
    out.backward(nr.tensor(gout))
    assert_close(out, ref)
    assert_close(xt.grad, xr.grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_float32_matches_torch(reduction):
    torch = torch_or_none()
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((64, 10)) * 4).astype(np.float32)
    t = rng.integers(0, 10, 64)
    w = rng.uniform(0.5, 1.5, 10).astype(np.float32)
    xt = nr.tensor(x, requires_grad=True)
    out = nn.CrossEntropyLoss(weight=nr.tensor(w), reduction=reduction, label_smoothing=0.1)(xt, nr.tensor(t))
    assert out.dtype == nr.float32
    assert_close(out, np.asarray(np_cross_entropy(x.astype(np.float64), t, w, -100, reduction, 0.1),
                                 np.float32))
    if torch is None:
        return
    xr = torch.tensor(x, requires_grad=True)
    ref = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), reduction=reduction, label_smoothing=0.1)(
        xr, torch.tensor(t))
    ref.sum().backward()
    out.sum().backward()
    assert_close(out, ref)
    assert_close(xt.grad, xr.grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ls", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probabilities(reduction, ls, weighted):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 5, 3))
    p = rng.uniform(0, 1, (4, 5, 3))
    p /= p.sum(1, keepdims=True)
    w = rng.uniform(0.5, 2, 5) if weighted else None
    ps = p * (1 - ls) + ls / 5
    per = -(_np_log_softmax(x, 1) * ps * (1 if w is None else w[None, :, None])).sum(1)
    xt, pt = nr.tensor(x, requires_grad=True), nr.tensor(p, requires_grad=True)
    wt = None if w is None else nr.tensor(w)
    out = F.cross_entropy(xt, pt, wt, reduction=reduction, label_smoothing=ls)
    assert_close(out, np.asarray(_reduce(per, reduction)))
    gradcheck(lambda a, b: F.cross_entropy(a, b, wt, reduction=reduction, label_smoothing=ls), (xt, pt))
    torch = torch_or_none()
    if torch is not None:
        ref = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(p),
                                                None if w is None else torch.tensor(w),
                                                reduction=reduction, label_smoothing=ls)
        assert_close(out, ref)


def test_cross_entropy_double_backward():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6))
    t = np.array([0, 5, -100, 2])
    w = nr.tensor(rng.uniform(0.5, 2, 6))
    xt = nr.tensor(x, requires_grad=True)
    for red in REDUCTIONS:
        fn = (lambda a: F.cross_entropy(a, nr.tensor(t), w, reduction=red, label_smoothing=0.1))
        (g,) = nr.autograd.grad(fn(xt).sum(), xt, create_graph=True)
        (gg,) = nr.autograd.grad((g * g).sum(), xt)
        # Same quantity through log_softmax (a composite whose second derivative is independent).
        x2 = nr.tensor(x, requires_grad=True)
        logp = F.log_softmax(x2, 1)
        ref = F.nll_loss(logp, nr.tensor(t), w, reduction=red)
        smooth = -(logp * w).sum(1) * nr.tensor(t != -100)
        smooth = smooth if red == "none" else smooth.sum() / (1.0 if red == "sum" else float(w[[0, 5, 2]].sum()))
        ref = 0.9 * ref + 0.1 / 6 * smooth
        (g2,) = nr.autograd.grad(ref.sum(), x2, create_graph=True)
        (gg2,) = nr.autograd.grad((g2 * g2).sum(), x2)
        assert_close(g, g2)
        assert_close(gg, gg2)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    rng = np.random.default_rng(2)
    x = _np_log_softmax(rng.standard_normal((5, 4, 2)), 1)
    t = _targets(rng, (5, 2), 4)
    w = rng.uniform(0.5, 2, 4)
    valid = t != -100
    safe = np.where(valid, t, 0)
    picked = np.take_along_axis(x, safe[:, None], 1)[:, 0]
    per = -picked * w[safe] * valid
    expected = per.sum() / (w[safe] * valid).sum() if reduction == "mean" else _reduce(per, reduction)
    xt = nr.tensor(x, requires_grad=True)
    out = F.nll_loss(xt, nr.tensor(t), nr.tensor(w), reduction=reduction)
    assert_close(out, np.asarray(expected))
    gradcheck(lambda a: nn.NLLLoss(nr.tensor(w), reduction=reduction)(a, nr.tensor(t)), (xt,))
    torch = torch_or_none()
    if torch is not None:
        assert_close(out, torch.nn.functional.nll_loss(torch.tensor(x), torch.tensor(t), torch.tensor(w),
                                                       reduction=reduction))


def _np_pointwise(name, x, y, **kw):
    d = x - y
    if name == "mse_loss":
        return d * d
    if name == "l1_loss":
        return np.abs(d)
    if name == "smooth_l1_loss":
        b = kw.get("beta", 1.0)
        return np.where(np.abs(d) < b, 0.5 * d * d / b, np.abs(d) - 0.5 * b)
    if name == "huber_loss":
        dl = kw.get("delta", 1.0)
        return np.where(np.abs(d) < dl, 0.5 * d * d, dl * (np.abs(d) - 0.5 * dl))
    if name == "binary_cross_entropy":
        return -(y * np.log(x) + (1 - y) * np.log(1 - x))
    if name == "binary_cross_entropy_with_logits":
        pw = kw.get("pos_weight")
        lw = 1 if pw is None else 1 + (pw - 1) * y
        return (1 - y) * x + lw * np.log1p(np.exp(-x))
    if name == "kl_div":
        if kw.get("log_target"):
            return np.exp(y) * (y - x)
        return np.where(y == 0, 0.0, y * np.log(np.where(y == 0, 1, y))) - y * x
    raise AssertionError(name)


POINTWISE = [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.4}),
             ("huber_loss", {}), ("huber_loss", {"delta": 0.3}), ("binary_cross_entropy", {}),
             ("binary_cross_entropy_with_logits", {}), ("binary_cross_entropy_with_logits", {"pos_weight": "pw"}),
             ("kl_div", {}), ("kl_div", {"log_target": True})]


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("name,kw", POINTWISE)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pointwise_losses(name, kw, reduction):
    rng = np.random.default_rng(11)
    shape = (3, 4)
    if name == "binary_cross_entropy":
        x, y = rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)
    elif name == "kl_div" and not kw:
        x, y = np.log(rng.uniform(0.05, 1, shape)), rng.uniform(0, 1, shape)
        y[0, 0] = 0.0  # xlogy's zero branch
    else:
        x, y = rng.standard_normal(shape) * 2, rng.standard_normal(shape)
        if name == "binary_cross_entropy_with_logits":
            y = rng.uniform(0, 1, shape)
    kw = dict(kw)
    pw = rng.uniform(0.5, 3, 4)
    if kw.get("pos_weight") == "pw":
        kw["pos_weight"] = pw
    nr_kw = {k: nr.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    expected = _reduce(_np_pointwise(name, x, y, **kw), reduction)
    xt, yt = nr.tensor(x, requires_grad=True), nr.tensor(y, requires_grad=True)
    fn = getattr(F, name)
    out = fn(xt, yt, reduction=reduction, **nr_kw)
    assert_close(out, np.asarray(expected))
    if name == "kl_div" and not kw:
        # d(y log y)/dy is unbounded at y = 0: check the target gradient where y > 0.
        gradcheck(lambda a: fn(a, yt, reduction=reduction), (xt,))
        gradcheck(lambda b: fn(xt[1:], b, reduction=reduction), (nr.tensor(y[1:], requires_grad=True),))
    else:
        gradcheck(lambda a, b: fn(a, b, reduction=reduction, **nr_kw), (xt, yt))
    torch = torch_or_none()
    if torch is None:
        return
    t_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    xr, yr = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    ref = getattr(torch.nn.functional, name)(xr, yr, reduction=reduction, **t_kw)
    ref.sum().backward()
    out.sum().backward()
    assert_close(out, ref)
    assert_close(xt.grad, xr.grad)
    if name == "kl_div" and not kw:
        # torch's target gradient at y = 0 is NaN (log 0 + 0/0); ours is that of the 0 branch.
        assert np.isnan(yr.grad[0, 0].item())
        assert_close(yt.grad[1:], yr.grad[1:])
    elif name != "binary_cross_entropy":  # torch does not differentiate BCE w.r.t. its target
        assert_close(yt.grad, yr.grad)


def test_weighted_pointwise_and_batchmean():
    rng = np.random.default_rng(4)
    x, y, w = rng.standard_normal((4, 3)), rng.uniform(0, 1, (4, 3)), rng.uniform(0, 1, (3,))
    assert_close(F.mse_loss(nr.tensor(x), nr.tensor(y), weight=nr.tensor(w)), np.asarray(((x - y) ** 2 * w).mean()))
    assert_close(F.binary_cross_entropy_with_logits(nr.tensor(x), nr.tensor(y), nr.tensor(w), reduction="sum"),
                 np.asarray((_np_pointwise("binary_cross_entropy_with_logits", x, y) * w).sum()))
    lx = np.log(rng.uniform(0.1, 1, (4, 3)))
    assert_close(nn.KLDivLoss(reduction="batchmean")(nr.tensor(lx), nr.tensor(y)),
                 np.asarray(_np_pointwise("kl_div", lx, y).sum() / 4))


def test_bce_gradient_finite_at_edges():
    x = nr.tensor([0.0, 1.0, 0.5], requires_grad=True)
    out = F.binary_cross_entropy(x, nr.tensor([1.0, 0.0, 1.0]), reduction="sum")
    assert_close(out, np.asarray(200.0 + np.log(2.0), np.float32))
    out.backward()
    # torch's gradient: (x - y) / max(x (1 - x), 1e-12)
    assert_close(x.grad, np.array([-1e12, 1e12, -2.0], np.float32))


def test_bce_with_logits_stable_and_exact_at_zero():
    x = nr.tensor([0.0, -200.0, 200.0], requires_grad=True)
    out = F.binary_cross_entropy_with_logits(x, nr.tensor([1.0, 1.0, 0.0]), reduction="none")
    assert_close(out, np.array([np.log(2.0), 200.0, 200.0], np.float32))
    out.sum().backward()
    assert_close(x.grad, np.array([-0.5, -1.0, 1.0], np.float32))


def test_loss_modules_options_and_repr():
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert nn.L1Loss(reduce=False).reduction == "none"
    w = nr.ones(3)
    m = nn.CrossEntropyLoss(weight=w, ignore_index=1, label_smoothing=0.1)
    assert "weight" in dict(m.named_buffers())
    assert m.ignore_index == 1 and m.label_smoothing == 0.1
    m2 = nn.BCEWithLogitsLoss(pos_weight=nr.tensor([2.0]))
    assert set(dict(m2.named_buffers())) == {"pos_weight"}


def test_loss_errors():
    x = nr.randn(3, 4)
    with raises(nr.DTypeError, "int64"):
        F.cross_entropy(x, nr.tensor([0, 1, 2], dtype=nr.int32))
    with raises(nr.ShapeError, "batch_size"):
        F.cross_entropy(x, nr.tensor([0, 1]))
    with raises(nr.ShapeError, "[3, 2]"):
        F.cross_entropy(nr.randn(3, 4, 5), nr.tensor([[0, 1]] * 3))
    with raises(nr.ShapeError, "probability target"):
        F.cross_entropy(x, nr.rand(3, 5))
    with raises(IndexError, "Target 4 is out of bounds"):
        F.cross_entropy(x, nr.tensor([0, 4, 1]))
    with raises(IndexError, "Target -1 is out of bounds"):
        F.nll_loss(x, nr.tensor([0, -1, 1]))
    with raises(ValueError, "reduction"):
        F.cross_entropy(x, nr.tensor([0, 1, 2]), reduction="avg")
    with raises(ValueError, "label_smoothing"):
        F.cross_entropy(x, nr.tensor([0, 1, 2]), label_smoothing=1.5)
    with raises(nr.ShapeError, "weight"):
        F.cross_entropy(x, nr.tensor([0, 1, 2]), weight=nr.ones(3))
    with raises(nr.DTypeError, "floating point"):
        F.cross_entropy(nr.tensor([[1, 2]]), nr.tensor([0]))
    with raises(ValueError, "between 0 and 1"):
        F.binary_cross_entropy(nr.tensor([1.5]), nr.tensor([1.0]))
    with raises(ValueError, "target size"):
        F.binary_cross_entropy_with_logits(nr.randn(3), nr.rand(2))
    with pytest.warns(UserWarning, match="broadcasting"):
        F.mse_loss(nr.randn(3, 1), nr.randn(3))
    # ignore_index takes every row away: the mean is 0/0, as in torch.
    assert np.isnan(F.cross_entropy(x, nr.full((3,), -100)).item())


def test_cross_entropy_kernel_boundary_and_threads():
    from neurarust._core import nn_kernels as K

    rng = np.random.default_rng(9)
    x = rng.standard_normal((300, 257)).astype(np.float32)
    t = rng.integers(0, 257, 300)
    with raises(ValueError, "C-contiguous"):
        K.cross_entropy_forward(x.T, t[:257], None, -100, 0.0)
    with raises(TypeError, "float32 or float64"):
        K.cross_entropy_forward(x.astype(np.int32), t, None, -100, 0.0)
    with raises(ValueError, "int64"):
        K.cross_entropy_forward(x, t.astype(np.int32), None, -100, 0.0)
    with raises(ValueError, "weight"):
        K.cross_entropy_forward(x, t, np.ones(257), -100, 0.0)  # float64 weight for float32 logits
    with raises(IndexError, "Target 257"):
        K.cross_entropy_forward(x, np.full(300, 257), None, -100, 0.0)
    # Rows are split across threads in fixed pieces: results are bitwise the same for any count.
    threads = nr.get_num_threads()
    try:
        results = []
        for n in (1, 2):
            nr.set_num_threads(n)
            xt = nr.tensor(x, requires_grad=True)
            loss = F.cross_entropy(xt, nr.tensor(t), label_smoothing=0.1)
            loss.backward()
            results.append((loss.item(), xt.grad.numpy().copy()))
    finally:
        nr.set_num_threads(threads)
    assert results[0][0] == results[1][0]
    assert np.array_equal(results[0][1], results[1][1])


def test_cross_entropy_nan_and_inf_logits_match_torch():
    x = np.array([[np.nan, 0.0, 1.0], [-np.inf, 0.0, 1.0], [1e30, 0.0, -1e30]], np.float32)
    out = F.cross_entropy(nr.tensor(x), nr.tensor([1, 2, 0]), reduction="none").numpy()
    assert np.isnan(out[0]) and np.isfinite(out[1:]).all()
    torch = torch_or_none()
    if torch is not None:
        ref = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor([1, 2, 0]), reduction="none")
        assert_close(nr.tensor(out), ref, equal_nan=True)
