"""AdamW: Adam with decoupled weight decay."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Tuple, Union

from .._core.tensor_base import TensorBase
from .adam import Adam, _check_adam_args
from .optimizer import Optimizer

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""AdamW (torch's ``AdamW``): Adam whose weight decay shrinks the parameter directly.

    The update is :class:`~neurarust.optim.Adam`'s with
    ``decoupled_weight_decay=True``: each step first does
    ``theta = theta * (1 - lr * weight_decay)``, and the gradient is not
    modified by the decay.  Default ``weight_decay`` is ``1e-2``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.optim import AdamW
        >>> w = nr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
        >>> (w * w).sum().backward(); opt.step(); w
        tensor([ 0.8500, -1.8000], requires_grad=True)
    """

    _name = "AdamW"

    def __init__(self, params: Union[Iterable[TensorBase], Iterable[Dict[str, Any]]],
                 lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: Optional[bool] = None, capturable: bool = False,
                 differentiable: bool = False, fused: Optional[bool] = None) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        if differentiable:
            raise NotImplementedError("AdamW: differentiable=True is not supported")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=True)
        Optimizer.__init__(self, params, defaults)
