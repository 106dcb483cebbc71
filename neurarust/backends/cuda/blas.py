"""cuBLAS through ``ctypes``: loaded lazily, no build-time dependency.

Search order for the library: ``NEURARUST_CUBLAS`` (a path), the CUDA
toolkit's library folders, the ``nvidia`` wheels' folders (``nvidia/cu13/lib``,
``nvidia/cublas/lib``), then the system loader.  cuBLAS shares the device's
primary context with pycuda and runs on the same (default) stream, so GEMMs
are ordered with our kernels without synchronisation.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import shutil
import site
import sys
from typing import List, Optional

from ...errors import DeviceError

__all__ = ["CuBLAS", "find_cublas"]

OP_N, OP_T = 0, 1
CUDA_R_32F, CUDA_R_64F, CUDA_R_16F = 0, 1, 2
CUBLAS_COMPUTE_32F = 68
CUBLAS_GEMM_DEFAULT = -1

_NAMES = ("libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so")


def _candidate_dirs() -> List[str]:
    dirs = []
    nvcc = shutil.which("nvcc")
    roots = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    if nvcc:
        roots.append(os.path.dirname(os.path.dirname(os.path.realpath(nvcc))))
    for root in filter(None, roots):
        dirs += [os.path.join(root, "lib64"), os.path.join(root, "lib"),
                 os.path.join(root, "targets", "x86_64-linux", "lib")]
    for sp in site.getsitepackages() + [site.getusersitepackages()] + sys.path:
        dirs += glob.glob(os.path.join(sp, "nvidia", "cu*", "lib"))
        dirs.append(os.path.join(sp, "nvidia", "cublas", "lib"))
    return [d for d in dirs if os.path.isdir(d)]


def find_cublas() -> Optional[str]:
    """The path (or soname) of the cuBLAS library to load, or None if none is found."""
    explicit = os.environ.get("NEURARUST_CUBLAS")
    if explicit:
        return explicit
    for d in _candidate_dirs():
        for name in _NAMES:
            path = os.path.join(d, name)
            if os.path.exists(path):
                return path
    return ctypes.util.find_library("cublas")


class CuBLAS:
    """A cuBLAS handle on one device, with the GEMMs the backend uses."""

    def __init__(self, rt) -> None:
        path = find_cublas()
        if path is None:
            raise DeviceError("cuBLAS (libcublas.so) was not found: install the CUDA toolkit or the "
                              "'nvidia-cublas' wheel, or set NEURARUST_CUBLAS to the library's path")
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            raise DeviceError(f"cuBLAS could not be loaded from {path}: {exc}") from None
        self.path = path
        self.lib = lib
        self.handle = ctypes.c_void_p()
        self._check(lib.cublasCreate_v2(ctypes.byref(self.handle)), "cublasCreate")
        P, I, L = ctypes.c_void_p, ctypes.c_int, ctypes.c_longlong
        gemm = [P, I, I, I, I, I, P, P, I, P, I, P, P, I]
        batched = [P, I, I, I, I, I, P, P, I, L, P, I, L, P, P, I, L, I]
        for name, args in (("cublasSgemm_v2", gemm), ("cublasDgemm_v2", gemm),
                           ("cublasSgemmStridedBatched", batched), ("cublasDgemmStridedBatched", batched),
                           ("cublasGemmStridedBatchedEx",
                            [P, I, I, I, I, I, P, P, I, I, L, P, I, I, L, P, P, I, I, L, I, I, I])):
            fn = getattr(lib, name)
            fn.argtypes = args
            fn.restype = I

    @staticmethod
    def _check(status: int, what: str) -> None:
        if status != 0:
            raise DeviceError(f"cuBLAS {what} failed with status {status}")

    def gemm_strided_batched(self, dtype_name: str, trans_a: int, trans_b: int, m: int, n: int, k: int,
                             a_ptr: int, lda: int, stride_a: int, b_ptr: int, ldb: int, stride_b: int,
                             c_ptr: int, ldc: int, stride_c: int, batch: int) -> None:
        """Column-major ``C = op(A) @ op(B)`` for ``batch`` matrices (strides in elements)."""
        lib = self.lib
        typed = {"float32": (ctypes.c_float, lib.cublasSgemm_v2, lib.cublasSgemmStridedBatched),
                 "float64": (ctypes.c_double, lib.cublasDgemm_v2, lib.cublasDgemmStridedBatched)}.get(dtype_name)
        if typed is not None:
            scalar, gemm, gemm_batched = typed
            one, zero = ctypes.byref(scalar(1.0)), ctypes.byref(scalar(0.0))
            if batch == 1:
                status = gemm(self.handle, trans_a, trans_b, m, n, k, one, a_ptr, lda, b_ptr, ldb, zero, c_ptr, ldc)
            else:
                status = gemm_batched(self.handle, trans_a, trans_b, m, n, k, one, a_ptr, lda, stride_a,
                                      b_ptr, ldb, stride_b, zero, c_ptr, ldc, stride_c, batch)
        elif dtype_name == "float16":
            # Half inputs and output, float32 accumulation (as torch does by default).
            one, zero = ctypes.byref(ctypes.c_float(1.0)), ctypes.byref(ctypes.c_float(0.0))
            status = lib.cublasGemmStridedBatchedEx(
                self.handle, trans_a, trans_b, m, n, k, one, a_ptr, CUDA_R_16F, lda, stride_a,
                b_ptr, CUDA_R_16F, ldb, stride_b, zero, c_ptr, CUDA_R_16F, ldc, stride_c, batch,
                CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT)
        else:
            raise DeviceError(f"cuBLAS gemm: unsupported dtype {dtype_name}")
        self._check(status, f"gemm ({dtype_name}, m={m}, n={n}, k={k}, batch={batch})")
