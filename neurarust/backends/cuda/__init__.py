"""The CUDA backend (optional: needs pycuda, an NVIDIA driver and a GPU).

Importing this package never touches the driver; ``runtime`` loads pycuda
on first use and :func:`unavailable_reason` says why CUDA cannot be used.
"""
from .runtime import device_count, unavailable_reason

__all__ = ["unavailable_reason", "device_count", "create_backend"]


def create_backend(dev):
    """The backend for ``dev`` (raises ``DeviceError`` naming why CUDA is unavailable)."""
    from .backend import CUDABackend

    return CUDABackend(dev)
