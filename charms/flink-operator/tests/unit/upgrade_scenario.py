"""The life flink-operator's upgrade fixtures record (tools/record_state.py).

The leader with S3 from s3-integrator, the five resource-dispatcher relations and COS, and a
user's FlinkDeployment that no refresh may touch.
"""

from __future__ import annotations

import pytest
from ops import testing

import flink
from charm import FlinkOperatorCharm
from dsplib import upgrade_states

CHARM = FlinkOperatorCharm
APP = "flink-operator"
DISPATCH = ("service-accounts", "roles", "role-bindings", "pod-defaults", "secrets")

USERS_FLINK_DEPLOYMENT = {
    "apiVersion": "flink.apache.org/v1beta1",
    "kind": "FlinkDeployment",
    "metadata": {"name": "weekly-demand", "namespace": "alice"},
    "spec": {
        "image": "docker.io/library/flink:2.2.1-java17",
        "flinkVersion": "v2_2",
        "serviceAccount": "flink",
        "job": {
            "jarURI": "local:///opt/flink/examples/streaming/TopSpeedWindowing.jar",
            "upgradeMode": "savepoint",
            "state": "running",
        },
    },
}


def deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    """No random webhook keys in fixtures (the keystore made of them lives in the container)."""
    upgrade_states.placeholder_certificates(monkeypatch)
    monkeypatch.setattr(flink, "keystore", lambda cert, key, ca, password: cert.encode())
    monkeypatch.setattr(
        flink, "keystore_holds", lambda data, cert, password: data == cert.encode()
    )


def scenario() -> upgrade_states.Scenario:
    relations = {
        testing.Relation(endpoint, id=i, remote_app_name="resource-dispatcher")
        for i, endpoint in enumerate(DISPATCH, start=1)
    }
    relations |= {upgrade_states.s3_relation(6, "flink")} | upgrade_states.cos_relations(7)
    state = testing.State(
        leader=True,
        model=testing.Model(name="kubeflow", uuid=upgrade_states.MODEL_UUID),
        relations=relations,
        containers={testing.Container("flink-operator", can_connect=True)},
    )
    return upgrade_states.Scenario(
        app=APP,
        state=state,
        events=upgrade_states.full_events(state),
        users_objects=[USERS_FLINK_DEPLOYMENT],
    )
