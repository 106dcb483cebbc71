"""DataLoader with worker processes: order, exactly-once, errors, dead workers, shutdown, shared memory."""
import gc
import os
import signal
import sys
import time

import numpy as np
import pytest

import neurarust as nr
from neurarust.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork workers and /dev/shm")


def _segments():
    return {n for n in os.listdir("/dev/shm") if n.startswith("nrdl_")}


def _pids(it):
    return [p.pid for p in it._workers]


def _assert_gone(pids):
    deadline = time.monotonic() + 5
    for pid in pids:
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            # a zombie still answers kill(0): it must at least have been reaped by join
            assert time.monotonic() < deadline, f"worker {pid} still alive"
            time.sleep(0.02)


@pytest.fixture(autouse=True)
def no_leaks():
    before = _segments()
    yield
    gc.collect()
    assert _segments() - before == set(), "shared-memory segments leaked"


class Squares(Dataset):
    def __init__(self, n, fail_at=None, delay=0.0):
        self.n, self.fail_at, self.delay = n, fail_at, delay

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.delay:
            time.sleep(self.delay)
        if i == self.fail_at:
            raise ValueError(f"bad sample {i}")
        return np.full(3, i * i, np.float32), i


@pytest.mark.parametrize("drop_last", [False, True])
def test_exactly_once_and_same_order_as_single_process(drop_last):
    ds = Squares(41)
    kw = dict(batch_size=4, shuffle=True, drop_last=drop_last)
    ref = [b[1].tolist() for b in DataLoader(ds, generator=nr.Generator().manual_seed(3), **kw)]
    got = [b[1].tolist() for b in DataLoader(ds, num_workers=2, generator=nr.Generator().manual_seed(3), **kw)]
    assert got == ref
    seen = [i for b in got for i in b]
    if drop_last:
        assert len(seen) == 40 == len(set(seen))
    else:
        assert sorted(seen) == list(range(41))


def test_tensor_dataset_batches_through_shared_memory():
    x = np.random.default_rng(0).standard_normal((300, 784)).astype(np.float32)
    y = np.arange(300)
    ds = TensorDataset(nr.from_numpy(x), nr.from_numpy(y))
    kw = dict(batch_size=64, shuffle=True)
    ref = list(DataLoader(ds, generator=nr.Generator().manual_seed(0), collate_fn=lambda b: [
        nr.stack([s[0] for s in b]), nr.stack([s[1] for s in b])], **kw))
    got = list(DataLoader(ds, num_workers=2, generator=nr.Generator().manual_seed(0), **kw))
    assert len(got) == len(ref) == 5
    for (a, b), (c, d) in zip(got, ref):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())
        assert a.dtype == nr.float32 and b.dtype == nr.int64
    del got
    gc.collect()


def test_custom_collate_and_structures_through_workers():
    ds = [{"img": np.full((64, 64), i, np.float64), "name": f"s{i}", "label": i} for i in range(6)]
    big = lambda batch: np.stack([s["img"] for s in batch])  # 64 KiB arrays: copied into shared memory
    out = list(DataLoader(ds, batch_size=2, num_workers=2, collate_fn=big))
    assert [o[:, 0, 0].tolist() for o in out] == [[0, 1], [2, 3], [4, 5]] and isinstance(out[0], np.ndarray)
    out = list(DataLoader(ds, batch_size=3, num_workers=2))
    assert out[1]["name"] == ["s3", "s4", "s5"] and out[1]["label"].tolist() == [3, 4, 5]
    assert out[0]["img"].shape == (3, 64, 64) and out[0]["img"].dtype == nr.float64


