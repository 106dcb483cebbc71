"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict (against torch where present)."""
import pathlib
import sys
from collections import OrderedDict

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import assert_close, torch_mod  # noqa: E402,F401

import neurarust as nr  # noqa: E402
from neurarust import nn  # noqa: E402


class AddConst(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, x):
        return x + self.c

    def extra_repr(self):
        return f"c={self.c}"


def consts(*cs):
    return [AddConst(c) for c in cs]


# ---------------------------------------------------------------- Sequential
def test_sequential_forward_index_slice():
    a, b, c = consts(1, 10, 100)
    seq = nn.Sequential(a, b, c)
    assert float(seq(nr.tensor(0.0))) == 111.0
    assert len(seq) == 3 and list(seq) == [a, b, c]
    assert seq[0] is a and seq[-1] is c and seq[-3] is a
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    assert list(sub._modules) == ["1", "2"]  # keys are kept by slicing, as torch does
    assert list(seq[::-1]) == [c, b, a]
    for bad in (3, -4):
        with pytest.raises(IndexError, match=f"index {bad} is out of range"):
            seq[bad]
    with pytest.raises(TypeError):
        seq["0"]


def test_sequential_from_ordered_dict_and_mutation():
    a, b, c, d = consts(1, 2, 3, 4)
    seq = nn.Sequential(OrderedDict([("first", a), ("second", b)]))
    assert list(seq._modules) == ["first", "second"] and seq.first is a
    seq[0] = c
    assert seq.first is c
    seq = nn.Sequential(a, b, c)
    del seq[0]
    assert list(seq) == [b, c] and list(seq._modules) == ["0", "1"]
    seq.append(d)
    assert list(seq._modules) == ["0", "1", "2"] and seq[2] is d
    seq.insert(0, a)
    assert list(seq) == [a, b, c, d] and list(seq._modules) == ["0", "1", "2", "3"]
    seq.insert(-1, a)
    assert list(seq) == [a, b, c, a, d]
    with pytest.raises(IndexError, match="Index out of range: 9"):
        seq.insert(9, a)
    with pytest.raises(AssertionError):
        seq.insert(0, 5)
    assert seq.pop(1) is b and len(seq) == 4
    del seq[1:3]
    assert list(seq) == [a, d]
    seq.extend(nn.Sequential(b, c))
    assert list(seq) == [a, d, b, c]
    assert list(seq + nn.Sequential(a)) == [a, d, b, c, a]
    with pytest.raises(ValueError, match="only objects of Sequential"):
        seq + [a]
    assert len(nn.Sequential(a) * 3) == 3
    seq += nn.Sequential(d)
    assert len(seq) == 5


def test_sequential_matches_torch(torch_mod):
    ours = nn.Sequential(*consts(1, 2, 3, 4))
    theirs = torch_mod.nn.Sequential(*[torch_mod.nn.Identity() for _ in range(4)])
    for seq in (ours, theirs):
        del seq[1]
        seq.insert(1, seq[0])
        seq.append(seq[0])
        seq.pop(-2)
    assert list(ours._modules) == list(theirs._modules)
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]


def test_sequential_repr():
    seq = nn.Sequential(AddConst(1), nn.Sequential(AddConst(2)))
    assert repr(seq) == ("Sequential(\n  (0): AddConst(c=1)\n  (1): Sequential(\n"
                         "    (0): AddConst(c=2)\n  )\n)")


