"""Fused optimizer kernels: every flag combination against NumPy, contiguous and
strided operands, float32/float64, thread-count invariance, argument errors."""
import itertools
import math

import numpy as np
import pytest

from neurarust._core import config
from neurarust._core import optim_kernels as ok

TOL = {np.float32: 2e-6, np.float64: 1e-13}


def _arrays(dt, shape, n, seed=0, positive=()):
    r = np.random.default_rng(seed)
    out = [r.standard_normal(shape).astype(dt) for _ in range(n)]
    for i in positive:
        out[i] = np.abs(out[i]) + dt(0.1)
    return out


def _layouts(dt, shape, kind, seed=0, positive=()):
    """Five operands (param, grad, three buffers) in one of several layouts."""
    base = _arrays(dt, shape, 5, seed, positive)
    if kind == "contiguous":
        return base
    if kind == "transposed":  # every operand non-contiguous
        return [np.ascontiguousarray(a.T).T for a in base]
    if kind == "mixed":  # param sliced, grad broadcast (0 strides), buffers reversed
        p = np.zeros((shape[0], shape[1] * 2), dt)
        p[:, ::2] = base[0]
        g = np.broadcast_to(base[1][:1], shape)
        bufs = [np.ascontiguousarray(b[::-1])[::-1] for b in base[2:]]
        return [p[:, ::2], g] + bufs
    raise ValueError(kind)


def _check(got, want, dt):
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=TOL[dt], atol=TOL[dt])


LAYOUTS = ["contiguous", "transposed", "mixed"]
DTS = [np.float32, np.float64]
SHAPE = (37, 45)  # odd sizes: vector tails


