import json

import ops
import pytest
from ops import testing

from dsplib.dispatch import ManifestSender

META = {
    "name": "sender",
    "requires": {
        "pod-defaults": {"interface": "kubernetes_manifest"},
        "secrets": {"interface": "kubernetes_manifest"},
    },
}
PODDEFAULT = {
    "apiVersion": "kubeflow.org/v1alpha1",
    "kind": "PodDefault",
    "metadata": {"name": "access"},
    "spec": {"selector": {}},
}
SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "creds"},
    "stringData": {"key": "value"},
}


class SenderCharm(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.plain = ManifestSender(self, "pod-defaults")
        self.hidden = ManifestSender(self, "secrets", as_secret=True)
        framework.observe(self.on.config_changed, self._send)

    def _send(self, _: ops.EventBase) -> None:
        self.plain.send([PODDEFAULT])
        self.hidden.send([SECRET])


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(SenderCharm, meta=META)


def test_plain_manifests_go_in_the_databag(ctx):
    relation = testing.Relation("pod-defaults", remote_app_name="resource-dispatcher")
    out = ctx.run(ctx.on.config_changed(), testing.State(leader=True, relations={relation}))
    bag = out.get_relation(relation.id).local_app_data
    assert json.loads(bag["kubernetes_manifests"]) == [PODDEFAULT]
    assert "is_secret" not in bag


def test_credentials_travel_in_a_granted_juju_secret(ctx):
    relation = testing.Relation("secrets", remote_app_name="resource-dispatcher")
    out = ctx.run(ctx.on.config_changed(), testing.State(leader=True, relations={relation}))
    bag = out.get_relation(relation.id).local_app_data
    assert bag["is_secret"] == "true"
    assert "value" not in json.dumps(bag)
    secret = next(s for s in out.secrets if s.label == f"manifest.secrets.{relation.id}")
    assert bag["kubernetes_manifests"] == secret.id
    assert json.loads(secret.tracked_content["manifests"]) == [SECRET]
    assert relation.id in secret.remote_grants

    again = ctx.run(ctx.on.config_changed(), out)
    secret2 = next(s for s in again.secrets if s.label == f"manifest.secrets.{relation.id}")
    assert secret2.latest_content == secret.latest_content
    assert again.get_relation(relation.id).local_app_data["kubernetes_manifests"] == secret.id


def test_non_leader_sends_nothing(ctx):
    relation = testing.Relation("pod-defaults")
    out = ctx.run(ctx.on.config_changed(), testing.State(relations={relation}))
    assert out.get_relation(relation.id).local_app_data == {}


def test_relation_broken_removes_the_secret(ctx):
    relation = testing.Relation("secrets")
    out = ctx.run(ctx.on.config_changed(), testing.State(leader=True, relations={relation}))
    gone = ctx.run(ctx.on.relation_broken(out.get_relation(relation.id)), out)
    assert not any(s.label == f"manifest.secrets.{relation.id}" for s in gone.secrets)
