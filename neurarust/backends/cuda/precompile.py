"""Compile every CUDA kernel module ahead of time, in parallel, into pycuda's cache.

The backend compiles a module the first time it is used, one ``nvcc`` call
each (a second or so).  On a fresh GPU machine the test suite would spend
minutes on that, serially; this fills pycuda's on-disk cache with every
module for the local GPU's architecture first, using all cores::

    python -m neurarust.backends.cuda.precompile -j 16
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Tuple

from . import codegen


def _compile_one(job: Tuple[str, tuple, str]) -> str:
    name, key, arch = job
    from pycuda.compiler import compile as nvcc_compile  # optional dependency

    try:
        # Same source and options as DeviceRuntime._compile, so SourceModule finds it in the cache.
        nvcc_compile(codegen.module_source(name, key), options=["-O3"], no_extern_c=True, arch=arch)
    except Exception as exc:  # report and go on: one broken module should not hide the others
        return f"{name}{key}: {exc}"
    return ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--arch", default=None, help="e.g. sm_90 (default: the current GPU's)")
    args = parser.parse_args(argv)
    arch = args.arch
    if arch is None:
        from .runtime import runtime_for

        major, minor = runtime_for(0).compute_capability
        arch = f"sm_{major}{minor}"
    jobs = [(fam.name, tuple(key), arch) for fam in codegen.all_families() for key in fam.keys()]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        errors = [e for e in pool.map(_compile_one, jobs, chunksize=4) if e]
    print(f"compiled {len(jobs) - len(errors)}/{len(jobs)} kernel modules for {arch} "
          f"in {time.perf_counter() - start:.1f} s")
    for e in errors:
        print("FAILED", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
