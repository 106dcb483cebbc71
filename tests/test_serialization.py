"""save / load: round trips, safetensors interop, hostile files and atomic writes.

References are NumPy arrays and hand-built Python objects; the interop tests
read and write with the ``safetensors`` package (NumPy flavour, and the torch
flavour when torch is importable) and skip without it.
"""
import io
import json
import math
import os
import random
import struct
from collections import OrderedDict

import numpy as np
import pytest

import neurarust as nr
from neurarust import serialization as S
from neurarust.serialization import (SerializationError, UnsupportedObjectError, load,
                                     load_state_dict_from_safetensors, save, save_safetensors)

ALL_DTYPES = [nr.bool, nr.uint8, nr.int8, nr.int16, nr.int32, nr.int64, nr.float16, nr.float32,
              nr.float64]


def sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape) * 50
    if dtype is nr.bool:
        return a > 0
    if dtype is nr.uint8:
        return np.abs(a).astype(np.uint8)
    return a.astype(dtype.numpy)


def roundtrip(obj, **kw):
    buf = io.BytesIO()
    save(obj, buf)
    buf.seek(0)
    return load(buf, **kw)


def assert_same(a, b):
    """Deep equality with exact types: tensors by dtype/shape/values, floats nan-aware."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, nr.Tensor):
        assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        assert [type(k) for k in a] == [type(k) for k in b]
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (5,), (2, 3, 4)], ids=str)
def test_tensor_roundtrip_every_dtype_and_shape(dtype, shape):
    ref = sample(dtype, shape)
    out = roundtrip(nr.tensor(ref))
    assert out.dtype == dtype and tuple(out.shape) == shape
    np.testing.assert_array_equal(out.numpy(), ref)
    assert out.is_contiguous() and out.numpy().flags.writeable and out.numpy().flags.owndata


@pytest.mark.parametrize("dtype", [nr.float32, nr.int16, nr.bool], ids=str)
def test_non_contiguous_views_roundtrip(dtype):
    ref = sample(dtype, (4, 6), seed=1)
    base = nr.tensor(ref)
    views = [base.t(), base[:, 1::2], base[1:3], base.t()[::2], base[2, 1:4]]
    refs = [ref.T, ref[:, 1::2], ref[1:3], ref.T[::2], ref[2, 1:4]]
    assert not base.t().is_contiguous()
    out = roundtrip(views)
    for got, want in zip(out, refs):
        np.testing.assert_array_equal(got.numpy(), want)
        assert got.is_contiguous()
    out[0][0, 0] = out[1][0, 0]  # shared storage is saved as independent copies
    np.testing.assert_array_equal(out[2].numpy(), ref[1:3])


def test_python_values_roundtrip_with_exact_types():
    obj = {
        "none": None, "t": True, "f": False, "int": -7, "big": 2 ** 80, "float": 0.1,
        "tiny": 5e-324, "huge": 1.7976931348623157e308, "nan": float("nan"),
        "inf": float("inf"), "-inf": float("-inf"), "neg0": -0.0, "one": 1.0,
        "str": "héllo \u2603 \"quoted\" \\ {$tensor}", "empty": "", "list": [1, [2, [3]]],
        "tuple": (1, (2.0, ("x",))), "mixed": [(1, [2]), ([3], (4,))], "empty_seq": ([], ()),
        "dtype": nr.float16, "device": nr.device("cpu"),
    }
    out = roundtrip(obj)
    assert_same(out, obj)
    assert math.copysign(1.0, out["neg0"]) == -1.0


def test_numpy_scalars_become_python_numbers():
    out = roundtrip([np.int64(3), np.float32(0.5), np.bool_(True)])
    assert_same(out, [3, 0.5, True])


def test_dict_key_types_and_order_are_kept():
    od = OrderedDict([("z", 1), ("a", 2), ("m", 3)])
    obj = {3: "three", 1: "one", "1": "string one", -2: od, "nested": {0: {1: {2: []}}}}
    out = roundtrip(obj)
    assert_same(out, obj)
    assert type(out[-2]) is OrderedDict and list(out[-2]) == ["z", "a", "m"]
    assert 1 in out and "1" in out and out[1] != out["1"]


def test_optimizer_state_dict_with_int_keys():
    sd = {
        "state": {0: {"step": nr.tensor(3.0), "exp_avg": nr.ones(2, 2), "exp_avg_sq": nr.zeros(2, 2)},
                  1: {"step": nr.tensor(3.0), "exp_avg": nr.ones(2), "exp_avg_sq": nr.zeros(2)}},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                          "amsgrad": False, "maximize": False, "foreach": None, "params": [0, 1]}],
    }
    assert_same(roundtrip(sd), sd)


def test_scheduler_like_state_dict():
    sd = {"base_lrs": [0.1, 0.01], "last_epoch": 5, "_step_count": 6, "verbose": False,
          "_last_lr": [0.05, 0.005], "best": float("inf"), "mode": "min", "_schedulers": [
              {"last_epoch": 2, "factor": 1 / 3}]}
    assert_same(roundtrip(sd), sd)


def test_module_state_dict_keeps_key_order_and_names(tmp_path):
    sd = OrderedDict([("0.weight", nr.randn(3, 4)), ("0.bias", nr.randn(3)),
                      ("bn.num_batches_tracked", nr.tensor(7)), ("2.weight", nr.randn(2, 3))])
    path = tmp_path / "model.safetensors"
    save(sd, path)
    out = load(str(path))
    assert_same(out, sd)
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    assert n % 8 == 0
    assert set(header) == {"__metadata__", *sd}  # tensor names are the state_dict keys
    meta = header["__metadata__"]
    assert meta["format"] == "neurarust" and meta["version"] == "1"
    for name, info in header.items():
        if name != "__metadata__":  # each tensor starts aligned to its item size
            assert info["data_offsets"][0] % sd[name].element_size() == 0


def test_names_stay_unique_for_colliding_paths():
    obj = {"a.b": nr.ones(1), "a": {"b": nr.zeros(1)}, 1: nr.full((1,), 2.0), "1": nr.full((1,), 3.0),
           "__metadata__": nr.full((1,), 4.0)}
    assert_same(roundtrip(obj), obj)


def test_top_level_tensor_and_tensor_free_objects():
    assert_same(roundtrip(nr.arange(5)), nr.arange(5))
    assert_same(roundtrip(None), None)
    assert_same(roundtrip({}), {})


def test_requires_grad_is_not_preserved():
    w = nr.randn(2, requires_grad=True)
    out = roundtrip({"w": w})["w"]
    assert not out.requires_grad and out.grad_fn is None
    np.testing.assert_array_equal(out.numpy(), w.detach().numpy())


def test_the_same_tensor_twice_loads_as_equal_copies():
    t = nr.arange(3)
    a, b = roundtrip([t, t])
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_paths_pathlike_and_real_file_objects(tmp_path):
    obj = {"x": nr.arange(4.0)}
    save(obj, str(tmp_path / "a.nr"))
    save(obj, tmp_path / "b.nr")
    with open(tmp_path / "c.nr", "wb") as f:
        save(obj, f)
    for name in ("a.nr", "b.nr", "c.nr"):
        assert_same(load(tmp_path / name), obj)
        with open(tmp_path / name, "rb") as f:
            assert_same(load(f), obj)


def test_two_objects_in_one_stream():
    buf = io.BytesIO()
    save([1, nr.ones(1)], buf)
    save({"b": nr.zeros(2)}, buf)
    buf.seek(0)
    assert_same(load(buf), [1, nr.ones(1)])
    assert_same(load(buf), {"b": nr.zeros(2)})


# ------------------------------------------------------------------ map_location
def test_map_location_forms():
    obj = {"w": nr.arange(3.0)}
    for loc in (None, "cpu", nr.device("cpu"), {"cpu": "cpu"}, {"cuda:0": "cpu"},
                lambda storage, loc: storage):
        assert_same(roundtrip(obj, map_location=loc), obj)
    seen = []
    out = roundtrip(obj, map_location=lambda t, loc: seen.append(loc) or t.double())
    assert seen == ["cpu"] and out["w"].dtype == nr.float64


def test_map_location_to_an_unavailable_device_raises():
    with pytest.raises(nr.DeviceError):
        roundtrip({"w": nr.ones(1)}, map_location="cuda")


def test_pickle_module_is_refused():
    buf = io.BytesIO()
    save(1, buf)
    buf.seek(0)
    with pytest.raises(TypeError, match="never unpickles"):
        load(buf, None, __import__("pickle"))


# ------------------------------------------------------------------ unsupported objects
@pytest.mark.parametrize("obj", [{"f": print}, [1, {2.5: 1}], {True: 1}, {(1, 2): 3}, {1, 2},
                                 b"bytes", 1 + 2j, np.zeros(2), [object()]], ids=repr)
def test_unsupported_objects_raise_before_writing(obj):
    buf = io.BytesIO()
    with pytest.raises(UnsupportedObjectError) as info:
        save(obj, buf)
    assert isinstance(info.value, TypeError) and buf.getvalue() == b""


def test_cycles_and_deep_nesting_are_refused_on_save():
    cyclic = []
    cyclic.append(cyclic)
    deep = []
    for _ in range(S.MAX_DEPTH + 1):
        deep = [deep]
    for obj in (cyclic, deep):
        with pytest.raises(UnsupportedObjectError, match="nested more than"):
            save(obj, io.BytesIO())
    ok = []
    for _ in range(S.MAX_DEPTH - 1):
        ok = {"k": (ok,)} if len(str(ok)) % 2 else [ok]
    assert_same(roundtrip(ok), ok)


def test_save_rejects_non_files():
    with pytest.raises(TypeError, match="path or a binary file"):
        save(1, 42)
    with pytest.raises(TypeError, match="path or a binary file"):
        load(42)


# ------------------------------------------------------------------ safetensors interop
def test_safetensors_numpy_reads_our_files_and_we_read_its(tmp_path):
    stn = pytest.importorskip("safetensors.numpy")
    sd = {name: nr.tensor(sample(dt, (2, 3), seed=i)) for i, (name, dt) in enumerate(
        [("a.f32", nr.float32), ("b.f64", nr.float64), ("c.f16", nr.float16), ("d.i64", nr.int64),
         ("e.i32", nr.int32), ("f.i16", nr.int16), ("g.i8", nr.int8), ("h.u8", nr.uint8),
         ("i.bool", nr.bool)])}
    sd["scalar"] = nr.tensor(1.5)
    sd["empty"] = nr.zeros(0, 4)
    save(sd, tmp_path / "ours.safetensors")
    theirs = stn.load_file(str(tmp_path / "ours.safetensors"))
    assert set(theirs) == set(sd)
    for k, t in sd.items():
        assert theirs[k].dtype == t.dtype.numpy and theirs[k].shape == tuple(t.shape)
        np.testing.assert_array_equal(theirs[k], t.numpy())
    stn.save_file({k: v.numpy() for k, v in sd.items()}, str(tmp_path / "theirs.safetensors"),
                  metadata={"format": "np"})
    back = load(tmp_path / "theirs.safetensors")
    assert type(back) is dict and set(back) == set(sd)
    for k, t in sd.items():
        assert_same(back[k], t)
    assert set(load_state_dict_from_safetensors(tmp_path / "theirs.safetensors")) == set(sd)


def test_structured_file_is_still_readable_by_safetensors(tmp_path):
    stn = pytest.importorskip("safetensors.numpy")
    save({"state": {0: {"m": nr.ones(2)}}, "lr": 0.1}, tmp_path / "opt.safetensors")
    flat = stn.load_file(str(tmp_path / "opt.safetensors"))
    np.testing.assert_array_equal(flat["state.0.m"], np.ones(2, np.float32))


def test_save_safetensors_writes_plain_files(tmp_path):
    stn = pytest.importorskip("safetensors.numpy")
    save_safetensors({"w": nr.eye(3), "b": nr.arange(3)}, tmp_path / "p.safetensors", {"format": "pt"})
    got = stn.load_file(str(tmp_path / "p.safetensors"))
    np.testing.assert_array_equal(got["w"], np.eye(3, dtype=np.float32))
    np.testing.assert_array_equal(got["b"], np.arange(3))
    with pytest.raises(UnsupportedObjectError):
        save_safetensors({"w": 1.0}, io.BytesIO())


def test_torch_model_loads_a_neurarust_state_dict_and_back(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.BatchNorm1d(3),
                                torch.nn.Linear(3, 2)).eval()
    ref = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    # A NeuraRust state_dict with the same names (fresh values), loaded into torch.
    ours = OrderedDict((k, nr.tensor(sample(nr.as_tensor(v).dtype, v.shape, seed=i)))
                       for i, (k, v) in enumerate(ref.items()))
    save(ours, tmp_path / "nr.safetensors")
    model.load_state_dict(st.load_file(str(tmp_path / "nr.safetensors")), strict=True)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), ours[k].numpy())
    # And torch's file back into a dict of NeuraRust tensors.
    st.save_file(model.state_dict(), str(tmp_path / "torch.safetensors"))
    calls = []

    class FakeModel:
        def load_state_dict(self, sd, strict=True):
            calls.append((sd, strict))

    sd = load_state_dict_from_safetensors(tmp_path / "torch.safetensors", FakeModel(), strict=False)
    assert calls == [(sd, False)] and set(sd) == set(ref)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(sd[k].numpy(), v.numpy())


def test_bfloat16_from_torch_is_widened_to_float32(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    x = torch.tensor([1.0, -2.5, 3.140625, float("inf")]).to(torch.bfloat16)
    st.save_file({"x": x}, str(tmp_path / "bf.safetensors"))
    got = load(tmp_path / "bf.safetensors")["x"]
    assert got.dtype == nr.float32
    np.testing.assert_array_equal(got.numpy(), x.float().numpy())


def test_real_module_roundtrip_through_safetensors(tmp_path):
    nn = pytest.importorskip("neurarust.nn")
    if not hasattr(nn, "Linear") or not hasattr(nn, "Sequential"):
        pytest.skip("neurarust.nn has no Linear/Sequential yet")
    a = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    b = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    save(a.state_dict(), tmp_path / "m.safetensors")
    load_state_dict_from_safetensors(tmp_path / "m.safetensors", b)
    x = nr.randn(5, 4)
    with nr.no_grad():
        np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


# ------------------------------------------------------------------ bad and hostile files
def container(header, data=b"", length=None):
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def nr_meta(structure, version="1"):
    return {"format": "neurarust", "version": version, "structure": json.dumps(structure)}


class Stream(io.RawIOBase):
    """A non-seekable stream: the loader cannot learn its length in advance."""

    def __init__(self, data):
        self._buf = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, b):
        return self._buf.readinto(b)


BAD_FILES = {
    "empty file": (b"", "truncated file"),
    "short length": (b"\x10\x00\x00", "truncated file"),
    "header longer than file": (container({}, length=1000), "header length 1000 is larger"),
    "header over limit": (container({}, length=2 ** 63), "is larger than the file"),
    "not utf-8": (container(b'{"a\xff": 1}'), "not valid UTF-8"),
    "not json": (container(b"{hello"), "not valid JSON"),
    "nan constant": (container(b'{"x": {"dtype": "F32", "shape": [NaN]}}'), "not valid JSON"),
    "header is a list": (container([1, 2]), "JSON list, expected an object"),
    "header is a number": (container(b"7"), "JSON int, expected an object"),
    "deeply nested header": (container(b"[" * 100000 + b"]" * 100000), "nested too deeply"),
    "duplicate names": (container(b'{"a": 1, "a": 2}'), "duplicate key"),
    "entry not an object": (container({"w": [1]}), "expected an object with"),
    "unknown dtype": (container({"w": entry("X9", [1], 0, 4)}, b"\0" * 4), "unknown dtype 'X9'"),
    "dtype not a string": (container({"w": entry(["F32"], [1], 0, 4)}, b"\0" * 4), "unknown dtype"),
    "unsupported dtype": (container({"w": entry("U32", [1], 0, 4)}, b"\0" * 4), "U32 is not supported"),
    "shape not a list": (container({"w": entry("F32", 4, 0, 16)}, b"\0" * 16), "shape must be"),
    "float dim": (container({"w": entry("F32", [2.0], 0, 8)}, b"\0" * 8), "shape must be"),
    "bool dim": (container({"w": entry("U8", [True], 0, 1)}, b"\0"), "shape must be"),
    "too many dims": (container({"w": entry("U8", [1] * 65, 0, 1)}, b"\0"), "at most 64"),
    "negative dim": (container({"w": entry("F32", [-1, 4], 0, 16)}, b"\0" * 16), "negative dimension"),
    "size mismatch": (container({"w": entry("F32", [3], 0, 8)}, b"\0" * 8), "needs 12 bytes"),
    "bad offsets": (container({"w": entry("F32", [1], 8, 4)}, b"\0" * 8), "data_offsets must be"),
    "negative offset": (container({"w": entry("U8", [1], -1, 0)}, b"\0"), "data_offsets must be"),
    "overlap": (container({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 4, 12)}, b"\0" * 12),
                "overlap"),
    "gap": (container({"a": entry("F32", [1], 0, 4), "b": entry("F32", [1], 8, 12)}, b"\0" * 12),
            "gap in the data section"),
    "gap at start": (container({"a": entry("F32", [1], 4, 8)}, b"\0" * 8), "gap in the data"),
    "offsets past the end": (container({"a": entry("F32", [4], 0, 16)}, b"\0" * 8),
                             "declares 16 bytes of tensor data but only 8"),
    "huge declared shape": (container({"a": entry("F64", [2 ** 31, 2 ** 31], 0, 2 ** 65)}, b"\0" * 8),
                            "declares 36893488147419103232 bytes"),
    "bad metadata": (container({"__metadata__": {"k": 1}}), "mapping strings to strings"),
    "wrong version": (container({"__metadata__": nr_meta(None, "2")}), "format version '2'"),
    "missing structure": (container({"__metadata__": {"format": "neurarust", "version": "1"}}),
                          "no 'structure'"),
    "structure not json": (container({"__metadata__": {"format": "neurarust", "version": "1",
                                                       "structure": "{oops"}}), "structure is not valid"),
    "missing tensor": (container({"__metadata__": nr_meta({"$tensor": "nope"})}), "'nope', which is not"),
    "tensor ref not a string": (container({"__metadata__": nr_meta({"$tensor": 3})}), "refers to tensor"),
    "unknown tag": (container({"__metadata__": nr_meta({"$pickle": "os.system"})}), "malformed structure"),
    "two tags": (container({"__metadata__": nr_meta({"$tuple": [], "$dict": []})}), "malformed structure"),
    "bad dict item": (container({"__metadata__": nr_meta({"$dict": [[1.5, 2]]})}), "malformed dict item"),
    "bad float tag": (container({"__metadata__": nr_meta({"$float": "1e999"})}), "malformed structure"),
    "bad dtype tag": (container({"__metadata__": nr_meta({"$dtype": "complex64"})}), "malformed"),
    "dtype tag not a string": (container({"__metadata__": nr_meta({"$dtype": []})}), "malformed"),
    "bad device tag": (container({"__metadata__": nr_meta({"$device": "tpu"})}), "bad device"),
    "deep structure": (container({"__metadata__": nr_meta(json.loads("[" * 80 + "]" * 80))}),
                       "nested more than 64"),
    "very deep structure": (container({"__metadata__": {"format": "neurarust", "version": "1",
                                                        "structure": "[" * 50000 + "]" * 50000}}),
                            "nested too deeply"),
    "torch zip checkpoint": (b"PK\x03\x04" + b"\0" * 60, "pickle-based PyTorch checkpoint"),
    "legacy torch pickle": (b"\x80\x02\x8a\x0alZ\xfc\x9cF\xf9 j\xa8P\x19." + b"\0" * 40,
                            "pickle-based PyTorch checkpoint"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_raise_a_clear_error(name, tmp_path):
    data, message = BAD_FILES[name]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    for src, shown in ((str(path), str(path)), (io.BytesIO(data), "<BytesIO>")):
        with pytest.raises(SerializationError) as info:
            load(src)
        assert message in str(info.value) and shown in str(info.value)
        assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)
        assert isinstance(info.value, nr.NeuraRustError)
    # A stream of unknown length fails the same way (and never pre-allocates the declared size).
    with pytest.raises(SerializationError):
        load(Stream(data))


def test_header_length_beyond_limit_on_a_stream_is_refused_without_reading():
    with pytest.raises(SerializationError, match="exceeds the 100000000-byte limit"):
        load(Stream(container({}, length=10 ** 12)))
    with pytest.raises(SerializationError, match="truncated file: the header needs 5000 bytes"):
        load(Stream(container(b"{}", length=5000)))
    huge = container({"a": entry("U8", [10 ** 13], 0, 10 ** 13)}, b"\0" * 10)
    with pytest.raises(SerializationError, match="tensor data needs 10000000000000 bytes but only 10"):
        load(Stream(huge))


def test_trailing_bytes_after_a_file_are_refused(tmp_path):
    buf = io.BytesIO()
    save({"a": nr.ones(2)}, buf)
    path = tmp_path / "t.safetensors"
    path.write_bytes(buf.getvalue() + b"junk")
    with pytest.raises(SerializationError, match="4 unexpected bytes after the tensor data"):
        load(path)


def valid_file():
    buf = io.BytesIO()
    save({"w": nr.arange(6.0).reshape(2, 3), "b": nr.tensor([1, 2], dtype=nr.int16),
          "s": {1: (2.5, "x")}}, buf)
    return buf.getvalue()


def test_every_truncation_of_a_valid_file_raises(tmp_path):
    data = valid_file()
    path = tmp_path / "cut.safetensors"
    for cut in range(len(data)):
        path.write_bytes(data[:cut])
        with pytest.raises(SerializationError, match="truncated|header length|not valid"):
            load(path)
        with pytest.raises(SerializationError):
            load(Stream(data[:cut]))


def test_random_corruption_raises_only_serialization_errors():
    data = valid_file()
    rng = random.Random(0)
    outcomes = set()
    for _ in range(400):
        bad = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(bad))
            bad[pos] = rng.randrange(256)
        try:
            load(io.BytesIO(bytes(bad)))
            outcomes.add("loaded")  # a flipped bit in tensor bytes is still a valid file
        except SerializationError:
            outcomes.add("error")
    assert outcomes == {"loaded", "error"}


JUNK = [None, True, 0, -1, 2 ** 70, 1.5, "", "F32", "$tensor", [], [[]], [0, 1], {}, {"$tuple": 1},
        {"$dict": [[1]]}, {"$float": []}]


def _mutate(node, rng):
    """Replace one random value inside a JSON tree with junk (the tree is modified in place)."""
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return
        k = rng.choice(keys)
        child = node[k]
        if isinstance(child, (dict, list)) and child and rng.random() < 0.6:
            node = child
            continue
        node[k] = rng.choice(JUNK)
        return


def test_junk_values_in_header_and_structure_raise_only_serialization_errors():
    data = valid_file()
    (n,) = struct.unpack("<Q", data[:8])
    header, payload = json.loads(data[8:8 + n]), data[8 + n:]
    rng = random.Random(1)
    errors = 0
    for i in range(600):
        h = json.loads(json.dumps(header))
        if i % 2:
            structure = json.loads(h["__metadata__"]["structure"])
            _mutate(structure, rng)
            h["__metadata__"]["structure"] = json.dumps(structure)
        else:
            _mutate(h, rng)
        try:
            load(io.BytesIO(container(h, payload)))
        except SerializationError:
            errors += 1
    assert errors > 300


def test_text_mode_file_object_is_refused(tmp_path):
    path = tmp_path / "x.safetensors"
    save(1, path)
    with open(path, encoding="latin-1") as f, pytest.raises(SerializationError, match="binary file"):
        load(f)


# ------------------------------------------------------------------ atomic writes
def _dir_listing(path):
    return sorted(os.listdir(path))


def test_failure_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save({"epoch": 1, "w": nr.ones(3)}, path)
    before = path.read_bytes()

    def fail_halfway(f, header, arrays):
        f.write(b"\0" * 100)
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(S, "_write_container", fail_halfway)
    with pytest.raises(OSError, match="simulated"):
        save({"epoch": 2, "w": nr.zeros(3)}, path)
    assert path.read_bytes() == before and _dir_listing(tmp_path) == ["ckpt.safetensors"]
    assert_same(load(path), {"epoch": 1, "w": nr.ones(3)})


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_failure_at_fsync_or_rename_keeps_the_old_file(tmp_path, monkeypatch, step):
    path = tmp_path / "ckpt.safetensors"
    save([1], path)
    before = path.read_bytes()

    def boom(*args):
        raise OSError(f"{step} failed (simulated)")

    monkeypatch.setattr(S.os, step, boom)
    with pytest.raises(OSError, match="simulated"):
        save([2], path)
    monkeypatch.undo()
    assert path.read_bytes() == before and _dir_listing(tmp_path) == ["ckpt.safetensors"]


def test_interrupt_during_write_removes_the_temporary(tmp_path, monkeypatch):
    path = tmp_path / "new.safetensors"

    def interrupted(f, header, arrays):
        f.write(header)
        raise KeyboardInterrupt

    monkeypatch.setattr(S, "_write_container", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save({"w": nr.ones(2)}, path)
    assert _dir_listing(tmp_path) == []


def test_overwrite_keeps_permissions_and_writes_through_symlinks(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save([1], path)
    os.chmod(path, 0o640)
    link = tmp_path / "latest"
    os.symlink(path, link)
    save([2], link)
    assert os.path.islink(link) and load(path) == [2]
    assert os.stat(path).st_mode & 0o777 == 0o640
    fresh = tmp_path / "fresh.safetensors"
    save([3], fresh)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(fresh).st_mode & 0o777 == 0o666 & ~umask


def test_checkpoint_resume_with_real_model_optimizer_and_scheduler(tmp_path):
    nn = pytest.importorskip("neurarust.nn")
    optim = pytest.importorskip("neurarust.optim")
    if not all(hasattr(m, a) for m, a in ((nn, "Linear"), (optim, "Adam"), (optim, "lr_scheduler"))):
        pytest.skip("neurarust.nn / neurarust.optim are not complete yet")
    x, y = nr.randn(8, 3, generator=nr.Generator().manual_seed(0)), nr.randn(8, 2)

    def setup():
        model = nn.Linear(3, 2)
        opt = optim.Adam(model.parameters(), lr=0.1, amsgrad=True)
        return model, opt, optim.lr_scheduler.StepLR(opt, 2)

    def train(model, opt, sched, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            opt.step()
            sched.step()

    a = setup()
    train(*a, 3)
    save({"model": a[0].state_dict(), "opt": a[1].state_dict(), "sched": a[2].state_dict()},
         tmp_path / "ckpt.safetensors")
    b = setup()
    ckpt = load(tmp_path / "ckpt.safetensors")
    b[0].load_state_dict(ckpt["model"])
    b[1].load_state_dict(ckpt["opt"])
    b[2].load_state_dict(ckpt["sched"])
    train(*a, 3)
    train(*b, 3)
    for pa, pb in zip(a[0].parameters(), b[0].parameters()):
        np.testing.assert_array_equal(pa.detach().numpy(), pb.detach().numpy())
    assert a[1].param_groups[0]["lr"] == b[1].param_groups[0]["lr"]
