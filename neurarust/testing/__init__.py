"""Testing helpers: ``assert_close`` (torch.testing's semantics) and ``check_op`` (forward + backward).

Example:
    >>> import numpy as np
    >>> import neurarust as nr
    >>> from neurarust.testing import assert_close, check_op
    >>> assert_close(nr.tensor([0.1 + 0.2]), nr.tensor([0.3]))
    >>> check_op(lambda x: x.tanh(), np.tanh, lambda x: x.tanh(), [(3, 2)])
"""
from ._comparison import assert_close, default_tolerances, to_numpy
from ._op_check import VARIANTS, away_from_zero, check_op, devices_under_test, positive, torch_or_none, uniform
from ._opaque_device import OpaqueArray, OpaqueBackend, entered_device, opaque_device

__all__ = ["assert_close", "default_tolerances", "to_numpy", "check_op", "VARIANTS", "uniform",
           "positive", "away_from_zero", "torch_or_none", "devices_under_test", "opaque_device",
           "OpaqueBackend", "OpaqueArray", "entered_device"]
