"""Build facts and the kernel thread count (``nr.show_config``, ``nr.set_num_threads``)."""
from __future__ import annotations

import os
import platform
import sys


def _core_config():
    try:
        from ._core import config
    except ImportError:  # the config kernel module is optional while it is being built
        return None
    return config


def get_num_threads() -> int:
    """Threads used by NeuraRust's kernels (and the BLAS it calls).

    Example:
        >>> import neurarust as nr
        >>> nr.get_num_threads() >= 1
        True
    """
    cfg = _core_config()
    if cfg is not None:
        return cfg.get_num_threads()
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def set_num_threads(n: int) -> None:
    """Set the threads used by the kernels, BLAS products included.

    scipy's BLAS itself stays on one thread: the kernels split large products
    across their own threads, so only one thread pool is ever in play.

    Example:
        >>> import neurarust as nr
        >>> n = nr.get_num_threads(); nr.set_num_threads(1); nr.get_num_threads()
        1
        >>> nr.set_num_threads(n)
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"set_num_threads(): expected a positive number of threads, got {n}")
    cfg = _core_config()
    if cfg is not None:
        cfg.set_num_threads(n)
    _claim_blas(cfg)


def _claim_blas(cfg) -> None:
    """Puts scipy's OpenBLAS on one thread and tells the kernels they may split BLAS products.

    Where that BLAS cannot be found (another build of scipy), it keeps its own
    threads and the kernels leave the splitting to it.
    """
    if cfg is None:
        return
    try:
        from .backends.blas_threads import set_blas_threads
    except ImportError:
        return
    cfg.set_blas_single_threaded(set_blas_threads(1))


def _blas_info() -> str:
    try:
        import scipy

        cfg = scipy.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        return f"{blas.get('name', 'unknown')} {blas.get('version', '')} (scipy {scipy.__version__})".strip()
    except Exception:  # noqa: BLE001 - best effort, for display only
        return "unknown"


def _blas_threading() -> str:
    from .backends.blas_threads import get_blas_threads

    if get_blas_threads() == 1:
        return "; on 1 thread, large products split across the kernels' threads"
    return ""


def _cuda_info() -> str:
    from .backends.cuda import device_count, unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        return f"not available: {reason}"
    from .backends.cuda.blas import find_cublas

    return f"available: {device_count()} device(s), cuBLAS {find_cublas() or 'not found'}"


def show_config() -> None:
    """Print how this NeuraRust was built: compiler, OpenMP, threads, SIMD, BLAS, CUDA.

    Example:
        >>> import neurarust as nr
        >>> nr.show_config()  # doctest: +ELLIPSIS
        NeuraRust ...
    """
    from ._version import __version__

    cfg = _core_config()
    lines = [
        f"NeuraRust {__version__}",
        f"  python:   {sys.version.split()[0]} on {platform.machine()} ({platform.system()})",
    ]
    if cfg is not None:
        lines += [
            f"  compiler: {cfg.compiler_info()}",
            f"  OpenMP:   {'enabled' if cfg.openmp_enabled() else 'disabled'}, {cfg.get_num_threads()} thread(s)",
            f"  SIMD:     {cfg.simd_level()}",
        ]
    else:
        lines.append("  kernels:  config module not built")
    lines += [f"  BLAS:     {_blas_info()}{_blas_threading()}", f"  CUDA:     {_cuda_info()}"]
    print("\n".join(lines))


# One thread pool from the start, not only after the first set_num_threads.
_claim_blas(_core_config())
