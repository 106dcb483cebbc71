"""``DistributedSampler``: each of ``num_replicas`` processes reads its own share of a dataset.

Example:
    >>> from neurarust.utils.data import DistributedSampler
    >>> [list(DistributedSampler(range(5), num_replicas=2, rank=r, shuffle=False)) for r in (0, 1)]
    [[0, 2, 4], [1, 3, 0]]
"""
from __future__ import annotations

import math
from typing import Iterator, Optional

from ...ops.random import Generator, randperm
from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _default_world(what: str) -> int:
    # The distributed package is optional; without an initialised process
    # group the caller must say who it is, as in torch.
    try:
        from ... import distributed as dist  # type: ignore[attr-defined]
    except ImportError:
        dist = None
    if dist is None or not getattr(dist, "is_available", lambda: False)() or not dist.is_initialized():
        raise RuntimeError(f"DistributedSampler(): {what} not given and no distributed process group "
                           "is initialised; pass num_replicas and rank explicitly")
    return dist.get_world_size() if what == "num_replicas" else dist.get_rank()


class DistributedSampler(Sampler[int]):
    """The indices for replica ``rank`` of ``num_replicas``: every replica gets the same count.

    Without ``drop_last`` the index list is padded by wrapping around so that
    it divides evenly; with it the tail is dropped.  ``shuffle`` draws a
    permutation seeded by ``seed + epoch``: call :meth:`set_epoch` before
    each epoch for a new order that all replicas agree on.

    Example:
        >>> from neurarust.utils.data import DistributedSampler
        >>> s = DistributedSampler(range(10), num_replicas=3, rank=1, drop_last=True, seed=0)
        >>> s.set_epoch(2); len(s), len(list(s))
        (3, 3)
    """

    def __init__(self, dataset, num_replicas: Optional[int] = None, rank: Optional[int] = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = _default_world("num_replicas")
        if rank is None:
            rank = _default_world("rank")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = Generator().manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            pad = self.total_size - len(indices)
            if pad <= len(indices):
                indices += indices[:pad]
            else:
                indices += (indices * math.ceil(pad / len(indices)))[:pad]
        else:
            indices = indices[: self.total_size]
        assert len(indices) == self.total_size
        mine = indices[self.rank:self.total_size:self.num_replicas]
        assert len(mine) == self.num_samples
        return iter(mine)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which (with ``seed``) picks the shuffled order for all replicas."""
        self.epoch = epoch
