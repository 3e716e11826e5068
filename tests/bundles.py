"""Bundles and overlays as Juju reads them, and the endpoints of every charm they name."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHARMHUB_ENDPOINTS = Path(__file__).parent / "static" / "data" / "charmhub-endpoints.yaml"


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


def our_charm(spec: dict[str, Any]) -> str | None:
    """The charms/ directory name for an application deployed from build/, else None."""
    charm = str(spec.get("charm", ""))
    if charm.startswith("./build/") and charm.endswith(".charm"):
        return charm[len("./build/") : -len(".charm")]
    return None


def endpoints_of(spec: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Endpoint -> (role, interface) of the charm an application deploys."""
    local = our_charm(spec)
    if local is not None:
        meta = load(ROOT / "charms" / local / "charmcraft.yaml")
        roles = {
            r: {e: v["interface"] for e, v in (meta.get(r) or {}).items()}
            for r in ("provides", "requires", "peers")
        }
    else:
        known = load(CHARMHUB_ENDPOINTS)["charms"]
        roles = known[spec["charm"]]
    return {
        endpoint: (role, interface)
        for role in ("provides", "requires", "peers")
        for endpoint, interface in (roles.get(role) or {}).items()
    }
