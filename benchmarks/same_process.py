"""Memory-bound items timed in one process, ours and torch alternating on the same data.

    python -m benchmarks.same_process [--threads 1] [--repeats 30]

``python -m benchmarks`` measures each library in its own process, which is
fair for compute-bound items but lets the VM's memory bandwidth drift between
the processes of a memory-bound one.  Here both libraries read the same arrays
in turns, so a ratio near 1.00 means both run at the machine's bandwidth.  The
last lines give the floor of the batch-1 MLP inference of issue 3: the time to
stream its 7.4 MB of weights once, and its three GEMVs alone.
"""
import argparse
import statistics
import time

import numpy as np


def _median_us(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    import torch

    import neurarust as nr
    from neurarust._core import linalg

    nr.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    data = np.random.default_rng(0).standard_normal(16 << 20).astype(np.float32)
    square = data[:4096 * 4096].reshape(4096, 4096)
    ours = {"flat": nr.tensor(data), "square": nr.tensor(square),
            "x": nr.tensor(data[:4 << 20]), "y": nr.tensor(data[4 << 20:8 << 20])}
    theirs = {"flat": torch.tensor(data), "square": torch.tensor(square),
              "x": torch.tensor(data[:4 << 20]), "y": torch.tensor(data[4 << 20:8 << 20])}
    items = {"sum, 16M float32": lambda t: t["flat"].sum(),
             "sum(1), 4096x4096 float32": lambda t: t["square"].sum(1),
             "add, 4M float32": lambda t: t["x"] + t["y"]}
    print("| item | threads | ours | torch | ours/torch |\n|---|---|---|---|---|")
    with nr.no_grad(), torch.no_grad():
        for name, op in items.items():
            mine, other = [], []
            for _ in range(args.repeats):
                mine.append(_median_us(lambda: op(ours), 1))
                other.append(_median_us(lambda: op(theirs), 1))
            a, b = statistics.median(mine), statistics.median(other)
            print(f"| {name} | {args.threads} | {a / 1e3:.2f} ms | {b / 1e3:.2f} ms | {a / b:.2f} |")

        weights = nr.randn(1850000)  # 7.4 MB, the MLP's three weight matrices
        stream = _median_us(lambda: weights.sum(), 2000)
        shapes = [(784, 1024), (1024, 1024), (1024, 10)]
        layers = [(np.ones((1, i), np.float32), np.ones((o, i), np.float32), np.ones(o, np.float32),
                   np.empty((1, o), np.float32)) for i, o in shapes]

        def gemvs():
            for x, w, bias, out in layers:
                linalg.linear(x, w, bias, out)

        print(f"\nbatch-1 MLP inference floor, {args.threads} thread(s): reading 7.4 MB takes "
              f"{stream:.1f} µs ({7.4e6 / stream / 1e3:.0f} GB/s); its three GEMVs take "
              f"{_median_us(gemvs, 2000):.1f} µs")


if __name__ == "__main__":
    main()
