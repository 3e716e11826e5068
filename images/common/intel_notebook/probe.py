"""Evidence that an optimization really runs, gathered from a fresh interpreter.

Settings such as SKLEARNEX_PATCH or TF_ENABLE_ONEDNN_OPTS are read once per process, so each
check starts a new Python with the environment it needs. oneDNN's verbose mode
(ONEDNN_VERBOSE=1) prints the instruction set it detected and one line per primitive it executes:
the only proof that a framework's kernels are oneDNN's and not a fallback.
The image smoke tests are built on this; `run_tests` lets them run where pytest is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import traceback
from collections.abc import Callable, Mapping


def python(code: str, env: Mapping[str, str | None] | None = None, timeout: float = 300):
    """Run `code` in a new interpreter; `env` adds variables (None removes one)."""
    environment = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"python exited with {result.returncode}\n--- stdout\n{result.stdout}"
            f"\n--- stderr\n{result.stderr}"
        )
    return result


def onednn_isa_line(output: str) -> str:
    """The instruction set oneDNN says it detected ('' if oneDNN printed nothing)."""
    for line in output.splitlines():
        if line.startswith("onednn_verbose") and ",info,cpu,isa:" in line:
            return line.split("isa:", 1)[1]
    return ""


def onednn_executions(output: str, primitive: str | None = None) -> list[str]:
    """The verbose lines of executed oneDNN primitives, optionally of one kind (convolution)."""
    lines = []
    for line in output.splitlines():
        fields = line.split(",")
        executed = len(fields) > 5 and fields[0] == "onednn_verbose" and fields[3] == "exec"
        if executed and primitive in (None, fields[5]):
            lines.append(line)
    return lines


def run_tests(namespace: Mapping[str, object]) -> int:
    """Run every test_* function of a module; print pytest's closing line; 0 when all pass."""
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    failed = 0
    for name, test in tests:
        start = time.perf_counter()
        try:
            _call(test)
        except Exception:
            failed += 1
            print(f"FAILED {name}\n{traceback.format_exc()}", flush=True)
        else:
            print(f"PASSED {name} ({time.perf_counter() - start:.1f}s)", flush=True)
    print(f"{len(tests) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _call(test: Callable[..., object]) -> None:
    """Call a test function that takes no fixtures."""
    test()
