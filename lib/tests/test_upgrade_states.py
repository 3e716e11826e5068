"""The upgrade check itself: it passes a refresh that keeps everything and fails each harm."""

import copy

import pytest
from ops import testing

from dsplib import kubernetes, upgrade_states
from dsplib.testing import FakeKubernetes

USERS = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mine", "namespace": "u"}}


def recorded(ctx, kube: FakeKubernetes) -> dict:
    state = testing.State(
        leader=True,
        model=testing.Model(name="demo-model", uuid=upgrade_states.MODEL_UUID),
        containers={testing.Container("workload", can_connect=True)},
    )
    scenario = upgrade_states.Scenario(
        app="demo", state=state, events=upgrade_states.full_events(state), users_objects=[USERS]
    )
    out = upgrade_states.run(ctx, scenario, kube)
    fixture = upgrade_states.record(out, kube, app="demo", revision="test")
    kube.objects.clear()
    return json_round_trip(fixture)


def json_round_trip(fixture: dict) -> dict:
    import json

    return json.loads(upgrade_states.dumps(fixture))


@pytest.mark.parametrize("stored_state", [True, False])
def test_a_refresh_that_changes_nothing_passes_without_writes(ctx, kube, stored_state):
    fixture = recorded(ctx, kube)
    upgrade_states.check_upgrade(ctx, kube, fixture, stored_state=stored_state)
    assert kube.writes == []


def test_recording_is_deterministic(ctx, kube):
    first = upgrade_states.dumps(recorded(ctx, kube))
    kube.reset_calls()
    assert upgrade_states.dumps(recorded(ctx, kube)) == first


def test_an_unchanged_object_applied_again_fails(ctx, kube, monkeypatch):
    fixture = recorded(ctx, kube)
    # A revision that ignores what the cluster holds and re-applies everything.
    monkeypatch.setattr(kubernetes.KubernetesObjects, "_labelled_digests", lambda self, kinds: {})
    with pytest.raises(AssertionError, match="applied again, unchanged"):
        upgrade_states.check_upgrade(ctx, kube, fixture, stored_state=False)


def test_a_leftover_that_is_not_pruned_fails(ctx, kube, monkeypatch):
    fixture = recorded(ctx, kube)
    leftover = copy.deepcopy(fixture["kubernetes"]["ours"][0])
    leftover["metadata"]["name"] = "left-by-an-older-revision"
    fixture["kubernetes"]["ours"].append(leftover)
    monkeypatch.setattr(kubernetes.KubernetesObjects, "_delete", lambda self, refs: 0)
    with pytest.raises(AssertionError, match="no longer rendered and was not pruned"):
        upgrade_states.check_upgrade(ctx, kube, fixture, stored_state=False)


def test_a_users_object_deleted_or_changed_fails(ctx, kube):
    fixture = recorded(ctx, kube)
    upgrade_states.restore_cluster(fixture, kube)
    kube.objects.pop(("v1", "ConfigMap", "u", "mine"))
    with pytest.raises(AssertionError, match="users' ConfigMap mine was deleted"):
        upgrade_states.check_users_objects(fixture, kube)
    kube.add({**USERS, "data": {"changed": "yes"}})
    with pytest.raises(AssertionError, match="users' ConfigMap mine was changed"):
        upgrade_states.check_users_objects(fixture, kube)


def test_shape_ignores_values_but_not_keys(ctx, kube):
    fixture = recorded(ctx, kube)
    other = copy.deepcopy(fixture)
    other["kubernetes"]["ours"][0]["metadata"]["annotations"] = {}
    assert upgrade_states.shape(other) == upgrade_states.shape(fixture)
    other["state"]["stored_states"][-1]["content"]["new-key"] = ""
    assert upgrade_states.shape(other) != upgrade_states.shape(fixture)


def test_secret_ids_are_numbered_and_replaced_everywhere():
    secret = testing.Secret({"a": "b"}, label="x", owner="app")
    ids = upgrade_states._secret_ids([secret])
    text = upgrade_states._replace_ids(f'{{"kubernetes_manifests": "{secret.id}"}}', ids)
    assert text == '{"kubernetes_manifests": "secret:upgrade-state-00"}'
