"""Performance figures of every charm against the budgets in docs/explanation/performance.md.

For each charm this prints:
- size of its installed runtime dependencies (MB): the locked runtime requirements installed
  with bytecode into a fresh virtual environment, site-packages measured on disk;
- cold import time of src/charm.py (ms) and of the Charmed Kubeflow helper stack (ops +
  charmed-kubeflow-chisme) in its own environment, timed alternately in fresh interpreters
  (median of 7 each, measured inside the process around the import, after one run that
  compiled bytecode), and their ratio;
- Kubernetes write calls and log records per event in install -> config-changed ->
  update-status -> config-changed (unchanged), counted in a Scenario run against the fake
  lightkube client.

Timings depend on the machine and its load: run it on a quiet machine; the CPU is printed
with the table. Exit code 1 when a charm is over budget.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MB = 40.0
BUDGET_IMPORT_RATIO = 0.45
# Log records per hook as Juju receives them (each one a `juju-log` process); ops itself
# writes three (start, storage, event) plus one per status it is handed.
BUDGET_LOGS = 6
IMPORT_RUNS = 7
EVENTS = ("install", "config-changed", "update-status", "config-changed")
# The import budget is relative: a charm written with the Charmed Kubeflow team's helpers
# imports ops and charmed-kubeflow-chisme (which brings lightkube, jsonschema, serialized-
# data-interface, ...). Timing both in one run cancels out the machine's speed.
REFERENCE_REQUIREMENTS = ("ops==3.9.0", "charmed-kubeflow-chisme==0.4.31")
REFERENCE_IMPORT = "ops, charmed_kubeflow_chisme.components, charmed_kubeflow_chisme.kubernetes"


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


def site_packages_mb(venv: Path) -> float:
    """Size on disk of everything installed into the environment's site-packages."""
    site = next(venv.glob("lib/python3*/site-packages"))
    total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file() and not f.is_symlink())
    return total / 1_000_000


def import_samples(python: Path, module: str, pythonpath: str, runs: int) -> list[float]:
    """In-process import times (ms) of `module` in `runs` fresh interpreters of `python`."""
    code = (
        f"import time; t = time.perf_counter(); import {module}; "
        "print((time.perf_counter() - t) * 1000)"
    )
    env = {**os.environ, "PYTHONPATH": pythonpath}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return [
        float(
            subprocess.run(
                [str(python), "-c", code], env=env, check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(runs)
    ]


def import_ratio(charm_dir: Path, venv: Path, reference: Path) -> tuple[float, float, float]:
    """Median import of src/charm.py, of the reference stack, and their ratio.

    The two are timed alternately, one fresh interpreter each, so a change in the machine's
    load during the run touches both; the first run of each compiles bytecode and is dropped.
    """
    charm_python, ref_python = venv / "bin" / "python", reference / "bin" / "python"
    src = str(charm_dir / "src")
    import_samples(charm_python, "charm", src, 1)
    import_samples(ref_python, REFERENCE_IMPORT, "", 1)
    charm_ms: list[float] = []
    ref_ms: list[float] = []
    for _ in range(IMPORT_RUNS):
        charm_ms += import_samples(charm_python, "charm", src, 1)
        ref_ms += import_samples(ref_python, REFERENCE_IMPORT, "", 1)
    charm, ref = statistics.median(charm_ms), statistics.median(ref_ms)
    return charm, ref, charm / ref


def install_reference(venv: Path) -> None:
    """The Charmed Kubeflow helper stack that our import budget is measured against."""
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
            *REFERENCE_REQUIREMENTS,
        ],
        check=True,
    )


def writes_per_event(charm_dir: Path) -> dict[str, list[int]]:
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
    print(f"CPU: {cpu_model()}")
    print(
        f"{'charm':<26}{'deps MB':>8}{'import ms':>10}{'ref ms':>8}{'ratio':>7}"
        f"  writes / log records, {' -> '.join(EVENTS)}"
    )
    over = False
    with tempfile.TemporaryDirectory() as tmp:
        reference = Path(tmp) / "reference"
        install_reference(reference)
        for charm_dir in charms:
            venv = Path(tmp) / charm_dir.name
            install_runtime(charm_dir.name, venv)
            size = site_packages_mb(venv)
            millis, ref_millis, ratio = import_ratio(charm_dir, venv, reference)
            counts = writes_per_event(charm_dir)
            ok = (
                size <= BUDGET_MB
                and ratio <= BUDGET_IMPORT_RATIO
                and counts["writes"][-2:] == [0, 0]
                and max(counts["logs"]) <= BUDGET_LOGS
            )
            over |= not ok
            flag = "" if ok else "   OVER BUDGET"
            print(
                f"{charm_dir.name:<26}{size:>8.1f}{millis:>10.0f}{ref_millis:>8.0f}{ratio:>7.2f}"
                f"  {counts['writes']} / {counts['logs']}{flag}",
                flush=True,
            )
    print(
        f"budget: {BUDGET_MB:.0f} MB, import <= {BUDGET_IMPORT_RATIO}x the reference stack "
        f"({' + '.join(REFERENCE_REQUIREMENTS)}), 0 writes on the last two events, "
        f"<= {BUDGET_LOGS} log records per event"
    )
    return 1 if over else 0


def cpu_model() -> str:
    """The processor's name: figures compare only within one run on one machine."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
