"""Learning-rate schedulers (torch's ``torch.optim.lr_scheduler``).

Each scheduler updates ``group['lr']`` of its optimizer's groups on
``step()``.  The chainable (recursive) formulas are torch's, so the learning
rates match torch's step by step; ``step(epoch)`` uses the closed form where
torch does.

Example:
    >>> import neurarust as nr
    >>> from neurarust.optim import SGD
    >>> from neurarust.optim.lr_scheduler import StepLR
    >>> opt = SGD([nr.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for _ in range(5):
    ...     opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [1.0, 0.5, 0.5, 0.25, 0.25]
"""
from __future__ import annotations

import math
import types
from bisect import bisect_right
from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from ._lr_scheduler_base import LRScheduler, _check_optimizer, _one_per_group
from ._lr_scheduler_policies import OneCycleLR, ReduceLROnPlateau, SequentialLR
from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "CosineAnnealingWarmRestarts", "LinearLR", "LambdaLR", "OneCycleLR",
           "ReduceLROnPlateau", "SequentialLR"]

_LRScheduler = LRScheduler  # torch's old name of the base class


class _GammaDecayLR(LRScheduler):
    """The lr is ``initial_lr * gamma ** k``, ``k`` the number of decays so far.

    Subclasses say how many decays fall on an epoch (the chainable form
    multiplies the current lr by ``gamma`` that many times) and how many have
    happened by an epoch (the closed form).
    """

    gamma: float

    def _decays_at(self, epoch: int) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _decays_by(self, epoch: int) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_lr(self) -> List[float]:
        decays = self._decays_at(self.last_epoch)
        if decays == 0:
            return self._lrs()
        return [lr * self.gamma ** decays for lr in self._lrs()]

    def _get_closed_form_lr(self) -> List[float]:
        return [base * self.gamma ** self._decays_by(self.last_epoch) for base in self.base_lrs]


class StepLR(_GammaDecayLR):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.optim import SGD
        >>> from neurarust.optim.lr_scheduler import StepLR
        >>> opt = SGD([nr.zeros(1, requires_grad=True)], lr=1.0)
        >>> s = StepLR(opt, step_size=1, gamma=0.1); s.step(); s.get_last_lr()
        [0.1]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _decays_at(self, epoch: int) -> int:
        return 0 if epoch == 0 or epoch % self.step_size != 0 else 1

    def _decays_by(self, epoch: int) -> int:
        return epoch // self.step_size


class MultiStepLR(_GammaDecayLR):
    """Multiply the lr by ``gamma`` at each milestone epoch.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.optim import SGD
        >>> from neurarust.optim.lr_scheduler import MultiStepLR
        >>> opt = SGD([nr.zeros(1, requires_grad=True)], lr=1.0)
        >>> s = MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
        >>> [(s.step(), s.get_last_lr()[0])[1] for _ in range(4)]
        [0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _decays_at(self, epoch: int) -> int:
        return self.milestones[epoch]  # a Counter: 0 off the milestones, more for a repeated one

    def _decays_by(self, epoch: int) -> int:
        return bisect_right(sorted(self.milestones.elements()), epoch)


class ExponentialLR(_GammaDecayLR):
    """Multiply the lr by ``gamma`` every epoch.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.optim import SGD
        >>> from neurarust.optim.lr_scheduler import ExponentialLR
        >>> opt = SGD([nr.zeros(1, requires_grad=True)], lr=1.0)
        >>> s = ExponentialLR(opt, gamma=0.5); s.step(); s.step(); s.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _decays_at(self, epoch: int) -> int:
        return 0 if epoch == 0 else 1

    def _decays_by(self, epoch: int) -> int:
        return epoch


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the initial lr down to ``eta_min`` over ``T_max`` epochs.

    The recursive form (torch's) is
    ``lr_t = (1 + cos(pi t / T_max)) / (1 + cos(pi (t-1) / T_max)) * (lr_{t-1} - eta_min) + eta_min``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.optim import SGD
        >>> from neurarust.optim.lr_scheduler import CosineAnnealingLR
        >>> opt = SGD([nr.zeros(1, requires_grad=True)], lr=1.0)
        >>> s = CosineAnnealingLR(opt, T_max=2); s.step(); round(s.get_last_lr()[0], 6)
        0.5
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        t, T, eta = self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return self._lrs()
        if self._step_count == 1 and t > 0:
            return [eta + (base - eta) * (1 + math.cos(t * math.pi / T)) / 2 for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [lr + (base - eta) * (1 - math.cos(math.pi / T)) / 2
                    for base, lr in zip(self.base_lrs, self._lrs())]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - eta) + eta
                for lr in self._lrs()]

    def _get_closed_form_lr(self) -> List[float]:
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing restarted every ``T_i`` epochs (``T_0``, then ``T_i *= T_mult``).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.optim import SGD
        >>> from neurarust.optim.lr_scheduler import CosineAnnealingWarmRestarts
        >>> opt = SGD([nr.zeros(1, requires_grad=True)], lr=1.0)
        >>> s = CosineAnnealingWarmRestarts(opt, T_0=2)
        >>> [(s.step(), round(s.get_last_lr()[0], 6))[1] for _ in range(3)]
        [0.5, 1.0, 0.5]
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base in self.base_lrs]

    def step(self, epoch: Optional[float] = None) -> None:
        """Advance one epoch, or jump to a (possibly fractional) ``epoch``."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur - self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        self._step_count += 1
        self._set_lrs(self.get_lr())


class LinearLR(LRScheduler):
    """Scale the lr linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.optim import SGD
        >>> from neurarust.optim.lr_scheduler import LinearLR
        >>> opt = SGD([nr.zeros(1, requires_grad=True)], lr=1.0)
        >>> s = LinearLR(opt, start_factor=0.5, total_iters=2); opt.param_groups[0]["lr"]
        0.5
        >>> s.step(); s.get_last_lr()
        [0.75]
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        t, s, e, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if t == 0:
            return [lr * s for lr in self._lrs()]
        if t > n:
            return self._lrs()
        return [lr * (1.0 + (e - s) / (n * s + (t - 1) * (e - s))) for lr in self._lrs()]

    def _get_closed_form_lr(self) -> List[float]:
        s, e, n = self.start_factor, self.end_factor, self.total_iters
        return [base * (s + (e - s) * min(n, self.last_epoch) / n) for base in self.base_lrs]


class LambdaLR(LRScheduler):
    """Set the lr to ``initial_lr * lr_lambda(epoch)`` (one function, or one per group).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.optim import SGD
        >>> from neurarust.optim.lr_scheduler import LambdaLR
        >>> opt = SGD([nr.zeros(1, requires_grad=True)], lr=1.0)
        >>> s = LambdaLR(opt, lambda e: 0.5 ** e); s.step(); s.step(); s.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Union[Callable[[int], float], List[Callable[[int], float]]],
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        self.lr_lambdas = _one_per_group(optimizer, lr_lambda, "Expected {expected} lr_lambdas, but got {got}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> Dict[str, Any]:
        """Like torch: functions are not saved (None); callable objects save their ``__dict__``."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        state = dict(state_dict)
        lambdas = state.pop("lr_lambdas")
        self.__dict__.update(state)
        for fn, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                fn.__dict__.update(saved)
