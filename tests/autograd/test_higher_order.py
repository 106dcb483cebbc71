"""Higher-order gradients: ``create_graph=True`` makes backward differentiable.

For each op, L(x, y) is a weighted scalar; first = dL/dx is computed with create_graph=True,
then the gradient of sum(v * first) with respect to x and y (a Hessian-vector product and a
mixed derivative) is compared with a hand-derived NumPy formula, with torch when importable,
and with ``gradgradcheck`` (float64 central differences of the first derivative).
"""
import numpy as np
import pytest

import neurarust as nr

RNG = np.random.default_rng(7)
X = RNG.uniform(0.5, 1.5, (2, 3))   # positive: log, sqrt, fractional powers are defined
Y = RNG.uniform(-1.0, 1.0, (2, 3))
C = RNG.uniform(-1.0, 1.0, (2, 3))  # weights of the first-order loss
V = RNG.uniform(-1.0, 1.0, (2, 3))  # direction of the second-order product


def torch_module():
    return pytest.importorskip("torch")


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def softmax_rows(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_second(x, c, v):
    """Row-wise softmax s; L = sum(c s); first = s (c - s.c); returns grad of sum(v first)."""
    s = softmax_rows(x)
    a = c - (s * c).sum(-1, keepdims=True)
    first = s * a

    def jac_times(u):  # J u with J = diag(s) - s s^T (symmetric), per row
        return s * u - s * (s * u).sum(-1, keepdims=True)

    return jac_times(v * a) - (v * s).sum(-1, keepdims=True) * first


def view_chain_weights(c_flat):
    """Scatter weights given to x.t().reshape(-1)[1:] back onto x's layout."""
    placed = np.zeros(6)
    placed[1:] = c_flat
    return placed.reshape(3, 2).T


# name -> (L(x, y, c) written with tensor methods only, expected d/dx, expected d/dy)
# where the expected second derivatives are of sum(v * dL/dx); None means "not used".
CASES = {
    "mul": (lambda x, y, c: (c * x * y).sum(), lambda: None, lambda: V * C),
    "mul_self": (lambda x, y, c: (c * x * x * y).sum(), lambda: 2 * C * Y * V, lambda: 2 * C * X * V),
    "div": (lambda x, y, c: (c * y / x).sum(), lambda: 2 * C * Y * V / X ** 3, lambda: -C * V / X ** 2),
    "pow_scalar": (lambda x, y, c: (c * x ** 3.5).sum(), lambda: 3.5 * 2.5 * C * V * X ** 1.5, lambda: None),
    "pow_tensor": (lambda x, y, c: (c * x ** y).sum(),
                   lambda: C * V * Y * (Y - 1) * X ** (Y - 2),
                   lambda: C * V * X ** (Y - 1) * (1 + Y * np.log(X))),
    "exp": (lambda x, y, c: (c * x.exp()).sum(), lambda: C * V * np.exp(X), lambda: None),
    "log": (lambda x, y, c: (c * x.log()).sum(), lambda: -C * V / X ** 2, lambda: None),
    "sin": (lambda x, y, c: (c * x.sin()).sum(), lambda: -C * V * np.sin(X), lambda: None),
    "tanh": (lambda x, y, c: (c * x.tanh()).sum(),
             lambda: -2 * C * V * np.tanh(X) * (1 - np.tanh(X) ** 2), lambda: None),
    "sigmoid": (lambda x, y, c: (c * x.sigmoid()).sum(),
                lambda: C * V * sigmoid(X) * (1 - sigmoid(X)) * (1 - 2 * sigmoid(X)), lambda: None),
    "softmax": (lambda x, y, c: (c * x.softmax(-1)).sum(), lambda: softmax_second(X, C, V), lambda: None),
    "matmul": (lambda x, y, c: ((x @ y.t()) * c[:, :2]).sum(),
               lambda: None, lambda: (V.T @ C[:, :2]).T),
    "sum_squared": (lambda x, y, c: x.sum() ** 2, lambda: np.full_like(X, 2 * V.sum()), lambda: None),
    "mean_squared": (lambda x, y, c: x.mean(dim=1).pow(2).sum(),
                     lambda: np.repeat(2 * V.sum(1, keepdims=True) / 9, 3, axis=1), lambda: None),
    "views": (lambda x, y, c: (x.t().reshape(-1)[1:] ** 2 * c.reshape(-1)[1:]).sum(),
              lambda: 2 * V * view_chain_weights(C.reshape(-1)[1:]), lambda: None),
    "unsqueeze_expand": (lambda x, y, c: ((x.unsqueeze(0).expand(2, 2, 3) * y) ** 2 * c).sum(),
                         lambda: 2 * 2 * C * V * Y ** 2, lambda: 2 * 2 * 2 * C * V * X * Y),
}


def second_derivatives(lib, name, x_values=X, y_values=Y):
    loss_fn = CASES[name][0]
    x = lib.tensor(x_values, requires_grad=True)
    y = lib.tensor(y_values, requires_grad=True)
    c = lib.tensor(C)
    (first,) = lib.autograd.grad(loss_fn(x, y, c), x, create_graph=True)
    assert first.requires_grad
    return lib.autograd.grad((first * lib.tensor(V)).sum(), (x, y), allow_unused=True)


def check_against(expected, got):
    if expected is None:
        assert got is None or np.all(got.detach().numpy() == 0), f"expected no gradient, got {got}"
    else:
        assert got is not None, "expected a gradient, got None"
        np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivative_matches_hand_derivation(name):
    _, expected_x, expected_y = CASES[name]
    second_x, second_y = second_derivatives(nr, name)
    check_against(expected_x(), second_x)
    check_against(expected_y(), second_y)


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivative_matches_torch(name):
    torch = torch_module()
    ours = second_derivatives(nr, name)
    theirs = second_derivatives(torch, name)
    for got, ref in zip(ours, theirs):
        if ref is None:
            assert got is None or np.all(got.detach().numpy() == 0)
        else:
            np.testing.assert_allclose(got.detach().numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradgradcheck(name):
    loss_fn = CASES[name][0]
    c = nr.tensor(C)

    def f(x, y):
        return loss_fn(x, y, c)

    x = nr.tensor(X, requires_grad=True)
    y = nr.tensor(Y, requires_grad=True)
    assert nr.autograd.gradgradcheck(f, (x, y))


def test_gradgradcheck_detects_a_wrong_second_derivative():
    class SquareWithWrongDoubleBackward(nr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            # Right value, wrong graph: x.detach() hides x from the second derivative.
            return g * 2 * x.detach()

    x = nr.tensor(X, requires_grad=True)
    assert nr.autograd.gradcheck(SquareWithWrongDoubleBackward.apply, (x,))
    assert not nr.autograd.gradgradcheck(SquareWithWrongDoubleBackward.apply, (x,),
                                         raise_exception=False)


def test_third_derivative_of_a_polynomial():
    x = nr.tensor([0.5, -1.0, 2.0], dtype=nr.float64, requires_grad=True)
    y = (x ** 4).sum()
    (d1,) = nr.autograd.grad(y, x, create_graph=True)
    (d2,) = nr.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = nr.autograd.grad(d2.sum(), x)
    xs = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(d1.detach().numpy(), 4 * xs ** 3)
    np.testing.assert_allclose(d2.detach().numpy(), 12 * xs ** 2)
    np.testing.assert_allclose(d3.numpy(), 24 * xs)


def test_without_create_graph_the_gradient_is_constant():
    x = nr.tensor(X, requires_grad=True)
    (first,) = nr.autograd.grad((x ** 3).sum(), x)
    assert not first.requires_grad and first.grad_fn is None


def test_hessian_of_a_quadratic_form_row_by_row():
    a = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, -1.0], [0.0, -1.0, 4.0]])
    x = nr.tensor([0.3, -0.2, 0.9], dtype=nr.float64, requires_grad=True)
    matrix = nr.tensor(a)
    energy = (x @ matrix @ x) * 0.5
    (grad,) = nr.autograd.grad(energy, x, create_graph=True)
    np.testing.assert_allclose(grad.detach().numpy(), a @ np.array([0.3, -0.2, 0.9]))
    rows = [nr.autograd.grad(grad[i], x, retain_graph=True)[0].numpy() for i in range(3)]
    np.testing.assert_allclose(np.stack(rows), a)


def test_double_backward_through_backward_create_graph_accumulates_into_grad():
    x = nr.tensor([1.0, 2.0], dtype=nr.float64, requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    first = x.grad
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * np.array([1.0, 2.0]))
