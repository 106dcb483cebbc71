"""Shared helper of the conv/pooling/normalization tests: run one op in NeuraRust and torch."""
import numpy as np

import neurarust as nr
from neurarust.testing import assert_close


def compare(nr_fn, torch_fn, arrays, torch, seed=0, grads=True, **tol):
    """Forward outputs and gradients (of a seeded weighted sum) agree with torch, same inputs."""
    leaves = [nr.tensor(a.copy(), requires_grad=grads) for a in arrays]
    tleaves = [torch.tensor(a.copy(), requires_grad=grads) for a in arrays]
    out, tout = nr_fn(*leaves), torch_fn(*tleaves)
    outs = out if isinstance(out, tuple) else (out,)
    touts = tout if isinstance(tout, tuple) else (tout,)
    for o, t in zip(outs, touts):
        assert tuple(o.shape) == tuple(t.shape)
        assert_close(o.detach().numpy(), t.detach().numpy(), **tol)
    if grads:
        w = np.random.default_rng(seed).standard_normal(tuple(outs[0].shape)).astype(arrays[0].dtype)
        (outs[0] * nr.tensor(w)).sum().backward()
        (touts[0] * torch.tensor(w)).sum().backward()
        for a, t in zip(leaves, tleaves):
            assert_close(a.grad.numpy(), t.grad.numpy(), **tol)
    return outs
