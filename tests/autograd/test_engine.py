"""The backward engine and the Tensor autograd API.

Covers requires_grad / grad / grad_fn / is_leaf / retain_grad / register_hook / detach,
``Tensor.backward`` (gradient=, retain_graph=, create_graph=, inputs=), ``nr.autograd.grad``,
and the engine itself: a 100,000-op chain without recursion, diamonds, leaves used twice,
and the errors for misuse.  Expected values are derived by hand (NumPy); torch, when
importable, is asked the same question as a second reference.
"""
import time

import numpy as np
import pytest

import neurarust as nr

X_VALUES = np.array([0.5, -1.25, 2.0])


def torch_module():
    return pytest.importorskip("torch")


def leaf(values=X_VALUES, dtype=nr.float64):
    return nr.tensor(np.array(values), dtype=dtype, requires_grad=True)


def as_numpy(t):
    return t.detach().numpy()


# ------------------------------------------------------------------ requires_grad / is_leaf
def test_new_tensor_is_a_leaf_that_does_not_require_grad():
    x = nr.ones(2, 3)
    assert x.requires_grad is False
    assert x.is_leaf and x.grad_fn is None and x.grad is None


@pytest.mark.parametrize("dtype", [nr.float16, nr.float32, nr.float64])
def test_requires_grad_setter_and_method_on_floating_dtypes(dtype):
    x = nr.zeros(3, dtype=dtype)
    x.requires_grad = True
    assert x.requires_grad and x.is_leaf
    y = nr.zeros(3, dtype=dtype)
    assert y.requires_grad_() is y and y.requires_grad
    y.requires_grad_(False)
    assert not y.requires_grad
    assert nr.zeros(2, dtype=dtype, requires_grad=True).requires_grad


@pytest.mark.parametrize("dtype", [nr.int64, nr.int32, nr.uint8, nr.bool])
def test_requires_grad_is_refused_for_non_floating_dtypes(dtype):
    x = nr.zeros(3, dtype=dtype)
    for make_it_require_grad in (lambda: setattr(x, "requires_grad", True),
                                 lambda: x.requires_grad_(),
                                 lambda: nr.zeros(3, dtype=dtype, requires_grad=True)):
        with pytest.raises(nr.AutogradError, match="floating point"):
            make_it_require_grad()
    assert not x.requires_grad


def test_requires_grad_on_integer_tensor_is_a_runtime_error_in_torch_too():
    torch = torch_module()
    with pytest.raises(RuntimeError):
        torch.zeros(3, dtype=torch.int64).requires_grad_()
    with pytest.raises(RuntimeError):
        nr.zeros(3, dtype=nr.int64).requires_grad_()


def test_requires_grad_cannot_be_cleared_on_a_non_leaf():
    y = leaf() * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False
    assert y.requires_grad


def test_op_results_are_non_leaves_only_when_an_input_requires_grad():
    x = leaf()
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    z = nr.ones(3) * 2
    assert not z.requires_grad and z.is_leaf and z.grad_fn is None


# ------------------------------------------------------------------ grad_fn names
GRAD_FN_CASES = {
    "AddBackward0": lambda x: x + 1,
    "SubBackward0": lambda x: x - 1,
    "MulBackward0": lambda x: x * 2,
    "DivBackward0": lambda x: x / 2,
    "PowBackward0": lambda x: x ** 2,
    "NegBackward0": lambda x: -x,
    "ExpBackward0": lambda x: x.exp(),
    "LogBackward0": lambda x: x.abs().log(),
    "SinBackward0": lambda x: x.sin(),
    "TanhBackward0": lambda x: x.tanh(),
    "SigmoidBackward0": lambda x: x.sigmoid(),
    "ReluBackward0": lambda x: x.relu(),
    "AbsBackward0": lambda x: x.abs(),
    "SqrtBackward0": lambda x: x.abs().sqrt(),
    "SumBackward0": lambda x: x.sum(),
    "SoftmaxBackward0": lambda x: x.softmax(0),
    "ViewBackward0": lambda x: x.view(3, 1),
    "ExpandBackward0": lambda x: x.expand(2, 3),
    "UnsqueezeBackward0": lambda x: x.unsqueeze(0),
    "PermuteBackward0": lambda x: x.view(1, 3).permute(1, 0),
    "CloneBackward0": lambda x: x.clone(),
    "SliceBackward0": lambda x: x[1:],
    "MeanBackward0": lambda x: x.mean(),
    "TBackward0": lambda x: x.view(1, 3).t(),
    "TransposeBackward0": lambda x: x.view(1, 3).transpose(0, 1),
    "SelectBackward0": lambda x: x[0],
    "MmBackward0": lambda x: x.view(1, 3) @ x.view(3, 1),
}


