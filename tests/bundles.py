"""Bundles and overlays as Juju reads them, and the endpoints of every charm they name."""

from __future__ import annotations

import copy
import functools
import os
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from pack import charm_dirs, packed_path  # noqa: E402

CHARMHUB_ENDPOINTS = Path(__file__).parent / "static" / "data" / "charmhub-endpoints.yaml"
# Endpoints Juju adds to every charm.
IMPLICIT_ENDPOINTS = {"juju-info": ("provides", "juju-info")}


def load(path: Path) -> dict[str, Any]:
    """A YAML file; for a bundle or overlay, with its local charm paths resolved as Juju does.

    Juju resolves a relative `charm:` path against the directory of the file that names it,
    base bundle or overlay alike, before merging (see `resolve_charm`), so the applications of
    a loaded file carry absolute paths and merging cannot lose where a path came from.
    """
    data = yaml.safe_load(path.read_text()) or {}
    apps = data.get("applications") if isinstance(data, dict) else None
    for spec in (apps or {}).values() if isinstance(apps, dict) else ():
        if isinstance(spec, dict) and isinstance(spec.get("charm"), str):
            spec["charm"] = resolve_charm(path.parent, spec["charm"])
    return data


def is_local_charm(charm: str) -> bool:
    """Whether Juju reads a `charm:` value as a path: it starts with "." or is absolute.

    juju/juju internal/charm/bundle.go `IsValidLocalCharmOrBundlePath` (and `isLocalCharm` in
    cmd/juju/application/deployer/bundlehandler.go); anything else is a Charmhub name.
    """
    return charm.startswith(".") or os.path.isabs(charm)


def resolve_charm(base: Path, charm: str) -> str:
    """A `charm:` value as Juju deploys it from a file in directory `base`.

    juju/juju internal/charm/overlay.go `resolveRelativeCharmPath`: a value starting with "."
    becomes `filepath.Abs(filepath.Join(basePath, charm))`, where basePath is the directory of
    the bundle or overlay file that holds it (internal/charm/bundledatasrc.go
    `LocalBundleDataSource`); every other value is kept. Overlays have been resolved against
    their own directory since Juju 2.7 (juju/juju PR 10487, juju/charm PR 289); before, against
    the base bundle's. Like filepath.Abs, this cleans `..` without following symlinks.
    """
    if not charm.startswith("."):
        return charm
    return os.path.abspath(os.path.join(os.path.abspath(base), charm))


def merge(bundle: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Apply an overlay by Juju's rules.

    juju/juju internal/charm/overlay.go `applyOverlay` and `mergeStructs`: an application set
    to nothing is removed together with every relation that names it; a new application is
    added; for an existing one each key the overlay names replaces the bundle's, except
    mappings (options, resources, bindings, ...), which merge key by key: an empty mapping
    clears the bundle's, a key set to nothing is deleted. Relations are appended.
    """
    merged = copy.deepcopy(bundle)
    apps = merged.setdefault("applications", {})
    for name, spec in (overlay.get("applications") or {}).items():
        if spec is None:
            apps.pop(name, None)
            merged["relations"] = [
                r for r in merged.get("relations", []) if name not in {e.split(":")[0] for e in r}
            ]
        else:
            apps[name] = _deep_merge(apps.get(name) or {}, spec)
    merged.setdefault("relations", []).extend(overlay.get("relations") or [])
    merged["saas"] = {**(merged.get("saas") or {}), **(overlay.get("saas") or {})}
    return merged


def _deep_merge(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and value and isinstance(out.get(key), dict):
            merged = {**out[key], **copy.deepcopy(value)}
            out[key] = {k: v for k, v in merged.items() if not (k in value and v is None)}
        else:
            out[key] = copy.deepcopy(value)
    return out


@functools.cache
def charmhub_charms() -> dict[str, Any]:
    """Endpoints, channel and source of each Charmhub charm, read once (it is a large file)."""
    return load(CHARMHUB_ENDPOINTS)["charms"]


def our_charm(spec: dict[str, Any], root: Path = ROOT) -> str | None:
    """The charms/ directory of a loaded application that deploys a charm we pack, else None.

    The application's (resolved) path must be the very file tools/pack.py writes for that
    charm; a path that resolves anywhere else is no charm of ours (tests/local_charms.py says
    why it is wrong).
    """
    charm = spec.get("charm")
    for charm_dir in charm_dirs(root):
        if charm == str(packed_path(charm_dir)):
            return charm_dir.name
    return None


def endpoints_of(spec: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Endpoint -> (role, interface) of the charm an application deploys.

    Juju gives every charm a `juju-info` provider endpoint that its metadata does not list;
    subordinates such as ceph-csi attach to a principal through it.
    """
    local = our_charm(spec)
    if local is not None:
        meta = load(ROOT / "charms" / local / "charmcraft.yaml")
        roles = {
            r: {e: v["interface"] for e, v in (meta.get(r) or {}).items()}
            for r in ("provides", "requires", "peers")
        }
    else:
        roles = charmhub_charms()[spec["charm"]]
    declared = {
        endpoint: (role, interface)
        for role in ("provides", "requires", "peers")
        for endpoint, interface in (roles.get(role) or {}).items()
    }
    return {**IMPLICIT_ENDPOINTS, **declared}


def is_subordinate(spec: dict[str, Any]) -> bool:
    """Whether the charm an application deploys is a subordinate (it has no units of its own)."""
    local = our_charm(spec)
    if local is not None:
        return bool(load(ROOT / "charms" / local / "charmcraft.yaml").get("subordinate"))
    return bool(charmhub_charms()[spec["charm"]].get("subordinate"))


def machine_of(placement: str) -> str:
    """The machine a `to:` entry puts a unit on: `lxd:7` and `7` are both machine 7."""
    return placement.rpartition(":")[2]


def constraint_values(constraints: str, key: str) -> list[str]:
    """The values of one key in a Juju constraints string (`tags=a,b mem=8G` -> a, b)."""
    values: list[str] = []
    for term in constraints.split():
        name, _, value = term.partition("=")
        if name == key and value:
            values.extend(v for v in value.split(",") if v)
    return values