# ---------------------------------------------------------------- ModuleList
def test_module_list():
    a, b, c = consts(1, 2, 3)
    ml = nn.ModuleList([a, b])
    assert len(ml) == 2 and ml[-1] is b and list(ml) == [a, b]
    assert [n for n, _ in ml.named_children()] == ["0", "1"]
    ml.append(c)
    ml.insert(1, c)
    assert list(ml) == [a, c, b, c] and list(ml._modules) == ["0", "1", "2", "3"]
    ml[0] = b
    assert ml[0] is b
    del ml[1]
    assert list(ml) == [b, b, c] and list(ml._modules) == ["0", "1", "2"]
    assert ml.pop(0) is b and len(ml) == 2
    ml += [a]
    assert list(ml) == [b, c, a]
    assert isinstance(ml[1:], nn.ModuleList) and list(ml[1:]) == [c, a]
    assert list(ml + nn.ModuleList([b])) == [b, c, a, b]
    del ml[0:2]
    assert list(ml) == [a]
    with pytest.raises(IndexError, match="index 5 is out of range"):
        ml[5]
    with pytest.raises(TypeError, match="extend should be called with an iterable"):
        ml.extend(5)
    with pytest.raises(TypeError, match="is not a Module subclass"):
        ml.append(5)
    with pytest.raises(NotImplementedError):
        ml(nr.ones(1))
    params = nn.ModuleList([nn.ModuleList([AddConst(0)])])
    assert [n for n, _ in params.named_modules()] == ["", "0", "0.0"]


def test_module_list_repr_groups_repeats():
    ml = nn.ModuleList(consts(1, 1, 2, 1))
    assert repr(ml) == ("ModuleList(\n  (0-1): 2 x AddConst(c=1)\n  (2): AddConst(c=2)\n"
                        "  (3): AddConst(c=1)\n)")
    assert repr(nn.ModuleList()) == "ModuleList()"


def test_module_list_repr_matches_torch(torch_mod):
    def build(lib):
        return lib.nn.ModuleList([lib.nn.Module(), lib.nn.Module(), lib.nn.ModuleList([lib.nn.Module()])])
    assert repr(build(nr)) == repr(build(torch_mod))


# ---------------------------------------------------------------- ModuleDict
def test_module_dict():
    a, b, c = consts(1, 2, 3)
    md = nn.ModuleDict({"a": a, "b": b})
    assert list(md) == ["a", "b"] and md["a"] is a and "b" in md and len(md) == 2
    md["c"] = c
    assert list(md.keys()) == ["a", "b", "c"] and list(md.values()) == [a, b, c]
    assert [k for k, _ in md.items()] == ["a", "b", "c"]
    assert md.pop("b") is b and list(md) == ["a", "c"]
    del md["a"]
    assert list(md) == ["c"]
    md.update([("x", a), ["y", b]])
    md.update(nn.ModuleDict({"z": AddConst(9)}))  # a new module: shared ones are listed once
    assert list(md) == ["c", "x", "y", "z"]
    assert [n for n, _ in md.named_children()] == ["c", "x", "y", "z"]
    md.clear()
    assert len(md) == 0
    with pytest.raises(TypeError, match="iterable of key/value pairs"):
        md.update(5)
    with pytest.raises(TypeError, match="element #0 should be Iterable"):
        md.update([5])
    with pytest.raises(ValueError, match="element #0 has length 3; 2 is required"):
        md.update([("a", b, c)])
    with pytest.raises(KeyError):
        md["missing"]


