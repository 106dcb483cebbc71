"""Adam (and the shared machinery AdamW uses)."""
from __future__ import annotations

import math
from typing import Any, Dict, Iterable, Optional, Tuple, Union

from .._core.tensor_base import TensorBase
from ..dtypes import float32
from ..ops.creation import tensor, zeros_like
from .optimizer import Optimizer, bump, fused_backend

__all__ = ["Adam"]


def _check_adam_args(lr, betas, eps, weight_decay):
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    r"""Adam (torch's ``Adam``), with amsgrad, L2 or decoupled weight decay, maximize.

    For each parameter :math:`\theta` with gradient :math:`g` (negated when
    ``maximize``), at step :math:`t` (starting at 1)::

        theta = theta * (1 - lr * weight_decay)      (decoupled_weight_decay, i.e. AdamW)
        g = g + weight_decay * theta                  (otherwise, if weight_decay != 0)
        m = m + (1 - beta1) * (g - m)                 (exp_avg)
        v = beta2 * v + (1 - beta2) * g * g           (exp_avg_sq)
        v_hat = max(v_max, v); v_max = v_hat          (amsgrad; v_hat = v otherwise)
        denom = sqrt(v_hat) / sqrt(1 - beta2**t) + eps
        theta = theta - lr / (1 - beta1**t) * m / denom

    State per parameter: ``step`` (a float32 0-d tensor), ``exp_avg``,
    ``exp_avg_sq`` and, with amsgrad, ``max_exp_avg_sq``.  float32/float64
    CPU parameters update in one fused pass.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.optim import Adam
        >>> w = nr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = Adam([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    _name = "Adam"

    def __init__(self, params: Union[Iterable[TensorBase], Iterable[Dict[str, Any]]],
                 lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: Optional[bool] = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None, decoupled_weight_decay: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        if differentiable:
            raise NotImplementedError(f"{self._name}: differentiable=True is not supported")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
        decoupled = group.get("decoupled_weight_decay", False)
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            self._check_grad(self._name, p, g)
            state = self.state[p]
            if len(state) == 0:
                state["step"] = tensor(0.0, dtype=float32)
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
                if amsgrad:
                    state["max_exp_avg_sq"] = zeros_like(p)
            step_t = state["step"]
            step_t.add_(1)
            step = step_t.item()
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            vmax = state.get("max_exp_avg_sq") if amsgrad else None
            if amsgrad and vmax is None:  # amsgrad switched on after the first step
                vmax = state["max_exp_avg_sq"] = zeros_like(p)
            # Step-dependent scalars in double precision, as torch computes them.
            step_size = lr / (1 - beta1 ** step)
            bc2_sqrt = math.sqrt(1 - beta2 ** step)
            kernel = fused_backend(p, "adam_step_")
            if kernel is not None and kernel(p._data, g._data, exp_avg._data, exp_avg_sq._data,
                                             None if vmax is None else vmax._data, lr, beta1, beta2,
                                             eps, wd, decoupled, step_size, bc2_sqrt, maximize):
                bump(p, exp_avg, exp_avg_sq, vmax)
                continue
            # Tensor-op path for dtypes and devices without a fused kernel.
            g = -g if maximize else g
            if decoupled:
                p.mul_(1 - lr * wd)
            elif wd != 0:
                g = g + wd * p
            exp_avg.lerp_(g, 1 - beta1)
            exp_avg_sq.mul_(beta2).add_(g * g, alpha=1 - beta2)
            v = exp_avg_sq
            if vmax is not None:
                vmax.copy_(vmax.maximum(exp_avg_sq))
                v = vmax
            denom = (v.sqrt() / bc2_sqrt).add_(eps)
            p.add_(exp_avg / denom, alpha=-step_size)
