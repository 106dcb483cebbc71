"""Tensors, autograd, nn and optimizers on a non-CPU device give the CPU's results.

Runs on every device of ``neurarust.testing.devices_under_test()``: always
the ``opaque`` test device (CPU kernels behind arrays that are not NumPy
arrays, so any code that bypasses the backend protocol fails here), and
``cuda`` when a GPU is available.  Op-by-op coverage comes from
``check_op``, which runs each op on these devices too; this file covers what
spans ops: creation, transfers, device errors, modules, training loops,
optimizers and serialization.
"""
from __future__ import annotations

import io

import numpy as np
import pytest

import neurarust as nr
import neurarust.nn as nn
import neurarust.nn.functional as F
from neurarust.testing import assert_close, devices_under_test, entered_device


@pytest.fixture(params=devices_under_test())
def dev(request):
    with entered_device(request.param) as d:
        yield d


def _tol(dev):
    # The opaque device runs the CPU kernels: results must match exactly.
    return (0.0, 0.0) if dev.type == "opaque" else (1e-4, 1e-5)


def test_creation_ops_honour_device(dev):
    made = [nr.zeros(2, 3, device=dev), nr.ones(2, device=dev), nr.full((2,), 3.5, device=dev),
            nr.arange(5, device=dev), nr.linspace(0, 1, 4, device=dev), nr.eye(3, device=dev),
            nr.empty(2, device=dev), nr.tensor([[1, 2]], device=dev), nr.randn(3, device=dev),
            nr.rand(2, 2, device=dev), nr.randint(0, 5, (4,), device=dev), nr.zeros_like(nr.ones(2), device=dev)]
    for t in made:
        assert t.device == dev, t
    like = nr.ones_like(made[0])
    assert like.device == dev
    assert_close(nr.arange(5, device=dev), np.arange(5))
    assert_close(nr.eye(3, device=dev), np.eye(3, dtype=np.float32))
    assert dev.index is not None and str(dev).endswith(":0")


def test_transfers_round_trip_and_carry_gradients(dev):
    x = nr.randn(3, 4, requires_grad=True)
    y = x.to(dev, non_blocking=True)
    assert y.device == dev and y.requires_grad and y.grad_fn is not None
    back = (y * y).sum(dim=1).cpu()
    assert back.device == nr.device("cpu")
    back.sum().backward()
    assert x.grad.device == nr.device("cpu")
    assert_close(x.grad, 2 * x.detach())
    assert y.to(dev) is y
    assert_close(y.to(nr.float64).to("cpu"), x.detach().to(nr.float64))
    transposed = x.detach().t().to(dev)
    assert_close(transposed, x.detach().numpy().T)


def test_mixing_devices_raises_and_names_both(dev):
    a, b = nr.ones(2, device=dev), nr.ones(2)
    for fn in (lambda: a + b, lambda: nr.cat([a, b]), lambda: a @ b, lambda: nr.where(b > 0, a, a),
               lambda: a.index_select(0, nr.tensor([0]))):
        with pytest.raises(nr.DeviceError) as info:
            fn()
        assert str(dev) in str(info.value) and "cpu" in str(info.value)
    assert_close(a + nr.tensor(2.0), np.full(2, 3.0, np.float32))  # a 0-d CPU tensor may join
    assert (a * nr.tensor(2.0)).device == dev


def test_item_numpy_and_repr(dev):
    x = nr.tensor([1.5, -2.0], device=dev)
    assert x.sum().item() == -0.5 and x.tolist() == [1.5, -2.0]
    # torch raises TypeError here; ours is also a DeviceError.
    with pytest.raises(TypeError, match="cpu"):
        x.numpy()
    with pytest.raises(nr.DeviceError):
        x.numpy()
    assert f"device='{dev}'" in repr(x)


def _mlp():
    nr.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.0), nn.Linear(16, 3))


def _cnn():
    nr.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 4, 3, stride=1, padding=1, groups=2), nn.GroupNorm(2, 4), nn.ReLU(),
                         nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(4),
                         nn.Linear(4, 3))


def _train(model, optimizer_cls, x, y, steps=3, **opt_kwargs):
    opt = optimizer_cls(model.parameters(), **opt_kwargs)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("make,shape", [(_mlp, (6, 8)), (_cnn, (4, 2, 8, 8))])
@pytest.mark.parametrize("opt,kwargs", [(nr.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=1e-3)),
                                        (nr.optim.Adam, dict(lr=1e-2)),
                                        (nr.optim.AdamW, dict(lr=1e-2, amsgrad=True)),
                                        (nr.optim.RMSprop, dict(lr=1e-3, momentum=0.5, centered=True)),
                                        (nr.optim.Adagrad, dict(lr=0.1))])
