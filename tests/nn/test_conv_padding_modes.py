"""Conv1d / Conv2d ``padding_mode`` ('zeros', 'reflect', 'replicate', 'circular') against torch and NumPy."""
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import torch_or_skip as _torch  # noqa: E402

import neurarust as nr  # noqa: E402
from neurarust import nn  # noqa: E402
from neurarust.testing import assert_close  # noqa: E402

RNG = np.random.default_rng(7)
TOL = dict(rtol=1e-4, atol=1e-4)
MODES = ["zeros", "reflect", "replicate", "circular"]
NUMPY_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def _explicit_pads(padding, kernel, dilation):
    """(left, right) per spatial dim, with 'same' putting the odd remainder on the right."""
    if padding == "valid":
        return [(0, 0)] * len(kernel)
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [(t // 2, t - t // 2) for t in totals]
    return [(p, p) for p in padding]


def _numpy_conv(x, w, b, padding, stride, dilation, groups, mode):
    """Direct N-d cross-correlation of an explicitly padded input (independent of NeuraRust)."""
    spatial = w.ndim - 2
    pads = _explicit_pads(padding, w.shape[2:], dilation)
    x = np.pad(x, [(0, 0), (0, 0)] + pads, mode=NUMPY_PAD_MODE[mode])
    out_sizes = [(n - d * (k - 1) - 1) // s + 1
                 for n, k, s, d in zip(x.shape[2:], w.shape[2:], stride, dilation)]
    n, c = x.shape[:2]
    o = w.shape[0]
    cg, og = c // groups, o // groups
    y = np.zeros((n, o, *out_sizes), dtype=np.float64)
    for offset in np.ndindex(*w.shape[2:]):
        window = tuple(slice(k * d, k * d + s * (m - 1) + 1, s)
                       for k, d, s, m in zip(offset, dilation, stride, out_sizes))
        patch = x[(slice(None), slice(None)) + window]
        for g in range(groups):
            wg = w[(slice(g * og, (g + 1) * og), slice(None)) + offset]
            y[:, g * og:(g + 1) * og] += np.einsum("nc...,oc->no...", patch[:, g * cg:(g + 1) * cg], wg)
    if b is not None:
        y += b.reshape((1, -1) + (1,) * spatial)
    return y


def _copy_to_torch(module, torch, cls):
    kwargs = dict(stride=module.stride, padding=module.padding, dilation=module.dilation,
                  groups=module.groups, bias=module.bias is not None, padding_mode=module.padding_mode)
    tmod = cls(module.in_channels, module.out_channels, module.kernel_size, **kwargs)
    with torch.no_grad():
        tmod.weight.copy_(torch.tensor(module.weight.detach().numpy()))
        if tmod.bias is not None:
            tmod.bias.copy_(torch.tensor(module.bias.detach().numpy()))
    return tmod


CONV2D_CASES = [
    # in_channels, out_channels, kernel, options, input (H, W)
    (3, 4, 3, dict(padding=1), (6, 7)),
    (2, 4, (3, 2), dict(padding=(2, 1), stride=(2, 1)), (7, 6)),
    (4, 6, 3, dict(padding=2, dilation=2, groups=2), (8, 9)),
    (2, 3, (4, 3), dict(padding="same"), (6, 5)),
    (2, 2, (2, 4), dict(padding="same", dilation=(2, 1), bias=False), (7, 6)),
    (3, 2, 3, dict(padding="valid", stride=2), (7, 7)),
    (2, 3, 3, dict(padding=(0, 2)), (5, 6)),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cin,cout,kernel,opts,hw", CONV2D_CASES)
def test_conv2d_padding_mode_matches_torch_and_numpy(mode, cin, cout, kernel, opts, hw):
    torch = _torch()
    nr.manual_seed(0)
    m = nn.Conv2d(cin, cout, kernel, padding_mode=mode, **opts)
    tm = _copy_to_torch(m, torch, torch.nn.Conv2d)
    x = _randn(2, cin, *hw)
    xn, xt = nr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(xn), tm(xt)
    assert tuple(y.shape) == tuple(ty.shape)
    assert_close(y.detach().numpy(), ty.detach().numpy(), **TOL)
    bias = None if m.bias is None else m.bias.detach().numpy().astype(np.float64)
    ref = _numpy_conv(x.astype(np.float64), m.weight.detach().numpy().astype(np.float64), bias,
                      m.padding, m.stride, m.dilation, m.groups, mode)
    assert_close(y.detach().numpy(), ref.astype(np.float32), **TOL)
    g = _randn(*y.shape)
    (y * nr.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    assert_close(xn.grad.numpy(), xt.grad.numpy(), **TOL)
    assert_close(m.weight.grad.numpy(), tm.weight.grad.numpy(), **TOL)
    if m.bias is not None:
        assert_close(m.bias.grad.numpy(), tm.bias.grad.numpy(), **TOL)


CONV1D_CASES = [
    (3, 4, 3, dict(padding=1), 9),
    (2, 4, 4, dict(padding="same", dilation=2), 10),
    (4, 2, 3, dict(padding=2, stride=2, groups=2), 8),
    (2, 3, 2, dict(padding="valid", bias=False), 6),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cin,cout,kernel,opts,length", CONV1D_CASES)
def test_conv1d_padding_mode_matches_torch_and_numpy(mode, cin, cout, kernel, opts, length):
    torch = _torch()
    nr.manual_seed(1)
    m = nn.Conv1d(cin, cout, kernel, padding_mode=mode, **opts)
    tm = _copy_to_torch(m, torch, torch.nn.Conv1d)
    x = _randn(3, cin, length)
    xn, xt = nr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(xn), tm(xt)
    assert_close(y.detach().numpy(), ty.detach().numpy(), **TOL)
    bias = None if m.bias is None else m.bias.detach().numpy().astype(np.float64)
    ref = _numpy_conv(x.astype(np.float64), m.weight.detach().numpy().astype(np.float64), bias,
                      m.padding, m.stride, m.dilation, m.groups, mode)
    assert_close(y.detach().numpy(), ref.astype(np.float32), **TOL)
    g = _randn(*y.shape)
    (y * nr.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    assert_close(xn.grad.numpy(), xt.grad.numpy(), **TOL)
    assert_close(m.weight.grad.numpy(), tm.weight.grad.numpy(), **TOL)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_mode_gradcheck_float64(mode):
    nr.manual_seed(2)
    m2 = nn.Conv2d(2, 2, (3, 2), padding="same", padding_mode=mode, dtype=nr.float64)
    x2 = nr.tensor(RNG.standard_normal((1, 2, 4, 3)), requires_grad=True)
    # gradcheck perturbs the parameters in place, so the module sees every perturbation.
    assert nr.autograd.gradcheck(lambda x, w, b: m2(x), [x2, m2.weight, m2.bias])
    assert nr.autograd.gradgradcheck(lambda x, w, b: m2(x), [x2, m2.weight, m2.bias])
    m1 = nn.Conv1d(2, 3, 3, padding=2, stride=2, padding_mode=mode, dtype=nr.float64)
    x1 = nr.tensor(RNG.standard_normal((2, 2, 5)), requires_grad=True)
    assert nr.autograd.gradcheck(lambda x, w, b: m1(x), [x1, m1.weight, m1.bias])


@pytest.mark.parametrize("mode", ["reflect", "circular"])
def test_padding_mode_unbatched_and_non_contiguous_inputs(mode):
    torch = _torch()
    nr.manual_seed(3)
    m = nn.Conv2d(3, 2, 3, padding=(1, 2), padding_mode=mode)
    tm = _copy_to_torch(m, torch, torch.nn.Conv2d)
    x = _randn(2, 6, 5, 3)  # NHWC storage, permuted to NCHW: a non-contiguous input
    xn, xt = nr.tensor(x).permute(0, 3, 1, 2), torch.tensor(x).permute(0, 3, 1, 2)
    assert not xn.is_contiguous()
    assert_close(m(xn).detach().numpy(), tm(xt).detach().numpy(), **TOL)
    sliced = _randn(3, 7, 11)
    assert_close(m(nr.tensor(sliced)[:, 1:, ::2]).detach().numpy(),
                 tm(torch.tensor(sliced)[:, 1:, ::2]).detach().numpy(), **TOL)
    m1 = nn.Conv1d(3, 2, 3, padding=1, padding_mode=mode)
    tm1 = _copy_to_torch(m1, torch, torch.nn.Conv1d)
    x1 = _randn(3, 6)
    y1 = m1(nr.tensor(x1))
    assert tuple(y1.shape) == (2, 6)
    assert_close(y1.detach().numpy(), tm1(torch.tensor(x1)).detach().numpy(), **TOL)


def test_circular_padding_equals_periodic_convolution():
    # With circular padding a kernel of ones sums each periodic neighbourhood: x[i-1] + x[i] + x[i+1].
    m = nn.Conv1d(1, 1, 3, padding=1, padding_mode="circular", bias=False)
    with nr.no_grad():
        m.weight.fill_(1.0)
    x = np.arange(6.0, dtype=np.float32)
    y = m(nr.tensor(x).view(1, 1, 6)).detach().numpy().reshape(-1)
    assert_close(y, np.roll(x, 1) + x + np.roll(x, -1))


def test_padding_mode_attributes_repr_and_state_dict_match_torch():
    torch = _torch()
    configs = [
        (nn.Conv2d, torch.nn.Conv2d, (3, 6, (3, 4)), dict(padding="same", padding_mode="reflect")),
        (nn.Conv2d, torch.nn.Conv2d, (3, 6, 3), dict(padding=(1, 2), padding_mode="replicate", bias=False)),
        (nn.Conv2d, torch.nn.Conv2d, (2, 2, 3), dict(padding="valid", padding_mode="circular")),
        (nn.Conv1d, torch.nn.Conv1d, (4, 8, 4), dict(padding="same", dilation=3, padding_mode="circular")),
        (nn.Conv1d, torch.nn.Conv1d, (4, 8, 3), dict(stride=2, padding=1)),
    ]
    for cls, tcls, args, kwargs in configs:
        m, tm = cls(*args, **kwargs), tcls(*args, **kwargs)
        assert repr(m) == repr(tm)
        assert m.padding_mode == tm.padding_mode and m.padding == tm.padding
        assert list(m._reversed_padding_repeated_twice) == list(tm._reversed_padding_repeated_twice)
        assert list(m.state_dict()) == list(tm.state_dict())
        assert [n for n, _ in m.named_parameters()] == [n for n, _ in tm.named_parameters()]


def test_padding_mode_errors_match_torch():
    torch = _torch()
    for bad in ("reflection", "constant", "Zeros"):
        with pytest.raises(ValueError, match=r"padding_mode must be one of \{.*\}, but got "
                                             rf"padding_mode='{bad}'") as ours:
            nn.Conv2d(1, 1, 3, padding_mode=bad)
        with pytest.raises(ValueError) as theirs:
            torch.nn.Conv2d(1, 1, 3, padding_mode=bad)
        assert str(ours.value).split("but got")[1] == str(theirs.value).split("but got")[1]
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv1d(1, 1, 3, padding_mode="symmetric")
    for mode in ("reflect", "circular", "nonsense"):
        with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose2d'):
            nn.ConvTranspose2d(1, 1, 3, padding_mode=mode)
    # torch validates the padding string before the padding mode.
    with pytest.raises(ValueError, match="Invalid padding string 'full'"):
        nn.Conv2d(1, 1, 3, padding="full", padding_mode="nonsense")
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same", padding_mode="reflect")
