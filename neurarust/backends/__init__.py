"""Backends: the only code that touches device memory.

A backend is an object with the methods listed in ``docs/architecture.rst``
(memory, layout, elementwise, reductions, linear algebra, indexing, random).
``neurarust.device.backend_for`` picks one per device; everything above it is
device-agnostic.
"""
from ..device import register_backend


def _cpu_factory(dev):
    from .cpu import CPUBackend

    return CPUBackend(dev)


def _cuda_factory(dev):
    from .cuda import create_backend  # pycuda is imported lazily, on first use of a CUDA device

    return create_backend(dev)


def _cuda_current_device() -> int:
    from .cuda.runtime import current_device

    return current_device()


def _cuda_manual_seed(seed: int) -> None:
    from .cuda.runtime import manual_seed_all

    manual_seed_all(seed)


register_backend("cpu", _cpu_factory)
register_backend("cuda", _cuda_factory, default_index=_cuda_current_device, manual_seed=_cuda_manual_seed)
