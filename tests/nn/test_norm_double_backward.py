"""Double backward (create_graph=True) through batch_norm, layer_norm and group_norm.

Second derivatives are checked three independent ways: ``gradgradcheck``
(float64 finite differences of the first derivative), central differences of
a gradient penalty whose first derivative comes from the fused kernels, and
torch's ``autograd.grad(..., create_graph=True)``.
"""
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import torch_or_skip as _torch  # noqa: E402

import neurarust as nr  # noqa: E402
from neurarust import nn  # noqa: E402
from neurarust.nn import functional as F  # noqa: E402
from neurarust.testing import assert_close  # noqa: E402

TOL = dict(rtol=1e-7, atol=1e-9)
EPS = 1e-5


def _array(seed, shape, positive=False):
    values = np.random.default_rng(seed).standard_normal(shape)
    return np.abs(values) + 0.5 if positive else values


# (kind, input shape, option): option is the normalized_shape of layer norm and num_groups of group norm.
SHAPES = [
    ("batch_train", (4, 3), None), ("batch_train", (3, 2, 3), None), ("batch_train", (2, 2, 2, 3), None),
    ("batch_train", (2, 2, 1, 2, 2), None),
    ("batch_eval", (4, 3), None), ("batch_eval", (3, 2, 3), None), ("batch_eval", (2, 2, 2, 3), None),
    ("batch_eval", (2, 2, 1, 2, 2), None),
    ("layer", (3, 4), (4,)), ("layer", (2, 3, 2), (3, 2)), ("layer", (2, 5), 5),
    ("layer", (2, 2, 3), (2, 2, 3)),
    ("group", (2, 4, 3), 2), ("group", (2, 4), 4), ("group", (2, 6, 2, 1), 3), ("group", (3, 2, 2), 1),
]
AFFINE = ["weight_and_bias", "weight_only", "none"]
CASES = [pytest.param(kind, shape, option, affine, id=f"{kind}-{'x'.join(map(str, shape))}-{affine}")
         for kind, shape, option in SHAPES for affine in AFFINE]


def _norm(lib, kind, shape, option):
    """``f(x, weight, bias)`` of one norm configuration in ``lib`` (neurarust or torch)."""
    functional = lib.nn.functional
    if kind.startswith("batch"):
        c = shape[1]
        mean, var = (lib.tensor(_array(7, c)), lib.tensor(_array(8, c, positive=True)))
        training = kind == "batch_train"
        return lambda x, w, b: functional.batch_norm(x, mean, var, w, b, training=training, eps=EPS)
    if kind == "layer":
        normalized = (option,) if isinstance(option, int) and lib is not nr else option
        return lambda x, w, b: functional.layer_norm(x, normalized, w, b, eps=EPS)
    return lambda x, w, b: functional.group_norm(x, option, w, b, eps=EPS)


def _arrays(kind, shape, option, affine):
    """Input, weight and bias arrays (None where the option leaves a parameter out)."""
    if kind == "layer":
        param_shape = (option,) if isinstance(option, int) else option
    else:
        param_shape = (shape[1],)
    x = _array(1, shape) * 2 + 1
    weight = None if affine == "none" else _array(2, param_shape)
    bias = _array(3, param_shape) if affine == "weight_and_bias" else None
    return x, weight, bias


def _leaves(lib, arrays):
    return [None if a is None else lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]


def _penalty_grads(lib, f, leaves, upstream, create_graph):
    """First gradients of ``sum(f(...) * upstream)`` and the penalty ``sum of their squares``."""
    used = [t for t in leaves if t is not None]
    first = lib.autograd.grad((f(*leaves) * upstream).sum(), used, create_graph=create_graph)
    return first, sum((g * g).sum() for g in first)


