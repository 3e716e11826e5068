"""Refresh into this revision from every state an earlier revision of kubeflow-object-storage left.

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
    assert kube.find("Service", "kubeflow-object-storage-s3", "kubeflow") is not None
    assert "data" in out.get_relation(2).local_app_data, "kfp-api is still told where to go"


def test_the_newest_fixture_has_the_shape_this_revision_stores(kube):
    upgrade_states.check_newest_shape(upgrade_scenario, kube, FIXTURES)
