"""Module backward hooks (full, pre, legacy, global) and the state_dict / always_call hooks.

Every scenario records what the hooks see (``grad_input`` / ``grad_output``, None
positions included) and the resulting gradients, and checks them against a NumPy
chain-rule reference; where torch is importable the same module is built there with
the same parameters and the recordings are compared entry by entry.  Observing hooks
must leave gradients unchanged: float64 gradcheck/gradgradcheck run through them.
"""
import pathlib
import sys
import warnings

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _helpers import assert_close, seeded, to_numpy, torch_or_none  # noqa: E402

import neurarust as nr  # noqa: E402
from neurarust import nn  # noqa: E402


# ------------------------------------------------------------------ helpers
def _np_grads(grads):
    return [None if g is None else to_numpy(g) for g in grads]


class Recorder:
    """Hooks that log (tag, kind, grads...) in call order; usable on nr and torch modules alike."""

    def __init__(self):
        self.events = []

    def full(self, tag):
        def hook(module, grad_input, grad_output):
            self.events.append((tag, "full", _np_grads(grad_input), _np_grads(grad_output)))
        return hook

    def pre(self, tag):
        def hook(module, grad_output):
            self.events.append((tag, "pre", _np_grads(grad_output)))
        return hook

    def watch(self, module, tag=""):
        module.register_full_backward_pre_hook(self.pre(tag))
        module.register_full_backward_hook(self.full(tag))


def assert_same_events(actual, expected):
    assert [e[:2] for e in actual] == [e[:2] for e in expected]
    for got, want in zip(actual, expected):
        for got_grads, want_grads in zip(got[2:], want[2:]):
            assert [g is None for g in got_grads] == [g is None for g in want_grads]
            for g, w in zip(got_grads, want_grads):
                if g is not None:
                    assert_close(g, w)


def torch_twin(torch, nr_module, torch_module):
    """``torch_module`` in float64 with ``nr_module``'s parameter values."""
    torch_module = torch_module.double()
    params = dict(torch_module.named_parameters())
    with torch.no_grad():
        for name, p in nr_module.named_parameters():
            params[name].copy_(torch.from_numpy(to_numpy(p)))
    return torch_module


def leaf(lib, array, requires_grad=True):
    t = lib.tensor(np.array(array, dtype=np.float64))
    return t.requires_grad_(requires_grad)


# ------------------------------------------------------------ single layers
def test_linear_hooks_see_the_chain_rule_gradients():
    lin = nn.Linear(3, 2).double()
    x_np, g_np = seeded((4, 3), 1), seeded((4, 2), 2)
    rec = Recorder()
    rec.watch(lin)
    x = leaf(nr, x_np)
    lin(x).backward(nr.tensor(g_np))
    w = to_numpy(lin.weight)
    assert [e[:2] for e in rec.events] == [("", "pre"), ("", "full")]
    assert_close(rec.events[0][2][0], g_np)
    assert_close(rec.events[1][2][0], g_np @ w)  # grad_input: d(xW^T + b)/dx
    assert_close(rec.events[1][3][0], g_np)
    assert_close(x.grad, g_np @ w)
    assert_close(lin.weight.grad, g_np.T @ x_np)
    assert_close(lin.bias.grad, g_np.sum(0))

    torch = torch_or_none()
    if torch is None:
        return
    tlin = torch_twin(torch, lin, torch.nn.Linear(3, 2))
    trec = Recorder()
    trec.watch(tlin)
    tx = leaf(torch, x_np)
    tlin(tx).backward(torch.tensor(g_np))
    assert_same_events(rec.events, trec.events)
    assert_close(x.grad, tx.grad.numpy())
    assert_close(lin.weight.grad, tlin.weight.grad.numpy())


