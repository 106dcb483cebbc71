"""Helpers shared by the op tests: seeded inputs, NumPy conversion, torch-or-skip, error checks.

Test modules import this file by path (``tests/`` goes on ``sys.path``) because
the suite has no ``conftest.py``.  Value comparison is ``neurarust.testing``'s
``assert_close`` (torch.testing semantics); ``check_both`` runs
``neurarust.testing.check_op`` twice so every op's gradient is compared with
float64 central differences of its NumPy reference *and*, when torch is
importable, with torch's gradient.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import re

import numpy as np
import pytest

from neurarust.testing import assert_close, check_op, to_numpy  # noqa: F401  (re-exported)

__all__ = ["assert_close", "to_numpy", "check_both", "check_fwd_bwd", "torch_or_none", "torch_or_skip", "torch_mod",
           "seeded", "distinct", "raises", "nr_and_torch"]


def torch_or_none():
    """The torch module, or None when it is missing (or NEURARUST_TEST_NO_TORCH=1)."""
    if os.environ.get("NEURARUST_TEST_NO_TORCH") == "1":
        return None
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


def torch_or_skip():
    """The torch module, or skip the calling test when it is missing."""
    torch = torch_or_none()
    if torch is None:
        pytest.skip("torch is not importable")
    return torch


@pytest.fixture
def torch_mod():
    """torch, or skip the test: for checks that only make sense against torch itself."""
    return torch_or_skip()


def seeded(shape, seed=0, dtype=np.float64, low=-2.0, high=2.0) -> np.ndarray:
    """Uniform values in [low, high), reproducible from ``seed``."""
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)


def distinct(shape, seed=0, dtype=np.float64) -> np.ndarray:
    """Shuffled values 0.5 apart: ties cannot occur, so sort/topk gradients are unambiguous."""
    n = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(n) * 0.5 - n / 4).astype(dtype).reshape(shape)


def check_both(nr_fn, np_fn, torch_fn, shapes=None, **kwargs):
    """``check_op`` against NumPy (gradient by central differences) and, if present, torch.

    Every layout variant of ``check_op`` (contiguous, transposed, sliced, broadcast,
    0-d, empty) runs twice: once with ``use_torch=False`` so the backward pass is
    compared with float64 central differences of ``np_fn``, once against torch.
    """
    check_op(nr_fn, np_fn, torch_fn, shapes, use_torch=False, **kwargs)
    if torch_or_none() is not None and torch_fn is not None:
        kwargs["gradcheck"] = False  # already done by the first call
        check_op(nr_fn, np_fn, torch_fn, shapes, use_torch=True, **kwargs)


def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _weighted_loss(outs, weights, make):
    terms = [(o * make(w)).sum() for o, w in zip(outs, weights) if w is not None]
    return sum(terms[1:], terms[0]) if terms else None


def check_fwd_bwd(nr_fn, np_fn, torch_fn, arrays, seed=0, eps=1e-6):
    """Forward and the gradient of a seeded weighted sum of the outputs, for exactly ``arrays``.

    Unlike ``check_op`` this keeps the inputs as given (0-d arrays stay 0-d).  Float
    inputs require grad; the gradient is compared with float64 central differences of
    ``np_fn`` and, when torch is importable and ``torch_fn`` given, with torch's.
    """
    import neurarust as nr

    arrays = [np.asarray(a) for a in arrays]
    is_float = [a.dtype.kind == "f" for a in arrays]
    leaves = [nr.tensor(a.copy(), requires_grad=f) for a, f in zip(arrays, is_float)]
    outs = _as_list(nr_fn(*leaves))
    np_outs = _as_list(np_fn(*[a.copy() for a in arrays]))
    assert len(outs) == len(np_outs), f"{len(outs)} outputs, NumPy gives {len(np_outs)}"
    for k, (o, e) in enumerate(zip(outs, np_outs)):
        assert_close(o, np.asarray(e), msg=f"output {k} differs from NumPy")
    rng = np.random.default_rng(seed)
    weights = [np.asarray(rng.standard_normal(tuple(o.shape))).astype(o.dtype.numpy)
               if o.dtype.is_floating_point and o.requires_grad else None for o in outs]
    loss = _weighted_loss(outs, weights, nr.tensor)
    assert loss is not None or not any(is_float), "no output requires grad"
    if loss is None:
        return
    loss.backward()

    wide = [a.astype(np.float64) if f else a.copy() for a, f in zip(arrays, is_float)]

    def np_loss():
        return sum(float((np.asarray(o, np.float64) * w).sum())
                   for o, w in zip(_as_list(np_fn(*wide)), weights) if w is not None)

    for i in (i for i, f in enumerate(is_float) if f):
        numeric = np.zeros(wide[i].shape)
        for j in np.ndindex(wide[i].shape):
            orig = wide[i][j]
            wide[i][j] = orig + eps
            plus = np_loss()
            wide[i][j] = orig - eps
            minus = np_loss()
            wide[i][j] = orig
            numeric[j] = (plus - minus) / (2 * eps)
        got = leaves[i].grad
        assert got is not None, f"input {i} got no gradient"
        assert tuple(got.shape) == arrays[i].shape and got.dtype == leaves[i].dtype
        assert_close(got.numpy().astype(np.float64), numeric, rtol=1e-4, atol=1e-5,
                     msg=f"gradient of input {i} differs from central differences of NumPy")

    torch = torch_or_none()
    if torch is None or torch_fn is None:
        return
    t_leaves = [torch.from_numpy(a.copy()).requires_grad_(f) for a, f in zip(arrays, is_float)]
    t_outs = _as_list(torch_fn(*t_leaves))
    for k, (o, e) in enumerate(zip(outs, t_outs)):
        assert_close(o, e, msg=f"output {k} differs from torch")
    t_loss = _weighted_loss(t_outs, weights, torch.from_numpy)
    t_loss.backward()
    for i in (i for i, f in enumerate(is_float) if f):
        assert_close(leaves[i].grad, t_leaves[i].grad, msg=f"gradient of input {i} differs from torch")


@contextlib.contextmanager
def raises(exc_type, *fragments):
    """Expect ``exc_type`` whose message contains every fragment (regex-escaped, case-sensitive)."""
    with pytest.raises(exc_type) as info:
        yield info
    message = str(info.value)
    for fragment in fragments:
        assert re.search(re.escape(str(fragment)), message), (
            f"{exc_type.__name__} message {message!r} does not mention {fragment!r}")


def nr_and_torch(array, requires_grad=False):
    """A NeuraRust tensor and (when importable) a torch tensor holding copies of ``array``."""
    import neurarust as nr

    torch = torch_or_none()
    x = nr.tensor(np.array(array, copy=True), requires_grad=requires_grad)
    t = None
    if torch is not None:
        t = torch.from_numpy(np.array(array, copy=True)).requires_grad_(requires_grad)
    return x, t
