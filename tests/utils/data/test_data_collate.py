import collections

import numpy as np
import pytest

import neurarust as nr
from neurarust.utils.data import default_collate, default_convert

Point = collections.namedtuple("Point", "x y")


def _cases(lib):
    t = lib.tensor
    return [
        [t([1.0, 2.0]), t([3.0, 4.0])],
        [np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)],
        [1, 2, 3],
        [1.5, 2.5],
        [True, False],
        [np.float32(1), np.float32(2)],
        [np.int32(3), np.int32(4)],
        [(t([1]), 2, "a"), (t([3]), 4, "b")],
        [{"img": np.zeros(4, np.uint8), "label": 1}, {"img": np.ones(4, np.uint8), "label": 0}],
        [[1, 2], [3, 4]],
        [Point(1.0, t([1, 2])), Point(2.0, t([3, 4]))],
    ]


def _summary(x):
    # structure, shapes, dtypes and values, library-neutral
    if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, np.ndarray):
        return ("T", tuple(x.shape), str(x.dtype).split(".")[-1], np.asarray(x.tolist()).tolist())
    if isinstance(x, dict):
        return {k: _summary(v) for k, v in x.items()}
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return (type(x).__name__,) + tuple(_summary(v) for v in x)
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [_summary(v) for v in x])
    return x


def test_collate_by_hand():
    b = default_collate([(nr.tensor([1]), 2, "a"), (nr.tensor([3]), 4, "b")])
    assert isinstance(b, list) and b[2] == ("a", "b")
    np.testing.assert_array_equal(b[0].numpy(), [[1], [3]])
    assert b[1].dtype == nr.int64 and b[1].tolist() == [2, 4]
    assert default_collate([1.5, 2.5]).dtype == nr.float64
    assert default_collate([True, False]).dtype == nr.bool
    assert default_collate([np.float32(1), np.float32(2)]).dtype == nr.float32
    assert default_collate([np.int32(3)]).dtype == nr.int32
    p = default_collate([Point(1.0, nr.tensor([1, 2])), Point(2.0, nr.tensor([3, 4]))])
    assert isinstance(p, Point) and p.x.tolist() == [1.0, 2.0] and p.y.shape == (2, 2)
    d = default_collate([{"a": [1, 2]}, {"a": [3, 4]}])
    assert [v.tolist() for v in d["a"]] == [[1, 3], [2, 4]]
    arr = default_collate([np.arange(3), np.arange(3) + 1])
    np.testing.assert_array_equal(arr.numpy(), [[0, 1, 2], [1, 2, 3]])
    assert default_collate([b"x", b"y"]) == [b"x", b"y"]


def test_collate_errors():
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object()])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([np.array(["a"])])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([nr.zeros(2), nr.zeros(3)])


def test_collate_keeps_autograd():
    a = nr.ones(2, requires_grad=True)
    out = default_collate([a, a * 2])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3, 3])


def test_collate_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as tc
    for ours, theirs in zip(_cases(nr), _cases(torch)):
        assert _summary(default_collate(ours)) == _summary(tc(theirs))


def test_convert_by_hand_and_against_torch():
    out = default_convert({"a": np.array([1, 2]), "b": (np.float32(1.5), "s"), "c": 3})
    assert out["a"].dtype == nr.int64 and out["b"][0].dtype == nr.float32 and out["b"][1] == "s"
    assert out["c"] == 3 and isinstance(out["b"], list)
    assert default_convert("x") == "x"
    s = np.array(["a"])
    assert default_convert(s) is s
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_convert as tconv
    data = lambda: [np.zeros((2, 2), np.float32), (np.int16(3), 4.0), Point(np.ones(2), "z")]
    assert _summary(default_convert(data())) == _summary(tconv(data()))
