"""Fixtures for tests that deploy on a real Juju controller (`./dev tox -e integration`).

They need a Juju 3.6 controller on Kubernetes, the charms packed into build/
(`./dev tox -e pack`) and a kubeconfig for the same cluster (KUBECONFIG or ~/.kube/config).
Without a controller they FAIL: an integration run that tested nothing must not look green.
Each module deploys into a model of its own (tests/integration/juju_helpers.py module_model).
DSP_MODEL names an existing model to use instead (kept afterwards); the modules deploy the
same application names (istio-pilot, minio, ...), so with DSP_MODEL a run selects one module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import jubilant
import pytest
from juju_helpers import check_juju_version, check_one_module_per_model, module_model

ROOT = Path(__file__).resolve().parent.parent.parent
BUILD = ROOT / "build"


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    """Every test here is an integration test; with DSP_MODEL, those of one module only."""
    for item in items:
        item.add_marker(pytest.mark.integration)
    yield  # -k, -m and the other selections happen here
    check_one_module_per_model({item.path.name for item in items}, os.environ)


@pytest.fixture(scope="session")
def controller() -> None:
    """Fail early and clearly when there is nothing to deploy to, or the wrong Juju."""
    juju_bin = shutil.which("juju")
    if juju_bin is None:
        pytest.fail("juju is not installed: see docs/how-to/integration-tests.md")
    probe = subprocess.run([juju_bin, "show-controller"], capture_output=True, text=True)  # noqa: S603
    if probe.returncode != 0:
        pytest.fail(f"no Juju controller reachable: {probe.stderr.strip()[:200]}")
    check_juju_version(jubilant.Juju())


@pytest.fixture(scope="module")
def juju(controller: None) -> Iterator[jubilant.Juju]:
    """A model for the test module: DSP_MODEL if set, else a temporary one."""
    yield from module_model()


def packed(charm: str) -> Path:
    """A packed charm from build/, or a clear failure."""
    path = BUILD / f"{charm}.charm"
    if not path.exists():
        pytest.fail(f"{path} missing: run ./dev tox -e pack first")
    return path


@pytest.fixture(scope="session")
def kube():
    """A lightkube client for the cluster the controller runs on."""
    from lightkube import Client

    return Client(field_manager="dsp-integration-tests")
