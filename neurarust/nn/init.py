"""Parameter initialisation, as ``torch.nn.init``: every function fills its tensor in place.

All functions run without recording autograd history and return the tensor.

Example:
    >>> import neurarust as nr
    >>> w = nr.empty(3, 5)
    >>> _ = nr.nn.init.kaiming_uniform_(w, a=5 ** 0.5)
    >>> bool(w.abs().max() <= 1 / 5 ** 0.5)
    True
"""
from __future__ import annotations

import math
import warnings
from typing import Optional, Tuple

import numpy as np

from .._core.tensor_base import TensorBase
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_"]

_LINEAR_LIKE = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid"}


def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
    """The recommended gain for a nonlinearity (``param``: leaky_relu's negative slope).

    Example:
        >>> from neurarust.nn.init import calculate_gain
        >>> calculate_gain("relu"), calculate_gain("tanh"), calculate_gain("leaky_relu", 0.2)
        (1.4142135623730951, 1.6666666666666667, 1.3867504905630728)
    """
    if nonlinearity in _LINEAR_LIKE:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _check(tensor: Tensor, name: str) -> None:
    if not isinstance(tensor, TensorBase):
        raise TypeError(f"{name}(): tensor must be a Tensor, got {type(tensor).__name__}")


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with samples of U(a, b).

    Example:
        >>> import neurarust as nr
        >>> w = nr.nn.init.uniform_(nr.empty(100), -2.0, -1.0)
        >>> bool((w >= -2).all() and (w < -1).all())
        True
    """
    _check(tensor, "uniform_")
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with samples of N(mean, std**2).

    Example:
        >>> import neurarust as nr
        >>> nr.nn.init.normal_(nr.empty(2, 3), std=0.0)
        tensor([[0., 0., 0.],
                [0., 0., 0.]])
    """
    _check(tensor, "normal_")
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None) -> Tensor:
    """Fill with N(mean, std**2) samples truncated to [a, b] (inverse-CDF sampling).

    Example:
        >>> import neurarust as nr
        >>> w = nr.nn.init.trunc_normal_(nr.empty(1000), a=-0.5, b=0.5)
        >>> bool((w >= -0.5).all() and (w <= 0.5).all())
        True
    """
    _check(tensor, "trunc_normal_")
    from scipy.special import ndtr, ndtri

    from ..ops.creation import from_numpy
    from ..ops.random import rand

    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    # Uniform samples between the CDF values of the bounds, mapped back through the
    # normal quantile function: exact truncation, no rejection loop.
    lo, hi = ndtr((a - mean) / std), ndtr((b - mean) / std)
    u = rand(tuple(tensor.shape), generator=generator, dtype=None).numpy().astype(np.float64)
    values = ndtri(lo + (hi - lo) * u) * std + mean
    values = np.clip(values, a, b)
    with no_grad():
        return tensor.copy_(from_numpy(values))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``.

    Example:
        >>> import neurarust as nr
        >>> nr.nn.init.constant_(nr.empty(2), 0.5)
        tensor([0.5000, 0.5000])
    """
    _check(tensor, "constant_")
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones.

    Example:
        >>> import neurarust as nr
        >>> nr.nn.init.ones_(nr.empty(2))
        tensor([1., 1.])
    """
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros.

    Example:
        >>> import neurarust as nr
        >>> nr.nn.init.zeros_(nr.empty(2))
        tensor([0., 0.])
    """
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the main diagonal).

    Example:
        >>> import neurarust as nr
        >>> nr.nn.init.eye_(nr.empty(2, 3))
        tensor([[1., 0., 0.],
                [0., 1., 0.]])
    """
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    from ..ops.creation import eye

    with no_grad():
        return tensor.copy_(eye(*tensor.shape, dtype=tensor.dtype))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3/4/5-D convolution weight with the Dirac delta (convolution keeps the input).

    Example:
        >>> import neurarust as nr
        >>> nr.nn.init.dirac_(nr.empty(2, 2, 3))[:, :, 1]
        tensor([[1., 0.],
                [0., 1.]])
    """
    _check(tensor, "dirac_")
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    out_channels = tensor.shape[0]
    if out_channels % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = out_channels // groups
    n = min(per_group, tensor.shape[1])
    values = np.zeros(tuple(tensor.shape), dtype=np.float64)
    centre = tuple(s // 2 for s in tensor.shape[2:])
    for g in range(groups):
        for d in range(n):
            values[(g * per_group + d, d) + centre] = 1
    from ..ops.creation import from_numpy

    with no_grad():
        return tensor.copy_(from_numpy(values))


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> Tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    receptive_field = 1
    for s in tensor.shape[2:]:
        receptive_field *= s
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot uniform: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    Example:
        >>> import neurarust as nr
        >>> w = nr.nn.init.xavier_uniform_(nr.empty(30, 20))
        >>> bool(w.abs().max() <= (6 / 50) ** 0.5)
        True
    """
    _check(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot normal: N(0, std**2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Example:
        >>> import neurarust as nr
        >>> nr.nn.init.xavier_normal_(nr.empty(4, 4)).shape
        neurarust.Size([4, 4])
    """
    _check(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """He uniform: U(-b, b) with ``b = gain * sqrt(3 / fan)``.

    Example:
        >>> import neurarust as nr
        >>> w = nr.nn.init.kaiming_uniform_(nr.empty(8, 6), nonlinearity="relu")
        >>> bool(w.abs().max() <= (6 / 6) ** 0.5)
        True
    """
    _check(tensor, "kaiming_uniform_")
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """He normal: N(0, std**2) with ``std = gain / sqrt(fan)``.

    Example:
        >>> import neurarust as nr
        >>> nr.nn.init.kaiming_normal_(nr.empty(3, 2), mode="fan_out").shape
        neurarust.Size([3, 2])
    """
    _check(tensor, "kaiming_normal_")
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix (of the tensor flattened to 2-D), scaled by ``gain``.

    Example:
        >>> import neurarust as nr
        >>> w = nr.nn.init.orthogonal_(nr.empty(3, 5))
        >>> nr.testing.assert_close(w @ w.t(), nr.eye(3), atol=1e-5, rtol=0)
    """
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    from ..ops.creation import from_numpy
    from ..ops.random import randn

    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = randn(rows, cols, generator=generator, dtype=None).numpy().astype(np.float64)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    # Signs of R's diagonal make the decomposition unique, so Q is Haar-distributed.
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    with no_grad():
        return tensor.copy_(from_numpy(np.ascontiguousarray(q * gain)).reshape(tuple(tensor.shape)))
