"""nn.functional: activations, linear/bilinear, pad, one_hot, softmax (NumPy references, torch, gradcheck)."""
import math
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import assert_close, raises, torch_or_none  # noqa: E402

import neurarust as nr  # noqa: E402
from neurarust.autograd import gradcheck  # noqa: E402
from neurarust.nn import functional as F  # noqa: E402


def _softplus(x, beta=1.0, th=20.0):
    return np.where(x * beta > th, x, np.log1p(np.exp(x * beta)) / beta)


_erf = np.vectorize(math.erf)
ACTIVATIONS = {
    "relu": (lambda x: np.maximum(x, 0), {}),
    "relu6": (lambda x: np.clip(x, 0, 6), {}),
    "hardtanh": (lambda x: np.clip(x, -0.5, 2.0), {"min_val": -0.5, "max_val": 2.0}),
    "leaky_relu": (lambda x: np.where(x > 0, x, 0.2 * x), {"negative_slope": 0.2}),
    "elu": (lambda x: np.where(x > 0, x, 1.5 * np.expm1(x)), {"alpha": 1.5}),
    "gelu": (lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))), {}),
    "silu": (lambda x: x / (1 + np.exp(-x)), {}),
    "mish": (lambda x: x * np.tanh(_softplus(x)), {}),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), {}),
    "tanh": (np.tanh, {}),
    "softplus": (lambda x: _softplus(x, 2.0, 3.0), {"beta": 2.0, "threshold": 3.0}),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5)])
def test_activation(name, shape):
    ref, kw = ACTIVATIONS[name]
    x = np.random.default_rng(0).uniform(-8, 8, shape)
    xt = nr.tensor(x, requires_grad=True)
    out = getattr(F, name)(xt, **kw)
    assert_close(out, ref(x))
    gradcheck(lambda a: getattr(F, name)(a, **kw), (xt,))
    torch = torch_or_none()
    if torch is not None:
        xr = torch.tensor(x, requires_grad=True)
        r = getattr(torch.nn.functional, name)(xr, **kw)
        g = np.random.default_rng(1).standard_normal(shape)
        r.backward(torch.tensor(g))
        out.backward(nr.tensor(g))
        assert_close(out, r)
        assert_close(xt.grad, xr.grad)


@pytest.mark.parametrize("name", ["relu", "relu6", "hardtanh", "leaky_relu", "elu", "silu", "mish"])
def test_inplace_activation(name):
    ref, kw = ACTIVATIONS[name]
    x = np.random.default_rng(2).uniform(-8, 8, (4, 3))
    leaf = nr.tensor(x, requires_grad=True)
    y = leaf * 1.0
    out = getattr(F, name)(y, inplace=True, **kw)
    assert out is y
    assert_close(y, ref(x))
    y.sum().backward()
    expected = nr.tensor(x, requires_grad=True)
    getattr(F, name)(expected, **kw).sum().backward()
    assert_close(leaf.grad, expected.grad)


def test_hardtanh_boundary_gradient_is_zero():
    x = nr.tensor([-1.0, 1.0, 0.0, 6.0], requires_grad=True)
    F.hardtanh(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.0]
    x.grad = None
    F.relu6(x).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0, 0.0]


def test_gelu_tanh_and_softmax():
    x = np.linspace(-3, 3, 12).reshape(3, 4)
    t = np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))
    assert_close(F.gelu(nr.tensor(x), approximate="tanh"), 0.5 * x * (1 + t))
    e = np.exp(x - x.max(1, keepdims=True))
    assert_close(F.softmax(nr.tensor(x), dim=1), e / e.sum(1, keepdims=True))
    assert_close(F.log_softmax(nr.tensor(x), dim=-1), np.log(e / e.sum(1, keepdims=True)))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        F.softmax(nr.tensor(x))


