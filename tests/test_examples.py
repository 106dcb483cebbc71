"""Smoke-runs every script in ``examples/`` in a fresh interpreter.

Each script runs as a user would run it (``python examples/<name>.py``), with
the checkout under test first on ``PYTHONPATH`` so an in-place build is the
one imported.  A script that needs an optional package that is not installed
(the ``[examples]`` extra) is skipped, not failed.
"""
import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = REPO_ROOT / "examples"
SCRIPT_TIMEOUT_S = 120
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")

EXAMPLE_SCRIPTS = sorted(EXAMPLES_DIR.glob("*.py"))
# Training examples take an --epochs option; the smoke test runs a few epochs only.
SMOKE_ARGS = {"digits_mlp.py": ["--epochs", "3"], "digits_cnn.py": ["--epochs", "2"]}


@functools.lru_cache(maxsize=None)  # the quickstart's output is checked twice; run it once
def _run_script(script: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("MPLBACKEND", "Agg")  # plotting examples must not open windows
    try:
        return subprocess.run([sys.executable, str(script), *SMOKE_ARGS.get(script.name, [])],
                              cwd=REPO_ROOT, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=SCRIPT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{script.name} did not finish within {SCRIPT_TIMEOUT_S} s")


def test_quickstart_example_exists():
    # The README's first set-up command runs it.
    assert (EXAMPLES_DIR / "quickstart.py").is_file()


@pytest.mark.parametrize("script", EXAMPLE_SCRIPTS, ids=[p.name for p in EXAMPLE_SCRIPTS])
def test_example_runs(script):
    result = _run_script(script)
    if result.returncode != 0:
        missing = _MISSING_MODULE.search(result.stderr)
        if missing and missing.group(1).split(".")[0] != "neurarust":
            pytest.skip(f"{script.name} needs the optional package {missing.group(1)!r}")
        pytest.fail(f"{script.name} exited with status {result.returncode}\n"
                    f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}")
    assert result.stdout.strip(), f"{script.name} printed nothing"
    assert "Traceback" not in result.stderr, result.stderr


def test_digits_mlp_trains_saves_and_reloads():
    result = _run_script(EXAMPLES_DIR / "digits_mlp.py")
    if _MISSING_MODULE.search(result.stderr):
        pytest.skip("digits_mlp.py needs the [examples] extra (scikit-learn)")
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"test accuracy ([0-9.]+)", result.stdout).group(1))
    # Three epochs of SGD with momentum already separate the digits well; 20 reach >= 0.95.
    assert accuracy > 0.85, result.stdout
    assert "reloaded model predicts the same: True" in result.stdout


def test_quickstart_output_shows_the_documented_values():
    # Values a reader checks by hand (see the comments in the script):
    # (2, 1) + (3,) broadcasts to [[11, 12, 13], [21, 22, 23]]; writing 100 through
    # base.t()[0, 1] lands in base[1, 0]; d/dw (w.x - 1)^2 = 2 * 3.5 * x.
    result = _run_script(EXAMPLES_DIR / "quickstart.py")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "tensor([[11., 12., 13.],\n        [21., 22., 23.]])" in out
    assert "[100.,   4.,   5.]]" in out
    assert "same memory: True" in out
    assert "w.grad = tensor([ 7., 14., 21.])" in out
    assert "loss = 12.25" in out
