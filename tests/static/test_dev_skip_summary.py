"""The last line of `./dev test`: how many tests skipped, where, and what installs their needs."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def load_dev():
    """The `dev` script as a module (it has no .py suffix)."""
    loader = importlib.machinery.SourceFileLoader("dev_script", str(ROOT / "dev"))
    spec = importlib.util.spec_from_loader("dev_script", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


DEV = load_dev()

# What tox and pytest print, trimmed: colours on, one quiet and one verbose closing line.
OUTPUT = """\
lint: commands[0]> codespell /repo
\x1b[32munit\x1b[0m: commands[0]> python /repo/tools/unit.py
=== lib ===
SKIPPED [2] tests/ceph/pytest_ceph_rgw.py:53: Ceph is not installed
\x1b[33m== \x1b[32m120 passed\x1b[0m, \x1b[33m2 skipped\x1b[0m\x1b[33m in 4.20s\x1b[0m
=== charms/dex ===
======= 80 passed, 5 skipped, 1 warning in 62.01s (0:01:02) =======
static: commands[0]> pytest /repo/tests/static
============ 300 passed in 9.00s ============
spark: commands[0]> pytest /repo/examples/spark/tests
1 skipped in 0.50s
"""


def test_counts_skips_per_environment_through_colours() -> None:
    line = DEV.skip_summary(OUTPUT)
    assert line.startswith("./dev test: 8 tests skipped (7 in unit, 1 in spark)")
    assert "sudo .ci/run" in line


def test_a_run_without_skips_says_so() -> None:
    assert DEV.skip_summary("static: commands[0]> pytest\n== 3 passed in 0.1s ==\n") == (
        "./dev test: no test skipped"
    )


def test_skip_reasons_are_not_counted_as_totals() -> None:
    # "SKIPPED [3] ..." lines and test names mentioning skips are reasons, not closing lines.
    output = "unit: commands[0]> x\nSKIPPED [3] a.py:1: 4 skipped in 1s\ntest_2 skipped in 1s\n"
    assert DEV.skip_summary(output) == "./dev test: no test skipped"


def test_the_install_command_named_exists() -> None:
    assert (ROOT / ".ci" / "run").is_file()
    assert "`sudo .ci/run`" in DEV.INSTALL_HINT