def test_conv2d_hooks_match_torch_and_leave_gradients_unchanged():
    nr.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding=1).double()
    x_np, g_np = seeded((2, 2, 5, 5), 3), seeded((2, 3, 5, 5), 4)
    # Reference gradients from the same layer without hooks.
    x_ref = leaf(nr, x_np)
    conv(x_ref).backward(nr.tensor(g_np))
    ref_weight_grad = to_numpy(conv.weight.grad)
    conv.zero_grad()

    rec = Recorder()
    rec.watch(conv)
    x = leaf(nr, x_np)
    conv(x).backward(nr.tensor(g_np))
    events = list(rec.events)  # gradcheck below runs the hooks again
    assert_close(events[1][3][0], g_np)  # grad_output is the upstream gradient itself
    assert_close(events[1][2][0], to_numpy(x_ref.grad))
    assert_close(x.grad, x_ref.grad)
    assert_close(conv.weight.grad, ref_weight_grad)
    small = leaf(nr, seeded((1, 2, 4, 4), 5))
    assert nr.autograd.gradcheck(conv, (small,))
    assert nr.autograd.gradgradcheck(conv, (small,))

    torch = torch_or_none()
    if torch is None:
        return
    tconv = torch_twin(torch, conv, torch.nn.Conv2d(2, 3, 3, padding=1))
    trec = Recorder()
    trec.watch(tconv)
    tx = leaf(torch, x_np)
    tconv(tx).backward(torch.tensor(g_np))
    assert_same_events(events, trec.events)
    assert_close(x.grad, tx.grad.numpy())


def test_sequential_hook_order_and_per_layer_gradients():
    nr.manual_seed(1)
    seq = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    x_np, g_np = seeded((5, 3), 6), seeded((5, 2), 7)
    rec = Recorder()
    for name, module in seq.named_modules():
        rec.watch(module, name)
    x = leaf(nr, x_np)
    seq(x).backward(nr.tensor(g_np))
    assert [e[:2] for e in rec.events] == [("", "pre"), ("2", "pre"), ("2", "full"), ("1", "pre"),
                                           ("1", "full"), ("0", "pre"), ("0", "full"), ("", "full")]
    w0, w2 = to_numpy(seq[0].weight), to_numpy(seq[2].weight)
    hidden = np.tanh(x_np @ w0.T + to_numpy(seq[0].bias))
    grad_hidden = g_np @ w2
    grad_pre_tanh = grad_hidden * (1 - hidden ** 2)
    events = {(tag, kind): grads for tag, kind, *grads in rec.events}
    assert_close(events[("2", "full")][0][0], grad_hidden)
    assert_close(events[("1", "full")][0][0], grad_pre_tanh)
    assert_close(events[("", "full")][0][0], grad_pre_tanh @ w0)
    assert_close(x.grad, grad_pre_tanh @ w0)

    torch = torch_or_none()
    if torch is None:
        return
    tseq = torch_twin(torch, seq, torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                                     torch.nn.Linear(4, 2)))
    trec = Recorder()
    for name, module in tseq.named_modules():
        trec.watch(module, name)
    tseq(leaf(torch, x_np)).backward(torch.tensor(g_np))
    assert_same_events(rec.events, trec.events)


def make_scaled_product(lib):
    class ScaledProduct(lib.nn.Module):
        def forward(self, a, b, scale=1.0, flag=None):
            return a * b * scale

    return ScaledProduct()


def test_two_inputs_one_without_grad_and_non_tensor_arguments():
    a_np, b_np, g_np = seeded((3,), 8), seeded((3,), 9), seeded((3,), 10)
    rec = Recorder()
    module = make_scaled_product(nr)
    rec.watch(module)
    a = leaf(nr, a_np)
    module(a, leaf(nr, b_np, requires_grad=False), 2.0, "flag").backward(nr.tensor(g_np))
    grad_input = rec.events[1][2]
    # One entry per positional argument: a's gradient, zeros for the tensor that does
    # not require grad (as torch), None for the non-tensors.
    assert [g is None for g in grad_input] == [False, False, True, True]
    assert_close(grad_input[0], 2.0 * b_np * g_np)
    assert_close(grad_input[1], np.zeros(3))
    assert_close(a.grad, 2.0 * b_np * g_np)
    observed = make_scaled_product(nr)
    observed.register_full_backward_hook(lambda m, gin, gout: None)
    assert nr.autograd.gradcheck(lambda p, q: observed(p, q, 2.0), (leaf(nr, a_np), leaf(nr, b_np)))
    assert nr.autograd.gradgradcheck(lambda p, q: observed(p, q, 2.0), (leaf(nr, a_np), leaf(nr, b_np)))

    torch = torch_or_none()
    if torch is None:
        return
    trec = Recorder()
    tmodule = make_scaled_product(torch)
    trec.watch(tmodule)
    tmodule(leaf(torch, a_np), leaf(torch, b_np, False), 2.0, "flag").backward(torch.tensor(g_np))
    assert_same_events(rec.events, trec.events)


