"""Custom ``nr.autograd.Function``: forward/backward, ctx.save_for_backward / saved_tensors,
needs_input_grad, mark_non_differentiable, non-tensor arguments, several outputs, and the
name of the node class.  Expected gradients are derived by hand; torch runs the same
Function definitions (written once for both libraries) where it is importable.
"""
import numpy as np
import pytest

import neurarust as nr

X_VALUES = np.array([0.5, -1.5, 2.0])
Y_VALUES = np.array([3.0, 0.25, -1.0])


def torch_module():
    return pytest.importorskip("torch")


def as_numpy(t):
    return t.detach().numpy()


def make_scaled_product(lib):
    """f(x, factor, y) = factor * x * y with a hand-written backward (factor is a float)."""

    class ScaledProduct(lib.autograd.Function):
        log = []

        @staticmethod
        def forward(ctx, x, factor, y):
            ctx.save_for_backward(x, y)
            ctx.factor = factor
            ScaledProduct.log.append(("forward", tuple(ctx.needs_input_grad), lib.is_grad_enabled()))
            return x * y * factor

        @staticmethod
        def backward(ctx, grad):
            x, y = ctx.saved_tensors
            ScaledProduct.log.append(("backward", tuple(ctx.needs_input_grad)))
            gx = grad * y * ctx.factor if ctx.needs_input_grad[0] else None
            gy = grad * x * ctx.factor if ctx.needs_input_grad[2] else None
            return gx, None, gy

    return ScaledProduct


