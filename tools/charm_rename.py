"""Copy a packed charm under another charm name, so `juju refresh` can put it on an application.

Juju refreshes an application to a local charm only when the charm's metadata name is the name
of the charm the application runs, whether the path is given with `--switch` or `--path`
(juju/juju cmd/juju/application/refresher/refresher.go, `localCharmRefresher.Refresh`:
`cannot refresh "dex-auth" to "dex"`; the same test in Juju 2.9 and 3.x). Charmed Kubeflow's
application dex-auth runs the Charmhub charm `dex-auth`, so taking it over with our `dex` charm
needs a copy named `dex-auth`:

    python3 tools/charm_rename.py build/dex.charm dex-auth build/dex-auth.charm

Only the top-level `name:` line of metadata.yaml changes; every other entry is copied with its
bytes, permissions and compression (a packed charm is a zip whose `dispatch` must stay
executable). The charm's code does not use its own name: it works under either.
"""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

METADATA = "metadata.yaml"
USAGE = "python3 tools/charm_rename.py build/dex.charm dex-auth build/dex-auth.charm"
# A charm name: lowercase letters and digits in dash-separated groups (charmcraft's rule).
CHARM_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
NAME_LINE = re.compile(rb"^name:[ \t]*(['\"]?)([^'\"\s]+)\1[ \t]*$", re.MULTILINE)


class RenameError(Exception):
    """The charm cannot be renamed (the message says why)."""


def charm_name(charm: Path) -> str:
    """The name in a packed charm's metadata.yaml."""
    with zipfile.ZipFile(charm) as packed:
        return _name_line(packed.read(METADATA))[2].decode()


def rename(source: Path, name: str, target: Path) -> None:
    """Write `target`: `source` with `name` as the charm name."""
    if not CHARM_NAME.match(name):
        raise RenameError(f"{name!r} is not a charm name")
    if target.resolve() == source.resolve():
        raise RenameError("the copy must be another file")
    with zipfile.ZipFile(source) as packed:
        if METADATA not in packed.namelist():
            raise RenameError(f"{source} has no {METADATA}: not a packed charm")
        entries = [(info, packed.read(info)) for info in packed.infolist()]
    metadata = next(data for info, data in entries if info.filename == METADATA)
    line = _name_line(metadata)
    renamed = metadata[: line.start()] + b"name: " + name.encode() + metadata[line.end() :]
    with zipfile.ZipFile(target, "w") as copy:
        for info, data in entries:
            copy.writestr(info, renamed if info.filename == METADATA else data)


def _name_line(metadata: bytes) -> re.Match[bytes]:
    lines = list(NAME_LINE.finditer(metadata))
    if len(lines) != 1:
        raise RenameError(f"{METADATA} has {len(lines)} top-level name lines, not one")
    return lines[0]


def main(argv: list[str]) -> int:
    """SOURCE NAME TARGET; 0 when written, 1 when refused, 2 for a wrong command line."""
    if len(argv) != 3:
        print(f"usage: {USAGE}", file=sys.stderr)
        return 2
    source, name, target = Path(argv[0]), argv[1], Path(argv[2])
    try:
        before = charm_name(source)
        rename(source, name, target)
    except (RenameError, OSError, KeyError, zipfile.BadZipFile) as err:
        print(f"charm_rename: {err}", file=sys.stderr)
        return 1
    print(f"{target}: charm {before} named {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
