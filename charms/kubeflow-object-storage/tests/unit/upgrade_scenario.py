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
        testing.Relation(
            "s3-credentials",
            id=1,
            remote_app_name="s3-integrator",
            remote_app_data={
                "access-key": "ACCESS",
                "secret-key": "SECRET-KEY-VALUE",
                "bucket": "mlpipeline",
                "endpoint": "http://10.20.0.15:80",
                "region": "default",
                "s3-uri-style": "path",
            },
        ),
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
