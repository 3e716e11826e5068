"""Fixtures for tests that deploy on a real Juju controller (`./dev tox -e integration`).

They need a Juju controller on Kubernetes, the charms packed into build/ (`./dev tox -e pack`)
and a kubeconfig for the same cluster (KUBECONFIG or ~/.kube/config). Without a controller
they FAIL: an integration run that tested nothing must not look green.
DSP_MODEL names an existing model to use instead of a temporary one (kept afterwards).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import jubilant
import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
BUILD = ROOT / "build"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is an integration test."""
    for item in items:
        item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def controller() -> None:
    """Fail early and clearly when there is nothing to deploy to."""
    juju_bin = shutil.which("juju")
    if juju_bin is None:
        pytest.fail("juju is not installed: see docs/how-to/integration-tests.md")
    probe = subprocess.run([juju_bin, "show-controller"], capture_output=True, text=True)  # noqa: S603
    if probe.returncode != 0:
        pytest.fail(f"no Juju controller reachable: {probe.stderr.strip()[:200]}")


@pytest.fixture(scope="module")
def juju(controller: None) -> Iterator[jubilant.Juju]:
    """A model for the test module: DSP_MODEL if set, else a temporary one."""
    model = os.environ.get("DSP_MODEL")
    if model:
        yield jubilant.Juju(model=model)
        return
    keep = os.environ.get("DSP_KEEP_MODELS") == "1"
    with jubilant.temp_model(keep=keep) as juju:
        juju.wait_timeout = 30 * 60
        yield juju


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
