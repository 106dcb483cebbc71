"""Automatic differentiation: ``Function``, ``backward``, ``grad``, grad modes and checks.

Example:
    >>> import neurarust as nr
    >>> x = nr.tensor(2.0, requires_grad=True)
    >>> nr.autograd.grad(x ** 3, x)
    (tensor(12.),)
"""
from .engine import backward, grad
from .function import Function, FunctionCtx
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,
                        no_grad, set_grad_enabled)
from .gradcheck import gradcheck, gradgradcheck

__all__ = ["Function", "FunctionCtx", "backward", "grad", "no_grad", "enable_grad",
           "set_grad_enabled", "inference_mode", "is_grad_enabled", "is_inference_mode_enabled",
           "gradcheck", "gradgradcheck"]
