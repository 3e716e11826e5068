"""Performance figures of every charm against the budgets of docs/explanation/performance.md.

For each charm this prints:
- size of its installed runtime dependencies (MB): the locked runtime requirements installed
  with bytecode into a fresh virtual environment, site-packages measured on disk;
- cold import time of src/charm.py (ms) and its ratio to the import of the Charmed Kubeflow
  helper stack (ops + charmed-kubeflow-chisme, installed in an environment of its own): both
  timed in fresh interpreters, alternately, so that the machine's load weighs on both alike;
  medians of 5 runs, measured inside the process around the import, after one run that
  compiled bytecode;
- Kubernetes write calls and log records (INFO and above) per event in install ->
  config-changed -> update-status -> config-changed (unchanged), counted in a Scenario run
  with the fake lightkube client (tools/bench_writes.py).

Exit code 1 when a charm is over budget.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The budgets, and why, are in docs/explanation/performance.md.
BUDGET_MB = 40.0
BUDGET_IMPORT_RATIO = 0.45
BUDGET_LOGS_PER_EVENT = 5
IMPORT_RUNS = 5
EVENTS = ("install", "config-changed", "update-status", "config-changed")
# What a Charmed Kubeflow charm imports: ops and chisme's components and Kubernetes helpers.
REFERENCE_CHISME = "charmed-kubeflow-chisme==0.4.31"
REFERENCE_IMPORT = (
    "import ops, charmed_kubeflow_chisme.components, charmed_kubeflow_chisme.kubernetes"
)


def uv() -> str:
    """The uv binary (tox-uv puts one on PATH; ./dev keeps one in .tools/bin)."""
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        sys.exit("uv not found: run through ./dev tox -e bench")
    return found


def install_runtime(charm: str, venv: Path) -> None:
    """Install the charm's locked runtime dependencies (no dev groups) into `venv`."""
    requirements = subprocess.run(
        [
            uv(),
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-emit-project",
            "--no-editable",
            "--package",
            charm,
            "--no-header",
            "--no-annotate",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    req_file = venv.parent / f"{charm}-requirements.txt"
    req_file.write_text(requirements)
    subprocess.run([uv(), "venv", "--quiet", str(venv)], check=True)
    subprocess.run(  # from the root, where the requirements' ./lib points
        [
            uv(),
            "pip",
            "install",
            "--quiet",
            "--compile-bytecode",
            "--python",
            str(venv / "bin" / "python"),
            "-r",
            str(req_file),
            # lib/ keeps its version number between changes: build it afresh, not from cache
            "--refresh-package",
            "dsplib",
            "--reinstall-package",
            "dsplib",
        ],
        cwd=ROOT,
        check=True,
    )


def locked_version(package: str) -> str:
    """The version of `package` in uv.lock (the reference stack gets the charms' ops)."""
    lock = (ROOT / "uv.lock").read_text()
    found = re.search(rf'^name = "{re.escape(package)}"\nversion = "([^"]+)"', lock, re.M)
    if found is None:
        sys.exit(f"{package} is not in uv.lock")
    return found[1]


def install_reference(venv: Path) -> None:
    """The Charmed Kubeflow helper stack that the import budget is relative to."""
    subprocess.run([uv(), "venv", "--quiet", str(venv)], check=True)
    subprocess.run(
        [
            uv(),
            "pip",
            "install",
            "--quiet",
            "--compile-bytecode",
            "--python",
            str(venv / "bin" / "python"),
            f"ops=={locked_version('ops')}",
            REFERENCE_CHISME,
        ],
        check=True,
    )


def site_packages_mb(venv: Path) -> float:
    """Size on disk of everything installed into the environment's site-packages."""
    site = next(venv.glob("lib/python3*/site-packages"))
    total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file() and not f.is_symlink())
    return total / 1_000_000


def timed_import(python: Path, statement: str, pythonpath: str = "") -> float:
    """Milliseconds `statement` takes in a fresh interpreter, measured inside it."""
    code = (
        f"import time; t = time.perf_counter(); {statement}; "
        "print((time.perf_counter() - t) * 1000)"
    )
    env = {**os.environ, "PYTHONPATH": pythonpath}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run(
        [str(python), "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout
    return float(out)


def import_ms(charm_dir: Path, venv: Path, reference: Path) -> tuple[float, float]:
    """Median import times of src/charm.py and of the reference stack, timed alternately."""
    charm = (venv / "bin" / "python", "import charm", str(charm_dir / "src"))
    stack = (reference / "bin" / "python", REFERENCE_IMPORT, "")
    for warm_up in (charm, stack):  # compile bytecode, warm the file cache
        timed_import(*warm_up)
    samples = [(timed_import(*charm), timed_import(*stack)) for _ in range(IMPORT_RUNS)]
    return (
        statistics.median(s[0] for s in samples),
        statistics.median(s[1] for s in samples),
    )


def over_budget(size: float, ratio: float, counts: dict[str, list[int]]) -> list[str]:
    """The budgets a charm's figures break (none: within budget)."""
    broken = []
    if size > BUDGET_MB:
        broken.append(f"deps {size:.1f} MB > {BUDGET_MB:.0f} MB")
    if ratio > BUDGET_IMPORT_RATIO:
        broken.append(f"import {ratio:.2f}x > {BUDGET_IMPORT_RATIO}x")
    if counts["writes"][-2:] != [0, 0]:
        broken.append("Kubernetes writes on a hook where nothing changed")
    if max(counts["logs"]) > BUDGET_LOGS_PER_EVENT:
        broken.append(f"more than {BUDGET_LOGS_PER_EVENT} log records in one hook")
    return broken


def counts_per_event(charm_dir: Path) -> dict[str, list[int]]:
    """Kubernetes writes and log records of each event in EVENTS (in the test environment)."""
    env = {**os.environ, "PYTHONPATH": str(charm_dir / "src")}
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bench_writes.py"), str(charm_dir), *EVENTS],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def main(names: list[str]) -> int:
    """Measure the named charms (all when none) and print one row per charm."""
    charms = sorted(p.parent for p in ROOT.glob("charms/*/charmcraft.yaml"))
    charms = [c for c in charms if not names or c.name in names]
    print(
        f"{'charm':<26}{'deps MB':>8}{'import ms':>10}{'stack ms':>9}{'ratio':>7}"
        f"  writes, logs per event: {' -> '.join(EVENTS)}"
    )
    over = False
    with tempfile.TemporaryDirectory() as tmp:
        reference = Path(tmp) / "reference-stack"
        install_reference(reference)
        print(f"{'(helper stack)':<26}{site_packages_mb(reference):>8.1f}", flush=True)
        for charm_dir in charms:
            venv = Path(tmp) / charm_dir.name
            install_runtime(charm_dir.name, venv)
            size = site_packages_mb(venv)
            millis, stack_ms = import_ms(charm_dir, venv, reference)
            counts = counts_per_event(charm_dir)
            broken = over_budget(size, millis / stack_ms, counts)
            over |= bool(broken)
            flag = f"   OVER BUDGET: {'; '.join(broken)}" if broken else ""
            print(
                f"{charm_dir.name:<26}{size:>8.1f}{millis:>10.0f}{stack_ms:>9.0f}"
                f"{millis / stack_ms:>7.2f}  {counts['writes']}, {counts['logs']}{flag}",
                flush=True,
            )
    print(
        f"budget: {BUDGET_MB:.0f} MB, import at most {BUDGET_IMPORT_RATIO}x the stack's,"
        f" 0 writes on the last two events, at most {BUDGET_LOGS_PER_EVENT} log records per"
        " event (docs/explanation/performance.md)"
    )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
