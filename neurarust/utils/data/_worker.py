"""Worker processes of the DataLoader: fetching, shared-memory transport, ``get_worker_info``.

Batches come back through POSIX shared memory (files in ``/dev/shm``): the
collate step stacks samples straight into a fresh segment, and only the
segment's name travels through the pipe.  The main process maps the segment
and unlinks it at once, so the memory is freed as soon as the batch is, and
a crash later cannot leak it.  Segment names carry the iterator's token so
that shutdown can remove any segment still in flight.

Example:
    >>> from neurarust.utils.data import get_worker_info
    >>> get_worker_info() is None   # in the main process
    True
"""
from __future__ import annotations

import io
import itertools
import mmap
import os
import pickle
import queue
import random
import sys
import traceback
from typing import Any, Optional

import numpy as np

from ..._core.tensor_base import TensorBase
from ...ops.creation import from_numpy
from . import _collate

__all__ = ["WorkerInfo", "get_worker_info"]

SHM_DIR = "/dev/shm"
HAVE_SHM = sys.platform.startswith("linux") and os.path.isdir(SHM_DIR)
SHM_PREFIX = "nrdl_"
# Below this size a pipe copy is cheaper than creating and mapping a segment.
_MIN_SHM_BYTES = 16 * 1024

_worker_info: Optional["WorkerInfo"] = None


class WorkerInfo:
    """What a worker process knows about itself: ``id``, ``num_workers``, ``seed``, ``dataset``.

    Example:
        >>> from neurarust.utils.data._worker import WorkerInfo
        >>> WorkerInfo(id=0, num_workers=2, seed=7, dataset=None)
        WorkerInfo(id=0, num_workers=2, seed=7, dataset=None)
    """

    __initialized = False

    def __init__(self, **kwargs: Any) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key: str, val: Any) -> None:
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        super().__setattr__(key, val)

    def __repr__(self) -> str:
        return f"WorkerInfo({', '.join(f'{k}={getattr(self, k)!r}' for k in self.__keys)})"


def get_worker_info() -> Optional[WorkerInfo]:
    """In a DataLoader worker, its :class:`WorkerInfo`; ``None`` in the main process.

    An ``IterableDataset`` uses it in ``__iter__`` to read only its shard.

    Example:
        >>> from neurarust.utils.data import get_worker_info
        >>> print(get_worker_info())
        None
    """
    return _worker_info


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process with its traceback text."""

    def __init__(self, exc_info, where: str) -> None:
        self.exc_type = exc_info[0]
        self.msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.msg}"
        if self.exc_type is KeyError:  # KeyError would repr() the message and mangle newlines
            msg = KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exc


class KeyErrorMessage(str):
    def __repr__(self) -> str:
        return str(self)


class _Stop:
    """A worker's answer once its iterable dataset is exhausted."""

    def __reduce__(self):
        return (_stop, ())


def _stop():
    return STOP


STOP = _Stop()


# -- shared memory -----------------------------------------------------------

class _Segment(mmap.mmap):
    """A mapped shared-memory file; arrays allocated in it can be recognised when pickling."""

    name: str
    address: int