# ------------------------------------------------------------- ParameterList
def test_parameter_list():
    p = nn.Parameter(nr.ones(2))
    pl = nn.ParameterList([p, nr.zeros(3)])
    assert pl[0] is p and isinstance(pl[1], nn.Parameter) and pl[1].requires_grad
    assert len(pl) == 2 and [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pl.append(nr.ones(1))
    pl.extend([nr.ones(4)])
    assert len(pl) == 4 and pl[-1].shape == (4,)
    pl[0] = nr.full((2,), 5.0)
    assert isinstance(pl[0], nn.Parameter) and float(pl[0].sum()) == 10.0
    sub = pl[1:3]
    assert isinstance(sub, nn.ParameterList) and [t.shape for t in sub] == [(3,), (1,)]
    assert len(list(pl.parameters())) == 4
    with pytest.raises(IndexError):
        pl[4]
    with pytest.raises(RuntimeError, match="ParameterList should not be called"):
        pl(1)
    with pytest.raises(TypeError, match="extend should be called with an iterable"):
        pl.extend(5)
    model = nn.Module()
    model.weights = pl
    assert [n for n, _ in model.named_parameters()] == ["weights.0", "weights.1", "weights.2",
                                                         "weights.3"]


def test_parameter_containers_repr():
    pl = nn.ParameterList([nr.ones(2, 3)])
    assert repr(pl) == "ParameterList(  (0): Parameter containing: [neurarust.float32 of size 2x3])"
    pl.append(nr.zeros(1, dtype=nr.float64))
    assert repr(pl) == ("ParameterList(\n    (0): Parameter containing: [neurarust.float32 of size 2x3]"
                        "\n    (1): Parameter containing: [neurarust.float64 of size 1]\n)")
    pd = nn.ParameterDict({"a": nr.ones(2)})
    assert repr(pd) == "ParameterDict(  (a): Parameter containing: [neurarust.FloatTensor of size 2])"


def test_parameter_containers_repr_match_torch(torch_mod):
    def build(lib):
        return (lib.nn.ParameterList([lib.ones(2, 3), lib.zeros(1)]),
                lib.nn.ParameterDict({"a": lib.ones(2), "b": lib.zeros(1, 4)}))
    for ours, theirs in zip(build(nr), build(torch_mod)):
        assert repr(ours).replace("neurarust.", "torch.") == repr(theirs)


# ------------------------------------------------------------- ParameterDict
def test_parameter_dict():
    p = nn.Parameter(nr.ones(1))
    pd = nn.ParameterDict({"a": p, "b": nr.zeros(2)})
    assert pd["a"] is p and isinstance(pd["b"], nn.Parameter) and list(pd) == ["a", "b"]
    pd["c"] = nr.ones(3)
    assert list(pd.keys()) == ["a", "b", "c"] and len(pd) == 3 and "c" in pd
    assert [n for n, _ in pd.named_parameters()] == ["a", "b", "c"]
    assert [k for k, _ in pd.items()] == ["a", "b", "c"] and len(list(pd.values())) == 3
    assert list(reversed(pd)) == ["c", "b", "a"]
    assert pd.get("zz") is None and pd.get("a") is p
    assert pd.setdefault("a", nr.zeros(9)) is p
    assert pd.pop("b").shape == (2,) and list(pd) == ["a", "c"]
    assert pd.popitem()[0] == "c"
    copy_ = pd.copy()
    assert copy_["a"] is p and copy_ is not pd
    del pd["a"]
    assert len(pd) == 0 and list(pd.parameters()) == []
    pd.update([("x", nr.ones(1))])
    assert list(pd.fromkeys(["k1", "k2"], nr.ones(1))) == ["k1", "k2"]
    pd.clear()
    assert len(pd) == 0
    with pytest.raises(TypeError, match="not a string"):
        pd[1] = nr.ones(1)
    with pytest.raises(KeyError):
        pd["missing"]
    with pytest.raises(ValueError, match="has length 1; 2 is required"):
        pd.update([("a",)])
    with pytest.raises(TypeError, match="iterable of key/value pairs"):
        pd.update(3)
    with pytest.raises(RuntimeError, match="ParameterDict should not be called"):
        pd()


def test_containers_state_dict_keys_match_torch(torch_mod):
    def build(lib):
        m = lib.nn.Module()
        m.seq = lib.nn.Sequential(lib.nn.Module())
        m.seq[0].w = lib.nn.Parameter(lib.ones(2))
        m.pl = lib.nn.ParameterList([lib.ones(1), lib.ones(2)])
        m.pd = lib.nn.ParameterDict({"x": lib.ones(3)})
        m.md = lib.nn.ModuleDict({"inner": lib.nn.ParameterList([lib.ones(4)])})
        return m
    ours, theirs = build(nr).state_dict(), build(torch_mod).state_dict()
    assert list(ours) == list(theirs)
    assert [tuple(v.shape) for v in ours.values()] == [tuple(v.shape) for v in theirs.values()]
