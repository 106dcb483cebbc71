"""Random methods of the CUDA backend (kernels in ``kernels/random.py``).

Numbers come from a counter-based Philox4x32-10 stream.  The default
generator uses the device's seed (set by ``nr.manual_seed``) and advances
its offset (``runtime.next_philox``), so a sequence of draws replays after
``manual_seed``.  An explicit ``Generator`` gives each draw a fresh Philox
key taken from its own stream, so it replays after ``g.manual_seed`` and
``g.set_state`` without any extra state on the generator.
"""
from __future__ import annotations

import numpy as np

from .array import CUDAArray

__all__ = ["RandomMethods", "philox_key"]

_I64 = np.dtype(np.int64)


def philox_key(generator, rt, words: int):
    """``(seed, base block)`` for a kernel drawing ``words`` 32-bit words, as int64 kernel arguments.

    Example:
        >>> from neurarust.ops.random import Generator
        >>> philox_key(Generator().manual_seed(3), None, 8) == philox_key(Generator().manual_seed(3), None, 8)
        True
    """
    from ...ops.random import default_generator

    if generator is None or generator is default_generator:
        seed, offset = rt.next_philox(words)
    else:
        seed, offset = int(generator._numpy_generator().integers(0, 2 ** 64, dtype=np.uint64)), 0
    return np.uint64(seed).view(np.int64), np.int64(offset // 4)


class RandomMethods:
    """random (uniform, normal, randint, permutation), bernoulli, multinomial."""

    def _rand_fn(self, dtype: str, op: str, fmt: str):
        return self.rt.function("random", (dtype,), f"nr_rand_{op}_{dtype}", fmt)

    def random(self, generator, kind, shape, np_dtype, *params):
        dtype = np.dtype(np_dtype)
        n = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if kind in ("uniform", "normal"):
            # float16 is drawn in float32 and rounded, like the CPU backend.
            key = dtype.name if dtype.kind == "f" else "float32"
            out = self.empty(shape, key)
            per_call = 2 if key == "float64" else 4
            a, b = params
            scale, shift = (b - a, a) if kind == "uniform" else (b, a)
            seed, base = philox_key(generator, self.rt, 4 * -(-n // per_call))
            self.rt.launch(self._rand_fn(key, kind, "Pqqddq"), -(-n // per_call), out.ptr, seed, base,
                           np.float64(scale), np.float64(shift), np.int64(n))
        elif kind == "randint":
            low, high = params
            out = self._randint(generator, shape, n, low, high)
        elif kind == "permutation":
            keys = self._randint(generator, (n,), n, 0, 0)  # range 0: all 64-bit values
            out = self.sort(keys, 0, False, True)[1]
        else:  # pragma: no cover - internal misuse
            raise ValueError(kind)
        return out if out.dtype == dtype else self.cast(out, dtype)

    def _randint(self, generator, shape, n, low, high) -> CUDAArray:
        out = self.empty(shape, _I64)
        span = (int(high) - int(low)) % 2 ** 64  # 0 stands for the full 64-bit range
        seed, base = philox_key(generator, self.rt, 4 * -(-n // 2))
        self.rt.launch(self._rand_fn("int64", "randint", "Pqqqqq"), -(-n // 2), out.ptr, seed, base,
                       np.int64(low), np.uint64(span).view(np.int64), np.int64(n))
        return out

    def bernoulli(self, generator, p):
        p = self._dense(p)
        out = self.empty(p.shape, p.dtype)
        n = p.size
        seed, base = philox_key(generator, self.rt, 4 * -(-n // 2))
        self.rt.launch(self._rand_fn(p.dtype.name, "bernoulli", "PPqqq"), -(-n // 2), out.ptr, p.ptr, seed, base,
                       np.int64(n))
        return out

    def multinomial(self, generator, probs, num_samples, replacement):
        probs = self._dense(probs)
        k = probs.shape[-1]
        rows = probs.size // k
        dt = probs.dtype.name
        out_shape = probs.shape[:-1] + (num_samples,)
        if rows == 0 or num_samples == 0:
            return self.empty(out_shape, _I64)
        if replacement:
            cdf = self.empty((rows, k), np.float64)
            self.rt.launch_grid(self._rand_fn(dt, "cdf", "PPq"), (rows, 1, 1), (256, 1, 1), probs.ptr, cdf.ptr,
                                np.int64(k))
            out = self.empty(out_shape, _I64)
            n = rows * num_samples
            seed, base = philox_key(generator, self.rt, 4 * n)
            self.rt.launch(self._rand_fn(dt, "draw", "PPqqqqq"), n, cdf.ptr, out.ptr, np.int64(k),
                           np.int64(num_samples), seed, base, np.int64(n))
            return out
        keys = self.empty((rows, k), np.float64)
        n = rows * k
        seed, base = philox_key(generator, self.rt, 4 * n)
        self.rt.launch(self._rand_fn(dt, "race", "PPqqq"), n, probs.ptr, keys.ptr, seed, base, np.int64(n))
        order = self.sort(keys, 1, False, True)[1]
        first = CUDAArray(order.storage, (rows, num_samples), order.strides, order.offset, _I64)
        return self.reshape_view(self.contiguous(first), out_shape)
