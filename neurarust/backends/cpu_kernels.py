"""The CPU kernel table: the Cython ``_core`` kernels under one set of names.

``neurarust.backends.cpu`` calls kernels only through this module, so a
kernel can be swapped (or instrumented) in one place.
"""
from .._core.elementwise import clamp, copy, lerp, nan_to_num, where  # noqa: F401
from .._core.index import (gather, index_add, index_select, masked_fill, masked_select,  # noqa: F401
                           nonzero, scatter, take)
from .._core.linalg import matmul  # noqa: F401
from .._core.reduce import arg_reduce, cumulative, logsumexp, reduce, softmax, var  # noqa: F401