def test_training_on_the_device_matches_the_cpu(dev, make, shape, opt, kwargs):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 3, shape[0])
    cpu_model = make()
    dev_model = make().to(dev)
    assert all(p.device == dev for p in dev_model.parameters())
    assert all(b.device == dev for b in dev_model.buffers())
    cpu_losses = _train(cpu_model, opt, nr.tensor(x), nr.tensor(y), **kwargs)
    dev_losses = _train(dev_model, opt, nr.tensor(x, device=dev), nr.tensor(y, device=dev), **kwargs)
    rtol, atol = _tol(dev)
    np.testing.assert_allclose(dev_losses, cpu_losses, rtol=rtol * 10, atol=atol * 10)
    for (name, p), q in zip(cpu_model.named_parameters(), dev_model.parameters()):
        assert_close(q, p, rtol * 10, atol * 10, msg=f"parameter {name}")
    for p in dev_model.parameters():
        assert p.grad.device == dev
    dev_model.eval()
    with nr.no_grad():
        out = dev_model(nr.tensor(x, device=dev))
    cpu_model.eval()
    assert_close(out, cpu_model(nr.tensor(x)).detach(), rtol * 10, atol * 10)


def test_embedding_losses_and_module_transfer(dev):
    nr.manual_seed(0)
    emb = nn.Embedding(10, 4, padding_idx=0)
    idx = nr.tensor([[1, 0, 3], [9, 2, 2]])
    cpu_out = emb(idx)
    dev_emb = emb.to(dev)  # Module.to moves in place and returns the module
    assert dev_emb is emb and emb.weight.device == dev
    dev_out = emb(idx.to(dev))
    assert_close(dev_out, cpu_out.detach(), *_tol(dev))
    target = nr.randn(2, 3, 4)
    for loss_fn in (F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss):
        got = loss_fn(dev_out, target.to(dev))
        assert got.device == dev
        assert_close(got, loss_fn(cpu_out, target).detach(), *_tol(dev))
    logits = nr.randn(5, 3)
    labels = nr.tensor([0.0, 1.0, 1.0, 0.0, 1.0])
    assert_close(F.binary_cross_entropy_with_logits(logits[:, 0].to(dev), labels.to(dev)),
                 F.binary_cross_entropy_with_logits(logits[:, 0], labels), *_tol(dev))
    assert_close(F.nll_loss(F.log_softmax(logits.to(dev), 1), nr.tensor([0, 2, 1, 1, 0], device=dev)),
                 F.nll_loss(F.log_softmax(logits, 1), nr.tensor([0, 2, 1, 1, 0])), *_tol(dev))
    emb.cpu()
    assert emb.weight.device == nr.device("cpu")


def test_save_and_load_device_tensors(dev, tmp_path):
    state = {"w": nr.randn(3, 2, device=dev), "step": nr.tensor(4, device=dev)}
    path = tmp_path / "state.safetensors"
    nr.save(state, path)
    loaded = nr.load(path)
    assert loaded["w"].device == nr.device("cpu")
    assert_close(loaded["w"], state["w"].cpu())
    on_dev = nr.load(path, map_location=dev)
    assert on_dev["w"].device == dev and on_dev["step"].item() == 4


def test_seeded_random_is_reproducible_on_the_device(dev):
    nr.manual_seed(5)
    a = [nr.randn(4, device=dev), nr.rand(3, device=dev), nr.randint(0, 9, (5,), device=dev),
         nr.randperm(6, device=dev), nn.functional.dropout(nr.ones(8, device=dev), 0.5)]
    nr.manual_seed(5)
    b = [nr.randn(4, device=dev), nr.rand(3, device=dev), nr.randint(0, 9, (5,), device=dev),
         nr.randperm(6, device=dev), nn.functional.dropout(nr.ones(8, device=dev), 0.5)]
    for x, y in zip(a, b):
        assert x.device == dev
        assert_close(x, y, 0.0, 0.0)
    assert sorted(a[3].tolist()) == list(range(6))


def test_dataloader_pin_memory(dev):
    from neurarust.utils.data import DataLoader, TensorDataset

    data = TensorDataset(nr.arange(10.0).reshape(5, 2), nr.arange(5))
    loader = DataLoader(data, batch_size=2, pin_memory=True, pin_memory_device=str(dev))
    batches = list(loader)
    assert len(batches) == 3
    for x, y in batches:
        assert x.device == nr.device("cpu") and x.is_pinned(dev) and y.is_pinned(dev)
        assert x.to(dev, non_blocking=True).device == dev
    assert_close(batches[2][0], np.array([[8.0, 9.0]], np.float32))


def test_dataloader_pin_memory_without_a_pinning_device_warns_once():
    from neurarust.utils.data import DataLoader, TensorDataset

    if nr.cuda.is_available():
        pytest.skip("CUDA can pin here")
    loader = DataLoader(TensorDataset(nr.arange(4.0)), batch_size=2, pin_memory=True)
    with pytest.warns(UserWarning, match="pin_memory"):
        batches = list(loader)
    assert [b[0].tolist() for b in batches] == [[0.0, 1.0], [2.0, 3.0]]
