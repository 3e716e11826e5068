"""A fake `juju` in a snap-like place on PATH, a home directory, and a checkout inside it.

The checkout lives under the fake $HOME, where Juju from snap can read it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from fake_support import FAKE, ROOT, FakeJuju, executable, make_checkout

sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "tools"))


@pytest.fixture
def fake_juju(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeJuju:
    """A bootstrapped controller, Juju 3.6 from "snap", concierge's model defaults."""
    home = tmp_path / "home" / "ubuntu"
    home.mkdir(parents=True)
    fake = FakeJuju(tmp_path, home)
    fake.state_file.parent.mkdir()
    fake.write(
        {
            "version": "3.6.12",
            "controller": "concierge-k8s",
            "current_model": None,
            "models": {},
            "model_defaults": {"automatically-retry-hooks": "false", "test-mode": "true"},
            "endpoints": {"dex": ["ldap", "ingress", "oidc-client", "receive-ca-cert"]},
        }
    )
    executable(fake.bin / "juju", f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FAKE_JUJU_STATE", str(fake.state_file))
    monkeypatch.setenv("PATH", f"{fake.bin}{os.pathsep}{os.environ['PATH']}")
    for name in ("DSP_MODEL", "DSP_KEEP_MODELS", "JUJU_MODEL", "JUJU_CONTROLLER"):
        monkeypatch.delenv(name, raising=False)
    return fake


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake answers at once: no need to wait seconds between status reads."""
    import juju_helpers

    monkeypatch.setattr(juju_helpers, "POLL_DELAY", 0.01)


@pytest.fixture
def checkout(fake_juju: FakeJuju) -> Path:
    """A checkout where Juju from snap can read it: under $HOME, not hidden."""
    return make_checkout(fake_juju.home / "src" / "data-science-platform")
