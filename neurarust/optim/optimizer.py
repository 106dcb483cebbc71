"""The :class:`Optimizer` base class: parameter groups, per-parameter state,
``state_dict``/``load_state_dict``, ``zero_grad`` and ``step``.

Subclasses implement ``_update_group(group)``; ``step`` handles the closure
and runs every update under ``no_grad``.

Example:
    >>> import neurarust as nr
    >>> from neurarust.optim import SGD
    >>> w = nr.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); w
    tensor([0.8000, 1.6000], requires_grad=True)
"""
from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

from .._core.tensor_base import TensorBase
from ..autograd.grad_mode import enable_grad, no_grad
from ..ops._util import backend

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyper-parameter that has no default (``lr`` of a bare Optimizer)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of all optimizers (torch's ``torch.optim.Optimizer``).

    Args:
        params: an iterable of tensors, or of dicts defining parameter groups
            (``{'params': [...], 'lr': ...}``: keys missing from a group take
            the values of ``defaults``).
        defaults: default hyper-parameters of every group.

    Attributes:
        param_groups: list of dicts, one per group, holding ``'params'`` and
            the group's hyper-parameters.
        state: a dict from parameter tensor to that parameter's state dict.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.optim import Adam
        >>> a, b = nr.zeros(2, requires_grad=True), nr.zeros(3, requires_grad=True)
        >>> opt = Adam([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=0.01)
        >>> [g["lr"] for g in opt.param_groups]
        [0.01, 0.1]
    """

    def __init__(self, params: Union[Iterable[TensorBase], Iterable[Dict[str, Any]]],
                 defaults: Dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: Dict[TensorBase, Dict[str, Any]] = defaultdict(dict)
        self.param_groups: List[Dict[str, Any]] = []
        if isinstance(params, TensorBase):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ----------------------------------------------------------- groups
    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Add a parameter group (a dict with ``'params'`` and optional hyper-parameters).

        Example:
            >>> import neurarust as nr
            >>> from neurarust.optim import SGD
            >>> opt = SGD([nr.zeros(2, requires_grad=True)], lr=0.1)
            >>> opt.add_param_group({"params": [nr.zeros(3, requires_grad=True)], "lr": 0.5})
            >>> [g["lr"] for g in opt.param_groups]
            [0.1, 0.5]
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, TensorBase):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, TensorBase):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group)
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, "
                          "this will cause an error", stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ----------------------------------------------------------- grads
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter (to None by default, like torch).

        Example:
            >>> import neurarust as nr
            >>> from neurarust.optim import SGD
            >>> w = nr.ones(2, requires_grad=True); (w * 3).sum().backward()
            >>> opt = SGD([w]); opt.zero_grad(set_to_none=False); w.grad
            tensor([0., 0.])
            >>> opt.zero_grad(); w.grad is None
            True
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if g._grad_fn is not None:
                        g = g.detach()
                        p._grad = g
                    else:
                        g.requires_grad_(False)
                    with no_grad():
                        g.zero_()

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss.

        Example:
            >>> import neurarust as nr
            >>> from neurarust.optim import SGD
            >>> w = nr.tensor([2.0], requires_grad=True); opt = SGD([w], lr=0.25)
            >>> def closure():
            ...     opt.zero_grad(); loss = (w * w).sum(); loss.backward(); return loss
            >>> opt.step(closure), w
            (tensor(4., grad_fn=<SumBackward0>), tensor([1.], requires_grad=True))
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _update_group(self, group: Dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    # ----------------------------------------------------------- state dict
    def state_dict(self) -> Dict[str, Any]:
        """The optimizer's state in torch's format: parameters become indices.

        ``{'state': {index: {name: value}}, 'param_groups': [{..., 'params': [indices]}]}``
        (state values are the live tensors, as in torch).

        Example:
            >>> import neurarust as nr
            >>> from neurarust.optim import SGD
            >>> w = nr.ones(2, requires_grad=True); opt = SGD([w], lr=0.1, momentum=0.9)
            >>> (w * w).sum().backward(); opt.step()
            >>> sd = opt.state_dict(); sd["param_groups"][0]["params"], list(sd["state"][0])
            ([0], ['momentum_buffer'])
        """
        index: Dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Load a state produced by :meth:`state_dict` (of an optimizer over the same shapes).

        Tensors in the state are copied and cast to their parameter's dtype and
        device (``step`` counters keep their own dtype); group hyper-parameters
        are restored.

        Example:
            >>> import neurarust as nr
            >>> from neurarust.optim import SGD
            >>> w = nr.ones(2, requires_grad=True); opt = SGD([w], lr=0.1)
            >>> opt2 = SGD([w], lr=0.5); opt2.load_state_dict(opt.state_dict())
            >>> opt2.param_groups[0]["lr"]
            0.1
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("loaded state dict must be a dict with 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for group, saved in zip(self.param_groups, saved_groups):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match "
                                 "the size of optimizer's group")
        id_map = {}
        for group, saved in zip(self.param_groups, saved_groups):
            for old, p in zip(saved["params"], group["params"]):
                id_map[old] = p
        state: Dict[TensorBase, Dict[str, Any]] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            # Keys may have become strings in a JSON round trip.
            idx = int(key) if isinstance(key, str) and key.lstrip("-").isdigit() else key
            if idx not in id_map:
                continue
            p = id_map[idx]
            state[p] = {name: _cast_state(p, name, v) for name, v in value.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            if isinstance(new.get("betas"), list):
                new["betas"] = tuple(new["betas"])
            new["params"] = group["params"]
            new_groups.append(new)
        self.state = state
        self.param_groups = new_groups

    # ----------------------------------------------------------- misc
    def __getstate__(self) -> Dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    # ----------------------------------------------------------- helpers for subclasses
    @staticmethod
    def _params_with_grad(group: Dict[str, Any]) -> List[TensorBase]:
        return [p for p in group["params"] if p._grad is not None]

    @staticmethod
    def _check_grad(name: str, p: TensorBase, g: TensorBase) -> None:
        # Called per parameter per step: the common case is two field comparisons.
        if g._data.shape == p._data.shape and g._device is p._device:
            return
        if tuple(g.shape) != tuple(p.shape):
            raise ValueError(f"{name}: gradient of shape {list(g.shape)} does not match its "
                             f"parameter of shape {list(p.shape)}")
        if g._device is not p._device:
            raise ValueError(f"{name}: gradient on {g._device} but parameter on {p._device}")


def _cast_state(p: TensorBase, name: str, value: Any) -> Any:
    """A copy of a loaded state value, cast like torch does (``step`` keeps its dtype)."""
    if isinstance(value, TensorBase):
        if name == "step":
            return value.clone()
        if value._dtype.is_floating_point:
            return value.to(dtype=p._dtype, device=p._device).clone()
        return value.to(device=p._device).clone()
    if isinstance(value, dict):
        return {k: _cast_state(p, k, v) for k, v in value.items()}
    return copy.deepcopy(value)


def fused_backend(p: TensorBase, method: str):
    """The backend method ``method`` for ``p``'s device, or None when it has none."""
    return getattr(backend(p), method, None)


def bump(*tensors: TensorBase) -> None:
    """Record an in-place write on each tensor (its version counter)."""
    for t in tensors:
        if t is not None:
            t._version_counter.bump()
