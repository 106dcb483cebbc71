"""Saving and loading without pickle: :func:`save`, :func:`load` and safetensors interop.

A NeuraRust checkpoint is a `safetensors <https://huggingface.co/docs/safetensors>`_
file: an 8-byte little-endian header length ``N``, an ``N``-byte UTF-8 JSON
header mapping tensor names to ``{"dtype", "shape", "data_offsets"}``, then
the raw little-endian tensor bytes.  The header's ``"__metadata__"`` entry
holds ``{"format": "neurarust", "version": "1", "structure": "<json>"}``,
where ``structure`` describes the saved object (dicts with their key types
and order, lists, tuples, numbers, strings...) and points at tensors by name.
Loading therefore never runs code from the file, and any safetensors reader
(``safetensors.torch.load_file``, Hugging Face tools) can read the tensors.

Limits, on purpose:

- ``requires_grad`` and the ``Parameter`` class are not saved (as with
  PyTorch ``state_dict``\\ s): tensors load as plain leaf tensors.
- Tensors that share storage are saved as independent copies; views are
  saved as their own (contiguous) data.
- Tensors load on the CPU unless ``map_location`` says otherwise.
- Attributes attached to containers (e.g. an ``OrderedDict``'s
  ``_metadata``) are not saved; namedtuples load as tuples.

Example:
    >>> import os, tempfile
    >>> import neurarust as nr
    >>> from neurarust.serialization import save, load
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = os.path.join(d, "ckpt.safetensors")
    ...     save({"w": nr.ones(2), "epoch": 3, "betas": (0.9, 0.999)}, path)
    ...     print(load(path))
    {'w': tensor([1., 1.]), 'epoch': 3, 'betas': (0.9, 0.999)}
"""
from __future__ import annotations

import json
import math
import numbers
import os
import struct
import tempfile
from collections import OrderedDict
from typing import Any, BinaryIO, Callable, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from ._core.tensor_base import TensorBase
from .device import as_device, device as _Device
from .dtypes import as_dtype, dtype as _DType
from .errors import NeuraRustError

__all__ = [
    "save", "load", "load_state_dict_from_safetensors", "save_safetensors",
    "SerializationError", "UnsupportedObjectError",
]

FileLike = Union[str, "os.PathLike[str]", BinaryIO]

FORMAT_NAME = "neurarust"
FORMAT_VERSION = "1"
#: safetensors' own limit: a bigger header is refused before it is read.
MAX_HEADER_BYTES = 100_000_000
#: Nesting limit of saved structures, far above any state_dict, far below Python's stack.
MAX_DEPTH = 64
_MAX_NDIM = 64  # numpy's limit; also bounds the cost of checking a hostile shape
_CHUNK = 1 << 26  # reads from streams of unknown length grow by this much at most

# safetensors dtype code -> (NeuraRust dtype name, little-endian numpy dtype on disk)
_FROM_CODE: Dict[str, Tuple[str, np.dtype]] = {
    "BOOL": ("bool", np.dtype("|b1")), "U8": ("uint8", np.dtype("|u1")),
    "I8": ("int8", np.dtype("|i1")), "I16": ("int16", np.dtype("<i2")),
    "I32": ("int32", np.dtype("<i4")), "I64": ("int64", np.dtype("<i8")),
    "F16": ("float16", np.dtype("<f2")), "F32": ("float32", np.dtype("<f4")),
    "F64": ("float64", np.dtype("<f8")),
    # bfloat16 (common in Hugging Face checkpoints) is widened to float32 on load.
    "BF16": ("float32", np.dtype("<u2")),
}
_TO_CODE: Dict[str, str] = {name: code for code, (name, _) in _FROM_CODE.items() if code != "BF16"}
# Valid safetensors dtypes that NeuraRust has no dtype for: a clearer error than "unknown".
_KNOWN_UNSUPPORTED = ("U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3",
                      "F6_E3M2", "C64", "C128")


class SerializationError(NeuraRustError, ValueError, RuntimeError):
    """A file that cannot be loaded (truncated, corrupted, hostile, wrong version).

    Example:
        >>> import io
        >>> from neurarust.serialization import load, SerializationError
        >>> try:
        ...     load(io.BytesIO(b"abc"))
        ... except SerializationError as e:
        ...     print(e)
        cannot load <BytesIO>: truncated file: 3 bytes, shorter than the 8-byte header length
    """


