"""nn.Module and Parameter: registration, iteration, state_dict, modes, dtype moves, hooks, repr.

Models are built from tiny hand-written modules (no dependence on the layer
files); where torch is importable the same structure is built on its side and
names, keys, shapes and error messages are compared.
"""
import copy
import pathlib
import pickle
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import assert_close, torch_mod  # noqa: E402,F401

import neurarust as nr  # noqa: E402
from neurarust import nn  # noqa: E402


def make_classes(lib):
    """The same small model classes written against nr.nn or torch.nn."""

    class Affine(lib.nn.Module):
        def __init__(self, n_in, n_out):
            super().__init__()
            self.w = lib.nn.Parameter(lib.ones(n_out, n_in))
            self.b = lib.nn.Parameter(lib.zeros(n_out))

        def forward(self, x):
            return x @ self.w.t() + self.b

    class Norm(lib.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.scale = lib.nn.Parameter(lib.ones(n))
            self.register_buffer("running", lib.zeros(n))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)
            self.register_buffer("count", lib.tensor(0))

        def forward(self, x):
            return x * self.scale

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = Affine(3, 4)
            self.norm = Norm(4)
            self.block = lib.nn.Sequential(Affine(4, 4), Affine(4, 2))

        def forward(self, x):
            return self.block(self.norm(self.fc1(x)))

    return Affine, Norm, Net


Affine, Norm, Net = make_classes(nr)


# ---------------------------------------------------------------- Parameter
def test_parameter_shares_data_and_is_leaf():
    t = nr.ones(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, nr.Tensor) and p.requires_grad and p.is_leaf
    assert p.data_ptr() == t.data_ptr()
    t.add_(1)
    assert_close(p.detach(), np.full((2, 3), 2.0, np.float32))
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    # A tensor with history becomes a fresh leaf.
    x = nr.ones(2, requires_grad=True)
    q = nn.Parameter(x * 2)
    assert q.is_leaf and q.grad_fn is None
    assert type(p * 2) is nr.Tensor
    assert nn.Parameter().shape == (0,)


def test_parameter_errors():
    with pytest.raises(TypeError, match="Tensor"):
        nn.Parameter([1.0, 2.0])
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(nr.tensor([1, 2]))
    assert nn.Parameter(nr.tensor([1, 2]), requires_grad=False).dtype == nr.int64