@pytest.mark.parametrize("expected", sorted(GRAD_FN_CASES))
def test_grad_fn_class_names_follow_torch(expected):
    fn = GRAD_FN_CASES[expected]
    assert type(fn(leaf()).grad_fn).__name__ == expected


@pytest.mark.parametrize("expected", sorted(GRAD_FN_CASES))
def test_grad_fn_class_names_equal_torchs(expected):
    torch = torch_module()
    t = torch.tensor(X_VALUES, requires_grad=True)
    assert type(GRAD_FN_CASES[expected](t).grad_fn).__name__ == expected


def test_next_functions_link_to_the_inputs_nodes():
    x = leaf()
    y = (x * 2).exp()
    (mul_node, _), = [e for e in y.grad_fn.next_functions if e is not None]
    assert type(mul_node).__name__ == "MulBackward0"
    (acc_node, nr_), = [e for e in mul_node.next_functions if e is not None]
    assert type(acc_node).__name__ == "AccumulateGrad" and nr_ == 0
    assert acc_node.variable is x


# ------------------------------------------------------------------ .grad, retain_grad, hooks
def test_leaf_grad_accumulates_across_backward_calls():
    x = leaf()
    (x ** 2).sum().backward()
    np.testing.assert_allclose(as_numpy(x.grad), 2 * X_VALUES)
    (x ** 2).sum().backward()
    np.testing.assert_allclose(as_numpy(x.grad), 4 * X_VALUES)
    assert x.grad.grad_fn is None and not x.grad.requires_grad


def test_grad_can_be_reset_and_assignment_checks_the_shape():
    x = leaf()
    (x * 3).sum().backward()
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_allclose(as_numpy(x.grad), [5.0, 5.0, 5.0])
    with pytest.raises(nr.ShapeError, match=r"\[2\] vs \[3\]"):
        x.grad = nr.zeros(2, dtype=nr.float64)


def test_non_leaf_grad_is_kept_only_with_retain_grad():
    x = leaf()
    y = x * 3
    z = x * 4
    z.retain_grad()
    assert z.retains_grad and not y.retains_grad
    (y * z).sum().backward()
    assert y.grad is None
    np.testing.assert_allclose(as_numpy(z.grad), 3 * X_VALUES)   # d(y z)/dz = y
    np.testing.assert_allclose(as_numpy(x.grad), 24 * X_VALUES)  # d(12 x^2)/dx


def test_retain_grad_matches_torch():
    torch = torch_module()
    t = torch.tensor(X_VALUES, requires_grad=True)
    tz = t.sin()
    tz.retain_grad()
    (tz * tz).sum().backward()
    x = leaf()
    z = x.sin()
    z.retain_grad()
    (z * z).sum().backward()
    np.testing.assert_allclose(as_numpy(z.grad), tz.grad.numpy())
    np.testing.assert_allclose(as_numpy(z.grad), 2 * np.sin(X_VALUES))


def test_retain_grad_and_hooks_need_requires_grad():
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        nr.ones(2).retain_grad()
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        nr.ones(2).register_hook(lambda g: g)


