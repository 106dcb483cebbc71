"""Every CUDA kernel template, rendered for every key the backend can ask for, compiles with nvcc.

This runs on machines without a GPU (CI): a kernel that does not compile
fails here instead of on a user's GPU.  Each family is compiled as one
translation unit for sm_90 (Hopper) and sm_80 (Ampere, the older arch); the
families compile in parallel.  Skips when ``nvcc`` is absent.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from neurarust.backends.cuda import codegen

NVCC = shutil.which("nvcc")
ARCHS = ("90", "80")
FAMILIES = [fam.name for fam in codegen.all_families()]

pytestmark = pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")


def _compile(name: str, workdir: str) -> str:
    """nvcc's complaint about family ``name``, or '' when it compiles."""
    src = os.path.join(workdir, f"{name}.cu")
    with open(src, "w") as f:
        f.write(codegen.unit_source(codegen.family(name)))
    cmd = [NVCC, "-fatbin", "-O3", "-o", os.path.join(workdir, f"{name}.fatbin"), src]
    for arch in ARCHS:
        cmd += ["-gencode", f"arch=compute_{arch},code=sm_{arch}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return f"nvcc failed for family {name!r} ({' '.join(cmd)}):\n{proc.stderr[-4000:]}"
    return ""


@pytest.fixture(scope="module")
def compile_errors():
    with tempfile.TemporaryDirectory() as workdir:
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            results = dict(zip(FAMILIES, pool.map(lambda n: _compile(n, workdir), FAMILIES)))
    return results


@pytest.mark.parametrize("family", FAMILIES)
def test_family_compiles(family, compile_errors):
    assert compile_errors[family] == ""


def test_every_family_has_keys_and_unique_kernel_names():
    import re

    for fam in codegen.all_families():
        keys = list(fam.keys())
        assert keys, f"family {fam.name} lists no keys"
        assert len(set(map(tuple, keys))) == len(keys), f"family {fam.name} lists a key twice"
        names = re.findall(r'extern "C" __global__ void (\w+)\(', codegen.unit_source(fam))
        assert names, f"family {fam.name} renders no kernel"
        assert len(names) == len(set(names)), f"family {fam.name}: a kernel name repeats across keys"
