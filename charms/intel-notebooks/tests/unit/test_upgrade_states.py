"""Refresh into this revision from every state an earlier revision of intel-notebooks left.

The fixtures in upgrade_states/ were recorded with tools/record_state.py from the scenario in
upgrade_scenario.py. The rule: a revision that changes what the charm stores records a new
fixture and keeps every old one (dsplib.upgrade_states says what is checked and why).
"""

import upgrade_scenario
from dsplib import upgrade_states


def after_refresh(ctx, kube, fixture, out):
    assert kube.find("DaemonSet", "intel-notebooks-prepull", "kubeflow") is not None
    assert out.get_relation(1).local_app_data, "the PodDefault still reaches profiles"


(
    test_refresh_from_a_recorded_state,
    test_the_newest_fixture_has_the_shape_this_revision_stores,
) = upgrade_states.charm_tests(upgrade_scenario, after_refresh)
