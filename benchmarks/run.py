"""Runs the benchmark items side by side with torch, NumPy and scipy; see benchmarks/README.md.

The parent process imports no numerical library. Every (item, library, thread count)
measurement runs in its own process, whose thread-count variables were set before the library
was imported, so each library's thread pools are sized at load time and no other library's
pool is alive beside it:

- default: one server process per (library, thread count) imports the library and nothing
  else runs in it; for each measurement it forks a child, which sets the thread count, makes
  the operands, measures and exits. This saves the import (about 2 s for torch) per measurement.
- ``--spawn``: each measurement starts a fresh interpreter instead (slower, for comparison).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import json
import os
import platform
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import timeit

from .items import ITEMS, ITEMS_BY_NAME, LIBRARIES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT = os.path.join(ROOT, "benchmarks", "RESULTS.md")
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Environment variables that change what the libraries do, recorded with the results.
RELEVANT_ENV_PREFIXES = ("OPENBLAS_", "OMP_", "MKL_", "GOMP_", "KMP_", "NEURARUST_", "ATEN_",
                         "TORCH_", "NPY_", "SCIPY_", "PYTHONHASHSEED", "LD_PRELOAD")
SEED = 20240611

# (rounds, seconds per timed batch at least, batches per process, warm-up seconds)
FULL_TIMING = (3, 0.1, 5, 0.1)
QUICK_TIMING = (2, 0.02, 3, 0.02)

LIBRARY_LABELS = {"ours": "ours", "torch": "torch", "numpy": "numpy", "scipy": "scipy sgemm"}


# ----------------------------------------------------------------------------- worker side

def _import_library(library):
    """The library's names for the timed statements. Imports only: nothing may compute here,
    because server processes fork after this (a used OpenMP pool does not survive a fork)."""
    if library == "ours":
        import neurarust as nr

        return {"nr": nr}
    if library == "torch":
        import torch

        return {"torch": torch}
    if library == "scipy":
        from scipy.linalg import blas

        return {"blas": blas}
    if library == "numpy":
        return {}
    raise ValueError(f"unknown library {library!r}")


def _set_threads(library, names, threads):
    """Sets the library's own thread count; returns what the library then reports."""
    if library == "ours":
        names["nr"].set_num_threads(threads)
        return names["nr"].get_num_threads()
    if library == "torch":
        names["torch"].set_num_threads(threads)
        return names["torch"].get_num_threads()
    return None  # numpy's and scipy's OpenBLAS read OPENBLAS_NUM_THREADS when they load


def _to_library(library, array, requires_grad, names):
    if library == "ours":
        return names["nr"].tensor(array, requires_grad=requires_grad)
    if library == "torch":
        return names["torch"].tensor(array, requires_grad=requires_grad)
    return array.copy()


def _fingerprint(value):
    """Shape, and position-weighted sums that differ when elements are wrong or misplaced."""
    import numpy as np

    parts = value if isinstance(value, (list, tuple)) else [value]
    arrays = []
    for part in parts:
        if hasattr(part, "detach"):
            part = part.detach()
        if hasattr(part, "numpy"):
            part = part.numpy()
        arrays.append(np.asarray(part, dtype=np.float64))
    flat = np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)
    weights = np.sin(np.arange(flat.size, dtype=np.float64) * 0.7 + 0.3)
    return {"shapes": [list(a.shape) for a in arrays],
            "weighted_sum": float(flat @ weights),
            "weighted_abs": float(np.abs(flat) @ np.abs(weights))}


def _batches_for(timer, min_time):
    """Like timeit.Timer.autorange, with our own minimum batch duration."""
    scale = 1
    while True:
        for factor in (1, 2, 5):
            number = factor * scale
            if timer.timeit(number) >= min_time:
                return number
        scale *= 10


