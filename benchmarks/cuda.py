"""Issue 5's GPU benchmarks: NeuraRust's CUDA backend against the same machine's torch CUDA build.

    python -m benchmarks.cuda [--rounds 5] [--output results.md]

Each item runs both frameworks in the same process, interleaved round by
round, synchronising the device around every timed block; figures are
medians over rounds.  Needs a GPU, pycuda (``[cuda]``) and torch with CUDA.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Callable, Dict, List

MIB = 1 << 20


def _timed(fn: Callable[[], object], sync: Callable[[], None], iters: int) -> float:
    fn()
    sync()
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync()
    return (time.perf_counter() - start) / iters


def _mlp_step(fw, device, batch):
    fw.manual_seed(0)
    nn = fw.nn
    model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                          nn.Linear(1024, 10)).to(device)
    opt = fw.optim.Adam(model.parameters(), lr=1e-3)
    x = fw.randn(batch, 784, device=device)
    y = fw.randint(0, 10, (batch,), device=device)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def _items(nr, torch):
    def both(make):
        return {"ours": make(nr, "cuda"), "torch": make(torch, "cuda")}

    n_gemm, n_vec, n_soft = 4096, 64 * MIB, 4096

    def gemm(fw, dev):
        a, b = fw.randn(n_gemm, n_gemm, device=dev), fw.randn(n_gemm, n_gemm, device=dev)
        return lambda: a @ b

    def add(fw, dev):
        a, b = fw.randn(n_vec, device=dev), fw.randn(n_vec, device=dev)
        return lambda: a + b

    def total(fw, dev):
        a = fw.randn(n_vec, device=dev)
        return lambda: a.sum()

    def softmax(fw, dev):
        a = fw.randn(n_soft, n_soft, device=dev)
        return lambda: a.softmax(dim=1)

    return [
        ("sgemm 4096^3", both(gemm), 2 * n_gemm ** 3, "TFLOP/s", "ours >= 0.9x torch's TFLOP/s", 0.9, 5),
        ("add 64M float32", both(add), 3 * 4 * n_vec, "GB/s", "ours >= 0.8x torch's bandwidth", 0.8, 20),
        ("sum 64M float32", both(total), 4 * n_vec, "GB/s", "ours >= 0.8x torch", 0.8, 20),
        ("softmax 4096x4096 rows", both(softmax), 2 * 4 * n_soft * n_soft, "GB/s", "ours >= 0.8x torch", 0.8, 20),
        ("MLP 784-1024-1024-10 Adam step, batch 128",
         {"ours": _mlp_step(nr, "cuda", 128), "torch": _mlp_step(torch, "cuda", 128)}, None, "ms",
         "ours <= 1.5x torch's time", 1 / 1.5, 20),
        ("MLP 784-1024-1024-10 Adam step, batch 4096",
         {"ours": _mlp_step(nr, "cuda", 4096), "torch": _mlp_step(torch, "cuda", 4096)}, None, "ms",
         "ours <= 1.5x torch's time", 1 / 1.5, 10),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", default="-")
    args = parser.parse_args(argv)
    import torch

    import neurarust as nr

    if not nr.cuda.is_available():
        print(f"CUDA is not available: {nr.cuda.unavailable_reason()}", file=sys.stderr)
        return 2
    syncs = {"ours": nr.cuda.synchronize, "torch": torch.cuda.synchronize}
    lines = [f"GPU: {nr.cuda.get_device_name()}; torch {torch.__version__}; medians of {args.rounds} rounds", "",
             "| item | ours | torch | speed ours/torch | target | met |", "|---|---|---|---|---|---|"]
    failed = 0
    for label, fns, work, unit, target_text, target, iters in _items(nr, torch):
        times: Dict[str, List[float]] = {"ours": [], "torch": []}
        for _ in range(args.rounds):
            for who in ("ours", "torch"):
                times[who].append(_timed(fns[who], syncs[who], iters))
        med = {who: statistics.median(ts) for who, ts in times.items()}
        speed = med["torch"] / med["ours"]  # > 1: ours is faster
        if unit == "ms":
            shown = {who: f"{t * 1e3:.3f} ms" for who, t in med.items()}
        else:
            scale = 1e12 if unit == "TFLOP/s" else 1e9
            shown = {who: f"{work / t / scale:.1f} {unit}" for who, t in med.items()}
        met = speed >= target
        failed += not met
        lines.append(f"| {label} | {shown['ours']} | {shown['torch']} | {speed:.2f} | {target_text} | "
                     f"{'yes' if met else 'NO'} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if args.output == "-":
        print(text)
    else:
        with open(args.output, "w") as f:
            f.write(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
