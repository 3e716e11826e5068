"""The fake `juju`'s state and calls, and a checkout of the files Juju reads.

fake_juju.py records every call and answers from a JSON state file; `FakeJuju` seeds the
state and reads back the calls. A checkout is a copy of the files Juju and tools/deploy.sh
read (bundle, overlays, tools/) with placeholder packed charms in build/.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
FAKE = Path(__file__).resolve().parent / "fake_juju.py"
# Every charm of charms/, packed into build/ (what `./dev tox -e pack` writes): the bundle and
# the overlays name some of them.
OUR_CHARMS = tuple(sorted(p.parent.name for p in ROOT.glob("charms/*/charmcraft.yaml")))


class FakeJuju:
    """The fake's state and the calls it received."""

    def __init__(self, root: Path, home: Path):
        self.root = root
        self.home = home
        self.bin = root / "snap" / "bin"
        self.state_file = root / "state" / "state.json"

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_file.read_text())

    def write(self, state: dict[str, Any]) -> None:
        self.state_file.write_text(json.dumps(state, indent=1))

    def update(self, **changes: Any) -> None:
        self.write({**self.state(), **changes})

    def model(self, name: str) -> dict[str, Any]:
        return self.state()["models"][name]

    def calls(self) -> list[list[str]]:
        path = self.state_file.with_name("calls.jsonl")
        if not path.exists():
            return []
        return [json.loads(line)["argv"] for line in path.read_text().splitlines()]

    def commands(self) -> list[str]:
        return [argv[0] for argv in self.calls()]


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def make_checkout(target: Path) -> Path:
    """The files Juju and deploy.sh read, copied to `target`, with packed charms in build/."""
    target.mkdir(parents=True)
    shutil.copy2(ROOT / "bundle.yaml", target / "bundle.yaml")
    shutil.copytree(ROOT / "overlays", target / "overlays")
    shutil.copytree(ROOT / "tools", target / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    (target / "build").mkdir()
    for charm in OUR_CHARMS:
        (target / "build" / f"{charm}.charm").write_text("a packed charm\n")
    return target