def test_keyword_tensors_are_not_in_grad_input():
    rec = Recorder()
    module = make_scaled_product(nr)
    rec.watch(module)
    a, b = leaf(nr, [1.0, 2.0]), leaf(nr, [3.0, 4.0])
    module(a, b=b).sum().backward()
    assert len(rec.events[1][2]) == 1
    assert_close(rec.events[1][2][0], np.array([3.0, 4.0]))
    assert_close(b.grad, np.array([1.0, 2.0]))  # still differentiated, just not reported


def make_multi_output(lib):
    class MultiOutput(lib.nn.Module):
        def forward(self, a):
            return a * 2, 5, a * 3

    return MultiOutput()


@pytest.mark.parametrize("use_last", [True, False])
def test_tuple_output(use_last):
    a_np = seeded((4,), 11)
    rec = Recorder()
    module = make_multi_output(nr)
    rec.watch(module)
    a = leaf(nr, a_np)
    first, five, last = module(a)
    assert five == 5
    (first.sum() + last.sum() if use_last else first.sum()).backward()
    grad_output = rec.events[0][2]
    assert [g is None for g in grad_output] == [False, True, not use_last]
    assert_close(rec.events[1][2][0], np.full(4, 5.0 if use_last else 2.0))
    assert_close(a.grad, np.full(4, 5.0 if use_last else 2.0))

    torch = torch_or_none()
    if torch is None:
        return
    trec = Recorder()
    tmodule = make_multi_output(torch)
    trec.watch(tmodule)
    tfirst, _, tlast = tmodule(leaf(torch, a_np))
    (tfirst.sum() + tlast.sum() if use_last else tfirst.sum()).backward()
    assert_same_events(rec.events, trec.events)


# ------------------------------------------------------------ replacing grads
def run_replacing(lib, x_np, g_np, module):
    module.register_full_backward_pre_hook(lambda m, gout: (gout[0] * 10,))
    module.register_full_backward_hook(lambda m, gin, gout: (gin[0] + 1,))
    seen = []
    module.register_full_backward_hook(lambda m, gin, gout: seen.append(to_numpy(gin[0])))
    x = leaf(lib, x_np)
    module(x).backward(lib.tensor(g_np))
    return x, seen


def test_hooks_replace_grad_output_and_grad_input():
    x_np, g_np = seeded((2, 3), 12), seeded((2, 2), 13)
    lin = nn.Linear(3, 2).double()
    x, seen = run_replacing(nr, x_np, g_np, lin)
    w = to_numpy(lin.weight)
    # The pre-hook scales grad_output for the whole module (weights included); each full
    # hook sees the previous one's grad_input, and the last result reaches x.
    assert_close(lin.weight.grad, (10 * g_np).T @ x_np)
    assert_close(seen[0], 10 * g_np @ w + 1)
    assert_close(x.grad, 10 * g_np @ w + 1)

    torch = torch_or_none()
    if torch is None:
        return
    tlin = torch_twin(torch, lin, torch.nn.Linear(3, 2))
    tx, tseen = run_replacing(torch, x_np, g_np, tlin)
    assert_close(x.grad, tx.grad.numpy())
    assert_close(lin.weight.grad, tlin.weight.grad.numpy())
    assert_close(seen[0], tseen[0])