@pytest.mark.parametrize("xshape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(xshape, bias):
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal(xshape), rng.standard_normal((6, 3)), rng.standard_normal(6)
    args = [nr.tensor(x, requires_grad=True), nr.tensor(w, requires_grad=True)]
    if bias:
        args.append(nr.tensor(b, requires_grad=True))
    out = F.linear(*args)
    assert_close(out, x @ w.T + (b if bias else 0))
    gradcheck(F.linear, tuple(args))


def test_linear_float32_views_and_errors():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((8, 5)).astype(np.float32)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    # A transposed (non-contiguous) input and weight.
    out = F.linear(nr.tensor(x).t(), nr.tensor(w.T.copy()).t())
    assert_close(out, x.T @ w.T)
    with raises(nr.ShapeError, "[4, 3]", "[8, 5]"):
        F.linear(nr.ones(4, 3), nr.ones(8, 5))
    with raises(nr.DTypeError, "same dtype"):
        F.linear(nr.ones(4, 5, dtype=nr.float64), nr.ones(8, 5))


def test_bilinear():
    rng = np.random.default_rng(6)
    x1, x2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    w, b = rng.standard_normal((5, 3, 2)), rng.standard_normal(5)
    ts = [nr.tensor(a, requires_grad=True) for a in (x1, x2, w, b)]
    assert_close(F.bilinear(*ts), np.einsum("ni,oij,nj->no", x1, w, x2) + b)
    gradcheck(F.bilinear, tuple(ts))


PAD_CASES = [((2, 3), (1, 2), "constant"), ((2, 3, 4), (1, 0, 2, 1), "constant"), ((2, 5), (-1, 2), "constant"),
             ((2, 3, 4), (0, 0, 1, 1, 1, 0), "constant"), ((1, 2, 5), (2, 3), "reflect"),
             ((1, 4, 5), (2, 1, 3, 1), "reflect"), ((1, 2, 5), (2, 3), "replicate"),
             ((1, 3, 4), (1, 2, 2, 0), "replicate"), ((1, 2, 4), (2, 1), "circular")]


@pytest.mark.parametrize("shape,pad,mode", PAD_CASES)
def test_pad(shape, pad, mode):
    x = np.random.default_rng(7).standard_normal(shape)
    np_pad = [(0, 0)] * len(shape)
    for i in range(len(pad) // 2):
        np_pad[len(shape) - 1 - i] = (max(pad[2 * i], 0), max(pad[2 * i + 1], 0))
    np_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    kw = {"constant_values": 1.5} if mode == "constant" else {}
    expected = np.pad(x, np_pad, mode=np_mode, **kw)
    if mode == "constant" and min(pad) < 0:  # negative pads crop
        expected = expected[:, 1:] if pad[0] < 0 else expected
    xt = nr.tensor(x, requires_grad=True)
    value = 1.5 if mode == "constant" else None
    assert_close(F.pad(xt, pad, mode=mode, value=value), expected)
    gradcheck(lambda a: F.pad(a, pad, mode=mode, value=value), (xt,))
    torch = torch_or_none()
    if torch is not None:
        assert_close(F.pad(xt, pad, mode=mode, value=value),
                     torch.nn.functional.pad(torch.tensor(x), pad, mode=mode, value=value))


def test_pad_errors():
    with raises(ValueError, "even"):
        F.pad(nr.ones(2, 3), (1,))
    with raises(ValueError, "less than the corresponding input dimension"):
        F.pad(nr.ones(1, 2, 3), (3, 0), mode="reflect")
    with raises(ValueError, "unsupported padding mode"):
        F.pad(nr.ones(1, 2, 3), (1, 1), mode="mirror")


def test_one_hot():
    out = F.one_hot(nr.tensor([[0, 2], [1, 1]]))
    assert out.dtype == nr.int64 and out.shape == (2, 2, 3)
    assert out.tolist() == [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 1, 0]]]
    assert F.one_hot(nr.tensor([1]), 4).tolist() == [[0, 1, 0, 0]]
    with raises(IndexError, "smaller than num_classes"):
        F.one_hot(nr.tensor([3]), 3)
    with raises(IndexError, "non-negative"):
        F.one_hot(nr.tensor([-1]), 3)
    with raises(nr.DTypeError, "int64"):
        F.one_hot(nr.tensor([1.0]))


def test_namespace_exports():
    for name in ("linear", "cross_entropy", "one_hot", "pad", "dropout", "embedding", "mse_loss"):
        assert name in F.__all__ and callable(getattr(F, name))
