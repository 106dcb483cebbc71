"""The C core of autograd (``neurarust/_core/autograd_core.pyx``) and the fused backward formulas.

Recording (``Function.apply``), the graph loop and saved tensors run in C;
these tests pin what must not change with that: the node fields, saved-tensor
version checks, hooks, retain_grad, user ctx attributes, and the cheaper
backward formulas of relu (one ``threshold_backward`` kernel) and of sums of
1-element inputs (a reshaped view), compared with torch.
"""
import gc
import weakref

import numpy as np
import pytest

import neurarust as nr
from neurarust._core.autograd_core import NodeBase, SavedTensor
from neurarust.autograd.function import AccumulateGrad, BackwardNode
from neurarust.errors import AutogradError

torch = pytest.importorskip("torch")


def _pair(values, dtype="float32", requires_grad=True):
    arr = np.array(values, dtype=dtype)
    return (nr.tensor(arr, requires_grad=requires_grad),
            torch.tensor(arr, requires_grad=requires_grad))


def _close(ours, theirs):
    np.testing.assert_allclose(ours.detach().numpy(),
                               theirs.detach().numpy(), rtol=1e-6, atol=0)


def test_tiny_graph_matches_torch_over_repeated_backwards():
    # The benchmarked graph, run several times: .grad accumulates as in torch.
    xs = [_pair([0.5]), _pair([1.5]), _pair([0.25])]
    for _ in range(3):
        for lib, (x, w, b) in ((nr, [p[0] for p in xs]), (torch, [p[1] for p in xs])):
            (x * w + b).relu().sum().backward()
    for ours, theirs in xs:
        _close(ours.grad, theirs.grad)


def test_nodes_keep_their_fields_in_c_slots_and_ctx_attributes_in_the_dict():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    node = y.grad_fn
    assert isinstance(node, BackwardNode) and isinstance(node, NodeBase)
    assert node.needs_input_grad == (True, False)
    (acc, nr_), none_edge = node.next_functions
    assert type(acc) is AccumulateGrad and acc.variable is x and nr_ == 0 and none_edge is None
    assert node._input_meta[0] == ((2,), nr.float32) and node._num_outputs == 1
    assert "shapes" in node.__dict__ and "next_functions" not in node.__dict__
    # The same leaf reached twice shares one AccumulateGrad node.
    z = x * x
    assert z.grad_fn.next_functions[0][0] is z.grad_fn.next_functions[1][0]


def test_saved_tensor_version_check_fires_from_the_c_unpack():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    y = h * h
    assert all(isinstance(s, SavedTensor) for s in y.grad_fn._saved)
    h.add_(1.0)
    with pytest.raises(AutogradError, match="modified by an inplace operation.*MulBackward0"):
        y.sum().backward()


def test_second_backward_raises_and_retain_graph_allows_it():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    with pytest.raises(AutogradError, match="backward through the graph a second time"):
        y.backward()


def test_hooks_retain_grad_and_leaf_hooks_fire_in_order():
    x = nr.tensor([1.0, -2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(("leaf", g.numpy().tolist())))
    h = x * 2.0
    h.retain_grad()
    h.register_hook(lambda g: g * 10)
    h.relu().sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [10.0, 0.0])  # retain_grad sees the hooked grad
    assert seen == [("leaf", [20.0, 0.0])]
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 0.0])


def test_user_function_ctx_tensors_are_released_with_the_graph():
    class Scale(nr.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k  # a tensor kept as a ctx attribute, not through save_for_backward
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    x = nr.tensor([1.0, 2.0], requires_grad=True)
    k = nr.tensor([3.0, 4.0])
    y = Scale.apply(x, k)
    node = y.grad_fn
    assert type(node).__name__ == "ScaleBackward" and node.needs_input_grad == (True, False)
    ref = weakref.ref(node.__dict__["k"])
    del k
    y.sum().backward()
    gc.collect()
    assert "k" not in node.__dict__ and ref() is None
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


def test_autograd_grad_captures_without_touching_grad():
    x, tx = _pair([0.5, -1.0, 2.0])
    (g,) = nr.autograd.grad((x * x).relu().sum(), x)
    (tg,) = torch.autograd.grad((tx * tx).relu().sum(), tx)
    _close(g, tg)
    assert x.grad is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_backward_is_torchs_threshold_backward(dtype):
    # A NaN output passes the gradient; a masked inf or nan gradient gives 0 (not nan).
    vals = [float("nan"), -1.0, 2.0, 0.0, -0.0, 3.0]
    grads = np.array([1.0, float("inf"), 3.0, float("nan"), 5.0, -6.0], dtype)
    x, tx = _pair(vals, dtype)
    x.relu().backward(nr.tensor(grads))
    tx.relu().backward(torch.tensor(grads))
    _close(x.grad, tx.grad)


def test_relu_backward_float16_and_broadcast_grad():
    x, tx = _pair([-1.0, 0.5, 2.0], "float16")
    (x.relu() * nr.tensor(3.0, dtype=nr.float16)).sum().backward()
    (tx.relu() * torch.tensor(3.0, dtype=torch.float16)).sum().backward()
    assert x.grad.dtype is nr.float16
    _close(x.grad, tx.grad)


def test_relu_double_backward_matches_torch():
    x, tx = _pair([-1.0, 0.5, 2.0])
    results = []
    for lib, t in ((nr, x), (torch, tx)):
        y = (t.relu() * t * t).sum()
        (g,) = lib.autograd.grad(y, t, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), t)
        results.append((g, gg))
    assert type(results[0][0].grad_fn).__name__ == "AddBackward0"
    _close(results[0][0], results[1][0])
    _close(results[0][1], results[1][1])


@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (3,), (2, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_backward_shapes_and_values(shape, keepdim):
    vals = np.arange(1, 1 + int(np.prod(shape)), dtype=np.float32).reshape(shape)
    x, tx = nr.tensor(vals, requires_grad=True), torch.tensor(vals, requires_grad=True)
    dim = tuple(range(len(shape))) or None
    for lib, t in ((nr, x), (torch, tx)):
        y = t.sum() if dim is None else t.sum(dim=dim, keepdim=keepdim)
        (y * 2.0).backward()
    assert tuple(x.grad.shape) == shape
    _close(x.grad, tx.grad)


def test_sum_backward_of_one_element_records_a_graph_with_create_graph():
    x, tx = _pair([[1.5]])
    for lib, t in ((nr, x), (torch, tx)):
        (g,) = lib.autograd.grad((t * t).sum(), t, create_graph=True)
        g.sum().backward()
    _close(x.grad, tx.grad)


def test_root_gradient_matches_dtype_and_shape_of_the_output():
    for dtype in (nr.float16, nr.float32, nr.float64):
        x = nr.tensor([[2.0]], dtype=dtype, requires_grad=True)
        y = x * 1.0
        grads = []
        y.register_hook(lambda g: grads.append(g))
        y.backward()
        (g,) = grads
        assert g.dtype is dtype and tuple(g.shape) == (1, 1) and g.item() == 1.0
        assert not g.requires_grad and x.grad.item() == 1.0
