"""Linear, Bilinear, Identity, Flatten/Unflatten and activation modules vs torch (weights copied)."""
import math
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import assert_close, raises, torch_or_none  # noqa: E402

import neurarust as nr  # noqa: E402
from neurarust import nn  # noqa: E402


def _copy_params(ours, theirs):
    for (n1, p1), (n2, p2) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n1 == n2 and tuple(p1.shape) == tuple(p2.shape)
        with nr.no_grad():
            p1.copy_(nr.tensor(p2.detach().numpy()))


@pytest.mark.parametrize("xshape,bias,dtype", [((5, 4), True, "float32"), ((2, 3, 4), False, "float32"),
                                               ((7, 4), True, "float64")])
def test_linear_module_vs_torch(xshape, bias, dtype):
    torch = torch_or_none()
    m = nn.Linear(4, 6, bias=bias, dtype=getattr(nr, dtype))
    x = np.random.default_rng(0).standard_normal(xshape).astype(dtype)
    xt = nr.tensor(x, requires_grad=True)
    out = m(xt)
    w = m.weight.detach().numpy()
    expected = x @ w.T + (m.bias.detach().numpy() if bias else 0)
    assert_close(out, expected.astype(dtype))
    g = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    out.backward(nr.tensor(g))
    g2, x2 = g.reshape(-1, 6), x.reshape(-1, 4)
    assert_close(m.weight.grad, g2.T @ x2)
    assert_close(xt.grad, (g2 @ w).reshape(xshape))
    if bias:
        assert_close(m.bias.grad, g2.sum(0))
    if torch is None:
        return
    tm = torch.nn.Linear(4, 6, bias=bias, dtype=getattr(torch, dtype))
    _copy_params(m, tm)
    m.zero_grad()
    xt = nr.tensor(x, requires_grad=True)
    xr = torch.tensor(x, requires_grad=True)
    out, ref = m(xt), tm(xr)
    out.backward(nr.tensor(g))
    ref.backward(torch.tensor(g))
    assert_close(out, ref)
    assert_close(xt.grad, xr.grad)
    for (_, p), (_, q) in zip(m.named_parameters(), tm.named_parameters()):
        assert_close(p.grad, q.grad)


def test_linear_default_init_distribution():
    nr.manual_seed(0)
    m = nn.Linear(400, 300)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    # kaiming_uniform_(a=sqrt(5)) is uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)); so is the bias.
    bound = 1 / math.sqrt(400)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert np.abs(b).max() <= bound and abs(b.mean()) < 0.2 * bound
    assert m.weight.requires_grad and isinstance(m.weight, nn.Parameter)
    assert repr(m) == "Linear(in_features=400, out_features=300, bias=True)"
    assert nn.Linear(3, 2, bias=False).bias is None
    assert [n for n, _ in nn.Linear(3, 2).named_parameters()] == ["weight", "bias"]


def test_bilinear_module_vs_torch():
    m = nn.Bilinear(3, 2, 4)
    rng = np.random.default_rng(2)
    x1, x2 = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal((5, 2)).astype(np.float32)
    a, b = nr.tensor(x1, requires_grad=True), nr.tensor(x2, requires_grad=True)
    out = m(a, b)
    w, bias = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert_close(out, np.einsum("ni,oij,nj->no", x1, w, x2) + bias)
    bound = 1 / math.sqrt(3)
    assert np.abs(w).max() <= bound
    torch = torch_or_none()
    if torch is None:
        return
    tm = torch.nn.Bilinear(3, 2, 4)
    _copy_params(m, tm)
    ar, br = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    out, ref = m(a, b), tm(ar, br)
    out.sum().backward()
    ref.sum().backward()
    assert_close(out, ref)
    assert_close(a.grad, ar.grad)
    assert_close(b.grad, br.grad)
    assert_close(m.weight.grad, tm.weight.grad)
    assert_close(m.bias.grad, tm.bias.grad)
    assert repr(m) == repr(tm)


ACT_MODULES = [("ReLU", {}), ("ReLU", {"inplace": True}), ("ReLU6", {}), ("LeakyReLU", {"negative_slope": 0.1}),
               ("ELU", {"alpha": 0.5}), ("GELU", {}), ("GELU", {"approximate": "tanh"}), ("SiLU", {}),
               ("Mish", {}), ("Sigmoid", {}), ("Tanh", {}), ("Hardtanh", {"min_val": -2.0, "max_val": 0.5}),
               ("Softplus", {"beta": 2.0, "threshold": 5.0}), ("Softmax", {"dim": 1}), ("LogSoftmax", {"dim": -1})]


@pytest.mark.parametrize("name,kw", ACT_MODULES)
def test_activation_modules(name, kw):
    x = np.random.default_rng(3).uniform(-4, 4, (3, 5))
    leaf = nr.tensor(x, requires_grad=True)
    m = getattr(nn, name)(**kw)
    out = m(leaf * 1.0)
    g = np.random.default_rng(4).standard_normal((3, 5))
    out.backward(nr.tensor(g))
    torch = torch_or_none()
    if torch is None:
        assert tuple(out.shape) == (3, 5)
        return
    tm = getattr(torch.nn, name)(**kw)
    xr = torch.tensor(x, requires_grad=True)
    ref = tm(xr * 1.0)
    ref.backward(torch.tensor(g))
    assert_close(out, ref)
    assert_close(leaf.grad, xr.grad)
    assert repr(m) == repr(tm)


def test_identity_flatten_unflatten():
    x = nr.randn(2, 3, 4, requires_grad=True)
    assert nn.Identity(3, foo=1)(x) is x
    y = nn.Flatten()(x)
    assert y.shape == (2, 12)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    z = nn.Unflatten(1, (3, 4))(y)
    assert z.shape == (2, 3, 4)
    z.sum().backward()
    assert_close(x.grad, np.ones((2, 3, 4), np.float32))
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Unflatten(1, (3, 4))) == "Unflatten(dim=1, unflattened_size=(3, 4))"
    with raises(TypeError, "unflattened_size"):
        nn.Unflatten(1, 5)
    with raises(ValueError, "max_val"):
        nn.Hardtanh(1.0, -1.0)


def test_mlp_trains_with_cross_entropy():
    """A two-layer MLP learns a separable problem: the modules compose into a training loop."""
    nr.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    l1, l2 = nn.Linear(4, 16), nn.Linear(16, 2)
    act, loss_fn = nn.ReLU(), nn.CrossEntropyLoss()
    params = list(l1.parameters()) + list(l2.parameters())
    xt, yt = nr.tensor(x), nr.tensor(y)
    for _ in range(100):
        loss = loss_fn(l2(act(l1(xt))), yt)
        for p in params:
            p.grad = None
        loss.backward()
        with nr.no_grad():
            for p in params:
                p.sub_(p.grad * 0.5)
    acc = (l2(act(l1(xt))).argmax(1) == yt).float().mean().item()
    assert acc > 0.95
