"""nn.init: gains and fans exactly, distributions by their statistics, errors.

Statistical bounds are six standard errors of the estimator for N samples (a
correct sampler fails with probability below 1e-8 whatever the seed), while a
wrong scale (e.g. fan_in instead of fan_out, a missing sqrt(3)) is far outside.
Bounds of uniform initialisers are checked exactly.
"""
import math
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import assert_close, torch_mod  # noqa: E402,F401

import neurarust as nr  # noqa: E402
from neurarust.nn import init  # noqa: E402

N_ROWS, N_COLS = 200, 100  # 20000 samples


def _moments(t):
    a = t.detach().numpy().astype(np.float64).ravel()
    return a, a.mean(), a.std()


def _check_normal(t, std, mean=0.0):
    a, m, s = _moments(t)
    n = a.size
    assert abs(m - mean) < 6 * std / math.sqrt(n), (m, mean)
    # Standard error of the sample std of a normal: std / sqrt(2n).
    assert abs(s - std) < 6 * std / math.sqrt(2 * n), (s, std)


def _check_uniform(t, bound):
    a, m, s = _moments(t)
    n = a.size
    assert a.min() >= -bound and a.max() <= bound
    std = bound / math.sqrt(3)
    assert abs(m) < 6 * std / math.sqrt(n)
    # Variance of the sample variance of U(-b, b): (m4 - s^4)/n with m4 = b^4/5.
    var_se = math.sqrt((bound ** 4 / 5 - std ** 4) / n)
    assert abs(s ** 2 - std ** 2) < 6 * var_se
    # Both ends are reached (the range is not narrower than claimed).
    assert a.min() < -0.99 * bound and a.max() > 0.99 * bound


def test_calculate_gain():
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "sigmoid"):
        assert init.calculate_gain(name) == 1
    assert init.calculate_gain("tanh") == 5.0 / 3
    assert init.calculate_gain("relu") == math.sqrt(2.0)
    assert init.calculate_gain("leaky_relu") == math.sqrt(2.0 / (1 + 0.01 ** 2))
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2.0 / 1.04)
    assert init.calculate_gain("leaky_relu", 1) == 1.0
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_calculate_gain_matches_torch(torch_mod):
    for name, param in [("linear", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
                        ("leaky_relu", 0.3), ("leaky_relu", 2), ("selu", None)]:
        assert init.calculate_gain(name, param) == torch_mod.nn.init.calculate_gain(name, param)


@pytest.mark.parametrize("shape, expected", [((3, 5), (5, 3)), ((4, 2, 3, 3), (18, 36)),
                                             ((6, 2, 7), (14, 42)), ((2, 3, 0), (0, 0))])
def test_fan_in_and_fan_out(shape, expected):
    assert init._calculate_fan_in_and_fan_out(nr.empty(*shape)) == expected


def test_fan_matches_torch_and_errors(torch_mod):
    for shape in [(3, 5), (4, 2, 3, 3), (6, 2, 7), (1, 1, 2, 2, 2)]:
        assert (init._calculate_fan_in_and_fan_out(nr.empty(*shape))
                == torch_mod.nn.init._calculate_fan_in_and_fan_out(torch_mod.empty(*shape)))
    for bad in [(3,), ()]:
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            init._calculate_fan_in_and_fan_out(nr.empty(*bad))


def test_uniform_normal_constant():
    nr.manual_seed(0)
    t = init.uniform_(nr.empty(N_ROWS, N_COLS), -3.0, 1.0)
    a = t.numpy()
    assert a.min() >= -3.0 and a.max() < 1.0 and abs(a.mean() + 1.0) < 6 * (4 / math.sqrt(12)) / math.sqrt(a.size)
    _check_normal(init.normal_(nr.empty(N_ROWS, N_COLS), 2.0, 0.5), 0.5, mean=2.0)
    assert_close(init.constant_(nr.empty(2, 2), 1.5), np.full((2, 2), 1.5, np.float32))
    assert_close(init.ones_(nr.empty(3)), np.ones(3, np.float32))
    assert_close(init.zeros_(nr.empty(3, dtype=nr.float64)), np.zeros(3))


def test_init_is_in_place_no_grad_and_returns_tensor():
    p = nr.nn.Parameter(nr.empty(4, 3))
    ptr = p.data_ptr()
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.xavier_normal_,
               init.kaiming_uniform_, init.kaiming_normal_, init.orthogonal_, init.trunc_normal_,
               init.ones_, init.zeros_, init.eye_, lambda t: init.constant_(t, 2.0)):
        out = fn(p)
        assert out is p and p.data_ptr() == ptr and p.grad_fn is None and p.is_leaf
    assert p.requires_grad


