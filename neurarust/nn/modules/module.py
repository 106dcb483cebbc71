"""``Module``: the base class of every layer and model (torch.nn.Module's API)."""
from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict, namedtuple
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Set, Tuple

from ..._core.tensor_base import TensorBase
from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ...device import as_device
from ...dtypes import as_dtype
from ..parameter import Parameter

__all__ = ["Module", "RemovableHandle", "register_module_forward_pre_hook",
           "register_module_forward_hook"]

# Hooks on every module; ``Module.__call__`` checks these two dicts before its fast path.
_hook_ids = itertools.count()


class _HookDict(OrderedDict):
    """An OrderedDict that can be weakly referenced (plain dicts cannot)."""


_global_forward_pre_hooks: Dict[int, Callable] = _HookDict()
_global_forward_hooks: Dict[int, Callable] = _HookDict()


class RemovableHandle:
    """Handle returned by the hook registrations; ``remove()`` unregisters the hook.

    Example:
        >>> import neurarust as nr
        >>> m = nr.nn.Module()
        >>> h = m.register_forward_hook(lambda mod, args, out: None)
        >>> len(m._forward_hooks); h.remove(); len(m._forward_hooks)
        1
        0
    """

    def __init__(self, *hook_dicts: dict):
        self.id = next(_hook_ids)
        # Weak references: a handle must not keep a deleted module's hooks alive.
        self._refs = tuple(weakref.ref(d) for d in hook_dicts)

    def remove(self) -> None:
        """Unregister the hook (a no-op when already removed)."""
        for ref in self._refs:
            d = ref()
            if d is not None:
                d.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(module, args)`` to run before the forward of every module.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn.modules.module import register_module_forward_pre_hook
        >>> h = register_module_forward_pre_hook(lambda m, args: None); h.remove()
    """
    handle = RemovableHandle(_global_forward_pre_hooks)
    _global_forward_pre_hooks[handle.id] = hook
    return handle


def register_module_forward_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(module, args, output)`` to run after the forward of every module.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn.modules.module import register_module_forward_hook
        >>> h = register_module_forward_hook(lambda m, args, out: None); h.remove()
    """
    handle = RemovableHandle(_global_forward_hooks)
    _global_forward_hooks[handle.id] = hook
    return handle


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


def _check_name(kind: str, name: Any) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise KeyError(f"{kind} name can't contain \".\", got: {name}")
    if name == "":
        raise KeyError(f"{kind} name can't be empty string \"\"")


