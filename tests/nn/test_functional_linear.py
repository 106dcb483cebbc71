"""F.linear (fast argument checks, fused bias GEMM) and F.relu (fused backward) against torch and NumPy."""
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import assert_close, torch_or_none  # noqa: E402

import neurarust as nr  # noqa: E402
from neurarust.errors import DTypeError, ShapeError  # noqa: E402
from neurarust.nn import functional as F  # noqa: E402

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xshape,out_f,bias", [
    ((1, 7), 9, True),      # batch 1: the gemv path, bias copied into y with beta = 1
    ((5, 7), 1, True),      # one output column: gemv on the other operand
    ((6, 3), 4, True),      # GEMM
    ((2, 2), 2, True),      # 8 multiply-adds: the C loop, accumulating onto the bias
    ((2, 3, 7), 5, False),  # 3-D input, no bias
    ((4, 0), 3, True),      # K == 0: the output is the bias
])
def test_linear_matches_numpy_and_torch(dtype, xshape, out_f, bias):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xshape).astype(dtype)
    w = rng.standard_normal((out_f, xshape[-1])).astype(dtype)
    b = rng.standard_normal(out_f).astype(dtype) if bias else None
    out = F.linear(nr.tensor(x), nr.tensor(w), None if b is None else nr.tensor(b))
    expected = x.astype(np.float64) @ w.T.astype(np.float64) + (0 if b is None else b)
    assert out.dtype is getattr(nr, np.dtype(dtype).name)
    assert_close(out, expected.astype(dtype))
    torch = torch_or_none()
    if torch is not None:
        ref = torch.nn.functional.linear(torch.tensor(x), torch.tensor(w),
                                         None if b is None else torch.tensor(b))
        assert_close(out, ref)


def test_linear_keeps_torch_errors_and_fallbacks():
    x, w = nr.ones(2, 3), nr.ones(4, 3)
    with pytest.raises(ShapeError, match="do not fit"):
        F.linear(nr.ones(2, 5), w)
    with pytest.raises(ShapeError, match="bias of shape"):
        F.linear(x, w, nr.ones(3))
    with pytest.raises(DTypeError, match="same dtype"):
        F.linear(x, w.double())
    with pytest.raises(DTypeError, match="same dtype"):
        F.linear(x, w, nr.ones(4, dtype=nr.float64))
    with pytest.raises(TypeError, match="must be Tensor"):
        F.linear(np.ones((2, 3), np.float32), w)
    # 1-D input, 0-d bias and integer tensors leave the fast path and still work.
    assert_close(F.linear(nr.ones(3), w, nr.tensor(1.0)), np.full(4, 4.0, np.float32))
    assert_close(F.linear(nr.ones(2, 3, dtype=nr.int64), nr.ones(4, 3, dtype=nr.int64)),
                 np.full((2, 4), 3, np.int64))
    half = F.linear(x.half(), w.half(), nr.ones(4).half())
    assert half.dtype is nr.float16 and float(half[0, 0]) == 4.0


def test_linear_bias_grad_through_fused_forward():
    x = nr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w = nr.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], requires_grad=True)
    b = nr.tensor([0.5, -0.5, 1.0], requires_grad=True)
    F.linear(x, w, b).sum().backward()
    assert_close(b.grad, np.array([2.0, 2.0, 2.0], np.float32))
    assert_close(w.grad, np.array([[4.0, 6.0]] * 3, np.float32))
    assert_close(x.grad, np.array([[2.0, 2.0], [2.0, 2.0]], np.float32))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_forward_backward_match_torch_including_nan(dtype):
    torch = torch_or_none()
    x = np.array([NAN, -1.0, 2.0, 0.0, -0.0, 3.0, -INF, INF], dtype)
    g = np.array([1.0, NAN, 3.0, INF, 5.0, NAN, 7.0, -INF], dtype)
    xt = nr.tensor(x, requires_grad=True)
    y = F.relu(xt)
    assert type(y.grad_fn).__name__ == "ReluBackward0"
    y.backward(nr.tensor(g))
    # torch's threshold_backward: zero where the output is <= 0 (even a NaN
    # gradient), the gradient elsewhere (a NaN output lets it through).
    expected_grad = np.array([1.0, 0.0, 3.0, 0.0, 0.0, NAN, 0.0, -INF], dtype)
    assert_close(y, np.array([NAN, 0.0, 2.0, 0.0, 0.0, 3.0, 0.0, INF], dtype), equal_nan=True)
    assert_close(xt.grad, expected_grad, equal_nan=True)
    if torch is not None:
        xr = torch.tensor(x, requires_grad=True)
        torch.nn.functional.relu(xr).backward(torch.tensor(g))
        assert_close(xt.grad, xr.grad, equal_nan=True)


def test_relu_double_backward_and_non_float_inputs():
    torch = torch_or_none()
    x = np.array([[-1.5, 0.5], [2.0, -0.25]], np.float64)
    xt = nr.tensor(x, requires_grad=True)
    y = F.relu(xt) ** 2
    (gx,) = nr.autograd.grad(y.sum(), xt, create_graph=True)
    gx.sum().backward()
    assert_close(gx, 2 * np.maximum(x, 0))
    assert_close(xt.grad, 2.0 * (x > 0))
    if torch is not None:
        xr = torch.tensor(x, requires_grad=True)
        (gr,) = torch.autograd.grad((torch.nn.functional.relu(xr) ** 2).sum(), xr, create_graph=True)
        gr.sum().backward()
        assert_close(xt.grad, xr.grad)
    assert_close(F.relu(nr.tensor([-2, 3])), np.array([0, 3]))
    assert F.relu(nr.tensor([-2.0, 3.0]).half()).dtype is nr.float16
    z = nr.tensor([-1.0, 1.0])
    assert F.relu(z, inplace=True) is z and z.tolist() == [0.0, 1.0]


def test_relu_backward_of_strided_and_large_gradients():
    # A broadcast (stride-0) gradient and a size past the parallel threshold.
    x = np.random.default_rng(2).standard_normal((300, 400)).astype(np.float32)
    xt = nr.tensor(x, requires_grad=True)
    F.relu(xt).sum().backward()
    assert_close(xt.grad, (x > 0).astype(np.float32))
    threads = nr.get_num_threads()
    nr.set_num_threads(2)
    try:
        xt.grad = None
        F.relu(xt).sum().backward()
        assert_close(xt.grad, (x > 0).astype(np.float32))
    finally:
        nr.set_num_threads(threads)