@pytest.mark.parametrize("lib_name", ["neurarust", "torch"])
def test_invalid_hook_results_raise(lib_name):
    lib = nr if lib_name == "neurarust" else torch_or_none()
    if lib is None:
        pytest.skip("torch is not importable")
    cases = [("register_full_backward_hook", lambda m, gin, gout: (gin[0], gin[0]), True,
              "invalid number of grad_input"),
             ("register_full_backward_pre_hook", lambda m, gout: (gout[0], gout[0]), True,
              "invalid number of grad_output"),
             ("register_full_backward_hook", lambda m, gin, gout: (lib.ones(1, 2),), False,
              "no input requires gradient")]
    for method, hook, input_requires_grad, message in cases:
        lin = lib.nn.Linear(2, 1)
        getattr(lin, method)(hook)
        out = lin(lib.ones(1, 2, requires_grad=input_requires_grad)).sum()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(RuntimeError, match=message):
                out.backward()


# ------------------------------------------------------- firing conditions
@pytest.mark.parametrize("lib_name", ["neurarust", "torch"])
def test_no_input_requiring_grad_fires_at_outputs_with_none_grad_input(lib_name):
    lib = nr if lib_name == "neurarust" else torch_or_none()
    if lib is None:
        pytest.skip("torch is not importable")
    lin = lib.nn.Linear(2, 3)
    rec = Recorder()
    rec.watch(lin)
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        lin(lib.ones(4, 2)).sum().backward()
    assert [e[:2] for e in rec.events] == [("", "pre"), ("", "full")]
    assert rec.events[1][2] == [None]
    assert_close(rec.events[1][3][0], np.ones((4, 3), np.float32))
    assert_close(lin.weight.grad, np.full((3, 2), 4.0, np.float32))  # sum over the 4 rows of x = 1


def test_fires_once_per_backward_with_summed_grad_output():
    lin = nn.Linear(2, 1).double()
    rec = Recorder()
    rec.watch(lin)
    x = leaf(nr, [[1.0, 2.0]])
    out = lin(x)
    (out * 3 + out).sum().backward(retain_graph=True)
    out.sum().backward()
    assert [e[:2] for e in rec.events] == [("", "pre"), ("", "full")] * 2
    assert_close(rec.events[1][3][0], np.array([[4.0]]))
    assert_close(rec.events[3][3][0], np.array([[1.0]]))
    assert_close(x.grad, 5 * to_numpy(lin.weight))


def test_no_hooks_fire_without_a_graph():
    lin = nn.Linear(2, 1)
    rec = Recorder()
    rec.watch(lin)
    with nr.no_grad():
        out = lin(nr.ones(1, 2, requires_grad=True))
    assert not out.requires_grad and rec.events == []


def test_non_tensor_output_warns_and_skips_the_hooks():
    class ToDict(nn.Module):
        def forward(self, x):
            return {"y": x * 2}

    module, rec = ToDict(), Recorder()
    rec.watch(module)
    with pytest.warns(UserWarning, match="module output should be a Tensor or a tuple"):
        out = module(nr.ones(2, requires_grad=True))
    out["y"].sum().backward()
    assert rec.events == []


@pytest.mark.parametrize("lib_name", ["neurarust", "torch"])
def test_in_place_change_of_an_input_is_refused(lib_name):
    lib = nr if lib_name == "neurarust" else torch_or_none()
    if lib is None:
        pytest.skip("torch is not importable")

    class Doubler(lib.nn.Module):
        def forward(self, x):
            return x.mul_(2)

    module = Doubler()
    module.register_full_backward_hook(lambda m, gin, gout: None)
    x = lib.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="modified inplace"):
        module(x.clone()).sum().backward()
    assert_close(x.detach(), np.ones(2, np.float32))


def test_create_graph_hook_grads_are_differentiable():
    lin = nn.Linear(2, 1).double()
    seen = []
    lin.register_full_backward_hook(lambda m, gin, gout: seen.append((gin[0].requires_grad,
                                                                       gout[0].requires_grad)))
    x = leaf(nr, [[0.5, -1.0]])
    (dx,) = nr.autograd.grad((lin(x) ** 2).sum(), x, create_graph=True)
    assert seen == [(True, True)]
    (ddx,) = nr.autograd.grad(dx.sum(), x)
    w = to_numpy(lin.weight)
    assert_close(ddx, 2 * w.sum() * w)  # d/dx sum(2 (xW^T + b) W) = 2 (sum W) W


