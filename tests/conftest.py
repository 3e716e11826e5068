"""Shared paths for the repository-level tests."""

from pathlib import Path

import pytest
import yaml

# The real Ceph RADOS Gateway, for the wiring checks of charms that talk S3 (tests/ceph).
pytest_plugins = ["pytest_ceph_rgw"]

ROOT = Path(__file__).resolve().parent.parent
CHARM_DIRS = sorted(p.parent for p in ROOT.glob("charms/*/charmcraft.yaml"))


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
