"""Fused optimizer steps on the GPU (kernels in ``kernels/nn_optim.py``).

Same contract as the CPU backend's ``*_step_`` methods: return False,
touching nothing, when the dtype has no kernel (the optimizer then runs its
tensor-op path); raise the CPU kernels' errors for invalid operands; update
the parameter and its state in place in one pass.  Operands may have any
strides (a gradient may be broadcast); ``strided_launch`` picks the flat
kernel when every operand is C-contiguous.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .array import CUDAArray
from .codegen import kernel_name
from .kernels import nn_optim as K
from .launch import strided_launch

__all__ = ["OptimMethods", "operands_overlap"]

_OPTIM_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def operands_overlap(a: CUDAArray, b: CUDAArray) -> bool:
    """Whether two arrays may share an element: same storage and intersecting byte ranges.

    Conservative for interleaved views (``x[::2]`` and ``x[1::2]`` count as overlapping).

    Example:
        >>> from types import SimpleNamespace
        >>> block = SimpleNamespace(ptr=4096, nbytes=64, device_index=0)
        >>> a = CUDAArray(block, (4,), (1,), 0, np.float32)
        >>> [operands_overlap(a, CUDAArray(block, (4,), (1,), at, np.float32)) for at in (3, 4)]
        [True, False]
    """
    if a.size == 0 or b.size == 0 or a.storage.ptr != b.storage.ptr:
        return False
    lo_a, hi_a = a.span()
    lo_b, hi_b = b.span()
    return lo_a * a.itemsize < hi_b * b.itemsize and lo_b * b.itemsize < hi_a * a.itemsize


class OptimMethods:
    """``sgd_step_``, ``adam_step_``, ``rmsprop_step_``, ``adagrad_step_``."""

    def _optim_run(self, op: str, fname: str, ops: list, roles: Sequence[str], hyper: Sequence[float],
                   flags: int) -> None:
        param = ops[0]
        for k, a in enumerate(ops[1:], 1):
            if a is None:
                continue
            if not isinstance(a, CUDAArray):
                raise TypeError(f"{fname}: {roles[k]} must be a CUDA array, got {type(a).__name__}")
            if a.dtype != param.dtype:
                raise TypeError(f"{fname}: {roles[k]} must have the param's dtype {param.dtype}, got {a.dtype}")
            if a.shape != param.shape:
                raise ValueError(f"{fname}: {roles[k]} of shape {a.shape} does not match the param's "
                                 f"shape {param.shape}")
        present = [k for k, a in enumerate(ops) if a is not None]
        for i, k in enumerate(present):
            for j in present[i + 1:]:
                if operands_overlap(ops[k], ops[j]):
                    raise ValueError(f"{fname}: {roles[k]} and {roles[j]} share memory")
        # Absent buffers are never touched by the kernel: the parameter stands in for them.
        arrays = [param if a is None else a for a in ops]
        dtype = param.dtype.name
        rt = self.rt
        extra = tuple(np.float64(h) for h in hyper) + (np.int32(flags),)
        strided_launch(rt, lambda layout, fmt: rt.function("nn_optim", (dtype, layout),
                                                           kernel_name("optim", op, dtype, layout), fmt),
                       param.shape, arrays, extra=extra, extra_format=K.extra_format(op))

    def sgd_step_(self, param, grad, momentum_buffer, lr, momentum, dampening, weight_decay,
                  nesterov, maximize, first):
        if param.dtype not in _OPTIM_DTYPES or grad.dtype != param.dtype:
            return False
        fname = "sgd_step"
        if (nesterov or first) and momentum_buffer is None:
            raise ValueError(f"{fname}: nesterov and first need a momentum_buffer")
        flags = ((K.F_L2 if weight_decay != 0 else 0) | (K.F_BUF if momentum_buffer is not None else 0)
                 | (K.F_FIRST if first else 0) | (K.F_NESTEROV if nesterov else 0))
        self._optim_run("sgd", fname, [param, grad, momentum_buffer, None, None],
                        ("param", "grad", "momentum_buffer", "", ""),
                        (-1.0 if maximize else 1.0, lr, momentum, dampening, weight_decay), flags)
        return True

    def adam_step_(self, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2,
                   eps, weight_decay, decoupled, step_size, bias_correction2_sqrt, maximize):
        if param.dtype not in _OPTIM_DTYPES or grad.dtype != param.dtype:
            return False
        fname = "adam_step"
        if exp_avg is None or exp_avg_sq is None:
            raise ValueError(f"{fname}: exp_avg and exp_avg_sq are required")
        if not bias_correction2_sqrt > 0:
            raise ValueError(f"{fname}: bias_correction2_sqrt must be > 0, got {bias_correction2_sqrt}")
        flags = ((K.F_L2 if weight_decay != 0 and not decoupled else 0)
                 | (K.F_BUF if max_exp_avg_sq is not None else 0))
        decay = 1.0 - lr * weight_decay if decoupled else 1.0
        self._optim_run("adam", fname, [param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq],
                        ("param", "grad", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
                        (-1.0 if maximize else 1.0, beta1, beta2, eps, weight_decay, decay, step_size,
                         bias_correction2_sqrt), flags)
        return True

    def rmsprop_step_(self, param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
                      weight_decay, momentum, maximize):
        if param.dtype not in _OPTIM_DTYPES or grad.dtype != param.dtype:
            return False
        fname = "rmsprop_step"
        if square_avg is None:
            raise ValueError(f"{fname}: square_avg is required")
        flags = ((K.F_L2 if weight_decay != 0 else 0) | (K.F_BUF if momentum_buffer is not None else 0)
                 | (K.F_CENTERED if grad_avg is not None else 0))
        self._optim_run("rmsprop", fname, [param, grad, square_avg, grad_avg, momentum_buffer],
                        ("param", "grad", "square_avg", "grad_avg", "momentum_buffer"),
                        (-1.0 if maximize else 1.0, lr, alpha, eps, weight_decay, momentum), flags)
        return True

    def adagrad_step_(self, param, grad, state_sum, clr, weight_decay, eps, maximize):
        if param.dtype not in _OPTIM_DTYPES or grad.dtype != param.dtype:
            return False
        fname = "adagrad_step"
        if state_sum is None:
            raise ValueError(f"{fname}: state_sum is required")
        self._optim_run("adagrad", fname, [param, grad, state_sum, None, None],
                        ("param", "grad", "sum", "", ""),
                        (-1.0 if maximize else 1.0, clr, weight_decay, eps),
                        K.F_L2 if weight_decay != 0 else 0)
        return True
