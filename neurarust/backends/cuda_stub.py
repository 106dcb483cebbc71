"""What ``device('cuda')`` gives until the CUDA backend is built.

It explains *why* CUDA cannot be used (pycuda missing, no driver, or no
device) instead of failing somewhere deep inside an op.
"""
from ..errors import DeviceError


def cuda_unavailable_reason() -> str:
    try:
        import pycuda.driver as driver  # noqa: F401  (optional dependency)
    except ImportError:
        return "pycuda is not installed (pip install 'neurarust[cuda]')"
    except OSError as exc:  # pragma: no cover - needs a broken driver install
        return f"the CUDA driver could not be loaded ({exc})"
    try:  # pragma: no cover - needs pycuda
        driver.init()
        if driver.Device.count() == 0:
            return "no CUDA device was found"
    except Exception as exc:  # pragma: no cover - needs pycuda
        return f"the CUDA driver could not be initialised ({exc})"
    return "the CUDA backend of NeuraRust is not implemented yet"  # pragma: no cover


def unavailable_cuda_backend(dev):
    raise DeviceError(f"device '{dev}' is not available: {cuda_unavailable_reason()}")
