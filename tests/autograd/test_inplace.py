"""In-place operations and autograd.

Version counters (every in-place write bumps ``_version``, shared by views), the check that
a tensor saved for backward was not modified, the refusal of in-place ops on leaves that
require grad, and correct gradients for in-place ops on non-leaves and on views of
non-leaves (torch's CopySlices).  Gradients are compared with hand-derived values and
with torch running the very same code.
"""
import numpy as np
import pytest

import neurarust as nr

RNG = np.random.default_rng(3)
X = RNG.uniform(0.2, 2.0, (3, 2))
W = RNG.uniform(0.2, 2.0, (3, 2))
UPSTREAM = np.arange(1.0, 7.0).reshape(3, 2)  # weights of the final sum: distinct per element


def torch_module():
    return pytest.importorskip("torch")


def as_numpy(t):
    return t.detach().numpy()


# ------------------------------------------------------------------ version counter
IN_PLACE_WRITES = {
    "add_": lambda t: t.add_(1),
    "sub_": lambda t: t.sub_(1),
    "mul_": lambda t: t.mul_(2),
    "div_": lambda t: t.div_(2),
    "pow_": lambda t: t.pow_(2),
    "exp_": lambda t: t.exp_(),
    "clamp_": lambda t: t.clamp_(0.0, 1.0),
    "zero_": lambda t: t.zero_(),
    "fill_": lambda t: t.fill_(3.0),
    "copy_": lambda t: t.copy_(nr.ones(3)),
    "iadd": lambda t: t.__iadd__(1),
    "isub": lambda t: t.__isub__(1),
    "imul": lambda t: t.__imul__(2),
    "itruediv": lambda t: t.__itruediv__(2),
    "setitem": lambda t: t.__setitem__(0, 5.0),
    "setitem_mask": lambda t: t.__setitem__(t > 0.5, 0.0),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE_WRITES))
def test_every_in_place_write_bumps_the_version(name):
    t = nr.ones(3)
    before = t._version
    result = IN_PLACE_WRITES[name](t)
    assert t._version == before + 1
    assert result is t or result is None


def test_operators_keep_the_same_object():
    t = nr.ones(3)
    alias = t
    t += 1
    t *= 3
    assert t is alias and t.tolist() == [6.0, 6.0, 6.0] and t._version == 2


def test_views_share_the_version_counter_with_their_base():
    base = nr.zeros(2, 3)
    row, column = base[0], base[:, 1]
    row.add_(1)
    assert base._version == row._version == column._version == 1
    base.mul_(2)
    assert row._version == 2 and base[0, 1].item() == 2.0
    detached = base.detach()
    detached.zero_()
    assert base._version == 3  # detach() shares storage, hence the counter (as in torch)


def test_out_of_place_ops_do_not_bump_versions():
    t = nr.ones(3)
    t + 1, t * 2, t.exp(), t[0], t.view(3, 1)
    assert t._version == 0


def test_version_bumps_match_torch():
    torch = torch_module()
    versions = []
    for lib in (nr, torch):
        t = lib.ones(3)
        t.add_(1)
        t[1:] *= 2  # Python runs view.__imul__ and then t.__setitem__: two writes
        t.exp_()
        versions.append(t._version)
    assert versions[0] == versions[1] == 4


# ------------------------------------------------------------------ modified saved tensors
def test_modifying_a_saved_output_raises_at_backward_time():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()  # exp saves its output
    y.add_(1)    # no error yet: nothing is computed until backward
    with pytest.raises(nr.AutogradError) as info:
        y.sum().backward()
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "modified by an inplace operation" in message
    assert "is at version 1; expected version 0 instead" in message
    assert "ExpBackward0" in message and "[2]" in message


def test_modifying_a_saved_input_raises_at_backward_time():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y.sin()  # sin saves its input y
    y.mul_(3)
    with pytest.raises(nr.AutogradError, match="modified by an inplace operation"):
        z.sum().backward()


def test_modifying_through_a_detached_alias_is_detected():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    y = x.sigmoid()
    y.detach().zero_()
    with pytest.raises(nr.AutogradError, match="expected version 0"):
        y.sum().backward()


def test_modifying_a_saved_tensor_raises_in_torch_too():
    torch = torch_module()
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_modifying_a_tensor_nobody_saved_is_fine():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    y = x + 1     # add saves nothing
    z = y * 2     # mul by a number saves nothing either
    y.mul_(10)
    z.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


