#!/usr/bin/env bash
# Collect, on a machine with internet, the files tools/gpu_check.sh needs on a GPU machine without it:
# the pycuda source and the pure-Python/cp312 wheels it and the examples need, in .gpu/ (git-ignored).
set -eu
mkdir -p .gpu
url=$(curl -s https://pypi.org/simple/pycuda/ | grep -o 'https://[^"]*pycuda-2026\.1\.tar\.gz' | head -1)
curl -sL -o .gpu/pycuda-2026.1.tar.gz "$url"
pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 -d .gpu \
  pytools platformdirs siphash24 mako markupsafe typing_extensions scikit-learn joblib threadpoolctl
ls -la .gpu
