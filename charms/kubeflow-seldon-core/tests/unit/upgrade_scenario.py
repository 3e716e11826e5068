"""The life seldon-core's upgrade fixtures record (tools/record_state.py, test_upgrade_states.py).

The leader with every relation the bundle and the overlays give it, and a user's
SeldonDeployment that no refresh may touch.
"""

from __future__ import annotations

import pytest
from ops import testing

from charm import SeldonCoreCharm
from dsplib import upgrade_states

CHARM = SeldonCoreCharm
APP = "seldon-core"

USERS_SELDON_DEPLOYMENT = {
    "apiVersion": "machinelearning.seldon.io/v1",
    "kind": "SeldonDeployment",
    "metadata": {"name": "iris", "namespace": "alice"},
    "spec": {
        "predictors": [
            {
                "name": "default",
                "graph": {
                    "name": "classifier",
                    "implementation": "SKLEARN_SERVER",
                    "modelUri": "s3://models/iris",
                },
            }
        ]
    },
}


def deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    """No random webhook keys in fixtures."""
    upgrade_states.placeholder_certificates(monkeypatch)


def scenario() -> upgrade_states.Scenario:
    relations = {
        testing.Relation(
            "gateway-info",
            id=1,
            remote_app_name="istio-pilot",
            remote_app_data={
                "gateway_name": "kubeflow-gateway",
                "gateway_namespace": "kubeflow",
                "gateway_up": "true",
            },
        ),
        upgrade_states.s3_relation(2, "models"),
        testing.Relation("secrets", id=3, remote_app_name="resource-dispatcher"),
    } | upgrade_states.cos_relations(4)
    state = testing.State(
        leader=True,
        model=testing.Model(name="kubeflow", uuid=upgrade_states.MODEL_UUID),
        relations=relations,
        containers={testing.Container("seldon-core", can_connect=True)},
    )
    return upgrade_states.Scenario(
        app=APP,
        state=state,
        events=upgrade_states.full_events(state),
        users_objects=[USERS_SELDON_DEPLOYMENT],
    )
