"""Random sampling: seeding, Generator objects, shapes/dtypes/ranges, moments, errors.

Statistical bounds are six standard errors of the estimator for N samples: a
correct sampler fails one of them with probability below 1e-8 whatever the
seed, while a wrong distribution (shifted mean, wrong scale, missing values)
is far outside.
"""
import math
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import assert_close, raises, torch_mod  # noqa: E402,F401

import neurarust as nr  # noqa: E402

N = 20000
SIGMAS = 6.0

SAMPLERS = [
    ("rand", lambda **g: nr.rand(3, 4, **g)),
    ("randn", lambda **g: nr.randn(3, 4, **g)),
    ("randint", lambda **g: nr.randint(0, 100, (3, 4), **g)),
    ("randperm", lambda **g: nr.randperm(10, **g)),
    ("normal_floats", lambda **g: nr.normal(1.0, 2.0, size=(5,), **g)),
    ("normal_tensors", lambda **g: nr.normal(nr.zeros(2, 1), nr.ones(3), **g)),
    ("bernoulli", lambda **g: nr.bernoulli(nr.full((8,), 0.5), **g)),
    ("multinomial", lambda **g: nr.multinomial(nr.tensor([1.0, 2.0, 3.0, 4.0]), 3, **g)),
]


@pytest.fixture(autouse=True)
def restore_default_generator():
    state = nr.get_rng_state()
    yield
    nr.set_rng_state(state)


@pytest.mark.parametrize("name,sample", SAMPLERS, ids=[s[0] for s in SAMPLERS])
def test_manual_seed_reproduces_and_different_seeds_differ(name, sample):
    nr.manual_seed(1234)
    first = sample().numpy()
    nr.manual_seed(1234)
    np.testing.assert_array_equal(sample().numpy(), first)
    nr.manual_seed(4321)
    draws = [sample().numpy() for _ in range(3)]
    assert any(not np.array_equal(d, first) for d in draws), f"{name}: seed has no effect"


@pytest.mark.parametrize("name,sample", SAMPLERS, ids=[s[0] for s in SAMPLERS])
def test_generator_objects_have_their_own_stream(name, sample):
    g = nr.Generator()
    assert g.manual_seed(7) is g and g.initial_seed() == 7
    nr.manual_seed(0)
    expected_default = sample().numpy()
    nr.manual_seed(0)
    from_g = sample(generator=g).numpy()  # must not advance the default generator
    np.testing.assert_array_equal(sample().numpy(), expected_default)
    g2 = nr.Generator().manual_seed(7)
    np.testing.assert_array_equal(sample(generator=g2).numpy(), from_g)


def test_generator_get_state_and_set_state():
    g = nr.Generator().manual_seed(99)
    nr.randn(5, generator=g)
    state = g.get_state()
    assert state.dtype is nr.uint8 and state.ndim == 1
    after = nr.rand(6, generator=g).numpy()
    nr.rand(100, generator=g)
    assert g.set_state(state) is g
    np.testing.assert_array_equal(nr.rand(6, generator=g).numpy(), after)
    other = nr.Generator().set_state(state)  # a state moves between generators
    assert other.get_state().tolist() == state.tolist()
    with raises(ValueError, "set_state", "64"):
        nr.Generator().set_state(nr.zeros(3, dtype=nr.uint8))


def test_global_rng_state_round_trip():
    nr.manual_seed(5)
    assert nr.initial_seed() == 5 and nr.default_generator.initial_seed() == 5
    state = nr.get_rng_state()
    a = nr.randn(4).numpy()
    nr.set_rng_state(state)
    np.testing.assert_array_equal(nr.randn(4).numpy(), a)
    assert isinstance(nr.seed(), int)
    with raises(ValueError, "manual_seed", str(2 ** 70)):
        nr.manual_seed(2 ** 70)