def test_generator_makes_results_reproducible():
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_,
               init.trunc_normal_, init.orthogonal_):
        a = fn(nr.empty(5, 4), generator=nr.Generator().manual_seed(3))
        b = fn(nr.empty(5, 4), generator=nr.Generator().manual_seed(3))
        c = fn(nr.empty(5, 4), generator=nr.Generator().manual_seed(4))
        assert_close(a, b)
        assert not np.allclose(a.numpy(), c.numpy())


def test_xavier():
    nr.manual_seed(1)
    fan_in, fan_out = N_COLS, N_ROWS
    _check_uniform(init.xavier_uniform_(nr.empty(N_ROWS, N_COLS), gain=2.0),
                   2.0 * math.sqrt(6.0 / (fan_in + fan_out)))
    _check_normal(init.xavier_normal_(nr.empty(N_ROWS, N_COLS), gain=0.5),
                  0.5 * math.sqrt(2.0 / (fan_in + fan_out)))
    # Conv-shaped: the receptive field multiplies both fans.
    _check_uniform(init.xavier_uniform_(nr.empty(40, 20, 5, 5)), math.sqrt(6.0 / (500 + 1000)))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "FAN_IN"])
@pytest.mark.parametrize("nonlinearity, a", [("leaky_relu", 0), ("relu", 0), ("leaky_relu", math.sqrt(5)),
                                             ("tanh", 0)])
def test_kaiming(mode, nonlinearity, a):
    nr.manual_seed(2)
    fan = N_COLS if mode.lower() == "fan_in" else N_ROWS
    gain = init.calculate_gain(nonlinearity, a)
    _check_uniform(init.kaiming_uniform_(nr.empty(N_ROWS, N_COLS), a=a, mode=mode,
                                         nonlinearity=nonlinearity), gain * math.sqrt(3.0 / fan))
    _check_normal(init.kaiming_normal_(nr.empty(N_ROWS, N_COLS), a=a, mode=mode,
                                       nonlinearity=nonlinearity), gain / math.sqrt(fan))


def test_kaiming_errors_and_empty():
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(nr.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_normal_(nr.empty(3))
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        init.kaiming_uniform_(nr.empty(0, 3))


def test_trunc_normal():
    nr.manual_seed(3)
    t = init.trunc_normal_(nr.empty(N_ROWS, N_COLS), mean=1.0, std=2.0, a=0.0, b=3.0)
    a = t.numpy().astype(np.float64).ravel()
    assert a.min() >= 0.0 and a.max() <= 3.0
    from scipy.stats import truncnorm

    dist = truncnorm((0.0 - 1.0) / 2.0, (3.0 - 1.0) / 2.0, loc=1.0, scale=2.0)
    assert abs(a.mean() - dist.mean()) < 6 * dist.std() / math.sqrt(a.size)
    assert abs(a.var() - dist.var()) < 6 * math.sqrt((dist.moment(4) - 4 * dist.mean() * dist.moment(3)
                                                      + 6 * dist.mean() ** 2 * dist.moment(2)
                                                      - 3 * dist.mean() ** 4 - dist.var() ** 2) / a.size)
    # Default [-2, 2] around N(0, 1).
    b = init.trunc_normal_(nr.empty(1000)).numpy()
    assert b.min() >= -2 and b.max() <= 2 and b.std() > 0.7
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        init.trunc_normal_(nr.empty(3), mean=10.0)


def test_eye_and_dirac():
    assert_close(init.eye_(nr.empty(3, 2)), np.eye(3, 2, dtype=np.float32))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(nr.empty(2, 2, 2))
    w = init.dirac_(nr.empty(4, 2, 3, 3), groups=2).numpy()
    expected = np.zeros((4, 2, 3, 3), np.float32)
    for out, inp in [(0, 0), (1, 1), (2, 0), (3, 1)]:
        expected[out, inp, 1, 1] = 1
    assert_close(w, expected)
    with pytest.raises(ValueError, match="3, 4, or 5 dimensions"):
        init.dirac_(nr.empty(2, 2))
    with pytest.raises(ValueError, match="divisible by groups"):
        init.dirac_(nr.empty(3, 2, 3), groups=2)


def test_dirac_matches_torch(torch_mod):
    for shape, groups in [((4, 2, 3, 3), 2), ((3, 5, 4), 1), ((2, 2, 3, 3, 3), 1)]:
        assert_close(init.dirac_(nr.empty(*shape), groups),
                     torch_mod.nn.init.dirac_(torch_mod.empty(*shape), groups))


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 2, 3), (3, 3)])
def test_orthogonal(shape):
    nr.manual_seed(4)
    w = init.orthogonal_(nr.empty(*shape, dtype=nr.float64), gain=2.0).numpy()
    flat = w.reshape(shape[0], -1)
    rows, cols = flat.shape
    gram = flat @ flat.T if rows <= cols else flat.T @ flat
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-10)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(nr.empty(3))


def test_type_error_on_non_tensor():
    with pytest.raises(TypeError, match="must be a Tensor"):
        init.uniform_(np.zeros(3))
