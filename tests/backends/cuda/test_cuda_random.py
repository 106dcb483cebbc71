"""CUDA random numbers: host-side plumbing (everywhere) and distributions/reproducibility (GPU only)."""
from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

from neurarust.backends.cuda import unavailable_reason
from neurarust.backends.cuda.random import philox_key
from neurarust.ops.random import Generator, default_generator

needs_gpu = pytest.mark.skipif(unavailable_reason() is not None, reason=f"CUDA unavailable: {unavailable_reason()}")

_spec = importlib.util.spec_from_file_location("_cuda_index_tests", os.path.join(os.path.dirname(__file__), "test_cuda_index.py"))
_index_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_index_tests)


def test_every_random_method_launches_kernels_that_match_their_signatures():
    b = _index_tests.fake_backend()
    for dtype in (np.float16, np.float32, np.float64):
        for kind in ("uniform", "normal"):
            b.random(None, kind, (3, 5), dtype, 0.0, 1.0)
        p = _index_tests._arr(b, (4, 6), dtype)
        b.bernoulli(None, p)
        b.multinomial(None, p, 3, True)
        b.multinomial(None, p, 3, False)
        b.multinomial(None, _index_tests._arr(b, (6,), dtype), 2, False)
    b.random(None, "randint", (7,), np.int32, -3, 9)
    b.random(Generator().manual_seed(1), "randint", (7,), np.int64, -2 ** 63, 2 ** 63 - 1)
    b.random(None, "permutation", (5000,), np.int64, 5000)
    assert {"nr_rand_normal_float16", "nr_rand_randint_int64", "nr_rand_race_float64"} <= set(b.rt.launches)


def test_philox_offsets_advance_and_replay():
    class Rt:
        next_philox = _index_tests.FakeRuntime.next_philox

    rt = Rt()
    rt.seed, rt.philox_offset = 2 ** 64 - 1, 0
    seed, base = philox_key(default_generator, rt, 10)
    assert (int(seed), int(base)) == (-1, 0)  # the seed reaches the kernel as its int64 bit pattern
    assert int(philox_key(None, rt, 4)[1]) == 3  # 10 words take 3 Philox blocks
    g = Generator().manual_seed(5)
    first = [philox_key(g, rt, 8) for _ in range(2)]
    g.manual_seed(5)
    assert [philox_key(g, rt, 8) for _ in range(2)] == first and first[0] != first[1]


if unavailable_reason() is None:
    import neurarust as nr
    from neurarust.device import backend_for

    CU = backend_for(nr.device("cuda"))


@needs_gpu
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_uniform_and_normal_moments(dtype):
    CU.rt.manual_seed(0)
    u = CU.to_numpy(CU.random(None, "uniform", (200_000,), dtype, -2.0, 3.0)).astype(np.float64)
    assert u.min() >= -2.0 and u.max() <= 3.0 and abs(u.mean() - 0.5) < 0.02 and abs(u.var() - 25 / 12) < 0.03
    z = CU.to_numpy(CU.random(None, "normal", (200_000,), dtype, 1.0, 2.0)).astype(np.float64)
    assert abs(z.mean() - 1.0) < 0.03 and abs(z.std() - 2.0) < 0.03 and np.isfinite(z).all()
    CU.rt.manual_seed(0)
    again = CU.to_numpy(CU.random(None, "uniform", (200_000,), dtype, -2.0, 3.0)).astype(np.float64)
    np.testing.assert_array_equal(again, u)


@needs_gpu
def test_randint_permutation_bernoulli_multinomial():
    r = CU.to_numpy(CU.random(None, "randint", (100_000,), np.int64, -3, 4))
    assert r.min() == -3 and r.max() == 3 and np.all(np.abs(np.bincount(r + 3) / 1e5 - 1 / 7) < 0.01)
    for n in (0, 1, 7, 3000):
        perm = CU.to_numpy(CU.random(None, "permutation", (n,), np.int64, n))
        np.testing.assert_array_equal(np.sort(perm), np.arange(n))
    p = np.array([0.0, 0.25, 1.0, 0.5] * 25_000, np.float32)
    draws = CU.to_numpy(CU.bernoulli(None, CU.from_numpy(p))).reshape(-1, 4)
    assert draws.dtype == np.float32 and (draws[:, 0] == 0).all() and (draws[:, 2] == 1).all()
    assert abs(draws[:, 1].mean() - 0.25) < 0.02 and abs(draws[:, 3].mean() - 0.5) < 0.02
    probs = np.array([[0.0, 1.0, 3.0, 0.0], [2.0, 0.0, 0.0, 2.0]], np.float64)
    s = CU.to_numpy(CU.multinomial(None, CU.from_numpy(probs), 40_000, True))
    assert s.shape == (2, 40_000) and set(np.unique(s[0])) == {1, 2} and set(np.unique(s[1])) == {0, 3}
    assert abs((s[0] == 2).mean() - 0.75) < 0.02
    s = CU.to_numpy(CU.multinomial(None, CU.from_numpy(probs), 2, False))
    assert sorted(s[0]) == [1, 2] and sorted(s[1]) == [0, 3]
    g = Generator().manual_seed(7)
    a = CU.to_numpy(CU.random(g, "normal", (10,), np.float32, 0.0, 1.0))
    g.manual_seed(7)
    np.testing.assert_array_equal(CU.to_numpy(CU.random(g, "normal", (10,), np.float32, 0.0, 1.0)), a)
