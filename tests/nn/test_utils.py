"""nn.utils: clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters."""
import math
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import assert_close, torch_mod  # noqa: E402,F401

import neurarust as nr  # noqa: E402
from neurarust import nn  # noqa: E402
from neurarust.nn.utils import (clip_grad_norm_, clip_grad_value_, get_total_norm,  # noqa: E402
                                parameters_to_vector, vector_to_parameters)

SHAPES = [(3, 4), (5,), (2, 2, 2)]


def _grads(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) * scale for s in SHAPES]


def _params(grads):
    params = []
    for g in grads:
        p = nn.Parameter(nr.zeros(*g.shape))
        p.grad = nr.tensor(g.copy())
        params.append(p)
    return params


def _reference_norm(grads, p):
    flat = np.concatenate([g.astype(np.float64).ravel() for g in grads])
    return np.abs(flat).max() if math.isinf(p) else (np.abs(flat) ** p).sum() ** (1 / p)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e4])
def test_clip_grad_norm_against_numpy(norm_type, max_norm):
    grads = _grads()
    params = _params(grads)
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    expected = _reference_norm(grads, norm_type)
    assert total.ndim == 0 and total.dtype == nr.float32
    assert_close(total, np.float32(expected))
    coef = min(max_norm / (expected + 1e-6), 1.0)
    for p, g in zip(params, grads):
        assert_close(p.grad, g * np.float32(coef))
    if coef < 1:
        assert_close(get_total_norm([p.grad for p in params], norm_type), np.float32(max_norm),
                     rtol=1e-4, atol=0)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_torch(torch_mod, norm_type):
    grads = _grads(1, scale=3.0)
    params = _params(grads)
    tparams = [torch_mod.zeros(g.shape, requires_grad=True) for g in grads]
    for tp, g in zip(tparams, grads):
        tp.grad = torch_mod.from_numpy(g.copy())
    ours = clip_grad_norm_(params, 1.0, norm_type)
    theirs = torch_mod.nn.utils.clip_grad_norm_(tparams, 1.0, norm_type)
    assert_close(ours, theirs)
    for p, tp in zip(params, tparams):
        assert_close(p.grad, tp.grad)


def test_clip_grad_norm_edge_cases():
    p = nn.Parameter(nr.ones(2))
    assert float(clip_grad_norm_([p], 1.0)) == 0.0  # no grads: norm 0
    p.grad = nr.tensor([3.0, 4.0])
    assert float(clip_grad_norm_(p, 10.0)) == 5.0  # a single tensor is accepted
    assert_close(p.grad, np.array([3.0, 4.0], np.float32))  # not clipped
    gen = (q for q in [p])
    assert float(clip_grad_norm_(gen, 1.0)) == 5.0  # generators are consumed once
    assert_close(p.grad, np.array([0.6, 0.8], np.float32), rtol=1e-5, atol=1e-6)
    q = nn.Parameter(nr.ones(2))
    q.grad = nr.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([q], 1.0, error_if_nonfinite=True)
    assert math.isnan(float(clip_grad_norm_([q], 1.0)))


def test_clip_grad_value():
    grads = _grads(2, scale=2.0)
    params = _params(grads)
    assert clip_grad_value_(params, 0.5) is None
    for p, g in zip(params, grads):
        assert_close(p.grad, np.clip(g, -0.5, 0.5))
    p = nn.Parameter(nr.ones(1))
    clip_grad_value_(p, 1.0)  # no grad: nothing to do
    assert p.grad is None


def test_parameters_to_vector_and_back():
    params = [nn.Parameter(nr.arange(12.0).reshape(3, 4)), nn.Parameter(nr.tensor([-1.0, -2.0]))]
    vec = parameters_to_vector(params)
    assert_close(vec.detach(), np.concatenate([np.arange(12.0), [-1.0, -2.0]]).astype(np.float32))
    vec.sum().backward()  # differentiable
    assert_close(params[0].grad, np.ones((3, 4), np.float32))
    new = nr.arange(14.0) * 10
    vector_to_parameters(new, params)
    assert params[0].shape == (3, 4) and params[1].shape == (2,)
    assert_close(params[1].detach(), np.array([120.0, 130.0], np.float32))
    assert isinstance(params[0], nn.Parameter) and params[0].requires_grad
    new[0] = -5.0  # the parameters view the vector, as in torch
    assert float(params[0][0, 0]) == -5.0
    with pytest.raises(TypeError, match="expected neurarust.Tensor"):
        vector_to_parameters([1.0], params)
    with pytest.raises(ValueError, match="expected a 1-D vector of 14 elements"):
        vector_to_parameters(nr.zeros(13), params)


def test_vector_roundtrip_matches_torch(torch_mod):
    shapes = [(2, 3), (4,), (1, 1, 2)]
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ours = parameters_to_vector([nr.tensor(v) for v in values])
    theirs = torch_mod.nn.utils.parameters_to_vector([torch_mod.from_numpy(v) for v in values])
    assert_close(ours, theirs)
