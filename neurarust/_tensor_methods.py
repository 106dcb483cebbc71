"""Binds the op functions as ``Tensor`` methods and Python operators.

One table, so ``x.exp()``, ``nr.exp(x)`` and ``x.exp_()`` share one code path.
"""
from __future__ import annotations

import numpy as np

from ._core.tensor_base import (TensorBase, register_fast_paths, tensor_add, tensor_div, tensor_eq,
                                tensor_ge, tensor_gt, tensor_le, tensor_lt, tensor_mul, tensor_ne,
                                tensor_sub)
from .autograd.grad_mode import GradMode
from .dtypes import bool_, float16
from .errors import DTypeError
from .ops import creation, elementwise as ew, indexing, linalg, random, reduction as red, views
from .ops._util import backend
from ._tensor import Tensor

_METHODS = {
    # elementwise
    "add": ew.add, "sub": ew.sub, "subtract": ew.sub, "mul": ew.mul, "multiply": ew.mul,
    "div": ew.div, "divide": ew.div, "true_divide": ew.div, "floor_divide": ew.floor_divide,
    "remainder": ew.remainder, "fmod": ew.fmod, "pow": ew.pow, "maximum": ew.maximum,
    "minimum": ew.minimum, "eq": ew.eq, "ne": ew.ne, "lt": ew.lt, "le": ew.le, "gt": ew.gt,
    "ge": ew.ge, "greater": ew.gt, "greater_equal": ew.ge, "less": ew.lt, "less_equal": ew.le,
    "not_equal": ew.ne, "logical_and": ew.logical_and, "logical_or": ew.logical_or,
    "logical_xor": ew.logical_xor, "logical_not": ew.logical_not, "bitwise_and": ew.bitwise_and,
    "bitwise_or": ew.bitwise_or, "bitwise_xor": ew.bitwise_xor, "bitwise_not": ew.bitwise_not,
    "isnan": ew.isnan, "isinf": ew.isinf, "isfinite": ew.isfinite, "where": ew.where_method,
    "clamp": ew.clamp, "clip": ew.clamp, "clamp_min": ew.clamp_min, "clamp_max": ew.clamp_max,
    "lerp": ew.lerp, "nan_to_num": ew.nan_to_num, "round": ew.round, "softplus": ew.softplus,
    "gelu": ew.gelu, "leaky_relu": ew.leaky_relu, "elu": ew.elu,
    # reductions
    "sum": red.sum, "mean": red.mean, "prod": red.prod, "max": red.max, "min": red.min,
    "amax": red.amax, "amin": red.amin, "argmax": red.argmax, "argmin": red.argmin, "var": red.var,
    "std": red.std, "logsumexp": red.logsumexp, "norm": red.norm, "all": red.all, "any": red.any,
    "cumsum": red.cumsum, "cumprod": red.cumprod, "softmax": red.softmax,
    "log_softmax": red.log_softmax, "count_nonzero": red.count_nonzero,
    # linear algebra
    "matmul": linalg.matmul, "mm": linalg.mm, "bmm": linalg.bmm, "mv": linalg.mv,
    "dot": linalg.dot, "inner": linalg.dot, "outer": linalg.outer, "addmm": linalg.addmm,
    # views and copies
    "view": views.view, "view_as": views.view_as, "reshape": views.reshape,
    "reshape_as": views.reshape_as, "permute": views.permute, "transpose": views.transpose,
    "swapaxes": views.transpose, "swapdims": views.transpose, "t": views.t,
    "movedim": views.movedim, "moveaxis": views.movedim, "squeeze": views.squeeze,
    "unsqueeze": views.unsqueeze, "expand": views.expand, "expand_as": views.expand_as,
    "broadcast_to": views.broadcast_to, "narrow": views.narrow, "select": views.select,
    "flatten": views.flatten, "ravel": views.ravel, "unflatten": views.unflatten,
    "unfold": views.unfold, "as_strided": views.as_strided, "clone": views.clone,
    "contiguous": views.contiguous,
    # indexing, joining, sorting
    "index_select": indexing.index_select, "gather": indexing.gather, "scatter": indexing.scatter,
    "scatter_add": indexing.scatter_add, "scatter_reduce": indexing.scatter_reduce,
    "index_add": indexing.index_add, "masked_fill": indexing.masked_fill,
    "masked_select": indexing.masked_select, "take": indexing.take, "nonzero": indexing.nonzero,
    "argwhere": indexing.argwhere, "split": indexing.split, "chunk": indexing.chunk,
    "tensor_split": indexing.tensor_split, "unbind": indexing.unbind, "flip": indexing.flip,
    "fliplr": indexing.fliplr, "flipud": indexing.flipud, "roll": indexing.roll,
    "repeat": indexing.repeat, "tile": indexing.tile,
    "repeat_interleave": indexing.repeat_interleave, "tril": indexing.tril,
    "triu": indexing.triu, "sort": indexing.sort, "argsort": indexing.argsort,
    "topk": indexing.topk, "kthvalue": indexing.kthvalue, "unique": indexing.unique,
}
for _name in ew.UNARY_FUNCTIONS:
    if _name not in _METHODS and _name not in ("gelu", "gelu_tanh", "softplus", "leaky_relu", "elu"):
        _METHODS[_name] = getattr(ew, _name)
