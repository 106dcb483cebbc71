"""Utilities: ``summary`` (a table of layers, output shapes and parameter counts) and ``data``.

``neurarust.utils.data`` is imported when present.

Example:
    >>> import neurarust as nr
    >>> from neurarust.utils import summary
    >>> callable(summary)
    True
"""
import importlib as _importlib

from .summary import summary

__all__ = ["summary"]

try:
    data = _importlib.import_module(f"{__name__}.data")
except ModuleNotFoundError as _exc:
    if _exc.name != f"{__name__}.data":
        raise
else:
    __all__.append("data")
