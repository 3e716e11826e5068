"""Pack every charm into build/<name>.charm with charmcraft (monorepo mode, so lib/ is in).

Needs charmcraft from snap and a build provider (LXD or Multipass); `concierge prepare -p k8s`
sets both up. Pass charm names to pack only those.

`charm_dirs` and `packed_path` say which charms there are and where each one's packed file goes;
the bundle checks (tests/local_charms.py) read them from here, so a bundle can only name a file
this script writes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"


def charm_dirs(root: Path = ROOT) -> list[Path]:
    """Every charm of a repository: the directories of charms/*/charmcraft.yaml."""
    return sorted(p.parent for p in root.glob("charms/*/charmcraft.yaml"))


def packed_path(charm: Path) -> Path:
    """Where packing leaves a charm: build/<directory name>.charm of its repository."""
    return charm.parent.parent / "build" / f"{charm.name}.charm"


def main(names: list[str]) -> int:
    """Pack the named charms (all when none are named)."""
    if shutil.which("charmcraft") is None:
        print("charmcraft not found: sudo snap install charmcraft --classic", file=sys.stderr)
        return 1
    selected = [c for c in charm_dirs() if not names or c.name in names]
    BUILD.mkdir(exist_ok=True)
    env = {**os.environ, "CHARMCRAFT_EXPERIMENTAL_MONOREPO": "1"}
    for charm in selected:
        print(f"packing {charm.name}", flush=True)
        before = set(charm.glob("*.charm"))
        subprocess.run(["charmcraft", "pack", "--verbose"], cwd=charm, env=env, check=True)
        produced = sorted(set(charm.glob("*.charm")) - before) or sorted(charm.glob("*.charm"))
        if len(produced) != 1:
            print(f"{charm.name}: expected one .charm, found {produced}", file=sys.stderr)
            return 1
        shutil.move(produced[0], packed_path(charm))
    print(f"packed {len(selected)} charm(s) into {BUILD}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
