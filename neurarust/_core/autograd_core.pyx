# cython: language_level=3, boundscheck=False, wraparound=False
"""The hot loops of autograd: recording a node (``Function.apply``) and running the graph.

A small graph (``(x*w + b).relu().sum()``) spends most of its time in
bookkeeping, not arithmetic: building nodes, edges and saved tensors, and
walking the graph.  This module does that bookkeeping in C, reading the
tensors' C slots directly (``TensorBase``) and the nodes' own C fields
(:class:`NodeBase`).  The classes users see, the error messages of the rare
paths and the ctx API stay in Python (``neurarust.autograd.function`` /
``engine``), which registers them here with :func:`register` at import.

Example:
    >>> import neurarust as nr
    >>> x = nr.tensor(2.0, requires_grad=True)
    >>> y = x * x
    >>> y.grad_fn.next_functions[0][0] is y.grad_fn.next_functions[1][0]
    True
    >>> y.backward(); x.grad
    tensor(4.)
"""
from weakref import ref as _weakref

from neurarust._core.tensor_base cimport GradModeState, TensorBase

from neurarust._core.tensor_base import GRAD_MODE

cdef GradModeState _mode = GRAD_MODE

# Python-level pieces, registered by neurarust.autograd at import (no import cycle).
cdef object _AccumulateGrad = None
cdef object _NULL_CTX = None
cdef object _InactiveContext = None
cdef object _check_grad = None
cdef object _materialize = None
cdef object _version_error = None
cdef object _AutogradError = None


def register(accumulate_grad, null_ctx, inactive_context, check_grad, materialize, version_error,
             autograd_error):
    """Called once by ``neurarust.autograd`` with the Python classes and rare-path helpers."""
    global _AccumulateGrad, _NULL_CTX, _InactiveContext, _check_grad, _materialize
    global _version_error, _AutogradError
    _AccumulateGrad = accumulate_grad
    _NULL_CTX = null_ctx
    _InactiveContext = inactive_context
    _check_grad = check_grad
    _materialize = materialize
    _version_error = version_error
    _AutogradError = autograd_error


cdef class SavedTensor:
    """A tensor saved for backward, with the version it had when saved."""

    cdef public object tensor
    cdef public long long version
    cdef public bint is_output
    cdef public int output_nr

    def __init__(self, tensor, bint is_output=False, int output_nr=0):
        self.tensor = tensor
        self.version = (<TensorBase?>tensor)._version_counter.value
        self.is_output = is_output
        self.output_nr = output_nr

    cpdef object unpack(self, object node):
        cdef TensorBase t = <TensorBase>self.tensor
        cdef TensorBase alias
        if t._version_counter.value != self.version:
            raise _version_error(t, self.version, node)
        if self.is_output and _mode.enabled:
            # Double backward needs the output attached to its own node again.
            alias = t._alias()
            alias._grad_fn = node
            alias._requires_grad = True
            alias._output_nr = self.output_nr
            return alias
        return t


cdef SavedTensor _saved_tensor(TensorBase t, bint is_output, int output_nr):
    # SavedTensor(...) without the Python-level argument parsing (one per saved tensor per op).
    cdef SavedTensor s = SavedTensor.__new__(SavedTensor)
    s.tensor = t
    s.version = t._version_counter.value
    s.is_output = is_output
    s.output_nr = output_nr
    return s


cdef class NodeBase:
    """The fields of a graph node that autograd reads on every op, as C slots.

    ``BackwardNode`` (Python) adds the ctx API and a ``__dict__`` for the
    attributes a ``forward`` sets on ``ctx``.
    """

    cdef public tuple next_functions
    cdef public tuple needs_input_grad
    cdef public tuple _input_meta
    cdef public object _saved           # list of SavedTensor/None, or None
    cdef public object _to_save         # what forward passed to save_for_backward
    cdef public object _non_differentiable
    cdef public object _pre_hooks       # {output_nr: [hook]} or None
    cdef public object _retained        # {output_nr: weakref to tensor} or None
    cdef public int _num_outputs
    cdef public bint _released
    cdef public bint _materialize_grads

    def __cinit__(self, *args, **kwargs):
        self.next_functions = ()
        self.needs_input_grad = ()
        self._input_meta = ()
        self._to_save = ()
        self._non_differentiable = ()
        self._num_outputs = 1
        self._materialize_grads = True

    @property
    def saved_tensors(self):
        """The tensors ``forward`` saved, checked against in-place modification since."""
        if self._released:
            raise _AutogradError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time."
            )
        saved = self._saved
        if saved is None:
            return ()
        return tuple([None if s is None else (<SavedTensor>s).unpack(self) for s in <list>saved])


cdef object _grad_accumulator(TensorBase t):
    ref = t._grad_accumulator
    node = ref() if ref is not None else None
    if node is None:
        node = _AccumulateGrad(t)
        t._grad_accumulator = _weakref(node)
    return node


