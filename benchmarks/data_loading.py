"""DataLoader throughput: NeuraRust against torch, batches per second.

    python -m benchmarks.data_loading            # 3 interleaved rounds
    python -m benchmarks.data_loading --rounds 5

Scenarios (each measured in its own process, 1 kernel thread, libraries
never mixed in one process, rounds interleaved ours / torch):

* ``tensor``: an in-memory ``TensorDataset`` of 60,000 x 784 float32 plus
  int64 labels, batch 128, ``shuffle=True``; ``num_workers`` 0 and 2.  One
  epoch is 469 batches, worker start-up included (what a training loop pays).
* ``slow``: 4,096 samples whose ``__getitem__`` does about 50 us of Python
  work, batch 64; ``num_workers`` 0 and 2.  Workers should give a speed-up.

Prints the median batches/s (min-max) per library and the median of the
per-round ratios ours / torch.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

SCENARIOS = [("tensor", 0), ("tensor", 2), ("slow", 0), ("slow", 2)]


def _measure(lib: str, scenario: str, workers: int, epochs: int) -> float:
    """Run in a child process: the median batches/s over ``epochs`` epochs."""
    import time

    import numpy as np

    if lib == "torch":
        import torch as L
        from torch.utils.data import DataLoader, Dataset, TensorDataset
        L.set_num_threads(1)
    else:
        import neurarust as L
        from neurarust.utils.data import DataLoader, Dataset, TensorDataset
        L.set_num_threads(1)

    class Slow(Dataset):
        def __init__(self, n):
            self.n = n
            self.rows = np.random.default_rng(0).standard_normal((n, 32)).astype(np.float32)

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            end = time.perf_counter() + 50e-6
            while time.perf_counter() < end:  # ~50 us of pure-Python work per sample
                pass
            return self.rows[i], i

    rng = np.random.default_rng(0)
    if scenario == "tensor":
        x = L.from_numpy(rng.standard_normal((60000, 784), dtype=np.float32))
        y = L.from_numpy(rng.integers(0, 10, 60000))
        ds, bs = TensorDataset(x, y), 128
    else:
        ds, bs = Slow(4096), 64
    kw = {"persistent_workers": False} if workers else {}
    dl = DataLoader(ds, batch_size=bs, shuffle=True, num_workers=workers, **kw)
    rates = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        n = 0
        for batch in dl:
            n += 1
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def _child(lib: str, scenario: str, workers: int, epochs: int) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    code = ("import json, benchmarks.data_loading as b; "
            f"print(json.dumps(b._measure({lib!r}, {scenario!r}, {workers}, {epochs})))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if out.returncode != 0:
        raise RuntimeError(f"{lib} {scenario} {workers}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3, help="epochs per process (median taken)")
    args = ap.parse_args(argv)
    try:
        import torch  # noqa: F401
        libs = ["ours", "torch"]
    except ImportError:
        libs = ["ours"]
    results = {(s, w, lib): [] for s, w in SCENARIOS for lib in libs}
    for _ in range(args.rounds):
        for s, w in SCENARIOS:
            for lib in libs:
                results[(s, w, lib)].append(_child(lib, s, w, args.epochs))
    print(f"DataLoader batches/s, median of {args.rounds} interleaved rounds (min-max), 1 kernel thread\n")
    head = f"{'scenario':<34}{'ours':>22}{'torch':>22}{'ours/torch':>12}"
    print(head)
    print("-" * len(head))
    names = {"tensor": "TensorDataset 60000x784, bs 128", "slow": "50 us/sample Python, bs 64"}
    for s, w in SCENARIOS:
        cells = []
        for lib in libs:
            r = results[(s, w, lib)]
            cells.append(f"{statistics.median(r):8.0f} ({min(r):.0f}-{max(r):.0f})")
        ratio = ""
        if len(libs) == 2:
            ratio = f"{statistics.median(a / b for a, b in zip(results[(s, w, 'ours')], results[(s, w, 'torch')])):.2f}x"
        print(f"{names[s] + f', workers {w}':<34}" + "".join(f"{c:>22}" for c in cells) + f"{ratio:>12}")
    for lib in libs:
        s0 = statistics.median(results[("slow", 0, lib)])
        s2 = statistics.median(results[("slow", 2, lib)])
        print(f"\n{lib}: speed-up of 2 workers on the slow dataset: {s2 / s0:.2f}x", end="")
    print()


if __name__ == "__main__":
    main()
