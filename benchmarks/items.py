"""The benchmark items: what is timed in each library, and the target NeuraRust must meet.

Each item names its operands (NumPy arrays made once per worker process, outside the timed
loop, then turned into each library's own tensors), the statement timed in each library, and
an expression whose value is compared across libraries so that a fast wrong answer shows up.

This module imports no numerical library: the parent process of ``python -m benchmarks`` loads
it, and must stay free of thread pools.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

# Column order, and the order in which each round runs the libraries (interleaved).
LIBRARIES = ("ours", "torch", "numpy", "scipy")

MEBI = 1024 * 1024
FLOAT32_BYTES = 4


@dataclass(frozen=True)
class Target:
    """Pass when median over rounds of (ours time / fastest reference time) <= max_ratio."""

    references: tuple[str, ...]
    max_ratio: float
    text: str
    ambition: float | None = None  # a stricter ratio worth reaching; reported, not required


@dataclass(frozen=True)
class Item:
    name: str
    title: str
    make_arrays: Callable  # (np, rng) -> {name: float32 ndarray}
    stmts: Mapping[str, str]  # library -> timed statement
    target: Target
    # library -> expression compared across libraries after one run of the statement;
    # the statement itself when it is an expression.
    results: Mapping[str, str] = field(default_factory=dict)
    # library -> untimed code run after the operands exist (e.g. preallocated gradients).
    setups: Mapping[str, str] = field(default_factory=dict)
    requires_grad: tuple[str, ...] = ()  # operands that become leaf tensors requiring grad
    bytes_moved: int | None = None  # bytes read + written per call, for GB/s
    flops: int | None = None  # floating-point operations per call, for GFLOP/s

    def libraries(self):
        return [lib for lib in LIBRARIES if lib in self.stmts]

    def result_expression(self, library):
        return self.results.get(library, self.stmts[library])


def _same_stmt(stmt, libraries=("ours", "torch", "numpy")):
    return {lib: stmt for lib in libraries}


def _normal(np, rng, shape):
    return rng.standard_normal(shape, dtype=np.float32)


def _vectors(n, names=("a", "b")):
    return lambda np, rng: {name: _normal(np, rng, (n,)) for name in names}


def _matrices(n, names=("a", "b")):
    return lambda np, rng: {name: _normal(np, rng, (n, n)) for name in names}


def _tiny_graph_operands(np, rng):
    # Values chosen so that x*w + b > 0: relu passes the gradient through.
    return {"x": np.array([0.5], np.float32), "w": np.array([1.5], np.float32),
            "b": np.array([0.25], np.float32)}


# Hand-written forward and backward: what the autograd frameworks are competing with.
# Gradients accumulate in place like .grad does (np.add, not "+=", because timeit runs the
# statement inside a function, where "gx += ..." would make gx a local name).
_NUMPY_TINY_GRAPH = """\
t = x * w + b
r = np.maximum(t, 0)
y = r.sum()
g = (t > 0).astype(np.float32)
np.add(gx, g * w, out=gx)
np.add(gw, g * x, out=gw)
np.add(gb, g, out=gb)"""

N_ELEMENTWISE = 4 * MEBI
N_SUM = 16 * MEBI
N_TRANSPOSE = 2048
N_AXIS_SUM = 4096
N_GEMM_TRANSPOSED = 1024

_VS_TORCH = Target(("torch",), 1.0, "ours/torch <= 1.00")
_VS_BEST_OF_TORCH_NUMPY = Target(("torch", "numpy"), 1.0, "ours/min(torch,numpy) <= 1.00")
# ">= 0.95x scipy's throughput" is "time <= scipy time / 0.95".
_VS_SCIPY_SGEMM = Target(("scipy",), 1 / 0.95, "ours/scipy <= 1.053 (>= 0.95x)")


def _sgemm_item(n, transposed=False):
    if transposed:
        # a.T is a strided view; scipy is handed the same operands without copies:
        # (a.T @ b).T = b.T @ a, where b.T and a.T are Fortran-contiguous.
        stmts = dict(_same_stmt("a.T @ b"), scipy="blas.sgemm(1.0, b.T, a.T, trans_b=1).T")
        name, title = f"sgemm_{n}_transposed", f"sgemm {n}, a.T @ b (view)"
    else:
        # (a @ b).T = b.T @ a.T: Fortran-contiguous views, so scipy copies nothing.
        stmts = dict(_same_stmt("a @ b"), scipy="blas.sgemm(1.0, b.T, a.T).T")
        name, title = f"sgemm_{n}", f"sgemm {n}, a @ b"
    return Item(name, title, _matrices(n), stmts, _VS_SCIPY_SGEMM, flops=2 * n ** 3)


ITEMS = [
    Item("add_1", "a + b, 1 element, no grad", _vectors(1), _same_stmt("a + b"), _VS_TORCH),
    Item("tiny_graph_backward", "(x*w + b).relu().sum() + backward, 1 element",
         _tiny_graph_operands,
         dict(_same_stmt("y = (x*w + b).relu().sum(); y.backward()", ("ours", "torch")),
              numpy=_NUMPY_TINY_GRAPH),
         Target(("torch",), 1.0, "ours/torch <= 1.00 (ambition 0.50)", ambition=0.5),
         results=dict(_same_stmt("[x.grad, w.grad, b.grad]", ("ours", "torch")),
                      numpy="[gx, gw, gb]"),
         setups={"numpy": "gx = np.zeros_like(x); gw = np.zeros_like(w); gb = np.zeros_like(b)"},
         requires_grad=("x", "w", "b")),
    Item("add_4m", "add, 4M float32", _vectors(N_ELEMENTWISE), _same_stmt("a + b"), _VS_TORCH,
         bytes_moved=3 * N_ELEMENTWISE * FLOAT32_BYTES),
    Item("mul_4m", "mul, 4M float32", _vectors(N_ELEMENTWISE), _same_stmt("a * b"), _VS_TORCH,
         bytes_moved=3 * N_ELEMENTWISE * FLOAT32_BYTES),
    Item("relu_4m", "relu, 4M float32", _vectors(N_ELEMENTWISE, ("a",)),
         dict(_same_stmt("a.relu()", ("ours", "torch")), numpy="np.maximum(a, 0)"), _VS_TORCH,
         bytes_moved=2 * N_ELEMENTWISE * FLOAT32_BYTES),
    Item("exp_4m", "exp, 4M float32", _vectors(N_ELEMENTWISE, ("a",)),
         dict(_same_stmt("a.exp()", ("ours", "torch")), numpy="np.exp(a)"),
         Target(("numpy",), 1.0, "ours/numpy <= 1.00"),
         bytes_moved=2 * N_ELEMENTWISE * FLOAT32_BYTES),
    Item("transpose_add_2048", "a.T + b, 2048x2048 float32", _matrices(N_TRANSPOSE),
         _same_stmt("a.T + b"), Target(("torch",), 1 / 3, "ours/torch <= 0.333 (>= 3x)"),
         bytes_moved=3 * N_TRANSPOSE ** 2 * FLOAT32_BYTES),
    Item("sum_16m", "sum, 16M float32", _vectors(N_SUM, ("a",)), _same_stmt("a.sum()"),
         _VS_TORCH, bytes_moved=N_SUM * FLOAT32_BYTES),
    Item("sum_axis0_4096", "sum(0), 4096x4096 float32", _matrices(N_AXIS_SUM, ("a",)),
         _same_stmt("a.sum(0)"), _VS_BEST_OF_TORCH_NUMPY,
         bytes_moved=N_AXIS_SUM ** 2 * FLOAT32_BYTES),
    Item("sum_axis1_4096", "sum(1), 4096x4096 float32", _matrices(N_AXIS_SUM, ("a",)),
         _same_stmt("a.sum(1)"), _VS_BEST_OF_TORCH_NUMPY,
         bytes_moved=N_AXIS_SUM ** 2 * FLOAT32_BYTES),
    _sgemm_item(512),
    _sgemm_item(1024),
    _sgemm_item(2048),
    _sgemm_item(N_GEMM_TRANSPOSED, transposed=True),
]

ITEMS_BY_NAME = {item.name: item for item in ITEMS}