class Module:
    """Base class for all neural network modules; subclass it and define ``forward``.

    Assigning a :class:`Parameter`, a ``Module`` or (for names registered with
    :meth:`register_buffer`) a tensor to an attribute registers it, so that
    :meth:`parameters`, :meth:`state_dict`, :meth:`to` and friends see it.

    Example:
        >>> import neurarust as nr
        >>> from neurarust import nn
        >>> class Affine(nn.Module):
        ...     def __init__(self, n):
        ...         super().__init__()
        ...         self.w = nn.Parameter(nr.ones(n, n))
        ...         self.b = nn.Parameter(nr.zeros(n))
        ...     def forward(self, x):
        ...         return x @ self.w.t() + self.b
        >>> m = Affine(2)
        >>> m(nr.tensor([[1.0, 2.0]]))
        tensor([[3., 3.]], grad_fn=<AddBackward0>)
        >>> [name for name, _ in m.named_parameters()]
        ['w', 'b']
    """

    training: bool
    _version: int = 1

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments: "
                            f"{args} {kwargs}")
        # Written through object.__setattr__: our own __setattr__ reads these dicts.
        setattr_ = object.__setattr__
        setattr_(self, "training", True)
        setattr_(self, "_parameters", {})
        setattr_(self, "_buffers", {})
        setattr_(self, "_non_persistent_buffers_set", set())
        setattr_(self, "_modules", {})
        setattr_(self, "_forward_pre_hooks", _HookDict())
        setattr_(self, "_forward_pre_hooks_with_kwargs", _HookDict())
        setattr_(self, "_forward_hooks", _HookDict())
        setattr_(self, "_forward_hooks_with_kwargs", _HookDict())
        setattr_(self, "_forward_hooks_always_called", _HookDict())
        setattr_(self, "_state_dict_hooks", _HookDict())
        setattr_(self, "_load_state_dict_pre_hooks", _HookDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Define the computation; called by ``module(...)``, which also runs the hooks."""
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The fast path: every layer call goes through here, so no hook means one
        # dict-truthiness test per hook table and a direct forward call.
        d = self.__dict__
        if not (d["_forward_pre_hooks"] or d["_forward_hooks"] or _global_forward_pre_hooks
                or _global_forward_hooks):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        pre_with_kwargs = self._forward_pre_hooks_with_kwargs
        for hook_id, hook in itertools.chain(_global_forward_pre_hooks.items(),
                                             self._forward_pre_hooks.items()):
            if hook_id in pre_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        post_with_kwargs = self._forward_hooks_with_kwargs
        output = self.forward(*args, **kwargs)
        for hook_id, hook in itertools.chain(_global_forward_hooks.items(),
                                             self._forward_hooks.items()):
            if hook_id in post_with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Run ``hook(module, args)`` before ``forward``; a non-None result replaces the args.

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs)`` and may
        return ``(args, kwargs)``.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.forward = lambda x: x + 1
            >>> h = m.register_forward_pre_hook(lambda mod, args: (args[0] * 10,))
            >>> m(nr.tensor(1.0)), h.remove(), m(nr.tensor(1.0))
            (tensor(11.), None, tensor(2.))
        """
        handle = RemovableHandle(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False, always_call: bool = False) -> RemovableHandle:
        """Run ``hook(module, args, output)`` after ``forward``; a non-None result replaces the output.

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs, output)``.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.forward = lambda x: x + 1
            >>> h = m.register_forward_hook(lambda mod, args, out: out * 2)
            >>> m(nr.tensor(1.0))
            tensor(4.)
        """
        handle = RemovableHandle(self._forward_hooks, self._forward_hooks_with_kwargs,
                                 self._forward_hooks_always_called)
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    # ------------------------------------------------------------ registration
    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        """Register ``param`` (a :class:`Parameter` or None) under ``name``.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.register_parameter("w", nr.nn.Parameter(nr.zeros(1)))
            >>> list(m.state_dict())
            ['w']
        """
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is None:
            self._parameters[name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(neurarust.nn.Parameter or None required)")
        if param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters "
                             "must be created explicitly. To express '{name}' as a function of "
                             "another Tensor, compute the value in the forward() method.")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Optional[Tensor], persistent: bool = True) -> None:
        """Register a tensor that is state but not a parameter (``persistent=False``: not in ``state_dict``).

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module()
            >>> m.register_buffer("mean", nr.zeros(2)); m.register_buffer("tmp", nr.ones(1), persistent=False)
            >>> list(m.state_dict()), [n for n, _ in m.named_buffers()]
            (['mean'], ['mean', 'tmp'])
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, TensorBase):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(neurarust Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Optional["Module"]) -> None:
        """Register a child module under ``name`` (``self.name = module`` does the same).

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.add_module("inner", nr.nn.Module())
            >>> m
            Module(
              (inner): Module()
            )
        """
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name("module", name)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    def register_module(self, name: str, module: Optional["Module"]) -> None:
        """Alias of :meth:`add_module`.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.register_module("c", nr.nn.Module()); list(m._modules)
            ['c']
        """
        self.add_module(name, module)

    def get_submodule(self, target: str) -> "Module":
        """The submodule at the dotted path ``target`` (``""`` is this module).

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.a = nr.nn.Module(); m.a.b = nr.nn.Module()
            >>> m.get_submodule("a.b") is m.a.b
            True
        """
        if target == "":
            return self
        mod: Module = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target``.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.a = nr.nn.Module(); m.a.w = nr.nn.Parameter(nr.ones(1))
            >>> m.get_parameter("a.w") is m.a.w
            True
        """
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path ``target``.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.register_buffer("b", nr.ones(1)); m.get_buffer("b")
            tensor([1.])
        """
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(mod, name)

    # ------------------------------------------------------------ attributes
    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails; read __dict__ directly so that a
        # half-built module (during unpickling or copying) does not recurse.
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            entries = d.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._drop(name, d, "_buffers", "_modules")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(neurarust.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            modules = d.get("_modules")
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._drop(name, d, "_parameters", "_buffers")
            modules[name] = value
        elif name in d.get("_modules", ()):
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(neurarust.nn.Module or None expected)")
            d["_modules"][name] = None
        elif name in d.get("_buffers", ()):
            if value is not None and not isinstance(value, TensorBase):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(neurarust.Tensor or None expected)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _drop(name: str, d: dict, *tables: str) -> None:
        d.pop(name, None)
        for table in tables:
            d[table].pop(name, None)
        d["_non_persistent_buffers_set"].discard(name)

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        if name in d.get("_parameters", ()):
            del d["_parameters"][name]
        elif name in d.get("_buffers", ()):
            del d["_buffers"][name]
            d["_non_persistent_buffers_set"].discard(name)
        elif name in d.get("_modules", ()):
            del d["_modules"][name]
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        keys = list(object.__dir__(self)) + list(self._parameters) + list(self._modules) \
            + list(self._buffers)
        # Numbered children ("0", "1"...) are not valid attribute names.
        return sorted(k for k in set(keys) if not k[:1].isdigit())

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def _get_name(self) -> str:
        return type(self).__name__

    # ------------------------------------------------------------- iteration
    def named_modules(self, memo: Optional[Set["Module"]] = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[Tuple[str, "Module"]]:
        """All modules of the tree (this one first, depth-first) with dotted names.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.a = nr.nn.Module(); m.a.b = nr.nn.Module()
            >>> [name for name, _ in m.named_modules()]
            ['', 'a', 'a.b']
        """
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        """All modules of the tree, this one first.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.a = nr.nn.Module(); len(list(m.modules()))
            2
        """
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        """Immediate children with their names (each module once).

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.a = nr.nn.Module(); [n for n, _ in m.named_children()]
            ['a']
        """
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self) -> Iterator["Module"]:
        """Immediate children.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.a = nr.nn.Module(); len(list(m.children()))
            1
        """
        for _, module in self.named_children():
            yield module

    def _named_members(self, table: str, prefix: str, recurse: bool, remove_duplicate: bool):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[Tuple[str, Parameter]]:
        """Parameters with dotted names; a parameter shared by two modules is listed once.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.a = nr.nn.Module(); m.a.w = nr.nn.Parameter(nr.ones(1))
            >>> [n for n, _ in m.named_parameters()], [n for n, _ in m.named_parameters(recurse=False)]
            (['a.w'], [])
        """
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters (of the submodules too when ``recurse``), each once.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(2, 3))
            >>> sum(p.numel() for p in m.parameters())
            6
        """
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[Tuple[str, Tensor]]:
        """Buffers (persistent or not) with dotted names.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.a = nr.nn.Module(); m.a.register_buffer("n", nr.zeros(1))
            >>> [n for n, _ in m.named_buffers()]
            ['a.n']
        """
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """The buffers (of the submodules too when ``recurse``).

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.register_buffer("n", nr.zeros(1)); list(m.buffers())
            [tensor([0.])]
        """
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    # ------------------------------------------------------------ state dict
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
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            result = hook(self, destination, prefix, {})
            if result is not None:
                destination = result
        return destination

    def _load_from_state_dict(self, state_dict: Mapping[str, Any], prefix: str,
                              local_metadata: dict, strict: bool, missing_keys: list,
                              unexpected_keys: list, error_msgs: list, assign: bool = False) -> None:
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
        missing: list = []
        unexpected: list = []
        errors: list = []

        def load(module: Module, prefix: str) -> None:
            for hook in module._load_state_dict_pre_hooks.values():
                hook(state_dict, prefix, {}, strict, missing, unexpected, errors)
            module._load_from_state_dict(state_dict, prefix, {}, True, missing, unexpected,
                                         errors, assign)
            for name, child in module._modules.items():
                if child is not None:
                    load(child, prefix + name + ".")

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

    # ------------------------------------------------------- mode and grads
    def train(self, mode: bool = True) -> "Module":
        """Set training mode (affects dropout, batch norm...) on this module and its children.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.a = nr.nn.Module(); m.train(False).a.training
            False
        """
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``train(False)``.

        Example:
            >>> import neurarust as nr
            >>> nr.nn.Module().eval().training
            False
        """
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set ``requires_grad`` on every parameter (freezing with ``False``).

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(1))
            >>> m.requires_grad_(False).w.requires_grad
            False
        """
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to None by default, else to zeros).

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(2))
            >>> (m.w * 2).sum().backward(); m.zero_grad(set_to_none=False); m.w.grad
            tensor([0., 0.])
        """
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g.requires_grad_(False)
                g.zero_()

    # ---------------------------------------------------- placement and dtype
    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> "Module":
        if recurse:
            for module in self.children():
                module._apply(fn)
        for name, param in self._parameters.items():
            if param is None:
                continue
            with no_grad():
                new = fn(param)
            # Keep the Parameter object (optimizers hold references to it) and swap its data.
            if new is not param:
                param.data = new
            if param.grad is not None:
                with no_grad():
                    new_grad = fn(param.grad)
                if new_grad is not param.grad:
                    param._grad = new_grad.detach()
        for name, buf in self._buffers.items():
            if buf is not None:
                self._buffers[name] = fn(buf)
        return self

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call ``fn`` on every submodule (children first) and then on this module.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.a = nr.nn.Module(); names = []
            >>> _ = m.apply(lambda mod: names.append(mod._get_name())); names
            ['Module', 'Module']
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """Move parameters and buffers to a device and/or cast floating ones to a dtype, in place.

        Accepts ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` and
        the ``device=``/``dtype=`` keywords.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(1)); m.register_buffer("n", nr.zeros(1, dtype=nr.int64))
            >>> _ = m.to(nr.float64); m.w.dtype, m.n.dtype
            (neurarust.float64, neurarust.int64)
        """
        device = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, TensorBase):
                device, dtype = a.device, a.dtype
            elif isinstance(a, bool):
                continue  # non_blocking
            elif isinstance(a, (str, int)) or (hasattr(a, "type") and hasattr(a, "index")):
                device = a
            elif a is not None:
                dtype = a
        if dtype is not None:
            dtype = as_dtype(dtype)
            if not dtype.is_floating_point:
                raise TypeError("nn.Module.to only accepts floating point or complex dtypes, "
                                f"but got desired dtype={dtype}")
        if device is not None:
            device = as_device(device)

        def convert(t: Tensor) -> Tensor:
            target = dtype if dtype is not None and t.is_floating_point() else None
            return t.to(device=device, dtype=target)

        return self._apply(convert)

    def cpu(self) -> "Module":
        """Move everything to the CPU.

        Example:
            >>> import neurarust as nr
            >>> nr.nn.Module().cpu()
            Module()
        """
        return self._apply(lambda t: t.cpu())

    def cuda(self, device: Any = None) -> "Module":
        """Move everything to a CUDA device (raises ``DeviceError`` where CUDA is unavailable)."""
        return self._apply(lambda t: t.cuda(device))

    def type(self, dst_type: Any) -> "Module":
        """Cast all parameters and buffers to ``dst_type``.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(1)); m.type(nr.float64).w.dtype
            neurarust.float64
        """
        return self._apply(lambda t: t.type(dst_type))

    def _cast_floating(self, dtype: Any) -> "Module":
        return self._apply(lambda t: t.to(dtype) if t.is_floating_point() else t)

    def float(self) -> "Module":
        """Cast floating parameters and buffers to float32.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(1, dtype=nr.float64))
            >>> m.float().w.dtype
            neurarust.float32
        """
        from ...dtypes import float32

        return self._cast_floating(float32)

    def double(self) -> "Module":
        """Cast floating parameters and buffers to float64.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(1)); m.double().w.dtype
            neurarust.float64
        """
        from ...dtypes import float64

        return self._cast_floating(float64)

    def half(self) -> "Module":
        """Cast floating parameters and buffers to float16.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.w = nr.nn.Parameter(nr.ones(1)); m.half().w.dtype
            neurarust.float16
        """
        from ...dtypes import float16

        return self._cast_floating(float16)

    # ------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """Extra text inside this module's repr parentheses; override in layers.

        Example:
            >>> import neurarust as nr
            >>> class Scale(nr.nn.Module):
            ...     def extra_repr(self):
            ...         return "factor=2"
            >>> Scale()
            Scale(factor=2)
        """
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(module), 2)
                       for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"
