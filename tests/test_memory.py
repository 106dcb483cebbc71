"""Memory: the autograd graph must not keep tensors alive longer than needed.

Intermediate tensors and graph nodes die as soon as the last user reference goes, by
reference counting alone (the garbage collector is disabled during each check, so a
reference cycle would show up as a survivor), and backward() without retain_graph frees
the tensors each node saved.
"""
import gc
import weakref

import numpy as np
import pytest

import neurarust as nr


@pytest.fixture
def no_gc():
    """Disable the cycle collector: only reference counting may free objects."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def survivors(refs):
    return [name for name, ref in refs.items() if ref() is not None]


def weak_refs(**objects):
    return {name: weakref.ref(obj) for name, obj in objects.items()}


def test_intermediates_and_nodes_die_with_the_result(no_gc):
    x = nr.ones(3, requires_grad=True)
    y = x * 2
    z = y.exp()
    out = z.sum()
    refs = weak_refs(y=y, z=z, out=out, mul_node=y.grad_fn, exp_node=z.grad_fn,
                     sum_node=out.grad_fn)
    del y, z
    assert survivors(refs) == ["out", "mul_node", "exp_node", "sum_node"]  # out holds the graph
    del out
    assert survivors(refs) == []
    assert x.grad is None and x._version == 0  # the leaf itself is untouched


def test_the_graph_holds_what_backward_needs_until_the_result_dies(no_gc):
    x = nr.zeros(3, requires_grad=True)
    y = x.sigmoid()       # saves its output (an alias of y's storage)
    loss = (y * 3).sum()
    refs = weak_refs(y=y)
    del y
    assert survivors(refs) == []  # the saved alias does not keep the Python tensor y alive
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * 0.25 * np.ones(3))  # sigmoid'(0) = 1/4


def test_backward_frees_saved_tensors_without_retain_graph(no_gc):
    x = nr.ones(3, requires_grad=True)
    y = x * 2
    z = y.exp()
    out = (z * y).sum()
    exp_node, mul_node = z.grad_fn, out.grad_fn.next_functions[0][0]
    saved = [s.tensor for node in (exp_node, mul_node) for s in node._saved if s is not None]
    assert len(saved) == 3, "exp saves its output, z * y saves both operands"
    refs = {f"saved{i}": weakref.ref(t) for i, t in enumerate(saved)}
    del saved
    before = survivors(refs)
    out.backward()
    assert before == list(refs)
    del y, z  # the user's references were the last ones: the graph let go of them
    assert survivors(refs) == []
    assert exp_node._saved is None and mul_node._saved is None


def test_without_backward_the_graph_keeps_saved_tensors(no_gc):
    x = nr.ones(3, requires_grad=True)
    y = x * 2
    out = (y * y).sum()
    refs = weak_refs(y=y)
    del y
    assert survivors(refs) == ["y"]  # saved by the product; needed by a future backward
    del out
    assert survivors(refs) == []


def test_retain_graph_keeps_saved_tensors_until_the_last_backward(no_gc):
    x = nr.ones(3, requires_grad=True)
    z = x.exp()
    out = z.sum()
    refs = {"saved": weakref.ref(z.grad_fn._saved[0].tensor)}
    out.backward(retain_graph=True)
    assert survivors(refs) == ["saved"]
    out.backward()
    assert survivors(refs) == []


def test_grad_of_leaf_does_not_reference_the_graph(no_gc):
    x = nr.ones(3, requires_grad=True)
    y = x * 2
    (y * y).sum().backward()
    refs = weak_refs(y=y, node=y.grad_fn)
    del y
    assert survivors(refs) == []
    assert x.grad.grad_fn is None


def test_leaf_and_its_accumulator_die_together(no_gc):
    x = nr.ones(3, requires_grad=True)
    y = x * 2
    accumulator = y.grad_fn.next_functions[0][0]
    refs = weak_refs(x=x, y=y, accumulator=accumulator)
    del accumulator
    del x  # the graph (through y) still needs the leaf
    assert survivors(refs) == ["x", "y", "accumulator"]
    del y
    assert survivors(refs) == []


def test_create_graph_results_are_freed(no_gc):
    x = nr.ones(3, requires_grad=True)
    y = x.exp()
    (g,) = nr.autograd.grad(y.sum(), x, create_graph=True)
    refs = weak_refs(y=y, g=g, g_node=g.grad_fn)
    del y, g
    assert survivors(refs) == []


def test_hooks_and_retain_grad_make_no_cycles(no_gc):
    x = nr.ones(3, requires_grad=True)
    y = x * 2
    y.retain_grad()
    handle = y.register_hook(lambda g: g * 2)
    x_handle = x.register_hook(lambda g: g)
    y.sum().backward()
    refs = weak_refs(y=y, node=y.grad_fn)
    del y, handle, x_handle
    assert survivors(refs) == []


def test_in_place_ops_on_non_leaves_make_no_cycles(no_gc):
    x = nr.ones(3, requires_grad=True)
    w = nr.ones(3, requires_grad=True)
    y = x + 1
    y.mul_(2)           # y becomes the output of its own MulBackward0
    y.mul_(w)           # saves y's old value for w's gradient
    z = x * 1
    row = z[1:]
    row.mul_(3)         # rewrites z's history through the view
    out = (y + z).sum()
    refs = weak_refs(y=y, z=z, row=row, out=out, node=out.grad_fn)
    out.backward()
    del y, z, row, out
    assert survivors(refs) == []
    assert x.grad.tolist() == [3.0, 5.0, 5.0] and w.grad.tolist() == [4.0, 4.0, 4.0]


def test_custom_function_saving_its_output_makes_no_cycle(no_gc):
    class Double(nr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x * 2
            ctx.save_for_backward(x, out)
            return out

        @staticmethod
        def backward(ctx, g):
            x, out = ctx.saved_tensors
            return g * out / x

    x = nr.ones(3, requires_grad=True)
    out = Double.apply(x)
    refs = weak_refs(out=out, node=out.grad_fn)
    del out
    assert survivors(refs) == []


def test_long_chain_is_freed_without_recursion_errors(no_gc):
    x = nr.ones(1, requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y * 1.0
    refs = weak_refs(last=y, last_node=y.grad_fn)
    del y  # deallocating a 20,000-node chain must not overflow the C stack
    assert survivors(refs) == []


def test_weak_references_are_supported():
    t = nr.ones(2)
    ref = weakref.ref(t)
    assert ref() is t
    del t
    assert ref() is None
