"""The backward engine: dependency counting over the graph, no recursion.

1. Walk the graph from the roots with an explicit stack and count, for each
   node, how many edges point at it.
2. Start from the roots; a node runs once every node that feeds it a
   gradient has run (its count drops to zero).  Gradients arriving at the
   same (node, output) are summed.
3. After a node runs, its saved tensors are freed unless ``retain_graph``.

A chain of 100,000 ops therefore needs no recursion at all.
"""
from __future__ import annotations

from typing import Dict, Optional

from .._core.tensor_base import TensorBase
from ..errors import AutogradError, ShapeError
from .function import AccumulateGrad, _add_hook, _RemovableHandle, gradient_edge
from .grad_mode import GradMode

__all__ = ["backward", "grad"]


def _as_tuple(x):
    if x is None:
        return ()
    if isinstance(x, TensorBase):
        return (x,)
    return tuple(x)


def _root_grads(outputs, grad_outputs, create_graph):
    from ..ops.creation import ones_like

    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if i < len(grad_outputs) else None
        if not out._requires_grad:
            raise AutogradError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if out.numel() != 1:
                raise AutogradError(
                    f"grad can be implicitly created only for scalar outputs; got an output of "
                    f"shape {list(out.shape)}: pass gradient= (or grad_outputs=) explicitly"
                )
            g = ones_like(out)
        elif not isinstance(g, TensorBase):
            raise AutogradError(f"gradient for output {i} must be a Tensor or None, got {type(g).__name__}")
        elif tuple(g.shape) != tuple(out.shape):
            raise ShapeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {list(g.shape)} and output[{i}] "
                f"has a shape of {list(out.shape)}"
            )
        if not create_graph:
            g = g.detach()
        grads.append(g)
    return grads


def _count_dependencies(roots):
    deps: Dict = {}
    stack = list(roots)
    seen = set(roots)
    while stack:
        node = stack.pop()
        for edge in node.next_functions:
            if edge is None:
                continue
            nxt = edge[0]
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps


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


def _run(roots, root_grads, retain_graph, create_graph, capture=None):
    """Execute the graph; ``capture`` maps (node, nr) -> slot for ``autograd.grad``."""
    buffers: Dict = {}
    for (node, nr), g in zip(roots, root_grads):
        buf = buffers.setdefault(node, [None] * node._num_outputs)
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    root_nodes = list(buffers)
    deps = _count_dependencies(root_nodes)
    ready = [n for n in root_nodes if deps.get(n, 0) == 0]
    captured = {}
    prev_mode = GradMode.enabled
    GradMode.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None) or [None] * node._num_outputs
            if node._pre_hooks:
                for nr, hooks in node._pre_hooks.items():
                    for hook in list(hooks):
                        if grads[nr] is not None:
                            new = hook(grads[nr])
                            if new is not None:
                                grads[nr] = new
            is_leaf_node = type(node) is AccumulateGrad
            if is_leaf_node and node.variable._hooks and grads[0] is not None:
                for hook in list(node.variable._hooks):
                    new = hook(grads[0])
                    if new is not None:
                        grads[0] = new
            if node._retained:
                for nr, ref in node._retained.items():
                    t = ref()
                    if t is not None and grads[nr] is not None:
                        g = grads[nr] if create_graph else grads[nr].detach()
                        t._grad = g if t._grad is None else t._grad + g
            if capture is not None:
                for nr, g in enumerate(grads):
                    slot = capture.get((node, nr))
                    if slot is not None and g is not None:
                        captured[slot] = g
            if is_leaf_node:
                if capture is None and grads[0] is not None:
                    node.accumulate(grads[0], create_graph)
                continue
            edges = node.next_functions
            missing = grads.count(None)
            if missing == len(grads):
                input_grads = (None,) * len(edges)
            else:
                if missing and node._materialize_grads:
                    grads = _materialize(node, grads)
                input_grads = node._run_backward(grads)
                if type(input_grads) is not tuple:
                    input_grads = (input_grads,)
                if len(input_grads) < len(edges):
                    raise AutogradError(
                        f"function {type(node).__name__} returned an incorrect number of gradients "
                        f"(expected {len(edges)}, got {len(input_grads)})"
                    )
                if not retain_graph:
                    node._release()
            metas = node._input_meta
            for i, edge in enumerate(edges):
                if edge is None:
                    continue
                nxt, nr = edge
                g = input_grads[i]
                if g is not None:
                    meta = metas[i]
                    if meta is not None and (g._data.shape != meta[0] or g._dtype is not meta[1]):
                        g = _check_grad(node, i, g)
                    buf = buffers.get(nxt)
                    if buf is None:
                        buf = buffers[nxt] = [None] * nxt._num_outputs
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    ready.append(nxt)
    finally:
        GradMode.enabled = prev_mode
    return captured


def _materialize(node, grads):
    from ..ops.creation import zeros

    metas = getattr(node, "_output_meta", None)
    out = list(grads)
    for i, g in enumerate(out):
        if g is None and metas is not None:
            shape, dtype, device = metas[i]
            out[i] = zeros(shape, dtype=dtype, device=device)
    return out


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


