"""``Module``: the base class of every layer and model (torch.nn.Module's API)."""
from __future__ import annotations

from typing import Any, Callable, Iterator, Optional, Set, Tuple

from ..._core.tensor_base import TensorBase
from ..._tensor import Tensor
from ..parameter import Parameter
# The hook machinery, state_dict and conversions live in their own files; the
# hook registrations torch exposes from ``torch.nn.modules.module`` are re-exported.
from ._module_conversion import _ConversionMixin
from ._module_hooks import (_CALL_HOOK_TABLES, _HOOK_TABLES, RemovableHandle, _global_call_hook_ids,
                            _HookDict, _HooksMixin, register_module_backward_hook,
                            register_module_forward_hook, register_module_forward_pre_hook,
                            register_module_full_backward_hook, register_module_full_backward_pre_hook)
from ._module_state_dict import _StateDictMixin

__all__ = ["Module", "RemovableHandle", "register_module_forward_pre_hook",
           "register_module_forward_hook", "register_module_full_backward_pre_hook",
           "register_module_full_backward_hook", "register_module_backward_hook"]


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


class Module(_HooksMixin, _StateDictMixin, _ConversionMixin):
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
        setattr_(self, "_is_full_backward_hook", None)
        for table in _HOOK_TABLES:
            setattr_(self, table, _HookDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Define the computation; called by ``module(...)``, which also runs the hooks."""
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The fast path: every layer call goes through here, so with no hook it costs two
        # dict-truthiness tests (the ids of this module's call hooks, then of the global
        # ones) and a direct forward call.
        if not (self.__dict__["_call_hook_ids"] or _global_call_hook_ids):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

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
        d = self.__dict__
        d.update(state)
        # A module pickled before a hook table existed gets it empty, and the
        # call-hook index (newer than the forward hook tables) lists its hooks.
        for table in _HOOK_TABLES:
            d.setdefault(table, _HookDict())
        for table in _CALL_HOOK_TABLES:
            d["_call_hook_ids"].update(dict.fromkeys(d[table], True))
        d.setdefault("_is_full_backward_hook", None)

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