class UnsupportedObjectError(SerializationError, TypeError):
    """:func:`save` was given an object it cannot store without pickle.

    Example:
        >>> import io
        >>> from neurarust.serialization import save, UnsupportedObjectError
        >>> try:
        ...     save({"f": print}, io.BytesIO())
        ... except UnsupportedObjectError as e:
        ...     print(e)
        save: cannot store an object of type builtin_function_or_method at 'f'; supported: tensors, dict, OrderedDict, list, tuple, int, float, str, bool, None, dtype, device
    """


# ------------------------------------------------------------------ encoding
def _le_array(t) -> np.ndarray:
    """The tensor's data as a C-contiguous little-endian array (a view when it already is)."""
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    arr = t.numpy()
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")
    little = arr.dtype.newbyteorder("<")
    return arr if arr.dtype == little else arr.astype(little)


class _Encoder:
    """Turns an object into JSON-able nodes, collecting its tensors under unique names."""

    def __init__(self):
        self.arrays: List[Tuple[str, np.ndarray]] = []
        self._names = set()
        self._open = set()  # ids of the containers on the current path: catches cycles

    def _name(self, path: Tuple[str, ...]) -> str:
        # Names follow the key path, so a flat state_dict keeps its keys (what torch expects).
        base = ".".join(path) if path else "tensor"
        name, k = base, 1
        while name in self._names or name == "__metadata__":
            name, k = f"{base}#{k}", k + 1
        self._names.add(name)
        return name

    def encode(self, obj: Any, path: Tuple[str, ...]) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, TensorBase):
            name = self._name(path)
            self.arrays.append((name, _le_array(obj)))
            return {"$tensor": name}
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, numbers.Integral):
            return int(obj)
        if isinstance(obj, numbers.Real):
            f = float(obj)
            # JSON has no nan/inf; repr of a finite float round-trips exactly.
            return f if math.isfinite(f) else {"$float": repr(f)}
        if isinstance(obj, _DType):
            return {"$dtype": obj.name}
        if isinstance(obj, _Device):
            return {"$device": str(obj)}
        if isinstance(obj, (dict, list, tuple)):
            if len(path) >= MAX_DEPTH or id(obj) in self._open:
                raise UnsupportedObjectError(
                    f"save: the object is nested more than {MAX_DEPTH} levels deep or contains "
                    f"itself (at '{'.'.join(path[:8])}...')")
            self._open.add(id(obj))
            try:
                return self._container(obj, path)
            finally:
                self._open.discard(id(obj))
        raise UnsupportedObjectError(
            f"save: cannot store an object of type {type(obj).__name__} at '{'.'.join(path)}'; "
            "supported: tensors, dict, OrderedDict, list, tuple, int, float, str, bool, None, "
            "dtype, device")

    def _container(self, obj, path):
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    raise UnsupportedObjectError(
                        f"save: dict keys must be str or int, got {type(key).__name__} {key!r} "
                        f"at '{'.'.join(path)}'")
                items.append([key, self.encode(value, path + (str(key),))])
            return {"$odict" if isinstance(obj, OrderedDict) else "$dict": items}
        items = [self.encode(v, path + (str(i),)) for i, v in enumerate(obj)]
        return items if isinstance(obj, list) else {"$tuple": items}


