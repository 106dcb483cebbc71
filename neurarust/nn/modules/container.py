"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``, ``ParameterDict``."""
from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any, Iterator, Optional, Union

from ..._core.tensor_base import TensorBase
from ..parameter import Parameter
from .module import Module, _addindent

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _abs_index(idx: Any, size: int) -> int:
    idx = operator.index(idx)
    if not -size <= idx < size:
        raise IndexError(f"index {idx} is out of range")
    return idx + size if idx < 0 else idx


class Sequential(Module):
    """Modules called one after the other; built from arguments or an ``OrderedDict``.

    Example:
        >>> import neurarust as nr
        >>> from collections import OrderedDict
        >>> class Double(nr.nn.Module):
        ...     def forward(self, x):
        ...         return x * 2
        >>> seq = nr.nn.Sequential(Double(), Double())
        >>> seq(nr.tensor([1.0])), len(seq), type(seq[:1]).__name__
        (tensor([4.]), 2, 'Sequential')
        >>> nr.nn.Sequential(OrderedDict(first=Double()))
        Sequential(
          (first): Double()
        )
    """

    def __init__(self, *args: Module) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for idx, module in enumerate(args):
                self.add_module(str(idx), module)

    def _renumber(self) -> None:
        # Keys stay "0".."n-1" after a deletion or insertion, as torch keeps them.
        self.__dict__["_modules"] = {str(i): m for i, m in enumerate(self._modules.values())}

    def __getitem__(self, idx: Union[int, slice]) -> Union[Module, "Sequential"]:
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        i = _abs_index(idx, len(self))
        return next(islice(self._modules.values(), i, None))

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[_abs_index(idx, len(self))]
        setattr(self, key, module)

    def __delitem__(self, idx: Union[int, slice]) -> None:
        keys = list(self._modules)
        if isinstance(idx, slice):
            for key in keys[idx]:
                delattr(self, key)
        else:
            delattr(self, keys[_abs_index(idx, len(self))])
        self._renumber()

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __add__(self, other: "Sequential") -> "Sequential":
        if not isinstance(other, Sequential):
            raise ValueError("add operator supports only objects of Sequential class, but "
                             f"{type(other)} is given.")
        return Sequential(*self, *other)

    def __iadd__(self, other: "Sequential") -> "Sequential":
        if not isinstance(other, Sequential):
            raise ValueError("add operator supports only objects of Sequential class, but "
                             f"{type(other)} is given.")
        return self.extend(other)

    def __mul__(self, other: int) -> "Sequential":
        if not isinstance(other, int) or other <= 0:
            raise ValueError(f"Non-positive multiplication factor {other} for Sequential")
        return Sequential(*(list(self) * other))

    def append(self, module: Module) -> "Sequential":
        """Add ``module`` at the end.

        Example:
            >>> import neurarust as nr
            >>> len(nr.nn.Sequential().append(nr.nn.Module()))
            1
        """
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index: int, module: Module) -> "Sequential":
        """Insert ``module`` before position ``index``.

        Example:
            >>> import neurarust as nr
            >>> a, b = nr.nn.Module(), nr.nn.Module()
            >>> nr.nn.Sequential(a).insert(0, b)[0] is b
            True
        """
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        if index < 0:
            index += n
        items = list(self._modules.values())
        items.insert(index, module)
        self.__dict__["_modules"] = {str(i): m for i, m in enumerate(items)}
        return self

    def extend(self, sequential: Iterable) -> "Sequential":
        """Append every module of ``sequential``.

        Example:
            >>> import neurarust as nr
            >>> len(nr.nn.Sequential().extend([nr.nn.Module(), nr.nn.Module()]))
            2
        """
        for module in sequential:
            self.append(module)
        return self

    def pop(self, key: Union[int, slice]) -> Module:
        """Remove and return the module(s) at ``key``.

        Example:
            >>> import neurarust as nr
            >>> s = nr.nn.Sequential(nr.nn.Module(), nr.nn.Module()); _ = s.pop(0); len(s)
            1
        """
        value = self[key]
        del self[key]
        return value

    def forward(self, input: Any) -> Any:
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(Module):
    """A list of modules, registered as children (indexable, iterable, not callable).

    Example:
        >>> import neurarust as nr
        >>> layers = nr.nn.ModuleList([nr.nn.Module() for _ in range(3)])
        >>> len(layers), len(list(layers.children()))
        (3, 3)
        >>> layers
        ModuleList(
          (0-2): 3 x Module()
        )
    """

    def __init__(self, modules: Optional[Iterable[Module]] = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx: Union[int, slice]) -> Union[Module, "ModuleList"]:
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_abs_index(idx, len(self)))]

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, str(_abs_index(idx, len(self))), module)

    def __delitem__(self, idx: Union[int, slice]) -> None:
        if isinstance(idx, slice):
            for k in range(len(self))[idx]:
                delattr(self, str(k))
        else:
            delattr(self, str(_abs_index(idx, len(self))))
        self.__dict__["_modules"] = {str(i): m for i, m in enumerate(self._modules.values())}

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __iadd__(self, modules: Iterable[Module]) -> "ModuleList":
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> "ModuleList":
        combined = ModuleList()
        for module in list(self) + list(other):
            combined.append(module)
        return combined

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before ``index``.

        Example:
            >>> import neurarust as nr
            >>> ml = nr.nn.ModuleList([nr.nn.Module()]); m = nr.nn.Module(); ml.insert(0, m); ml[0] is m
            True
        """
        items = list(self._modules.values())
        items.insert(index, module)
        for item in items:
            if not isinstance(item, Module):
                raise TypeError(f"{type(item).__name__} is not a Module subclass")
        self.__dict__["_modules"] = {str(i): m for i, m in enumerate(items)}

    def append(self, module: Module) -> "ModuleList":
        """Add ``module`` at the end.

        Example:
            >>> import neurarust as nr
            >>> len(nr.nn.ModuleList().append(nr.nn.Module()))
            1
        """
        self.add_module(str(len(self)), module)
        return self

    def pop(self, key: Union[int, slice]) -> Module:
        """Remove and return the module at ``key``.

        Example:
            >>> import neurarust as nr
            >>> ml = nr.nn.ModuleList([nr.nn.Module()]); _ = ml.pop(-1); len(ml)
            0
        """
        value = self[key]
        del self[key]
        return value

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        """Append every module of ``modules``.

        Example:
            >>> import neurarust as nr
            >>> len(nr.nn.ModuleList().extend([nr.nn.Module()]))
            1
        """
        if not isinstance(modules, Iterable):
            raise TypeError("ModuleList.extend should be called with an iterable, but got "
                            + type(modules).__name__)
        for module in modules:
            self.append(module)
        return self

    def __repr__(self) -> str:
        # Runs of identical children print once, as "(first-last): count x repr".
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        lines, start = [], 0
        for i in range(1, len(reprs) + 1):
            if i == len(reprs) or reprs[i] != reprs[start]:
                label = f"({start})" if i - 1 == start else f"({start}-{i - 1}): {i - start} x"
                sep = ": " if i - 1 == start else " "
                lines.append(label + sep + _addindent(reprs[start], 2))
                start = i
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """An ordered dict of named child modules.

    Example:
        >>> import neurarust as nr
        >>> d = nr.nn.ModuleDict({"enc": nr.nn.Module()})
        >>> d["dec"] = nr.nn.Module()
        >>> list(d.keys()), "enc" in d, len(d)
        (['enc', 'dec'], True, 2)
    """

    def __init__(self, modules: Optional[Any] = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def clear(self) -> None:
        """Remove every module.

        Example:
            >>> import neurarust as nr
            >>> d = nr.nn.ModuleDict({"a": nr.nn.Module()}); d.clear(); len(d)
            0
        """
        self._modules.clear()

    def pop(self, key: str) -> Module:
        """Remove and return the module under ``key``.

        Example:
            >>> import neurarust as nr
            >>> d = nr.nn.ModuleDict({"a": nr.nn.Module()}); d.pop("a")
            Module()
        """
        value = self[key]
        del self[key]
        return value

    def keys(self):
        """The names.

        Example:
            >>> import neurarust as nr
            >>> list(nr.nn.ModuleDict({"a": nr.nn.Module()}).keys())
            ['a']
        """
        return self._modules.keys()

    def items(self):
        """(name, module) pairs.

        Example:
            >>> import neurarust as nr
            >>> [k for k, _ in nr.nn.ModuleDict({"a": nr.nn.Module()}).items()]
            ['a']
        """
        return self._modules.items()

    def values(self):
        """The modules.

        Example:
            >>> import neurarust as nr
            >>> len(nr.nn.ModuleDict({"a": nr.nn.Module()}).values())
            1
        """
        return self._modules.values()

    def update(self, modules: Any) -> None:
        """Add modules from a mapping or an iterable of (name, module) pairs.

        Example:
            >>> import neurarust as nr
            >>> d = nr.nn.ModuleDict(); d.update([("a", nr.nn.Module())]); list(d)
            ['a']
        """
        if not isinstance(modules, Iterable):
            raise TypeError("ModuleDict.update should be called with an iterable of key/value "
                            "pairs, but got " + type(modules).__name__)
        if isinstance(modules, (Mapping, ModuleDict)):
            for key, module in modules.items():
                self[key] = module
            return
        for j, pair in enumerate(modules):
            if not isinstance(pair, Iterable):
                raise TypeError(f"ModuleDict update sequence element #{j} should be Iterable; is "
                                + type(pair).__name__)
            pair = list(pair)
            if len(pair) != 2:
                raise ValueError(f"ModuleDict update sequence element #{j} has length {len(pair)}; "
                                 "2 is required")
            self[pair[0]] = pair[1]


def _as_parameter(value: Any) -> Any:
    # Plain tensors become parameters, as torch's parameter containers do.
    if isinstance(value, TensorBase) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _describe(value: Any) -> str:
    if isinstance(value, TensorBase):
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        size = "x".join(str(s) for s in value.shape)
        device = "" if value.device.type == "cpu" else f" ({value.device})"
        return f"{kind} containing: [{value.dtype} of size {size}{device}]"
    return f"Object of type: {type(value).__name__}"


class ParameterList(Module):
    """A list of parameters (plain tensors are wrapped in :class:`Parameter`).

    Example:
        >>> import neurarust as nr
        >>> pl = nr.nn.ParameterList([nr.ones(2), nr.zeros(3)])
        >>> len(pl), [n for n, _ in pl.named_parameters()]
        (2, ['0', '1'])
        >>> pl
        ParameterList(
            (0): Parameter containing: [neurarust.float32 of size 2]
            (1): Parameter containing: [neurarust.float32 of size 3]
        )
    """

    def __init__(self, values: Optional[Iterable[Any]] = None) -> None:
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self.extend(values)

    def __getitem__(self, idx: Union[int, slice]) -> Any:
        if isinstance(idx, slice):
            return type(self)([self[i] for i in range(len(self))[idx]])
        return getattr(self, str(_abs_index(idx, len(self))))

    def __setitem__(self, idx: int, param: Any) -> None:
        setattr(self, str(_abs_index(idx, len(self))), _as_parameter(param))

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))

    def __iadd__(self, parameters: Iterable[Any]) -> "ParameterList":
        return self.extend(parameters)

    def append(self, value: Any) -> "ParameterList":
        """Add ``value`` at the end.

        Example:
            >>> import neurarust as nr
            >>> nr.nn.ParameterList().append(nr.ones(1))[0].requires_grad
            True
        """
        object.__setattr__(self, "_size", self._size + 1)
        self[self._size - 1] = value
        return self

    def extend(self, values: Iterable[Any]) -> "ParameterList":
        """Append every value of ``values``.

        Example:
            >>> import neurarust as nr
            >>> len(nr.nn.ParameterList().extend([nr.ones(1), nr.ones(2)]))
            2
        """
        if not isinstance(values, Iterable) or isinstance(values, TensorBase):
            raise TypeError("ParameterList.extend should be called with an iterable, but got "
                            + type(values).__name__)
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"  ({k}): {_describe(p)}" for k, p in enumerate(self))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ParameterList should not be called.")


class ParameterDict(Module):
    """An ordered dict of parameters with string keys (plain tensors become parameters).

    Example:
        >>> import neurarust as nr
        >>> pd = nr.nn.ParameterDict({"scale": nr.ones(1)})
        >>> pd["shift"] = nr.zeros(1)
        >>> list(pd), [n for n, _ in pd.named_parameters()]
        (['scale', 'shift'], ['scale', 'shift'])
    """

    def __init__(self, parameters: Optional[Any] = None) -> None:
        super().__init__()
        object.__setattr__(self, "_keys", {})
        if parameters is not None:
            self.update(parameters)

    @staticmethod
    def _check_key(key: Any) -> None:
        if not isinstance(key, str):
            raise TypeError("Index given to ParameterDict cannot be used as a key as it is not a "
                            f"string (type is '{type(key).__name__}'). Open an issue on github if "
                            "you need non-string keys.")

    def __getitem__(self, key: str) -> Any:
        self._check_key(key)
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._check_key(key)
        self._keys[key] = None
        setattr(self, key, _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def copy(self) -> "ParameterDict":
        """A new ParameterDict holding the same parameters.

        Example:
            >>> import neurarust as nr
            >>> pd = nr.nn.ParameterDict({"a": nr.ones(1)}); pd.copy()["a"] is pd["a"]
            True
        """
        return ParameterDict(OrderedDict((k, self[k]) for k in self._keys))

    def setdefault(self, key: str, default: Any = None) -> Any:
        """``self[key]``, set to ``default`` first when missing.

        Example:
            >>> import neurarust as nr
            >>> nr.nn.ParameterDict().setdefault("a", nr.ones(1)).shape
            neurarust.Size([1])
        """
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self) -> None:
        """Remove every entry.

        Example:
            >>> import neurarust as nr
            >>> pd = nr.nn.ParameterDict({"a": nr.ones(1)}); pd.clear(); len(pd)
            0
        """
        for key in list(self._keys):
            del self[key]

    def pop(self, key: str) -> Any:
        """Remove and return the entry under ``key``.

        Example:
            >>> import neurarust as nr
            >>> pd = nr.nn.ParameterDict({"a": nr.ones(1)}); _ = pd.pop("a"); len(pd)
            0
        """
        value = self[key]
        del self[key]
        return value

    def popitem(self) -> tuple:
        """Remove and return the last (key, value) pair.

        Example:
            >>> import neurarust as nr
            >>> nr.nn.ParameterDict({"a": nr.ones(1)}).popitem()[0]
            'a'
        """
        key = list(self._keys)[-1]
        return key, self.pop(key)

    def get(self, key: str, default: Any = None) -> Any:
        """``self[key]`` or ``default``.

        Example:
            >>> import neurarust as nr
            >>> nr.nn.ParameterDict().get("a") is None
            True
        """
        return self[key] if key in self else default

    def fromkeys(self, keys: Iterable[str], default: Any = None) -> "ParameterDict":
        """A new ParameterDict with ``keys`` all set to ``default``.

        Example:
            >>> import neurarust as nr
            >>> list(nr.nn.ParameterDict().fromkeys(["a", "b"], nr.ones(1)))
            ['a', 'b']
        """
        return ParameterDict((k, default) for k in keys)

    def keys(self):
        """The keys.

        Example:
            >>> import neurarust as nr
            >>> list(nr.nn.ParameterDict({"a": nr.ones(1)}).keys())
            ['a']
        """
        return self._keys.keys()

    def items(self):
        """(key, parameter) pairs.

        Example:
            >>> import neurarust as nr
            >>> [k for k, _ in nr.nn.ParameterDict({"a": nr.ones(1)}).items()]
            ['a']
        """
        return ((k, self[k]) for k in self._keys)

    def values(self):
        """The parameters.

        Example:
            >>> import neurarust as nr
            >>> len(list(nr.nn.ParameterDict({"a": nr.ones(1)}).values()))
            1
        """
        return (self[k] for k in self._keys)

    def update(self, parameters: Any) -> None:
        """Add entries from a mapping or an iterable of (key, value) pairs.

        Example:
            >>> import neurarust as nr
            >>> pd = nr.nn.ParameterDict(); pd.update({"a": nr.ones(1)}); list(pd)
            ['a']
        """
        if not isinstance(parameters, Iterable):
            raise TypeError("ParametersDict.update should be called with an iterable of "
                            "key/value pairs, but got " + type(parameters).__name__)
        if isinstance(parameters, (Mapping, ParameterDict)):
            for key, value in parameters.items():
                self[key] = value
            return
        for j, pair in enumerate(parameters):
            if not isinstance(pair, Iterable):
                raise TypeError(f"ParameterDict update sequence element #{j} should be Iterable; "
                                "is " + type(pair).__name__)
            pair = list(pair)
            if len(pair) != 2:
                raise ValueError(f"ParameterDict update sequence element #{j} has length "
                                 f"{len(pair)}; 2 is required")
            self[pair[0]] = pair[1]

    def extra_repr(self) -> str:
        lines = []
        for key, value in self.items():
            if isinstance(value, TensorBase):
                kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
                device = "" if value.device.type == "cpu" else f" ({value.device})"
                size = "x".join(str(s) for s in value.shape)
                lines.append(f"  ({key}): {kind} containing: [{value.type()} of size {size}{device}]")
            else:
                lines.append(f"  ({key}): Object of type: {type(value).__name__}")
        return "\n".join(lines)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("ParameterDict should not be called.")
