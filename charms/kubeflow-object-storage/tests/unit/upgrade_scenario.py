"""The life kubeflow-object-storage's upgrade fixtures record (tools/record_state.py).

The leader with Ceph RGW from s3-integrator (by address, so it keeps a Service and an
EndpointSlice) and kfp-api as a consumer. The gateway check is a real S3 request, tested in
test_charm.py against a real RGW; here it answers "bucket there" so the states are the ones a
working deployment leaves.
"""

from __future__ import annotations

import pytest
from ops import testing

import storage
from charm import KubeflowObjectStorageCharm
from dsplib import upgrade_states

CHARM = KubeflowObjectStorageCharm
APP = "kubeflow-object-storage"


def deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway answers that the bucket exists."""
    monkeypatch.setattr(
        storage, "check_bucket", lambda connection, settings: storage.Outcome("active")
    )


def scenario() -> upgrade_states.Scenario:
    relations = {
        upgrade_states.s3_relation(1, "mlpipeline", "http://10.20.0.15:80"),
        testing.Relation(
            "object-storage",
            id=2,
            remote_app_name="kfp-api",
            remote_app_data={"_supported_versions": "- v1\n"},
        ),
    }
    state = testing.State(
        leader=True,
        model=testing.Model(name="kubeflow", uuid=upgrade_states.MODEL_UUID),
        relations=relations,
    )
    return upgrade_states.Scenario(app=APP, state=state, events=upgrade_states.full_events(state))