_METHODS.update({"negative": ew.neg, "absolute": ew.abs, "fix": ew.trunc, "arctan": None})
del _METHODS["arctan"]

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)


# ------------------------------------------------------------ in-place ops
def _inplace_unary(fn):
    def method(self, *args, **kwargs):
        return ew.copy_inplace(self, fn(self, *args, **kwargs))

    return method


_INPLACE_UNARY = ["neg", "abs", "sign", "square", "reciprocal", "exp", "expm1", "log", "log1p",
                  "log2", "log10", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu",
                  "erf", "floor", "ceil", "round", "trunc", "clamp", "clip", "clamp_min",
                  "clamp_max", "nan_to_num", "lerp", "masked_fill", "scatter", "scatter_add",
                  "index_add", "where", "softplus", "leaky_relu", "elu", "gelu", "tril", "triu",
                  "logical_not", "bitwise_not"]
for _name in _INPLACE_UNARY:
    setattr(Tensor, _name + "_", _inplace_unary(_METHODS[_name]))


def _inplace_binary(op):
    def method(self, other, **kwargs):
        return ew.inplace_binary(op, self, other, **kwargs)

    method.__name__ = op + "_"
    return method


_INPLACE_BINARY = ["add", "sub", "mul", "div", "pow", "remainder", "fmod", "floor_divide",
                   "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor",
                   "logical_and", "logical_or", "logical_xor", "eq", "ne", "lt", "le", "gt", "ge"]
for _name in _INPLACE_BINARY:
    setattr(Tensor, _name + "_", _inplace_binary(_name))
Tensor.subtract_, Tensor.multiply_, Tensor.divide_ = Tensor.sub_, Tensor.mul_, Tensor.div_


def fill_(self, value):
    """Fill with ``value`` in place.

    Example:
        >>> import neurarust as nr
        >>> nr.zeros(2).fill_(3)
        tensor([3., 3.])
    """
    if isinstance(value, TensorBase):
        if value.ndim:
            raise ValueError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions.")
        if GradMode.enabled and (self._requires_grad or value._requires_grad):
            return ew.copy_inplace(self, value.to(self._dtype).expand(tuple(self.shape)))
        value = value.item()
    if GradMode.enabled and self._requires_grad:
        return ew.copy_inplace(self, creation.full_like(self, value))
    b = backend(self)
    b.copy_(self._data, b.scalar_array(value, self._dtype.numpy))
    self._version_counter.bump()
    return self


def zero_(self):
    """Fill with zeros in place.

    Example:
        >>> import neurarust as nr
        >>> nr.ones(2).zero_()
        tensor([0., 0.])
    """
    return fill_(self, 0)


def copy_(self, src, non_blocking: bool = False):
    """Copy ``src`` (broadcast, any dtype or device) into this tensor.

    Example:
        >>> import neurarust as nr
        >>> nr.zeros(2, 2).copy_(nr.tensor([1, 2]))
        tensor([[1., 2.],
                [1., 2.]])
    """
    if not isinstance(src, TensorBase):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    if GradMode.enabled and (self._requires_grad or src._requires_grad):
        return ew.copy_inplace(self, src.to(self._dtype, self._device).expand(tuple(self.shape)))
    src = src.to(device=self._device)
    views.expand(src, tuple(self.shape))  # validates broadcasting with a clear error
    backend(self).copy_(self._data, src._data)
    self._version_counter.bump()
    return self


def _random_fill(kind):
    def method(self, *args, generator=None):
        if kind == "uniform_":
            low, high = (args + (0.0, 1.0)[len(args):])[:2]
            values = random.rand(tuple(self.shape), generator=generator, dtype=self._dtype, device=self._device) * (high - low) + low
        elif kind == "normal_":
            mean, std = (args + (0.0, 1.0)[len(args):])[:2]
            values = random.randn(tuple(self.shape), generator=generator, dtype=self._dtype, device=self._device) * std + mean
        elif kind == "bernoulli_":
            p = args[0] if args else 0.5
            values = random.bernoulli(creation.full_like(self, p, dtype=self._dtype if self._dtype.is_floating_point else None), generator=generator)
        elif kind == "random_":
            low, high = (0, args[0]) if len(args) == 1 else (args if args else (0, 2 ** 24))
            values = random.randint(low, high, tuple(self.shape), generator=generator, device=self._device)
        else:  # exponential_
            lambd = args[0] if args else 1.0
            u = random.rand(tuple(self.shape), generator=generator, dtype=self._dtype, device=self._device)
            values = -(1 - u).log() / lambd
        with _NoGrad():
            return copy_(self, values)

    method.__name__ = kind
    return method


