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
    from .cuda_stub import unavailable_cuda_backend

    return unavailable_cuda_backend(dev)


register_backend("cpu", _cpu_factory)
register_backend("cuda", _cuda_factory)