def grad_accumulator(TensorBase tensor):
    """The leaf's ``AccumulateGrad`` node, created on first use and shared while it lives."""
    return _grad_accumulator(tensor)


cdef inline bint _requires_grad(object a):
    return isinstance(a, TensorBase) and (<TensorBase>a)._requires_grad


def function_apply(cls, *args, **kwargs):
    """``Function.apply``: run ``forward``, recording a node when an input requires grad."""
    cdef object a
    cdef bint prev
    if _mode.enabled:
        for a in args:
            if _requires_grad(a):
                return _apply_with_graph(cls, args, kwargs)
    if cls._internal:
        # Built-in forwards call backends directly and never read ctx
        # state back, so they share one inert ctx and skip the mode switch.
        return cls.forward(_NULL_CTX, *args, **kwargs)
    ctx = _InactiveContext()
    # torch reports which inputs require grad even when no graph is recorded.
    ctx.needs_input_grad = tuple([_requires_grad(a) for a in args])
    prev = _mode.enabled
    _mode.enabled = False
    try:
        return cls.forward(ctx, *args, **kwargs)
    finally:
        _mode.enabled = prev


cdef inline bint _contains(object items, object obj):
    for item in items:
        if item is obj:
            return True
    return False


cdef object _apply_with_graph(object cls, tuple args, dict kwargs):
    cdef NodeBase node = cls._backward_cls()
    cdef Py_ssize_t n = len(args), i, nr
    cdef list needs = [None] * n, edges = [None] * n, metas = [None] * n
    cdef TensorBase t
    cdef object a, fn
    for i in range(n):
        a = args[i]
        if _requires_grad(a):
            t = <TensorBase>a
            needs[i] = True
            fn = t._grad_fn
            edges[i] = (fn, t._output_nr) if fn is not None else (_grad_accumulator(t), 0)
            metas[i] = (t._data.shape, t._dtype)
        else:
            needs[i] = False
    node.needs_input_grad = tuple(needs)
    node.next_functions = tuple(edges)
    node._input_meta = tuple(metas)
    _mode.enabled = False
    try:
        result = cls.forward(node, *args, **kwargs)
    finally:
        _mode.enabled = True
    cdef bint is_tuple = isinstance(result, tuple)
    cdef tuple outputs = <tuple>result if is_tuple else (result,)
    if is_tuple:
        node._num_outputs = len(outputs)
        node._output_meta = tuple([
            (tuple(o.shape), (<TensorBase>o)._dtype, (<TensorBase>o)._device)
            if isinstance(o, TensorBase) else None for o in outputs])
    non_diff = node._non_differentiable
    cdef list wired = []
    nr = 0
    for out in outputs:
        if isinstance(out, TensorBase):
            for a in args:
                if out is a:
                    out = out._alias()  # never rewrite the history of an input
                    break
            t = <TensorBase>out
            if t._dtype.is_floating_point and (not non_diff or not _contains(non_diff, out)):
                t._grad_fn = node
                t._requires_grad = True
                t._output_nr = nr
        wired.append(out)
        nr += 1
    to_save = node._to_save
    cdef list saved
    if to_save:
        saved = []
        for s in to_save:
            if s is None:
                saved.append(None)
                continue
            for i in range(len(outputs)):
                if outputs[i] is s:
                    # An output saved as itself would make a cycle out -> node -> out.
                    saved.append(_saved_tensor(s._alias(), True, i))
                    break
            else:
                saved.append(_saved_tensor(s, False, 0))
        node._saved = saved
        node._to_save = ()
    return tuple(wired) if is_tuple else wired[0]


# ------------------------------------------------------------------ engine
cdef dict _count_dependencies(list roots):
    """How many edges point at each node reachable from ``roots``."""
    cdef dict deps = {}
    cdef list stack = list(roots)
    cdef set seen = set(roots)
    cdef NodeBase node
    while stack:
        node = stack.pop()
        for edge in node.next_functions:
            if edge is None:
                continue
            nxt = (<tuple>edge)[0]
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps


cdef inline bint _mismatch(object gr, tuple meta) except -1:
    """Whether a gradient's shape or dtype differs from the recorded input's."""
    cdef TensorBase g
    if isinstance(gr, TensorBase):
        g = <TensorBase>gr
        return g._data.shape != meta[0] or g._dtype is not meta[1]
    return gr._data.shape != meta[0] or gr._dtype is not meta[1]  # the user's error surfaces here


cdef inline object _add_grads(object old, object g):
    return g if old is None else old + g


cdef void _release(NodeBase node) except *:
    # As in torch, only a node that actually held tensors refuses a second
    # backward: add/sum/view nodes (shapes only) may run again.
    cdef bint freed = False
    if not type(node)._forward_cls._internal:
        node._release()  # user ctx attributes may hold tensors: the Python scan
        return
    saved = node._saved
    if saved is not None:
        for s in saved:
            if s is not None:
                freed = True
                break
    node._saved = None
    if freed:
        node._released = True


