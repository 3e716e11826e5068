"""Refresh into this revision from every state an earlier revision of kubeflow-backup left.

The fixtures in upgrade_states/ were recorded with tools/record_state.py from the scenario in
upgrade_scenario.py. The rule: a revision that changes what the charm stores records a new
fixture and keeps every old one (dsplib.upgrade_states says what is checked and why).
"""

from pathlib import Path

import pytest

import upgrade_scenario
from dsplib import upgrade_states

FIXTURES = upgrade_states.fixtures(Path())


@pytest.fixture(autouse=True)
def deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    upgrade_scenario.deterministic(monkeypatch)


@upgrade_states.each_recorded_state(FIXTURES)
def test_refresh_from_a_recorded_state(kube, path, stored_state):
    ctx = upgrade_states.context(upgrade_scenario)
    fixture = upgrade_states.load(path)
    out = upgrade_states.check_upgrade(ctx, kube, fixture, stored_state=stored_state)
    key = next(s for s in out.secrets if s.label == "backup-encryption-key")
    recorded = next(s for s in fixture["state"]["secrets"] if s["label"] == key.label)
    assert dict(key.latest_content or key.tracked_content) == recorded["content"]
    assert kube.find("Notebook", "analysis", "alice") == upgrade_scenario.USERS_NOTEBOOK


def test_the_newest_fixture_has_the_shape_this_revision_stores(kube):
    upgrade_states.check_newest_shape(upgrade_scenario, kube, FIXTURES)