@pytest.mark.parametrize("dt", DTS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("wd,has_buf,first,nesterov,maximize",
                         [c for c in itertools.product([0.0, 0.1], [False, True], [False, True],
                                                       [False, True], [False, True])
                          if c[1] or not (c[2] or c[3])])
def test_sgd(dt, layout, wd, has_buf, first, nesterov, maximize):
    p, g, b = _layouts(dt, SHAPE, layout)[:3]
    P, G, B = (np.array(a, dtype=np.float64) for a in (p, g, b))
    lr, mom, damp = 0.1, 0.9, 0.2
    ok.sgd_step(p, g, b if has_buf else None, lr, mom, damp, wd, nesterov, maximize, first)
    G = -G if maximize else G
    G = G + wd * P
    if has_buf:
        B = G.copy() if first else B * mom + (1 - damp) * G
        G = G + mom * B if nesterov else B
    _check([p] + ([b] if has_buf else []), [P - lr * G] + ([B] if has_buf else []), dt)


@pytest.mark.parametrize("dt", DTS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("wd,decoupled,amsgrad,maximize",
                         list(itertools.product([0.0, 0.1], [False, True], [False, True], [False, True])))
def test_adam(dt, layout, wd, decoupled, amsgrad, maximize):
    p, g, m, v, vmax = _layouts(dt, SHAPE, layout, positive=(3, 4))
    P, G, M, V, VM = (np.array(a, dtype=np.float64) for a in (p, g, m, v, vmax))
    lr, b1, b2, eps, step = 0.01, 0.9, 0.99, 1e-8, 3
    step_size, bc2 = lr / (1 - b1 ** step), math.sqrt(1 - b2 ** step)
    ok.adam_step(p, g, m, v, vmax if amsgrad else None, lr, b1, b2, eps, wd, decoupled, step_size,
                 bc2, maximize)
    G = -G if maximize else G
    if decoupled:
        P = P * (1 - lr * wd)
    else:
        G = G + wd * P
    M = M + (1 - b1) * (G - M)
    V = b2 * V + (1 - b2) * G * G
    VM = np.maximum(VM, V)
    P = P - step_size * M / (np.sqrt(VM if amsgrad else V) / bc2 + eps)
    _check([p, m, v] + ([vmax] if amsgrad else []), [P, M, V] + ([VM] if amsgrad else []), dt)


@pytest.mark.parametrize("dt", DTS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("wd,centered,momentum,maximize",
                         list(itertools.product([0.0, 0.1], [False, True], [0.0, 0.9], [False, True])))
def test_rmsprop(dt, layout, wd, centered, momentum, maximize):
    p, g, sq, ga, b = _layouts(dt, SHAPE, layout, positive=(2,))
    ga *= dt(0.1)  # keeps sq - ga*ga well away from 0
    P, G, SQ, GA, B = (np.array(a, dtype=np.float64) for a in (p, g, sq, ga, b))
    lr, alpha, eps = 0.01, 0.9, 1e-8
    ok.rmsprop_step(p, g, sq, ga if centered else None, b if momentum else None, lr, alpha, eps, wd,
                    momentum, maximize)
    G = -G if maximize else G
    G = G + wd * P
    SQ = alpha * SQ + (1 - alpha) * G * G
    GA = GA + (1 - alpha) * (G - GA)
    avg = np.sqrt(SQ - GA * GA if centered else SQ) + eps
    B = momentum * B + G / avg
    P = P - lr * (B if momentum else G / avg)
    want = [P, SQ] + ([GA] if centered else []) + ([B] if momentum else [])
    _check([p, sq] + ([ga] if centered else []) + ([b] if momentum else []), want, dt)


@pytest.mark.parametrize("dt", DTS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("wd,maximize", list(itertools.product([0.0, 0.1], [False, True])))
def test_adagrad(dt, layout, wd, maximize):
    p, g, s = _layouts(dt, SHAPE, layout, positive=(2,))[:3]
    P, G, S = (np.array(a, dtype=np.float64) for a in (p, g, s))
    clr, eps = 0.05, 1e-10
    ok.adagrad_step(p, g, s, clr, wd, eps, maximize)
    G = -G if maximize else G
    G = G + wd * P
    S = S + G * G
    _check([p, s], [P - clr * G / (np.sqrt(S) + eps), S], dt)


def test_untouched_memory_and_empty():
    # A strided param must leave the elements between its own untouched.
    p = np.zeros((4, 6), np.float32)
    view = p[:, ::2]
    ok.sgd_step(view, np.ones_like(view), None, 1.0, 0, 0, 0, False, False, False)
    assert (p[:, ::2] == -1).all() and (p[:, 1::2] == 0).all()
    e = np.zeros((0, 3), np.float64)
    ok.adam_step(e, e.copy(), e.copy(), e.copy(), None, 0.1, 0.9, 0.9, 1e-8, 0, False, 1, 1, False)


@pytest.mark.parametrize("dt", DTS)
def test_large_and_thread_invariant(dt):
    """Above the threading grain, results do not depend on the thread count."""
    saved = config.get_num_threads()
    outs = []
    try:
        for threads in (1, 2):
            config.set_num_threads(threads)
            p, g, m, v = _arrays(dt, (300_001,), 4, seed=3, positive=(3,))
            ok.adam_step(p, g, m, v, None, 0.01, 0.9, 0.999, 1e-8, 0.0, False, 0.1, 0.5, False)
            outs.append((p, m, v))
    finally:
        config.set_num_threads(saved)
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


def test_errors():
    p = np.zeros(4, np.float32)
    g = np.ones(4, np.float32)
    with pytest.raises(TypeError, match="sgd_step: param must be a native-order float32 or float64"):
        ok.sgd_step(np.zeros(4, np.int64), np.zeros(4, np.int64), None, 0.1, 0, 0, 0, False, False, False)
    with pytest.raises(TypeError, match="grad must have the param's dtype float32, got float64"):
        ok.sgd_step(p, g.astype(np.float64), None, 0.1, 0, 0, 0, False, False, False)
    with pytest.raises(ValueError, match=r"grad of shape \(3,\) does not match the param's shape \(4,\)"):
        ok.sgd_step(p, g[:3], None, 0.1, 0, 0, 0, False, False, False)
    with pytest.raises(TypeError, match="momentum_buffer must be a numpy array, got list"):
        ok.sgd_step(p, g, [0.0] * 4, 0.1, 0.9, 0, 0, False, False, False)
    ro = np.zeros(4, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="param is read-only"):
        ok.sgd_step(ro, g, None, 0.1, 0, 0, 0, False, False, False)
    with pytest.raises(ValueError, match="exp_avg and exp_avg_sq share memory"):
        m = np.zeros(4, np.float32)
        ok.adam_step(p, g, m, m, None, 0.1, 0.9, 0.9, 1e-8, 0, False, 1.0, 1.0, False)
    with pytest.raises(ValueError, match="param and grad share memory"):
        big = np.zeros(8, np.float32)
        ok.sgd_step(big[:4], big[2:6], None, 0.1, 0, 0, 0, False, False, False)
    with pytest.raises(ValueError, match="exp_avg and exp_avg_sq are required"):
        ok.adam_step(p, g, None, np.zeros(4, np.float32), None, 0.1, 0.9, 0.9, 1e-8, 0, False, 1, 1, False)
    with pytest.raises(ValueError, match="bias_correction2_sqrt must be > 0"):
        ok.adam_step(p, g, np.zeros(4, np.float32), np.zeros(4, np.float32), None, 0.1, 0.9, 0.9, 1e-8,
                     0, False, 1, 0.0, False)
    with pytest.raises(ValueError, match="square_avg is required"):
        ok.rmsprop_step(p, g, None, None, None, 0.1, 0.9, 1e-8, 0, 0, False)
    with pytest.raises(ValueError, match="state_sum is required"):
        ok.adagrad_step(p, g, None, 0.1, 0, 1e-10, False)
    with pytest.raises(ValueError, match="nesterov and first need a momentum_buffer"):
        ok.sgd_step(p, g, None, 0.1, 0.9, 0, 0, True, False, False)