def test_leaf_hook_replaces_the_gradient_and_can_be_removed():
    x = leaf()
    seen = []
    handle = x.register_hook(lambda g: seen.append(as_numpy(g).copy()) or g * 10)
    (x * 2).sum().backward()
    np.testing.assert_allclose(seen[0], [2.0, 2.0, 2.0])
    np.testing.assert_allclose(as_numpy(x.grad), [20.0, 20.0, 20.0])
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_allclose(as_numpy(x.grad), [2.0, 2.0, 2.0])
    assert len(seen) == 1


def test_hook_on_non_leaf_changes_what_flows_upstream():
    x = leaf()
    y = x * 3
    y.register_hook(lambda g: g + 1)
    y.register_hook(lambda g: g * 2)  # hooks run in registration order: (g + 1) * 2
    (y * 1).sum().backward()
    np.testing.assert_allclose(as_numpy(x.grad), [12.0, 12.0, 12.0])


def test_hooks_match_torch():
    torch = torch_module()
    t = torch.tensor(X_VALUES, requires_grad=True)
    ty = t.exp()
    ty.register_hook(lambda g: g * ty.detach())
    t.register_hook(lambda g: g - 1)
    ty.sum().backward()
    x = leaf()
    y = x.exp()
    y.register_hook(lambda g: g * y.detach())
    x.register_hook(lambda g: g - 1)
    y.sum().backward()
    np.testing.assert_allclose(as_numpy(x.grad), t.grad.numpy())
    np.testing.assert_allclose(as_numpy(x.grad), np.exp(2 * X_VALUES) - 1)


# ------------------------------------------------------------------ detach
def test_detach_shares_storage_and_leaves_the_graph():
    x = leaf()
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    d[0] = 100.0  # shared memory: the write shows through y
    assert y[0].item() == 100.0
    assert y.requires_grad and y.grad_fn is not None


def test_detach_in_place_turns_a_non_leaf_into_a_leaf():
    x = leaf()
    y = x * 2
    assert y.detach_() is y
    assert y.is_leaf and not y.requires_grad and y.grad_fn is None
    with pytest.raises(nr.AutogradError):
        y.sum().backward()


# ------------------------------------------------------------------ Tensor.backward arguments
def test_backward_with_gradient_argument_is_a_vector_jacobian_product():
    x = leaf()
    v = np.array([1.0, -2.0, 0.5])
    (x ** 3).backward(gradient=nr.tensor(v))
    np.testing.assert_allclose(as_numpy(x.grad), 3 * X_VALUES ** 2 * v)


def test_backward_gradient_argument_matches_torch():
    torch = torch_module()
    v = np.array([1.0, -2.0, 0.5])
    t = torch.tensor(X_VALUES, requires_grad=True)
    (t.sin() * t).backward(gradient=torch.tensor(v))
    x = leaf()
    (x.sin() * x).backward(gradient=nr.tensor(v))
    np.testing.assert_allclose(as_numpy(x.grad), t.grad.numpy())


def test_backward_create_graph_gives_a_differentiable_grad():
    x = leaf()
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    np.testing.assert_allclose(as_numpy(x.grad), 3 * X_VALUES ** 2)
    (second,) = nr.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(as_numpy(second), 6 * X_VALUES)


def test_backward_inputs_restricts_which_leaves_get_grad():
    a = nr.tensor(2.0, requires_grad=True)
    b = nr.tensor(3.0, requires_grad=True)
    (a * b).backward(inputs=[a])
    assert a.grad.item() == 3.0 and b.grad is None


def test_backward_inputs_may_name_a_non_leaf():
    x = leaf()
    y = x * 3
    (y * y).sum().backward(inputs=[y])
    np.testing.assert_allclose(as_numpy(y.grad), 6 * X_VALUES)
    assert x.grad is None


def test_backward_of_several_roots_sums_their_contributions():
    x = leaf()
    nr.autograd.backward([(x * 2).sum(), x.exp()], [None, nr.tensor([1.0, 0.0, 0.5], dtype=nr.float64)])
    np.testing.assert_allclose(as_numpy(x.grad), 2 + np.exp(X_VALUES) * [1.0, 0.0, 0.5])


