"""Refresh into this revision from every state an earlier revision of kafka-profiles left.

The fixtures in upgrade_states/ were recorded with tools/record_state.py from the scenario in
upgrade_scenario.py. The rule: a revision that changes what the charm stores records a new
fixture and keeps every old one (dsplib.upgrade_states says what is checked and why).
"""

import json

import upgrade_scenario
from dsplib import upgrade_states


def after_refresh(ctx, kube, fixture, out):
    bag = out.get_relation(1).local_app_data
    assert bag["topic"] == "profiles", "Kafka is still asked for the topic"
    assert json.loads(out.get_relation(3).local_app_data["kubernetes_manifests"])


(
    test_refresh_from_a_recorded_state,
    test_the_newest_fixture_has_the_shape_this_revision_stores,
) = upgrade_states.charm_tests(upgrade_scenario, after_refresh)
