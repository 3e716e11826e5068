"""The life seldon-core's upgrade fixtures record (tools/record_state.py, test_upgrade_states.py).

The leader with every relation the bundle and the overlays give it, and a user's
SeldonDeployment that no refresh may touch.
"""

from __future__ import annotations

import json

import pytest
from ops import testing

from charm import SeldonCoreCharm
from dsplib import certificates, upgrade_states

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
    monkeypatch.setattr(certificates, "generate", upgrade_states.fixed_certificate)


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
        testing.Relation(
            "s3-credentials",
            id=2,
            remote_app_name="s3-integrator",
            remote_app_data={
                "access-key": "ACCESS",
                "secret-key": "SECRET-KEY-VALUE",
                "bucket": "models",
                "endpoint": "http://rgw.ceph.example:80",
                "region": "default",
                "s3-uri-style": "path",
            },
        ),
        testing.Relation("secrets", id=3, remote_app_name="resource-dispatcher"),
        testing.Relation("metrics-endpoint", id=4, remote_app_name="prometheus"),
        testing.Relation("grafana-dashboard", id=5, remote_app_name="grafana"),
        testing.Relation(
            "logging",
            id=6,
            remote_app_name="loki",
            remote_units_data={
                0: {"endpoint": json.dumps({"url": "http://loki-0.loki:3100/loki/api/v1/push"})}
            },
        ),
    }
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