# ------------------------------------------------------------------ leaves
@pytest.mark.parametrize("write", [
    lambda x: x.add_(1), lambda x: x.mul_(2), lambda x: x.__iadd__(1), lambda x: x.zero_(),
    lambda x: x.copy_(nr.zeros(2)), lambda x: x.exp_()])
def test_in_place_on_a_leaf_that_requires_grad_raises_at_once(write):
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(nr.AutogradError, match="a leaf Variable that requires grad") as info:
        write(x)
    assert isinstance(info.value, RuntimeError)
    assert x.tolist() == [1.0, 2.0] and x._version == 0 and x.is_leaf


@pytest.mark.parametrize("write", [lambda x: x[0].mul_(2), lambda x: x.__setitem__(0, 3.0),
                                   lambda x: x.view(2, 1).add_(1)])
def test_in_place_on_a_view_of_such_a_leaf_raises(write):
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(nr.AutogradError, match="view of a leaf Variable"):
        write(x)
    assert x.tolist() == [1.0, 2.0]


def test_leaf_errors_match_torch():
    torch = torch_module()
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        t.add_(1)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        t[0].mul_(2)


def test_in_place_on_a_leaf_under_no_grad_is_allowed():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    with nr.no_grad():
        x.sub_(0.5)
        x[1] = 7.0
    assert x.tolist() == [0.5, 7.0] and x.is_leaf and x.requires_grad and x.grad_fn is None
    (x * x).sum().backward()
    assert x.grad.tolist() == [1.0, 14.0]


# ------------------------------------------------------------------ non-leaves and views
# Each case: f(lib, x, w) -> output built with in-place ops; expected grads by hand.
def mul_then_mul_(lib, x, w):
    y = x * 2
    y.mul_(3)
    return y


def mul_then_add_w(lib, x, w):
    y = x * 2
    y.add_(w)
    return y


def mul_by_w_in_place(lib, x, w):
    y = x * 2
    y.mul_(w)  # needs y's value before the write for w's gradient
    return y


def exp_in_place(lib, x, w):
    y = x * 1
    y.exp_()
    return y * w


def div_then_pow_in_place(lib, x, w):
    y = x * 1
    y.div_(w)
    y.pow_(2)
    return y


def iadd_product(lib, x, w):
    y = x * 1
    y += w * x
    return y


def row_view_mul_(lib, x, w):
    y = x * 1
    y[0].mul_(5)
    return y * y


def column_view_iadd(lib, x, w):
    y = x * 1
    y[:, 1] += w[:, 0]
    return y * y


def transposed_view_mul_w(lib, x, w):
    y = x * 1
    y.t().mul_(w.t())
    return y.sin()


def view_of_view(lib, x, w):
    y = x * 1
    y[1:][:, 1:].mul_(w[1:, 1:])
    return y ** 2


def setitem_from_w(lib, x, w):
    y = x * 1
    y[:, 0] = w[:, 1] * 3
    return y * x


def mask_setitem(lib, x, w):
    y = x * 1
    y[y > 1.0] = 0.0
    return y * w


def view_written_then_base_used(lib, x, w):
    y = x * 1
    row = y[0]
    row.mul_(w[0])
    return row * y.sum()


CASES = [mul_then_mul_, mul_then_add_w, mul_by_w_in_place, exp_in_place, div_then_pow_in_place,
         iadd_product, row_view_mul_, column_view_iadd, transposed_view_mul_w, view_of_view,
         setitem_from_w, mask_setitem, view_written_then_base_used]


def run_case(lib, case):
    x = lib.tensor(X, requires_grad=True)
    w = lib.tensor(W, requires_grad=True)
    out = case(lib, x, w)
    weights = lib.tensor(UPSTREAM[: out.shape[0]] if out.ndim == 2 else UPSTREAM[0, : out.shape[0]])
    (out * weights).sum().backward()
    return as_numpy(out), x.grad, w.grad


