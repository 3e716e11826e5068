"""Performance figures of every charm against the budget in DESIGN.md.

For each charm this prints:
- size of its installed runtime dependencies (MB): the locked runtime requirements installed
  with bytecode into a fresh virtual environment, site-packages measured on disk;
- cold import time of src/charm.py (ms): median of 5 fresh interpreters in that environment,
  measured inside the process around `import charm`, after one run that compiled bytecode;
- Kubernetes write calls per event in install -> config-changed -> update-status ->
  config-changed (unchanged), counted by the fake lightkube client in a Scenario run.

Timings depend on the machine and its load: run it on a quiet machine. Exit code 1 when a
charm is over budget.
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
BUDGET_MS = 150.0
IMPORT_RUNS = 5
EVENTS = ("install", "config-changed", "update-status", "config-changed")


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


def import_ms(charm_dir: Path, venv: Path) -> float:
    """Median in-process import time of src/charm.py over fresh interpreters."""
    code = (
        "import time, sys; t = time.perf_counter(); import charm; "
        "print((time.perf_counter() - t) * 1000)"
    )
    env = {**os.environ, "PYTHONPATH": str(charm_dir / "src")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-c", code], env=env, check=True, capture_output=True)  # compile
    samples = [
        float(
            subprocess.run(
                [python, "-c", code], env=env, check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(IMPORT_RUNS)
    ]
    return statistics.median(samples)


def writes_per_event(charm_dir: Path) -> list[int]:
    """Kubernetes writes of each event in EVENTS (run in the test environment)."""
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
    print(f"{'charm':<28}{'deps MB':>9}{'import ms':>11}  writes {' -> '.join(EVENTS)}")
    over = False
    with tempfile.TemporaryDirectory() as tmp:
        for charm_dir in charms:
            venv = Path(tmp) / charm_dir.name
            install_runtime(charm_dir.name, venv)
            size = site_packages_mb(venv)
            millis = import_ms(charm_dir, venv)
            writes = writes_per_event(charm_dir)
            ok = size <= BUDGET_MB and millis <= BUDGET_MS and writes[-2:] == [0, 0]
            over |= not ok
            flag = "" if ok else "   OVER BUDGET"
            print(f"{charm_dir.name:<28}{size:>9.1f}{millis:>11.0f}  {writes}{flag}", flush=True)
    print(f"budget: {BUDGET_MB:.0f} MB, {BUDGET_MS:.0f} ms, 0 writes on the last two events")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
