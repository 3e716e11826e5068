"""Juju's rules for local charms, applied to every bundle, overlay and documented deploy command.

The unit tests cannot see what Juju does with our files; these are the rules it applies to a
charm deployed from a path, each with where Juju implements it (github.com/juju/juju):

1. A `charm:` value is a path when it starts with "." or is absolute; anything else is a
   Charmhub name (internal/charm/bundle.go `IsValidLocalCharmOrBundlePath`).
2. A relative path is resolved against the directory of the file that names it, base bundle
   or overlay (internal/charm/overlay.go `ReadAndMergeBundleData` and
   `resolveRelativeCharmPath`; the directory is the file's, internal/charm/bundledatasrc.go
   `LocalBundleDataSource`). Since Juju 2.7, juju/juju PR 10487 (juju/charm PR 289); before,
   overlays were resolved against the base bundle. `juju deploy <path>` of one charm resolves
   the path against the working directory.
3. A local charm has no store to take resources from: on a Kubernetes model every `oci-image`
   resource its metadata declares must be given, with `--resource name=image` for one charm
   (cmd/juju/application/deployer/deployer.go `validateResourcesNeededForLocalDeploy`:
   "local charm missing OCI images for: ...") or in the application's `resources:` in a
   bundle, whose only other source is a store revision (deployer/bundlehandler.go
   `makeResourceMap`).
4. An overlay merges into the base bundle's application of the same name
   (internal/charm/overlay.go `applyOverlay`), so an overlay application may take its
   resources from the bundle it extends (tests/bundles.py `merge` models the merge).
5. Deployed without an application name, the application is named after the charm's
   metadata `name`, not after the file.
6. Juju 4 deploys no charm directory, only packed charms, in bundles too (juju/juju PR 17731,
   "feat: remove deploy from directory").

Our own rule on top: a path must name the file tools/pack.py writes for a charm in charms/
(`packed_path`), and that file is called after the charm's metadata `name`, so that
`juju deploy ./build/<name>.charm` gives the application <name> the docs go on to use.

Every function takes the repository root, so the tests can run them on broken fixtures.
Documented commands are read as run from the repository root, as the docs say.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from bundles import ROOT, is_local_charm, load, merge, our_charm, resolve_charm
from pack import charm_dirs, packed_path

# Directories that hold no file of ours: tool environments, build output, version control.
SKIP_DIRS = {".git", ".tox", ".tools", ".venv", "build", "node_modules", "__pycache__"}
# Where deploy commands are documented.
DOC_GLOBS = ("README.md", "docs/**/*.md", "overlays/*.md", "overlays/*.yaml", "*.yaml")
# `juju deploy` options that take a value (juju help deploy).
VALUE_OPTIONS = {
    "--overlay", "--resource", "--channel", "--config", "--base", "-n", "--num-units",
    "--constraints", "--to", "--bind", "-m", "--model", "--revision", "--storage", "--device",
    "--attach-storage", "--series",
}  # fmt: skip


def bundle_files(root: Path = ROOT) -> list[Path]:
    """Every YAML file of the repository with an `applications:` mapping (bundles, overlays)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.suffix in (".yaml", ".yml") and _documents_with_applications(path):
                found.append(path)
    return found


def _documents_with_applications(path: Path) -> list[dict[str, Any]]:
    try:
        documents = list(yaml.safe_load_all(path.read_text()))
    except (yaml.YAMLError, UnicodeDecodeError):
        return []
    return [
        d for d in documents if isinstance(d, dict) and isinstance(d.get("applications"), dict)
    ]


def packed_charms(root: Path = ROOT) -> dict[str, Path]:
    """Absolute packed path -> charm directory, for every charm in charms/."""
    return {str(packed_path(d)): d for d in charm_dirs(root)}


def metadata(charm_dir: Path) -> dict[str, Any]:
    """A charm's charmcraft.yaml."""
    return yaml.safe_load((charm_dir / "charmcraft.yaml").read_text()) or {}


def oci_resources(charm_dir: Path) -> set[str]:
    """The resources of type oci-image a charm declares."""
    resources = metadata(charm_dir).get("resources") or {}
    return {name for name, r in resources.items() if (r or {}).get("type") == "oci-image"}


