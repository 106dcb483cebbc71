"""Data loading, as ``torch.utils.data``: datasets, samplers, ``DataLoader`` and collation.

Example:
    >>> import neurarust as nr
    >>> from neurarust.utils.data import DataLoader, TensorDataset
    >>> x, y = nr.arange(8.0).reshape(4, 2), nr.tensor([0, 1, 0, 1])
    >>> for xb, yb in DataLoader(TensorDataset(x, y), batch_size=2):
    ...     print(xb.shape, yb)
    neurarust.Size([2, 2]) tensor([0, 1])
    neurarust.Size([2, 2]) tensor([0, 1])
"""
from ._collate import default_collate, default_convert
from ._worker import WorkerInfo, get_worker_info
from .dataloader import DataLoader
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset,
                      TensorDataset, random_split)
from .distributed import DistributedSampler
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset",
           "StackDataset", "random_split", "Sampler", "SequentialSampler", "RandomSampler",
           "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler", "DistributedSampler",
           "DataLoader", "default_collate", "default_convert", "get_worker_info", "WorkerInfo"]
