"""Refresh into this revision from every state an earlier revision of seldon-core left.

The fixtures in upgrade_states/ were recorded with tools/record_state.py from the scenario in
upgrade_scenario.py. The rule: a revision that changes what the charm stores records a new
fixture and keeps every old one (dsplib.upgrade_states says what is checked and why).
"""

import copy
from pathlib import Path

import pytest

import upgrade_scenario
from dsplib import certificates, upgrade_states

FIXTURES = upgrade_states.fixtures(Path(upgrade_scenario.__file__).resolve().parents[2])


@pytest.fixture(autouse=True)
def deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    upgrade_scenario.deterministic(monkeypatch)


@pytest.fixture
def ctx():
    return upgrade_states.context(upgrade_scenario)


def after_refresh(ctx, kube, fixture, out):
    assert (
        kube.find("SeldonDeployment", "iris", "alice") == upgrade_scenario.USERS_SELDON_DEPLOYMENT
    )


(
    test_refresh_from_a_recorded_state,
    test_the_newest_fixture_has_the_shape_this_revision_stores,
) = upgrade_states.charm_tests(upgrade_scenario, after_refresh)


# -- the check fails where a refresh would hurt -------------------------------------------------


def _newest_with(kind: str) -> tuple[dict, dict]:
    fixture = upgrade_states.load(FIXTURES[-1])
    return fixture, copy.deepcopy(
        next(o for o in fixture["kubernetes"]["ours"] if o["kind"] == kind)
    )


def test_a_crd_an_older_revision_applied_stays_while_users_have_objects_of_it(ctx, kube):
    fixture, dropped = _newest_with("CustomResourceDefinition")
    dropped["metadata"]["name"] = "seldonoldkinds.machinelearning.seldon.io"
    dropped["spec"]["names"] = {"kind": "SeldonOldKind", "plural": "seldonoldkinds"}
    users = {
        "apiVersion": "machinelearning.seldon.io/v1",
        "kind": "SeldonOldKind",
        "metadata": {"name": "kept", "namespace": "alice"},
    }
    fixture["kubernetes"]["ours"].append(dropped)
    fixture["kubernetes"]["users"].append(users)
    upgrade_states.check_upgrade(ctx, kube, fixture, stored_state=False)
    assert kube.find("CustomResourceDefinition", dropped["metadata"]["name"]) is not None
    assert kube.find("SeldonOldKind", "kept", "alice") == users


def test_an_object_an_older_revision_applied_and_this_one_does_not_render_is_pruned(ctx, kube):
    fixture, leftover = _newest_with("ConfigMap")
    leftover["metadata"]["name"] = "seldon-config-of-an-older-revision"
    fixture["kubernetes"]["ours"].append(leftover)
    upgrade_states.check_upgrade(ctx, kube, fixture, stored_state=False)
    assert kube.find("ConfigMap", "seldon-config-of-an-older-revision", "kubeflow") is None
    assert ("delete", "ConfigMap/kubeflow/seldon-config-of-an-older-revision") in kube.writes


def test_a_revision_that_makes_a_new_webhook_certificate_fails_the_check(ctx, kube, monkeypatch):
    def other(dns_names, now=None):
        cert = upgrade_states.fixed_certificate(dns_names, now)
        return certificates.WebhookCertificate(
            "another CA", cert.cert, cert.key, cert.not_after, cert.dns_names
        )

    monkeypatch.setattr(certificates, "generate", other)
    monkeypatch.setattr(certificates.WebhookCertificate, "needs_renewal", lambda *a: True)
    with pytest.raises(AssertionError, match="owned secret webhook-certificate was rewritten"):
        upgrade_states.check_upgrade(ctx, kube, upgrade_states.load(FIXTURES[-1]))


def test_relation_data_a_revision_rewrites_fails_unless_declared(ctx, kube):
    fixture = upgrade_states.load(FIXTURES[-1])
    secrets = next(r for r in fixture["state"]["relations"] if r["endpoint"] == "secrets")
    secrets["local_app_data"]["is_secret"] = "an older revision's value"
    with pytest.raises(AssertionError, match="secrets: local_app_data changed on refresh"):
        upgrade_states.check_upgrade(ctx, kube, copy.deepcopy(fixture))
    kube.objects.clear()
    upgrade_states.check_upgrade(ctx, kube, fixture, changed_relations={"secrets"})
