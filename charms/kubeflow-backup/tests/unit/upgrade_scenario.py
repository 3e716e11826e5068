"""The life kubeflow-backup's upgrade fixtures record (tools/record_state.py).

The leader with its s3 relation: it keeps no Kubernetes objects of its own, but owns the key
that encrypts Secrets in backups, which every later revision must keep (a new key would make
earlier backups' Secrets unreadable), next to users' objects it backs up.
"""

from __future__ import annotations

import pytest
from ops import testing

import backup
from charm import KubeflowBackupCharm
from dsplib import upgrade_states

CHARM = KubeflowBackupCharm
APP = "kubeflow-backup"

USERS_NOTEBOOK = {
    "apiVersion": "kubeflow.org/v1",
    "kind": "Notebook",
    "metadata": {"name": "analysis", "namespace": "alice"},
    "spec": {"template": {"spec": {"containers": [{"name": "analysis", "image": "jupyter"}]}}},
}


def deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed encryption key instead of a random one (a test value, never a real key)."""
    monkeypatch.setattr(backup.Cipher, "generate_key", staticmethod(lambda: bytes(range(32))))


def scenario() -> upgrade_states.Scenario:
    relations = {upgrade_states.s3_relation(1, "kubeflow-backups")}
    state = testing.State(
        leader=True,
        model=testing.Model(name="kubeflow", uuid=upgrade_states.MODEL_UUID),
        relations=relations,
    )
    return upgrade_states.Scenario(
        app=APP,
        state=state,
        events=upgrade_states.full_events(state),
        users_objects=[USERS_NOTEBOOK],
    )