class Sharded(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


@pytest.mark.parametrize("drop_last", [False, True])
def test_sharded_iterable_exactly_once(drop_last):
    dl = DataLoader(Sharded(23), batch_size=4, num_workers=2, drop_last=drop_last)
    seen = [i for b in dl for i in b.tolist()]
    if drop_last:  # each worker drops its own partial batch: 12 -> 12, 11 -> 8
        assert len(seen) == len(set(seen)) == 20
    else:
        assert sorted(seen) == list(range(23))
    # unbatched
    assert sorted(DataLoader(Sharded(9), batch_size=None, num_workers=3)) == list(range(9))


class InfoDataset(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return info.id, info.num_workers, info.seed, int(nr.randint(0, 10 ** 9, (1,)).item()), os.getpid()


def test_worker_info_seeds_and_init_fn(tmp_path):
    def init(wid):
        (tmp_path / f"w{wid}").write_text(str(get_worker_info().id))
    dl = DataLoader(InfoDataset(), batch_size=None, num_workers=2, worker_init_fn=init,
                    generator=nr.Generator().manual_seed(11))
    rows = [tuple(int(v) for v in r) for r in dl]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w0", "w1"]
    assert [r[0] for r in rows] == [0, 1] * 4  # round-robin assignment
    seeds = {r[0]: r[2] for r in rows}
    assert seeds[1] == seeds[0] + 1 and {r[1] for r in rows} == {2}
    again = [tuple(int(v) for v in r) for r in DataLoader(InfoDataset(), batch_size=None, num_workers=2,
                                                        generator=nr.Generator().manual_seed(11))]
    assert [r[2:4] for r in again] == [r[2:4] for r in rows]  # same seed -> same per-worker random streams
    assert get_worker_info() is None


def test_worker_exception_is_reraised_with_traceback_and_index():
    it = iter(DataLoader(Squares(20, fail_at=6), batch_size=4, num_workers=2))
    pids = _pids(it)
    next(it)
    with pytest.raises(ValueError) as exc:
        next(it)
    msg = str(exc.value)
    assert "worker process 1" in msg and "index 6" in msg and "bad sample 6" in msg
    assert "Traceback (most recent call last)" in msg and "__getitem__" in msg
    assert next(it)[1].tolist() == [8, 9, 10, 11]  # the loader goes on after the error, like torch's
    del it, exc
    gc.collect()
    _assert_gone(pids)


def test_killed_worker_is_reported():
    it = iter(DataLoader(Squares(400, delay=0.01), batch_size=2, num_workers=2))
    pids = _pids(it)
    next(it)
    os.kill(pids[1], signal.SIGKILL)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker 1 \(pid \d+\) exited unexpectedly with exit code -9"):
        for _ in it:
            pass
    assert time.monotonic() - t0 < 10
    _assert_gone(pids)


def test_timeout():
    it = iter(DataLoader(Squares(4, delay=1.0), batch_size=1, num_workers=1, timeout=0.3, prefetch_factor=1))
    pids = _pids(it)
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.3 seconds"):
        next(it)
    del it
    gc.collect()
    _assert_gone(pids)


def test_break_exception_and_gc_shut_workers_down():
    x = nr.from_numpy(np.zeros((512, 1024), np.float32))
    dl = DataLoader(TensorDataset(x), batch_size=32, num_workers=2, prefetch_factor=4)
    # breaking out early (segments of prefetched batches are in flight)
    it = iter(dl)
    pids = _pids(it)
    for k, _ in enumerate(it):
        if k == 2:
            break
    del it, _
    _assert_gone(pids)
    # an exception in the training loop
    it = iter(dl)
    pids = _pids(it)
    with pytest.raises(KeyError):
        for _ in it:
            raise KeyError("training step failed")
    del it
    gc.collect()
    _assert_gone(pids)
    # garbage collection of an iterator in a reference cycle
    it = iter(dl)
    pids = _pids(it)
    next(it)
    it.cycle = it
    del it
    gc.collect()
    _assert_gone(pids)


def test_persistent_workers():
    dl = DataLoader(Squares(10), batch_size=3, num_workers=2, persistent_workers=True, shuffle=True)
    first = iter(dl)
    pids = _pids(first)
    next(first)  # leave the epoch unfinished: the next epoch must drop its leftovers
    for _ in range(2):
        it = iter(dl)
        assert _pids(it) == pids
        assert sorted(i for b in it for i in b[1].tolist()) == list(range(10))
    it = iter(DataLoader(Sharded(7), batch_size=2, num_workers=2, persistent_workers=True))
    del it
    del dl, first
    gc.collect()
    _assert_gone(pids)
