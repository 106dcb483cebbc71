"""``check_op``: one call that checks an op's forward and backward in every layout.

In the spirit of tinygrad's ``helper_test_op`` and Chainer's ``FunctionTestCase``:
give the op three times (NeuraRust, NumPy, torch) and the input shapes, and
``check_op`` builds seeded inputs, runs them contiguous, transposed, sliced
(step 2), broadcast (stride 0), 0-d and empty, in float32 and float64, and
checks values, shapes, dtypes, gradients, that the inputs were left alone,
and ``nr.autograd.gradcheck`` in float64.

Example:
    >>> import numpy as np
    >>> from neurarust.testing import check_op
    >>> check_op(lambda x: x.exp(), np.exp, lambda x: x.exp(), [(3, 4)])
"""
from __future__ import annotations


import importlib
import os
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from ._comparison import assert_close, default_tolerances
from ._opaque_device import entered_device

__all__ = ["check_op", "VARIANTS", "uniform", "positive", "away_from_zero", "torch_or_none"]

VARIANTS = ("contiguous", "transposed", "sliced", "broadcast", "scalar", "empty")

# Central differences in float64 (eps 1e-6) are accurate to about 1e-9 but the
# gradient under test may be float32: the same tolerances as gradcheck's.
_NUMERICAL_EPS = 1e-6
_NUMERICAL_RTOL, _NUMERICAL_ATOL = 1e-3, 1e-5

Generator = Callable[[np.random.Generator, Tuple[int, ...], np.dtype], np.ndarray]


# ------------------------------------------------------------- generators
def uniform(low: float, high: float) -> Generator:
    """An input generator drawing uniformly from ``[low, high)``.

    Example:
        >>> import numpy as np
        >>> from neurarust.testing import uniform
        >>> uniform(0, 1)(np.random.default_rng(0), (2,), np.float32).dtype
        dtype('float32')
    """
    def gen(rng, shape, dtype):
        return rng.uniform(low, high, size=shape).astype(dtype)

    return gen


def positive(low: float = 0.1, high: float = 3.0) -> Generator:
    """Values in ``[low, high)``, for log, sqrt, reciprocal and friends.

    Example:
        >>> import numpy as np
        >>> from neurarust.testing import positive
        >>> bool((positive()(np.random.default_rng(0), (5,), np.float64) > 0).all())
        True
    """
    return uniform(low, high)


def away_from_zero(low: float = 0.2, high: float = 2.0) -> Generator:
    """Values with ``low <= |x| < high`` and random signs (kinks and poles at 0 stay out of reach).

    Example:
        >>> import numpy as np
        >>> from neurarust.testing import away_from_zero
        >>> bool((abs(away_from_zero()(np.random.default_rng(0), (9,), np.float64)) >= 0.2).all())
        True
    """
    def gen(rng, shape, dtype):
        magnitude = rng.uniform(low, high, size=shape)
        sign = np.where(rng.random(size=shape) < 0.5, -1.0, 1.0)
        return (magnitude * sign).astype(dtype)

    return gen


def torch_or_none():
    """The ``torch`` module, or None when it is not installed or ``NEURARUST_TEST_NO_TORCH=1``.

    Example:
        >>> from neurarust.testing import torch_or_none
        >>> torch_or_none() is None or hasattr(torch_or_none(), "tensor")
        True
    """
    if os.environ.get("NEURARUST_TEST_NO_TORCH") == "1":
        return None
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


# ---------------------------------------------------------------- layouts
class _Layout:
    """How an op input is made from a contiguous leaf: ``kind`` is identity, transpose, slice or expand."""

    __slots__ = ("kind", "shape")

    def __init__(self, kind: str, shape: Tuple[int, ...] = ()):
        self.kind, self.shape = kind, shape

    def apply(self, leaf):
        """The op input: a view of ``leaf`` (a NeuraRust or torch tensor)."""
        if self.kind == "transpose":
            return leaf.transpose(-1, -2)
        if self.kind == "slice":
            return leaf[(slice(None, None, 2),) * leaf.ndim]
        if self.kind == "expand":
            return leaf.expand(*self.shape)
        return leaf

    def apply_numpy(self, base: np.ndarray) -> np.ndarray:
        if self.kind == "transpose":
            return np.swapaxes(base, -1, -2)
        if self.kind == "slice":
            return base[(slice(None, None, 2),) * base.ndim]
        if self.kind == "expand":
            return np.broadcast_to(base, self.shape)
        return base


