"""Reductions: sum, mean, prod, max/min, var/std, norms, logsumexp, softmax, cumulative ops.

The code lives in one module per family:

=====================  ===================================================================
``reduce_sum``         sum, mean, prod, all, any, count_nonzero
``reduce_extrema``     max, min, amax, amin, argmax, argmin
``reduce_stats``       var, std, var_mean, std_mean, norm
``reduce_softmax``     logsumexp, softmax, log_softmax
``reduce_cumulative``  cumsum, cumprod
=====================  ===================================================================

and what they share in ``_reduction_common``.  CPU kernels:
``neurarust/_core/reduce.pyx``.  ``dim`` may be an int, a tuple or None (all
dims); ``keepdim`` keeps reduced dims with size 1.

Example:
    >>> import neurarust as nr
    >>> x = nr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> x.mean(dim=0).sum().backward(); x.grad
    tensor([[0.5000, 0.5000],
            [0.5000, 0.5000]])
"""
from __future__ import annotations

from .reduce_cumulative import cumprod, cumsum
from .reduce_extrema import amax, amin, argmax, argmin, max, min
from .reduce_softmax import log_softmax, logsumexp, softmax
from .reduce_stats import norm, std, std_mean, var, var_mean
from .reduce_sum import all, any, count_nonzero, mean, prod, sum

__all__ = ["sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std",
           "var_mean", "std_mean", "logsumexp", "norm", "all", "any", "cumsum", "cumprod",
           "softmax", "log_softmax", "count_nonzero"]
