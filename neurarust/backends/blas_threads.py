"""Size of the thread pool of the OpenBLAS that scipy uses for matmul.

NeuraRust's matmul calls BLAS through ``scipy.linalg.cython_blas``.  scipy
wheels bundle their own OpenBLAS (``scipy.libs/libscipy_openblas*.so``),
separate from numpy's, with its own thread pool; this module finds that
library and calls its ``openblas_{set,get}_num_threads`` entry points.

Builds rename those symbols with a prefix and/or suffix (scipy's wheels
export ``scipy_openblas_set_num_threads``, 64-bit-integer builds add
``64_``), so the plausible spellings are all tried.  Anything unexpected
(no scipy, a non-OpenBLAS BLAS such as Accelerate or MKL, no ``/proc``)
makes the functions return ``False``/``None`` instead of raising.
"""
from __future__ import annotations

import ctypes
import glob
import os
import threading

__all__ = ["set_blas_threads", "get_blas_threads"]

_SYMBOL_PREFIXES = ("scipy_", "", "numpy_")
# Only C-interface spellings: the Fortran ones (a trailing "_" before the
# suffix, e.g. "..._threads_64_") take a pointer, not an int.
_SYMBOL_SUFFIXES = ("", "64_", "_64")

_lock = threading.Lock()
_lookup_done = False
_set_threads = None
_get_threads = None


def _symbol_names(base):
    return [prefix + base + suffix for prefix in _SYMBOL_PREFIXES for suffix in _SYMBOL_SUFFIXES]


def _scipy_blas_modules():
    """Files of scipy's own BLAS-linked extensions (importing them loads the BLAS)."""
    paths = []
    try:
        from scipy.linalg import _fblas, cython_blas
    except Exception:  # noqa: BLE001 - no (working) scipy: nothing to control
        return paths
    for module in (cython_blas, _fblas):
        path = getattr(module, "__file__", None)
        if path:
            paths.append(path)
    return paths


def _scipy_directories():
    try:
        import scipy
    except Exception:  # noqa: BLE001
        return []
    package_dir = os.path.dirname(os.path.abspath(scipy.__file__))
    return [package_dir, package_dir + ".libs", os.path.join(package_dir, ".dylibs")]


def _loaded_openblas_paths():
    """Paths of OpenBLAS libraries mapped into this process (Linux only)."""
    paths = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split(None, 5)
                if len(fields) == 6 and "openblas" in fields[5].lower():
                    path = fields[5].strip()
                    if path not in paths:
                        paths.append(path)
    except OSError:
        pass
    return paths


def _candidate_libraries():
    """Where to look for the symbols, most trustworthy first.

    dlsym on the handle of a scipy extension searches that extension's own
    dependencies, which is exactly the BLAS scipy calls (numpy's bundled
    copy is loaded privately and cannot answer).  The file-name based
    fallbacks rank libraries inside scipy's directories first.
    """
    candidates = list(_scipy_blas_modules())
    scipy_dirs = tuple(os.path.join(d, "") for d in _scipy_directories())
    found = _loaded_openblas_paths()
    for directory in scipy_dirs:
        found += sorted(glob.glob(os.path.join(directory, "*openblas*")))
    candidates += [p for p in found if p.startswith(scipy_dirs)]
    candidates += [p for p in found if not p.startswith(scipy_dirs)]
    unique = []
    for path in candidates:
        if path not in unique:
            unique.append(path)
    return unique


def _first_symbol(library, base):
    for name in _symbol_names(base):
        try:
            return getattr(library, name)
        except AttributeError:
            continue
    return None


def _lookup():
    """Finds set/get from one and the same library; caches the answer."""
    global _lookup_done, _set_threads, _get_threads
    with _lock:
        if _lookup_done:
            return _set_threads, _get_threads
        _lookup_done = True
        for path in _candidate_libraries():
            try:
                library = ctypes.CDLL(path)
            except OSError:
                continue
            setter = _first_symbol(library, "openblas_set_num_threads")
            if setter is None:
                continue
            setter.argtypes = [ctypes.c_int]
            setter.restype = None
            getter = _first_symbol(library, "openblas_get_num_threads")
            if getter is not None:
                getter.argtypes = []
                getter.restype = ctypes.c_int
            _set_threads, _get_threads = setter, getter
            break
        return _set_threads, _get_threads


def set_blas_threads(n: int) -> bool:
    """Sets the number of threads scipy's OpenBLAS uses; False if it cannot be found.

    Raises TypeError/ValueError only for a bad ``n`` (not an int, or < 1).
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_blas_threads: n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_blas_threads: n must be >= 1, got {n}")
    setter, _ = _lookup()
    if setter is None:
        return False
    try:
        setter(min(n, 2**31 - 1))
    except Exception:  # noqa: BLE001 - a foreign-call failure must not escape
        return False
    return True


def get_blas_threads() -> int | None:
    """Number of threads scipy's OpenBLAS uses, or None if it cannot be found."""
    _, getter = _lookup()
    if getter is None:
        return None
    try:
        count = int(getter())
    except Exception:  # noqa: BLE001
        return None
    return count if count >= 1 else None
