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

import weakref
from typing import Any, List, Optional, Tuple

from .._core.tensor_base import TensorBase
from ..errors import AutogradError
from .grad_mode import GradMode

__all__ = ["Function", "BackwardNode", "AccumulateGrad", "FunctionCtx"]


class SavedTensor:
    """A tensor saved for backward, with the version it had when saved."""

    __slots__ = ("tensor", "version", "is_output", "output_nr")

    def __init__(self, tensor, is_output: bool = False, output_nr: int = 0):
        self.tensor = tensor
        self.version = tensor._version_counter.value
        self.is_output = is_output
        self.output_nr = output_nr

    def unpack(self, node):
        t = self.tensor
        if t._version_counter.value != self.version:
            raise AutogradError(
                f"one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{t.dtype.name} {list(t.shape)}] is at version "
                f"{t._version_counter.value}; expected version {self.version} instead "
                f"(saved by {type(node).__name__}). Replace the in-place operation with an "
                f"out-of-place one, or clone the tensor before modifying it."
            )
        if self.is_output and GradMode.enabled:
            # Double backward needs the output attached to its own node again.
            alias = t._alias()
            alias._grad_fn = node
            alias._requires_grad = True
            alias._output_nr = self.output_nr
            return alias
        return t


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


class BackwardNode(FunctionCtx):
    """A node of the autograd graph; what ``tensor.grad_fn`` returns."""

    _forward_cls: Any = None
    _to_save: Tuple = ()
    _non_differentiable: Tuple = ()
    _materialize_grads = True

    # Defaults live on the class: a node is created per recorded op, and
    # setting eight attributes in __init__ was a measurable share of that cost.
    next_functions: Tuple = ()
    needs_input_grad: Tuple[bool, ...] = ()
    _saved: Optional[List[Optional[SavedTensor]]] = None
    _input_meta: Tuple = ()
    _num_outputs = 1
    _released = False
    _pre_hooks = None
    _retained = None

    @property
    def saved_tensors(self) -> Tuple:
        if self._released:
            raise AutogradError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time."
            )
        saved = self._saved
        if saved is None:
            return ()
        return tuple(None if s is None else s.unpack(self) for s in saved)

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def register_prehook(self, fn):
        return _add_hook(self, 0, fn)

    def _release(self) -> None:
        # As in torch, only a node that actually held tensors refuses a second
        # backward: add/sum/view nodes (shapes only) may run again.
        freed = self._saved is not None and any(s is not None for s in self._saved)
        self._saved = None
        if self._forward_cls._internal:
            # Built-in ops keep tensors only in save_for_backward (their ctx
            # attributes hold shapes and numbers), so there is nothing to scan.
            if freed:
                self._released = True
            return
        for key in list(self.__dict__):
            if key not in _NODE_FIELDS and _holds_tensor(self.__dict__[key]):
                # ctx.<attr> set in forward may hold tensors; drop them with the graph.
                del self.__dict__[key]
                freed = True
        if freed:
            self._released = True

    def _run_backward(self, grads):
        if self._released:
            self.saved_tensors  # raises the "second time" error
        fwd = self._forward_cls
        return fwd.backward(self, *grads)


def _holds_tensor(value) -> bool:
    if isinstance(value, TensorBase):
        return True
    if isinstance(value, (tuple, list)):
        return any(_holds_tensor(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_tensor(v) for v in value.values())
    return False


_NODE_FIELDS = {"next_functions", "needs_input_grad", "_saved", "_input_meta", "_num_outputs",
                "_released", "_pre_hooks", "_retained", "_output_meta"}


class AccumulateGrad(BackwardNode):
    """The node at a leaf: it adds the incoming gradient to ``leaf.grad``."""

    def __init__(self, variable):
        self.variable = variable
        self._input_meta = ((variable._data.shape, variable._dtype),)

    def accumulate(self, grad, create_graph: bool) -> None:
        var = self.variable
        if var._grad is None:
            if create_graph:
                var._grad = grad
            else:
                # The incoming gradient may be shared with other leaves (e.g. both
                # inputs of an add): own a detached copy so in-place updates stay local.
                var._grad = grad.detach().clone()
        else:
            var._grad = var._grad + (grad if create_graph else grad.detach())


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


def grad_accumulator(tensor) -> AccumulateGrad:
    ref = tensor._grad_accumulator
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(tensor)
        tensor._grad_accumulator = weakref.ref(node)
    return node


def gradient_edge(tensor):
    """The (node, output_nr) that receives the gradient of ``tensor``."""
    fn = tensor._grad_fn
    if fn is not None:
        return (fn, tensor._output_nr)
    return (grad_accumulator(tensor), 0)


def _contains(items, obj) -> bool:
    for item in items:
        if item is obj:
            return True
    return False


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

    @classmethod
    def apply(cls, *args, **kwargs):
        if GradMode.enabled:
            for a in args:
                if isinstance(a, TensorBase) and a._requires_grad:
                    return cls._apply_with_graph(args, kwargs)
        if cls._internal:
            # Built-in forwards call backends directly and never read ctx
            # state back, so they share one inert ctx and skip the mode switch.
            return cls.forward(_NULL_CTX, *args, **kwargs)
        ctx = _InactiveContext()
        # torch reports which inputs require grad even when no graph is recorded.
        ctx.needs_input_grad = tuple(isinstance(a, TensorBase) and a._requires_grad for a in args)
        prev = GradMode.enabled
        GradMode.enabled = False
        try:
            return cls.forward(ctx, *args, **kwargs)
        finally:
            GradMode.enabled = prev

    @classmethod
    def _apply_with_graph(cls, args, kwargs):
        node = cls._backward_cls()
        needs, edges, metas = [], [], []
        for a in args:
            if isinstance(a, TensorBase) and a._requires_grad:
                needs.append(True)
                fn = a._grad_fn
                edges.append((fn, a._output_nr) if fn is not None else (grad_accumulator(a), 0))
                metas.append((a._data.shape, a._dtype))
            else:
                needs.append(False)
                edges.append(None)
                metas.append(None)
        node.needs_input_grad = tuple(needs)
        node.next_functions = tuple(edges)
        node._input_meta = tuple(metas)
        GradMode.enabled = False
        try:
            result = cls.forward(node, *args, **kwargs)
        finally:
            GradMode.enabled = True
        is_tuple = isinstance(result, tuple)
        outputs = result if is_tuple else (result,)
        if is_tuple:
            node._num_outputs = len(outputs)
            node._output_meta = tuple(
                (tuple(o.shape), o._dtype, o._device) if isinstance(o, TensorBase) else None
                for o in outputs
            )
        non_diff = node._non_differentiable
        wired = []
        nr = 0
        for out in outputs:
            if isinstance(out, TensorBase):
                for a in args:
                    if out is a:
                        out = out._alias()  # never rewrite the history of an input
                        break
                if out._dtype.is_floating_point and (not non_diff or not _contains(non_diff, out)):
                    out._grad_fn = node
                    out._requires_grad = True
                    out._output_nr = nr
            wired.append(out)
            nr += 1
        to_save = node._to_save
        if to_save:
            saved = []
            for t in to_save:
                if t is None:
                    saved.append(None)
                    continue
                for i, o in enumerate(outputs):
                    if o is t:
                        # An output saved as itself would make a cycle out -> node -> out.
                        saved.append(SavedTensor(t._alias(), True, i))
                        break
                else:
                    saved.append(SavedTensor(t))
            node._saved = saved
            node._to_save = ()
        return tuple(wired) if isinstance(result, tuple) else wired[0]
