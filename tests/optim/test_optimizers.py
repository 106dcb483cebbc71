"""Optimizers: 20-step trajectories against NumPy references (always) and torch
(when importable), every option; state_dict round trips; param groups;
zero_grad; closures; the tensor-op fallback path; argument errors."""
import copy
import math
import warnings

import numpy as np
import pytest

import neurarust as nr
from neurarust.backends.cpu import CPUBackend
from neurarust.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

STEPS = 20
TOL = {np.float32: 1e-5, np.float64: 1e-10}

rng = np.random.default_rng(0)
X = rng.standard_normal((8, 4))
Y = rng.standard_normal((8, 3))
W0 = rng.standard_normal((4, 3)) * 0.5
B0 = rng.standard_normal(3) * 0.5


def _grads(w, b):
    """Gradients of mean((X @ w + b - Y)**2), in w's dtype."""
    x, y = X.astype(w.dtype), Y.astype(w.dtype)
    r = x @ w + b - y
    scale = w.dtype.type(2.0 / r.size)
    return (x.T @ r) * scale, r.sum(0) * scale


# ------------------------------------------------------------ NumPy references
def _ref_sgd(ps, gs, st, t, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
             maximize=False):
    for i, (p, g) in enumerate(zip(ps, gs)):
        g = -g if maximize else g
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            buf = g.copy() if t == 1 else st[i] * momentum + (1 - dampening) * g
            st[i] = buf
            g = g + momentum * buf if nesterov else buf
        p -= lr * g


def _ref_adam(ps, gs, st, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
              maximize=False, decoupled_weight_decay=False):
    b1, b2 = betas
    for i, (p, g) in enumerate(zip(ps, gs)):
        m, v, vmax = st.setdefault(i, [np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)])
        g = -g if maximize else g
        if decoupled_weight_decay:
            p *= 1 - lr * weight_decay
        elif weight_decay:
            g = g + weight_decay * p
        m += (1 - b1) * (g - m)
        v *= b2
        v += (1 - b2) * g * g
        if amsgrad:
            np.maximum(vmax, v, out=vmax)
        denom = np.sqrt(vmax if amsgrad else v) / math.sqrt(1 - b2 ** t) + eps
        p -= lr / (1 - b1 ** t) * (m / denom)


def _ref_adamw(ps, gs, st, t, weight_decay=1e-2, **kw):
    _ref_adam(ps, gs, st, t, weight_decay=weight_decay, decoupled_weight_decay=True, **kw)


def _ref_rmsprop(ps, gs, st, t, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, maximize=False):
    for i, (p, g) in enumerate(zip(ps, gs)):
        sq, ga, buf = st.setdefault(i, [np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)])
        g = -g if maximize else g
        if weight_decay:
            g = g + weight_decay * p
        sq *= alpha
        sq += (1 - alpha) * g * g
        if centered:
            ga += (1 - alpha) * (g - ga)
            avg = np.sqrt(sq - ga * ga) + eps
        else:
            avg = np.sqrt(sq) + eps
        if momentum:
            buf *= momentum
            buf += g / avg
            p -= lr * buf
        else:
            p -= lr * (g / avg)


def _ref_adagrad(ps, gs, st, t, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, maximize=False):
    for i, (p, g) in enumerate(zip(ps, gs)):
        s = st.setdefault(i, np.full_like(p, initial_accumulator_value))
        g = -g if maximize else g
        if weight_decay:
            g = g + weight_decay * p
        s += g * g
        p -= lr / (1 + (t - 1) * lr_decay) * (g / (np.sqrt(s) + eps))


CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.01, momentum=0.5, nesterov=True, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.05, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, maximize=True, weight_decay=0.05)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]
CLASSES = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW, "RMSprop": RMSprop, "Adagrad": Adagrad}
REFS = {"SGD": _ref_sgd, "Adam": _ref_adam, "AdamW": _ref_adamw, "RMSprop": _ref_rmsprop,
        "Adagrad": _ref_adagrad}
DTYPES = {np.float32: nr.float32, np.float64: nr.float64}


def _nr_params(dt):
    return [nr.tensor(W0.astype(dt), requires_grad=True), nr.tensor(B0.astype(dt), requires_grad=True)]