# ------------------------------------------------------------- shapes and dtypes
def test_shapes_and_dtypes():
    assert nr.rand(2, 3).shape == (2, 3) and nr.rand(2, 3).dtype is nr.float32
    assert nr.rand((2, 3)).shape == (2, 3) and nr.randn([4]).shape == (4,)
    assert nr.randn(()).shape == () and nr.rand(0, 3).shape == (0, 3)
    for dtype in (nr.float16, nr.float64):
        assert nr.rand(3, dtype=dtype).dtype is dtype and nr.randn(3, dtype=dtype).dtype is dtype
    assert nr.rand(2, requires_grad=True).requires_grad
    assert nr.randint(0, 5, (2, 2)).dtype is nr.int64 and nr.randint(5, (3,)).shape == (3,)
    assert nr.randint(-3, 3, (4,), dtype=nr.int8).dtype is nr.int8
    assert nr.randperm(4).dtype is nr.int64 and nr.randperm(4, dtype=nr.int32).dtype is nr.int32
    assert nr.randperm(0).shape == (0,)
    assert nr.normal(2.0, 3.0, size=(2, 5)).shape == (2, 5)
    assert nr.normal(nr.zeros(2, 1), nr.ones(3)).shape == (2, 3)  # mean and std broadcast
    assert nr.normal(nr.zeros(3, dtype=nr.float64), 1.0).dtype is nr.float64
    assert nr.bernoulli(nr.full((2, 2), 0.5, dtype=nr.float64)).dtype is nr.float64
    assert nr.multinomial(nr.ones(4), 2).shape == (2,) and nr.multinomial(nr.ones(3, 4), 2).shape == (3, 2)
    assert nr.multinomial(nr.ones(4), 2).dtype is nr.int64
    like = nr.zeros(2, 3, dtype=nr.float64)
    assert nr.rand_like(like).dtype is nr.float64 and nr.randn_like(like).shape == (2, 3)
    assert nr.randint_like(like, 4).shape == (2, 3) and nr.randint_like(like, 4).dtype is nr.float64


def test_shapes_and_dtypes_match_torch(torch_mod):
    calls = [lambda M: M.rand(2, 3), lambda M: M.randn(4, dtype=M.float64), lambda M: M.randint(0, 5, (2,)),
             lambda M: M.randperm(5), lambda M: M.normal(M.zeros(2, 1), M.ones(3)),
             lambda M: M.bernoulli(M.full((3,), 0.5)), lambda M: M.multinomial(M.ones(3, 4), 2)]
    for call in calls:
        got, expected = call(nr), call(torch_mod)
        assert tuple(got.shape) == tuple(expected.shape)
        assert got.dtype.name == str(expected.dtype).split(".")[1]


# -------------------------------------------------------------------- ranges
def test_value_ranges():
    nr.manual_seed(0)
    u = nr.rand(N).numpy()
    assert u.min() >= 0.0 and u.max() < 1.0
    ints = nr.randint(-3, 4, (N,)).numpy()
    assert set(np.unique(ints).tolist()) == set(range(-3, 4))  # every value, nothing outside
    assert sorted(nr.randperm(50).tolist()) == list(range(50))
    assert set(np.unique(nr.bernoulli(nr.full((1000,), 0.5)).numpy()).tolist()) == {0.0, 1.0}
    assert nr.bernoulli(nr.tensor([0.0, 1.0, 0.0, 1.0])).tolist() == [0.0, 1.0, 0.0, 1.0]
    picks = nr.multinomial(nr.tensor([0.0, 1.0, 0.0, 3.0]), 1000, replacement=True).numpy()
    assert set(np.unique(picks).tolist()) == {1, 3}  # zero-probability categories never drawn
    without = nr.multinomial(nr.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 5.0]]), 3).numpy()
    assert all(len(set(row)) == 3 for row in without.tolist()) and 0 not in without[1]


# ------------------------------------------------------------------ moments
def _close(value, expected, standard_error, what):
    assert abs(value - expected) <= SIGMAS * standard_error, (
        f"{what}: {value} vs {expected} (allowed {SIGMAS} x {standard_error:.3g})")


def test_uniform_moments():
    nr.manual_seed(1)
    u = nr.rand(N, dtype=nr.float64).numpy()
    _close(u.mean(), 0.5, math.sqrt(1 / 12 / N), "mean of U[0,1)")
    # Var(sample variance) ~ (mu4 - sigma^4) / N with mu4 = 1/80, sigma^2 = 1/12.
    _close(u.var(), 1 / 12, math.sqrt((1 / 80 - 1 / 144) / N), "variance of U[0,1)")


