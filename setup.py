"""Build script for NeuraRust's Cython core.

The metadata lives in ``pyproject.toml``; this file only describes the
extension modules and how to compile them.

Environment variables (all optional, for local builds only):

* ``NEURARUST_NATIVE=1`` adds ``-march=native``.  Never set it when building
  an sdist or wheel meant for other machines.
* ``NEURARUST_ONLY=name[,name]`` builds only the named ``_core`` modules
  (for kernel development).
* ``NEURARUST_NO_OPENMP=1`` forces a build without OpenMP.
"""
import glob
import os
import sys
import tempfile
import textwrap

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    int main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }
    """
)


class BuildExtWithOptionalOpenMP(build_ext):
    """Adds OpenMP flags to every extension when the compiler supports them.

    The probe compiles and links a tiny program with the real compiler that
    will build the extensions, so the answer is right for that toolchain.
    """

    def _openmp_flags(self):
        if os.environ.get("NEURARUST_NO_OPENMP"):
            return None
        candidates = [["-fopenmp"], ["-Xpreprocessor", "-fopenmp"]]
        if self.compiler.compiler_type == "msvc":
            candidates = [["/openmp"]]
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write(OPENMP_PROBE)
            for flags in candidates:
                try:
                    objs = self.compiler.compile([src], output_dir=tmp, extra_postargs=flags)
                    self.compiler.link_executable(objs, os.path.join(tmp, "probe"),
                                                  extra_postargs=flags)
                    return flags
                except Exception:  # noqa: BLE001 - any failure means "not supported"
                    continue
        return None

    def build_extensions(self):
        flags = self._openmp_flags()
        if flags is None:
            sys.stderr.write(
                "\n*** NeuraRust: the C compiler does not support OpenMP; building "
                "single-threaded kernels. Install an OpenMP runtime (libgomp or "
                "libomp) and rebuild for multi-threaded kernels. ***\n\n"
            )
        for ext in self.extensions:
            if flags is not None:
                ext.extra_compile_args = list(ext.extra_compile_args) + flags
                ext.extra_link_args = list(ext.extra_link_args) + flags
                ext.define_macros = list(ext.define_macros) + [("NEURARUST_OPENMP", "1")]
        super().build_extensions()


def core_extensions():
    compile_args = ["-O3"]
    if os.environ.get("NEURARUST_NATIVE"):
        compile_args.append("-march=native")
    only = {name.strip() for name in os.environ.get("NEURARUST_ONLY", "").split(",") if name.strip()}
    extensions = []
    # Kernels live in C headers: list them so editing one rebuilds the modules.
    headers = sorted(glob.glob(os.path.join("neurarust", "_core", "include", "*.h")))
    for path in sorted(glob.glob(os.path.join("neurarust", "_core", "*.pyx"))):
        name = os.path.splitext(os.path.basename(path))[0]
        if only and name not in only:
            continue
        extensions.append(
            Extension(
                f"neurarust._core.{name}",
                [path],
                include_dirs=[np.get_include(), os.path.join("neurarust", "_core", "include")],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                extra_compile_args=compile_args,
                depends=headers,
            )
        )
    return cythonize(
        extensions,
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
        nthreads=os.cpu_count() or 1,
    )


setup(ext_modules=core_extensions(), cmdclass={"build_ext": BuildExtWithOptionalOpenMP})
