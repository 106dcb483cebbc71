"""Module call hooks: forward (pre-)hooks, backward (pre-)hooks and their global versions.

Backward hooks need nothing from the autograd engine.  When a module with backward
hooks is called, the tensors going in and coming out pass through identity autograd
Functions.  In backward, the identity at the outputs runs first: it sees
``grad_output`` (the pre-hooks may replace it).  The identity at the inputs runs
once every gradient through the module has arrived: it sees ``grad_input`` and
runs the hooks, whose result replaces the gradients flowing on to the inputs.

Example:
    >>> import neurarust as nr
    >>> lin = nr.nn.Linear(2, 1)
    >>> seen = []
    >>> h = lin.register_full_backward_hook(lambda m, gin, gout: seen.append((gin[0].shape, gout[0].shape)))
    >>> lin(nr.ones(3, 2, requires_grad=True)).sum().backward(); h.remove(); seen
    [(neurarust.Size([3, 2]), neurarust.Size([3, 1]))]
"""
from __future__ import annotations

import itertools
import warnings
import weakref
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..._core.tensor_base import TensorBase
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...errors import AutogradError
from ...ops.creation import zeros

__all__ = ["RemovableHandle", "register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_pre_hook", "register_module_full_backward_hook",
           "register_module_backward_hook"]

_hook_ids = itertools.count()


class _HookDict(OrderedDict):
    """An OrderedDict that can be weakly referenced (plain dicts cannot)."""


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


def _register(table: _HookDict, hook: Callable, *, call_ids: Optional[_HookDict] = None,
              prepend: bool = False, flags: Sequence[Tuple[_HookDict, bool]] = ()) -> RemovableHandle:
    """Store ``hook`` in ``table``; its id also goes in ``call_ids`` and in each enabled flag table."""
    owners = (table,) + (() if call_ids is None else (call_ids,)) + tuple(f for f, _ in flags)
    handle = RemovableHandle(*owners)
    table[handle.id] = hook
    if call_ids is not None:
        call_ids[handle.id] = True
    for flag_table, enabled in flags:
        if enabled:
            flag_table[handle.id] = True
    if prepend:
        table.move_to_end(handle.id, last=False)
    return handle


# Hook tables of every Module instance (created empty by Module.__init__).
_HOOK_TABLES = ("_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_forward_hooks",
               "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_backward_pre_hooks",
               "_backward_hooks", "_call_hook_ids", "_state_dict_pre_hooks", "_state_dict_hooks",
               "_state_dict_hooks_public", "_load_state_dict_pre_hooks",
               "_load_state_dict_pre_hooks_with_module", "_load_state_dict_post_hooks")
_CALL_HOOK_TABLES = ("_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks", "_backward_hooks")

