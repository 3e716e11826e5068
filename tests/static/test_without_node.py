"""tools/without_node.py, which runs pyright in `tox -e lint` with Node.js hidden.

The lint environment proves pyright runs on its own wheel's Node.js only if the wrapper really
catches a command that reaches for `node` on PATH or downloads one: these cases must fail.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
WRAPPER = ROOT / "tools" / "without_node.py"


def run(script: str) -> subprocess.CompletedProcess[str]:
    """Run a shell script through the wrapper."""
    return subprocess.run(  # noqa: S603 - this repository's script and fixed commands
        [sys.executable, str(WRAPPER), "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_a_command_that_needs_no_node_keeps_its_status() -> None:
    assert run("exit 0").returncode == 0
    assert run("exit 3").returncode == 3


def test_node_on_path_is_a_failing_shim() -> None:
    result = run("node --version; exit 0")
    assert result.returncode == 1
    assert "called Node.js from PATH" in result.stderr
    assert "pyright[nodejs]" in result.stderr


def test_every_node_command_is_hidden() -> None:
    for name in ("nodejs", "npm", "npx"):
        result = run(f"{name} --version; exit 0")
        assert result.returncode == 1, name


def test_a_node_downloaded_by_nodeenv_fails() -> None:
    result = run('mkdir "$PYRIGHT_PYTHON_ENV_DIR" && touch "$PYRIGHT_PYTHON_ENV_DIR/node"')
    assert result.returncode == 1
    assert "installed a Node.js with nodeenv" in result.stderr


def test_no_command_is_a_usage_error() -> None:
    result = subprocess.run(  # noqa: S603 - this repository's script
        [sys.executable, str(WRAPPER)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