def expected(case):
    """Hand-derived (output, dx, dw) for L = sum(UPSTREAM * out)."""
    u = UPSTREAM
    zero = np.zeros_like(X)
    if case is mul_then_mul_:
        return 6 * X, 6 * u, None
    if case is mul_then_add_w:
        return 2 * X + W, 2 * u, u
    if case is mul_by_w_in_place:
        return 2 * X * W, 2 * W * u, 2 * X * u
    if case is exp_in_place:
        return np.exp(X) * W, np.exp(X) * W * u, np.exp(X) * u
    if case is div_then_pow_in_place:
        return (X / W) ** 2, 2 * X / W ** 2 * u, -2 * X ** 2 / W ** 3 * u
    if case is iadd_product:
        return X + W * X, (1 + W) * u, X * u
    if case is row_view_mul_:
        scale = np.ones_like(X)
        scale[0] = 5
        return (X * scale) ** 2, 2 * X * scale ** 2 * u, None
    if case is column_view_iadd:
        y = X.copy()
        y[:, 1] += W[:, 0]
        dw = zero.copy()
        dw[:, 0] = 2 * y[:, 1] * u[:, 1]
        return y ** 2, 2 * y * u, dw
    if case is transposed_view_mul_w:
        return np.sin(X * W), np.cos(X * W) * W * u, np.cos(X * W) * X * u
    if case is view_of_view:
        scale = np.ones_like(X)
        scale[1:, 1:] = W[1:, 1:]
        dw = zero.copy()
        dw[1:, 1:] = 2 * X[1:, 1:] ** 2 * W[1:, 1:] * u[1:, 1:]
        return (X * scale) ** 2, 2 * X * scale ** 2 * u, dw
    if case is setitem_from_w:
        y = X.copy()
        y[:, 0] = 3 * W[:, 1]
        dx = y * u
        dx[:, 1] += X[:, 1] * u[:, 1]
        dw = zero.copy()
        dw[:, 1] = 3 * X[:, 0] * u[:, 0]
        return y * X, dx, dw
    if case is mask_setitem:
        keep = X <= 1.0
        return np.where(keep, X, 0.0) * W, np.where(keep, W * u, 0.0), np.where(keep, X, 0.0) * u
    if case is view_written_then_base_used:
        y = X.copy()
        y[0] *= W[0]
        u0 = u[0]
        total = y.sum()
        # out_j = y0_j * total; dL/dy0_k = u0_k * total + sum_j u0_j y0_j; dL/dy_rest = sum_j u0_j y0_j
        dy = np.full_like(X, (u0 * y[0]).sum())
        dy[0] += u0 * total
        dx = dy.copy()
        dx[0] *= W[0]
        dw = zero.copy()
        dw[0] = dy[0] * X[0]
        return y[0] * total, dx, dw
    raise AssertionError(case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_in_place_on_non_leaf_gives_hand_derived_gradients(case):
    out, gx, gw = run_case(nr, case)
    want_out, want_gx, want_gw = expected(case)
    np.testing.assert_allclose(out, want_out, rtol=1e-12)
    np.testing.assert_allclose(as_numpy(gx), want_gx, rtol=1e-12)
    if want_gw is None:
        assert gw is None
    else:
        np.testing.assert_allclose(as_numpy(gw), want_gw, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_in_place_on_non_leaf_matches_torch(case):
    torch = torch_module()
    out, gx, gw = run_case(nr, case)
    t_out, t_gx, t_gw = run_case(torch, case)
    np.testing.assert_allclose(out, t_out, rtol=1e-12)
    np.testing.assert_allclose(as_numpy(gx), t_gx.numpy(), rtol=1e-12)
    assert (gw is None) == (t_gw is None)
    if gw is not None:
        np.testing.assert_allclose(as_numpy(gw), t_gw.numpy(), rtol=1e-12, atol=1e-15)


def test_in_place_result_takes_over_the_graph_position():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    first_node = y.grad_fn
    returned = y.mul_(3)
    assert returned is y and y.grad_fn is not first_node and not y.is_leaf
    assert type(y.grad_fn).__name__ == "MulBackward0"


def test_in_place_on_a_view_rewrites_the_base_history():
    x = nr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 1
    node_before = y.grad_fn
    y[0].mul_(5)
    assert y.grad_fn is not node_before  # the base now records the write into its view
    y.sum().backward()
    assert x.grad.tolist() == [[5.0, 5.0], [1.0, 1.0]]


def test_in_place_writes_of_a_requires_grad_value_into_a_plain_tensor():
    w = nr.tensor([2.0, 3.0], requires_grad=True)
    buffer = nr.zeros(2, 2)
    buffer[1] = w * w
    assert buffer.requires_grad and not buffer.is_leaf
    buffer.sum().backward()
    assert w.grad.tolist() == [4.0, 6.0]


def test_double_backward_through_an_in_place_op():
    x = nr.tensor([0.5, 1.5], dtype=nr.float64, requires_grad=True)
    y = x * 1
    y.mul_(x)  # y = x^2 written in place
    (first,) = nr.autograd.grad(y.sum(), x, create_graph=True)
    (second,) = nr.autograd.grad(first.sum(), x)
    np.testing.assert_allclose(first.detach().numpy(), [1.0, 3.0])
    np.testing.assert_allclose(second.numpy(), [2.0, 2.0])
