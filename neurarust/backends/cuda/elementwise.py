"""Elementwise methods of the CUDA backend (kernels in ``kernels/elementwise.py``).

Each method checks dtypes like the CPU kernels (same exceptions and
messages), allocates its output, and picks a launch:

* ``contig``: output and every array input C-contiguous with the output's
  element count (one flat loop, 16-byte vector accesses when aligned);
* ``scalar`` (binary): one operand is a single element, passed by value when
  its host value is known (``scalar_array``, CPU 0-d tensors) or read once;
* ``strided``: anything else, through ``launch.strided_launch`` (broadcasting
  by zero strides); 0-d operands with a host value are still passed by value.

Integer divisors and exponents are checked before anything is written, as on
the CPU (``ZeroDivisionError``, ``ValueError``); that check waits for the GPU
only when the divisor is a device array.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .codegen import DTYPES, kernel_name
from .array import CUDAArray, broadcast_strides
from .kernels import elementwise as K
from .launch import strided_launch

__all__ = ["ElementwiseMethods", "needs_copy", "flat_like", "host_scalar", "value_arg"]

_INTEGRAL_OPS = ("bitwise_and", "bitwise_or", "bitwise_xor")
_DIVISION_OPS = ("floor_divide", "remainder", "fmod")
_SUPPORTED = "bool, int8, uint8, int16, int32, int64, float32, float64"


def host_scalar(x):
    """The value of a 0-d operand known on the host (numpy 0-d, or ``host_value``), else None.

    Example:
        >>> import numpy as np
        >>> host_scalar(np.asarray(2.5)), host_scalar(np.ones(3))
        (np.float64(2.5), None)
    """
    if isinstance(x, np.ndarray):
        return x[()] if x.ndim == 0 else None
    return x.host_value if x.ndim == 0 else None


def value_arg(value, dtype: str):
    """``value`` as the by-value kernel argument of ``dtype`` (see ``kernels.elementwise.VALUE_TYPE``).

    Example:
        >>> value_arg(True, "bool"), value_arg(0.5, "float32")
        (np.int64(1), np.float32(0.5))
    """
    fmt = K.VALUE_FORMAT[dtype]
    if value is None:
        value = 0
    if fmt == "f":
        return np.float32(value)
    if fmt == "d":
        return np.float64(value)
    return np.int64(int(value))


def flat_like(out: CUDAArray, x: CUDAArray) -> bool:
    """Whether ``x`` can be read with ``out``'s flat index.

    Broadcasting that keeps the element count only adds size-1 dims, so a
    C-contiguous ``x`` of ``out``'s size holds ``out``'s elements in order.

    Example:
        >>> from types import SimpleNamespace
        >>> mem = SimpleNamespace(ptr=0, nbytes=96, device_index=0)
        >>> out = CUDAArray(mem, (2, 3), (3, 1), 0, "float32")
        >>> flat_like(out, CUDAArray(mem, (1, 2, 3), (6, 3, 1), 0, "float32"))
        True
        >>> flat_like(out, CUDAArray(mem, (2, 3), (1, 2), 0, "float32"))  # transposed
        False
    """
    return x.size == out.size and x.is_c_contiguous()


def needs_copy(out: CUDAArray, x: CUDAArray) -> bool:
    """Whether ``x`` overlaps ``out`` other than element for element (then it is copied first).

    Reading and writing the same element in the same thread is safe, so an
    exact alias (in-place ops) needs no copy; any other overlap would race.

    Example:
        >>> from types import SimpleNamespace
        >>> mem = SimpleNamespace(ptr=0, nbytes=64, device_index=0)
        >>> x = CUDAArray(mem, (4, 4), (4, 1), 0, "float32")
        >>> needs_copy(x, x), needs_copy(x, CUDAArray(mem, (4, 4), (1, 4), 0, "float32"))
        (False, True)
    """
    if not isinstance(x, CUDAArray) or x.storage is not out.storage or x.size == 0 or out.size == 0:
        return False
    lo_o, hi_o = out.span()
    lo_x, hi_x = x.span()
    if hi_o * out.itemsize <= lo_x * x.itemsize or hi_x * x.itemsize <= lo_o * out.itemsize:
        return False
    if x.itemsize != out.itemsize or x.offset != out.offset:
        return True
    xs = broadcast_strides(x.shape, x.strides, out.shape)
    return any(n != 1 and s != t for n, s, t in zip(out.shape, xs, out.strides))


def _check_dtype(fname: str, role: str, x, allow: Sequence[str] = K.NUMERIC) -> str:
    name = np.dtype(x.dtype).name
    if name not in allow:
        raise TypeError(f"{fname}: unsupported dtype {x.dtype} for {role}; expected native-order {_SUPPORTED}")
    return name


def _binary_unsupported(op: str, dtype: str) -> str:
    if op == "sub" and dtype == "bool":
        return ("Subtraction, the `-` operator, with two bool tensors is not supported. "
                "Use the `^` or `logical_xor()` operator instead.")
    if op == "div":
        return (f"binary(div): true division needs a float dtype, got {dtype} "
                f"(promote integer inputs to float first)")
    if op in _INTEGRAL_OPS:
        return f"binary({op}): needs an integer or bool dtype, got {dtype}"
    return f"binary({op}): not supported for dtype {dtype}"


def _unary_unsupported(op: str, dtype: str) -> str:
    if op == "neg" and dtype == "bool":
        return ("Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    if op == "bitwise_not":
        return f"unary(bitwise_not): needs an integer or bool dtype, got {dtype}"
    return (f"unary({op}): needs a float dtype (float32 or float64), got {dtype}; "
            f"upcast integer inputs first")


def _out_shape(fname: str, shapes, out) -> tuple:
    shape = tuple(np.broadcast_shapes(*shapes))
    if out is not None and tuple(np.broadcast_shapes(shape, out.shape)) != tuple(out.shape):
        raise ValueError(f"{fname}: inputs of shapes {tuple(shapes)} do not broadcast to out of shape {out.shape}")
    return shape


class ElementwiseMethods:
    """copy/cast, fill and the elementwise ops of the backend protocol."""

    def _device_array(self, x, np_dtype=None) -> CUDAArray:
        """``x`` as an array on this device: 0-d host arrays (CPU scalars joining a CUDA op) are uploaded."""
        if isinstance(x, CUDAArray):
            return x
        host = np.asarray(x, np_dtype)
        if host.ndim == 0:
            return self.scalar_array(host[()], host.dtype)
        return self.from_numpy(host)

    def copy_(self, dst: CUDAArray, src) -> None:
        """Write ``src`` (broadcast to ``dst``'s shape, cast to its dtype) into ``dst``."""
        src = self._device_array(src)
        key = (dst.dtype.name, src.dtype.name)
        rt = self.rt
        strided_launch(rt, lambda layout, fmt: rt.function("copy", key + (layout,),
                                                           f"nr_copy_cast_{key[0]}_{key[1]}_{layout}", fmt),
                       dst.shape, [dst, src])

    def fill_(self, dst: CUDAArray, value) -> None:
        name = dst.dtype.name
        is_float = dst.dtype.kind == "f"
        arg = np.float64(value) if is_float else np.int64(int(value))
        fmt = "d" if is_float else "q"
        rt = self.rt
        strided_launch(rt, lambda layout, f: rt.function("fill", (name, layout),
                                                         f"nr_fill_value_{name}_{layout}", f),
                       dst.shape, [dst], extra=(arg,), extra_format=fmt)

    # ------------------------------------------------------------ launching
    def _unaliased(self, out: CUDAArray, x):
        return self.contiguous(x) if needs_copy(out, x) else x

    def _ew_launch(self, family: str, kind: str, op: str, dtype: str, out: CUDAArray, inputs,
                   extra=(), fmt: str = "", unread=(), vector: bool = False) -> None:
        """Run kernel ``kind``/``op`` over ``out``: the flat one when every read input allows it.

        ``unread`` are indices of inputs the kernel does not read (passed by
        value or absent); ``vector`` kernels handle 16 bytes per thread step.
        """
        n = out.size
        if n == 0:
            return
        rt = self.rt
        arrays = [out] + list(inputs)

        def get(layout, arg_format):
            key = (dtype, "flat" if layout == "contig" else "strided")
            return rt.function(family, key, kernel_name(kind, op, dtype, layout), arg_format)

        if out.is_c_contiguous() and all(k in unread or flat_like(out, x) for k, x in enumerate(inputs)):
            per_thread = 16 // max(a.itemsize for a in arrays) if vector else 1
            fn = get("contig", "P" * len(arrays) + fmt + "q")
            rt.launch(fn, -(-n // per_thread), *[a.ptr for a in arrays], *extra, np.int64(n))
            return
        strided_launch(rt, get, out.shape, arrays, extra, fmt)

    def _scan(self, check: str, dtype: str, b: CUDAArray) -> bool:
        """Whether any element of ``b`` is zero / negative (``check``: anyzero / anynegative).

        Waits for the GPU: the answer decides whether the op raises.
        """
        if b.size == 0:
            return False
        rt = self.rt
        flag = rt.alloc(4)
        rt.memset_zero(flag.ptr, 4)
        strided_launch(rt, lambda layout, f: rt.function(
            "ew_binary", (dtype, "flat" if layout == "contig" else "strided"),
            kernel_name("binary", check, dtype, layout), f), b.shape, [b], (flag.ptr,), "P")
        host = np.zeros(1, np.int32)
        rt.download(host, flag.ptr)
        return bool(host[0])

    def _check_operand_values(self, op: str, dtype: str, b, b_value) -> None:
        """The CPU kernels' divisor and exponent checks, before anything is written."""
        kind = K.kind_of(dtype)
        if kind not in "su":
            return
        if op in _DIVISION_OPS:
            zero = b_value == 0 if b_value is not None else self._scan("anyzero", dtype, b)
            if zero:
                raise ZeroDivisionError(f"{op}: integer division by zero")
        elif op == "pow" and kind == "s":
            negative = b_value < 0 if b_value is not None else self._scan("anynegative", dtype, b)
            if negative:
                raise ValueError("pow: integers to negative integer powers are not allowed")

    # ------------------------------------------------------------ elementwise
    def unary(self, op: str, a, p0: float = 0.0, p1: float = 0.0, out: Optional[CUDAArray] = None) -> CUDAArray:
        """``op(a)`` (p0/p1: softplus beta/threshold, leaky_relu slope, elu alpha); isnan-like ops give bool."""
        if op not in K.UNARY:
            raise ValueError(f"unary: unknown op {op!r}")
        fname = f"unary({op})"
        dtype = _check_dtype(fname, "a", a)
        want = np.dtype(np.bool_) if op in K.UNARY_BOOL else np.dtype(dtype)
        if out is not None and out.dtype != want:
            raise TypeError(f"{fname}: out must have dtype {want.name}, got {out.dtype}")
        if not K.unary_supports(op, dtype):
            raise TypeError(_unary_unsupported(op, dtype))
        if out is not None and tuple(out.shape) != tuple(a.shape):
            raise ValueError(f"{fname}: input of shape {a.shape} and out of shape {out.shape} "
                             f"must have the same shape")
        a = self._device_array(a)
        if out is None:
            out = self.empty(a.shape, want)
        a = self._unaliased(out, a)
        self._ew_launch("ew_unary", "unary", op, dtype, out, [a], (np.float64(p0), np.float64(p1)), "dd",
                        vector=True)
        return out

    def binary(self, op: str, a, b, out: Optional[CUDAArray] = None) -> CUDAArray:
        """``op(a, b)`` broadcast; a and b share a dtype; comparisons and logical ops give bool."""
        if op not in K.BINARY:
            raise ValueError(f"binary: unknown op {op!r}")
        fname = f"binary({op})"
        dtype = _check_dtype(fname, "a", a)
        if _check_dtype(fname, "b", b) != dtype:
            raise TypeError(f"{fname}: a and b must have the same dtype, got {a.dtype} and {b.dtype}")
        want = np.dtype(np.bool_) if op in K.BINARY_BOOL else np.dtype(dtype)
        if out is not None and out.dtype != want:
            raise TypeError(f"{fname}: out must have dtype {want.name}, got {out.dtype}")
        if not K.binary_supports(op, dtype):
            raise TypeError(_binary_unsupported(op, dtype))
        shape = _out_shape(fname, (a.shape, b.shape), out)
        va, vb = host_scalar(a), host_scalar(b)
        if vb is None:
            b = self._device_array(b)
        self._check_operand_values(op, dtype, b, vb)
        if out is None:
            out = self.empty(shape, want)
        if out.size == 0:
            return out
        if va is None:
            a = self._unaliased(out, self._device_array(a))
        if vb is None:
            b = self._unaliased(out, b)
        contiguous = out.is_c_contiguous()
        # One operand a single element, the other read with out's flat index: no layout needed.
        # side 0: the single element is a, 1: it is b.
        for side, (s, v, x) in enumerate(((a, va, b), (b, vb, a))):
            if contiguous and s.size == 1 and isinstance(x, CUDAArray) and flat_like(out, x):
                if isinstance(s, CUDAArray) and flat_like(out, s):
                    break  # both flat (one element each): the contig kernel
                fn = self.rt.function("ew_binary", (dtype, "flat"), kernel_name("binary", op, dtype, "scalar"),
                                      "PPP" + K.VALUE_FORMAT[dtype] + "iq")
                n = out.size
                per_thread = 16 // max(out.itemsize, x.itemsize)
                self.rt.launch(fn, -(-n // per_thread), out.ptr, x.ptr, 0 if v is not None else s.ptr,
                               value_arg(v, dtype), np.int32(side), np.int64(n))
                return out
        a, b = self._device_array(a), self._device_array(b)
        if contiguous and flat_like(out, a) and flat_like(out, b):
            self._ew_launch("ew_binary", "binary", op, dtype, out, [a, b], vector=True)
            return out
        by_value = (va is not None) | (vb is not None) << 1
        vf = K.VALUE_FORMAT[dtype]
        strided_launch(self.rt, lambda layout, f: self.rt.function(
            "ew_binary", (dtype, "strided"), kernel_name("binary", op, dtype, layout), f),
            out.shape, [out, a, b], (value_arg(va, dtype), value_arg(vb, dtype), np.int32(by_value)),
            vf + vf + "i")
        return out

    def where(self, cond, a, b) -> CUDAArray:
        """``cond ? a : b`` broadcast; cond is bool, a and b share a dtype (float16 included)."""
        if np.dtype(cond.dtype) != np.bool_:
            raise TypeError(f"where: cond must be bool, got {cond.dtype}")
        dtype = _check_dtype("where", "a", a, DTYPES)
        if np.dtype(b.dtype) != np.dtype(a.dtype):
            raise TypeError(f"where: a, b and out must share one dtype, got {a.dtype}, {b.dtype} and {a.dtype}")
        out = self.empty(_out_shape("where", (cond.shape, a.shape, b.shape), None), a.dtype)
        va, vb = host_scalar(a), host_scalar(b)
        by_value = (va is not None) | (vb is not None) << 1
        inputs = [self._device_array(x) for x in (cond, a, b)]
        vf = K.VALUE_FORMAT[dtype]
        self._ew_launch("ew_select", "select", "where", dtype, out, inputs,
                        (value_arg(va, dtype), value_arg(vb, dtype), np.int32(by_value)), vf + vf + "i",
                        unread=[k for k, v in ((1, va), (2, vb)) if v is not None])
        return out

    def clamp(self, a, lo, hi, out: Optional[CUDAArray] = None) -> CUDAArray:
        """``min(max(a, lo), hi)``; lo/hi arrays of a's dtype or None; NaN propagates, lo > hi gives hi."""
        dtype = _check_dtype("clamp", "a", a)
        if out is not None and out.dtype != a.dtype:
            raise TypeError(f"clamp: out must have dtype {a.dtype}, got {out.dtype}")
        if lo is None and hi is None:
            raise ValueError("clamp: at least one of lo or hi must not be None")
        for role, bound in (("lo", lo), ("hi", hi)):
            if bound is not None and _check_dtype("clamp", role, bound) != dtype:
                raise TypeError(f"clamp: {role} must have dtype {a.dtype}, got {bound.dtype}")
        shape = _out_shape("clamp", [a.shape] + [x.shape for x in (lo, hi) if x is not None], out)
        a = self._device_array(a)
        if out is None:
            out = self.empty(shape, a.dtype)
        a = self._unaliased(out, a)
        mode, values, inputs, unread = 0, [], [a], []
        for k, bound in enumerate((lo, hi)):
            v = None if bound is None else host_scalar(bound)
            if bound is None:
                inputs.append(a)  # placeholder pointer, never read
                unread.append(k + 1)
            elif v is not None:
                mode |= 2 << (2 * k)
                inputs.append(self._device_array(bound))
                unread.append(k + 1)
            else:
                mode |= 1 << (2 * k)
                inputs.append(self._unaliased(out, bound))
            values.append(value_arg(v, dtype))
        vf = K.VALUE_FORMAT[dtype]
        self._ew_launch("ew_select", "select", "clamp", dtype, out, inputs, (*values, np.int32(mode)),
                        vf + vf + "i", unread=unread)
        return out

    def lerp(self, start, end, weight, out: Optional[CUDAArray] = None) -> CUDAArray:
        """``start + weight * (end - start)`` (torch's two-sided formula), float dtypes."""
        dtype = _check_dtype("lerp", "start", start)
        if K.kind_of(dtype) != "f":
            raise TypeError(f"lerp: needs a float dtype, got {start.dtype}")
        if any(np.dtype(x.dtype) != np.dtype(dtype) for x in (end, weight)) or (
                out is not None and out.dtype != np.dtype(dtype)):
            raise TypeError(f"lerp: start, end, weight and out must share one dtype, got {start.dtype}, "
                            f"{end.dtype}, {weight.dtype} and {dtype if out is None else out.dtype}")
        shape = _out_shape("lerp", (start.shape, end.shape, weight.shape), out)
        if out is None:
            out = self.empty(shape, dtype)
        values = [host_scalar(x) for x in (start, end, weight)]
        inputs = [self._unaliased(out, self._device_array(x)) for x in (start, end, weight)]
        by_value = sum(1 << k for k, v in enumerate(values) if v is not None)
        vf = K.VALUE_FORMAT[dtype]
        self._ew_launch("ew_select", "select", "lerp", dtype, out, inputs,
                        (*[value_arg(v, dtype) for v in values], np.int32(by_value)), vf * 3 + "i",
                        unread=[k for k, v in enumerate(values) if v is not None])
        return out

    def nan_to_num(self, a, nan: float, posinf: float, neginf: float) -> CUDAArray:
        """``a`` with NaN, +inf and -inf replaced (float dtypes)."""
        dtype = _check_dtype("nan_to_num", "a", a)
        if K.kind_of(dtype) != "f":
            raise TypeError(f"nan_to_num: needs a float dtype, got {a.dtype}")
        a = self._device_array(a)
        out = self.empty(a.shape, a.dtype)
        self._ew_launch("ew_select", "select", "nan_to_num", dtype, out, [a],
                        (np.float64(nan), np.float64(posinf), np.float64(neginf)), "ddd")
        return out
