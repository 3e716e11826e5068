"""Pack each charm the way charmcraft does, without charmcraft, and import it from the result.

`charmcraft pack` needs LXD or Multipass, which CI does not have, so nothing else proves that a
packed charm can import or finds its templates. This tool rebuilds what charmcraft 4.5's `uv`
plugin puts in a charm in monorepo mode (CHARMCRAFT_EXPERIMENTAL_MONOREPO, tools/pack.py), from
the upstream sources:

- charmcraft/parts/plugins/_uv.py (charmcraft 4.5.0, canonical/charmcraft): the virtual
  environment is `<install>/venv`; the `uv sync` command of craft-parts gets
  `--no-install-project`; then `src/` and `lib/` of the part's build *subdir* (the charm's
  directory of the workspace, `source-subdir`) are copied next to `venv/`
  (charmcraft/utils/parts.py `get_charm_copy_commands`), and the venv's bin/ is emptied except
  `activate` (`get_venv_cleanup_commands`);
- craft_parts/plugins/uv_plugin.py (craft-parts 2.37, canonical/craft-parts): a fresh
  `uv venv --relocatable --allow-existing --python <system python>`, then
  `uv sync --no-dev --no-editable --reinstall` run in the charm's directory of the workspace,
  with UV_FROZEN=true, UV_PROJECT_ENVIRONMENT=<venv>, UV_COMPILE_BYTECODE=1,
  UV_PYTHON_DOWNLOADS=never, UV_PYTHON_PREFERENCE=only-system, and neither `--package` nor
  `--all-packages`: uv syncs the workspace member whose directory it runs in;
- monorepo mode builds from the whole git repository (`source: ../..`), so the workspace is
  copied (tracked and untracked-but-not-ignored files) to a scratch directory first;
- charmcraft/dispatch.py: `dispatch` runs `venv/bin/python` (a link to the system python3)
  with PYTHONPATH=<charm>/lib:<charm>/src on `src/charm.py`, from the charm's directory.

Then, for each charm, a fresh interpreter with only that tree imports `src/charm.py` and
reports what it loaded and opened, and this tool checks that:

1. charmcraft.yaml has only uv parts built from the workspace root (`source`) at the charm's
   own directory (`source-subdir`), with no keys this emulation does not model;
2. the import succeeds (a module only the development environment has fails here);
3. no module, sys.path entry or opened file comes from the repository or another environment;
4. every path constant of the charm's modules (TEMPLATES = Path(__file__).parent / ...) that
   points into the charm exists in the packed tree, and none points out of it;
5. the assets dsplib reads next to the charm class (lib/src/dsplib/observability.py
   `charm_source_dir`: grafana_dashboards/*.json for GrafanaDashboardProvider,
   prometheus_alert_rules/ for MetricsEndpointProvider) are packed and not empty: dsplib would
   silently send no dashboards or alert rules without them.

    python tools/packing.py [charm ...] [--python PATH] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
# Part keys the emulation models; anything else (prime/stage filters, other plugins' keys)
# changes what charmcraft packs, so it must be modelled here before it is used.
PART_KEYS = {"plugin", "source", "source-subdir", "build-snaps", "build-packages", "uv-extras",
             "uv-groups"}  # fmt: skip
# The providers of lib/src/dsplib/observability.py and the directory next to the charm class
# each one reads, with the file suffixes it reads (ALERT_RULE_SUFFIXES, "*.json").
ASSET_DIRS = {
    "GrafanaDashboardProvider": ("grafana_dashboards", (".json",)),
    "MetricsEndpointProvider": ("prometheus_alert_rules", (".rule", ".rules", ".yml", ".yaml")),
}
# Run in the packed charm's interpreter: import the charm and say what that touched.
PROBE = r"""
import importlib, inspect, json, os, pathlib, sys, sysconfig, traceback
opened = []
sys.addaudithook(lambda event, args: opened.append(os.fsdecode(args[0]))
                 if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)) else None)
out = {"error": None, "opened": opened}
try:
    charm = importlib.import_module("charm")
except BaseException:
    out["error"] = traceback.format_exc()
