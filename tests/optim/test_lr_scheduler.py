"""Learning-rate schedulers: lr sequences against torch (100 steps, 1e-12 relative),
against closed-form references (always), state_dict round trips and errors."""
import math

import pytest

import neurarust as nr
from neurarust.optim import SGD, Adam
from neurarust.optim import lr_scheduler as nls

STEPS = 100


def _close(a, b, rel=1e-12):
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert math.isclose(x, y, rel_tol=rel, abs_tol=1e-300), f"step {i}: {x} != {y}"


# Each case: (name, optimizer kind, kwargs). The same constructor names exist in torch.
CASES = [
    ("StepLR", "sgd", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", "sgd", dict(milestones=[10, 30, 30, 75], gamma=0.3)),
    ("ExponentialLR", "sgd", dict(gamma=0.97)),
    ("CosineAnnealingLR", "sgd", dict(T_max=30, eta_min=0.001)),
    ("CosineAnnealingLR", "sgd", dict(T_max=100)),
    ("CosineAnnealingWarmRestarts", "sgd", dict(T_0=10, T_mult=2, eta_min=1e-4)),
    ("CosineAnnealingWarmRestarts", "sgd", dict(T_0=7)),
    ("LinearLR", "sgd", dict(start_factor=0.25, end_factor=0.9, total_iters=40)),
    ("LinearLR", "sgd", dict()),
    ("LambdaLR", "sgd", dict(lr_lambda=lambda e: 0.95 ** e + 0.01 * (e % 3))),
    ("OneCycleLR", "sgd", dict(max_lr=0.5, total_steps=STEPS + 1)),
    ("OneCycleLR", "sgd", dict(max_lr=[0.5, 0.2], epochs=11, steps_per_epoch=10, anneal_strategy="linear")),
    ("OneCycleLR", "adam", dict(max_lr=0.01, total_steps=STEPS + 1, three_phase=True)),
    ("OneCycleLR", "sgd", dict(max_lr=0.5, total_steps=STEPS + 1, cycle_momentum=False, pct_start=0.5)),
]


def _nr_opt(kind, ngroups=2):
    groups = [{"params": [nr.zeros(2, requires_grad=True)], "lr": 0.1 * (i + 1)} for i in range(ngroups)]
    if kind == "adam":
        return Adam(groups, lr=0.1)
    return SGD(groups, lr=0.1, momentum=0.9)


def _torch_opt(torch, kind, ngroups=2):
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": 0.1 * (i + 1)} for i in range(ngroups)]
    if kind == "adam":
        return torch.optim.Adam(groups, lr=0.1)
    return torch.optim.SGD(groups, lr=0.1, momentum=0.9)


def _run(sched, opt, steps, momentum=False):
    lrs, moms = [], []
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.extend(sched.get_last_lr())
        if momentum:
            for g in opt.param_groups:
                moms.append(g["betas"][0] if "betas" in g else g["momentum"])
    return lrs, moms


@pytest.mark.parametrize("name,kind,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch(name, kind, kwargs):
    torch = pytest.importorskip("torch")
    opt, topt = _nr_opt(kind), _torch_opt(torch, kind)
    s = getattr(nls, name)(opt, **kwargs)
    ts = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    _close(s.get_last_lr(), ts.get_last_lr())
    lrs, moms = _run(s, opt, STEPS, momentum=True)
    tlrs, tmoms = _run(ts, topt, STEPS, momentum=True)
    _close(lrs, tlrs)
    _close(moms, tmoms)
    assert s.last_epoch == ts.last_epoch


@pytest.mark.parametrize("name,kind,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_state_dict_round_trip(name, kind, kwargs):
    """Save mid-way, load into a fresh scheduler over a fresh optimizer, continue: same lrs."""
    opt = _nr_opt(kind)
    s = getattr(nls, name)(opt, **kwargs)
    _run(s, opt, 40)
    sd_opt, sd_s = opt.state_dict(), s.state_dict()
    rest, _ = _run(s, opt, STEPS - 40)

    opt2 = _nr_opt(kind)
    s2 = getattr(nls, name)(opt2, **kwargs)
    opt2.load_state_dict(sd_opt)
    s2.load_state_dict(sd_s)
    rest2, _ = _run(s2, opt2, STEPS - 40)
    _close(rest, rest2, rel=0)


def test_closed_forms_without_torch():
    """Recursive sequences against their closed forms (no torch needed)."""
    base = 0.1
    opt = _nr_opt("sgd", 1)
    s = nls.StepLR(opt, step_size=7, gamma=0.5)
    lrs, _ = _run(s, opt, STEPS)
    _close(lrs, [base * 0.5 ** ((e + 1) // 7) for e in range(STEPS)])

    opt = _nr_opt("sgd", 1)
    s = nls.MultiStepLR(opt, milestones=[10, 30, 30], gamma=0.3)
    lrs, _ = _run(s, opt, STEPS)
    _close(lrs, [base * 0.3 ** ((e + 1 >= 10) + 2 * (e + 1 >= 30)) for e in range(STEPS)])

    opt = _nr_opt("sgd", 1)
    s = nls.ExponentialLR(opt, gamma=0.97)
    lrs, _ = _run(s, opt, STEPS)
    _close(lrs, [base * 0.97 ** (e + 1) for e in range(STEPS)], rel=1e-13)

    opt = _nr_opt("sgd", 1)
    s = nls.CosineAnnealingLR(opt, T_max=30, eta_min=0.001)
    lrs, _ = _run(s, opt, STEPS)
    want = [0.001 + (base - 0.001) * (1 + math.cos(math.pi * (e + 1) / 30)) / 2 for e in range(STEPS)]
    _close(lrs, want, rel=1e-10)

    opt = _nr_opt("sgd", 1)
    s = nls.LinearLR(opt, start_factor=0.25, end_factor=0.9, total_iters=40)
    lrs, _ = _run(s, opt, STEPS)
    _close(lrs, [base * (0.25 + 0.65 * min(40, e + 1) / 40) for e in range(STEPS)], rel=1e-12)

    opt = _nr_opt("sgd", 1)
    s = nls.CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2)
    lrs, _ = _run(s, opt, 69)
    # Epochs 1..69: cycles of 10, 20, 40 epochs.
    want = []
    for e in range(1, 70):
        start, length = (0, 10) if e < 10 else ((10, 20) if e < 30 else (30, 40))
        want.append(base * (1 + math.cos(math.pi * (e - start) / length)) / 2)
    _close(lrs, want, rel=1e-12)


def test_one_cycle_shape_without_torch():
    opt = _nr_opt("sgd", 1)
    s = nls.OneCycleLR(opt, max_lr=1.0, total_steps=100, anneal_strategy="linear")
    assert s.get_last_lr() == [1.0 / 25]
    lrs, _ = _run(s, opt, 99)
    peak = lrs.index(max(lrs))
    assert peak == 28 and lrs[peak] == 1.0  # step 29 == pct_start * 100 - 1
    lo, hi = 1.0 / 25 / 1e4, 1.0
    assert lrs[-1] == (lo - hi) * 1.0 + hi  # the linear anneal at pct = 1, as torch evaluates it
    assert opt.param_groups[0]["momentum"] == 0.95
    with pytest.raises(ValueError, match="Tried to step 101 times"):
        s.step(); s.step()


def test_reduce_on_plateau_modes():
    opt = _nr_opt("sgd", 1)
    s = nls.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=2, cooldown=1, min_lr=0.02)
    seen = []
    for metric in [1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3]:
        s.step(metric)
        seen.append(s.get_last_lr()[0])
    assert seen == [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025]
    s2 = nls.ReduceLROnPlateau(_nr_opt("sgd", 1), threshold_mode="abs", threshold=0.5, patience=0)
    s2.step(1.0)
    s2.step(0.6)  # not better by 0.5
    assert s2.get_last_lr() == [pytest.approx(0.01)]


@pytest.mark.parametrize("metrics", [[5, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2] * 5])
@pytest.mark.parametrize("kw", [dict(patience=2, cooldown=1), dict(mode="max", threshold_mode="abs",
                                                                    threshold=0.3, patience=1, min_lr=[0.003, 0.01])])
def test_reduce_on_plateau_matches_torch(metrics, kw):
    torch = pytest.importorskip("torch")
    opt, topt = _nr_opt("sgd"), _torch_opt(torch, "sgd")
    s, ts = nls.ReduceLROnPlateau(opt, **kw), torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    a, b = [], []
    for i, m in enumerate(metrics):
        s.step(m)
        ts.step(m)
        a.extend(s.get_last_lr())
        b.extend(ts.get_last_lr())
        if i == 40:  # round trip mid-way
            s2 = nls.ReduceLROnPlateau(opt, **kw)
            s2.load_state_dict(s.state_dict())
            s = s2
    _close(a, b)


def _sequential(lib, opt):
    warm = lib.LinearLR(opt, start_factor=0.1, total_iters=10)
    cos = lib.CosineAnnealingLR(opt, T_max=40, eta_min=1e-4)
    exp = lib.ExponentialLR(opt, gamma=0.9)
    return lib.SequentialLR(opt, [warm, cos, exp], milestones=[10, 50])


def test_sequential_matches_torch():
    torch = pytest.importorskip("torch")
    opt, topt = _nr_opt("sgd"), _torch_opt(torch, "sgd")
    s, ts = _sequential(nls, opt), _sequential(torch.optim.lr_scheduler, topt)
    _close(s.get_last_lr(), ts.get_last_lr())
    _close(_run(s, opt, STEPS)[0], _run(ts, topt, STEPS)[0])


def test_sequential_round_trip():
    opt = _nr_opt("sgd")
    s = _sequential(nls, opt)
    _run(s, opt, 30)
    sd_o, sd_s = opt.state_dict(), s.state_dict()
    rest = _run(s, opt, 40)[0]
    opt2 = _nr_opt("sgd")
    s2 = _sequential(nls, opt2)
    opt2.load_state_dict(sd_o)
    s2.load_state_dict(sd_s)
    _close(rest, _run(s2, opt2, 40)[0], rel=0)


def test_warm_restarts_explicit_epoch_matches_torch():
    torch = pytest.importorskip("torch")
    opt, topt = _nr_opt("sgd"), _torch_opt(torch, "sgd")
    s = nls.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.01)
    ts = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=3, T_mult=2, eta_min=0.01)
    a, b = [], []
    for i in range(60):
        epoch = i * 0.7
        s.step(epoch)
        ts.step(epoch)
        a.extend(s.get_last_lr())
        b.extend(ts.get_last_lr())
    _close(a, b)


def test_errors():
    opt = _nr_opt("sgd", 1)
    with pytest.raises(KeyError, match="initial_lr"):
        nls.StepLR(_nr_opt("sgd", 1), step_size=2, last_epoch=3)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        nls.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        nls.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas"):
        nls.LambdaLR(opt, [lambda e: 1.0, lambda e: 1.0])
    with pytest.raises(ValueError, match="total_steps OR"):
        nls.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="anneal_strategy"):
        nls.OneCycleLR(opt, max_lr=1.0, total_steps=5, anneal_strategy="exp")
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        nls.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode foo is unknown"):
        nls.ReduceLROnPlateau(opt, mode="foo")
    with pytest.raises(TypeError, match="is not an Optimizer"):
        nls.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="one more than"):
        nls.SequentialLR(opt, [nls.ExponentialLR(opt, 0.9)], milestones=[3])
    from neurarust.optim import Adagrad
    with pytest.raises(ValueError, match="momentum or beta1"):
        nls.OneCycleLR(Adagrad([nr.zeros(1, requires_grad=True)]), max_lr=1.0, total_steps=5)
