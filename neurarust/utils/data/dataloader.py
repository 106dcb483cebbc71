"""``DataLoader``: batches from a dataset, in the main process or in worker processes.

Example:
    >>> import neurarust as nr
    >>> from neurarust.utils.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(nr.arange(10.0).reshape(5, 2), nr.arange(5))
    >>> [y.tolist() for _, y in DataLoader(ds, batch_size=2)]
    [[0, 1], [2, 3], [4]]
"""
from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import time
import uuid
from typing import Any, Callable, Iterable, List, Optional, Union

from ...device import CPU, backend_for
from ...ops.random import Generator, default_generator
from . import _worker
from ._collate import default_collate, default_convert
from ._pin import PinningIter
from .dataset import Dataset, IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader"]


class _InfiniteNone:
    def __iter__(self):
        return itertools.repeat(None)


class DataLoader:
    """Iterate over ``dataset`` in batches, optionally with ``num_workers`` worker processes.

    The arguments and their rules are torch's.  ``shuffle=True`` uses a
    :class:`RandomSampler` seeded from ``generator`` (or the default
    generator), so ``manual_seed`` makes the order reproducible.  Workers
    prefetch ``prefetch_factor`` batches each; batches come back in sampler
    order through shared memory.  ``pin_memory=True`` copies each batch into
    page-locked memory for ``pin_memory_device`` (default ``cuda``), so
    ``.to("cuda", non_blocking=True)`` does not block; without CUDA it warns
    once and leaves batches as they are (as torch does).

    Example:
        >>> import neurarust as nr
        >>> from neurarust.utils.data import DataLoader
        >>> dl = DataLoader(list(range(7)), batch_size=3, shuffle=True, generator=nr.Generator().manual_seed(0))
        >>> len(dl), sorted(sum((b.tolist() for b in dl), []))
        (3, [0, 1, 2, 3, 4, 5, 6])
    """

    def __init__(self, dataset: Dataset, batch_size: Optional[int] = 1, shuffle: Optional[bool] = None,
                 sampler: Union[Sampler, Iterable, None] = None,
                 batch_sampler: Union[Sampler, Iterable, None] = None, num_workers: int = 0,
                 collate_fn: Optional[Callable[[List[Any]], Any]] = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Optional[Callable[[int], None]] = None,
                 multiprocessing_context=None, generator: Optional[Generator] = None, *,
                 prefetch_factor: Optional[int] = None, persistent_workers: bool = False,
                 pin_memory_device: str = "") -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.generator = generator
        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                 f"but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteNone()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)  # type: ignore[arg-type]
            else:
                sampler = SequentialSampler(dataset)  # type: ignore[arg-type]
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # type: ignore[arg-type]
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._iterator: Optional[_MultiProcessingIter] = None

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _fetcher(self) -> _worker.Fetcher:
        fast = None
        if (type(self.dataset) is TensorDataset and self.collate_fn is default_collate
                and self._auto_collation):
            views = self.dataset._numpy_views()
            fast = views or None
        return _worker.Fetcher(self.dataset, self._is_iterable, self._auto_collation, self.collate_fn,
                               self.drop_last, self.batch_size, fast)

    def _tasks(self):
        """An iterator over the tasks of one epoch: index arrays/lists, indices, or None (iterable)."""
        if self._is_iterable:
            return itertools.repeat(None)
        sampler = self._index_sampler
        if isinstance(sampler, BatchSampler):
            fast = sampler._index_batches()
            if fast is not None:
                return fast
        return iter(sampler)

    def __iter__(self):
        it = self._batches()
        return PinningIter(it, self.pin_memory_device) if self.pin_memory else it

    def _batches(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if self.persistent_workers:
            if self._iterator is None:
                self._iterator = _MultiProcessingIter(self)
            else:
                self._iterator._reset(self)
            return self._iterator
        return _MultiProcessingIter(self)

    def __len__(self) -> int:
        if self._is_iterable:
            n = len(self.dataset)  # type: ignore[arg-type]
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)  # type: ignore[arg-type]

    def _base_seed(self) -> int:
        g = self.generator if self.generator is not None else default_generator
        return int(g._numpy_generator().integers(0, 2 ** 63))


class _SingleProcessIter:
    def __init__(self, loader: DataLoader) -> None:
        # Drawn (and unused here) as with workers, so that both consume the
        # generator alike and give the same order for the same seed.
        self._base_seed = loader._base_seed()
        self._fetcher = loader._fetcher()
        self._tasks = loader._tasks()
        self._exhausted = False

    def __iter__(self):
        return self

    def __next__(self):
        if self._exhausted:
            raise StopIteration
        try:
            task = next(self._tasks)
            return self._fetcher.fetch(task)
        except StopIteration:
            self._exhausted = True
            raise

    def __len__(self):  # pragma: no cover - torch's iterators have it too
        return 0


def _quietly(fn, *args) -> None:
    try:
        fn(*args)
    except (OSError, ValueError, AssertionError):
        pass


def _context(spec):
    if spec is None:
        methods = multiprocessing.get_all_start_methods()
        return multiprocessing.get_context("fork" if "fork" in methods else None)
    if isinstance(spec, str):
        return multiprocessing.get_context(spec)
    return spec


