"""The module classes of ``neurarust.nn``.

``Module`` and the containers always load; the layer modules listed in
``_OPTIONAL`` are imported when present, and every name in their ``__all__``
is re-exported (so the package keeps working while a layer file is missing).

Example:
    >>> from neurarust.nn import modules
    >>> modules.Module.__name__, "Sequential" in modules.__all__
    ('Module', True)
"""
import importlib as _importlib

from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .module import Module

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]

_OPTIONAL = ("linear", "activation", "loss", "dropout", "sparse", "flatten", "conv", "pooling",
             "normalization", "upsampling")


def _import_optional():
    for name in _OPTIONAL:
        try:
            mod = _importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            # Only a missing layer file is skipped; a broken one must fail loudly.
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [n for n in vars(mod) if not n.startswith("_")]
        for n in names:
            globals()[n] = getattr(mod, n)
            if n not in __all__:
                __all__.append(n)


_import_optional()
del _import_optional