# --------------------------------------------- handles, ordering, global hooks
def test_handle_removal_restores_the_plain_graph():
    lin = nn.Linear(2, 1)
    rec = Recorder()
    handles = [lin.register_full_backward_hook(rec.full("")),
               lin.register_full_backward_pre_hook(rec.pre(""))]
    for h in handles:
        h.remove()
    out = lin(nr.ones(1, 2, requires_grad=True))
    assert out.grad_fn.name() != "BackwardHookFunctionBackward0"
    out.sum().backward()
    assert rec.events == [] and not lin._call_hook_ids
    with lin.register_full_backward_hook(rec.full("ctx")):
        lin(nr.ones(1, 2, requires_grad=True)).sum().backward()
    lin(nr.ones(1, 2, requires_grad=True)).sum().backward()
    assert [e[:2] for e in rec.events] == [("ctx", "full")]


@pytest.mark.parametrize("lib_name", ["neurarust", "torch"])
def test_prepend_ordering(lib_name):
    lib = nr if lib_name == "neurarust" else torch_or_none()
    if lib is None:
        pytest.skip("torch is not importable")
    lin = lib.nn.Linear(2, 1)
    order = []
    lin.register_full_backward_hook(lambda *a: order.append("h1"))
    lin.register_full_backward_hook(lambda *a: order.append("h0"), prepend=True)
    lin.register_full_backward_hook(lambda *a: order.append("h2"))
    lin.register_full_backward_pre_hook(lambda *a: order.append("p1"))
    lin.register_full_backward_pre_hook(lambda *a: order.append("p0"), prepend=True)
    lin(lib.ones(1, 2, requires_grad=True)).sum().backward()
    assert order == ["p0", "p1", "h0", "h1", "h2"]


@pytest.mark.parametrize("lib_name", ["neurarust", "torch"])
def test_global_backward_hooks_run_first_and_unregister(lib_name):
    lib = nr if lib_name == "neurarust" else torch_or_none()
    if lib is None:
        pytest.skip("torch is not importable")
    hooks = lib.nn.modules.module
    order = []
    handles = [hooks.register_module_full_backward_hook(
                   lambda m, gin, gout: order.append(("global", type(m).__name__, float(gin[0].sum())))),
               hooks.register_module_full_backward_pre_hook(lambda m, gout: order.append("global pre"))]
    try:
        act = lib.nn.Tanh()
        act.register_full_backward_hook(lambda m, gin, gout: order.append("local"))
        act.register_full_backward_pre_hook(lambda m, gout: order.append("local pre"))
        act(lib.zeros(3, requires_grad=True)).sum().backward()
    finally:
        for h in handles:
            h.remove()
    assert order == ["global pre", "local pre", ("global", "Tanh", 3.0), "local"]  # tanh'(0) = 1
    order.clear()
    lib.nn.Sigmoid()(lib.zeros(1, requires_grad=True)).sum().backward()
    assert order == []


def test_legacy_backward_hook_behaves_as_full_and_kinds_do_not_mix():
    act = nn.Sigmoid()
    rec = Recorder()
    handle = act.register_backward_hook(rec.full("legacy"))
    act(nr.zeros(2, requires_grad=True)).sum().backward()
    assert_close(rec.events[0][2][0], np.full(2, 0.25, np.float32))  # sigmoid'(0) = 1/4
    with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full"):
        act.register_full_backward_hook(rec.full("full"))
    handle.remove()
    act.register_full_backward_hook(rec.full("full"))  # allowed once no legacy hook remains
    with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full"):
        act.register_backward_hook(rec.full("legacy"))


def test_tables_cleared_directly_return_to_the_fast_path():
    lin = nn.Linear(2, 1)
    calls = []
    lin.register_forward_hook(lambda *a: calls.append("fwd"))
    lin._forward_hooks.clear()
    lin(nr.ones(1, 2))
    assert calls == [] and not lin._call_hook_ids