class _NoGrad:
    def __enter__(self):
        self.prev = GradMode.enabled
        GradMode.enabled = False

    def __exit__(self, *exc):
        GradMode.enabled = self.prev


Tensor.fill_ = fill_
Tensor.zero_ = zero_
Tensor.copy_ = copy_
for _kind in ("uniform_", "normal_", "bernoulli_", "random_", "exponential_"):
    setattr(Tensor, _kind, _random_fill(_kind))


# --------------------------------------------------------------- operators
def _is_operand(x):
    return isinstance(x, (TensorBase, bool, int, float, np.number, np.bool_))


def _binop(fn, reflected=False):
    def op(self, other):
        if not _is_operand(other):
            return NotImplemented
        return fn(other, self) if reflected else fn(self, other)

    return op


def _commutative(fn):
    def op(self, other):
        if not _is_operand(other):
            return NotImplemented
        return fn(self, other)

    return op


Tensor.__add__ = tensor_add
Tensor.__radd__ = tensor_add
Tensor.__sub__ = tensor_sub
Tensor.__rsub__ = _binop(lambda a, b: ew.Sub.apply(a, b, 1), reflected=True)
Tensor.__mul__ = tensor_mul
Tensor.__rmul__ = tensor_mul
Tensor.__truediv__ = tensor_div
Tensor.__rtruediv__ = _binop(lambda a, b: ew.Div.apply(a, b), reflected=True)
Tensor.__floordiv__ = _binop(ew.floor_divide)
Tensor.__rfloordiv__ = _binop(lambda a, b: ew.RoundingDiv.apply(a, b, "floor"), reflected=True)
Tensor.__mod__ = _binop(ew.remainder)
Tensor.__rmod__ = _binop(lambda a, b: ew.Remainder.apply(a, b), reflected=True)
Tensor.__pow__ = _binop(ew.pow)
Tensor.__rpow__ = _binop(lambda a, b: ew.Pow.apply(a, b), reflected=True)
Tensor.__matmul__ = lambda self, other: linalg.matmul(self, other) if isinstance(other, TensorBase) else NotImplemented
Tensor.__rmatmul__ = lambda self, other: linalg.matmul(other, self) if isinstance(other, TensorBase) else NotImplemented
Tensor.__and__ = _binop(ew.bitwise_and)
Tensor.__rand__ = _commutative(ew.bitwise_and)
Tensor.__or__ = _binop(ew.bitwise_or)
Tensor.__ror__ = _commutative(ew.bitwise_or)
Tensor.__xor__ = _binop(ew.bitwise_xor)
Tensor.__rxor__ = _commutative(ew.bitwise_xor)
Tensor.__lt__ = tensor_lt
Tensor.__le__ = tensor_le
Tensor.__gt__ = tensor_gt
Tensor.__ge__ = tensor_ge
Tensor.__eq__ = tensor_eq
Tensor.__ne__ = tensor_ne
# The operators check operand types in Cython, so their slow path can enter the
# autograd Functions directly (the public functions' argument checks are redundant there).
register_fast_paths(Tensor, bool_, float16, {
    "add": ew.Add.apply, "sub": ew.Sub.apply, "mul": ew.Mul.apply, "div": ew.Div.apply,
    "eq": ew.eq, "ne": ew.ne, "lt": ew.lt, "le": ew.le, "gt": ew.gt, "ge": ew.ge,
})
Tensor.__neg__ = lambda self: ew.neg(self)
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = lambda self: ew.abs(self)


def _invert(self):
    if self._dtype is bool_:
        return ew.logical_not(self)
    if self._dtype.is_floating_point:
        raise DTypeError(f"~ (bitwise_not) is only supported for integer and bool tensors, got {self._dtype}")
    return ew.bitwise_not(self)


Tensor.__invert__ = _invert


def _inplace_op(op):
    def method(self, other):
        if not _is_operand(other):
            return NotImplemented
        return ew.inplace_binary(op, self, other)

    return method


for _op, _dunder in (("add", "__iadd__"), ("sub", "__isub__"), ("mul", "__imul__"),
                     ("div", "__itruediv__"), ("floor_divide", "__ifloordiv__"),
                     ("remainder", "__imod__"), ("pow", "__ipow__"), ("bitwise_and", "__iand__"),
                     ("bitwise_or", "__ior__"), ("bitwise_xor", "__ixor__")):
    setattr(Tensor, _dunder, _inplace_op(_op))


def _imatmul(self, other):
    return ew.copy_inplace(self, linalg.matmul(self, other))


Tensor.__imatmul__ = _imatmul
Tensor.__getitem__ = indexing.getitem
Tensor.__setitem__ = indexing.setitem

Tensor.T = property(views.full_T, doc="All dims reversed (a view).")
Tensor.mT = property(views.adjoint_mT, doc="The last two dims swapped (a view).")
Tensor.H = property(lambda self: views.t(self), doc="Transpose of a matrix (real tensors).")
Tensor.mH = Tensor.mT
