"""Conv1d / Conv2d / ConvTranspose2d and their functional forms, against torch and NumPy."""
import math
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
from neurarust.errors import DTypeError, ShapeError  # noqa: E402
from neurarust.nn import _functional_conv as F  # noqa: E402
from neurarust.testing import assert_close  # noqa: E402

RNG = np.random.default_rng(0)
TOL = dict(rtol=1e-4, atol=1e-4)


def _randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


CONV2D_CASES = [
    # (N, C, H, W), (O, kh, kw), options
    ((2, 3, 7, 6), (4, 3, 3), dict(padding=1)),
    ((2, 4, 9, 8), (6, 3, 3), dict(stride=2, dilation=2, groups=2)),
    ((1, 2, 5, 5), (2, 1, 1), dict()),
    ((2, 6, 8, 7), (6, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=3)),
    ((2, 3, 7, 6), (4, 3, 3), dict(padding="same", dilation=2)),
    ((2, 3, 7, 6), (4, 4, 4), dict(padding="same")),
    ((2, 3, 7, 6), (4, 3, 3), dict(padding="valid")),
    ((3, 7, 6), (4, 3, 3), dict(padding=1)),  # unbatched
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xshape,wshape,opts", CONV2D_CASES)
def test_conv2d_matches_torch(xshape, wshape, opts, bias):
    torch = _torch()
    c = xshape[-3]
    g = opts.get("groups", 1)
    arrays = [_randn(*xshape), _randn(wshape[0], c // g, *wshape[1:])] + ([_randn(wshape[0])] if bias else [])
    compare(lambda x, w, *b: F.conv2d(x, w, b[0] if b else None, **opts),
            lambda x, w, *b: torch.nn.functional.conv2d(x, w, b[0] if b else None, **opts),
            arrays, torch, **TOL)


@pytest.mark.parametrize("opts", [dict(), dict(stride=2, padding=1, dilation=2), dict(groups=2, padding="same")])
def test_conv1d_matches_torch(opts):
    torch = _torch()
    arrays = [_randn(2, 4, 11), _randn(6, 4 // opts.get("groups", 1), 3), _randn(6)]
    compare(lambda x, w, b: F.conv1d(x, w, b, **opts),
            lambda x, w, b: torch.nn.functional.conv1d(x, w, b, **opts), arrays, torch, **TOL)


@pytest.mark.parametrize("opts", [dict(stride=2, padding=1, output_padding=1, groups=2),
                                  dict(dilation=2), dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2))])
def test_conv_transpose2d_matches_torch(opts):
    torch = _torch()
    g = opts.get("groups", 1)
    arrays = [_randn(2, 4, 5, 6), _randn(4, 6 // g, 3, 3), _randn(6)]
    compare(lambda x, w, b: F.conv_transpose2d(x, w, b, **opts),
            lambda x, w, b: torch.nn.functional.conv_transpose2d(x, w, b, **opts), arrays, torch, **TOL)


def test_conv2d_against_numpy_loop():
    x, w, b = _randn(2, 3, 5, 4, dtype=np.float64), _randn(2, 3, 2, 3, dtype=np.float64), _randn(2, dtype=np.float64)
    y = F.conv2d(nr.tensor(x), nr.tensor(w), nr.tensor(b), stride=(1, 2), padding=1).numpy()
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ref = np.zeros((2, 2, 6, 2))
    for i in range(6):
        for j in range(2):
            patch = xp[:, :, i:i + 2, 2 * j:2 * j + 3]
            ref[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w) + b
    assert_close(y, ref)


def test_conv_gradcheck_and_double_backward():
    x = nr.tensor(_randn(1, 2, 5, 4, dtype=np.float64), requires_grad=True)
    w = nr.tensor(_randn(4, 1, 3, 2, dtype=np.float64), requires_grad=True)
    b = nr.tensor(_randn(4, dtype=np.float64), requires_grad=True)
    assert nr.autograd.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2), (x, w, b))
    assert nr.autograd.gradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2, output_padding=1),
                                 (nr.tensor(_randn(1, 4, 2, 3, dtype=np.float64), requires_grad=True),
                                  nr.tensor(_randn(4, 2, 2, 2, dtype=np.float64), requires_grad=True)))
    # double backward: the gradient of sum(grad_x ** 2) w.r.t. w, against central differences
    def g2(wt):
        with nr.enable_grad():  # gradcheck evaluates its numerical part without grad
            (gx,) = nr.autograd.grad(F.conv2d(x, wt, padding=1).pow(2).sum(), (x,), create_graph=True)
            return gx.pow(2).sum()
    w1 = nr.tensor(_randn(2, 2, 3, 3, dtype=np.float64), requires_grad=True)
    assert nr.autograd.gradcheck(g2, (w1,))


def test_conv_errors_read_like_torch():
    with pytest.raises(ShapeError, match=r"Given groups=1, weight of size \[32, 1, 3, 3\], expected "
                                         r"input\[64, 3, 28, 28\] to have 1 channels, but got 3 channels instead"):
        F.conv2d(nr.zeros(64, 3, 28, 28), nr.zeros(32, 1, 3, 3))
    with pytest.raises(ShapeError, match="Expected 3D .unbatched. or 4D .batched. input to conv2d"):
        F.conv2d(nr.zeros(3, 3), nr.zeros(1, 1, 1, 1))
    with pytest.raises(ShapeError, match="expected bias to be 1-dimensional with 2 elements"):
        F.conv2d(nr.zeros(1, 1, 3, 3), nr.zeros(2, 1, 1, 1), nr.zeros(3))
    with pytest.raises(ShapeError, match="Kernel size can't be greater than actual input size"):
        F.conv2d(nr.zeros(1, 1, 2, 2), nr.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(nr.zeros(1, 1, 5, 5), nr.zeros(1, 1, 3, 3), stride=2, padding="same")
    with pytest.raises(DTypeError):
        F.conv2d(nr.zeros(1, 1, 3, 3, dtype=nr.int64), nr.zeros(1, 1, 1, 1, dtype=nr.int64))
    with pytest.raises(ValueError, match="output padding"):
        F.conv_transpose2d(nr.zeros(1, 1, 3, 3), nr.zeros(1, 1, 3, 3), stride=2, output_padding=2)


def test_conv_modules_init_repr_and_torch_parity():
    torch = _torch()
    nr.manual_seed(0)
    m = nn.Conv2d(3, 8, 3, padding=1)
    bound_w = 1 / math.sqrt(27)  # kaiming_uniform(a=sqrt(5)) on fan_in 27 gives bound 1/sqrt(fan_in)
    assert float(m.weight.abs().max()) <= bound_w and float(m.bias.abs().max()) <= bound_w
    assert float(m.weight.std()) > 0.5 * bound_w / math.sqrt(3)
    assert repr(m) == "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    tm = torch.nn.Conv2d(3, 8, 3, padding=1)
    assert repr(m) == repr(tm)
    for mod, tmod, shape in [(nn.Conv1d(4, 6, 3, stride=2, groups=2, bias=False),
                              torch.nn.Conv1d(4, 6, 3, stride=2, groups=2, bias=False), (2, 4, 9)),
                             (nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
                              torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1), (1, 4, 3, 3))]:
        assert repr(mod) == repr(tmod)
        with torch.no_grad():
            tmod.weight.copy_(torch.tensor(mod.weight.detach().numpy()))
            if tmod.bias is not None:
                tmod.bias.copy_(torch.tensor(mod.bias.detach().numpy()))
        x = _randn(*shape)
        y, ty = mod(nr.tensor(x)), tmod(torch.tensor(x))
        assert_close(y.detach().numpy(), ty.detach().numpy(), **TOL)
        y.sum().backward(), ty.sum().backward()
        assert_close(mod.weight.grad.numpy(), tmod.weight.grad.numpy(), **TOL)
    up = nn.ConvTranspose2d(2, 2, 3, stride=2)
    assert tuple(up(nr.zeros(1, 2, 4, 4), output_size=(10, 10)).shape) == (1, 2, 10, 10)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="divisible"):
        nn.Conv2d(3, 4, 3, groups=2)