def _hole_fill(dtype: np.dtype):
    # NaN between the sliced elements makes any read outside the view visible.
    return np.nan if dtype.kind == "f" else 0


def _layout_for(variant: str, arr: np.ndarray) -> Optional[Tuple[np.ndarray, _Layout]]:
    """(contiguous base, layout) whose view has ``arr``'s shape; None when the variant does not apply."""
    if variant == "transposed" and arr.ndim >= 2:
        return _c_order(np.swapaxes(arr, -1, -2)), _Layout("transpose")
    if variant == "sliced" and arr.ndim >= 1:
        base = np.full(tuple(2 * n for n in arr.shape), _hole_fill(arr.dtype), dtype=arr.dtype)
        base[(slice(None, None, 2),) * arr.ndim] = arr
        return base, _Layout("slice")
    if variant == "broadcast":
        dims = [d for d, n in enumerate(arr.shape) if n > 1]
        if dims:
            # The first non-trivial dim becomes a stride-0 expansion of its first slice.
            base = _c_order(np.take(arr, [0], axis=dims[0]))
            return base, _Layout("expand", arr.shape)
    return None


def _c_order(a: np.ndarray) -> np.ndarray:
    # np.ascontiguousarray would turn a 0-d array into shape (1,), hiding the 0-d variant.
    return np.array(a, order="C", copy=True)


def _variant_arrays(variant: str, arrays: List[np.ndarray]) -> Optional[List[Tuple[np.ndarray, _Layout]]]:
    if variant in ("contiguous", "scalar", "empty"):
        return [(_c_order(a), _Layout("identity")) for a in arrays]
    made = [_layout_for(variant, a) for a in arrays]
    if all(m is None for m in made):
        return None  # no input can take this layout: the variant adds nothing
    return [m if m is not None else (_c_order(a), _Layout("identity"))
            for m, a in zip(made, arrays)]


# ----------------------------------------------------------------- inputs
def _is_float(arr: np.ndarray) -> bool:
    return arr.dtype.kind == "f"


def _logical_inputs(variant, shapes, inputs, generators, rng, float_dtype, scalar_shapes, empty_shapes):
    """The values the op sees for this variant, or None when the variant does not apply."""
    if inputs is not None:
        arrays = [np.asarray(a) for a in inputs]
        if variant == "scalar":
            if any(a.size == 0 for a in arrays):
                return None
            arrays = [a.reshape(-1)[0].reshape(()) if a.ndim else a for a in arrays]
        elif variant == "empty":
            ndim = max(a.ndim for a in arrays)
            if not ndim:
                return None
            arrays = [a[:0] if a.ndim == ndim else a for a in arrays]
    else:
        if variant == "scalar":
            shapes = scalar_shapes if scalar_shapes is not None else [()] * len(shapes)
        elif variant == "empty":
            if empty_shapes is not None:
                shapes = empty_shapes
            elif any(len(s) for s in shapes):
                # The leading dim of the broadcast shape becomes 0: inputs with fewer dims broadcast.
                ndim = max(len(s) for s in shapes)
                shapes = [(0,) + tuple(s[1:]) if len(s) == ndim else tuple(s) for s in shapes]
            else:
                return None
        arrays = [gen(rng, tuple(s), float_dtype) for gen, s in zip(generators, shapes)]
    return [a.astype(float_dtype) if _is_float(a) else a for a in arrays]


def _generators(generator, low, high, n):
    if generator is None:
        return [uniform(low, high)] * n
    if callable(generator):
        return [generator] * n
    gens = list(generator)
    if len(gens) != n:
        raise ValueError(f"check_op: {len(gens)} generators for {n} inputs")
    return [uniform(low, high) if g is None else g for g in gens]