def test_parameter_repr_copy_pickle():
    p = nn.Parameter(nr.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    p.grad = nr.tensor([3.0, 4.0])
    for q in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(q) is nn.Parameter and q.requires_grad
        assert q.data_ptr() != p.data_ptr()
        assert_close(q.detach(), p.detach())
    assert_close(copy.deepcopy(p).grad, p.grad)
    frozen = pickle.loads(pickle.dumps(nn.Parameter(nr.ones(1), requires_grad=False)))
    assert not frozen.requires_grad


def test_parameter_repr_matches_torch(torch_mod):
    t = torch_mod.nn.Parameter(torch_mod.tensor([1.0, 2.0]))
    assert repr(nn.Parameter(nr.tensor([1.0, 2.0]))) == repr(t)


# ------------------------------------------------------------- registration
def test_named_members_and_order():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["fc1.w", "fc1.b", "norm.scale", "block.0.w", "block.0.b", "block.1.w",
                     "block.1.b"]
    assert [n for n, _ in net.named_buffers()] == ["norm.running", "norm.scratch", "norm.count"]
    assert [n for n, _ in net.named_children()] == ["fc1", "norm", "block"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "norm", "block", "block.0",
                                                    "block.1"]
    assert len(list(net.modules())) == 6 and len(list(net.children())) == 3
    assert [n for n, _ in net.fc1.named_parameters(prefix="x")] == ["x.w", "x.b"]
    assert list(net.parameters(recurse=False)) == []
    assert sum(p.numel() for p in net.parameters()) == 16 + 4 + 20 + 10


def test_named_members_match_torch(torch_mod):
    _, _, TNet = make_classes(torch_mod)
    net, tnet = Net(), TNet()
    for method in ("named_parameters", "named_buffers", "named_children", "named_modules"):
        assert [n for n, _ in getattr(net, method)()] == [n for n, _ in getattr(tnet, method)()]
    sd, tsd = net.state_dict(), tnet.state_dict()
    assert list(sd) == list(tsd)
    assert [tuple(v.shape) for v in sd.values()] == [tuple(v.shape) for v in tsd.values()]


def test_shared_parameters_and_modules_listed_once():
    m = nn.Module()
    a = Affine(2, 2)
    m.a, m.b = a, a
    m.extra = a.w  # the same Parameter again
    assert len(list(m.parameters())) == 2
    assert [n for n, _ in m.named_modules()] == ["", "a"]
    assert len(list(m.named_parameters(remove_duplicate=False))) == 5
    assert [n for n, _ in m.named_children()] == ["a"]


def test_setattr_routing_and_delattr():
    m = nn.Module()
    m.p = nn.Parameter(nr.ones(1))
    m.register_buffer("buf", nr.zeros(1))
    m.child = nn.Module()
    m.plain = 3
    assert set(m._parameters) == {"p"} and set(m._buffers) == {"buf"}
    assert set(m._modules) == {"child"} and m.__dict__["plain"] == 3
    m.buf = nr.ones(2)  # stays a buffer
    assert m._buffers["buf"].shape == (2,)
    m.p = None
    assert m._parameters["p"] is None and m.p is None
    assert list(m.parameters()) == []
    m.child = None
    assert m._modules["child"] is None and list(m.children()) == []
    # A parameter replacing a module (and the reverse) moves between tables.
    m.child = nn.Parameter(nr.ones(1))
    assert "child" not in m._modules and "child" in m._parameters
    m.buf = nn.Module()
    assert "buf" not in m._buffers and "buf" in m._modules
    for name in ("p", "child", "buf", "plain"):
        delattr(m, name)
    assert not m._parameters and not m._modules and "plain" not in m.__dict__
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'p'"):
        m.p


def test_setattr_errors():
    m = nn.Module()
    m.p = nn.Parameter(nr.ones(1))
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'p'"):
        m.p = nr.ones(1)
    m.c = nn.Module()
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'c'"):
        m.c = 1
    m.register_buffer("b", None)
    with pytest.raises(TypeError, match="cannot assign 'list' as buffer 'b'"):
        m.b = [1]

    class Early(nn.Module):
        def __init__(self):
            self.p = nn.Parameter(nr.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


@pytest.mark.parametrize("method, value", [("register_parameter", nn.Parameter(nr.ones(1))),
                                           ("register_buffer", nr.ones(1)),
                                           ("add_module", nn.Module())])
def test_register_name_errors(method, value):
    m = nn.Module()
    m.taken = 1
    register = getattr(m, method)
    with pytest.raises(TypeError, match="name should be a string"):
        register(1, value)
    with pytest.raises(KeyError, match="contain"):
        register("a.b", value)
    with pytest.raises(KeyError, match="empty string"):
        register("", value)
    with pytest.raises(KeyError, match="attribute 'taken' already exists"):
        register("taken", value)
    register("ok", value)
    register("ok", None)  # re-registering the same name (to None) is allowed


def test_register_type_errors():
    m = nn.Module()
    with pytest.raises(TypeError, match="cannot assign 'Tensor' object to parameter 'w'"):
        m.register_parameter("w", nr.ones(1))
    with pytest.raises(TypeError, match="cannot assign 'int' object to buffer 'b'"):
        m.register_buffer("b", 1)
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        m.add_module("c", 1)
    leaf = nr.ones(1, requires_grad=True)
    nonleaf = nn.Parameter(nr.ones(1))
    nonleaf._grad_fn = (leaf * 2).grad_fn  # what a Parameter with history would look like
    with pytest.raises(ValueError, match="non-leaf Tensor"):
        m.register_parameter("w", nonleaf)


def test_register_buffer_persistence_toggles():
    m = nn.Module()
    m.register_buffer("b", nr.ones(1), persistent=False)
    assert list(m.state_dict()) == []
    m.register_buffer("b", nr.ones(1))
    assert list(m.state_dict()) == ["b"]
    m.register_buffer("n", None)
    assert list(m.state_dict()) == ["b"] and [n for n, _ in m.named_buffers()] == ["b"]


def test_get_submodule_parameter_buffer():
    net = Net()
    assert net.get_submodule("block.1") is net.block[1]
    assert net.get_submodule("") is net
    assert net.get_parameter("block.0.w") is net.block[0].w
    assert net.get_buffer("norm.running") is net.norm.running
    with pytest.raises(AttributeError, match="Net has no attribute `nope`"):
        net.get_submodule("nope")
    with pytest.raises(AttributeError, match="`w` is not an nn.Module"):
        net.get_submodule("fc1.w")
    with pytest.raises(AttributeError, match="`running` is not an nn.Parameter"):
        net.get_parameter("norm.running")
    with pytest.raises(AttributeError, match="Affine has no attribute `v`"):
        net.get_parameter("fc1.v")
    with pytest.raises(AttributeError, match="`scale` is not a buffer"):
        net.get_buffer("norm.scale")


def test_dir_lists_members():
    net = Net()
    d = dir(net)
    assert {"fc1", "norm", "block", "forward", "training"} <= set(d)
    assert "0" not in dir(net.block)


# ---------------------------------------------------------------- state dict
def test_state_dict_keys_detached_shared():
    net = Net()
    sd = net.state_dict()
    assert list(sd) == ["fc1.w", "fc1.b", "norm.scale", "norm.running", "norm.count",
                        "block.0.w", "block.0.b", "block.1.w", "block.1.b"]
    assert all(not v.requires_grad and type(v) is nr.Tensor for v in sd.values())
    assert sd["fc1.w"].data_ptr() == net.fc1.w.data_ptr()
    kept = net.state_dict(keep_vars=True)
    assert kept["fc1.w"] is net.fc1.w
    prefixed = net.fc1.state_dict(prefix="pre.")
    assert list(prefixed) == ["pre.w", "pre.b"]


def test_load_state_dict_roundtrip():
    src, dst = Net(), Net()
    with nr.no_grad():
        for i, p in enumerate(src.parameters()):
            p.fill_(i + 0.5)
        src.norm.running.fill_(7)
        src.norm.count.fill_(3)
    result = dst.load_state_dict(src.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for (n, a), (_, b) in zip(src.state_dict().items(), dst.state_dict().items()):
        assert_close(a, b, msg=n)
        assert a.data_ptr() != b.data_ptr()  # copied, not aliased
    assert dst.norm.count.item() == 3
    x = nr.randn(5, 3)
    assert_close(dst(x), src(x))


def test_load_state_dict_assign():
    dst = Affine(2, 2)
    w = nr.full((2, 2), 3.0)
    dst.load_state_dict({"w": w, "b": nr.zeros(2)}, assign=True)
    assert isinstance(dst.w, nn.Parameter) and dst.w.requires_grad
    assert dst.w.data_ptr() == w.data_ptr()


def test_load_state_dict_errors():
    net = Net()
    sd = net.state_dict()
    del sd["fc1.b"]
    sd["fc1.extra"] = nr.zeros(1)
    sd["ghost.w"] = nr.zeros(1)
    sd["block.0.w"] = nr.zeros(5, 4)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    assert msg.startswith("Error(s) in loading state_dict for Net:\n\t")
    assert 'Missing key(s) in state_dict: "fc1.b".' in msg
    assert 'Unexpected key(s) in state_dict: "ghost.w", "fc1.extra".' in msg
    assert ("size mismatch for block.0.w: copying a param with shape neurarust.Size([5, 4]) from "
            "checkpoint, the shape in current model is neurarust.Size([4, 4]).") in msg
    # Not strict: missing/unexpected are returned, a size mismatch still raises.
    del sd["block.0.w"]
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["fc1.b", "block.0.w"]
    assert result.unexpected_keys == ["ghost.w", "fc1.extra"]  # reported, not raised (as torch)
    assert "missing_keys=['fc1.b', 'block.0.w']" in repr(result)
    sd["block.0.w"] = nr.zeros(5, 4)
    with pytest.raises(RuntimeError, match="size mismatch for block.0.w"):
        net.load_state_dict(sd, strict=False)
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        net.load_state_dict([("fc1.w", nr.ones(4, 3))])
    bad = net.state_dict()
    bad["fc1.w"] = [[1.0]]
    with pytest.raises(RuntimeError, match='While copying the parameter named "fc1.w"'):
        net.load_state_dict(bad)


def test_load_state_dict_error_matches_torch(torch_mod):
    _, _, TNet = make_classes(torch_mod)
    sd, tsd = Net().state_dict(), TNet().state_dict()
    for d, lib in ((sd, nr), (tsd, torch_mod)):
        del d["norm.scale"]
        d["extra"] = lib.zeros(1)
        d["fc1.b"] = lib.zeros(3)
    with pytest.raises(RuntimeError) as ours:
        Net().load_state_dict(sd)
    with pytest.raises(RuntimeError) as theirs:
        TNet().load_state_dict(tsd)
    assert str(ours.value).replace("neurarust.", "torch.") == str(theirs.value)


def test_torch_state_dict_loads_into_same_structure(torch_mod):
    _, _, TNet = make_classes(torch_mod)
    tnet = TNet()
    with torch_mod.no_grad():
        for p in tnet.parameters():
            p.uniform_(-1, 1)
    net = Net()
    net.load_state_dict({k: nr.tensor(v.numpy()) for k, v in tnet.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    assert_close(net(nr.tensor(x)), tnet(torch_mod.from_numpy(x)).detach())


# ------------------------------------------------------------ modes and grads
def test_train_eval_requires_grad_zero_grad():
    net = Net()
    assert net.training and all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")
    net.block.requires_grad_(False)
    assert [p.requires_grad for p in net.parameters()] == [True] * 3 + [False] * 4
    net.requires_grad_()
    out = net(nr.randn(2, 3)).sum()
    out.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and float(p.grad.abs().sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_gradients_match_torch(torch_mod):
    _, _, TNet = make_classes(torch_mod)
    net, tnet = Net(), TNet()
    rng = np.random.default_rng(1)
    with torch_mod.no_grad():
        for (name, p), (_, tp) in zip(net.named_parameters(), tnet.named_parameters()):
            values = rng.standard_normal(tuple(p.shape)).astype(np.float32)
            tp.copy_(torch_mod.from_numpy(values))
            with nr.no_grad():
                p.copy_(nr.tensor(values))
    x = rng.standard_normal((5, 3)).astype(np.float32)
    (net(nr.tensor(x)) ** 2).sum().backward()
    (tnet(torch_mod.from_numpy(x)) ** 2).sum().backward()
    for (name, p), (_, tp) in zip(net.named_parameters(), tnet.named_parameters()):
        assert_close(p.grad, tp.grad, msg=name)


# ---------------------------------------------------------- dtype and device
def test_to_double_float_half_keep_parameter_identity():
    net = Net()
    w = net.fc1.w
    net.fc1.w.grad = nr.ones(4, 3)
    assert net.double() is net
    assert net.fc1.w is w and w.dtype == nr.float64 and w.requires_grad
    assert w.grad.dtype == nr.float64
    assert net.norm.running.dtype == nr.float64 and net.norm.count.dtype == nr.int64
    assert net(nr.randn(2, 3, dtype=nr.float64)).dtype == nr.float64
    net.float()
    assert all(p.dtype == nr.float32 for p in net.parameters())
    net.half()
    assert all(p.dtype == nr.float16 for p in net.parameters())
    net.to(nr.float32)
    assert all(p.dtype == nr.float32 for p in net.parameters())
    net.to("cpu", nr.float64)
    assert all(p.dtype == nr.float64 for p in net.parameters())
    net.to(nr.zeros(1))
    assert all(p.dtype == nr.float32 for p in net.parameters())
    net.to(device="cpu", dtype=nr.float64)
    assert net.norm.count.dtype == nr.int64 and net.cpu().fc1.w.dtype == nr.float64
    net.type(nr.float32)
    assert net.norm.count.dtype == nr.float32  # type() casts every tensor, as torch does


def test_to_errors():
    net = Net()
    with pytest.raises(TypeError, match="only accepts floating point"):
        net.to(nr.int64)
    with pytest.raises(TypeError, match="unexpected keyword"):
        net.to(bogus=1)
    with pytest.raises(nr.DeviceError):
        net.cuda()


def test_apply():
    net = Net()
    seen = []

    def init(m):
        seen.append(type(m).__name__)
        if isinstance(m, Affine):
            with nr.no_grad():
                m.b.fill_(0.25)

    assert net.apply(init) is net
    assert seen == ["Affine", "Norm", "Affine", "Affine", "Sequential", "Net"]
    assert all(float(m.b.sum()) == 0.25 * m.b.numel() for m in net.modules() if isinstance(m, Affine))


# ------------------------------------------------------------------- hooks
def test_forward_hooks_order_replace_remove():
    m = Affine(2, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: calls.append("pre1"))
    h2 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h3 = m.register_forward_hook(lambda mod, args, out: calls.append(("post", tuple(out.shape))))
    h4 = m.register_forward_pre_hook(lambda mod, args: calls.append("first"), prepend=True)
    out = m(nr.ones(3, 2))
    assert calls == ["first", "pre1", ("post", (3, 2))]
    assert_close(out.detach(), np.zeros((3, 2), np.float32))  # args replaced by zeros
    for h in (h1, h2, h3, h4):
        h.remove()
    h1.remove()  # removing twice is harmless
    assert not m._forward_pre_hooks and not m._forward_hooks
    assert_close(m(nr.ones(1, 2)).detach(), np.full((1, 2), 2.0, np.float32))
    with m.register_forward_hook(lambda mod, args, out: out + 100):
        assert float(m(nr.ones(1, 2))[0, 0]) == 102.0
    assert float(m(nr.ones(1, 2))[0, 0]) == 2.0


def test_hooks_with_kwargs_and_non_tuple_result():
    class Add(nn.Module):
        def forward(self, x, y=0.0):
            return x + y

    m = Add()
    m.register_forward_pre_hook(lambda mod, args: args[0] * 2)  # non-tuple result is wrapped
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"y": 10.0}), with_kwargs=True)
    seen = {}
    m.register_forward_hook(lambda mod, args, kwargs, out: seen.update(kwargs), with_kwargs=True)
    assert float(m(nr.tensor(1.0))) == 12.0 and seen == {"y": 10.0}
    bad = Add()
    bad.register_forward_pre_hook(lambda mod, args, kwargs: 5, with_kwargs=True)
    with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple"):
        bad(nr.tensor(1.0))


def test_global_hooks():
    from neurarust.nn.modules.module import (register_module_forward_hook,
                                             register_module_forward_pre_hook)

    names = []
    h1 = register_module_forward_pre_hook(lambda m, args: names.append(("pre", m._get_name())))
    h2 = register_module_forward_hook(lambda m, args, out: names.append(("post", m._get_name())))
    try:
        nn.Sequential(Affine(2, 2))(nr.ones(1, 2))
    finally:
        h1.remove()
        h2.remove()
    assert names == [("pre", "Sequential"), ("pre", "Affine"), ("post", "Affine"),
                     ("post", "Sequential")]
    Affine(2, 2)(nr.ones(1, 2))
    assert len(names) == 4


def test_missing_forward():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward"'):
        nn.Module()(nr.ones(1))


# -------------------------------------------------------------- repr, copy
def test_repr_nested_and_extra_repr():
    class Scale(nn.Module):
        def extra_repr(self):
            return "factor=2"

    class Multi(nn.Module):
        def __init__(self):
            super().__init__()
            self.s = Scale()

        def extra_repr(self):
            return "a=1\nb=2"

    net = nn.Sequential(Scale(), nn.Sequential(Scale(), Multi()))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Scale(factor=2)\n"
        "  (1): Sequential(\n"
        "    (0): Scale(factor=2)\n"
        "    (1): Multi(\n"
        "      a=1\n"
        "      b=2\n"
        "      (s): Scale(factor=2)\n"
        "    )\n"
        "  )\n"
        ")")
    assert repr(nn.Module()) == "Module()"


def test_repr_matches_torch(torch_mod):
    _, _, TNet = make_classes(torch_mod)
    assert repr(Net()) == repr(TNet())


class Pickleable(nn.Module):
    """Module-level (so picklable) copy of Net's structure."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Module()
        self.fc1.w = nn.Parameter(nr.randn(4, 3))
        self.norm = nn.Module()
        self.norm.register_buffer("running", nr.zeros(4))

    def forward(self, x):
        return x @ self.fc1.w.t() + self.norm.running


def _prepared(net):
    with nr.no_grad():
        net.norm.running.fill_(5)
    return net.eval()


def test_deepcopy_and_pickle_module():
    for net in (_prepared(Net()), _prepared(Pickleable())):
        _check_copy(net, copy.deepcopy(net))
    net = _prepared(Pickleable())
    _check_copy(net, pickle.loads(pickle.dumps(net)))


def _check_copy(net, clone):
    assert type(clone) is type(net) and not clone.training
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in net.named_parameters()]
    assert clone.fc1.w.data_ptr() != net.fc1.w.data_ptr()
    assert isinstance(clone.fc1.w, nn.Parameter) and clone.fc1.w.requires_grad
    assert float(clone.norm.running.sum()) == 20.0
    x = nr.randn(2, 3)
    assert_close(clone(x), net(x))


def test_call_fast_path_cost():
    # No hook anywhere: __call__ must add little on top of forward (a few dict lookups).
    import timeit

    class Ident(nn.Module):
        def forward(self, x):
            return x

    m = Ident()
    x = object()
    direct = min(timeit.repeat(lambda: m.forward(x), number=20000, repeat=5))
    called = min(timeit.repeat(lambda: m(x), number=20000, repeat=5))
    assert called < direct * 4 + 0.01, (called, direct)


# ------------------------------------------------- with the real layers (when present)
def _layers_or_skip(*names):
    if not all(hasattr(nn, n) for n in names):
        pytest.skip(f"layers {names} are not available yet")


def test_real_layers_state_dict_and_outputs_match_torch(torch_mod):
    _layers_or_skip("Linear", "ReLU", "BatchNorm1d")

    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(5, 8), lib.nn.BatchNorm1d(8), lib.nn.ReLU(),
                                 lib.nn.Linear(8, 3))

    net, tnet = build(nr), build(torch_mod)
    sd, tsd = net.state_dict(), tnet.state_dict()
    assert list(sd) == list(tsd)
    assert [tuple(v.shape) for v in sd.values()] == [tuple(v.shape) for v in tsd.values()]
    # Container repr around real layers (BatchNorm's own extra_repr is tested with the layers).
    assert repr(nn.Sequential(net[0], net[2], net[3])) == repr(
        torch_mod.nn.Sequential(tnet[0], tnet[2], tnet[3]))
    net.load_state_dict({k: nr.tensor(v.numpy()) for k, v in tsd.items()})
    net.eval()
    tnet.eval()
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    assert_close(net(nr.tensor(x)).detach(), tnet(torch_mod.from_numpy(x)).detach())
    net.double()
    assert all(p.dtype == nr.float64 for p in net.parameters())
