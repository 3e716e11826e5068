"""Keep one virtual environment per requirement set, shared by several tox environments.

tox records the name of the environment that created a directory (``.tox-info.json``,
section ``ToxEnv``, written by ``tox/tox_env/api.py``) and recreates the directory when
another environment name uses it: two tox environments sharing an ``env_dir`` wipe each
other, and the reinstall needs the network. So an example's run, serve and test
environments are thin tox environments (no dependencies), and its heavy environments are
made here, outside tox's bookkeeping:

    python tools/example_env.py VENV [uv pip install arguments ...]

creates VENV with uv and installs the arguments, then writes a stamp (the Python version,
the arguments and the content of every ``-r`` file). When the stamp still matches, it does
nothing at all, so after one online install every later call works with the network cut off.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

STAMP = "example-env.json"


def stamp(arguments: list[str]) -> str:
    """What the environment was installed from: Python, arguments, requirement files."""
    files = {}
    for flag, value in itertools.pairwise(arguments):
        if flag in ("-r", "--requirement", "-c", "--constraint"):
            files[value] = hashlib.sha256(Path(value).read_bytes()).hexdigest()
    return json.dumps({"python": sys.version, "arguments": arguments, "files": files})


def ensure(venv: Path, arguments: list[str]) -> bool:
    """Create or update *venv* when its stamp differs; True when something was installed."""
    wanted = stamp(arguments)
    marker = venv / STAMP
    if (venv / "bin" / "python").exists() and marker.is_file() and marker.read_text() == wanted:
        return False
    uv = shutil.which("uv")
    if uv is None:
        sys.exit("example_env: uv is not on PATH (run through ./dev tox)")
    marker.unlink(missing_ok=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "venv", "--quiet", "--allow-existing", "--python", sys.executable, str(venv)],
        check=True,
    )
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), *arguments], check=True
    )
    marker.write_text(wanted)
    return True


def main(argv: list[str]) -> int:
    """Command line: VENV followed by uv pip install arguments."""
    if len(argv) < 2:
        sys.exit("usage: example_env.py VENV UV_PIP_INSTALL_ARGUMENTS...")
    venv = Path(argv[0]).resolve()
    if ensure(venv, argv[1:]):
        print(f"example_env: installed {venv}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
