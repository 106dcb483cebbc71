"""DataLoader in the main process (num_workers=0): batching, options, validation."""
import numpy as np
import pytest

import neurarust as nr
from neurarust.utils.data import (BatchSampler, DataLoader, IterableDataset, SequentialSampler, TensorDataset,
                                  default_collate)


def _xy(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return x, np.arange(n)


def test_sequential_batches_by_hand():
    x, y = _xy()
    batches = list(DataLoader(TensorDataset(nr.from_numpy(x), nr.from_numpy(y)), batch_size=4))
    assert len(batches) == 3
    for k, (xb, yb) in enumerate(batches):
        np.testing.assert_array_equal(xb.numpy(), x[4 * k:4 * k + 4])
        np.testing.assert_array_equal(yb.numpy(), y[4 * k:4 * k + 4])
        assert xb.dtype == nr.float32 and yb.dtype == nr.int64


@pytest.mark.parametrize("shuffle", [False, True])
def test_tensor_fast_path_equals_per_sample_collation(shuffle):
    x, y = _xy(37)
    ds = TensorDataset(nr.from_numpy(x), nr.from_numpy(y))
    kw = dict(batch_size=8, shuffle=shuffle)
    fast = list(DataLoader(ds, generator=nr.Generator().manual_seed(1), **kw))
    # a collate_fn that is not the default one disables the fast path
    slow = list(DataLoader(ds, generator=nr.Generator().manual_seed(1), collate_fn=lambda b: default_collate(b), **kw))
    assert len(fast) == len(slow) == 5
    for (a, b), (c, d) in zip(fast, slow):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())
        assert a.dtype == c.dtype and b.dtype == d.dtype and isinstance(a, nr.Tensor)


def test_batches_match_torch():
    torch = pytest.importorskip("torch")
    x, y = _xy(11)
    ours = DataLoader(TensorDataset(nr.from_numpy(x), nr.from_numpy(y)), batch_size=3, drop_last=False)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                         batch_size=3)
    assert len(ours) == len(theirs)
    for (a, b), (c, d) in zip(ours, theirs):
        assert tuple(a.shape) == tuple(c.shape) and str(a.dtype).split(".")[-1] == str(c.dtype).split(".")[-1]
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())
    samples = [{"a": np.ones(2, np.float32) * i, "b": i, "c": str(i)} for i in range(5)]
    for ob, tb in zip(DataLoader(samples, batch_size=2), torch.utils.data.DataLoader(samples, batch_size=2)):
        assert ob["c"] == tb["c"] and ob["b"].tolist() == tb["b"].tolist()
        assert tuple(ob["a"].shape) == tuple(tb["a"].shape)


@pytest.mark.parametrize("drop_last", [False, True])
def test_exactly_once_shuffled(drop_last):
    n, bs = 23, 5
    dl = DataLoader(list(range(n)), batch_size=bs, shuffle=True, drop_last=drop_last)
    seen = [i for b in dl for i in b.tolist()]
    assert len(dl) == (n // bs if drop_last else -(-n // bs))
    if drop_last:
        assert len(seen) == 20 == len(set(seen))
    else:
        assert sorted(seen) == list(range(n))


def test_same_seed_same_order():
    def order(seed):
        return [b.tolist() for b in DataLoader(list(range(30)), batch_size=4, shuffle=True,
                                               generator=nr.Generator().manual_seed(seed))]
    assert order(1) == order(1) and order(1) != order(2)
    nr.manual_seed(4)
    a = [b.tolist() for b in DataLoader(list(range(30)), batch_size=4, shuffle=True)]
    nr.manual_seed(4)
    assert a == [b.tolist() for b in DataLoader(list(range(30)), batch_size=4, shuffle=True)]


def test_batch_size_none_and_samplers():
    out = list(DataLoader([np.float32(1.0), np.float32(2.0)], batch_size=None))
    assert [o.item() for o in out] == [1.0, 2.0] and out[0].shape == ()
    dl = DataLoader(list(range(6)), batch_sampler=BatchSampler(SequentialSampler(range(6)), 4, False))
    assert [b.tolist() for b in dl] == [[0, 1, 2, 3], [4, 5]] and len(dl) == 2
    dl = DataLoader(list(range(6)), sampler=[5, 4, 3], batch_size=2)
    assert [b.tolist() for b in dl] == [[5, 4], [3]]


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("drop_last", [False, True])
def test_iterable_dataset_single_process(drop_last):
    dl = DataLoader(Stream(7), batch_size=3, drop_last=drop_last)
    got = [b.tolist() for b in dl]
    assert got == ([[0, 1, 2], [3, 4, 5]] + ([] if drop_last else [[6]]))
    assert len(dl) == len(got)
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]  # default_convert keeps ints


def test_validation_errors():
    ds = list(range(4))
    cases = [
        (dict(num_workers=-1), "num_workers option should be non-negative"),
        (dict(timeout=-1), "timeout option should be non-negative"),
        (dict(prefetch_factor=2), "prefetch_factor option could only be specified in multiprocessing"),
        (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
        (dict(sampler=[0], shuffle=True), "sampler option is mutually exclusive with shuffle"),
        (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
        (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching"),
    ]
    for kw, msg in cases:
        with pytest.raises(ValueError, match=msg):
            DataLoader(ds, **kw)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        DataLoader(Stream(3), sampler=[0])


def test_pin_memory_is_a_noop_on_cpu():
    b = next(iter(DataLoader([np.ones(2)], batch_size=1, pin_memory=True)))
    np.testing.assert_array_equal(b.numpy(), [[1, 1]])
