"""nr.utils.summary: rows, shapes, parameter counts and totals, side effects, errors."""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import torch_mod  # noqa: E402,F401

import neurarust as nr  # noqa: E402
from neurarust import nn  # noqa: E402
from neurarust.utils import summary  # noqa: E402


class Affine(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.w = nn.Parameter(nr.zeros(n_out, n_in))
        self.b = nn.Parameter(nr.zeros(n_out))

    def forward(self, x):
        return x @ self.w.t() + self.b


class Relu(nn.Module):
    def forward(self, x):
        return x.clamp(min=0)


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Affine(3, 4)
        self.b = Affine(5, 4)

    def forward(self, x, y):
        return self.a(x) + self.b(y), self.a(x)


def _rows(text):
    lines = text.splitlines()
    start = lines.index("=" * 64) + 1
    end = lines.index("=" * 64, start)
    return [line.split(None, 1) for line in lines[start:end]]


def test_summary_rows_and_totals(capsys):
    model = nn.Sequential(Affine(6, 10), Relu(), nn.Sequential(Affine(10, 3)))
    text = summary(model, (6,))
    assert capsys.readouterr().out.strip() == text
    rows = _rows(text)
    assert [r[0] for r in rows] == ["Affine-1", "Relu-2", "Affine-3"]
    assert [r[1].rsplit(None, 1) for r in rows] == [["[-1, 10]", "70"], ["[-1, 10]", "0"],
                                                  ["[-1, 3]", "33"]]
    assert "Total params: 103" in text and "Trainable params: 103" in text
    assert "Non-trainable params: 0" in text
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text


def test_summary_batch_size_frozen_and_large_counts():
    model = nn.Sequential(Affine(100, 1000), Affine(1000, 2))
    model[1].requires_grad_(False)
    text = summary(model, [100], batch_size=7, print_summary=False)
    rows = _rows(text)
    assert rows[0][1].rsplit(None, 1) == ["[7, 1000]", "101,000"]
    assert rows[1][1].rsplit(None, 1) == ["[7, 2]", "2,002"]
    assert "Total params: 103,002" in text and "Trainable params: 101,000" in text
    assert "Non-trainable params: 2,002" in text
    assert f"Params size (MB): {103002 * 4 / 1024 ** 2:0.2f}" in text


def test_summary_multiple_inputs_tuple_outputs_and_leaf_model():
    text = summary(TwoInputs(), [(3,), (5,)], print_summary=False)
    rows = _rows(text)
    assert [r[0] for r in rows] == ["Affine-1", "Affine-2", "Affine-3"]  # call order, repeats included
    assert "Total params: 40" in text
    leaf = summary(Affine(2, 2), (2,), print_summary=False)
    assert [r[0] for r in _rows(leaf)] == ["Affine-1"]
    nested = summary(nn.Sequential(TwoInputsWrapper()), (3,), print_summary=False)
    assert [r[0] for r in _rows(nested)][-1] == "TwoInputsWrapper-2"
    assert "[[-1, 4], [-1, 4]]" in nested


class TwoInputsWrapper(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Affine(3, 4)

    def forward(self, x):
        y = self.inner(x)
        return y, y


def test_summary_restores_modes_and_removes_hooks():
    model = nn.Sequential(Affine(2, 2), Relu())
    model[1].eval()
    summary(model, (2,), print_summary=False)
    assert model.training and model[0].training and not model[1].training
    assert all(not m._forward_hooks for m in model.modules())
    assert nr.is_grad_enabled()


def test_summary_errors():
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        summary(lambda x: x, (2,))
    with pytest.raises(ValueError, match="2 dtypes for 1 input sizes"):
        summary(Affine(2, 2), (2,), dtypes=[nr.float32, nr.float32])
    with pytest.raises(ValueError, match="non-negative ints"):
        summary(Affine(2, 2), (2.5,))
    model = nn.Sequential(Affine(2, 2))
    with pytest.raises(Exception):
        summary(model, (3,), print_summary=False)  # shape error inside forward
    assert all(not m._forward_hooks for m in model.modules())  # hooks removed anyway


def test_summary_param_total_matches_torch(torch_mod):
    def build(lib):
        class A(lib.nn.Module):
            def __init__(self, i, o):
                super().__init__()
                self.w = lib.nn.Parameter(lib.zeros(o, i))
                self.b = lib.nn.Parameter(lib.zeros(o))

            def forward(self, x):
                return x @ self.w.t() + self.b
        return lib.nn.Sequential(A(5, 7), lib.nn.Sequential(A(7, 3), A(3, 1)))
    total = sum(p.numel() for p in build(torch_mod).parameters())
    text = summary(build(nr), (5,), print_summary=False)
    assert f"Total params: {total:,}" in text
    assert [int(r[1].rsplit(None, 1)[1]) for r in _rows(text)] == [
        sum(p.numel() for p in m.parameters(recurse=False)) for m in build(torch_mod).modules()
        if not isinstance(m, torch_mod.nn.Sequential)]