# ------------------------------------------------------------------ nr.autograd.grad
def test_autograd_grad_returns_gradients_and_leaves_dot_grad_alone():
    x = leaf()
    x.grad = nr.tensor([7.0, 7.0, 7.0], dtype=nr.float64)
    (gx,) = nr.autograd.grad((x ** 2).sum(), x)
    np.testing.assert_allclose(as_numpy(gx), 2 * X_VALUES)
    np.testing.assert_allclose(as_numpy(x.grad), [7.0, 7.0, 7.0])
    y = leaf()
    nr.autograd.grad((y * 2).sum(), [y])
    assert y.grad is None


def test_autograd_grad_with_grad_outputs_and_several_inputs():
    x = leaf()
    w = nr.tensor([1.0, 2.0, 3.0], dtype=nr.float64, requires_grad=True)
    v = nr.tensor([0.5, -1.0, 2.0], dtype=nr.float64)
    gx, gw = nr.autograd.grad(x * w, (x, w), grad_outputs=v)
    np.testing.assert_allclose(as_numpy(gx), [0.5, -2.0, 6.0])
    np.testing.assert_allclose(as_numpy(gw), X_VALUES * [0.5, -1.0, 2.0])


def test_autograd_grad_with_respect_to_an_intermediate():
    x = leaf()
    h = x * 2
    (gh,) = nr.autograd.grad((h * h).sum(), h)
    np.testing.assert_allclose(as_numpy(gh), 4 * X_VALUES)


def test_autograd_grad_unused_input_raises_unless_allowed():
    x, unused = leaf(), leaf()
    with pytest.raises(nr.AutogradError, match="allow_unused=True"):
        nr.autograd.grad((x * 2).sum(), [x, unused], retain_graph=True)
    gx, gu = nr.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    np.testing.assert_allclose(as_numpy(gx), [2.0, 2.0, 2.0])
    assert gu is None


def test_autograd_grad_unused_input_matches_torch():
    torch = torch_module()
    a, b = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad((a * 2).sum(), [a, b])
    assert torch.autograd.grad((a * 2).sum(), [a, b], allow_unused=True)[1] is None
    x, y = leaf(), leaf()
    with pytest.raises(RuntimeError):
        nr.autograd.grad((x * 2).sum(), [x, y])


def test_autograd_grad_refuses_inputs_that_do_not_require_grad():
    x = leaf()
    with pytest.raises(RuntimeError, match="does not require grad"):
        nr.autograd.grad((x * 2).sum(), nr.ones(3))


def test_autograd_grad_frees_the_graph_unless_retain_graph():
    x = leaf()
    y = x.exp().sum()
    nr.autograd.grad(y, x, retain_graph=True)
    (g,) = nr.autograd.grad(y, x)
    np.testing.assert_allclose(as_numpy(g), np.exp(X_VALUES))
    with pytest.raises(nr.AutogradError, match="second time"):
        nr.autograd.grad(y, x)


# ------------------------------------------------------------------ engine
def test_chain_of_100000_ops_backward_needs_no_recursion():
    x = nr.tensor(1.0, requires_grad=True)
    start = time.perf_counter()
    y = x
    for _ in range(100_000):
        y = y + 1
    y.backward()
    elapsed = time.perf_counter() - start
    assert x.grad.item() == 1.0 and y.item() == 100_001.0
    # Measured 2-7 s (idle vs. loaded 2-core machine); a quadratic engine would take
    # hours, so this generous bound flags pathological slowness without flaking.
    assert elapsed < 30.0, f"100,000-op chain took {elapsed:.1f} s"


def test_long_multiplicative_chain_gives_the_analytic_gradient():
    factor, steps = 1.0001, 20_000
    x = nr.tensor(1.5, dtype=nr.float64, requires_grad=True)
    y = x
    for _ in range(steps):
        y = y * factor
    y.backward()
    np.testing.assert_allclose(x.grad.item(), factor ** steps, rtol=1e-10)


def test_diamond_accumulates_both_paths():
    x = leaf()
    a = x * 2
    b = x * 3
    (a * b).sum().backward()  # d(6 x^2)/dx
    np.testing.assert_allclose(as_numpy(x.grad), 12 * X_VALUES)


