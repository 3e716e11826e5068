"""The life intel-notebooks' upgrade fixtures record (tools/record_state.py).

The leader with its resource-dispatcher relation and the default images.
"""

from __future__ import annotations

import pytest
from ops import testing

from charm import IntelNotebooksCharm
from dsplib import upgrade_states

CHARM = IntelNotebooksCharm
APP = "intel-notebooks"


def deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing random in this charm."""


def scenario() -> upgrade_states.Scenario:
    relations = {testing.Relation("pod-defaults", id=1, remote_app_name="resource-dispatcher")}
    state = testing.State(
        leader=True,
        model=testing.Model(name="kubeflow", uuid=upgrade_states.MODEL_UUID),
        relations=relations,
    )
    return upgrade_states.Scenario(app=APP, state=state, events=upgrade_states.full_events(state))