def test_unpickled_module_from_before_backward_hooks_gets_its_tables():
    lin = nn.Linear(2, 1)
    calls = []
    lin.register_forward_hook(lambda *a: calls.append("fwd"))
    old_state = {k: v for k, v in lin.__dict__.items()
                 if k not in ("_backward_hooks", "_backward_pre_hooks", "_call_hook_ids")}
    revived = nn.Linear.__new__(nn.Linear)
    revived.__setstate__(old_state)
    revived(nr.ones(1, 2))
    assert calls == ["fwd"] and revived._backward_hooks == {}


# -------------------------------------------------- forward always_call hooks
@pytest.mark.parametrize("lib_name", ["neurarust", "torch"])
def test_always_call_forward_hook_runs_when_forward_raises(lib_name):
    lib = nr if lib_name == "neurarust" else torch_or_none()
    if lib is None:
        pytest.skip("torch is not importable")

    class Failing(lib.nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    module, seen = Failing(), []
    module.register_forward_hook(lambda m, args, out: seen.append(("always", out)), always_call=True)
    module.register_forward_hook(lambda m, args, out: seen.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        module(lib.ones(1))
    assert seen == [("always", None)]


# ------------------------------------------------------------ state_dict hooks
@pytest.mark.parametrize("lib_name", ["neurarust", "torch"])
def test_state_dict_hooks(lib_name):
    lib = nr if lib_name == "neurarust" else torch_or_none()
    if lib is None:
        pytest.skip("torch is not importable")
    model = lib.nn.Sequential(lib.nn.Linear(2, 1))
    calls = []
    model[0].register_state_dict_pre_hook(lambda m, prefix, keep_vars: calls.append(("pre", prefix)))

    def drop_bias(module, sd, prefix, meta):
        del sd[prefix + "bias"]

    model[0].register_state_dict_post_hook(drop_bias)
    assert list(model.state_dict()) == ["0.weight"] and calls == [("pre", "0.")]
    model[0]._register_state_dict_hook(lambda m, sd, prefix, meta: {"only": 1})
    assert model[0].state_dict() == {"only": 1}
    bad = lib.nn.Linear(2, 1)
    bad.register_state_dict_post_hook(lambda m, sd, prefix, meta: sd)
    with pytest.raises(RuntimeError, match="state_dict post-hook must return None"):
        bad.state_dict()


@pytest.mark.parametrize("lib_name", ["neurarust", "torch"])
def test_load_state_dict_hooks(lib_name):
    lib = nr if lib_name == "neurarust" else torch_or_none()
    if lib is None:
        pytest.skip("torch is not importable")
    model = lib.nn.Sequential(lib.nn.Linear(2, 1, bias=False))
    calls = []

    def rename(module, sd, prefix, meta, strict, missing, unexpected, errors):
        calls.append(("pre", type(module).__name__, prefix))
        sd[prefix + "weight"] = sd.pop(prefix + "w")

    model[0].register_load_state_dict_pre_hook(rename)
    model[0]._register_load_state_dict_pre_hook(lambda sd, prefix, *rest: calls.append(("old", prefix)))
    model.register_load_state_dict_post_hook(
        lambda m, keys: calls.append(("post", list(keys.missing_keys), list(keys.unexpected_keys))))
    given = {"0.w": lib.tensor([[3.0, 4.0]])}
    assert repr(model.load_state_dict(given)) == "<All keys matched successfully>"
    assert list(given) == ["0.w"]  # the hooks edited a copy
    assert_close(to_numpy(model[0].weight), np.array([[3.0, 4.0]], np.float32))
    assert calls == [("pre", "Linear", "0."), ("old", "0."), ("post", [], [])]

    forgiving = lib.nn.Linear(2, 1)
    forgiving.register_load_state_dict_post_hook(lambda m, keys: keys.missing_keys.clear())
    assert repr(forgiving.load_state_dict({})) == "<All keys matched successfully>"
    returning = lib.nn.Linear(2, 1)
    returning.register_load_state_dict_post_hook(lambda m, keys: keys)
    with pytest.raises(AssertionError, match="not expected to return new values"):
        returning.load_state_dict(returning.state_dict())
