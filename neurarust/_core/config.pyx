# cython: language_level=3
"""Threading and build facts of the compiled core.

Example:
    >>> from neurarust._core import config
    >>> config.get_num_threads() >= 1
    True
    >>> config.simd_level() in ("avx512f", "avx2", "baseline")
    True

Other kernel modules read the thread count at C speed with
``from neurarust._core.config cimport nr_num_threads``.
"""
import os

cdef extern from *:
    """
    #include "nr_strided.h"
    #ifdef _OPENMP
    #include <omp.h>
    #define NR_CFG_OPENMP 1
    static void nr_cfg_set_omp_threads(int n) { omp_set_num_threads(n); }
    static int nr_cfg_in_parallel(void) { return omp_in_parallel(); }
    #else
    static int nr_cfg_in_parallel(void) { return 0; }
    #define NR_CFG_OPENMP 0
    static void nr_cfg_set_omp_threads(int n) { (void)n; }
    #endif

    static const char *nr_cfg_compiler_version(void)
    {
    #ifdef __VERSION__
        return __VERSION__;
    #else
        return "unknown";
    #endif
    }

    /* Which target_clones variant the loader picks on this CPU. */
    static const char *nr_cfg_simd_level(void)
    {
    #if NR_HAVE_CLONES
        __builtin_cpu_init();
        if (__builtin_cpu_supports("x86-64-v4")) return "avx512f";
        if (__builtin_cpu_supports("x86-64-v3")) return "avx2";
    #endif
        return "baseline";
    }
    """
    int NR_CFG_OPENMP
    int NR_HAVE_CLONES
    void nr_cfg_set_omp_threads(int n) nogil
    int nr_cfg_in_parallel() nogil
    const char *nr_cfg_compiler_version()
    const char *nr_cfg_simd_level()


cdef int _num_threads = 1
cdef bint _blas_single_threaded = False


cdef int nr_num_threads() noexcept nogil:
    return _num_threads


cdef int nr_blas_split_threads() noexcept nogil:
    # Inside a parallel region the caller already has the threads busy.
    if not _blas_single_threaded or _num_threads == 1 or nr_cfg_in_parallel():
        return 1
    return _num_threads


def set_blas_single_threaded(bint flag):
    """Records whether scipy's BLAS runs on one thread, which lets the kernels split BLAS products
    across their own threads instead (``parallel_blas.pxd``)."""
    global _blas_single_threaded
    _blas_single_threaded = flag


def _default_num_threads():
    """OMP_NUM_THREADS when set, else the CPUs this process may run on."""
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) >= 1:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def openmp_enabled():
    """True when the kernels were compiled with OpenMP (multi-threaded)."""
    return bool(NR_CFG_OPENMP)


def get_num_threads():
    """Threads the kernels' parallel regions use (without OpenMP they run on one)."""
    return _num_threads


def set_num_threads(int n):
    """Sets the thread count for the kernels' parallel regions (n >= 1)."""
    global _num_threads
    if n < 1:
        raise ValueError(f"set_num_threads: expected a thread count >= 1, got {n}")
    _num_threads = n
    nr_cfg_set_omp_threads(n)


def simd_level():
    """The vector ISA the hot loops dispatch to here: 'avx512f', 'avx2' or 'baseline'."""
    return nr_cfg_simd_level().decode()


def compiler_info():
    """Compiler version, OpenMP state and SIMD dispatch of this build."""
    clones = "target_clones(x86-64-v4, x86-64-v3, default)" if NR_HAVE_CLONES else "none"
    return (f"compiler {nr_cfg_compiler_version().decode()}; "
            f"OpenMP {'on' if NR_CFG_OPENMP else 'off'}; "
            f"SIMD dispatch {simd_level()} (multiversioning: {clones})")


set_num_threads(_default_num_threads())