def path_problems(charm: str, base: Path, root: Path, where: str) -> list[str]:
    """What is wrong with a local charm path read from a file (or working directory) in `base`."""
    if os.path.isabs(charm):
        return [f"{where}: {charm} is absolute; name it relative to {base}"]
    resolved = resolve_charm(base, charm)
    packed = packed_charms(root)
    if (Path(resolved) / "charmcraft.yaml").is_file():
        return [
            f"{where}: {charm} is a charm directory; Juju 4 deploys only packed charms "
            f"(juju/juju PR 17731): name ./build/{Path(resolved).name}.charm"
        ]
    if resolved not in packed:
        same_name = [p for p in packed if Path(p).name == Path(charm).name]
        if same_name:
            fix = os.path.relpath(same_name[0], base)
            fix = fix if fix.startswith("..") else f"./{fix}"
            return [
                f"{where}: Juju resolves {charm} against {base} to {resolved}, where nothing "
                f"is packed; the pack step writes {same_name[0]}: write {fix}"
            ]
        return [f"{where}: {charm} is no charm of charms/ (the pack step writes {sorted(packed)})"]
    name = metadata(packed[resolved]).get("name")
    if Path(resolved).stem != name:
        return [f"{where}: {resolved} holds the charm named {name!r}; call the file {name}.charm"]
    return []


def file_problems(path: Path, root: Path = ROOT) -> list[str]:
    """Rules 1, 2 and ours for every local charm path in one bundle or overlay file."""
    problems = []
    for document in _documents_with_applications(path):
        for app, spec in document["applications"].items():
            charm = spec.get("charm") if isinstance(spec, dict) else None
            if isinstance(charm, str) and is_local_charm(charm):
                where = f"{path.relative_to(root)}: {app}"
                problems += path_problems(charm, path.parent, root, where)
    return problems


def deployment_problems(files: list[Path], root: Path = ROOT) -> list[str]:
    """Rules 3 and 4: the local charms of a bundle plus overlays get every OCI image they need."""
    merged = load(files[0])
    for overlay in files[1:]:
        merged = merge(merged, load(overlay))
    problems = []
    for app, spec in (merged.get("applications") or {}).items():
        local = our_charm(spec, root)
        if local is None:
            continue
        missing = oci_resources(root / "charms" / local) - set(spec.get("resources") or {})
        if missing:
            names = " + ".join(str(f.relative_to(root)) for f in files)
            problems.append(
                f"{names}: {app} is a local charm and needs resources: "
                + ", ".join(f"{r}: <image>" for r in sorted(missing))
            )
    return problems


def command_problems(command: list[str], root: Path = ROOT) -> list[str]:
    """Rules 2, 3 and 5 for one documented `juju deploy` command, run from `root`."""
    target, options = parse_deploy(command)
    if target is None or "<" in target or "$" in target:
        return []
    where = shlex.join(command)
    if target.endswith((".yaml", ".yml")):
        files = [root / target, *(root / o for o in options.get("--overlay", []))]
        missing = [f for f in files if not f.is_file()]
        if missing:
            return [f"{where}: no file {', '.join(str(m) for m in missing)}"]
        return deployment_problems(files, root)
    if not is_local_charm(target):
        return []
    problems = path_problems(target, root, root, where)
    charm_dir = packed_charms(root).get(resolve_charm(root, target))
    if charm_dir is not None:
        given = {r.split("=", 1)[0] for r in options.get("--resource", [])}
        missing = oci_resources(charm_dir) - given
        if missing:
            problems.append(
                f"{where}: add " + " ".join(f"--resource {r}=<image>" for r in sorted(missing))
            )
    return problems


def parse_deploy(command: list[str]) -> tuple[str | None, dict[str, list[str]]]:
    """The charm or bundle a `juju deploy` command names, and its options with values."""
    args = command[command.index("deploy") + 1 :]
    target = None
    options: dict[str, list[str]] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        name, has_value, value = arg.partition("=")
        if name in VALUE_OPTIONS:
            if not has_value:
                i += 1
                value = args[i] if i < len(args) else ""
            options.setdefault(name, []).append(value)
        elif not arg.startswith("-") and target is None:
            target = arg
        i += 1
    return target, options


def documented_deploys(root: Path = ROOT) -> Iterator[tuple[str, list[str]]]:
    """(file, argv) of every `juju deploy` command in the docs, overlays and bundle comments."""
    seen = set()
    for pattern in DOC_GLOBS:
        for path in sorted(root.glob(pattern)):
            if path in seen:
                continue
            seen.add(path)
            for line in _command_lines(path.read_text()):
                try:
                    argv = shlex.split(line, comments=True)
                except ValueError:
                    continue
                if argv[:2] == ["juju", "deploy"]:
                    yield str(path.relative_to(root)), argv


def _command_lines(text: str) -> Iterator[str]:
    """The `juju deploy` commands of a file, wherever the docs put them.

    Code lines (YAML comment markers removed, continuations joined) that start with the
    command, and inline `juju deploy ...` code spans of prose.
    """
    pending = ""
    for raw in text.splitlines():
        line = pending + re.sub(r"^\s*#\s?", "", raw).strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("juju deploy"):
            yield line
        yield from re.findall(r"`(juju deploy [^`]*)`", line)