def test_normal_moments():
    nr.manual_seed(2)
    z = nr.randn(N, dtype=nr.float64).numpy()
    _close(z.mean(), 0.0, 1 / math.sqrt(N), "mean of N(0,1)")
    _close(z.var(), 1.0, math.sqrt(2 / N), "variance of N(0,1)")  # Var(s^2) = 2 sigma^4 / N
    _close((z ** 3).mean(), 0.0, math.sqrt(15 / N), "third moment of N(0,1)")  # E z^6 = 15
    x = nr.normal(2.0, 3.0, size=(N,), dtype=nr.float64).numpy()
    _close(x.mean(), 2.0, 3 / math.sqrt(N), "mean of N(2,9)")
    _close(x.var(), 9.0, 9 * math.sqrt(2 / N), "variance of N(2,9)")
    per_element = nr.normal(nr.tensor([[-5.0], [5.0]]), nr.tensor([0.5, 2.0]).repeat(N // 2)).numpy()
    _close(per_element[0, ::2].mean(), -5.0, 0.5 / math.sqrt(N / 2), "mean of N(-5, 0.25)")
    _close(per_element[1, 1::2].std(), 2.0, 2.0 / math.sqrt(N), "std of N(5, 4)")  # sd(s) ~ sigma/sqrt(2N)


def test_discrete_frequencies():
    nr.manual_seed(3)
    ints = nr.randint(0, 10, (N,)).numpy()
    _close(ints.mean(), 4.5, math.sqrt(99 / 12 / N), "mean of randint(0, 10)")
    for value in range(10):
        _close((ints == value).mean(), 0.1, math.sqrt(0.09 / N), f"frequency of {value}")
    b = nr.bernoulli(nr.full((N,), 0.3)).numpy()
    _close(b.mean(), 0.3, math.sqrt(0.21 / N), "mean of Bernoulli(0.3)")
    probs = np.array([1.0, 2.0, 3.0, 4.0]) / 10
    picks = nr.multinomial(nr.tensor([1.0, 2.0, 3.0, 4.0]), N, replacement=True).numpy()
    for k, p in enumerate(probs):
        _close((picks == k).mean(), p, math.sqrt(p * (1 - p) / N), f"frequency of category {k}")
    firsts = np.array([nr.randperm(5)[0].item() for _ in range(2000)])
    for k in range(5):
        _close((firsts == k).mean(), 0.2, math.sqrt(0.16 / 2000), f"randperm first element {k}")


def test_normal_is_differentiable_in_mean_and_std():
    # torch reparameterises: out = mean + std * z, so d/dmean = 1 and d/dstd = z.
    mean = nr.tensor([1.0, -1.0, 0.5], dtype=nr.float64, requires_grad=True)
    std = nr.tensor([2.0, 0.5, 1.0], dtype=nr.float64, requires_grad=True)
    out = nr.normal(mean, std)
    weights = np.array([1.0, -2.0, 0.5])
    (out * nr.tensor(weights)).sum().backward()
    z = (out.detach().numpy() - mean.detach().numpy()) / std.detach().numpy()
    assert_close(mean.grad, weights)
    assert_close(std.grad, weights * z)


# -------------------------------------------------------------------- errors
@pytest.mark.parametrize("call,exc,fragments", [
    (lambda: nr.rand(2, dtype=nr.int64), nr.DTypeError, ("rand", "int64")),
    (lambda: nr.randn(2, dtype=nr.int32), nr.DTypeError, ("randn", "int32")),
    (lambda: nr.rand(-1), nr.ShapeError, ("rand", "-1")),
    (lambda: nr.randint(5, 5, (2,)), nr.ShapeError, ("randint", "low=5", "high=5")),
    (lambda: nr.randint(5), TypeError, ("randint", "size")),
    (lambda: nr.randperm(-1), nr.ShapeError, ("randperm", "-1")),
    (lambda: nr.normal(0.0, -1.0, size=(2,)), ValueError, ("normal", "std", "-1.0")),
    (lambda: nr.normal(nr.zeros(2), -nr.ones(2)), ValueError, ("normal", "std")),
    (lambda: nr.bernoulli(nr.tensor([1.5])), ValueError, ("bernoulli", "[0, 1]")),
    (lambda: nr.bernoulli(nr.tensor([1, 0])), nr.DTypeError, ("bernoulli", "int64")),
    (lambda: nr.multinomial(nr.tensor([1.0, 1.0]), 3), ValueError, ("multinomial", "n_sample")),
    (lambda: nr.multinomial(nr.tensor([-1.0, 1.0]), 1), ValueError, ("multinomial", "< 0")),
    (lambda: nr.multinomial(nr.zeros(2), 1), ValueError, ("multinomial", "sum of probabilities")),
    (lambda: nr.multinomial(nr.ones(2, 2, 2), 1), nr.ShapeError, ("multinomial", "1 or 2 dim", "3")),
    (lambda: nr.multinomial(nr.tensor([1.0, 0.0, 0.0]), 2), ValueError, ("multinomial", "replacement=False")),
])
def test_errors(call, exc, fragments):
    with raises(exc, *fragments):
        call()
