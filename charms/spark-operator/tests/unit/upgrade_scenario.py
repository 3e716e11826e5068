"""The life spark-operator's upgrade fixtures record (tools/record_state.py).

The leader with S3 from s3-integrator, the five resource-dispatcher relations and COS, and a
user's SparkApplication that no refresh may touch.
"""

from __future__ import annotations

import pytest
from ops import testing

from charm import SparkOperatorCharm
from dsplib import upgrade_states

CHARM = SparkOperatorCharm
APP = "spark-operator"
DISPATCH = ("service-accounts", "roles", "role-bindings", "pod-defaults", "secrets")

USERS_SPARK_APPLICATION = {
    "apiVersion": "sparkoperator.k8s.io/v1beta2",
    "kind": "SparkApplication",
    "metadata": {"name": "pi", "namespace": "alice"},
    "spec": {
        "type": "Python",
        "mode": "cluster",
        "mainApplicationFile": "local:///opt/spark/examples/src/main/python/pi.py",
        "sparkVersion": "4.0.1",
        "driver": {"serviceAccount": "spark-operator-spark"},
    },
}


def deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing random: the webhook process makes its own certificate."""


def scenario() -> upgrade_states.Scenario:
    relations = {
        testing.Relation(endpoint, id=i, remote_app_name="resource-dispatcher")
        for i, endpoint in enumerate(DISPATCH, start=1)
    }
    relations |= {upgrade_states.s3_relation(6, "spark")} | upgrade_states.cos_relations(7)
    state = testing.State(
        leader=True,
        model=testing.Model(name="kubeflow", uuid=upgrade_states.MODEL_UUID),
        relations=relations,
        containers={testing.Container("spark-operator", can_connect=True)},
    )
    return upgrade_states.Scenario(
        app=APP,
        state=state,
        events=upgrade_states.full_events(state),
        users_objects=[USERS_SPARK_APPLICATION],
    )