else:
    out["modules"] = {n: m.__file__ for n, m in list(sys.modules.items())
                      if getattr(m, "__file__", None)}
    own = [m for m in list(sys.modules.values())
           if str(getattr(m, "__file__", "")).startswith(sys.argv[1])]
    out["paths"] = [[m.__name__, k, str(v)] for m in own for k, v in vars(m).items()
                    if isinstance(v, pathlib.PurePath)]
    ops = sys.modules.get("ops")
    classes = [c for c in vars(charm).values() if ops and inspect.isclass(c)
               and issubclass(c, ops.CharmBase) and c.__module__ == "charm"]
    out["charm_classes"] = {c.__name__: str(pathlib.Path(inspect.getfile(c)).resolve().parent)
                            for c in classes}
    out["names"] = sorted(vars(charm))
    out["stdlib"] = sorted({sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")})
out["sys_path"] = [p for p in sys.path if p]
print(json.dumps(out))
"""


def charm_dirs(root: Path) -> list[Path]:
    """Every charm of the repository."""
    return sorted(p.parent for p in root.glob("charms/*/charmcraft.yaml"))


def part_problems(charm: Path, root: Path) -> list[str]:
    """Rule 1: the parts are uv parts that build this charm from the workspace root."""
    meta = yaml.safe_load((charm / "charmcraft.yaml").read_text()) or {}
    parts = meta.get("parts") or {}
    if not parts:
        return [f"{charm.name}: no parts; charmcraft's default charm plugin is not modelled"]
    problems = []
    for name, part in parts.items():
        part = part or {}
        where = f"{charm.name}: part {name}"
        if part.get("plugin") != "uv":
            problems.append(f"{where}: plugin {part.get('plugin')!r}, only uv is modelled")
            continue
        extra = sorted(set(part) - PART_KEYS)
        if extra:
            problems.append(f"{where}: {', '.join(extra)} not modelled by tools/packing.py")
        source = (charm / str(part.get("source", "."))).resolve()
        if source != root.resolve():
            problems.append(f"{where}: source {part.get('source')} is {source}, not {root}")
        subdir = source / str(part.get("source-subdir", ""))
        if subdir.resolve() != charm.resolve():
            problems.append(f"{where}: source-subdir builds {subdir}, not this charm")
    return problems


def copy_workspace(root: Path, dest: Path) -> None:
    """The repository as monorepo mode sees it: every file git tracks or would track."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (os.fsdecode(n) for n in listed)):
        source = root / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def uv_sync(project: Path, venv: Path, python: str, part: dict[str, Any]) -> None:
    """craft-parts' uv plugin with charmcraft's changes: a fresh venv and one `uv sync`."""
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv not found on PATH: run through ./dev tox -e packing")
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(venv),
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_COMPILE_BYTECODE": "1",
        "UV_FROZEN": "true",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PYTHON": python,
        "UV_PYTHON_PREFERENCE": "only-system",
    }
    env.pop("PYTHONPATH", None)
    quiet = ["--quiet"]
    subprocess.run(
        [uv, "venv", *quiet, "--relocatable", "--allow-existing", "--python", python, str(venv)],
        cwd=project,
        env=env,
        check=True,
    )
    sync = [uv, "sync", *quiet, "--no-dev", "--no-editable", "--reinstall"]
    for extra in sorted(part.get("uv-extras") or []):
        sync += ["--extra", extra]
    for group in sorted(part.get("uv-groups") or []):
        sync += ["--group", group]
    subprocess.run([*sync, "--no-install-project"], cwd=project, env=env, check=True)


def assemble(project: Path, venv: Path, tree: Path, python: str) -> None:
    """The packed charm's files: venv/ (bin/ emptied), src/ and lib/, and dispatch's python."""
    tree.mkdir(parents=True)
    shutil.move(str(venv), tree / "venv")
    for entry in (tree / "venv" / "bin").iterdir():
        if entry.name != "activate":
            entry.unlink() if not entry.is_dir() or entry.is_symlink() else shutil.rmtree(entry)
    for name in ("src", "lib"):
        if (project / name).is_dir():
            shutil.copytree(project / name, tree / name, symlinks=True)
    (tree / "venv" / "bin" / "python").symlink_to(shutil.which(python) or python)


def probe(tree: Path) -> dict[str, Any]:
    """Import src/charm.py in a fresh process the way dispatch runs it; report what it touched."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tree),
        "LANG": "C.UTF-8",
        "PYTHONPATH": f"{tree / 'lib'}:{tree / 'src'}",
        "JUJU_CHARM_DIR": str(tree),
    }
    done = subprocess.run(
        [str(tree / "venv" / "bin" / "python"), "-s", "-c", PROBE, str(tree)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"the interpreter failed ({done.returncode}): {done.stderr.strip()}"}


def inside(path: str, base: Path) -> bool:
    """Whether `path` is `base` or below it."""
    return Path(path) == base or base in Path(path).parents


def in_stdlib(path: str, stdlib: list[str]) -> bool:
    """Whether a module file is the interpreter's own (its site-packages are not)."""
    return any(
        inside(path, Path(lib)) and not {"site-packages", "dist-packages"} & set(Path(path).parts)
        for lib in stdlib
    )


def probe_problems(
    name: str, report: dict[str, Any], tree: Path, outside: list[Path]
) -> list[str]:
    """Rules 2 to 5 on what the packed charm's import touched.

    `outside` are the directories a packed charm never sees: the repository and the scratch
    directory the packed tree was built in (which holds the workspace copy).
    """
    if report.get("error"):
        return [f"{name}: src/charm.py does not import from the packed charm:\n{report['error']}"]
    problems = [
        f"{name}: {what} {path} is outside the packed charm"
        for what, paths in (
            ("sys.path entry", report["sys_path"]),
            ("opened file", report["opened"]),
        )
        for path in paths
        if not inside(path, tree) and any(inside(path, o) for o in outside)
    ]
    problems += [
        f"{name}: module {module} comes from {path}, which the packed charm does not have"
        for module, path in report["modules"].items()
        if not inside(path, tree) and not in_stdlib(path, report["stdlib"])
    ]
    problems += path_constant_problems(name, report["paths"], tree, outside)
    problems += asset_problems(name, report, tree)
    return problems


def path_constant_problems(
    name: str, constants: list[list[str]], tree: Path, outside: list[Path]
) -> list[str]:
    """Rule 4: path constants that point into the charm exist in it; none point out of it."""
    problems = []
    for module, attribute, value in constants:
        path = Path(value) if Path(value).is_absolute() else tree / value
        where = f"{name}: {module}.{attribute} = {value}"
        if inside(str(path), tree):
            if not path.exists():
                problems.append(f"{where} is not in the packed charm")
        elif any(inside(str(path), o) for o in outside):
            problems.append(f"{where} is outside the packed charm (only src/, lib/, venv/ are)")
    return problems


def asset_problems(name: str, report: dict[str, Any], tree: Path) -> list[str]:
    """Rule 5: dsplib's asset directories next to the charm class are packed and not empty."""
    problems = []
    for provider, (directory, suffixes) in ASSET_DIRS.items():
        if provider not in report["names"]:
            continue
        for cls, source_dir in report["charm_classes"].items():
            folder = Path(source_dir) / directory
            found = (
                [p for p in folder.glob("*") if p.suffix in suffixes] if folder.is_dir() else []
            )
            if not found:
                rel = os.path.relpath(folder, tree)
                problems.append(f"{name}: {cls} uses {provider}, but the packed {rel}/ is empty")
    return problems


def check(charm: Path, root: Path, work: Path, python: str) -> tuple[list[str], float]:
    """Every rule for one charm, with the seconds it took."""
    start = time.monotonic()
    problems = part_problems(charm, root)
    if problems:
        return problems, time.monotonic() - start
    workspace = work / "workspace"
    project = workspace / charm.relative_to(root)
    part = next(iter((yaml.safe_load((charm / "charmcraft.yaml").read_text())["parts"]).values()))
    venv = work / f"{charm.name}-venv"
    uv_sync(project, venv, python, part or {})
    tree = work / "packed" / charm.name
    assemble(project, venv, tree, python)
    report = probe(tree)
    problems = probe_problems(charm.name, report, tree, [root.resolve(), work])
    return problems, time.monotonic() - start


def run(root: Path, names: list[str], python: str, work: Path) -> int:
    """Check the named charms (all when none are named); print one line per charm."""
    charms = [c for c in charm_dirs(root) if not names or c.name in names]
    unknown = set(names) - {c.name for c in charms}
    if unknown:
        print(f"no such charm: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    start = time.monotonic()
    copy_workspace(root, work / "workspace")
    failed = 0
    for charm in charms:
        problems, seconds = check(charm, root, work, python)
        print(f"{charm.name}: {'FAILED' if problems else 'ok'} ({seconds:.1f} s)", flush=True)
        for problem in problems:
            print(f"  {problem}")
        failed += bool(problems)
    print(f"{len(charms) - failed}/{len(charms)} charms import from their packed layout "
          f"({time.monotonic() - start:.1f} s)")  # fmt: skip
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("charms", nargs="*", help="charm directory names (default: all)")
    parser.add_argument(
        "--python",
        default=getattr(sys, "_base_executable", sys.executable),
        help="the interpreter that stands for the base's python3 (default: this one's base)",
    )
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--keep", type=Path, help="build here and keep it (for a look inside)")
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
        return run(args.root.resolve(), args.charms, args.python, args.keep.resolve())
    with tempfile.TemporaryDirectory(prefix="dsp-packing-") as work:
        return run(args.root.resolve(), args.charms, args.python, Path(work))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
