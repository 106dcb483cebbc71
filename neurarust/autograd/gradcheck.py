"""Numerical gradient checks: ``gradcheck`` and ``gradgradcheck`` (float64 central differences).

Example:
    >>> import neurarust as nr
    >>> x = nr.randn(3, dtype=nr.float64, requires_grad=True)
    >>> nr.autograd.gradcheck(lambda t: (t * t).sin(), (x,))
    True
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .._core.tensor_base import TensorBase
from ..errors import AutogradError
from .engine import grad as autograd_grad
from .grad_mode import enable_grad, no_grad


class GradcheckError(AutogradError):
    """Analytical and numerical gradients disagree."""


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _differentiable_outputs(fn, inputs):
    return tuple(o for o in _as_tuple(fn(*inputs)) if isinstance(o, TensorBase) and o.requires_grad)


def _numerical_jacobian(fn, inputs, output_index, eps):
    """d(output)/d(input) for each input that requires grad, by central differences."""
    with no_grad():
        jacobians = []
        for t in inputs:
            if not (isinstance(t, TensorBase) and t.requires_grad):
                jacobians.append(None)
                continue
            flat = t.detach().numpy().reshape(-1) if t.is_contiguous() else None
            if flat is None:
                raise GradcheckError("gradcheck inputs must be contiguous")
            out_size = _as_tuple(fn(*inputs))[output_index].numel()
            jac = np.zeros((flat.size, out_size))
            for i in range(flat.size):
                orig = flat[i]
                flat[i] = orig + eps
                plus = _as_tuple(fn(*inputs))[output_index].detach().numpy().astype(np.float64).reshape(-1)
                flat[i] = orig - eps
                minus = _as_tuple(fn(*inputs))[output_index].detach().numpy().astype(np.float64).reshape(-1)
                flat[i] = orig
                jac[i] = (plus - minus) / (2 * eps)
            jacobians.append(jac)
    return jacobians


def _analytical_jacobian(fn, inputs, output_index):
    from ..ops.creation import zeros_like

    outputs = _as_tuple(fn(*inputs))
    out = outputs[output_index]
    diff_inputs = [t for t in inputs if isinstance(t, TensorBase) and t.requires_grad]
    jacs = [np.zeros((t.numel(), out.numel())) for t in diff_inputs]
    flat_out = out.reshape(-1)
    for j in range(out.numel()):
        g = zeros_like(flat_out)
        g.numpy(force=True)[j] = 1.0
        grads = autograd_grad(flat_out, diff_inputs, g, retain_graph=True, allow_unused=True)
        for k, gi in enumerate(grads):
            if gi is not None:
                jacs[k][:, j] = gi.detach().numpy().astype(np.float64).reshape(-1)
    return jacs


def gradcheck(func: Callable, inputs: Sequence, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, **_ignored) -> bool:
    """Compare analytical gradients of ``func`` with float64 central differences.

    Inputs that require grad should be float64 and contiguous.
    """
    inputs = _as_tuple(inputs) if not isinstance(inputs, list) else tuple(inputs)
    for t in inputs:
        if isinstance(t, TensorBase) and t.requires_grad and t.dtype.name != "float64":
            import warnings

            warnings.warn("gradcheck: input is not float64; the check will be imprecise", stacklevel=2)
    n_out = len(_as_tuple(func(*inputs)))
    for k in range(n_out):
        out = _as_tuple(func(*inputs))[k]
        if not (isinstance(out, TensorBase) and out.requires_grad):
            continue
        numerical = _numerical_jacobian(func, inputs, k, eps)
        analytical = _analytical_jacobian(func, inputs, k)
        num = [j for j in numerical if j is not None]
        for i, (a, n) in enumerate(zip(analytical, num)):
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if raise_exception:
                    worst = np.unravel_index(np.argmax(np.abs(a - n)), a.shape) if a.size else ()
                    raise GradcheckError(
                        f"Jacobian mismatch for output {k} with respect to input {i}:\n"
                        f"numerical:{n}\nanalytical:{a}\n(largest difference at {worst})"
                    )
                return False
    return True


def gradgradcheck(func: Callable, inputs: Sequence, grad_outputs=None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
                  **_ignored) -> bool:
    """Check second derivatives: gradcheck of the function that maps inputs to their gradients.

    Example:
        >>> import neurarust as nr
        >>> x = nr.randn(3, dtype=nr.float64, requires_grad=True)
        >>> nr.autograd.gradgradcheck(lambda t: (t ** 3).sum(), (x,))
        True
    """
    from ..ops.random import randn

    inputs = tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)
    outputs = _as_tuple(func(*inputs))
    if grad_outputs is None:
        grad_outputs = tuple(randn(tuple(o.shape), dtype=o.dtype, requires_grad=True) for o in outputs)
    diff_inputs = [t for t in inputs if isinstance(t, TensorBase) and t.requires_grad]

    def first_grads(*args):
        ins, gos = args[: len(inputs)], args[len(inputs):]
        # The numerical Jacobian evaluates this under no_grad, but the first
        # derivative itself needs a graph to differentiate through.
        with enable_grad():
            outs = _as_tuple(func(*ins))
            diff = [t for t in ins if isinstance(t, TensorBase) and t.requires_grad]
            grads = autograd_grad(outs, diff, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    del diff_inputs
    return gradcheck(first_grads, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)
