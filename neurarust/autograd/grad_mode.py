"""Grad modes: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each works as a context manager and as a decorator.

Example:
    >>> import neurarust as nr
    >>> x = nr.ones(2, requires_grad=True)
    >>> with nr.no_grad():
    ...     (x * 2).requires_grad
    False
"""
from __future__ import annotations

import functools
from typing import Any, Callable


__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


from .._core.tensor_base import GRAD_MODE as GradMode  # noqa: E402  (C-level state: read on every op)


def is_grad_enabled() -> bool:
    """Whether ops record the graph for autograd.

    Example:
        >>> import neurarust as nr
        >>> nr.is_grad_enabled()
        True
    """
    return GradMode.enabled


def is_inference_mode_enabled() -> bool:
    """Whether ``inference_mode`` is active."""
    return GradMode.inference


class _GradModeContext:
    """Base for the context managers: also usable as a decorator."""

    _target = True

    def __enter__(self):
        self._saved = (GradMode.enabled, GradMode.inference)
        self._apply()
        return self

    def _apply(self) -> None:
        GradMode.enabled = self._target

    def __exit__(self, *exc: Any) -> None:
        GradMode.enabled, GradMode.inference = self._saved

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._ctor_args()):
                return fn(*args, **kwargs)

        return wrapper

    def _ctor_args(self):
        return ()


class _NoParamDecorator(_GradModeContext):
    """``@no_grad`` without parentheses decorates too (as in torch >= 2.0)."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamDecorator):
    """Disable graph recording (context manager or decorator).

    Example:
        >>> import neurarust as nr
        >>> @nr.no_grad()
        ... def f(x):
        ...     return x * 2
        >>> f(nr.ones(1, requires_grad=True)).requires_grad
        False
    """

    _target = False


class enable_grad(_NoParamDecorator):
    """Enable graph recording inside a ``no_grad`` block.

    Example:
        >>> import neurarust as nr
        >>> with nr.no_grad(), nr.enable_grad():
        ...     (nr.ones(1, requires_grad=True) * 2).requires_grad
        True
    """

    _target = True


class set_grad_enabled(_GradModeContext):
    """Set grad mode on or off; takes effect at once, and is undone on exit when used with ``with``.

    Example:
        >>> import neurarust as nr
        >>> with nr.set_grad_enabled(False):
        ...     nr.is_grad_enabled()
        False
    """

    def __init__(self, mode: bool):
        self._target = bool(mode)
        self._saved = (GradMode.enabled, GradMode.inference)
        GradMode.enabled = self._target

    def __enter__(self):
        return self

    def _ctor_args(self):
        return (self._target,)

    def __call__(self, fn: Callable) -> Callable:
        # Construction already switched the mode; a decorator must not.
        GradMode.enabled, GradMode.inference = self._saved
        return super().__call__(fn)


class inference_mode(_GradModeContext):
    """Like ``no_grad``, for pure inference (context manager or decorator).

    Example:
        >>> import neurarust as nr
        >>> with nr.inference_mode():
        ...     nr.is_inference_mode_enabled()
        True
    """

    def __new__(cls, mode_or_fn=True):
        # ``@inference_mode`` without parentheses passes the function as ``mode``.
        if callable(mode_or_fn):
            return cls()(mode_or_fn)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self._mode = bool(mode)

    def _apply(self) -> None:
        # As torch's c10::InferenceMode: enabling it disables grad mode, and
        # inference_mode(False) enables grad mode (even inside no_grad).
        GradMode.enabled = not self._mode
        GradMode.inference = self._mode

    def _ctor_args(self):
        return (self._mode,)
