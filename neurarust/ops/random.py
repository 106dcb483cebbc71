"""Random tensors, seeded by ``manual_seed`` or by explicit ``Generator`` objects.

Example:
    >>> import neurarust as nr
    >>> _ = nr.manual_seed(0); a = nr.rand(3)
    >>> _ = nr.manual_seed(0); bool((a == nr.rand(3)).all())
    True
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .._core.tensor_base import TensorBase
from ..device import as_device, backend_for, seed_devices
from ..dtypes import get_default_dtype, int64
from ..errors import DTypeError, ShapeError
from ._util import as_shape, backend, dtype_arg, wrap

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "default_generator", "rand",
           "randn", "randint", "randperm", "normal", "bernoulli", "multinomial", "rand_like",
           "randn_like", "randint_like", "get_rng_state", "set_rng_state"]


class Generator:
    """A source of random numbers with its own seed and state.

    Example:
        >>> import neurarust as nr
        >>> g = nr.Generator().manual_seed(42)
        >>> a = nr.randn(2, generator=g); _ = g.manual_seed(42)
        >>> bool((a == nr.randn(2, generator=g)).all())
        True
    """

    def __init__(self, device="cpu"):
        self.device = as_device(device)
        self._seed = 67280421310721
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        if seed < -(2 ** 63) or seed >= 2 ** 64:
            raise ValueError(f"manual_seed(): seed must be within [-2**63, 2**64), got {seed}")
        self._seed = seed % (2 ** 64)
        self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self) -> int:
        new = int(np.random.SeedSequence().entropy % (2 ** 63))
        self.manual_seed(new)
        return new

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        from .creation import tensor

        state = self._rng.bit_generator.state
        words = [state["state"]["state"], state["state"]["inc"], state["has_uint32"], state["uinteger"]]
        raw = b"".join(int(w).to_bytes(16, "little") for w in words)
        return tensor(np.frombuffer(raw, np.uint8).copy())

    def set_state(self, new_state) -> "Generator":
        raw = bytes(new_state.numpy().astype(np.uint8).tobytes())
        if len(raw) != 64:
            raise ValueError("set_state(): invalid generator state (expected 64 bytes)")
        words = [int.from_bytes(raw[i:i + 16], "little") for i in range(0, 64, 16)]
        state = self._rng.bit_generator.state
        state["state"] = {"state": words[0], "inc": words[1]}
        state["has_uint32"], state["uinteger"] = words[2], words[3]
        self._rng.bit_generator.state = state
        return self

    def _numpy_generator(self) -> np.random.Generator:
        return self._rng


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator and every device's generator (CUDA included).

    Example:
        >>> import neurarust as nr
        >>> nr.manual_seed(1).initial_seed()
        1
    """
    generator = default_generator.manual_seed(seed)
    seed_devices(generator.initial_seed())
    return generator


