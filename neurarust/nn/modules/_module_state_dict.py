"""``Module.state_dict`` / ``load_state_dict`` and their hooks (the state half of :class:`Module`).

Example:
    >>> import neurarust as nr
    >>> src, dst = nr.nn.Linear(2, 1), nr.nn.Linear(2, 1)
    >>> dst.load_state_dict(src.state_dict())
    <All keys matched successfully>
    >>> bool((dst.weight == src.weight).all())
    True
"""
from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple
from typing import Any, Callable, Dict, Mapping, Optional

from ..._core.tensor_base import TensorBase
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ..parameter import Parameter
from ._module_hooks import RemovableHandle, _register

__all__ = []


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


class _StateDictMixin:
    """Saving and loading parameters and persistent buffers by dotted name."""

    # ------------------------------------------------------------- hooks
    def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(module, prefix, keep_vars)`` before ``state_dict`` collects this module.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); seen = []
            >>> _ = m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: seen.append(keep_vars))
            >>> _ = m.state_dict(keep_vars=True); seen
            [True]
        """
        return _register(self._state_dict_pre_hooks, hook)

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(module, state_dict, prefix, local_metadata)`` after this module's entries are in.

        The hook edits ``state_dict`` in place and must return None.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(1))
            >>> _ = m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: sd.update(step=nr.zeros(1)))
            >>> list(m.state_dict())
            ['w', 'step']
        """
        return _register(self._state_dict_hooks, hook,
                         flags=((self._state_dict_hooks_public, True),))

    def _register_state_dict_hook(self, hook: Callable) -> RemovableHandle:
        """Like :meth:`register_state_dict_post_hook`, but a non-None result replaces the state dict.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(1))
            >>> _ = m._register_state_dict_hook(lambda mod, sd, prefix, meta: {"renamed": sd["w"]})
            >>> list(m.state_dict())
            ['renamed']
        """
        return _register(self._state_dict_hooks, hook,
                         flags=((self._state_dict_hooks_public, False),))

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before this module loads its entries.

        The hook may edit ``state_dict`` (a copy of the one given to ``load_state_dict``).

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.zeros(1))
            >>> def rename(mod, sd, prefix, *rest):
            ...     sd[prefix + "w"] = sd.pop(prefix + "old_w")
            >>> _ = m.register_load_state_dict_pre_hook(rename)
            >>> m.load_state_dict({"old_w": nr.ones(1)}); m.w
            <All keys matched successfully>
            Parameter containing:
            tensor([1.], requires_grad=True)
        """
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(self, hook: Callable,
                                           with_module: bool = False) -> RemovableHandle:
        """:meth:`register_load_state_dict_pre_hook`, with the module argument only if ``with_module``.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); seen = []
            >>> _ = m._register_load_state_dict_pre_hook(lambda sd, prefix, *rest: seen.append(prefix))
            >>> _ = m.load_state_dict({}); seen
            ['']
        """
        return _register(self._load_state_dict_pre_hooks, hook,
                         flags=((self._load_state_dict_pre_hooks_with_module, with_module),))

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(module, incompatible_keys)`` after this module and its children are loaded.

        ``incompatible_keys`` holds the ``missing_keys`` and ``unexpected_keys`` lists,
        which the hook may edit in place (before ``strict`` turns them into an
        error); it must return None.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.zeros(1))
            >>> _ = m.register_load_state_dict_post_hook(lambda mod, keys: keys.missing_keys.clear())
            >>> m.load_state_dict({})
            <All keys matched successfully>
        """
        return _register(self._load_state_dict_post_hooks, hook)

    # -------------------------------------------------------------- saving
    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars else buf.detach()

    def state_dict(self, *args: Any, destination: Optional[dict] = None, prefix: str = "",
                   keep_vars: bool = False) -> Dict[str, Tensor]:
        """An ordered dict of parameters and persistent buffers under dotted names.

        The tensors are detached and share storage with the module's (``keep_vars=True``
        returns the parameters themselves).

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.a = nr.nn.Module(); m.a.w = nr.nn.Parameter(nr.ones(2))
            >>> sd = m.state_dict(); type(sd).__name__, dict(sd)
            ('OrderedDict', {'a.w': tensor([1., 1.])})
        """
        if args:  # torch's deprecated positional form: (destination, prefix, keep_vars)
            destination, prefix, keep_vars = (list(args) + [destination, prefix, keep_vars][len(args):])[:3]
        if destination is None:
            destination = OrderedDict()
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        public = self._state_dict_hooks_public
        for hook_id, hook in self._state_dict_hooks.items():
            result = hook(self, destination, prefix, {})
            if result is None:
                continue
            if hook_id in public:
                raise RuntimeError("state_dict post-hook must return None")
            destination = result
        return destination

    # ------------------------------------------------------------- loading
    def _load_from_state_dict(self, state_dict: Mapping[str, Any], prefix: str,
                              local_metadata: dict, strict: bool, missing_keys: list,
                              unexpected_keys: list, error_msgs: list, assign: bool = False) -> None:
        with_module = self._load_state_dict_pre_hooks_with_module
        for hook_id, hook in self._load_state_dict_pre_hooks.items():
            hook_args = (state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                         error_msgs)
            if hook_id in with_module:
                hook(self, *hook_args)
            else:
                hook(*hook_args)
        persistent = {k: v for k, v in self._buffers.items()
                      if k not in self._non_persistent_buffers_set}
        local_state = {k: v for k, v in itertools.chain(self._parameters.items(), persistent.items())
                       if v is not None}
        for name, current in local_state.items():
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)  # reported even when not strict
                continue
            value = state_dict[key]
            if not isinstance(value, TensorBase):
                error_msgs.append(f'While copying the parameter named "{key}", expected '
                                  f"neurarust.Tensor from checkpoint but received {type(value)}")
                continue
            if tuple(value.shape) != tuple(current.shape):
                error_msgs.append(f"size mismatch for {key}: copying a param with shape {value.shape} "
                                  f"from checkpoint, the shape in current model is {current.shape}.")
                continue
            try:
                with no_grad():
                    if assign:
                        if isinstance(current, Parameter):
                            new = value if isinstance(value, Parameter) else \
                                Parameter(value, requires_grad=current.requires_grad)
                        else:
                            new = value
                        setattr(self, name, new)
                    else:
                        current.copy_(value)
            except Exception as exc:  # noqa: BLE001 - reported with the key, like torch
                error_msgs.append(f'While copying the parameter named "{key}", whose dimensions in '
                                  f"the model are {current.shape} and whose dimensions in the "
                                  f"checkpoint are {value.shape}, an exception occurred : {exc.args}.")
        if strict:
            for key in state_dict:
                if not key.startswith(prefix):
                    continue
                head = key[len(prefix):].split(".", 1)
                if len(head) > 1:
                    if head[0] not in self._modules:
                        unexpected_keys.append(key)
                elif head[0] not in local_state:
                    unexpected_keys.append(key)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> _IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` into this module and its children.

        With ``strict`` (the default) missing and unexpected keys are errors; a shape
        mismatch is always an error.  ``assign=True`` replaces the tensors instead of
        copying into them.  Returns the missing and unexpected keys.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.zeros(2))
            >>> m.load_state_dict({"w": nr.ones(2)})
            <All keys matched successfully>
            >>> m.load_state_dict({}, strict=False)
            _IncompatibleKeys(missing_keys=['w'], unexpected_keys=[])
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        # A copy: load pre-hooks may rename or drop entries without touching the caller's dict.
        state_dict = OrderedDict(state_dict)
        missing: list = []
        unexpected: list = []
        errors: list = []

        def load(module: Any, prefix: str) -> None:
            module._load_from_state_dict(state_dict, prefix, {}, True, missing, unexpected,
                                         errors, assign)
            for name, child in module._modules.items():
                if child is not None:
                    load(child, prefix + name + ".")
            keys = _IncompatibleKeys(missing, unexpected)
            for hook in module._load_state_dict_post_hooks.values():
                if hook(module, keys) is not None:
                    raise AssertionError("Hooks registered with ``register_load_state_dict_post_hook`` "
                                         "are not expected to return new values, if incompatible_keys "
                                         "need to be modified, it should be done inplace.")

        load(self, "")
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                self._get_name(), "\n\t".join(errors)))
        return _IncompatibleKeys(missing, unexpected)
