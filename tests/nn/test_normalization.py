"""BatchNorm1d/2d, LayerNorm and GroupNorm, against torch and NumPy."""
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _helpers import torch_or_skip as _torch  # noqa: E402
from _spatial import compare  # noqa: E402

import neurarust as nr  # noqa: E402
from neurarust import nn  # noqa: E402
from neurarust.errors import ShapeError  # noqa: E402
from neurarust.nn import _functional_conv as F  # noqa: E402
from neurarust.testing import assert_close  # noqa: E402

RNG = np.random.default_rng(2)
TOL = dict(rtol=1e-4, atol=1e-4)


def _randn(*shape, scale=1.0, shift=0.0):
    return (RNG.standard_normal(shape) * scale + shift).astype(np.float32)


@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_functional_matches_torch(shape, training):
    torch = _torch()
    rm, rv = _randn(3), np.abs(_randn(3)) + 0.5
    nrm, nrv, trm, trv = nr.tensor(rm), nr.tensor(rv), torch.tensor(rm), torch.tensor(rv)
    compare(lambda x, w, b: F.batch_norm(x, nrm, nrv, w, b, training, 0.3, 1e-5),
            lambda x, w, b: torch.nn.functional.batch_norm(x, trm, trv, w, b, training, 0.3, 1e-5),
            [_randn(*shape, scale=3, shift=5), _randn(3), _randn(3)], torch, **TOL)
    assert_close(nrm.numpy(), trm.numpy(), **TOL)
    assert_close(nrv.numpy(), trv.numpy(), **TOL)


def test_batch_norm_against_numpy_and_gradcheck():
    x = _randn(6, 2, 3).astype(np.float64)
    y = F.batch_norm(nr.tensor(x), None, None, training=True, eps=0.0).numpy()
    assert_close(y, (x - x.mean((0, 2), keepdims=True)) / x.std((0, 2), keepdims=True))
    args = [nr.tensor(a, requires_grad=True) for a in (x, RNG.standard_normal(2), RNG.standard_normal(2))]
    assert nr.autograd.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, True), args)
    rm, rv = nr.zeros(2, dtype=nr.float64), nr.ones(2, dtype=nr.float64)
    assert nr.autograd.gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, False), args)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 4)), ("BatchNorm1d", (8, 4, 3)), ("BatchNorm2d", (4, 4, 3, 3))])
def test_batch_norm_modules_train_eval_match_torch(cls, shape, momentum):
    torch = _torch()
    m, tm = getattr(nn, cls)(4, momentum=momentum), getattr(torch.nn, cls)(4, momentum=momentum)
    assert repr(m) == repr(tm)
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(_randn(4)))
        tm.bias.copy_(torch.tensor(_randn(4)))
    m.load_state_dict({k: nr.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    for step in range(3):
        x = _randn(*shape, scale=2, shift=step)
        xt, xn = torch.tensor(x, requires_grad=True), nr.tensor(x, requires_grad=True)
        y, ty = m(xn), tm(xt)
        assert_close(y.detach().numpy(), ty.detach().numpy(), **TOL)
        (y * y).sum().backward(), (ty * ty).sum().backward()
        assert_close(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-3)
        assert_close(m.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-3, atol=1e-3)
    for name in ("running_mean", "running_var"):
        assert_close(getattr(m, name).numpy(), getattr(tm, name).numpy(), **TOL)
    assert int(m.num_batches_tracked) == 3
    m.eval(), tm.eval()
    x = _randn(*shape)
    assert_close(m(nr.tensor(x)).detach().numpy(), tm(torch.tensor(x)).detach().numpy(), **TOL)


def test_batch_norm_options_and_errors():
    m = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert m.weight is None and m.running_mean is None
    y = m.eval()(nr.tensor(_randn(5, 3)))  # no running stats: batch statistics even in eval
    assert_close(y.numpy().mean(0), np.zeros(3, np.float32), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(nr.zeros(1, 3))
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(nr.zeros(2, 3))


@pytest.mark.parametrize("shape,ns", [((4, 6), (6,)), ((2, 3, 4, 5), (4, 5)), ((3, 7), 7)])
def test_layer_norm_matches_torch(shape, ns):
    torch = _torch()
    wshape = (ns,) if isinstance(ns, int) else ns
    compare(lambda x, w, b: F.layer_norm(x, ns, w, b), lambda x, w, b: torch.nn.functional.layer_norm(x, ns if isinstance(ns, tuple) else (ns,), w, b),
            [_randn(*shape, scale=2, shift=3), _randn(*wshape), _randn(*wshape)], torch, **TOL)
    m, tm = nn.LayerNorm(ns, bias=False), torch.nn.LayerNorm(ns, bias=False)
    assert repr(m) == repr(tm)


@pytest.mark.parametrize("shape,groups", [((2, 6, 5), 3), ((2, 4, 3, 3), 2), ((3, 6), 3)])
def test_group_norm_matches_torch(shape, groups):
    torch = _torch()
    c = shape[1]
    compare(lambda x, w, b: F.group_norm(x, groups, w, b), lambda x, w, b: torch.nn.functional.group_norm(x, groups, w, b),
            [_randn(*shape, scale=2, shift=3), _randn(c), _randn(c)], torch, **TOL)
    assert repr(nn.GroupNorm(groups, c)) == repr(torch.nn.GroupNorm(groups, c))


def test_layer_and_group_norm_numpy_and_gradcheck():
    x = RNG.standard_normal((3, 4, 2))
    y = F.layer_norm(nr.tensor(x), (4, 2), eps=0.0).numpy()
    flat = x.reshape(3, -1)
    assert_close(y.reshape(3, -1), (flat - flat.mean(1, keepdims=True)) / flat.std(1, keepdims=True))
    args = [nr.tensor(a, requires_grad=True) for a in (x, RNG.standard_normal((4, 2)), RNG.standard_normal((4, 2)))]
    assert nr.autograd.gradcheck(lambda x, w, b: F.layer_norm(x, (4, 2), w, b), args)
    args = [nr.tensor(a, requires_grad=True) for a in (x, RNG.standard_normal(4), RNG.standard_normal(4))]
    assert nr.autograd.gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), args)
    with pytest.raises(ShapeError, match="normalized_shape"):
        F.layer_norm(nr.zeros(2, 3), (4,))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        F.group_norm(nr.zeros(2, 3), 2)

