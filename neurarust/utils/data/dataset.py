"""Datasets: map-style (``__getitem__``/``__len__``) and iterable (``__iter__``), as in torch.

Example:
    >>> import neurarust as nr
    >>> from neurarust.utils.data import TensorDataset
    >>> ds = TensorDataset(nr.arange(6).reshape(3, 2), nr.tensor([0, 1, 0]))
    >>> len(ds), ds[1]
    (3, (tensor([2, 3]), tensor(1)))
"""
from __future__ import annotations

import bisect
import itertools
import math
import warnings
from typing import Generic, Iterable, Iterator, List, Optional, Sequence, TypeVar, Union

import numpy as np

from ...ops.creation import from_numpy
from ...ops.random import Generator, default_generator, randperm

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "ChainDataset", "StackDataset", "random_split"]

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """Base class of map-style datasets: subclasses define ``__getitem__`` (and usually ``__len__``).

    ``a + b`` concatenates two datasets into a :class:`ConcatDataset`.

    Example:
        >>> from neurarust.utils.data import Dataset
        >>> class Squares(Dataset):
        ...     def __len__(self): return 4
        ...     def __getitem__(self, i): return i * i
        >>> ds = Squares() + Squares()
        >>> len(ds), ds[5]
        (8, 1)
    """

    def __getitem__(self, index) -> T_co:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """Base class of datasets that are streams: subclasses define ``__iter__``.

    With worker processes every worker iterates its own copy; use
    :func:`~neurarust.utils.data.get_worker_info` in ``__iter__`` to shard.

    Example:
        >>> from neurarust.utils.data import IterableDataset
        >>> class Count(IterableDataset):
        ...     def __iter__(self): return iter(range(3))
        >>> list(Count() + Count())
        [0, 1, 2, 0, 1, 2]
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other: Dataset) -> "ChainDataset":  # type: ignore[override]
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are ``tuple(t[i] for t in tensors)``; all tensors share their first dimension.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.utils.data import TensorDataset
        >>> ds = TensorDataset(nr.tensor([[1., 2.], [3., 4.]]), nr.tensor([7, 8]))
        >>> ds[0]
        (tensor([1., 2.]), tensor(7))
    """

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise ValueError("TensorDataset(): expected at least one tensor")
        n = tensors[0].size(0)
        if any(t.size(0) != n for t in tensors):
            raise ValueError("Size mismatch between tensors: TensorDataset() expects every tensor "
                             f"to have the same first dimension, got {[tuple(t.shape) for t in tensors]}")
        self.tensors = tuple(tensors)
        self._np = None

    def _numpy_views(self):
        # Integer indexing of a CPU tensor through its numpy view costs ~3 µs
        # against ~25 µs through the generic view machinery; tensors that need
        # autograd (or live on another device) keep the generic path.
        if self._np is None:
            ok = all(t.is_cpu and not t.requires_grad for t in self.tensors)
            self._np = tuple(t.numpy() for t in self.tensors) if ok else ()
        return self._np

    def __getitem__(self, index):
        views = self._numpy_views()
        if views and isinstance(index, (int, np.integer)):
            out = []
            for a in views:
                row = a[index]
                out.append(from_numpy(row) if isinstance(row, np.ndarray) else from_numpy(np.asarray(row)))
            return tuple(out)
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].size(0)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_np"] = None
        return state


class StackDataset(Dataset):
    """Zips datasets of equal length: a tuple (positional) or a dict (keyword) per sample.

    Example:
        >>> from neurarust.utils.data import StackDataset
        >>> StackDataset(image=[10, 11], label=[0, 1])[1]
        {'image': 11, 'label': 1}
    """

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("StackDataset(): supported either tuple-like (positional) or dict-like "
                             "(keyword) input, but both were given")
        datasets = args or tuple(kwargs.values())
        if not datasets:
            raise ValueError("StackDataset(): at least one dataset should be passed")
        self._length = len(datasets[0])  # type: ignore[arg-type]
        if any(len(d) != self._length for d in datasets):  # type: ignore[arg-type]
            raise ValueError("Size mismatch between datasets: StackDataset() expects equal lengths")
        self.datasets: Union[tuple, dict] = args if args else dict(kwargs)

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list):
        # Datasets that fetch many samples at once (``__getitems__``) keep that speed-up.
        if isinstance(self.datasets, dict):
            cols = {k: _get_many(d, indices) for k, d in self.datasets.items()}
            return [{k: cols[k][i] for k in cols} for i in range(len(indices))]
        cols = [_get_many(d, indices) for d in self.datasets]
        return [tuple(c[i] for c in cols) for i in range(len(indices))]

    def __len__(self) -> int:
        return self._length


def _get_many(dataset, indices):
    getitems = getattr(dataset, "__getitems__", None)
    if getitems is not None:
        out = getitems(indices)
        if len(out) != len(indices):
            raise ValueError(f"__getitems__ returned {len(out)} samples for {len(indices)} indices")
        return out
    return [dataset[i] for i in indices]


class ConcatDataset(Dataset):
    """Map-style datasets one after another; negative indices count from the end.

    Example:
        >>> from neurarust.utils.data import ConcatDataset
        >>> ds = ConcatDataset([[1, 2], [3, 4, 5]])
        >>> len(ds), ds[2], ds[-1], ds.cumulative_sizes
        (5, 3, 5, [2, 5])
    """

    @staticmethod
    def cumsum(sequence) -> List[int]:
        return list(itertools.accumulate(len(d) for d in sequence))

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Iterable datasets chained one after another (lazily).

    Example:
        >>> from neurarust.utils.data import ChainDataset
        >>> list(ChainDataset([range(2), range(3)]))
        [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)  # type: ignore[arg-type]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Example:
        >>> from neurarust.utils.data import Subset
        >>> s = Subset(["a", "b", "c", "d"], [3, 1])
        >>> len(s), s[0], list(s)
        (2, 'd', ['d', 'b'])
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: List[int]) -> list:
        return _get_many(self.dataset, [self.indices[i] for i in indices])

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset, lengths: Sequence[Union[int, float]],
                 generator: Optional[Generator] = default_generator) -> List[Subset]:
    """Split ``dataset`` at random into non-overlapping :class:`Subset` s.

    ``lengths`` are sizes, or fractions summing to 1 (the remainder of
    flooring is dealt round-robin from the first split, as torch does).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.utils.data import random_split
        >>> a, b = random_split(range(10), [0.7, 0.3], generator=nr.Generator().manual_seed(0))
        >>> len(a), len(b), sorted(list(a) + list(b)) == list(range(10))
        (7, 3, True)
    """
    n = len(dataset)  # type: ignore[arg-type]
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(int(math.floor(n * frac)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.")
        lengths = sizes
    if any(int(x) != x or x < 0 for x in lengths):
        raise ValueError(f"random_split(): lengths must be non-negative integers or fractions, got {lengths}")
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = randperm(n, generator=generator).tolist()
    out, offset = [], 0
    for size in lengths:
        size = int(size)
        out.append(Subset(dataset, perm[offset:offset + size]))
        offset += size
    return out
