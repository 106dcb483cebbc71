"""NeuraRust benchmarks against torch, NumPy and scipy: ``python -m benchmarks`` (see README.md).

Not part of the test suite; importing this package imports no numerical library.
"""
