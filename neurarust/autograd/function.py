"""``Function``, the graph nodes it creates, and saved tensors.

A differentiable op is a :class:`Function` subclass with ``forward(ctx, ...)``
and ``backward(ctx, *grads)``.  ``apply`` runs ``forward`` with grad mode off
and, when an input requires grad, records a node (an instance of the op's
``<Name>Backward0`` class, which is also the ``ctx``) whose edges point at the
inputs' nodes.  ``backward`` is written with differentiable tensor ops, so
running it with grad mode on (``create_graph=True``) builds the graph of the
derivative: higher-order gradients come for free.

Example:
    >>> import neurarust as nr
    >>> class Cube(nr.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return g * 3 * x ** 2
    >>> x = nr.tensor(2.0, requires_grad=True)
    >>> Cube.apply(x).backward(); x.grad
    tensor(12.)
"""
from __future__ import annotations

from typing import Any, Tuple

from .._core.autograd_core import NodeBase, function_apply, grad_accumulator
from .._core.tensor_base import TensorBase
from ..errors import AutogradError

__all__ = ["Function", "BackwardNode", "AccumulateGrad", "FunctionCtx"]


def _version_error(t, version, node):
    """The error of a saved tensor modified in place (raised by ``SavedTensor.unpack``)."""
    return AutogradError(
        f"one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{t.dtype.name} {list(t.shape)}] is at version "
        f"{t._version_counter.value}; expected version {version} instead "
        f"(saved by {type(node).__name__}). Replace the in-place operation with an "
        f"out-of-place one, or clone the tensor before modifying it."
    )


class FunctionCtx:
    """The ``ctx`` API shared by graph nodes and the no-grad context."""

    def save_for_backward(self, *tensors) -> None:
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors) -> None:  # accepted for torch compatibility
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize_grads = bool(value)


class _InactiveContext(FunctionCtx):
    """The ctx when nothing requires grad: saving is a no-op."""

    needs_input_grad: Tuple[bool, ...] = ()

    def save_for_backward(self, *tensors) -> None:
        pass

    def mark_non_differentiable(self, *tensors) -> None:
        pass


class BackwardNode(NodeBase, FunctionCtx):
    """A node of the autograd graph; what ``tensor.grad_fn`` returns.

    The fields autograd reads on every op (edges, saved tensors, hooks...)
    are C slots of :class:`NodeBase`; attributes a ``forward`` sets on
    ``ctx`` live in the instance ``__dict__``.
    """

    _forward_cls: Any = None

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def register_prehook(self, fn):
        return _add_hook(self, 0, fn)

    def _release(self) -> None:
        # The engine frees built-in nodes itself (their ctx attributes hold
        # shapes and numbers); a user Function's ctx.<attr> set in forward may
        # hold tensors, so they are dropped with the graph.  As in torch, only
        # a node that actually held tensors refuses a second backward.
        freed = self._saved is not None and any(s is not None for s in self._saved)
        self._saved = None
        for key in list(self.__dict__):
            if _holds_tensor(self.__dict__[key]):
                del self.__dict__[key]
                freed = True
        if freed:
            self._released = True


def _holds_tensor(value) -> bool:
    if isinstance(value, TensorBase):
        return True
    if isinstance(value, (tuple, list)):
        return any(_holds_tensor(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_tensor(v) for v in value.values())
    return False


class AccumulateGrad(BackwardNode):
    """The node at a leaf: the engine adds the incoming gradient to ``leaf.grad``."""

    def __init__(self, variable):
        self.variable = variable
        self._input_meta = ((variable._data.shape, variable._dtype),)


class _RemovableHandle:
    """Returned by ``register_hook``: ``handle.remove()`` removes the hook."""

    def __init__(self, hooks: list, fn):
        # A plain reference: lists cannot be weakly referenced, and the list
        # holds only hook functions, so no cycle through the handle is made.
        self._hooks = hooks
        self._fn = fn

    def remove(self) -> None:
        hooks = self._hooks
        if self._fn in hooks:
            hooks.remove(self._fn)


def _add_hook(node: BackwardNode, output_nr: int, fn):
    if node._pre_hooks is None:
        node._pre_hooks = {}
    hooks = node._pre_hooks.setdefault(output_nr, [])
    hooks.append(fn)
    return _RemovableHandle(hooks, fn)


def save_before_overwrite(node, tensor) -> None:
    """Keep the values an in-place op read from ``tensor`` before it overwrites them.

    In-place ops run their out-of-place twin and copy the result in; if the
    twin's ``node`` saved ``tensor`` (or a view of its storage), the write
    would make that saved tensor stale.  torch saves the original value in
    that case, so a copy (still attached to the old history) replaces it.
    """
    saved = node._saved if node is not None else None
    if not saved:
        return
    counter = tensor._version_counter
    for s in saved:
        if s is not None and s.tensor._version_counter is counter and s.version == counter.value:
            s.tensor = s.tensor.clone()
            s.version = s.tensor._version_counter.value


def gradient_edge(tensor):
    """The (node, output_nr) that receives the gradient of ``tensor``."""
    fn = tensor._grad_fn
    if fn is not None:
        return (fn, tensor._output_nr)
    return (grad_accumulator(tensor), 0)


class _NullContext(_InactiveContext):
    """Shared ctx of built-in ops when no graph is recorded; attribute writes are dropped."""

    def __setattr__(self, name, value):
        pass


_NULL_CTX = _NullContext()


class _FunctionMeta(type):
    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        builtin = namespace.get("__module__", "").startswith("neurarust.")
        cls._internal = builtin
        node_name = f"{name}Backward0" if builtin else f"{name}Backward"
        cls._backward_cls = type(node_name, (BackwardNode,), {"_forward_cls": cls,
                                                              "__module__": cls.__module__})


class Function(metaclass=_FunctionMeta):
    """Base class of differentiable operations (``forward``/``backward`` static methods).

    See the module docstring for an example.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError("Function subclasses must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):  # pragma: no cover - abstract
        raise NotImplementedError("Function subclasses must implement backward(ctx, *grads)")

    # Runs forward, recording a node when grad mode is on and an input requires
    # grad (the C core: this is on the path of every op).
    apply = classmethod(function_apply)