def run_worker(spec):
    item = ITEMS_BY_NAME[spec["item"]]
    library, threads = spec["library"], spec["threads"]
    names = _import_library(library)
    threads_seen = _set_threads(library, names, threads)
    import numpy as np

    namespace = dict(names, np=np)
    rng = np.random.default_rng(SEED)
    for name, array in item.make_arrays(np, rng).items():
        namespace[name] = _to_library(library, array, name in item.requires_grad, names)
    exec(item.setups.get(library, ""), namespace)

    stmt = item.stmts[library]
    exec(stmt, namespace)  # one run, then the result, before any timing
    fingerprint = _fingerprint(eval(item.result_expression(library), namespace))

    # timeit disables the garbage collector; re-enabling it keeps the cost of collecting
    # the objects each call creates (autograd graphs especially) inside the measurement.
    timer = timeit.Timer(stmt, setup="import gc; gc.enable()", globals=namespace)
    warm_until = time.perf_counter() + spec["warmup"]
    while time.perf_counter() < warm_until:
        timer.timeit(1)
    number = _batches_for(timer, spec["min_time"])
    samples = [total / number for total in timer.repeat(spec["repeat"], number)]
    return {"samples": samples, "number": number, "fingerprint": fingerprint,
            "threads_seen": threads_seen}


def serve(library):
    """Server mode: import the library once, then fork one child per requested measurement.

    Reads one JSON spec per line on stdin and answers one JSON line on stdout."""
    _import_library(library)
    import numpy  # noqa: F401 - every worker makes its operands with it

    answers = sys.stdout
    for line in sys.stdin:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the measurement process
            os.close(read_end)
            os.dup2(2, 1)  # stray prints must not reach the protocol stream
            try:
                result = run_worker(json.loads(line))
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                result = {"error": f"{type(exc).__name__}: {exc}"}
            with os.fdopen(write_end, "w") as out:
                out.write(json.dumps(result))
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end) as inp:
            answer = inp.read()
        _, status = os.waitpid(pid, 0)
        if not answer:
            answer = json.dumps({"error": f"measurement process died (wait status {status})"})
        answers.write(answer + "\n")
        answers.flush()
    return 0