_global_forward_pre_hooks: Dict[int, Callable] = _HookDict()
_global_forward_hooks: Dict[int, Callable] = _HookDict()
_global_forward_hooks_with_kwargs: Dict[int, bool] = _HookDict()
_global_forward_hooks_always_called: Dict[int, bool] = _HookDict()
_global_backward_pre_hooks: Dict[int, Callable] = _HookDict()
_global_backward_hooks: Dict[int, Callable] = _HookDict()
# The id of every global hook above: ``Module.__call__``'s fast path tests this one dict.
_global_call_hook_ids: Dict[int, bool] = _HookDict()
# Whether the registered global backward hooks are full ones (None before the first).
_global_backward_hooks_are_full: Optional[bool] = None


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(module, args)`` to run before the forward of every module.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn.modules.module import register_module_forward_pre_hook
        >>> h = register_module_forward_pre_hook(lambda m, args: None); h.remove()
    """
    return _register(_global_forward_pre_hooks, hook, call_ids=_global_call_hook_ids)


def register_module_forward_hook(hook: Callable, *, with_kwargs: bool = False,
                                 always_call: bool = False) -> RemovableHandle:
    """Register ``hook(module, args, output)`` to run after the forward of every module.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn.modules.module import register_module_forward_hook
        >>> h = register_module_forward_hook(lambda m, args, out: None); h.remove()
    """
    return _register(_global_forward_hooks, hook, call_ids=_global_call_hook_ids,
                     flags=((_global_forward_hooks_with_kwargs, with_kwargs),
                            (_global_forward_hooks_always_called, always_call)))


def register_module_full_backward_pre_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(module, grad_output)`` to run in the backward of every module.

    Runs before the module's own backward pre-hooks; see
    :meth:`Module.register_full_backward_pre_hook`.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn.modules.module import register_module_full_backward_pre_hook
        >>> h = register_module_full_backward_pre_hook(lambda m, gout: None); h.remove()
    """
    return _register(_global_backward_pre_hooks, hook, call_ids=_global_call_hook_ids)


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(module, grad_input, grad_output)`` to run in the backward of every module.

    Runs before the module's own backward hooks; see
    :meth:`Module.register_full_backward_hook`.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn.modules.module import register_module_full_backward_hook
        >>> h = register_module_full_backward_hook(lambda m, gin, gout: None); h.remove()
    """
    _claim_global_backward_kind(full=True)
    return _register(_global_backward_hooks, hook, call_ids=_global_call_hook_ids)


def register_module_backward_hook(hook: Callable) -> RemovableHandle:
    """Deprecated form of :func:`register_module_full_backward_hook`, which it behaves as.

    See :meth:`Module.register_backward_hook` for how it differs from torch.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.nn.modules.module import register_module_backward_hook
        >>> h = register_module_backward_hook(lambda m, gin, gout: None); h.remove()
    """
    _claim_global_backward_kind(full=False)
    return _register(_global_backward_hooks, hook, call_ids=_global_call_hook_ids)


def _claim_global_backward_kind(full: bool) -> None:
    # torch forbids mixing the kinds forever after the first registration; here only while
    # hooks of the other kind are registered (both behave the same anyway).
    global _global_backward_hooks_are_full
    if _global_backward_hooks and _global_backward_hooks_are_full is (not full):
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks as a "
                           "global Module hook. Please use only one of them.")
    _global_backward_hooks_are_full = full


# ----------------------------------------------------------- backward hooks
def _zeros(meta: Tuple[Any, Any, Any]) -> TensorBase:
    shape, dtype, device = meta
    return zeros(shape, dtype=dtype, device=device)


def _meta(t: TensorBase) -> Tuple[Any, Any, Any]:
    return tuple(t.shape), t.dtype, t.device


class _BackwardHookState:
    """One module call's backward hooks, shared by the identity nodes at its inputs and outputs."""

    def __init__(self, module: Any, hooks: List[Callable], pre_hooks: List[Callable]):
        self.module = module
        self.hooks = hooks
        self.pre_hooks = pre_hooks
        self.n_inputs = 0
        # Positions of the inputs wired through the input identity; None when no input
        # requires grad (the output identity then runs the hooks itself).
        self.tracked_inputs: Optional[List[int]] = None
        # Shape, dtype and device of every tensor input: a missing gradient becomes zeros, as in torch.
        self.input_metas: Dict[int, Tuple[Any, Any, Any]] = {}
        # The wrapped inputs and their versions: forward must not modify them in place.
        self.wrapped_inputs: List[Tuple[TensorBase, int]] = []
        self.n_outputs = 0
        self.tracked_outputs: List[int] = []
        # Set by the output identity, consumed (and cleared) by the input identity:
        # cleared so that the hooks fire once per backward.
        self.grad_outputs: Optional[tuple] = None

    def wrap_inputs(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        tracked = [i for i, a in enumerate(args) if isinstance(a, TensorBase) and a.requires_grad]
        if not tracked or not is_grad_enabled():
            return args
        self.tracked_inputs = tracked
        self.input_metas = {i: _meta(a) for i, a in enumerate(args) if isinstance(a, TensorBase)}
        wrapped = BackwardHookFunction.apply(self.on_grad_inputs, *(args[i] for i in tracked))
        new_args = list(args)
        for i, t in zip(tracked, wrapped):
            new_args[i] = t
        self.wrapped_inputs = [(t, t._version) for t in wrapped]
        return tuple(new_args)

    def check_inputs_unmodified(self) -> None:
        # An in-place change of a wrapped input would bypass the identity node (and let a
        # leaf that requires grad be modified); torch forbids it too.
        for nr, (t, version) in enumerate(self.wrapped_inputs):
            if t._version != version:
                raise AutogradError(
                    f"Output {nr} of BackwardHookFunctionBackward is a view and is being modified "
                    f"inplace: the forward of {type(self.module).__name__} modified an input in place, "
                    "which is forbidden on a module with backward hooks. You can fix this by cloning "
                    "the input before modifying it.")
        self.wrapped_inputs = []

    def wrap_outputs(self, output: Any) -> Any:
        self.check_inputs_unmodified()
        if isinstance(output, TensorBase):
            outputs: tuple = (output,)
        elif isinstance(output, tuple):
            outputs = output
        else:
            warnings.warn("For backward hooks to be called, module output should be a Tensor or a "
                          f"tuple of Tensors but received {type(output)}", stacklevel=3)
            return output
        self.n_outputs = len(outputs)
        tracked = [i for i, o in enumerate(outputs) if isinstance(o, TensorBase) and o.requires_grad]
        if not tracked or not is_grad_enabled():
            return output
        self.tracked_outputs = tracked
        wrapped = BackwardHookFunction.apply(self.on_grad_outputs, *(outputs[i] for i in tracked))
        if isinstance(output, TensorBase):
            return wrapped[0]
        new_outputs = list(outputs)
        for i, t in zip(tracked, wrapped):
            new_outputs[i] = t
        # A namedtuple stays one (its fields are positional).
        return output._make(new_outputs) if hasattr(output, "_make") else type(output)(new_outputs)

    def on_grad_outputs(self, grads: tuple) -> tuple:
        """Run the pre-hooks on the gradients reaching the outputs; return those to propagate."""
        grad_output: list = [None] * self.n_outputs
        for i, g in zip(self.tracked_outputs, grads):
            grad_output[i] = g
        grad_output_t = tuple(grad_output)
        for hook in self.pre_hooks:
            result = hook(self.module, grad_output_t)
            if result is None:
                continue
            _check_hook_result(result, len(grad_output_t), "Backward pre hook", "grad_output")
            grad_output_t = tuple(result)
        self.grad_outputs = grad_output_t
        if self.tracked_inputs is None:
            self._run_hooks_without_input_grads()
        return tuple(grad_output_t[i] for i in self.tracked_outputs)

    def _run_hooks_without_input_grads(self) -> None:
        if self.hooks:
            warnings.warn("Full backward hook is firing when gradients are computed with respect to "
                          "module outputs since no inputs require gradients. See "
                          "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                          "#torch.nn.Module.register_full_backward_hook for more details.",
                          stacklevel=2)
        grad_input = (None,) * self.n_inputs
        for hook in self.hooks:
            result = hook(self.module, grad_input, self.grad_outputs)
            if result is not None and not (isinstance(result, (tuple, list))
                                           and all(g is None for g in result)):
                raise AutogradError("Backward hook for Modules where no input requires gradient should "
                                   "always return None or None for all gradients.")
        self.grad_outputs = None

    def on_grad_inputs(self, grads: tuple) -> tuple:
        """Run the hooks on the gradients w.r.t. the inputs; return those to propagate."""
        if self.grad_outputs is None:
            # The outputs' identity did not run in this backward: no grad_output to report.
            return grads
        arrived = dict(zip(self.tracked_inputs, grads))
        grad_input: list = [None] * self.n_inputs
        for i, meta in self.input_metas.items():
            g = arrived.get(i)
            grad_input[i] = g if g is not None else _zeros(meta)
        grad_input_t = tuple(grad_input)
        for hook in self.hooks:
            result = hook(self.module, grad_input_t, self.grad_outputs)
            if result is None:
                continue
            _check_hook_result(result, len(grad_input_t), "Backward hook", "grad_input")
            grad_input_t = tuple(result)
        self.grad_outputs = None
        return tuple(grad_input_t[i] for i in self.tracked_inputs)


def _check_hook_result(result: Any, expected: int, kind: str, what: str) -> None:
    if not isinstance(result, (tuple, list)):
        raise AutogradError(f"{kind} must return None or a tuple of {what} gradients, "
                           f"but got {type(result).__name__}")
    if len(result) != expected:
        raise AutogradError(f"{kind} returned an invalid number of {what}, got {len(result)}, "
                           f"but expected {expected}")


class BackwardHookFunction(Function):
    """Identity on tensors; in backward, ``on_backward(grads)`` sees their gradients and returns
    those to propagate (a gradient that did not arrive is None, not zeros)."""

    @staticmethod
    def forward(ctx, on_backward: Callable[[tuple], tuple], *tensors: TensorBase) -> tuple:
        ctx.on_backward = on_backward
        ctx.set_materialize_grads(False)
        return tensors

    @staticmethod
    def backward(ctx, *grads: Optional[TensorBase]) -> tuple:
        return (None,) + ctx.on_backward(grads)


# ------------------------------------------------------------------ mixin
class _HooksMixin:
    """The hook half of :class:`Module`: registration and the call path with hooks."""

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        d = self.__dict__
        if not any(d[name] for name in _CALL_HOOK_TABLES):
            # Hooks were dropped by clearing the tables directly: back to the fast path.
            d["_call_hook_ids"].clear()
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
        backward_state = None
        backward_hooks = list(_global_backward_hooks.values()) + list(self._backward_hooks.values())
        backward_pre_hooks = (list(_global_backward_pre_hooks.values())
                              + list(self._backward_pre_hooks.values()))
        if backward_hooks or backward_pre_hooks:
            backward_state = _BackwardHookState(self, backward_hooks, backward_pre_hooks)
            args = backward_state.wrap_inputs(args)
        output = self._forward_with_hooks(args, kwargs)
        if backward_state is not None:
            output = backward_state.wrap_outputs(output)
        return output

    def _forward_hook_entries(self):
        """(id, hook, with_kwargs, always_call) for each forward hook, global ones first."""
        with_kwargs = self._forward_hooks_with_kwargs
        always = self._forward_hooks_always_called
        for hook_id, hook in _global_forward_hooks.items():
            yield (hook_id, hook, hook_id in _global_forward_hooks_with_kwargs,
                   hook_id in _global_forward_hooks_always_called)
        for hook_id, hook in self._forward_hooks.items():
            yield hook_id, hook, hook_id in with_kwargs, hook_id in always

    def _forward_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        called = set()
        output = None
        try:
            output = self.forward(*args, **kwargs)
            for hook_id, hook, with_kwargs, _ in self._forward_hook_entries():
                called.add(hook_id)
                result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
                if result is not None:
                    output = result
        except Exception:
            # ``always_call`` hooks still run when forward (or an earlier hook) raised;
            # their own errors must not hide the original one.
            for hook_id, hook, with_kwargs, always_call in self._forward_hook_entries():
                if not always_call or hook_id in called:
                    continue
                try:
                    result = (hook(self, args, kwargs, output) if with_kwargs
                              else hook(self, args, output))
                    if result is not None:
                        output = result
                except Exception as exc:  # noqa: BLE001 - reported as a warning, like torch
                    warnings.warn("module forward hook with ``always_call=True`` raised an exception "
                                  f"that was silenced as another error was raised in forward: {exc}")
            raise
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
        return _register(self._forward_pre_hooks, hook, call_ids=self._call_hook_ids,
                         prepend=prepend, flags=((self._forward_pre_hooks_with_kwargs, with_kwargs),))

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False, always_call: bool = False) -> RemovableHandle:
        """Run ``hook(module, args, output)`` after ``forward``; a non-None result replaces the output.

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs, output)``;
        with ``always_call=True`` it also runs (with ``output=None`` when forward
        failed) when an exception is raised.

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Module(); m.forward = lambda x: x + 1
            >>> h = m.register_forward_hook(lambda mod, args, out: out * 2)
            >>> m(nr.tensor(1.0))
            tensor(4.)
        """
        return _register(self._forward_hooks, hook, call_ids=self._call_hook_ids, prepend=prepend,
                         flags=((self._forward_hooks_with_kwargs, with_kwargs),
                                (self._forward_hooks_always_called, always_call)))

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Run ``hook(module, grad_output)`` when the gradients w.r.t. the module's outputs are known.

        ``grad_output`` has one entry per output (None for a non-tensor output or one
        that got no gradient).  A non-None result (a tuple of the same length)
        replaces ``grad_output`` for the rest of the backward.  Global pre-hooks run
        first; ``prepend=True`` puts this one before the module's others.

        Example:
            >>> import neurarust as nr
            >>> lin = nr.nn.Linear(2, 1, bias=False)
            >>> _ = lin.register_full_backward_pre_hook(lambda m, gout: (gout[0] * 10,))
            >>> lin(nr.ones(1, 2)).sum().backward(); lin.weight.grad
            tensor([[10., 10.]])
        """
        return _register(self._backward_pre_hooks, hook, call_ids=self._call_hook_ids,
                         prepend=prepend)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Run ``hook(module, grad_input, grad_output)`` once the gradients w.r.t. the inputs are known.

        ``grad_input`` has one entry per positional argument: None for a non-tensor
        (keyword arguments are ignored), zeros for a tensor that got no gradient.
        When no input requires grad, the hook runs as soon as ``grad_output`` is
        known, with every ``grad_input`` None (torch warns then, and so do we).
        A non-None result (a tuple of the same length) replaces the gradients
        passed on to the inputs.  The hook must not modify its arguments in place.

        Example:
            >>> import neurarust as nr
            >>> lin = nr.nn.Linear(2, 1)
            >>> _ = lin.register_full_backward_hook(lambda m, gin, gout: (nr.ones_like(gin[0]),))
            >>> x = nr.ones(1, 2, requires_grad=True)
            >>> lin(x).sum().backward(); x.grad
            tensor([[1., 1.]])
        """
        self._claim_backward_kind(full=True)
        return _register(self._backward_hooks, hook, call_ids=self._call_hook_ids, prepend=prepend)

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Deprecated: behaves as :meth:`register_full_backward_hook`.

        torch's legacy hook reports the gradients of the last autograd node of the
        forward instead of the module's inputs (and warns about it); NeuraRust gives
        the documented ``grad_input`` of the full hook, without a warning.  Like torch,
        a module cannot mix the two kinds (here: while hooks of the other kind are registered).

        Example:
            >>> import neurarust as nr
            >>> m = nr.nn.Tanh(); seen = []
            >>> _ = m.register_backward_hook(lambda mod, gin, gout: seen.append(gin[0]))
            >>> m(nr.zeros(1, requires_grad=True)).sum().backward(); seen
            [tensor([1.])]
        """
        self._claim_backward_kind(full=False)
        return _register(self._backward_hooks, hook, call_ids=self._call_hook_ids)

    def _claim_backward_kind(self, full: bool) -> None:
        if self._backward_hooks and self.__dict__.get("_is_full_backward_hook") is (not full):
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on a "
                               "single Module. Please use only one of them.")
        self._is_full_backward_hook = full