def _numeric_penalty_grad(f, arrays, upstream, step=1e-6):
    """Central differences of the penalty; its first gradients come from the fused (plain) backward."""
    def penalty(values):
        leaves = _leaves(nr, values)
        return float(_penalty_grads(nr, f, leaves, nr.tensor(upstream), False)[1])

    grads = []
    for i, a in enumerate(arrays):
        if a is None:
            continue
        grad = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            values = [None if v is None else v.copy() for v in arrays]
            values[i][idx] += step
            up = penalty(values)
            values[i][idx] -= 2 * step
            grad[idx] = (up - penalty(values)) / (2 * step)
        grads.append(grad)
    return grads


@pytest.mark.parametrize("kind,shape,option,affine", CASES)
def test_gradgradcheck(kind, shape, option, affine):
    f = _norm(nr, kind, shape, option)
    leaves = _leaves(nr, _arrays(kind, shape, option, affine))
    used = [t for t in leaves if t is not None]

    def fn(*inputs):
        it = iter(inputs)
        return f(*[None if t is None else next(it) for t in leaves])

    assert nr.autograd.gradcheck(fn, used)
    assert nr.autograd.gradgradcheck(fn, used)


@pytest.mark.parametrize("kind,shape,option,affine", CASES)
def test_second_derivative_matches_torch_and_finite_differences(kind, shape, option, affine):
    torch = _torch()
    arrays = _arrays(kind, shape, option, affine)
    upstream = _array(4, shape)
    f = _norm(nr, kind, shape, option)
    leaves = _leaves(nr, arrays)
    used = [t for t in leaves if t is not None]
    first, penalty = _penalty_grads(nr, f, leaves, nr.tensor(upstream), True)
    if penalty.requires_grad:
        second = nr.autograd.grad(penalty, used, allow_unused=True, materialize_grads=True)
    else:
        # Eval batch norm without affine: gx = upstream * rstd depends on no leaf (torch still
        # records a node, whose derivative is zero).
        assert (kind, affine) == ("batch_eval", "none")
        second = tuple(nr.zeros_like(t) for t in used)

    t_leaves = _leaves(torch, arrays)
    t_used = [t for t in t_leaves if t is not None]
    t_first, t_penalty = _penalty_grads(torch, _norm(torch, kind, shape, option), t_leaves,
                                        torch.tensor(upstream), True)
    t_second = torch.autograd.grad(t_penalty, t_used, allow_unused=True, materialize_grads=True)
    for ours, theirs in zip(first + second, t_first + t_second):
        assert_close(ours.detach().numpy(), theirs.detach().numpy(), **TOL)
    for ours, numeric in zip(second, _numeric_penalty_grad(f, arrays, upstream)):
        assert_close(ours.numpy(), numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("norm,param_shape", [
    (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (3,)),
    (lambda x, w, b: F.layer_norm(x, (3, 2), w, b), (3, 2)),
    (lambda x, w, b: F.group_norm(x, 3, w, b), (3,)),
], ids=["batch", "layer", "group"])
def test_graph_gradients_equal_kernel_gradients_in_float32(norm, param_shape):
    arrays = [_array(1, (4, 3, 2)) * 3 - 1, _array(2, param_shape), _array(3, param_shape)]
    upstream = nr.tensor(_array(4, (4, 3, 2)).astype(np.float32))
    results = []
    for create_graph in (False, True):
        leaves = [nr.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
        grads = nr.autograd.grad((norm(*leaves) * upstream).sum(), leaves, create_graph=create_graph)
        # The bias gradient is sum(upstream): a constant, so only the other two record a graph.
        assert grads[0].requires_grad is create_graph and grads[1].requires_grad is create_graph
        results.append([g.detach().numpy() for g in grads])
    for kernel, graph in zip(*results):
        assert graph.dtype == np.float32
        assert_close(graph, kernel, rtol=1e-5, atol=1e-5)


def test_eval_batch_norm_module_second_derivative():
    torch = _torch()
    x, w, b = _array(1, (2, 3, 2, 2)), _array(2, 3), _array(3, 3)
    mean, var = _array(4, 3), _array(5, 3, positive=True)
    upstream = _array(6, x.shape)
    results = []
    for lib, module in ((nr, nn.BatchNorm2d(3)), (torch, torch.nn.BatchNorm2d(3))):
        module = module.double().eval()
        with lib.no_grad():
            for name, value in (("weight", w), ("bias", b), ("running_mean", mean), ("running_var", var)):
                getattr(module, name).copy_(lib.tensor(value))
        xt = lib.tensor(x, requires_grad=True)
        (gx,) = lib.autograd.grad((module(xt) * lib.tensor(upstream)).sum(), xt, create_graph=True)
        second = lib.autograd.grad((gx ** 2).sum(), (xt, module.weight, module.bias),
                                   allow_unused=True, materialize_grads=True)
        results.append([t.detach().numpy() for t in (gx,) + tuple(second)])
        assert_close(module.running_mean.numpy(), mean, rtol=0, atol=0)
    # With running statistics the norm is affine in x: gx = upstream * w * rstd.
    rstd = 1 / np.sqrt(var + EPS)[None, :, None, None]
    gx_ref = upstream * w[None, :, None, None] * rstd
    d_weight_ref = 2 * (upstream ** 2 * rstd ** 2).sum((0, 2, 3)) * w
    expected = [gx_ref, np.zeros_like(x), d_weight_ref, np.zeros_like(b)]
    for ours, theirs, ref in zip(*results, expected):
        assert_close(ours, theirs, **TOL)
        assert_close(ours, ref, **TOL)


def _critic(lib):
    lib_nn = lib.nn
    return lib_nn.Sequential(lib_nn.Linear(3, 5), lib_nn.LayerNorm(5), lib_nn.Tanh(),
                             lib_nn.Linear(5, 1)).double()


def _gradient_penalty_loss(lib, critic, real, fake, alpha, create_graph=True):
    """WGAN-GP critic loss: Wasserstein estimate plus 10 * (||d critic / d interpolate|| - 1)^2."""
    mixed = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(True)
    (g,) = lib.autograd.grad(critic(mixed).sum(), mixed, create_graph=create_graph)
    penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
    return critic(fake).mean() - critic(real).mean() + 10 * penalty


def test_wgan_gp_step_with_layer_norm_matches_torch():
    torch = _torch()
    real, fake, alpha = _array(1, (6, 3)), _array(2, (6, 3)) + 1, np.abs(_array(3, (6, 1))) % 1
    t_critic = _critic(torch)
    critic = _critic(nr)
    state = [p.detach().numpy() for p in t_critic.parameters()]
    with nr.no_grad():
        for p, value in zip(critic.parameters(), state):
            p.copy_(nr.tensor(value))
    batch = (real, fake, alpha)
    loss = _gradient_penalty_loss(nr, critic, *map(nr.tensor, batch))
    loss.backward()
    t_loss = _gradient_penalty_loss(torch, t_critic, *map(torch.tensor, batch))
    t_loss.backward()
    assert_close(float(loss), float(t_loss.detach()), **TOL)
    for p, tp in zip(critic.parameters(), t_critic.parameters()):
        assert_close(p.grad.numpy(), tp.grad.numpy(), **TOL)

    # Independent check: central differences of the loss in the LayerNorm weight, its inner
    # gradient computed without create_graph (so by the fused kernel, not the graph path).
    ln_weight = critic[1].weight
    numeric = np.zeros(5)
    step = 1e-6
    for i in range(5):
        values = []
        for sign in (1, -1):
            with nr.no_grad():
                ln_weight[i] += sign * step
            values.append(float(_gradient_penalty_loss(nr, critic, *map(nr.tensor, batch), False)))
            with nr.no_grad():
                ln_weight[i] -= sign * step
        numeric[i] = (values[0] - values[1]) / (2 * step)
    assert_close(ln_weight.grad.numpy(), numeric, rtol=1e-5, atol=1e-6)