def _nr_loss(w, b):
    dt = w.detach().numpy().dtype
    x, y = nr.tensor(X.astype(dt)), nr.tensor(Y.astype(dt))
    return ((x @ w + b - y) ** 2).mean()


def _nr_run(opt, params, steps):
    for _ in range(steps):
        opt.zero_grad()
        _nr_loss(*params).backward()
        opt.step()
    return [p.detach().numpy().copy() for p in params]


def _ref_run(name, kw, dt, steps=STEPS):
    ps = [W0.astype(dt), B0.astype(dt)]
    st = {}
    for t in range(1, steps + 1):
        REFS[name](ps, _grads(*ps), st, t, **kw)
    return ps


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_matches_numpy_reference(name, kw, dt):
    params = _nr_params(dt)
    got = _nr_run(CLASSES[name](params, **kw), params, STEPS)
    want = _ref_run(name, kw, dt)
    assert not np.allclose(want[0], W0.astype(dt))  # the parameters really moved
    for g, w in zip(got, want):
        assert g.dtype == dt
        np.testing.assert_allclose(g, w, rtol=TOL[dt], atol=TOL[dt])


@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_matches_torch(name, kw, dt):
    torch = pytest.importorskip("torch")
    tparams = [torch.tensor(W0.astype(dt), requires_grad=True), torch.tensor(B0.astype(dt), requires_grad=True)]
    topt = getattr(torch.optim, name)(tparams, **kw)
    for _ in range(STEPS):
        topt.zero_grad()
        x, y = torch.tensor(X.astype(dt)), torch.tensor(Y.astype(dt))
        ((x @ tparams[0] + tparams[1] - y) ** 2).mean().backward()
        topt.step()
    params = _nr_params(dt)
    opt = CLASSES[name](params, **kw)
    got = _nr_run(opt, params, STEPS)
    for g, t in zip(got, tparams):
        np.testing.assert_allclose(g, t.detach().numpy(), rtol=TOL[dt], atol=TOL[dt])
    # Same state layout and group keys as torch.
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"][0].keys() == tsd["param_groups"][0].keys()
    assert {k: sorted(v) for k, v in sd["state"].items()} == {k: sorted(v) for k, v in tsd["state"].items()}
    for k, v in tsd["state"].items():
        for name_, tv in v.items():
            ours = sd["state"][k][name_]
            assert str(ours.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], name_
            if dt is np.float64:
                # (float32 buffers such as centered RMSprop's momentum amplify rounding
                # through sqrt(v - a*a); the float32 parameters are checked above.)
                np.testing.assert_allclose(ours.numpy(), tv.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_tensor_op_fallback_matches_reference(name, kw, monkeypatch):
    """The path for dtypes/devices without a fused kernel gives the same trajectory."""
    monkeypatch.setattr(CPUBackend, "_OPTIM_DTYPES", ())
    params = _nr_params(np.float64)
    got = _nr_run(CLASSES[name](params, **kw), params, STEPS)
    for g, w in zip(got, _ref_run(name, kw, np.float64)):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_state_dict_round_trip(name, kw):
    """Save after 10 steps, load into a fresh optimizer over copied params: same trajectory."""
    params = _nr_params(np.float32)
    opt = CLASSES[name](params, **kw)
    _nr_run(opt, params, 10)
    sd = copy.deepcopy(opt.state_dict())
    params2 = [p.detach().clone().requires_grad_() for p in params]
    opt2 = CLASSES[name](params2, lr=123.0)  # hyper-parameters come from the state dict
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    a = _nr_run(opt, params, 10)
    b = _nr_run(opt2, params2, 10)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(a[0], _ref_run(name, kw, np.float32)[0], rtol=1e-5, atol=1e-5)


def test_load_state_dict_casts_and_validates():
    p = nr.zeros(3, requires_grad=True)
    opt = Adam([p], lr=0.1)
    p.grad = nr.ones(3)
    opt.step()
    sd = opt.state_dict()
    q = nr.zeros(3, dtype=nr.float64, requires_grad=True)
    opt2 = Adam([q])
    opt2.load_state_dict(sd)
    st = opt2.state[q]
    assert st["exp_avg"].dtype == nr.float64 and st["step"].dtype == nr.float32
    assert st["exp_avg"] is not sd["state"][0]["exp_avg"]  # a copy
    with pytest.raises(ValueError, match="different number of parameter groups"):
        Adam([{"params": [q]}, {"params": [nr.zeros(1, requires_grad=True)]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        Adam([q, nr.zeros(1, requires_grad=True)]).load_state_dict(sd)


def test_param_groups_and_add_param_group():
    a, b, c = (nr.ones(2, requires_grad=True) for _ in range(3))
    opt = SGD([{"params": [a]}, {"params": b, "lr": 1.0}], lr=0.1, momentum=0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0]
    assert opt.param_groups[1]["momentum"] == 0.5
    opt.add_param_group({"params": [c], "weight_decay": 0.1})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["weight_decay"] == 0.1
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    for p in (a, b, c):
        p.grad = nr.ones(2)
    opt.step()
    assert a.tolist() == [pytest.approx(0.9, rel=1e-7)] * 2 and b.tolist() == [0.0, 0.0]
    assert c.tolist() == pytest.approx([1 - 0.1 * 1.1] * 2)
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1], [2]]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        SGD([a, a])
    assert "duplicate parameters" in str(w[0].message)


def test_zero_grad_and_skips_params_without_grad():
    a, b = nr.ones(2, requires_grad=True), nr.ones(2, requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    (a * 2).sum().backward()
    opt.step()
    assert b.tolist() == [1.0, 1.0] and b not in opt.state
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert a.grad is None


def test_closure_and_version_counter():
    w = nr.tensor([3.0], requires_grad=True)
    opt = SGD([w], lr=0.1)
    calls = []

    def closure():
        calls.append(nr.is_grad_enabled())
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    v0 = w._version
    with nr.no_grad():  # closures run with grad enabled even so
        loss = opt.step(closure)
    assert calls == [True] and loss.item() == 9.0
    assert w.tolist() == [pytest.approx(2.4)] and w._version > v0


def test_non_contiguous_and_view_params():
    base = nr.tensor(W0.T.copy(), requires_grad=False)
    w = base.t().detach().requires_grad_()  # non-contiguous leaf
    assert not w.is_contiguous()
    opt = Adam([w, nr.tensor(B0, requires_grad=True)], lr=0.05, amsgrad=True)
    params = opt.param_groups[0]["params"]
    got = _nr_run(opt, params, STEPS)
    want = _ref_run("Adam", dict(lr=0.05, amsgrad=True), np.float64)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(base.numpy().T, want[0], rtol=1e-10, atol=1e-10)  # written in place


def test_repr_and_defaults():
    opt = SGD([nr.zeros(1, requires_grad=True)])
    assert opt.defaults["lr"] == 1e-3
    assert repr(opt).splitlines()[:3] == ["SGD (", "Parameter Group 0", "    dampening: 0"]
    assert Adam([nr.zeros(1, requires_grad=True)]).defaults["betas"] == (0.9, 0.999)
    assert AdamW([nr.zeros(1, requires_grad=True)]).defaults["weight_decay"] == 1e-2
    assert RMSprop([nr.zeros(1, requires_grad=True)]).defaults["lr"] == 1e-2
    assert Adagrad([nr.zeros(1, requires_grad=True)]).defaults["eps"] == 1e-10


@pytest.mark.parametrize("make,msg", [
    (lambda p: SGD(p, lr=-1), "Invalid learning rate: -1"),
    (lambda p: SGD(p, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: SGD(p, nesterov=True), "Nesterov momentum requires"),
    (lambda p: Adam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: Adam(p, eps=-1), "Invalid epsilon value: -1"),
    (lambda p: AdamW(p, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: RMSprop(p, alpha=-1), "Invalid alpha value: -1"),
    (lambda p: Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
])
def test_invalid_hyper_parameters(make, msg):
    with pytest.raises(ValueError, match=msg):
        make([nr.zeros(1, requires_grad=True)])


def test_invalid_params():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        SGD(nr.zeros(1, requires_grad=True))
    x = nr.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([x * 2])
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        Optimizer([x], {"lr": __import__("neurarust.optim.optimizer", fromlist=["required"]).required})