class SegmentAllocator:
    """Creates segments named ``nrdl_<token>_<worker>_<n>`` in the worker."""

    def __init__(self, token: str, worker_id: int) -> None:
        self.prefix = f"{SHM_PREFIX}{token}_{worker_id}_"
        self.counter = itertools.count()

    def new(self, nbytes: int) -> _Segment:
        name = f"{self.prefix}{next(self.counter)}"
        fd = os.open(os.path.join(SHM_DIR, name), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        try:
            os.ftruncate(fd, nbytes)
            seg = _Segment(fd, nbytes)
        except BaseException:
            os.unlink(os.path.join(SHM_DIR, name))
            raise
        finally:
            os.close(fd)
        seg.name = name
        seg.address = np.frombuffer(seg, np.uint8, count=1).ctypes.data
        return seg

    def array(self, shape: tuple, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if nbytes < _MIN_SHM_BYTES:
            return np.empty(shape, dtype)
        return np.ndarray(shape, dtype, buffer=self.new(nbytes))


def _segment_of(arr: np.ndarray) -> Optional[_Segment]:
    base: Any = arr
    while base is not None:
        if isinstance(base, _Segment):
            return base
        if isinstance(base, memoryview):
            base = base.obj
        else:
            base = getattr(base, "base", None)
    return None


def _attach(name: str, nbytes: int, offset: int, shape, strides, dtype: str, as_tensor: bool):
    """Main process: map a worker's segment, unlink it, and view it as an array or tensor."""
    path = os.path.join(SHM_DIR, name)
    fd = os.open(path, os.O_RDWR)
    try:
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
        mm = mmap.mmap(fd, nbytes, flags=flags)
    finally:
        os.close(fd)
        os.unlink(path)
    arr = np.ndarray(shape, np.dtype(dtype), buffer=mm, offset=offset, strides=strides)
    return from_numpy(arr) if as_tensor else arr


class _ShmPickler(pickle.Pickler):
    """Pickles arrays and CPU tensors living in (or moved to) shared memory by segment name."""

    def __init__(self, file, allocator: SegmentAllocator) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.allocator = allocator

    def reducer_override(self, obj):
        is_tensor = isinstance(obj, TensorBase)
        if is_tensor:
            if not (obj.is_cpu and not obj.requires_grad and obj.numel() > 0):
                return NotImplemented
            arr = obj.numpy()
        elif type(obj) is np.ndarray and obj.dtype.kind not in "OUSV" and obj.size > 0:
            arr = obj
        else:
            return NotImplemented
        seg = _segment_of(arr)
        if seg is None:
            if arr.nbytes < _MIN_SHM_BYTES:
                return NotImplemented
            # A batch made by a custom collate_fn: one copy into shared memory
            # still beats pickling through the pipe.
            dst = np.ndarray(arr.shape, arr.dtype, buffer=self.allocator.new(arr.nbytes))
            np.copyto(dst, arr)
            arr, seg = dst, _segment_of(dst)
        offset = arr.__array_interface__["data"][0] - seg.address
        return (_attach, (seg.name, len(seg), offset, arr.shape, arr.strides, arr.dtype.str, is_tensor))


def dumps(obj, allocator: Optional[SegmentAllocator]) -> bytes:
    buf = io.BytesIO()
    if allocator is None:
        pickle.dump(obj, buf, protocol=pickle.HIGHEST_PROTOCOL)
    else:
        _ShmPickler(buf, allocator).dump(obj)
    return buf.getvalue()


def unlink_segments(token: str) -> None:
    """Remove every segment of iterator ``token`` still in ``/dev/shm`` (batches never received)."""
    if not HAVE_SHM:
        return
    prefix = f"{SHM_PREFIX}{token}_"
    try:
        names = os.listdir(SHM_DIR)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix):
            try:
                os.unlink(os.path.join(SHM_DIR, name))
            except OSError:
                pass


# -- fetching ----------------------------------------------------------------

class Fetcher:
    """Turns one task (a batch of indices, an index, or ``None`` for iterables) into data."""

    def __init__(self, dataset, iterable: bool, auto_collation: bool, collate_fn, drop_last: bool,
                 batch_size: Optional[int], fast_tensors: Optional[tuple]) -> None:
        self.dataset = dataset
        self.iterable = iterable
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.batch_size = batch_size
        # numpy views of a TensorDataset's tensors when whole batches can be
        # gathered at once (identical to collating the samples one by one).
        self.fast_tensors = fast_tensors
        self.iterator = None
        self.exhausted = False
        self.current = None  # the index being fetched, for error messages

    def reset(self) -> None:
        self.iterator = None
        self.exhausted = False

    def fetch(self, task):
        if self.iterable:
            return self._fetch_iterable()
        if self.fast_tensors is not None and isinstance(task, np.ndarray):
            self.current = task
            return [from_numpy(np.take(a, task, axis=0, out=_out(a, len(task))))
                    for a in self.fast_tensors]
        if not self.auto_collation:
            self.current = task
            return self.collate_fn(self.dataset[task])
        indices = task.tolist() if isinstance(task, np.ndarray) else task
        getitems = getattr(self.dataset, "__getitems__", None)
        if getitems is not None:
            self.current = indices
            data = getitems(indices)
        else:
            data = []
            for i in indices:
                self.current = i
                data.append(self.dataset[i])
        self.current = indices
        return self.collate_fn(data)

    def _fetch_iterable(self):
        if self.exhausted:
            raise StopIteration
        if self.iterator is None:
            self.iterator = iter(self.dataset)
        if not self.auto_collation:
            try:
                return self.collate_fn(next(self.iterator))
            except StopIteration:
                self.exhausted = True
                raise
        data = []
        for item in self.iterator:
            data.append(item)
            if len(data) == self.batch_size:
                break
        if len(data) < self.batch_size:  # type: ignore[operator]
            self.exhausted = True
            if not data or self.drop_last:
                raise StopIteration
        return self.collate_fn(data)


def _out(a: np.ndarray, n: int):
    return _collate._alloc((n,) + a.shape[1:], a.dtype) if _collate._alloc is not None else None


# -- the worker process ---------------------------------------------------------

def worker_loop(fetcher: Fetcher, index_queue, result_conn, worker_id: int, num_workers: int,
                base_seed: int, init_fn, token: str, parent_pid: int, done_event) -> None:
    """Body of a worker process: take (idx, task) from ``index_queue``, send (idx, data) back."""
    global _worker_info
    from ... import set_num_threads
    from ...ops.random import manual_seed

    # One kernel thread per worker: the workers already use the cores, and a
    # forked OpenMP pool is not safe to reuse.
    set_num_threads(1)
    seed = base_seed + worker_id
    random.seed(seed)
    manual_seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed % 2 ** 64]).generate_state(4))
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=fetcher.dataset)
    allocator = SegmentAllocator(token, worker_id) if HAVE_SHM else None
    if allocator is not None:
        _collate._alloc = allocator.array

    init_error = None
    if init_fn is not None:
        try:
            init_fn(worker_id)
        except Exception:
            init_error = ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process {worker_id} "
                                          "(in worker_init_fn)")
    try:
        while True:
            try:
                task = index_queue.get(timeout=0.1)
            except queue.Empty:
                # Shut down, or the main process died: do not linger as an orphan.
                if done_event.is_set() or os.getppid() != parent_pid:
                    return
                continue
            if task is None:
                return
            idx, payload = task
            if idx == "reset":
                fetcher.reset()
                result_conn.send_bytes(dumps(("reset", payload), None))
                continue
            if init_error is not None:
                data: Any = init_error
            else:
                try:
                    data = fetcher.fetch(payload)
                except StopIteration:
                    data = STOP
                except Exception:
                    where = f"in DataLoader worker process {worker_id}"
                    if not fetcher.iterable:
                        where += f" while fetching index {_describe(fetcher.current)}"
                        if fetcher.auto_collation and fetcher.current is not payload:
                            where += f" (batch {_describe(payload)})"
                    data = ExceptionWrapper(sys.exc_info(), where)
            try:
                msg = dumps((idx, data), allocator)
            except Exception:
                msg = dumps((idx, ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process "
                                                   f"{worker_id} (sending the batch)")), None)
            del data
            result_conn.send_bytes(msg)
    except (BrokenPipeError, EOFError, OSError, KeyboardInterrupt):
        return  # the main process stopped listening
    finally:
        try:
            result_conn.close()
        except OSError:
            pass


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        x = x.tolist()
    text = repr(x)
    return text if len(text) <= 200 else text[:200] + "...]"