def make_split_with_index(lib):
    """Two differentiable outputs (2x, 3x) plus a non-differentiable argmax."""

    class SplitWithIndex(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            index = x.argmax()
            ctx.mark_non_differentiable(index)
            return x * 2, x * 3, index

        @staticmethod
        def backward(ctx, g_double, g_triple, g_index):
            return g_double * 2 + g_triple * 3

    return SplitWithIndex


def run_scaled_product(lib, y_requires_grad):
    op = make_scaled_product(lib)
    x = lib.tensor(X_VALUES, requires_grad=True)
    y = lib.tensor(Y_VALUES, requires_grad=y_requires_grad)
    out = op.apply(x, 2.5, y)
    (out * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
    return op, out, x, y


@pytest.mark.parametrize("y_requires_grad", [False, True])
def test_custom_function_gradients_are_the_hand_derived_ones(y_requires_grad):
    op, out, x, y = run_scaled_product(nr, y_requires_grad)
    weights = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(as_numpy(out), 2.5 * X_VALUES * Y_VALUES)
    np.testing.assert_allclose(as_numpy(x.grad), 2.5 * Y_VALUES * weights)
    if y_requires_grad:
        np.testing.assert_allclose(as_numpy(y.grad), 2.5 * X_VALUES * weights)
    else:
        assert y.grad is None


@pytest.mark.parametrize("y_requires_grad", [False, True])
def test_custom_function_matches_torch(y_requires_grad):
    torch = torch_module()
    t_op, t_out, tx, ty = run_scaled_product(torch, y_requires_grad)
    op, out, x, y = run_scaled_product(nr, y_requires_grad)
    np.testing.assert_allclose(as_numpy(x.grad), tx.grad.numpy())
    assert (y.grad is None) == (ty.grad is None)
    # ctx.needs_input_grad and the grad mode seen inside forward/backward agree with torch.
    assert op.log == t_op.log


def test_needs_input_grad_and_grad_mode_inside_forward_and_backward():
    op, _, _, _ = run_scaled_product(nr, y_requires_grad=False)
    assert op.log == [("forward", (True, False, False), False), ("backward", (True, False, False))]


def test_needs_input_grad_is_reported_when_nothing_requires_grad():
    op = make_scaled_product(nr)
    out = op.apply(nr.ones(2, dtype=nr.float64), 1.0, nr.ones(2, dtype=nr.float64))
    assert not out.requires_grad and out.grad_fn is None
    assert op.log == [("forward", (False, False, False), False)]


def test_custom_function_node_is_named_after_the_class():
    op, out, _, _ = run_scaled_product(nr, y_requires_grad=False)
    assert type(out.grad_fn).__name__ == "ScaledProductBackward"
    assert not out.is_leaf and out.requires_grad


def test_custom_function_node_name_matches_torch():
    torch = torch_module()
    _, t_out, _, _ = run_scaled_product(torch, y_requires_grad=False)
    _, out, _, _ = run_scaled_product(nr, y_requires_grad=False)
    assert type(out.grad_fn).__name__ == type(t_out.grad_fn).__name__


def test_saved_tensors_are_the_inputs_and_freed_after_backward():
    op = make_scaled_product(nr)
    x = nr.tensor(X_VALUES, requires_grad=True)
    y = nr.tensor(Y_VALUES)
    out = op.apply(x, 1.0, y)
    saved_x, saved_y = out.grad_fn.saved_tensors
    np.testing.assert_array_equal(as_numpy(saved_x), X_VALUES)
    np.testing.assert_array_equal(as_numpy(saved_y), Y_VALUES)
    out.sum().backward()
    with pytest.raises(nr.AutogradError, match="freed"):
        out.grad_fn.saved_tensors


def test_multiple_outputs_and_a_non_differentiable_output():
    op = make_split_with_index(nr)
    x = nr.tensor(X_VALUES, requires_grad=True)
    double, triple, index = op.apply(x)
    assert double.grad_fn is triple.grad_fn
    assert (double.output_nr, triple.output_nr) == (0, 1)
    assert not index.requires_grad and index.dtype == nr.int64 and index.item() == 2
    double.sum().backward()  # triple's gradient arrives as zeros
    np.testing.assert_allclose(as_numpy(x.grad), [2.0, 2.0, 2.0])
    x.grad = None
    double, triple, _ = op.apply(x)
    (double * 1.0 + triple * nr.tensor([1.0, 0.0, -1.0], dtype=nr.float64)).sum().backward()
    np.testing.assert_allclose(as_numpy(x.grad), [5.0, 2.0, -1.0])


def test_multiple_outputs_match_torch():
    torch = torch_module()
    t = torch.tensor(X_VALUES, requires_grad=True)
    td, tt, ti = make_split_with_index(torch).apply(t)
    (td.exp() + tt.sin()).sum().backward()
    x = nr.tensor(X_VALUES, requires_grad=True)
    d, tr, i = make_split_with_index(nr).apply(x)
    (d.exp() + tr.sin()).sum().backward()
    assert i.requires_grad == ti.requires_grad and i.item() == ti.item()
    np.testing.assert_allclose(as_numpy(x.grad), t.grad.numpy())


def test_unused_output_gradient_is_materialized_as_zeros():
    received = []

    class Pair(nr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g_first, g_second):
            received.append((as_numpy(g_first).copy(), as_numpy(g_second).copy()))
            return g_first * 2 + g_second * 3

    x = nr.tensor(X_VALUES, requires_grad=True)
    first, _ = Pair.apply(x)
    first.sum().backward()
    np.testing.assert_array_equal(received[0][1], np.zeros(3))
    np.testing.assert_allclose(as_numpy(x.grad), [2.0, 2.0, 2.0])


def test_output_marked_non_differentiable_gets_no_grad_fn():
    class HalfDifferentiable(nr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            kept, dropped = x * 2, x * 3
            ctx.mark_non_differentiable(dropped)
            return kept, dropped

        @staticmethod
        def backward(ctx, g_kept, g_dropped):
            return g_kept * 2

    kept, dropped = HalfDifferentiable.apply(nr.tensor(X_VALUES, requires_grad=True))
    assert kept.requires_grad and not dropped.requires_grad and dropped.grad_fn is None


def test_non_tensor_arguments_get_none_gradients_and_keyword_free_apply():
    class Power(nr.autograd.Function):
        @staticmethod
        def forward(ctx, x, exponent, label):
            assert label == "tag"
            ctx.save_for_backward(x)
            ctx.exponent = exponent
            return x ** exponent

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * ctx.exponent * x ** (ctx.exponent - 1), None, None

    x = nr.tensor(X_VALUES, requires_grad=True)
    Power.apply(x, 3, "tag").sum().backward()
    np.testing.assert_allclose(as_numpy(x.grad), 3 * X_VALUES ** 2)


def test_function_returning_its_input_does_not_rewrite_the_inputs_history():
    class Identity(nr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    x = nr.tensor(X_VALUES, requires_grad=True)
    out = Identity.apply(x)
    assert out is not x and x.is_leaf and out.grad_fn is not None
    out.sum().backward()
    np.testing.assert_allclose(as_numpy(x.grad), [5.0, 5.0, 5.0])


def test_backward_returning_too_few_gradients_is_reported():
    class TwoInputs(nr.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g

    x = nr.tensor(X_VALUES, requires_grad=True)
    with pytest.raises(nr.AutogradError, match="TwoInputsBackward.*expected 2, got 1"):
        TwoInputs.apply(x, x).sum().backward()


def test_custom_function_supports_double_backward_and_gradcheck():
    class Cube(nr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    x = nr.tensor(X_VALUES, requires_grad=True)
    (g,) = nr.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (gg,) = nr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(as_numpy(gg), 6 * X_VALUES)
    assert nr.autograd.gradcheck(Cube.apply, (nr.tensor(X_VALUES, requires_grad=True),))
    assert nr.autograd.gradgradcheck(Cube.apply, (nr.tensor(X_VALUES, requires_grad=True),))


def test_gradcheck_catches_a_wrong_custom_backward():
    class WrongSquare(nr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 x

    x = nr.tensor(X_VALUES, requires_grad=True)
    assert nr.autograd.gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False
    with pytest.raises(nr.AutogradError, match="Jacobian mismatch"):
        nr.autograd.gradcheck(WrongSquare.apply, (x,))


def test_custom_function_under_no_grad_records_nothing():
    op = make_scaled_product(nr)
    x = nr.tensor(X_VALUES, requires_grad=True)
    with nr.no_grad():
        out = op.apply(x, 2.0, nr.tensor(Y_VALUES))
    assert not out.requires_grad and out.grad_fn is None
    np.testing.assert_allclose(as_numpy(out), 2.0 * X_VALUES * Y_VALUES)
