"""Dropout/Dropout2d (statistics, train/eval, p checks) and Embedding (lookup, padding_idx, grads vs torch)."""
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import assert_close, raises, torch_or_none  # noqa: E402

import neurarust as nr  # noqa: E402
from neurarust import nn  # noqa: E402
from neurarust.nn import functional as F  # noqa: E402


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_statistics_and_gradient(p):
    nr.manual_seed(1)
    x = nr.ones(200, 100, requires_grad=True)
    y = F.dropout(x, p)
    vals = y.detach().numpy()
    kept = vals != 0
    assert_close(vals[kept], np.full(kept.sum(), 1 / (1 - p), np.float32))
    assert abs(kept.mean() - (1 - p)) < 0.02
    y.sum().backward()
    # The gradient is the same scaled mask.
    assert_close(x.grad.numpy(), vals)


def test_dropout_modes_and_edges():
    x = nr.randn(4, 5)
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.7, training=False) is x
    assert (F.dropout(x, 1.0) == 0).all()
    d = nn.Dropout(0.5)
    assert d.training and repr(d) == "Dropout(p=0.5, inplace=False)"
    d.eval()
    assert d(x) is x
    d.train()
    assert (d(nr.ones(1000)) == 0).any()
    with raises(ValueError, "between 0 and 1"):
        nn.Dropout(1.5)
    with raises(ValueError, "between 0 and 1"):
        F.dropout(x, -0.1)
    y = x.clone()
    out = F.dropout(y, 0.5, inplace=True)
    assert out is y and ((y == 0) | (y == x * 2)).all()


def test_dropout_seeded_reproducible():
    nr.manual_seed(5)
    a = F.dropout(nr.ones(50), 0.5)
    nr.manual_seed(5)
    b = F.dropout(nr.ones(50), 0.5)
    assert (a == b).all()


@pytest.mark.parametrize("shape", [(4, 16, 3, 3), (16, 3, 3)])
def test_dropout2d_zeroes_whole_channels(shape):
    nr.manual_seed(2)
    y = nn.Dropout2d(0.5)(nr.ones(*shape)).numpy()
    per_channel = y.reshape(shape[: len(shape) - 2] + (-1,))
    # Every channel is all 0 or all 2.
    assert (np.all(per_channel == 0, -1) | np.all(per_channel == 2, -1)).all()
    assert 0 < (per_channel[..., 0] == 0).mean() < 1
    assert nn.Dropout2d(0.5).eval()(nr.ones(*shape)).numpy().min() == 1


def test_embedding_lookup_and_grad():
    rng = np.random.default_rng(0)
    table = rng.standard_normal((10, 4)).astype(np.float32)
    idx = np.array([[1, 3, 1], [0, 9, 3]])
    w = nr.tensor(table, requires_grad=True)
    out = F.embedding(nr.tensor(idx), w, padding_idx=3)
    assert_close(out, table[idx])
    g = rng.standard_normal((2, 3, 4)).astype(np.float32)
    out.backward(nr.tensor(g))
    expected = np.zeros_like(table)
    np.add.at(expected, idx.reshape(-1), g.reshape(-1, 4))
    expected[3] = 0  # padding_idx receives no gradient
    assert_close(w.grad, expected)


def test_embedding_module_vs_torch():
    nr.manual_seed(0)
    e = nn.Embedding(12, 5, padding_idx=-2)
    assert e.padding_idx == 10 and repr(e) == "Embedding(12, 5, padding_idx=10)"
    w = e.weight.detach().numpy()
    assert (w[10] == 0).all() and abs(w.std() - 1) < 0.35  # N(0, 1) init, padding row zeroed
    idx = np.array([[10, 2, 2, 7], [0, 10, 11, 2]])
    out = e(nr.tensor(idx))
    g = np.random.default_rng(1).standard_normal((2, 4, 5)).astype(np.float32)
    out.backward(nr.tensor(g))
    torch = torch_or_none()
    if torch is None:
        return
    te = torch.nn.Embedding(12, 5, padding_idx=-2)
    with torch.no_grad():
        te.weight.copy_(torch.tensor(w))
    ref = te(torch.tensor(idx))
    ref.backward(torch.tensor(g))
    assert_close(out, ref)
    assert_close(e.weight.grad, te.weight.grad)
    assert repr(e) == repr(te)


def test_embedding_from_pretrained_max_norm_and_errors():
    e = nn.Embedding.from_pretrained(nr.eye(3) * 4)
    assert not e.weight.requires_grad
    e2 = nn.Embedding(5, 3, max_norm=1.0)
    e2(nr.tensor([0, 1]))
    norms = np.linalg.norm(e2.weight.detach().numpy()[:2], axis=1)
    assert (norms <= 1.0 + 1e-5).all()
    with raises(IndexError, "out of range"):
        e(nr.tensor([3]))
    with raises(nr.DTypeError, "int64"):
        e(nr.tensor([0.0]))
    with raises(ValueError, "padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)
