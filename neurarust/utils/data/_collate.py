"""``default_collate`` and ``default_convert``: samples -> batches, as in ``torch.utils.data``.

Example:
    >>> from neurarust.utils.data import default_collate
    >>> default_collate([(1, 2.0, "a"), (3, 4.0, "b")])
    [tensor([1, 3]), tensor([2., 4.], dtype=neurarust.float64), ('a', 'b')]
"""
from __future__ import annotations

import collections.abc
from typing import Any, Callable, List, Optional

import numpy as np

from ..._core.tensor_base import TensorBase
from ...dtypes import float64
from ...ops.creation import as_tensor, from_numpy, tensor
from ...ops.indexing import stack

__all__ = ["default_collate", "default_convert"]

# In a worker process, an allocator that places the stacked arrays directly in
# shared memory (shape, numpy dtype) -> ndarray; None in the main process.
# The batch then reaches the main process without another copy.
_alloc: Optional[Callable[[tuple, np.dtype], np.ndarray]] = None

_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        "found {}")


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _stack_numpy(arrays: List[np.ndarray]) -> np.ndarray:
    first = arrays[0]
    for a in arrays:
        if a.shape != first.shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(first.shape)} "
                               f"at entry 0 and {list(a.shape)} at another entry")
    dtype = np.result_type(*arrays) if any(a.dtype != first.dtype for a in arrays) else first.dtype
    shape = (len(arrays),) + first.shape
    out = _alloc(shape, dtype) if _alloc is not None else np.empty(shape, dtype)
    return np.stack(arrays, out=out)


def _collate_tensors(batch: list):
    # numpy's stack is ~100x faster than a per-tensor autograd-aware stack for
    # many small CPU samples; tensors that need autograd keep the graph.
    if all(t.is_cpu and not t.requires_grad for t in batch):
        return from_numpy(_stack_numpy([t.numpy() for t in batch]))
    return stack(batch, 0)


def default_collate(batch: list) -> Any:
    """Merge a list of samples into a batch, recursively.

    Tensors and numpy arrays are stacked along a new first dimension (numpy
    arrays become tensors); Python ints become an int64 tensor, floats a
    float64 tensor, bools a bool tensor; strings and bytes are returned as
    they are; dicts, namedtuples and sequences are collated field by field
    (tuples come back as lists, as in torch).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.utils.data import default_collate
        >>> b = default_collate([{"x": nr.zeros(2), "y": 1}, {"x": nr.ones(2), "y": 0}])
        >>> b["x"].shape, b["y"]
        (neurarust.Size([2, 2]), tensor([1, 0]))
    """
    elem = batch[0]
    if isinstance(elem, TensorBase):
        return _collate_tensors(batch)
    elem_type = type(elem)
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_", "bytes_"):
        if isinstance(elem, np.ndarray):
            if elem.dtype.kind in "USO":
                raise TypeError(_ERR.format(elem.dtype))
            return from_numpy(_stack_numpy([np.asarray(a) for a in batch]))
        if elem.shape == ():  # numpy scalars keep their dtype
            if np.asarray(elem).dtype.kind in "USO":
                raise TypeError(_ERR.format(np.asarray(elem).dtype))
            return as_tensor(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, int):  # bool is an int: a list of bools makes a bool tensor
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return elem_type(out)
        except TypeError:
            return out
    if _is_namedtuple(elem):
        return elem_type(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        try:
            return elem_type(columns)
        except TypeError:
            return columns
    raise TypeError(_ERR.format(elem_type))


def default_convert(data: Any) -> Any:
    """Convert numpy arrays (and numpy scalars) to tensors inside ``data``, without batching.

    This is the ``collate_fn`` of a ``DataLoader`` with ``batch_size=None``.

    Example:
        >>> import numpy as np
        >>> from neurarust.utils.data import default_convert
        >>> default_convert({"a": np.array([1, 2]), "b": (np.float32(1.5), "s")})
        {'a': tensor([1, 2]), 'b': [tensor(1.5000), 's']}
    """
    if isinstance(data, TensorBase):
        return data
    t = type(data)
    if t.__module__ == "numpy" and isinstance(data, (np.ndarray, np.generic)):
        if np.asarray(data).dtype.kind in "USO":
            return data
        return as_tensor(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        out = {k: default_convert(v) for k, v in data.items()}
        try:
            return t(out)
        except TypeError:
            return out
    if _is_namedtuple(data):
        return t(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        items = [default_convert(d) for d in data]
        try:
            return t(items)
        except TypeError:
            return items
    return data