def collect_info():
    """Versions and build facts, gathered in a worker so the parent imports none of them."""
    info = {}
    import numpy

    info["numpy"] = numpy.__version__
    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["numpy_blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 - display only
        pass
    try:
        import scipy
        from scipy.linalg import blas as _  # noqa: F401

        info["scipy"] = scipy.__version__
        cfg = scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["scipy_blas"] = f"{cfg.get('name')} {cfg.get('version')}"
    except Exception as exc:  # noqa: BLE001
        info.setdefault("scipy", None)
        info["scipy_error"] = repr(exc)
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        info["torch_mkl"] = torch.backends.mkl.is_available()
    except Exception as exc:  # noqa: BLE001
        info["torch"] = None
        info["torch_error"] = repr(exc)
    try:
        import neurarust as nr

        info["neurarust"] = nr.__version__
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            text = nr.show_config()
        info["neurarust_config"] = (text if isinstance(text, str) else captured.getvalue()).strip()
    except Exception as exc:  # noqa: BLE001
        info["neurarust"] = None
        info["neurarust_error"] = repr(exc)
    return info


# ----------------------------------------------------------------------------- parent side

def _worker_env(threads):
    env = dict(os.environ)
    for var in THREAD_ENV_VARS:
        env[var] = str(threads)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _spawn(args, threads, timeout):
    """Runs ``python -m benchmarks.run ARGS`` and returns its JSON answer or an error."""
    try:
        proc = subprocess.run([sys.executable, "-m", "benchmarks.run", *args], cwd=ROOT,
                              env=_worker_env(threads), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {last}"}
    return json.loads(lines[-1])


class Measurer:
    """Runs one measurement per process: forked from per-(library, threads) servers, or with
    ``spawn`` a fresh interpreter each time."""

    def __init__(self, spawn, timeout):
        self.spawn, self.timeout, self.servers = spawn, timeout, {}

    def measure(self, spec):
        if self.spawn:
            return _spawn(["--worker", json.dumps(spec)], spec["threads"], self.timeout)
        key = (spec["library"], spec["threads"])
        server = self.servers.get(key)
        if server is None:
            stderr = tempfile.TemporaryFile(mode="w+")
            # Its own session, so that a hung measurement can be killed with its server.
            proc = subprocess.Popen([sys.executable, "-m", "benchmarks.run", "--serve",
                                     spec["library"]], cwd=ROOT, env=_worker_env(spec["threads"]),
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                    text=True, start_new_session=True)
            server = self.servers[key] = (proc, stderr)
        proc, stderr = server
        try:
            proc.stdin.write(json.dumps(spec) + "\n")
            proc.stdin.flush()
        except BrokenPipeError:
            pass
        # The import happens before the first answer, so allow for it on top of the timeout.
        ready, _, _ = select.select([proc.stdout], [], [], self.timeout + 60)
        line = proc.stdout.readline() if ready else ""
        if line:
            return json.loads(line)
        self._stop(key, kill=True)
        if not ready:
            return {"error": f"timed out after {self.timeout} s"}
        stderr.seek(0)
        last = (stderr.read().strip().splitlines() or ["no output"])[-1]
        return {"error": f"server for {spec['library']} exited: {last}"}

    def _stop(self, key, kill=False):
        proc, stderr = self.servers.pop(key)
        if kill:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        stderr.close()

    def close(self):
        for key in list(self.servers):
            self._stop(key)


def _read_text(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def _cpu_jiffies():
    """(busy, steal) CPU time of the whole machine so far, in seconds."""
    lines = _read_text("/proc/stat").splitlines()
    fields = lines[0].split()[1:] if lines else []
    if len(fields) < 8:
        return None
    values = [int(v) for v in fields[:8]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    hz = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / hz, steal / hz


def _own_cpu_seconds():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _load_average():
    try:
        return os.getloadavg()
    except OSError:
        return None


def machine_description():
    cpuinfo = _read_text("/proc/cpuinfo")
    model, flags = platform.processor() or "unknown", set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model in ("unknown", platform.processor()):
            model = value.strip()
        if key.strip() == "flags" and not flags:
            flags = set(value.split())
    isa = [f for f in ("sse4_2", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16")
           if f in flags]
    memory = "unknown"
    for line in _read_text("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 1024 ** 2:.1f} GiB"
    os_name = platform.system()
    for line in _read_text("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            os_name = line.split("=", 1)[1].strip('"')
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {
        "cpu": model,
        "isa": " ".join(isa) or "unknown",
        "virtualized": "yes (hypervisor flag)" if "hypervisor" in flags else "no",
        "cores": f"{os.cpu_count()} logical CPUs, {affinity} usable by this process",
        "memory": memory,
        "os": f"{os_name}, kernel {platform.release()} ({platform.machine()})",
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "env": {k: v for k, v in sorted(os.environ.items())
                if k.startswith(RELEVANT_ENV_PREFIXES)},
    }


def _git_revision():
    def git(*args):
        try:
            return subprocess.run(["git", "--no-optional-locks", *args], cwd=ROOT,
                                  capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown"
    changed = git("status", "--porcelain", "--untracked-files=no")
    return commit + (" with uncommitted changes" if changed else "")


# ----------------------------------------------------------------------------- statistics

def _median_or_none(values):
    return statistics.median(values) if values else None


def summarize(item, threads, libraries, records, rounds):
    """Times per library, per-round-median ratios, and the target verdict for one row."""
    row = {"item": item, "threads": threads, "times": {}, "ratios": {}, "errors": [],
           "mismatches": []}
    per_round = {}
    for lib in libraries:
        recs = records.get((item.name, threads, lib), [])
        samples = [s for r in recs if "samples" in r for s in r["samples"]]
        per_round[lib] = {r["round"]: statistics.median(r["samples"]) for r in recs if "samples" in r}
        row["errors"] += [f"{lib}: {r['error']}" for r in recs if "error" in r]
        row["errors"] += [f"{lib}: asked for {threads} threads, the library reports "
                          f"{r['threads_seen']} (round {r['round'] + 1})"
                          for r in recs if r.get("threads_seen") not in (None, threads)]
        if samples:
            row["times"][lib] = (statistics.median(samples), min(samples), max(samples))

    def round_ratios(references):
        ratios = []
        for rnd in range(rounds):
            ours = per_round.get("ours", {}).get(rnd)
            refs = [per_round.get(ref, {}).get(rnd) for ref in references]
            if ours is not None and refs and None not in refs:
                ratios.append(ours / min(refs))
        return ratios

    for lib in libraries:
        if lib != "ours":
            row["ratios"][lib] = _median_or_none(round_ratios((lib,)))
    target = item.target
    missing = [ref for ref in target.references if ref not in libraries]
    row["target_ratio"] = None if missing else _median_or_none(round_ratios(target.references))
    if missing:
        row["verdict"] = f"n/a (no {', '.join(missing)})"
    elif row["target_ratio"] is None:
        row["verdict"] = "n/a (error)"
    elif row["target_ratio"] <= target.max_ratio:
        ambitious = target.ambition is not None and row["target_ratio"] <= target.ambition
        row["verdict"] = "pass (ambition met)" if ambitious else "pass"
    else:
        row["verdict"] = "MISS"

    reference = next((lib for lib in ("numpy", "torch", "scipy") if lib in libraries
                      and (item.name, threads, lib) in records), None)
    ref_prints = {r["round"]: r["fingerprint"]
                  for r in records.get((item.name, threads, reference), []) if "fingerprint" in r}
    for lib in libraries:
        for rec in records.get((item.name, threads, lib), []):
            expected = ref_prints.get(rec["round"])
            got = rec.get("fingerprint")
            if expected and got and not _fingerprints_agree(got, expected):
                row["mismatches"].append(f"{lib} differs from {reference} (round {rec['round'] + 1})")
    return row


def _fingerprints_agree(got, expected):
    # 1e-3 of the magnitude: wide enough for float32 summation order, far too narrow for a
    # wrong or transposed result.
    return (got["shapes"] == expected["shapes"]
            and abs(got["weighted_sum"] - expected["weighted_sum"])
            <= 1e-3 * expected["weighted_abs"] + 1e-6)


# ----------------------------------------------------------------------------- formatting

def _format_seconds(seconds, unit=None):
    if unit is None:
        unit = next((u for u, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)) if seconds >= scale),
                    "ns")
    scale = {"s": 1, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}[unit]
    value = seconds / scale
    text = f"{value:.3g}" if value < 1000 else f"{value:.0f}"
    return text, unit


def _time_cell(times):
    if times is None:
        return "-"
    median, low, high = times
    text, unit = _format_seconds(median)
    return f"{text} {unit} ({_format_seconds(low, unit)[0]}-{_format_seconds(high, unit)[0]})"


def _ratio_cell(ratio):
    return "-" if ratio is None else f"{ratio:.2f}"


def _rate_cell(item, times):
    if times is None:
        return "-"
    if item.bytes_moved:
        return f"{item.bytes_moved / times[0] / 1e9:.1f} GB/s"
    return f"{item.flops / times[0] / 1e9:.0f} GFLOP/s"


def markdown_table(header, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |"
              for row in rows]
    return "\n".join(lines)


def results_tables(summaries, libraries, thread_counts):
    others = [lib for lib in libraries if lib != "ours"]
    header = (["item", "threads"] + [LIBRARY_LABELS[lib] for lib in libraries]
              + [f"ours/{lib}" for lib in others] + ["target", "got", "result"])
    rows = []
    for row in summaries:
        item = row["item"]
        flag = " (!)" if row["mismatches"] else ""
        rows.append([item.title + flag, row["threads"]]
                    + [_time_cell(row["times"].get(lib)) if lib in item.stmts else ""
                       for lib in libraries]
                    + [_ratio_cell(row["ratios"].get(lib)) if lib in item.stmts else ""
                       for lib in others]
                    + [item.target.text, _ratio_cell(row["target_ratio"]), row["verdict"]])
    main = markdown_table(header, rows)

    by_item = {}
    for row in summaries:
        by_item.setdefault(row["item"].name, {})[row["threads"]] = row
    summary_rows = []
    for name, per_threads in by_item.items():
        item = next(iter(per_threads.values()))["item"]
        cells = []
        for t in thread_counts:
            r = per_threads.get(t)
            if r is None:
                cells.append("-")
            elif r["target_ratio"] is None:
                cells.append(r["verdict"])
            else:
                cells.append(f"{_ratio_cell(r['target_ratio'])} {r['verdict']}")
        summary_rows.append([item.title, item.target.text] + cells)
    summary = markdown_table(["item", "target"] + [f"{t} thread{'s' * (t > 1)}" for t in
                                                  thread_counts], summary_rows)

    rate_rows = [[row["item"].title, row["threads"]]
                 + [_rate_cell(row["item"], row["times"].get(lib)) if lib in row["item"].stmts
                    else "" for lib in libraries]
                 for row in summaries if row["item"].bytes_moved or row["item"].flops]
    rates = markdown_table(["item", "threads"] + [LIBRARY_LABELS[lib] for lib in libraries],
                           rate_rows) if rate_rows else ""
    return main, summary, rates


def _notes(summaries):
    notes = []
    for row in summaries:
        for text in row["errors"] + row["mismatches"]:
            notes.append(f"- {row['item'].title}, {row['threads']} thread(s): {text}")
    return notes


def write_results(path, context, main, summary, rates, notes):
    machine, info = context["machine"], context["info"]
    env_lines = [f"  - `{k}={v}`" for k, v in machine["env"].items()] or ["  - (none set)"]
    versions = [f"numpy {info.get('numpy')} ({info.get('numpy_blas', '?')})",
                f"scipy {info.get('scipy')} ({info.get('scipy_blas', '?')})",
                f"torch {info.get('torch') or 'not importable'}"
                + (f" (CPU capability {info.get('torch_cpu_capability')}, MKL "
                   f"{'yes' if info.get('torch_mkl') else 'no'})" if info.get("torch") else ""),
                f"neurarust {info.get('neurarust')} at git {context['revision']}"]
    config = info.get("neurarust_config", "")
    idle = context["idle"]
    text = f"""# NeuraRust benchmark results

Written by `python -m benchmarks` on {context['started']} (took {context['duration']:.0f} s).
Times are per call: median over all timed batches of all rounds, (min-max).
Ratios are ours' time over the other library's, median of per-round ratios: below 1 is faster.
See `benchmarks/README.md` for the method.

Command: `{context['command']}`

Settings: {context['settings']}

## Machine

- CPU: {machine['cpu']}; ISA: {machine['isa']}; virtualized: {machine['virtualized']}
- Cores: {machine['cores']}
- Memory: {machine['memory']}
- OS: {machine['os']}
- Python: {machine['python']}
- Libraries: {'; '.join(versions)}
- Environment (as given; workers then set {', '.join(THREAD_ENV_VARS)} to the thread count):
{chr(10).join(env_lines)}
- Otherwise idle: {idle['verdict']}. Load average (1/5/15 min) before: {idle['before']}; after: \
{idle['after']}. Other processes used {idle['others']} on average during the run\
{idle['steal']}.

NeuraRust build (`nr.show_config()`):

```
{config}
```

## Results

{main}

## Targets by thread count

{summary}

## Throughput (from the median times)

{rates}
"""
    if notes:
        text += "\n## Errors and result mismatches\n\n" + "\n".join(notes) + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


# ----------------------------------------------------------------------------- main

def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time NeuraRust against torch, NumPy and scipy, one process per measurement.")
    parser.add_argument("--threads", default="1,2",
                        help="comma-separated thread counts, one column each (default 1,2)")
    parser.add_argument("--rounds", type=int, default=None,
                        help=f"interleaved rounds (default {FULL_TIMING[0]}, "
                             f"{QUICK_TIMING[0]} with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds and shorter timing, for a check that all works")
    parser.add_argument("--only", default="", help="comma-separated item names (see --list)")
    parser.add_argument("--list", action="store_true", help="list the items and exit")
    parser.add_argument("--output", default=DEFAULT_OUTPUT,
                        help="Markdown report to write ('-' for none; default benchmarks/RESULTS.md)")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds before a measurement process is abandoned")
    parser.add_argument("--spawn", action="store_true",
                        help="start a fresh interpreter per measurement instead of forking it "
                             "from a per-library server (slower)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--info", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]
    except ValueError:
        parser.error(f"--threads: expected comma-separated integers, got {args.threads!r}")
    if not args.thread_counts or min(args.thread_counts) < 1:
        parser.error("--threads: expected positive thread counts")
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in ITEMS_BY_NAME]
    if unknown:
        parser.error(f"--only: unknown item(s) {', '.join(unknown)}; "
                     f"known: {', '.join(ITEMS_BY_NAME)}")
    args.items = [ITEMS_BY_NAME[n] for n in names] if names else list(ITEMS)
    rounds, args.min_time, args.repeat, args.warmup = QUICK_TIMING if args.quick else FULL_TIMING
    args.rounds = rounds if args.rounds is None else args.rounds
    if args.rounds < 1:
        parser.error("--rounds: expected at least 1")
    return args


def _progress(message):
    print(message, file=sys.stderr, flush=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return 0
    if args.serve:
        return serve(args.serve)
    if args.info:
        print(json.dumps(collect_info()))
        return 0
    if args.list:
        for item in ITEMS:
            print(f"{item.name:24} {item.title:48} target {item.target.text}")
        return 0

    started = datetime.datetime.now(datetime.timezone.utc)
    load_before, cpu_before, own_before, wall_before = (_load_average(), _cpu_jiffies(),
                                                        _own_cpu_seconds(), time.monotonic())
    info = _spawn(["--info"], 1, args.timeout)
    if "error" in info:
        _progress(f"could not collect library versions: {info['error']}")
        info = {}
    available = [lib for lib in LIBRARIES
                 if lib in ("ours", "numpy") or info.get(lib if lib != "ours" else "neurarust")]
    skipped = [lib for lib in LIBRARIES if lib not in available]
    if skipped:
        _progress(f"skipping {', '.join(skipped)}: not importable")
    libraries = [lib for lib in available if any(lib in item.stmts for item in args.items)]

    records = {}
    measurer = Measurer(args.spawn, args.timeout)
    total = args.rounds * sum(len([lib for lib in item.libraries() if lib in libraries])
                              for item in args.items) * len(args.thread_counts)
    done = 0
    for rnd in range(args.rounds):
        for item in args.items:
            for threads in args.thread_counts:
                for lib in item.libraries():  # interleaved: ours, torch, numpy, scipy, ours, ...
                    if lib not in libraries:
                        continue
                    spec = {"item": item.name, "library": lib, "threads": threads,
                            "min_time": args.min_time, "repeat": args.repeat,
                            "warmup": args.warmup}
                    rec = measurer.measure(spec)
                    rec["round"] = rnd
                    records.setdefault((item.name, threads, lib), []).append(rec)
                    done += 1
                    shown = (rec["error"] if "error" in rec
                             else _time_cell((statistics.median(rec["samples"]),
                                              min(rec["samples"]), max(rec["samples"]))))
                    _progress(f"[{done}/{total}] round {rnd + 1}/{args.rounds} {item.name} "
                              f"threads={threads} {lib}: {shown}")

    measurer.close()
    load_after, cpu_after, own_after, wall_after = (_load_average(), _cpu_jiffies(),
                                                    _own_cpu_seconds(), time.monotonic())
    summaries = [summarize(item, threads, [lib for lib in libraries if lib in item.stmts],
                           records, args.rounds)
                 for item in args.items for threads in args.thread_counts]
    main_table, summary_table, rate_table = results_tables(summaries, libraries,
                                                           args.thread_counts)
    notes = _notes(summaries)
    print(main_table)
    print()
    print(summary_table)
    if rate_table:
        print()
        print(rate_table)
    if notes:
        print("\nErrors and result mismatches:\n" + "\n".join(notes))

    if args.output != "-":
        wall = wall_after - wall_before
        idle = {"before": _format_load(load_before), "after": _format_load(load_after),
                "others": "unknown", "steal": "", "verdict": "unknown"}
        if cpu_before and cpu_after:
            others = max(0.0, (cpu_after[0] - cpu_before[0]) - (own_after - own_before)) / wall
            steal = (cpu_after[1] - cpu_before[1]) / wall
            idle["others"] = f"{others:.2f} CPUs"
            idle["steal"] = f" (hypervisor steal {steal:.2f} CPUs)" if steal >= 0.01 else ""
            quiet_before = load_before is None or load_before[0] < 0.5
            idle["verdict"] = ("yes" if others < 0.1 and quiet_before
                               else "NO: other work ran during the run, numbers are less reliable")
        timing = (f"{args.rounds} rounds; per process: warm-up {args.warmup} s, then "
                  f"{args.repeat} batches of at least {args.min_time} s; "
                  f"threads {', '.join(map(str, args.thread_counts))}")
        write_results(args.output, {
            "machine": machine_description(), "info": info, "revision": _git_revision(),
            "started": started.strftime("%Y-%m-%d %H:%M UTC"), "duration": wall,
            "command": " ".join(["python -m benchmarks", *argv]).strip(),
            "settings": timing, "idle": idle,
        }, main_table, summary_table, rate_table, notes)
        _progress(f"wrote {os.path.relpath(args.output, os.getcwd())}")
    return 0


def _format_load(load):
    return "unknown" if load is None else " / ".join(f"{v:.2f}" for v in load)


if __name__ == "__main__":
    sys.exit(main())
