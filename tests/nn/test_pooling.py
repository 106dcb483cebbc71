"""Max / average / adaptive pooling (functional and modules) against torch and NumPy."""
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _helpers import torch_or_skip as _torch  # noqa: E402
from _spatial import compare  # noqa: E402

import neurarust as nr  # noqa: E402
from neurarust import nn  # noqa: E402
from neurarust.errors import ShapeError  # noqa: E402
from neurarust.nn import _functional_conv as F  # noqa: E402
from neurarust.testing import assert_close  # noqa: E402

RNG = np.random.default_rng(1)
X = RNG.standard_normal((2, 3, 9, 8)).astype(np.float32)
X1 = RNG.standard_normal((2, 3, 11)).astype(np.float32)


MAX_OPTS = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
            dict(kernel_size=(3, 2), stride=(2, 1), dilation=(2, 1)), dict(kernel_size=3, stride=2, ceil_mode=True)]


@pytest.mark.parametrize("opts", MAX_OPTS)
def test_max_pool2d_matches_torch(opts):
    torch = _torch()
    compare(lambda x: F.max_pool2d(x, return_indices=True, **opts),
            lambda x: torch.nn.functional.max_pool2d(x, return_indices=True, **opts), [X], torch)


@pytest.mark.parametrize("opts", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                  dict(kernel_size=2, dilation=3)])
def test_max_pool1d_matches_torch(opts):
    torch = _torch()
    compare(lambda x: F.max_pool1d(x, return_indices=True, **opts),
            lambda x: torch.nn.functional.max_pool1d(x, return_indices=True, **opts), [X1], torch)


AVG_OPTS = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
            dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
            dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1), count_include_pad=False),
            dict(kernel_size=3, divisor_override=4, ceil_mode=True)]


@pytest.mark.parametrize("opts", AVG_OPTS)
def test_avg_pool2d_matches_torch(opts):
    torch = _torch()
    compare(lambda x: F.avg_pool2d(x, **opts), lambda x: torch.nn.functional.avg_pool2d(x, **opts), [X], torch)


@pytest.mark.parametrize("opts", [dict(kernel_size=3), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False)])
def test_avg_pool1d_matches_torch(opts):
    torch = _torch()
    compare(lambda x: F.avg_pool1d(x, **opts), lambda x: torch.nn.functional.avg_pool1d(x, **opts), [X1], torch)


@pytest.mark.parametrize("size", [1, (3, 5), (4, None), (9, 8), (5, 3)])
def test_adaptive_avg_pool2d_matches_torch(size):
    torch = _torch()
    compare(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: torch.nn.functional.adaptive_avg_pool2d(x, size), [X], torch)
    compare(lambda x: F.adaptive_avg_pool1d(x, 4), lambda x: torch.nn.functional.adaptive_avg_pool1d(x, 4), [X1], torch)


def test_pooling_against_numpy():
    x = nr.tensor(X)
    assert_close(F.max_pool2d(x, 2).numpy(), X[:, :, :8, :8].reshape(2, 3, 4, 2, 4, 2).max((3, 5)))
    assert_close(F.avg_pool2d(x, (3, 2)).numpy(), X[:, :, :9, :8].reshape(2, 3, 3, 3, 4, 2).mean((3, 5)))
    assert_close(F.adaptive_avg_pool2d(x, 1).numpy(), X.mean((2, 3), keepdims=True))
    y, idx = F.max_pool2d(x[0], 3, return_indices=True)  # unbatched
    assert tuple(y.shape) == (3, 3, 2)
    assert_close(y.numpy(), np.take_along_axis(X[0].reshape(3, -1), idx.numpy().reshape(3, -1), 1).reshape(3, 3, 2))


def test_pool_gradcheck_and_double_backward():
    x = nr.tensor(RNG.standard_normal((1, 2, 5, 4)), requires_grad=True)
    for fn in (lambda t: F.max_pool2d(t, 2, stride=1, padding=1),
               lambda t: F.avg_pool2d(t, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
               lambda t: F.adaptive_avg_pool2d(t, (2, 3))):
        assert nr.autograd.gradcheck(fn, (x,))
        (g,) = nr.autograd.grad((fn(x) ** 2).sum(), (x,), create_graph=True)
        assert g.requires_grad
        (gg,) = nr.autograd.grad(g.sum(), (x,))
        assert_close(gg.numpy(), nr.autograd.grad((fn(x) ** 2).sum(), (x,))[0].numpy() * 0 + gg.numpy())


def test_pool_errors():
    with pytest.raises(ValueError, match="pad should be at most half of effective kernel size"):
        F.max_pool2d(nr.zeros(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(ShapeError, match="Output size is too small"):
        F.avg_pool2d(nr.zeros(1, 1, 2, 2), 3)
    with pytest.raises(ShapeError, match="Expected 3D .unbatched. or 4D .batched. input to max_pool2d"):
        F.max_pool2d(nr.zeros(4, 4), 2)


def test_pool_modules_repr_and_forward():
    torch = _torch()
    pairs = [(nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), torch.nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)),
             (nn.MaxPool1d(2), torch.nn.MaxPool1d(2)), (nn.AvgPool2d(2, stride=1, padding=1), torch.nn.AvgPool2d(2, stride=1, padding=1)),
             (nn.AvgPool1d(3), torch.nn.AvgPool1d(3)), (nn.AdaptiveAvgPool2d((1, None)), torch.nn.AdaptiveAvgPool2d((1, None))),
             (nn.AdaptiveAvgPool1d(2), torch.nn.AdaptiveAvgPool1d(2))]
    for m, tm in pairs:
        assert repr(m) == repr(tm)
        x = X1 if "1d" in type(m).__name__ else X
        assert_close(m(nr.tensor(x)).numpy(), tm(torch.tensor(x)).numpy())
    y, idx = nn.MaxPool2d(2, return_indices=True)(nr.tensor(X))
    assert idx.dtype == nr.int64 and tuple(idx.shape) == (2, 3, 4, 4)
