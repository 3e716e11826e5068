"""Run the unit tests of lib/ and of every charm, one pytest process per project.

Every charm has a module named `charm` in its src/, so charms cannot share one interpreter:
each project runs in its own process with its own src/ on the path, under coverage.
Extra arguments go to every pytest run (e.g. `-k secrets`); `--project NAME` picks projects.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def projects() -> list[Path]:
    """lib/ and every charm with unit tests."""
    charms = sorted(p.parent.parent for p in ROOT.glob("charms/*/tests/unit"))
    return [ROOT / "lib", *charms]


def test_dir(project: Path) -> Path:
    """Where a project keeps its unit tests."""
    return project / "tests" if project.name == "lib" else project / "tests" / "unit"


def run(project: Path, pytest_args: list[str]) -> int:
    """Run one project's tests under coverage; return pytest's exit code."""
    env = dict(os.environ)
    src = project / "src"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH", "")]))
    env["COVERAGE_FILE"] = str(ROOT / ".tox" / f".coverage.{project.name}")
    cmd = [
        sys.executable,
        "-m",
        "coverage",
        "run",
        f"--rcfile={ROOT / 'pyproject.toml'}",
        f"--source={src}",
        "-m",
        "pytest",
        "-c",
        str(ROOT / "pyproject.toml"),
        "--rootdir",
        str(project),
        str(test_dir(project)),
        *pytest_args,
    ]
    print(f"\n=== {project.relative_to(ROOT)} ===", flush=True)
    code = subprocess.call(cmd, cwd=project, env=env)
    if code == 0:
        subprocess.call(
            [sys.executable, "-m", "coverage", "report", f"--rcfile={ROOT / 'pyproject.toml'}"],
            cwd=project,
            env=env,
        )
    return code


def main() -> int:
    """Run every selected project; fail if any failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", action="append", help="lib or a charm name (repeatable)")
    args, pytest_args = parser.parse_known_args()
    selected = [p for p in projects() if not args.project or p.name in args.project]
    failed = [p.name for p in selected if run(p, pytest_args) != 0]
    if failed:
        print(f"\nunit tests failed in: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
