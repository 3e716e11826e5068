"""The life kafka-profiles' upgrade fixtures record (tools/record_state.py).

The leader related to kafka-k8s, which has answered with the short broker names and the user
secret it writes today, and to resource-dispatcher's secrets and pod-defaults endpoints.
"""

from __future__ import annotations

import pytest
from ops import testing

from charm import KafkaProfilesCharm
from conftest import dispatcher, kafka_relation, user_secret
from dsplib import upgrade_states

CHARM = KafkaProfilesCharm
APP = "kafka-profiles"


def deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing random or external: the charm reads only relation data and secrets."""


def scenario() -> upgrade_states.Scenario:
    state = testing.State(
        leader=True,
        model=testing.Model(name="kubeflow", uuid=upgrade_states.MODEL_UUID),
        relations={kafka_relation(), dispatcher("secrets", 2), dispatcher("pod-defaults", 3)},
        secrets=[user_secret()],
    )
    return upgrade_states.Scenario(app=APP, state=state, events=upgrade_states.full_events(state))
