"""The base of the learning-rate schedulers (``neurarust.optim.lr_scheduler``) and what several share."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from .optimizer import Optimizer


def _check_optimizer(optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _one_per_group(optimizer: Optimizer, value: Any, mismatch: str) -> List[Any]:
    """``value`` for each param group: a list or tuple gives one per group, anything else is repeated.

    ``mismatch`` is the message (torch's, with ``{expected}`` and ``{got}``) of the
    ValueError for a list of the wrong length.
    """
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(mismatch.format(expected=n, got=len(value)))
        return list(value)
    return [value] * n


class LRScheduler:
    """Base class: ``step()``, ``get_last_lr()``, ``last_epoch``, ``state_dict()``.

    Subclasses implement ``get_lr()`` (the chainable form, reading the groups'
    current ``lr``) and optionally ``_get_closed_form_lr()``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.optim import SGD
        >>> from neurarust.optim.lr_scheduler import ExponentialLR
        >>> opt = SGD([nr.zeros(1, requires_grad=True)], lr=1.0)
        >>> s = ExponentialLR(opt, gamma=0.5); s.step(); s.get_last_lr(), s.last_epoch
        ([0.5], 1)
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming an optimizer")
        self.base_lrs: List[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self.step()

    def get_lr(self) -> List[float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_last_lr(self) -> List[float]:
        """The learning rates set by the last ``step()``, one per group."""
        return self._last_lr

    def step(self, epoch: Optional[int] = None) -> None:
        """Advance one epoch (or jump to ``epoch``, using the closed form when there is one)."""
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        self._set_lrs(values)

    def state_dict(self) -> Dict[str, Any]:
        """Every attribute except the optimizer."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restore attributes saved by :meth:`state_dict`."""
        self.__dict__.update(state_dict)

    def _lrs(self) -> List[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def _set_lrs(self, values: Sequence[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = self._lrs()