def _header_bytes(arrays: List[Tuple[str, np.ndarray]], metadata: Dict[str, str]):
    """The padded header and the arrays in file order (largest items first keeps them aligned)."""
    order = sorted(arrays, key=lambda na: -na[1].itemsize)  # stable: ties keep their order
    header: Dict[str, Any] = {"__metadata__": metadata}
    offset = 0
    for name, arr in order:
        header[name] = {"dtype": _TO_CODE[as_dtype(arr.dtype.newbyteorder("=")).name],
                        "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    raw = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    # Pad with spaces (valid JSON) so the data starts 8-byte aligned, as safetensors does.
    return raw + b" " * (-len(raw) % 8), [arr for _, arr in order]


def _write_container(f, header: bytes, arrays: List[np.ndarray]) -> None:
    f.write(struct.pack("<Q", len(header)))
    f.write(header)
    for arr in arrays:
        if arr.size:
            f.write(memoryview(arr.reshape(-1).view(np.uint8)))


def _umask_mode() -> int:
    # mkstemp creates 0600 files; give a new checkpoint the usual 0666 & ~umask instead.
    # Linux reports the umask without changing it (os.umask would, racily, for all threads).
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


def _atomic_write(path, header: bytes, arrays: List[np.ndarray]) -> None:
    """Write to a temporary file next to ``path``, fsync it, then rename it over ``path``."""
    target = os.path.realpath(os.fsdecode(os.fspath(path)))  # write through symlinks
    directory = os.path.dirname(target)
    try:
        mode = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        mode = _umask_mode()
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_container(f, header, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable; not every platform can open a directory
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _write(f: FileLike, arrays, metadata: Dict[str, str]) -> None:
    header, ordered = _header_bytes(arrays, metadata)
    if isinstance(f, (str, bytes, os.PathLike)):
        _atomic_write(f, header, ordered)
    elif hasattr(f, "write"):
        _write_container(f, header, ordered)
    else:
        raise TypeError(f"save: expected a path or a binary file object, got {type(f).__name__}")


def save(obj: Any, f: FileLike, pickle_module: Any = None, pickle_protocol: Any = None) -> None:
    """Save ``obj`` (tensors in nested dicts/lists/tuples, numbers, strings...) to ``f``.

    ``f`` is a path or a binary file object.  A path is written atomically: to
    a temporary file in the same directory, flushed and fsynced, then renamed
    over ``f``, so a crash never leaves a half-written checkpoint and the old
    file survives any failure.  The file is a safetensors file (see the module
    documentation); a flat ``state_dict`` keeps its keys as tensor names, so
    ``safetensors.torch.load_file`` reads it straight into a PyTorch model.
    ``requires_grad`` is not saved.  ``pickle_module`` and ``pickle_protocol``
    are accepted for PyTorch compatibility and ignored: nothing is pickled.

    Example:
        >>> import io
        >>> import neurarust as nr
        >>> from neurarust.serialization import save, load
        >>> buf = io.BytesIO()
        >>> save({"state": {0: {"step": 2, "m": nr.zeros(2)}}, "lr": float("inf")}, buf)
        >>> _ = buf.seek(0); load(buf)
        {'state': {0: {'step': 2, 'm': tensor([0., 0.])}}, 'lr': inf}
    """
    encoder = _Encoder()
    structure = encoder.encode(obj, ())  # fails before anything is written
    metadata = {"format": FORMAT_NAME, "version": FORMAT_VERSION,
                "structure": json.dumps(structure, separators=(",", ":"), allow_nan=False)}
    _write(f, encoder.arrays, metadata)


def save_safetensors(tensors: Mapping[str, Any], f: FileLike,
                     metadata: Optional[Mapping[str, str]] = None) -> None:
    """Save a flat ``{name: tensor}`` dict as a plain safetensors file (like ``safetensors.torch.save_file``).

    Example:
        >>> import io
        >>> import neurarust as nr
        >>> from neurarust.serialization import save_safetensors, load_state_dict_from_safetensors
        >>> buf = io.BytesIO(); save_safetensors({"w": nr.eye(2)}, buf, {"format": "pt"})
        >>> _ = buf.seek(0); load_state_dict_from_safetensors(buf)
        {'w': tensor([[1., 0.],
                [0., 1.]])}
    """
    meta = dict(metadata or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise TypeError("save_safetensors: metadata must map str to str")
    arrays = []
    for name, t in tensors.items():
        if not isinstance(name, str) or name == "__metadata__" or not isinstance(t, TensorBase):
            raise UnsupportedObjectError(
                f"save_safetensors: expected str names (not '__metadata__') mapped to tensors, got "
                f"{name!r}: {type(t).__name__}")
        arrays.append((name, _le_array(t)))
    _write(f, arrays, meta)


# ------------------------------------------------------------------ decoding
def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(text: str, what: str, fail: Callable[[str], Exception]):
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except RecursionError:
        raise fail(f"{what} is nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, duplicate keys, over-long integers
        raise fail(f"{what} is not valid JSON ({e})") from None


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _check_header(header: Any, fail) -> Tuple[List[tuple], Dict[str, str]]:
    """Validate a parsed header; return its entries (header order) and metadata."""
    if not isinstance(header, dict):
        raise fail(f"the header is a JSON {type(header).__name__}, expected an object")
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
            isinstance(v, str) for v in metadata.values()):
        raise fail("'__metadata__' must be an object mapping strings to strings")
    entries = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        where = f"tensor {name!r}"
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys():
            raise fail(f"{where}: expected an object with 'dtype', 'shape' and 'data_offsets'")
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(code, str) or code not in _FROM_CODE:
            if code in _KNOWN_UNSUPPORTED:
                raise fail(f"{where}: dtype {code} is not supported by NeuraRust")
            raise fail(f"{where}: unknown dtype {code!r} (expected one of {', '.join(_FROM_CODE)})")
        if not isinstance(shape, list) or len(shape) > _MAX_NDIM or not all(map(_is_int, shape)):
            raise fail(f"{where}: shape must be a list of at most {_MAX_NDIM} integers, got {shape!r}"[:300])
        if any(n < 0 for n in shape):
            raise fail(f"{where}: negative dimension in shape {shape}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_int, offsets))
                and 0 <= offsets[0] <= offsets[1]):
            raise fail(f"{where}: data_offsets must be [begin, end] with 0 <= begin <= end, "
                       f"got {offsets!r}"[:300])
        numel = math.prod(shape)
        nbytes = numel * _FROM_CODE[code][1].itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise fail(f"{where}: shape {shape} of dtype {code} needs {nbytes} bytes but "
                       f"data_offsets {offsets} span {offsets[1] - offsets[0]}")
        entries.append((name, code, tuple(shape), offsets[0], offsets[1]))
    # safetensors requires the tensors to tile the data section: no gaps, no overlaps.
    expected, previous = 0, None
    for name, _, _, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin < expected:
            raise fail(f"tensors {previous!r} and {name!r} overlap (data_offsets {begin} < {expected})")
        if begin > expected:
            raise fail(f"gap in the data section: bytes {expected}..{begin} belong to no tensor "
                       f"(before {name!r})")
        expected, previous = end, name
    return entries, metadata


def _source_name(f) -> str:
    if isinstance(f, (str, bytes, os.PathLike)):
        return repr(os.fsdecode(os.fspath(f)))
    name = getattr(f, "name", None)
    return repr(name) if isinstance(name, str) else f"<{type(f).__name__}>"


def _remaining(f) -> Optional[int]:
    """Bytes left in ``f`` when it can tell (regular files, BytesIO), else None."""
    try:
        if f.seekable():
            here = f.tell()
            end = f.seek(0, os.SEEK_END)
            f.seek(here)
            return end - here
    except (AttributeError, OSError, ValueError):
        pass
    return None


def _read(f, n: int, known: bool, fail, what: str):
    """Read exactly ``n`` bytes into a writable uint8 array; a short read is a truncation."""
    if known:  # the size was checked against the file: one allocation, one read
        buf = np.empty(n, np.uint8)
        view, got = memoryview(buf), 0
        readinto = getattr(f, "readinto", None)
        while got < n:
            if readinto is not None:
                k = readinto(view[got:])
            else:
                chunk = f.read(n - got)
                _check_bytes(chunk, fail)
                k = len(chunk)
                view[got:got + k] = chunk
            if not k:
                break
            got += k
    else:  # unknown length: grow chunk by chunk so a lying header cannot make us allocate
        parts, got = [], 0
        while got < n:
            chunk = f.read(min(_CHUNK, n - got))
            _check_bytes(chunk, fail)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        buf = np.frombuffer(b"".join(parts), np.uint8)
    if got < n:
        raise fail(f"truncated file: {what} needs {n} bytes but only {got} could be read")
    return buf


def _check_bytes(chunk, fail) -> None:
    if not isinstance(chunk, (bytes, bytearray, memoryview)):
        raise fail(f"expected a binary file object, read {type(chunk).__name__}")


def _read_file(f, fail, whole_file: bool) -> Tuple[Dict[str, Any], Dict[str, str], List[str]]:
    """Read and validate a container; return {name: ndarray}, metadata, names in header order.

    ``whole_file``: the container must fill ``f`` (a path); a stream may hold more after it.
    """
    size = _remaining(f)
    first = f.read(8)
    _check_bytes(first, fail)
    if len(first) < 8:
        raise fail(f"truncated file: {len(first)} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", first)
    if size is not None and n > size - 8:
        raise fail(f"header length {n} is larger than the file ({size} bytes)" + _pickle_hint(first))
    if n > MAX_HEADER_BYTES:
        raise fail(f"header length {n} exceeds the {MAX_HEADER_BYTES}-byte limit" + _pickle_hint(first))
    raw = _read(f, n, size is not None, fail, "the header").tobytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise fail(f"the header is not valid UTF-8 ({e.reason} at byte {e.start})"
                   + _pickle_hint(first)) from None
    entries, metadata = _check_header(_parse_json(text, "the header", fail), fail)
    data_len = max((e[4] for e in entries), default=0)
    if size is not None:
        available = size - 8 - n
        if data_len > available:
            raise fail(f"truncated file: the header declares {data_len} bytes of tensor data but "
                       f"only {available} follow it")
        if data_len < available and whole_file:
            raise fail(f"{available - data_len} unexpected bytes after the tensor data")
    data = _read(f, data_len, size is not None, fail, "the tensor data")
    arrays = {}
    for name, code, shape, begin, end in entries:
        dt_name, disk = _FROM_CODE[code]
        native = np.dtype(dt_name)
        count = (end - begin) // disk.itemsize
        if count == 0:
            arr = np.empty(shape, native)
        elif code == "BF16":  # bfloat16 is the top half of a float32
            arr = np.empty(shape, np.float32)
            np.left_shift(np.frombuffer(data, disk, count, begin).reshape(shape), 16,
                          out=arr.view(np.uint32), dtype=np.uint32)
        else:  # the one copy: owned, aligned, writable, native byte order
            arr = np.frombuffer(data, disk, count, begin).reshape(shape).astype(native)
        arrays[name] = arr
    return arrays, metadata, [e[0] for e in entries]


def _pickle_hint(first: bytes) -> str:
    # A zip (torch.save's format) or a pickle of protocol 2-5 (the legacy format).
    if first.startswith(b"PK\x03\x04") or (first[:1] == b"\x80" and 2 <= first[1] <= 5):
        return ("; this looks like a pickle-based PyTorch checkpoint (torch.save), which NeuraRust "
                "never unpickles: convert it with safetensors.torch.save_file")
    return ""


def _read_source(f):
    """``_read_file`` on a path or a file object, with errors naming it."""
    src = _source_name(f)

    def fail(problem: str) -> SerializationError:
        return SerializationError(f"cannot load {src}: {problem}")

    if isinstance(f, (str, bytes, os.PathLike)):
        with open(f, "rb") as raw:
            return _read_file(raw, fail, True) + (fail,)
    if not hasattr(f, "read"):
        raise TypeError(f"load: expected a path or a binary file object, got {type(f).__name__}")
    return _read_file(f, fail, False) + (fail,)


def _decode(node: Any, tensors: Dict[str, Any], depth: int, fail) -> Any:
    if node is None or isinstance(node, (bool, str, int, float)):
        return node
    if depth >= MAX_DEPTH:
        raise fail(f"the structure is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, list):
        return [_decode(x, tensors, depth + 1, fail) for x in node]
    if not isinstance(node, dict) or len(node) != 1:
        raise fail(f"malformed structure node {str(node)[:80]}")
    ((tag, value),) = node.items()
    if tag == "$tensor":
        if not isinstance(value, str) or value not in tensors:
            raise fail(f"the structure refers to tensor {str(value)[:80]!r}, which is not in the file")
        return tensors[value]
    if tag == "$float" and value in ("nan", "inf", "-inf"):
        return float(value)
    if tag == "$tuple" and isinstance(value, list):
        return tuple(_decode(x, tensors, depth + 1, fail) for x in value)
    if tag in ("$dict", "$odict") and isinstance(value, list):
        out = OrderedDict() if tag == "$odict" else {}
        for item in value:
            if (not isinstance(item, list) or len(item) != 2 or isinstance(item[0], bool)
                    or not isinstance(item[0], (str, int))):
                raise fail(f"malformed dict item {str(item)[:80]} in the structure")
            out[item[0]] = _decode(item[1], tensors, depth + 1, fail)
        return out
    if tag == "$dtype" and isinstance(value, str) and value in _TO_CODE:
        return as_dtype(value)
    if tag == "$device" and isinstance(value, str):
        try:
            return _Device(value)
        except NeuraRustError as e:
            raise fail(f"bad device in the structure: {e}") from None
    raise fail(f"malformed structure node {str(node)[:80]}")


def _mover(map_location) -> Optional[Callable[[Any], Any]]:
    """A function placing each loaded (CPU) tensor, or None to leave them on the CPU."""
    if map_location is None:
        return None
    if callable(map_location) and not isinstance(map_location, (str, _Device)):
        # torch's form: fn(storage, location) -> storage or None (None: keep the default).
        return lambda t: (lambda r: t if r is None else r)(map_location(t, "cpu"))
    if isinstance(map_location, dict):
        map_location = map_location.get("cpu")
        if map_location is None:
            return None
    dev = as_device(map_location)
    return lambda t: t.to(dev)


def _load_parts(f, map_location):
    from .ops.creation import from_numpy

    arrays, metadata, order, fail = _read_source(f)
    move = _mover(map_location)
    tensors = {}
    for name in order:
        t = from_numpy(arrays[name])
        tensors[name] = t if move is None else move(t)
    structure = None
    if metadata.get("format") == FORMAT_NAME:
        if metadata.get("version") != FORMAT_VERSION:
            raise fail(f"unsupported {FORMAT_NAME} format version {metadata.get('version')!r} "
                       f"(this NeuraRust reads version {FORMAT_VERSION})")
        if "structure" not in metadata:
            raise fail("the metadata has no 'structure' entry")
        node = _parse_json(metadata["structure"], "the structure", fail)
        structure = (_decode(node, tensors, 0, fail),)
    return tensors, structure


def load(f: FileLike, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool = True, mmap: Any = None) -> Any:
    """Load an object saved by :func:`save`, or a safetensors file as a ``{name: tensor}`` dict.

    Nothing from the file is ever executed (no pickle), whatever
    ``weights_only`` says; a truncated, corrupted, hostile or wrong-version
    file raises :class:`SerializationError` naming the file and the problem,
    and sizes are checked against the file before memory is allocated.
    Tensors are read in one read and copied once into tensors that own their
    memory.  They load on the CPU, then are moved by ``map_location``: a
    device or string (``'cpu'``), a dict ``{'cpu': target}``, or a callable
    ``fn(tensor, 'cpu')`` returning the tensor to use (``None`` keeps it).
    ``mmap`` is accepted for PyTorch compatibility and ignored;
    ``pickle_module`` must be None.

    Example:
        >>> import io
        >>> import neurarust as nr
        >>> from neurarust.serialization import save, load
        >>> buf = io.BytesIO(); save([nr.tensor(2), (None, "x")], buf)
        >>> _ = buf.seek(0); load(buf, map_location="cpu")
        [tensor(2), (None, 'x')]
    """
    if pickle_module is not None:
        raise TypeError("load: NeuraRust never unpickles; pickle_module must be None")
    tensors, structure = _load_parts(f, map_location)
    return dict(tensors) if structure is None else structure[0]


def load_state_dict_from_safetensors(path_or_file: FileLike, model: Any = None, strict: bool = True,
                                     *, map_location: Any = None) -> Dict[str, Any]:
    """Read a ``.safetensors`` file (PyTorch, Hugging Face or NeuraRust) into a ``{name: tensor}`` dict.

    If ``model`` is given, ``model.load_state_dict(state_dict, strict=strict)``
    is called too.  Returns the dict.  bfloat16 tensors are widened to float32.

    Example:
        >>> import io
        >>> import neurarust as nr
        >>> from neurarust.serialization import save, load_state_dict_from_safetensors
        >>> buf = io.BytesIO(); save({"bias": nr.zeros(1), "weight": nr.ones(1, 1)}, buf)
        >>> _ = buf.seek(0); sorted(load_state_dict_from_safetensors(buf))
        ['bias', 'weight']
    """
    tensors, structure = _load_parts(path_or_file, map_location)
    state = tensors
    if structure is not None:
        value = structure[0]
        # A NeuraRust-saved state_dict: keep its key order; anything else: the tensors by name.
        if isinstance(value, dict) and all(
                isinstance(k, str) and isinstance(v, TensorBase) for k, v in value.items()):
            state = value
    if model is not None:
        model.load_state_dict(state, strict=strict)
    return state