class _MultiProcessingIter:
    """Feeds index queues round-robin, reorders results, watches the workers."""

    def __init__(self, loader: DataLoader) -> None:
        self._nw = loader.num_workers
        self._prefetch = max(1, loader.prefetch_factor or 1)
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._token = f"{os.getpid()}_{uuid.uuid4().hex[:10]}"
        self._shutdown = False
        self._workers: list = []
        self._queues: list = []
        self._conns: list = []
        ctx = _context(loader.multiprocessing_context)
        # Set at shutdown: reaches workers even when the index queues are
        # already finalised (an iterator collected as part of a cycle).
        self._done = ctx.Event()
        # Initialise the default device's backend (a lazy, ~0.3 s import) once
        # here, rather than once in every forked worker.
        backend_for(CPU)
        fetcher = loader._fetcher()
        base_seed = loader._base_seed()
        try:
            for wid in range(self._nw):
                q = ctx.Queue()
                reader, writer = ctx.Pipe(duplex=False)
                p = ctx.Process(target=_worker.worker_loop, daemon=True,
                                args=(fetcher, q, writer, wid, self._nw, base_seed, loader.worker_init_fn,
                                      self._token, os.getpid(), self._done))
                p.start()
                writer.close()
                self._workers.append(p)
                self._queues.append(q)
                self._conns.append(reader)
        except BaseException:
            self._shutdown_workers()
            raise
        self._epoch = 0
        self._start_epoch(loader)

    def _start_epoch(self, loader: DataLoader) -> None:
        self._tasks = loader._tasks()
        self._tasks_done = False
        self._send_idx = 0
        self._rcvd_idx = 0
        self._owner: dict = {}
        self._reorder: dict = {}
        self._outstanding = [0] * self._nw
        self._active = [True] * self._nw
        self._next_worker = 0
        for _ in range(self._prefetch * self._nw):
            self._put_task()

    def _reset(self, loader: DataLoader) -> None:
        """Persistent workers: start a new epoch, dropping what is left of the previous one."""
        if self._shutdown:
            raise RuntimeError("DataLoader: the persistent workers were shut down")
        self._epoch += 1
        for q in self._queues:
            q.put(("reset", self._epoch))
        acked = set()
        while len(acked) < self._nw:  # results before each ack are stale: drop them (and their memory)
            for wid, (idx, data) in self._receive():
                if idx == "reset" and data == self._epoch:
                    acked.add(wid)
        self._start_epoch(loader)

    def _put_task(self) -> None:
        if self._tasks_done:
            return
        for _ in range(self._nw):
            wid = self._next_worker
            self._next_worker = (wid + 1) % self._nw
            if self._active[wid] and self._outstanding[wid] < self._prefetch:
                break
        else:
            return
        try:
            task = next(self._tasks)
        except StopIteration:
            self._tasks_done = True
            return
        self._queues[wid].put((self._send_idx, task))
        self._owner[self._send_idx] = wid
        self._outstanding[wid] += 1
        self._send_idx += 1

    def __iter__(self):
        return self

    def __next__(self):
        if self._shutdown:
            raise StopIteration
        while True:
            if self._rcvd_idx in self._reorder:
                data = self._reorder.pop(self._rcvd_idx)
                self._owner.pop(self._rcvd_idx)
                self._rcvd_idx += 1
                self._put_task()
                if data is _worker.STOP:
                    continue
                if isinstance(data, _worker.ExceptionWrapper):
                    data.reraise()
                return data
            if self._rcvd_idx >= self._send_idx:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            for wid, (idx, data) in self._receive():
                if idx == "reset":
                    continue
                self._outstanding[wid] -= 1
                if data is _worker.STOP:
                    self._active[wid] = False
                self._reorder[idx] = data

    def _receive(self):
        """Wait for results (or a dead worker); return [(worker_id, (idx, data)), ...]."""
        sentinels = {p.sentinel: wid for wid, p in enumerate(self._workers)}
        readers = {c: wid for wid, c in enumerate(self._conns)}
        ready = multiprocessing.connection.wait(list(readers) + list(sentinels), self._timeout or None)
        if not ready:
            raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
        out = []
        for obj in ready:
            if obj in readers:
                wid = readers[obj]
                try:
                    raw = obj.recv_bytes()
                except (EOFError, OSError):
                    self._worker_died(wid)
                out.append((wid, pickle.loads(raw)))
        if not out:  # only sentinels fired, and nothing is left to read from those workers
            for obj in ready:
                wid = sentinels[obj]
                if not self._conns[wid].poll():
                    self._worker_died(wid)
        return out

    def _worker_died(self, wid: int):
        p = self._workers[wid]
        p.join(timeout=1.0)
        code = p.exitcode
        how = f"exit code {code}"
        if code is not None and code < 0:
            try:
                how += f" (killed by signal: {signal.Signals(-code).name})"
            except ValueError:
                pass
        self._shutdown_workers()
        raise RuntimeError(f"DataLoader worker {wid} (pid {p.pid}) exited unexpectedly with {how}")

    def _shutdown_workers(self) -> None:
        if self._shutdown:
            return
        self._shutdown = True
        # Every step is guarded on its own: when the garbage collector breaks
        # a reference cycle, queues and pipes may already be finalised, and
        # the processes must still be stopped.
        try:
            _quietly(self._done.set)
            for q in self._queues:
                _quietly(q.put, None)
            # Closing our ends unblocks a worker stuck sending a batch we will never read.
            for c in self._conns:
                _quietly(c.close)
            deadline = time.monotonic() + 2.0
            for p in self._workers:
                _quietly(p.join, max(0.0, deadline - time.monotonic()))
            for p in self._workers:
                if p.is_alive():
                    _quietly(p.terminate)
                    _quietly(p.join, 1.0)
                if p.is_alive():
                    _quietly(p.kill)
                    _quietly(p.join)
            for q in self._queues:
                _quietly(q.cancel_join_thread)
                _quietly(q.close)
        finally:
            _worker.unlink_segments(self._token)

    def __del__(self):
        try:
            self._shutdown_workers()
        except Exception:  # pragma: no cover - interpreter teardown
            pass
