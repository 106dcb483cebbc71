"""Neural networks: ``Module``, containers, layers, losses, ``functional``, ``init`` and ``utils``.

Layer files are imported when present (see ``neurarust.nn.modules``), and
every public class is available here, as in ``torch.nn``.

Example:
    >>> import neurarust as nr
    >>> from neurarust import nn
    >>> p = nn.Parameter(nr.zeros(2))
    >>> m = nn.Module(); m.w = p; [n for n, _ in m.named_parameters()]
    ['w']
"""
import importlib as _importlib

from . import init, modules, utils
from .modules import *  # noqa: F401,F403  (re-exports every module class present)
from .modules import __all__ as _module_names
from .modules.module import Module
from .parameter import Parameter

__all__ = ["Parameter", "Module", "init", "utils", "modules"] + [
    n for n in _module_names if n != "Module"]

try:
    functional = _importlib.import_module(f"{__name__}.functional")
except ModuleNotFoundError as _exc:
    if _exc.name != f"{__name__}.functional":
        raise
else:
    __all__.append("functional")