cdef void _run_hooks(NodeBase node, list grads, bint is_leaf) except *:
    if node._pre_hooks:
        for nr, hooks in node._pre_hooks.items():
            for hook in list(hooks):
                if grads[nr] is not None:
                    new = hook(grads[nr])
                    if new is not None:
                        grads[nr] = new
    if is_leaf:
        var = <TensorBase>node.variable
        if var._hooks and grads[0] is not None:
            for hook in list(var._hooks):
                new = hook(grads[0])
                if new is not None:
                    grads[0] = new


cdef void _accumulate(TensorBase var, object grad, bint create_graph) except *:
    """Add a leaf's incoming gradient to ``leaf.grad``.

    Grad mode is ``create_graph`` here: without it, the clone and the sum
    record nothing, so no detach is needed.
    """
    if var._grad is None:
        # The incoming gradient may be shared with other leaves (e.g. both
        # inputs of an add): own a copy so in-place updates stay local.
        var._grad = grad if create_graph else grad.clone()
    else:
        var._grad = var._grad + grad


def run_graph(list roots, list root_grads, bint retain_graph, bint create_graph, dict capture=None):
    """Execute the graph from ``roots`` ((node, output_nr) pairs) with ``root_grads``.

    ``capture`` maps (node, nr) -> slot for ``autograd.grad``: the gradients
    reaching those edges are returned as {slot: grad} and leaves are left alone.
    """
    cdef dict buffers = {}
    cdef dict captured = {}
    cdef list buf, grads, ready
    cdef tuple edges, metas, edge
    cdef NodeBase node, nxt
    cdef TensorBase rt
    cdef Py_ssize_t i, nr, n_edges, missing
    cdef bint is_leaf
    for root, gr in zip(roots, root_grads):
        node = (<tuple>root)[0]
        nr = (<tuple>root)[1]
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node._num_outputs
        buf[nr] = _add_grads(buf[nr], gr)
    cdef list root_nodes = list(buffers)
    cdef dict deps = _count_dependencies(root_nodes)
    ready = [n for n in root_nodes if deps.get(n, 0) == 0]
    cdef bint prev_mode = _mode.enabled
    _mode.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None)
            if grads is None:
                grads = [None] * node._num_outputs
            is_leaf = type(node) is _AccumulateGrad
            if node._pre_hooks or is_leaf:
                _run_hooks(node, grads, is_leaf)
            if node._retained:
                for nr, wref in node._retained.items():
                    t = wref()
                    if t is not None and grads[nr] is not None:
                        rt = <TensorBase>t
                        gr = grads[nr] if create_graph else grads[nr].detach()
                        rt._grad = _add_grads(rt._grad, gr)
            if capture is not None:
                for nr in range(len(grads)):
                    gr = grads[nr]
                    if gr is not None:
                        slot = capture.get((node, nr))
                        if slot is not None:
                            captured[slot] = gr
            if is_leaf:
                if capture is None and grads[0] is not None:
                    _accumulate(<TensorBase>node.variable, grads[0], create_graph)
                continue
            edges = node.next_functions
            n_edges = len(edges)
            missing = 0
            for gr in grads:
                if gr is None:
                    missing += 1
            if missing == len(grads):
                input_grads = (None,) * n_edges
            else:
                if missing and node._materialize_grads:
                    grads = _materialize(node, grads)
                if node._released:
                    node.saved_tensors  # raises the "second time" error
                input_grads = type(node)._forward_cls.backward(node, *grads)
                if type(input_grads) is not tuple:
                    input_grads = (input_grads,)
                if len(<tuple>input_grads) < n_edges:
                    raise _AutogradError(
                        f"function {type(node).__name__} returned an incorrect number of gradients "
                        f"(expected {n_edges}, got {len(<tuple>input_grads)})"
                    )
                if not retain_graph:
                    _release(node)
            metas = node._input_meta
            for i in range(n_edges):
                edge = <tuple>edges[i]
                if edge is None:
                    continue
                nxt = <NodeBase>edge[0]
                nr = edge[1]
                gr = (<tuple>input_grads)[i]
                if gr is not None:
                    meta = metas[i]
                    if meta is not None and _mismatch(gr, <tuple>meta):
                        gr = _check_grad(node, i, gr)
                    buf = buffers.get(nxt)
                    if buf is None:
                        buf = buffers[nxt] = [None] * nxt._num_outputs
                    buf[nr] = _add_grads(buf[nr], gr)
                remaining = deps[nxt] - 1
                deps[nxt] = remaining
                if remaining == 0:
                    ready.append(nxt)
    finally:
        _mode.enabled = prev_mode
    return captured
