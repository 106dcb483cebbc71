import numpy as np
import pytest

import neurarust as nr
from neurarust.utils.data import (BatchSampler, DistributedSampler, RandomSampler, SequentialSampler,
                                  SubsetRandomSampler, WeightedRandomSampler)


@pytest.mark.parametrize("n,bs,drop", [(10, 3, False), (10, 3, True), (9, 3, False), (2, 5, False), (2, 5, True)])
def test_batch_sampler_sequences(n, bs, drop):
    b = BatchSampler(SequentialSampler(range(n)), bs, drop)
    stop = n - n % bs if drop else n
    expected = [list(range(i, min(i + bs, stop))) for i in range(0, stop, bs)]
    assert list(b) == expected and len(b) == len(expected)
    assert [a.tolist() for a in b._index_batches()] == expected


@pytest.mark.parametrize("n,bs,drop", [(10, 3, False), (10, 3, True), (7, 7, True), (0, 2, False)])
def test_batch_sampler_matches_torch(n, bs, drop):
    torch = pytest.importorskip("torch")
    theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(range(n)), bs, drop)
    ours = BatchSampler(SequentialSampler(range(n)), bs, drop)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_batch_sampler_validation():
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        BatchSampler(range(3), 2, 1)


def test_random_sampler_permutation_and_reproducible():
    s = RandomSampler(range(50), generator=nr.Generator().manual_seed(3))
    a = list(s)
    assert sorted(a) == list(range(50)) and a != list(range(50))
    assert a == list(RandomSampler(range(50), generator=nr.Generator().manual_seed(3)))
    # a shared generator advances: the next epoch has a different order
    assert list(s) != a
    nr.manual_seed(0)
    u = list(RandomSampler(range(50)))
    nr.manual_seed(0)
    assert list(RandomSampler(range(50))) == u


def test_random_sampler_num_samples():
    s = RandomSampler(range(4), num_samples=10, generator=nr.Generator().manual_seed(0))
    a = list(s)
    assert len(a) == len(s) == 10
    assert sorted(a[:4]) == sorted(a[4:8]) == [0, 1, 2, 3] and len(set(a[8:])) == 2
    r = list(RandomSampler(range(3), replacement=True, num_samples=100, generator=nr.Generator().manual_seed(0)))
    assert len(r) == 100 and set(r) == {0, 1, 2}
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        RandomSampler(range(3), replacement=1)


def test_subset_random_sampler():
    s = SubsetRandomSampler([4, 8, 15, 16], generator=nr.Generator().manual_seed(0))
    assert sorted(s) == [4, 8, 15, 16] and len(s) == 4


def test_weighted_random_sampler():
    w = [0.0, 3.0, 0.0, 1.0]
    s = list(WeightedRandomSampler(w, 400, generator=nr.Generator().manual_seed(0)))
    assert set(s) <= {1, 3} and 0.6 < s.count(1) / 400 < 0.9  # expected 0.75
    u = list(WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False, generator=nr.Generator().manual_seed(0)))
    assert sorted(u) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        WeightedRandomSampler([[1.0]], 2)
    with pytest.raises(ValueError, match="num_samples"):
        WeightedRandomSampler([1.0], -1)


def _dist_reference(n, r, rank, drop_last):
    # torch's documented rule, by hand: pad by wrapping (or drop the tail), then stride by r
    idx = list(range(n))
    if drop_last and n % r:
        total = -(-(n - r) // r) * r
        idx = idx[:total]
    else:
        total = -(-n // r) * r
        while len(idx) < total:
            idx += idx[: total - len(idx)]
    return idx[rank::r]


@pytest.mark.parametrize("n,r,drop", [(10, 3, False), (10, 3, True), (9, 3, False), (2, 5, False), (11, 4, True)])
def test_distributed_sampler_unshuffled(n, r, drop):
    for rank in range(r):
        s = DistributedSampler(range(n), num_replicas=r, rank=rank, shuffle=False, drop_last=drop)
        assert list(s) == _dist_reference(n, r, rank, drop)
        assert len(s) == len(list(s))


@pytest.mark.parametrize("n,r,drop", [(10, 3, False), (10, 3, True), (2, 5, False), (11, 4, True)])
def test_distributed_sampler_matches_torch(n, r, drop):
    torch = pytest.importorskip("torch")
    for rank in range(r):
        ours = DistributedSampler(range(n), num_replicas=r, rank=rank, shuffle=False, drop_last=drop)
        theirs = torch.utils.data.DistributedSampler(range(n), num_replicas=r, rank=rank, shuffle=False,
                                                     drop_last=drop)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        # shuffled: torch's RNG differs, so compare the properties torch guarantees
        ours = DistributedSampler(range(n), num_replicas=r, rank=rank, seed=7, drop_last=drop)
        theirs = torch.utils.data.DistributedSampler(range(n), num_replicas=r, rank=rank, seed=7, drop_last=drop)
        assert len(ours) == len(theirs) == len(list(ours))


def test_distributed_sampler_shuffle_properties():
    n, r = 23, 4
    def epoch(e):
        out = []
        for rank in range(r):
            s = DistributedSampler(range(n), num_replicas=r, rank=rank, seed=3)
            s.set_epoch(e)
            out.append(list(s))
        return out
    e0 = epoch(0)
    assert all(len(p) == 6 for p in e0)
    flat = [i for p in e0 for i in p]
    assert set(flat) == set(range(n)) and len(flat) == 24
    assert epoch(0) == e0 and epoch(1) != e0
    dropped = [list(DistributedSampler(range(n), num_replicas=r, rank=k, drop_last=True)) for k in range(r)]
    flat = [i for p in dropped for i in p]
    assert len(flat) == len(set(flat)) == 20


def test_distributed_sampler_errors():
    with pytest.raises(ValueError, match="Invalid rank"):
        DistributedSampler(range(3), num_replicas=2, rank=2)
    with pytest.raises(RuntimeError, match="num_replicas"):
        DistributedSampler(range(3))
