"""NeuraRust in one page: tensors, broadcasting, views and a gradient.

Run it from a checkout after ``pip install .``:

    python examples/quickstart.py

Everything here is spelled the way PyTorch spells it; swap ``neurarust as nr``
for ``torch`` and the script prints the same values.
"""
import neurarust as nr


def section(title):
    print(f"\n== {title} " + "=" * (60 - len(title)))


def tensors():
    section("Tensors")
    x = nr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    print("x =\n" + repr(x))
    print("shape:", x.shape, "| dtype:", x.dtype, "| device:", x.device)
    print("x.sum(dim=1) =", x.sum(dim=1))
    print("x.mean() =", x.mean().item())
    print("nr.arange(6).reshape(2, 3) =\n" + repr(nr.arange(6).reshape(2, 3)))


def broadcasting():
    section("Broadcasting")
    column = nr.tensor([[10.0], [20.0]])  # shape (2, 1)
    row = nr.tensor([1.0, 2.0, 3.0])  # shape (3,)
    print("column", tuple(column.shape), "+ row", tuple(row.shape), "->")
    print(column + row)


def views():
    section("Views share storage")
    base = nr.arange(6.0).view(2, 3)
    transposed = base.t()  # no copy: new strides over the same memory
    print("base =\n" + repr(base))
    print("base.t() strides:", transposed.stride(), "| contiguous:", transposed.is_contiguous())
    transposed[0, 1] = 100.0  # writes through to base[1, 0]
    print("after base.t()[0, 1] = 100, base =\n" + repr(base))
    print("same memory:", transposed.data_ptr() == base.data_ptr())


def gradient():
    section("A gradient")
    w = nr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    x = nr.tensor([1.0, 2.0, 3.0])
    loss = ((w * x).sum() - 1.0) ** 2  # (w . x - 1)^2
    loss.backward()
    # d loss / d w = 2 (w . x - 1) x = 2 * 3.5 * x
    print("loss =", loss.item(), "| grad_fn:", type(loss.grad_fn).__name__)
    print("w.grad =", w.grad)
    with nr.no_grad():
        w -= 0.01 * w.grad  # one step of gradient descent
    print("w after one SGD step =", w)


def main():
    print("NeuraRust", nr.__version__)
    tensors()
    broadcasting()
    views()
    gradient()


if __name__ == "__main__":
    main()
