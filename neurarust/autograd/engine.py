"""The backward engine: dependency counting over the graph, no recursion.

1. Walk the graph from the roots with an explicit stack and count, for each
   node, how many edges point at it.
2. Start from the roots; a node runs once every node that feeds it a
   gradient has run (its count drops to zero).  Gradients arriving at the
   same (node, output) are summed.
3. After a node runs, its saved tensors are freed unless ``retain_graph``.

A chain of 100,000 ops therefore needs no recursion at all.  The loop itself
is ``run_graph`` in ``neurarust/_core/autograd_core.pyx`` (it is the hot part
of a small backward); argument checking, the root gradients and the rare
paths (gradient cast/shape errors, materialised grads) are here.
"""
from __future__ import annotations

from typing import Optional

from .._core import autograd_core
from .._core.autograd_core import run_graph as _run
from .._core.tensor_base import TensorBase, make_tensor
from ..device import backend_for
from ..errors import AutogradError, ShapeError
from ..ops._util import tensor_cls
from .function import (_NULL_CTX, AccumulateGrad, _add_hook, _InactiveContext, _RemovableHandle,
                       _version_error, gradient_edge)

__all__ = ["backward", "grad"]


def _as_tuple(x):
    if x is None:
        return ()
    if isinstance(x, TensorBase):
        return (x,)
    return tuple(x)


def _root_grads(outputs, grad_outputs, create_graph):
    grads = []
    n_given = len(grad_outputs)
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if i < n_given else None
        if not out._requires_grad:
            raise AutogradError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if out._data.size != 1:
                raise AutogradError(
                    f"grad can be implicitly created only for scalar outputs; got an output of "
                    f"shape {list(out.shape)}: pass gradient= (or grad_outputs=) explicitly"
                )
            # ones_like(out) without its argument parsing (this runs on every backward());
            # a fresh tensor, with no history to detach.
            g = make_tensor(tensor_cls(), backend_for(out._device).full(out._data.shape, 1, out._dtype.numpy),
                            out._dtype, out._device)
        elif not isinstance(g, TensorBase):
            raise AutogradError(f"gradient for output {i} must be a Tensor or None, got {type(g).__name__}")
        elif tuple(g.shape) != tuple(out.shape):
            raise ShapeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {list(g.shape)} and output[{i}] "
                f"has a shape of {list(out.shape)}"
            )
        elif not create_graph:
            g = g.detach()
        grads.append(g)
    return grads


def _check_grad(node, index, g):
    meta = node._input_meta[index] if index < len(node._input_meta) else None
    if meta is None or g is None:
        return g
    shape, dtype = meta
    if g._data.shape != shape:
        raise AutogradError(
            f"Function {type(node).__name__} returned an invalid gradient at index {index} - got "
            f"{list(g.shape)} but expected shape compatible with {list(shape)}"
        )
    if g._dtype is not dtype:
        g = g.to(dtype)
    return g


def _materialize(node, grads):
    from ..ops.creation import zeros

    metas = getattr(node, "_output_meta", None)
    out = list(grads)
    for i, g in enumerate(out):
        if g is None and metas is not None:
            shape, dtype, device = metas[i]
            out[i] = zeros(shape, dtype=dtype, device=device)
    return out


# The graph loop (``_run``) lives in the C core; it calls back here for the rare paths.
autograd_core.register(AccumulateGrad, _NULL_CTX, _InactiveContext, _check_grad, _materialize,
                       _version_error, AutogradError)


def backward(tensors, grad_tensors=None, retain_graph: Optional[bool] = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves.

    Example:
        >>> import neurarust as nr
        >>> x = nr.tensor([1.0, 2.0], requires_grad=True)
        >>> nr.autograd.backward((x * x).sum()); x.grad
        tensor([2., 4.])
    """
    outputs = _as_tuple(tensors)
    grads = _root_grads(outputs, _as_tuple(grad_tensors) if grad_tensors is not None else (), create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    roots = [gradient_edge(t) for t in outputs]
    if inputs is not None:
        inputs = _as_tuple(inputs)
        captured = _run(roots, grads, retain_graph, create_graph,
                        capture={gradient_edge(t): i for i, t in enumerate(inputs)})
        for i, t in enumerate(inputs):
            g = captured.get(i)
            if g is not None:
                g = g if create_graph else g.detach()
                t._grad = g.clone() if t._grad is None else t._grad + g
        return
    _run(roots, grads, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph: Optional[bool] = None,
         create_graph: bool = False, allow_unused: bool = False, materialize_grads: bool = False):
    """Return the gradients of ``outputs`` with respect to ``inputs`` (``.grad`` is untouched).

    Example:
        >>> import neurarust as nr
        >>> x = nr.tensor(3.0, requires_grad=True)
        >>> (dx,) = nr.autograd.grad(x ** 2, x, create_graph=True)
        >>> dx, nr.autograd.grad(dx, x)[0]
        (tensor(6., grad_fn=<MulBackward0>), tensor(2.))
    """
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    for i, t in enumerate(inputs):
        if not t._requires_grad:
            raise AutogradError(f"One of the differentiated Tensors (input {i}) does not require grad")
    grads = _root_grads(outputs, _as_tuple(grad_outputs) if grad_outputs is not None else (), create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    roots = [gradient_edge(t) for t in outputs]
    capture = {}
    for i, t in enumerate(inputs):
        capture.setdefault(gradient_edge(t), i)
    captured = _run(roots, grads, retain_graph, create_graph, capture=capture)
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(capture[gradient_edge(t)])
        if g is None:
            if materialize_grads:
                from ..ops.creation import zeros_like

                g = zeros_like(t)
            elif not allow_unused:
                raise AutogradError(
                    f"One of the differentiated Tensors (input {i}) appears to not have been used in "
                    f"the graph. Set allow_unused=True if this is the desired behavior."
                )
        elif not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)


def register_tensor_hook(tensor, fn):
    if tensor._grad_fn is None:
        # A leaf's AccumulateGrad node lives only as long as a graph uses it,
        # so its hooks live on the tensor (as in torch) and the node reads them.
        if tensor._hooks is None:
            tensor._hooks = []
        tensor._hooks.append(fn)
        return _RemovableHandle(tensor._hooks, fn)
    node, nr = gradient_edge(tensor)
    return _add_hook(node, nr, fn)


def retain_tensor_grad(tensor) -> None:
    import weakref

    node = tensor._grad_fn
    if node._retained is None:
        node._retained = {}
    node._retained[tensor._output_nr] = weakref.ref(tensor)


