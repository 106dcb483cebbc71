"""Training-step benchmarks of issue 3 (section 8): NeuraRust vs torch, same script.

    python -m benchmarks.training [--rounds 3] [--threads 1]

Each (workload, library) measurement runs in a fresh process with the thread
count fixed before import; libraries are interleaved for ``--rounds`` rounds.
The workload code is written once against the torch API and runs with either
``neurarust`` or ``torch`` bound to ``lib``.  Reports medians, the ratio
ours/torch (median of per-round ratios) and peak RSS of each process.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

WORKLOADS = {
    "digits_mlp_20_epochs": ("digits MLP 64-128-64-10, SGD momentum, batch 64, 20 epochs", 0.6),
    "mlp_adam_step": ("MLP 784-1024-1024-10, batch 128, Adam, one training step", 1.0),
    "cnn_sgd_step": ("CNN (2 conv + 2 linear), batch 64 of 1x28x28, SGD, one training step", 1.0),
    "mlp_inference_b1": ("MLP 784-1024-1024-10 inference, batch 1, no_grad", 0.5),
}

CHILD = r'''
import os, sys, time, json, resource, statistics
lib_name, workload = sys.argv[1], sys.argv[2]
if lib_name == "torch":
    import torch as lib
    lib.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
else:
    import neurarust as lib
    lib.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
nn = lib.nn
lib.manual_seed(0)

def timed(step, repeat, warmup=3):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
    return statistics.median(times)

def train_step_fn(model, opt, x, y):
    loss_fn = nn.CrossEntropyLoss()
    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return step

if workload == "digits_mlp_20_epochs":
    import numpy as np
    from sklearn.datasets import load_digits
    d = load_digits()
    x_all = lib.tensor((d.data / 16.0).astype(np.float32)); y_all = lib.tensor(d.target.astype(np.int64))
    def run():
        model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
        opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        n = 1437
        for _ in range(20):
            order = lib.randperm(n)
            for s in range(0, n, 64):
                b = order[s:s + 64]
                opt.zero_grad(); loss = loss_fn(model(x_all[b]), y_all[b]); loss.backward(); opt.step()
    seconds = timed(run, 3, warmup=1)
elif workload in ("mlp_adam_step", "mlp_inference_b1"):
    model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
    if workload == "mlp_adam_step":
        x = lib.randn(128, 784); y = lib.randint(0, 10, (128,))
        seconds = timed(train_step_fn(model, lib.optim.Adam(model.parameters(), lr=1e-3), x, y), 30)
    else:
        x = lib.randn(1, 784)
        def infer():
            with lib.no_grad():
                model(x)
        seconds = timed(infer, 2000, warmup=50)
else:
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    x = lib.randn(64, 1, 28, 28); y = lib.randint(0, 10, (64,))
    seconds = timed(train_step_fn(model, lib.optim.SGD(model.parameters(), lr=0.01), x, y), 20)
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rss_mb": rss_mb}))
'''


def measure(lib: str, workload: str, threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-c", CHILD, lib, workload], env=env, capture_output=True,
                         text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{lib} {workload} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    names = [n for n in WORKLOADS if not args.only or n in args.only.split(",")]
    print("| workload | threads | ours | torch | ours/torch | target | result | RSS ours / torch (MB) |")
    print("|---|---|---|---|---|---|---|---|")
    for threads in (int(t) for t in args.threads.split(",")):
        for name in names:
            ours, theirs, ratios, rss = [], [], [], ([], [])
            for _ in range(args.rounds):
                a = measure("neurarust", name, threads)
                b = measure("torch", name, threads)
                ours.append(a["seconds"]); theirs.append(b["seconds"])
                ratios.append(a["seconds"] / b["seconds"])
                rss[0].append(a["rss_mb"]); rss[1].append(b["rss_mb"])
            ratio = statistics.median(ratios)
            title, target = WORKLOADS[name]
            print(f"| {title} | {threads} | {_fmt(statistics.median(ours))} | {_fmt(statistics.median(theirs))} "
                  f"| {ratio:.2f} | <= {target} | {'pass' if ratio <= target else 'MISS'} "
                  f"| {max(rss[0]):.0f} / {max(rss[1]):.0f} |", flush=True)


if __name__ == "__main__":
    main()
