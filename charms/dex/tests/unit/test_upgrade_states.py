"""Refresh into this revision from every state an earlier revision of dex left.

The fixtures in upgrade_states/ were recorded with tools/record_state.py from the scenario in
upgrade_scenario.py. The rule: a revision that changes what the charm stores records a new
fixture and keeps every old one (dsplib.upgrade_states says what is checked and why).
"""

import bcrypt
import yaml

import upgrade_scenario
from dsplib import upgrade_states


def after_refresh(ctx, kube, fixture, out):
    fs = out.get_container("dex").get_filesystem(ctx)
    config = yaml.safe_load((fs / "etc/dex/config.docker.yaml").read_text())
    (static,) = config["staticPasswords"]
    assert bcrypt.checkpw(b"admin-password", static["hash"].encode()), "static user logs in"
    assert [c["id"] for c in config["staticClients"]] == ["authservice-oidc"]


(
    test_refresh_from_a_recorded_state,
    test_the_newest_fixture_has_the_shape_this_revision_stores,
) = upgrade_states.charm_tests(upgrade_scenario, after_refresh)