def seed() -> int:
    """Seed the default generator non-deterministically and return the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed of the default generator."""
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state as a uint8 tensor."""
    return default_generator.get_state()


def set_rng_state(state) -> None:
    """Restore a state from :func:`get_rng_state`."""
    default_generator.set_state(state)


def _gen(generator):
    return default_generator if generator is None else generator


def _random(kind, size, generator, dtype, device, requires_grad, *params, op):
    shape = as_shape(size, op)
    dtype = dtype_arg(dtype) or get_default_dtype()
    if kind in ("uniform", "normal") and not dtype.is_floating_point:
        raise DTypeError(f"{op}(): expected a floating point dtype, got {dtype}")
    dev = as_device(device)
    data = backend_for(dev).random(_gen(generator), kind, shape, dtype.numpy, *params)
    t = wrap(data, dev, dtype)
    return t.requires_grad_() if requires_grad else t


def rand(*size, generator: Optional[Generator] = None, dtype=None, device=None,
         requires_grad: bool = False, **_ignored):
    """Uniform samples in [0, 1).

    Example:
        >>> import neurarust as nr
        >>> x = nr.rand(1000); bool((x >= 0).all() and (x < 1).all())
        True
    """
    return _random("uniform", size, generator, dtype, device, requires_grad, 0.0, 1.0, op="rand")


def randn(*size, generator: Optional[Generator] = None, dtype=None, device=None,
          requires_grad: bool = False, **_ignored):
    """Standard normal samples.

    Example:
        >>> import neurarust as nr
        >>> nr.randn(2, 3).shape
        neurarust.Size([2, 3])
    """
    return _random("normal", size, generator, dtype, device, requires_grad, 0.0, 1.0, op="randn")


def randint(low, high=None, size=None, *, generator: Optional[Generator] = None, dtype=None,
            device=None, requires_grad: bool = False, **_ignored):
    """Random integers in [low, high) (``randint(high, size)`` also works).

    Example:
        >>> import neurarust as nr
        >>> x = nr.randint(0, 5, (100,)); bool((x >= 0).all() and (x < 5).all()), x.dtype
        (True, neurarust.int64)
    """
    if size is None:
        if high is None:
            raise TypeError("randint(): missing the size argument")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if low >= high:
        raise ShapeError(f"randint(): expected low < high, but got low={low}, high={high}")
    shape = as_shape((size,), "randint")
    dtype = dtype_arg(dtype) or int64
    dev = as_device(device)
    data = backend_for(dev).random(_gen(generator), "randint", shape, dtype.numpy, int(low), int(high))
    return wrap(data, dev, dtype)


def randperm(n: int, *, generator: Optional[Generator] = None, dtype=None, device=None,
             requires_grad: bool = False, **_ignored):
    """A random permutation of ``0..n-1``.

    Example:
        >>> import neurarust as nr
        >>> sorted(nr.randperm(4).tolist())
        [0, 1, 2, 3]
    """
    if n < 0:
        raise ShapeError(f"randperm(): n must be non-negative, got {n}")
    dtype = dtype_arg(dtype) or int64
    dev = as_device(device)
    data = backend_for(dev).random(_gen(generator), "permutation", (n,), dtype.numpy, int(n))
    return wrap(data, dev, dtype)


def normal(mean=0.0, std=1.0, size=None, *, generator: Optional[Generator] = None, dtype=None,
           device=None, requires_grad: bool = False, **_ignored):
    """Normal samples; ``mean``/``std`` may be tensors (broadcast) or floats with ``size``.

    Example:
        >>> import neurarust as nr
        >>> nr.normal(nr.zeros(3), 1.0).shape, nr.normal(2.0, 3.0, size=(2,)).shape
        (neurarust.Size([3]), neurarust.Size([2]))
    """
    if isinstance(mean, TensorBase) or isinstance(std, TensorBase):
        ref = mean if isinstance(mean, TensorBase) else std
        if isinstance(std, TensorBase) and (std < 0).any():
            raise ValueError("normal(): std must be non-negative")
        shape = tuple(np.broadcast_shapes(tuple(getattr(mean, "shape", ())), tuple(getattr(std, "shape", ()))))
        z = randn(shape, generator=generator, dtype=ref.dtype, device=ref.device)
        # Reparameterised as in torch: d/dmean = 1, d/dstd = z.
        return z * std + mean
    if std < 0:
        raise ValueError(f"normal(): std must be non-negative, got {std}")
    return _random("normal", (size,) if size is not None else ((),), generator, dtype, device,
                   requires_grad, float(mean), float(std), op="normal")


def bernoulli(input, p=None, *, generator: Optional[Generator] = None, **_ignored):
    """Samples 1 with probability ``input`` (elementwise), 0 otherwise.

    Example:
        >>> import neurarust as nr
        >>> nr.bernoulli(nr.tensor([0.0, 1.0]))
        tensor([0., 1.])
    """
    probs = input if p is None else input.new_full(tuple(input.shape), float(p))
    arr = probs.detach()
    if not arr.dtype.is_floating_point:
        raise DTypeError(f"bernoulli(): expected a floating point tensor of probabilities, got {arr.dtype}")
    if ((arr < 0) | (arr > 1)).any():
        raise ValueError("bernoulli(): probabilities must be in [0, 1]")
    return wrap(backend(arr).bernoulli(_gen(generator), arr._data), arr.device, arr.dtype)


def multinomial(input, num_samples: int, replacement: bool = False, *,
                generator: Optional[Generator] = None, **_ignored):
    """Sample category indices from the rows of ``input`` (unnormalised probabilities).

    Example:
        >>> import neurarust as nr
        >>> nr.multinomial(nr.tensor([0.0, 1.0, 0.0]), 2, replacement=True)
        tensor([1, 1])
    """
    if input.ndim not in (1, 2):
        raise ShapeError(f"multinomial(): prob_dist must be 1 or 2 dim, got {input.ndim}")
    probs = input.detach()
    if (probs < 0).any() or not probs.isfinite().all():
        raise ValueError("multinomial(): probability tensor contains either `inf`, `nan` or element < 0")
    if ((probs.sum(-1) == 0)).any():
        raise ValueError("multinomial(): invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > input.shape[-1]:
        raise ValueError("multinomial(): cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if not replacement and ((probs > 0).sum(-1) < num_samples).any():
        raise ValueError("multinomial(): invalid multinomial distribution (with replacement=False, not enough non-negative category to sample)")
    return wrap(backend(probs).multinomial(_gen(generator), probs._data, int(num_samples), bool(replacement)),
                probs.device, int64)


def rand_like(input, *, dtype=None, device=None, requires_grad: bool = False, **_ignored):
    """Uniform samples with ``input``'s shape, dtype and device."""
    return rand(tuple(input.shape), dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad: bool = False, **_ignored):
    """Normal samples with ``input``'s shape, dtype and device."""
    return randn(tuple(input.shape), dtype=dtype or input.dtype, device=device or input.device,
                 requires_grad=requires_grad)


def randint_like(input, low, high=None, *, dtype=None, device=None, **_ignored):
    """Random integers with ``input``'s shape."""
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype, device=device or input.device)
