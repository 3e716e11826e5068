"""Every overlay goes on the bundle alone: it relates only the bundle's and its own applications.

overlays/README.md and the how-to pages say any subset of overlays deploys in any combination
(for example `overlays/backup.yaml` without `overlays/ceph.yaml`). Juju resolves an overlay's
relations against the bundle plus the overlays given before it, so an overlay that named an
application of another overlay would fail to deploy alone ("application not found").
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
OVERLAYS = sorted((ROOT / "overlays").glob("*.yaml"))


def foreign_applications(bundle: dict, overlay: dict) -> set[str]:
    """Applications the overlay relates that neither the bundle nor the overlay itself has."""
    known = set(bundle.get("applications") or {})
    known |= set(overlay.get("applications") or {}) | set(overlay.get("saas") or {})
    named = {
        endpoint.split(":")[0]
        for relation in overlay.get("relations") or []
        for endpoint in relation
    }
    return named - known


@pytest.mark.parametrize("path", OVERLAYS, ids=lambda p: p.name)
def test_overlay_needs_no_other_overlay(path: Path) -> None:
    bundle = yaml.safe_load((ROOT / "bundle.yaml").read_text())
    overlay = yaml.safe_load(path.read_text()) or {}
    assert not foreign_applications(bundle, overlay)


def test_an_overlay_naming_another_overlays_application_is_caught() -> None:
    bundle = {"applications": {"kfp-db": {}}}
    overlay = {
        "applications": {"kfp-db-backup-s3": {}},
        "relations": [
            ["kfp-db:s3-parameters", "kfp-db-backup-s3:s3-credentials"],
            ["kubeflow-object-storage:s3-credentials", "ceph-s3:s3-credentials"],
        ],
    }
    assert foreign_applications(bundle, overlay) == {"kubeflow-object-storage", "ceph-s3"}