class CountingIdentity(nr.autograd.Function):
    calls = 0

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        CountingIdentity.calls += 1
        return g


def test_stacked_diamonds_run_each_node_once_with_the_summed_gradient():
    CountingIdentity.calls = 0
    x = leaf()
    y = x
    for _ in range(200):
        shared = CountingIdentity.apply(y)
        y = shared * 0.25 + shared * 0.75  # two paths that rejoin: total factor 1
    y.sum().backward()
    assert CountingIdentity.calls == 200
    np.testing.assert_allclose(as_numpy(x.grad), np.ones(3))


def test_leaf_used_twice_in_one_op():
    x = leaf()
    (x * x).sum().backward()
    np.testing.assert_allclose(as_numpy(x.grad), 2 * X_VALUES)
    z = leaf()
    (z + z).sum().backward()
    np.testing.assert_allclose(as_numpy(z.grad), [2.0, 2.0, 2.0])


def test_diamond_and_shared_leaf_match_torch():
    torch = torch_module()

    def f(t):
        a = t.sin()
        b = t * a
        return (a * b + t.exp() * a).sum()

    t = torch.tensor(X_VALUES, requires_grad=True)
    f(t).backward()
    x = leaf()
    f(x).backward()
    np.testing.assert_allclose(as_numpy(x.grad), t.grad.numpy(), rtol=1e-12)


def test_backward_twice_without_retain_graph_raises_a_clear_error():
    x = leaf()
    y = x.exp().sum()
    y.backward()
    with pytest.raises(nr.AutogradError) as info:
        y.backward()
    assert isinstance(info.value, RuntimeError)
    assert "second time" in str(info.value) and "retain_graph=True" in str(info.value)


def test_backward_twice_is_a_runtime_error_in_torch_too():
    torch = torch_module()
    t = torch.ones(2, requires_grad=True)
    ty = t.exp().sum()
    ty.backward()
    with pytest.raises(RuntimeError, match="second time"):
        ty.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = leaf()
    y = x.exp().sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(as_numpy(x.grad), 2 * np.exp(X_VALUES))


def test_graph_without_saved_tensors_can_run_twice_like_torch():
    # Nodes that saved no tensor (add, sum, view) hold nothing to free.
    x = leaf()
    y = (x.view(3, 1) + 1).sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(as_numpy(x.grad), [2.0, 2.0, 2.0])


def test_graph_without_saved_tensors_runs_twice_in_torch():
    torch = torch_module()
    t = torch.tensor(X_VALUES, requires_grad=True)
    ty = (t.view(3, 1) + 1).sum()
    ty.backward()
    ty.backward()
    np.testing.assert_allclose(t.grad.numpy(), [2.0, 2.0, 2.0])


def test_backward_on_non_scalar_without_gradient_raises():
    y = leaf() * 2
    with pytest.raises(RuntimeError, match="scalar outputs") as info:
        y.backward()
    assert isinstance(info.value, nr.AutogradError)
    assert "[3]" in str(info.value)


def test_backward_on_non_scalar_raises_in_torch_too():
    torch = torch_module()
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (torch.ones(3, requires_grad=True) * 2).backward()


def test_gradient_of_the_wrong_shape_raises_naming_both_shapes():
    y = leaf() * 2
    with pytest.raises(nr.ShapeError, match=r"\[2\].*\[3\]") as info:
        y.backward(nr.ones(2, dtype=nr.float64))
    assert isinstance(info.value, RuntimeError)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        nr.autograd.grad(y, y, grad_outputs=nr.ones(3, 1, dtype=nr.float64))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(nr.AutogradError, match="does not require grad"):
        nr.ones(2).sum().backward()


def test_custom_backward_returning_a_wrong_shape_is_reported():
    class BadShape(nr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return g  # a 0-d gradient for a [3] input

    with pytest.raises(nr.AutogradError, match=r"BadShapeBackward.*\[\].*\[3\]"):
        BadShape.apply(leaf()).backward()
