import numpy as np
import pytest

import neurarust as nr
from neurarust.utils.data import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset,
                                  Subset, TensorDataset, random_split)


def test_tensor_dataset_indexing_matches_numpy():
    x = np.arange(12.0, dtype=np.float32).reshape(6, 2)
    y = np.arange(6)
    ds = TensorDataset(nr.from_numpy(x), nr.from_numpy(y))
    assert len(ds) == 6
    for i in range(6):
        a, b = ds[i]
        np.testing.assert_array_equal(a.numpy(), x[i])
        assert b.item() == y[i] and b.dtype == nr.int64 and a.dtype == nr.float32
    a, b = ds[np.int64(-1)]
    np.testing.assert_array_equal(a.numpy(), x[-1])
    a, _ = ds[1:3]  # slices go through tensor indexing
    np.testing.assert_array_equal(a.numpy(), x[1:3])


def test_tensor_dataset_keeps_autograd_path():
    w = nr.ones(3, 2, requires_grad=True)
    ds = TensorDataset(w)
    ds[1][0].sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[0, 0], [1, 1], [0, 0]])


def test_tensor_dataset_size_mismatch():
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(nr.zeros(3), nr.zeros(4))


def test_concat_dataset():
    ds = ConcatDataset([[0, 1, 2], [3], [4, 5]])
    assert len(ds) == 6 and ds.cumulative_sizes == [3, 4, 6]
    assert [ds[i] for i in range(6)] == list(range(6))
    assert ds[-1] == 5 and ds[-6] == 0
    with pytest.raises(ValueError):
        ds[-7]
    with pytest.raises(AssertionError):
        ConcatDataset([])

    class It(IterableDataset):
        def __iter__(self):
            return iter([])
    with pytest.raises(AssertionError):
        ConcatDataset([It()])


def test_add_operators():
    class D(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return i + 10

    class It(IterableDataset):
        def __iter__(self):
            return iter("ab")
    assert [(D() + D())[i] for i in range(4)] == [10, 11, 10, 11]
    assert list(It() + It()) == ["a", "b", "a", "b"]


def test_chain_dataset():
    ds = ChainDataset([range(2), range(3)])
    assert list(ds) == [0, 1, 0, 1, 2] and len(ds) == 5


def test_subset_and_getitems():
    s = Subset(list("abcdef"), [5, 0, 2])
    assert len(s) == 3 and [s[i] for i in range(3)] == ["f", "a", "c"]
    assert s.__getitems__([2, 0]) == ["c", "f"]


def test_stack_dataset():
    t = StackDataset([1, 2], ["a", "b"])
    assert t[1] == (2, "b") and len(t) == 2
    d = StackDataset(x=[1, 2], y=[3, 4])
    assert d[0] == {"x": 1, "y": 3}
    assert d.__getitems__([1, 0]) == [{"x": 2, "y": 4}, {"x": 1, "y": 3}]
    with pytest.raises(ValueError):
        StackDataset([1], [1, 2])
    with pytest.raises(ValueError):
        StackDataset([1], y=[1])


def _covers(parts, n):
    flat = sorted(i for p in parts for i in p.indices)
    return flat == list(range(n))


def test_random_split_lengths_and_fractions():
    a, b = random_split(range(10), [3, 7], generator=nr.Generator().manual_seed(1))
    assert (len(a), len(b)) == (3, 7) and _covers([a, b], 10)
    # floor(3.3) = floor(3.3) = floor(3.4) = 3; the remainder goes to the first split
    parts = random_split(range(10), [0.33, 0.33, 0.34], generator=nr.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [4, 3, 3] and _covers(parts, 10)
    with pytest.raises(ValueError):
        random_split(range(10), [3, 3])


def test_random_split_reproducible():
    g1, g2 = nr.Generator().manual_seed(5), nr.Generator().manual_seed(5)
    p1 = random_split(range(20), [0.5, 0.5], generator=g1)
    p2 = random_split(range(20), [0.5, 0.5], generator=g2)
    assert [p.indices for p in p1] == [p.indices for p in p2]
    p3 = random_split(range(20), [0.5, 0.5], generator=nr.Generator().manual_seed(6))
    assert [p.indices for p in p1] != [p.indices for p in p3]


def test_random_split_sizes_match_torch():
    torch = pytest.importorskip("torch")
    for n, fr in [(10, [0.33, 0.33, 0.34]), (7, [0.5, 0.5]), (11, [0.1, 0.2, 0.7])]:
        ours = [len(p) for p in random_split(range(n), fr)]
        theirs = [len(p) for p in torch.utils.data.random_split(range(n), fr)]
        assert ours == theirs
