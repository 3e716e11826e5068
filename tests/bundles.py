"""Bundles and overlays as Juju reads them, and the endpoints of every charm they name."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHARMHUB_ENDPOINTS = Path(__file__).parent / "static" / "data" / "charmhub-endpoints.yaml"
# Endpoints Juju adds to every charm.
IMPLICIT_ENDPOINTS = {"juju-info": ("provides", "juju-info")}


def load(path: Path) -> dict[str, Any]:
    """A bundle or overlay file."""
    return yaml.safe_load(path.read_text()) or {}


def merge(bundle: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Apply an overlay by Juju's rules.

    Application keys merge into the bundle's (nested mappings recursively); an application set
    to nothing is removed together with every relation that names it; relations are added.
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
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@functools.cache
def charmhub_charms() -> dict[str, Any]:
    """Endpoints, channel and source of each Charmhub charm, read once (it is a large file)."""
    return load(CHARMHUB_ENDPOINTS)["charms"]


def our_charm(spec: dict[str, Any]) -> str | None:
    """The charms/ directory name for an application deployed from build/, else None."""
    charm = str(spec.get("charm", ""))
    if charm.startswith("./build/") and charm.endswith(".charm"):
        return charm[len("./build/") : -len(".charm")]
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
