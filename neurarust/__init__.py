"""NeuraRust: a deep-learning framework with PyTorch's API and a Cython core.

Example:
    >>> import neurarust as nr
    >>> x = nr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
"""
import os as _os

# One thread pool owns the cores: scipy's OpenBLAS is put on one thread
# (``_config._claim_blas``) and large BLAS products are split across our
# OpenMP threads instead.  With no second pool to starve, idle OpenMP threads
# may spin briefly between parallel regions, as torch's do: sleeping at once
# made every region pay a futex wake-up (a 2-thread batch-1 MLP ran 2.5x
# slower than spinning), while libgomp's default spin of 300000 rounds holds a
# core for long after the work is done.  libgomp reads this once, when the
# first compiled module loads, so it is set here, before that, and only when
# the user has not chosen a policy.
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "100000"

from . import backends as _backends  # noqa: F401,E402  (registers the device backends)
from ._config import get_num_threads, set_num_threads, show_config
from ._version import __version__
from .autograd import (Function, enable_grad, inference_mode, is_grad_enabled,
                       is_inference_mode_enabled, no_grad, set_grad_enabled)
from .device import device
from .dtypes import (bool_ as bool, dtype, float16, float32, float64, get_default_dtype, int8,
                     int16, int32, int64, promote_types, result_type, set_default_dtype, uint8)
from .errors import (AutogradError, DeviceConversionError, DeviceError, DTypeError,
                     IntegerDivisionByZeroError, NeuraRustError, OutOfMemoryError, ShapeError,
                     TensorIndexError)
from .ops.creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                           is_tensor, linspace, logspace, numel, ones, ones_like, scalar_tensor,
                           tensor, zeros, zeros_like)
from .ops.elementwise import (abs, absolute, add, bitwise_and, bitwise_not, bitwise_or,
                              bitwise_xor, ceil, clamp, clamp_max, clamp_min, clip, cos, div,
                              divide, elu, eq, erf, exp, expm1, fix, floor, floor_divide, fmod,
                              ge, gelu, greater, greater_equal, gt, isfinite, isinf, isnan, le,
                              leaky_relu, lerp, less, less_equal, log, log1p, log2, log10,
                              logical_and, logical_not, logical_or, logical_xor, lt, maximum,
                              minimum, mul, multiply, nan_to_num, ne, neg, negative, not_equal,
                              pow, reciprocal, relu, remainder, round, rsqrt, sigmoid, sign, silu,
                              sin, softplus, sqrt, square, sub, subtract, tan, tanh, true_divide,
                              trunc, where)
from .ops.indexing import (argsort, argwhere, cat, chunk, concat, concatenate, flip, fliplr,
                           flipud, gather, hstack, index_add, index_select, kthvalue,
                           masked_fill, masked_select, nonzero, repeat_interleave, roll, scatter,
                           scatter_add, scatter_reduce, sort, split, stack, take, tensor_split,
                           tile, topk, tril, triu, unbind, unique, vstack)
from .ops.linalg import (addmm, addmv, baddbmm, bmm, dot, einsum, ger, inner, matmul, mm, mv,
                         outer)
from .ops.random import (Generator, bernoulli, default_generator, get_rng_state, initial_seed,
                         manual_seed, multinomial, normal, rand, rand_like, randint,
                         randint_like, randn, randn_like, randperm, seed, set_rng_state)
from .ops.reduction import (all, amax, amin, any, argmax, argmin, count_nonzero, cumprod,
                            cumsum, log_softmax, logsumexp, max, mean, min, norm, prod, softmax,
                            std, std_mean, sum, var, var_mean)
from .ops.views import (as_strided, broadcast_tensors, broadcast_to, clone, contiguous, expand,
                        flatten, movedim, moveaxis, narrow, permute, ravel, reshape, select,
                        squeeze, swapaxes, swapdims, t, transpose, unflatten, unsqueeze, view)
from ._tensor import Size, Tensor
from . import _tensor_methods  # noqa: F401,E402  (binds ops as Tensor methods)
from . import autograd  # noqa: E402
from . import testing  # noqa: E402,F401  (torch.testing's counterpart: assert_close)
from . import cuda, nn, optim, utils  # noqa: E402,F401
from .serialization import (SerializationError, load, load_state_dict_from_safetensors,  # noqa: E402
                            save, save_safetensors)

float = float32  # noqa: A001 - torch aliases
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
uint8 = uint8

def broadcast_shapes(*shapes):
    """The shape that ``shapes`` broadcast to.

    Example:
        >>> import neurarust as nr
        >>> nr.broadcast_shapes((2, 1), (3,))
        neurarust.Size([2, 3])
    """
    from .ops._util import broadcast_shapes as _bs

    import numbers

    return Size(_bs("broadcast_shapes", *[(s,) if isinstance(s, numbers.Integral) else tuple(s) for s in shapes]))