def _as_outputs(out) -> List[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _np_dtype(d) -> np.dtype:
    from ..dtypes import as_dtype

    return as_dtype(d).numpy


# --------------------------------------------------------------- checking
class _Run:
    """One (variant, dtype) execution of the op on NeuraRust, NumPy and torch."""

    def __init__(self, name, variant, dtype, bases, layouts, grad_inputs):
        self.label = f"{name} [{variant}, {dtype.name}]"
        self.bases, self.layouts = bases, layouts
        self.grad_inputs = [i for i in range(len(bases)) if _is_float(bases[i])
                            and (grad_inputs is None or i in grad_inputs)]


def _tolerances(rtol, atol, dtype_name):
    if rtol is None and atol is None:
        return default_tolerances(dtype_name)
    if rtol is None or atol is None:
        raise ValueError("check_op: give both rtol and atol, or neither")
    return rtol, atol


def _grad_outputs(rng, outs, mode):
    """One upstream gradient per differentiable float output (None for the others)."""
    grads = []
    for o in outs:
        if getattr(o, "requires_grad", False) and o.dtype.is_floating_point:
            shape = tuple(o.shape)
            g = rng.standard_normal(shape) if mode == "random" else np.ones(shape)
            grads.append(g.astype(o.dtype.numpy))
        else:
            grads.append(None)
    return grads


def _loss(outs, grads, make):
    total = None
    for o, g in zip(outs, grads):
        if g is None:
            continue
        term = (o * make(g)).sum()
        total = term if total is None else total + term
    return total


def _numerical_grads(np_fn, run, grads):
    """d/d(base) of sum(np_fn(views) * g) by float64 central differences, for each grad input."""
    bases = [b.astype(np.float64) if _is_float(b) else b.copy() for b in run.bases]

    def loss():
        outs = _as_outputs(np_fn(*[lay.apply_numpy(b) for b, lay in zip(bases, run.layouts)]))
        return sum(float((np.asarray(o, dtype=np.float64) * g).sum())
                   for o, g in zip(outs, grads) if g is not None)

    result = {}
    for i in run.grad_inputs:
        flat = bases[i].reshape(-1)
        grad = np.zeros(flat.size)
        for j in range(flat.size):
            if np.isnan(flat[j]):
                # a hole between sliced elements (not part of the input), or a NaN input,
                # where the derivative is undefined: either way it is left at 0
                continue
            orig = flat[j]
            flat[j] = orig + _NUMERICAL_EPS
            plus = loss()
            flat[j] = orig - _NUMERICAL_EPS
            minus = loss()
            flat[j] = orig
            grad[j] = (plus - minus) / (2 * _NUMERICAL_EPS)
        result[i] = grad.reshape(bases[i].shape)
    return result


def _check_run(run, nr_fn, np_fn, torch_fn, torch, dtype, opts):
    import neurarust as nr

    rtol, atol = _tolerances(opts["rtol"], opts["atol"], dtype.name)
    grad_rtol, grad_atol = _tolerances(opts["grad_rtol"], opts["grad_atol"], dtype.name)
    want_grad = opts["grad"] and bool(run.grad_inputs)

    leaves = [nr.tensor(b) for b in run.bases]
    for i in run.grad_inputs:
        if want_grad:
            leaves[i].requires_grad_(True)
    versions = [leaf._version for leaf in leaves]
    op_inputs = [lay.apply(leaf) for leaf, lay in zip(leaves, run.layouts)]
    for x, lay in zip(op_inputs, run.layouts):
        if lay.kind == "transpose" and x.shape[-1] > 1 and x.shape[-2] > 1:
            assert not x.is_contiguous(), f"{run.label}: the transposed input should not be contiguous"
        if lay.kind == "expand":
            assert 0 in x.stride(), f"{run.label}: the broadcast input should have a zero stride"

    outs = _as_outputs(nr_fn(*op_inputs))
    np_outs = _as_outputs(np_fn(*[lay.apply_numpy(b.copy()) for b, lay in zip(run.bases, run.layouts)]))
    assert len(outs) == len(np_outs), f"{run.label}: {len(outs)} outputs, NumPy gives {len(np_outs)}"
    for k, (o, e) in enumerate(zip(outs, np_outs)):
        assert_close(o, np.asarray(e), rtol, atol, equal_nan=True, check_dtype=opts["check_np_dtype"],
                     msg=f"{run.label}: output {k} differs from the NumPy reference")

    torch_leaves = torch_outs = None
    if torch is not None and torch_fn is not None:
        torch_leaves = [torch.from_numpy(b.copy()) for b in run.bases]
        for i in run.grad_inputs:
            if want_grad:
                torch_leaves[i].requires_grad_(True)
        torch_outs = _as_outputs(torch_fn(*[lay.apply(t) for t, lay in zip(torch_leaves, run.layouts)]))
        assert len(outs) == len(torch_outs), f"{run.label}: {len(outs)} outputs, torch gives {len(torch_outs)}"
        for k, (o, e) in enumerate(zip(outs, torch_outs)):
            assert_close(o, e, rtol, atol, equal_nan=True, msg=f"{run.label}: output {k} differs from torch")
            if hasattr(e, "requires_grad"):
                assert o.requires_grad == e.requires_grad, (
                    f"{run.label}: output {k} requires_grad is {o.requires_grad}, torch says {e.requires_grad}")

    if want_grad:
        grads = _grad_outputs(opts["rng"], outs, opts["grad_output"])
        loss = _loss(outs, grads, lambda g: nr.tensor(g))
        assert loss is not None or torch_outs is not None, (
            f"{run.label}: no output requires grad; pass grad=False for a non-differentiable op")
        if loss is not None:
            loss.backward()
            if torch_outs is not None:
                torch_loss = _loss(torch_outs, grads, lambda g: torch.from_numpy(g))
                if torch_loss is not None:
                    torch_loss.backward()
                for i in run.grad_inputs:
                    got, want = leaves[i].grad, torch_leaves[i].grad
                    if want is None or got is None:
                        assert got is None and want is None, (
                            f"{run.label}: gradient of input {i} is {got!r}, torch gives {want!r}")
                        continue
                    assert_close(got, want, grad_rtol, grad_atol, equal_nan=True,
                                 msg=f"{run.label}: gradient of input {i} differs from torch")
            else:
                numerical = _numerical_grads(np_fn, run, grads)
                for i in run.grad_inputs:
                    got = leaves[i].grad
                    if got is None:  # no gradient reached the input: it must be zero
                        got = nr.zeros(run.bases[i].shape, dtype=leaves[i].dtype)
                    assert got.dtype == leaves[i].dtype and tuple(got.shape) == run.bases[i].shape, (
                        f"{run.label}: gradient of input {i} has {got.dtype} {tuple(got.shape)}, "
                        f"the input {leaves[i].dtype} {run.bases[i].shape}")
                    assert_close(got.numpy().astype(np.float64), numerical[i], _NUMERICAL_RTOL,
                                 _NUMERICAL_ATOL, equal_nan=True,
                                 msg=f"{run.label}: gradient of input {i} differs from float64 central differences")

    for i, (leaf, base) in enumerate(zip(leaves, run.bases)):
        assert_close(leaf.detach(), base, 0.0, 0.0, equal_nan=True,
                     msg=f"{run.label}: the op modified input {i}")
        assert leaf._version == versions[i], (
            f"{run.label}: input {i}'s version counter moved from {versions[i]} to {leaf._version}")


def devices_under_test() -> List[Any]:
    """The devices besides the CPU that ``check_op`` runs every op on.

    ``cuda`` when it is available, and always ``"opaque"`` (see
    :mod:`neurarust.testing._opaque_device`): a device whose arrays are not
    NumPy arrays, which catches code that bypasses the backend protocol.
    ``NEURARUST_TEST_DEVICES`` (comma-separated) replaces the list.

    Example:
        >>> from neurarust.testing import devices_under_test
        >>> "opaque" in devices_under_test()
        True
    """
    env = os.environ.get("NEURARUST_TEST_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip()]
    import neurarust as nr

    return (["cuda"] if nr.cuda.is_available() else []) + ["opaque"]


def _check_device_run(run, nr_fn, device, dtype, opts):
    """The op on ``device`` gives the CPU's outputs and gradients, on that device."""
    import neurarust as nr

    want_grad = opts["grad"] and bool(run.grad_inputs)
    with entered_device(device) as dev:
        results = []
        for where in (None, dev):
            leaves = [nr.tensor(b, device=where) for b in run.bases]
            for i in run.grad_inputs:
                if want_grad:
                    leaves[i].requires_grad_(True)
            outs = _as_outputs(nr_fn(*[lay.apply(leaf) for leaf, lay in zip(leaves, run.layouts)]))
            grads = None
            if want_grad:
                upstream = _grad_outputs(np.random.default_rng(7), outs, opts["grad_output"])
                loss = _loss(outs, upstream, lambda g: nr.tensor(g, device=where))
                if loss is not None:
                    loss.backward()
                grads = [leaves[i].grad for i in sorted(run.grad_inputs)]
            results.append((outs, grads, leaves))
        (cpu_outs, cpu_grads, _), (dev_outs, dev_grads, dev_leaves) = results
        label = f"{run.label} on {dev}"
        rtol, atol = _tolerances(opts["rtol"], opts["atol"], dtype.name)
        for k, (o, e) in enumerate(zip(dev_outs, cpu_outs)):
            if hasattr(o, "device"):
                assert o.device == dev, f"{label}: output {k} is on {o.device}"
                assert o.requires_grad == e.requires_grad, f"{label}: output {k} requires_grad differs"
            assert_close(o, e, rtol, atol, equal_nan=True, msg=f"{label}: output {k} differs from the CPU's")
        for got, want in zip(dev_grads or [], cpu_grads or []):
            assert (got is None) == (want is None), f"{label}: gradient is {got!r}, the CPU's {want!r}"
            if got is not None:
                assert got.device == dev, f"{label}: gradient is on {got.device}"
                assert_close(got, want, rtol, atol, equal_nan=True, msg=f"{label}: gradient differs from the CPU's")
        for i, (leaf, base) in enumerate(zip(dev_leaves, run.bases)):
            assert_close(leaf.detach(), base, 0.0, 0.0, equal_nan=True, msg=f"{label}: the op modified input {i}")


def _run_gradcheck(nr_fn, arrays, grad_set, name):
    import neurarust as nr

    leaves = [nr.tensor(a.astype(np.float64) if _is_float(a) else a,
                        requires_grad=_is_float(a) and (grad_set is None or i in grad_set))
              for i, a in enumerate(arrays)]
    if not any(leaf.requires_grad for leaf in leaves):
        return
    assert nr.autograd.gradcheck(nr_fn, tuple(leaves)), f"{name}: gradcheck failed"


def check_op(nr_fn: Callable, np_fn: Callable, torch_fn: Optional[Callable],
             shapes: Optional[Sequence[Sequence[int]]] = None, *,
             inputs: Optional[Sequence[Any]] = None,
             low: float = -2.0, high: float = 2.0,
             generator: Any = None,
             dtypes: Sequence[Any] = ("float32", "float64"),
             skip: Sequence[str] = (),
             scalar_shapes: Optional[Sequence[Sequence[int]]] = None,
             empty_shapes: Optional[Sequence[Sequence[int]]] = None,
             grad: bool = True,
             grad_inputs: Optional[Sequence[int]] = None,
             grad_output: str = "random",
             gradcheck: bool = True,
             gradcheck_shapes: Optional[Sequence[Sequence[int]]] = None,
             check_np_dtype: bool = True,
             rtol: Optional[float] = None, atol: Optional[float] = None,
             grad_rtol: Optional[float] = None, grad_atol: Optional[float] = None,
             use_torch: Optional[bool] = None,
             seed: int = 0,
             devices: Optional[Sequence[Any]] = None,
             name: Optional[str] = None) -> None:
    """Check an op's forward and backward against NumPy and torch in many layouts and dtypes.

    ``nr_fn``, ``np_fn`` and ``torch_fn`` take the op's tensor inputs positionally
    (bind other arguments with a lambda) and return a tensor or a tuple of tensors.
    Inputs are drawn from ``[low, high)`` for each of ``shapes`` (or by ``generator``:
    ``fn(rng, shape, dtype) -> ndarray``, one for all inputs or a list with one per
    input, None meaning uniform), or given as arrays in ``inputs``.  Floating inputs are
    cast to each of ``dtypes``; other inputs (bool masks, int indices) keep their dtype.

    For each variant in :data:`VARIANTS` not in ``skip`` and each dtype it checks:

    * forward against ``np_fn`` (values, shape and, unless ``check_np_dtype=False``,
      dtype), and against ``torch_fn`` (values, shape, dtype, ``requires_grad``) when
      torch is importable (``use_torch=False`` skips it);
    * the gradient of ``(out * random_grad).sum()`` (``grad_output="ones"``: ``out.sum()``)
      with respect to each floating input (``grad_inputs`` narrows them) against torch,
      or, without torch, against float64 central differences of ``np_fn`` (with gradcheck's
      tolerances ``rtol=1e-3, atol=1e-5``: meant for float32/float64, too tight for float16);
    * that the inputs' values and version counters did not change.

    Variants: ``contiguous``; ``transposed`` (last two dims of each >= 2-D input are a
    transposed view); ``sliced`` (each input is a step-2 view, NaN between elements);
    ``broadcast`` (one dim of each input is a stride-0 expansion); ``scalar`` (0-d inputs,
    or ``scalar_shapes``); ``empty`` (first dim of the inputs with the most dims set to 0, or ``empty_shapes``).
    The variants of the first dtype also run on each of ``devices`` (default
    :func:`devices_under_test`: ``cuda`` when available, and the ``opaque``
    test device), where outputs, gradients and their devices are compared with
    the CPU's.  Finally ``nr.autograd.gradcheck`` runs in float64 on ``gradcheck_shapes`` (default
    ``shapes``), unless ``gradcheck=False``.

    Example:
        >>> import numpy as np
        >>> from neurarust.testing import check_op, positive
        >>> check_op(lambda x: x.log(), np.log, lambda x: x.log(), [(2, 3)], generator=positive())
        >>> check_op(lambda a, b: a * b, np.multiply, lambda a, b: a * b, [(2, 3), (3,)])
    """
    if (shapes is None) == (inputs is None):
        raise ValueError("check_op: give exactly one of shapes and inputs")
    unknown = set(skip) - set(VARIANTS)
    if unknown:
        raise ValueError(f"check_op: unknown variants {sorted(unknown)}; expected some of {VARIANTS}")
    if grad_output not in ("random", "ones"):
        raise ValueError(f"check_op: grad_output must be 'random' or 'ones', got {grad_output!r}")
    name = name or getattr(nr_fn, "__name__", "op")
    n_inputs = len(shapes) if shapes is not None else len(inputs)
    generators = _generators(generator, low, high, n_inputs)
    torch = torch_or_none() if use_torch is not False else None
    if use_torch and torch is None:
        raise RuntimeError("check_op: use_torch=True but torch cannot be imported")
    grad_set = None if grad_inputs is None else set(grad_inputs)
    device_list = list(devices_under_test() if devices is None else devices)
    float_dtypes = [_np_dtype(d) for d in dtypes]
    if inputs is not None and not any(_is_float(np.asarray(a)) for a in inputs):
        float_dtypes = float_dtypes[:1]  # the float dtype changes nothing
    ran = 0
    for d_index, dtype in enumerate(float_dtypes):
        for v_index, variant in enumerate(VARIANTS):
            if variant in skip:
                continue
            rng = np.random.default_rng([seed, d_index, v_index])
            arrays = _logical_inputs(variant, shapes, inputs, generators, rng, dtype, scalar_shapes,
                                     empty_shapes)
            if arrays is None:
                continue
            laid_out = _variant_arrays(variant, arrays)
            if laid_out is None:
                continue
            run = _Run(name, variant, dtype, [b for b, _ in laid_out], [lay for _, lay in laid_out],
                       grad_set)
            opts = dict(rtol=rtol, atol=atol, grad_rtol=grad_rtol, grad_atol=grad_atol, grad=grad,
                        grad_output=grad_output, check_np_dtype=check_np_dtype, rng=rng)
            _check_run(run, nr_fn, np_fn, torch_fn, torch, dtype, opts)
            if d_index == 0:
                for dev in device_list:
                    _check_device_run(run, nr_fn, dev, dtype, opts)
            ran += 1
    assert ran, f"{name}: check_op ran no variant at all"
    if gradcheck and grad:
        rng = np.random.default_rng([seed, 99])
        if inputs is not None:
            arrays = [np.asarray(a) for a in inputs]
        else:
            arrays = [gen(rng, tuple(s), np.dtype(np.float64))
                      for gen, s in zip(generators, gradcheck_shapes or shapes)]
        _run_gradcheck(nr_fn, arrays, grad_set, name)

