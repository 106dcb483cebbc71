"""Samplers: the order in which a map-style dataset is read, as in ``torch.utils.data``.

Example:
    >>> from neurarust.utils.data import BatchSampler, SequentialSampler
    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
"""
from __future__ import annotations

from typing import Generic, Iterable, Iterator, List, Optional, Sequence, Sized, TypeVar, Union

import numpy as np

from ...ops.creation import as_tensor
from ...ops.random import Generator, default_generator, multinomial, randint, randperm
from ...dtypes import float64

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]

T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """Base class: an iterable over dataset indices (or lists of indices, for batch samplers).

    Example:
        >>> from neurarust.utils.data import Sampler
        >>> class Evens(Sampler):
        ...     def __init__(self, n): self.n = n
        ...     def __iter__(self): return iter(range(0, self.n, 2))
        ...     def __len__(self): return (self.n + 1) // 2
        >>> list(Evens(5)), len(Evens(5))
        ([0, 2, 4], 3)
    """

    def __init__(self, data_source: Optional[Sized] = None) -> None:
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError


def _fresh_generator() -> Generator:
    # torch draws a seed from the default generator for each epoch, so that
    # ``manual_seed`` makes an unseeded sampler reproducible.
    seed = int(default_generator._numpy_generator().integers(0, 2 ** 63))
    return Generator().manual_seed(seed)


class SequentialSampler(Sampler[int]):
    """Indices ``0, 1, ..., len(data_source) - 1`` in order.

    Example:
        >>> from neurarust.utils.data import SequentialSampler
        >>> list(SequentialSampler("abc"))
        [0, 1, 2]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def _index_array(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """Random indices: a permutation per pass (``replacement=False``) or uniform draws.

    ``num_samples`` (default ``len(data_source)``) may exceed the length
    without replacement: whole permutations follow each other.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.utils.data import RandomSampler
        >>> s = RandomSampler(range(5), generator=nr.Generator().manual_seed(0))
        >>> sorted(s), len(s)
        ([0, 1, 2, 3, 4], 5)
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: Optional[int] = None, generator: Optional[Generator] = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or isinstance(self.num_samples, bool) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_array(self) -> np.ndarray:
        n = len(self.data_source)
        g = self.generator if self.generator is not None else _fresh_generator()
        if self.replacement:
            return randint(0, n, (self.num_samples,), generator=g).numpy()
        parts = [randperm(n, generator=g).numpy() for _ in range(self.num_samples // n)]
        if self.num_samples % n:
            parts.append(randperm(n, generator=g).numpy()[: self.num_samples % n])
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self._index_array().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given ``indices`` in a random order (a new permutation per pass).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.utils.data import SubsetRandomSampler
        >>> sorted(SubsetRandomSampler([10, 20, 30], generator=nr.Generator().manual_seed(1)))
        [10, 20, 30]
    """

    def __init__(self, indices: Sequence[int], generator: Optional[Generator] = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``.

    Example:
        >>> import neurarust as nr
        >>> from neurarust.utils.data import WeightedRandomSampler
        >>> s = WeightedRandomSampler([0.0, 1.0, 0.0], 4, generator=nr.Generator().manual_seed(0))
        >>> list(s)
        [1, 1, 1, 1]
    """

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Optional[Generator] = None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = as_tensor(weights, dtype=float64)
        if w.dim() != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        drawn = multinomial(self.weights, self.num_samples, self.replacement, generator=self.generator)
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[List[int]]):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    Example:
        >>> from neurarust.utils.data import BatchSampler, SequentialSampler
        >>> b = BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=True)
        >>> list(b), len(b)
        ([[0, 1], [2, 3]], 2)
    """

    def __init__(self, sampler: Union[Sampler[int], Iterable[int]], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _index_batches(self) -> Optional[Iterator[np.ndarray]]:
        # Fast path for the DataLoader: slices of one index array instead of a
        # Python list per batch.  Only for the built-in samplers whose whole
        # epoch order is known up front (subclasses might override __iter__).
        if type(self) is not BatchSampler or type(self.sampler) not in (SequentialSampler, RandomSampler):
            return None
        idx = self.sampler._index_array()  # type: ignore[union-attr]
        stop = len(idx) - len(idx) % self.batch_size if self.drop_last else len(idx)
        return (idx[i:i + self.batch_size] for i in range(0, stop, self.batch_size))

    def __iter__(self) -> Iterator[List[int]]:
        batch: List[int] = []
        size = self.batch_size
        for i in self.sampler:
            batch.append(i)
            if len(batch) == size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size
