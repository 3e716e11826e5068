import ops
import pytest
import yaml
from ops import testing

from dsplib import sdi

META = {
    "name": "sdi-demo",
    "requires": {"ingress": {"interface": "ingress"}, "oidc-client": {"interface": "oidc-client"}},
}
INGRESS = {"service": "sdi-demo", "port": 5556, "prefix": "/dex", "rewrite": "/dex"}
CLIENT = {"id": "authservice-oidc", "name": "Auth", "redirectURIs": ["/cb"], "secret": "s3cr3t"}


class SdiCharm(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.ingress = sdi.SdiEndpoint(self, "ingress", "ingress", "requires", versions=["v1"])
        self.clients = sdi.SdiEndpoint(self, "oidc-client", "oidc-client", "requires")
        self.received: list = []
        self.problems: list[str] = []
        framework.observe(self.on["ingress"].relation_changed, self._on_ingress)
        framework.observe(self.on["oidc-client"].relation_changed, self._on_client)

    def _on_ingress(self, event: ops.RelationChangedEvent) -> None:
        try:
            self.ingress.send(event.relation, INGRESS)
        except sdi.SdiError as err:
            self.problems.append(str(err))

    def _on_client(self, event: ops.RelationChangedEvent) -> None:
        self.clients.publish_versions()
        try:
            self.received.append(self.clients.receive(event.relation))
        except sdi.SdiError as err:
            self.problems.append(str(err))


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(SdiCharm, meta=META)


def test_validate_subset_of_json_schema():
    schema = sdi.SCHEMAS["oidc-client"]["v1"]["provides"]
    assert sdi.validate(CLIENT, schema) == []
    assert sdi.validate({**CLIENT, "redirectURIs": ["/a", 3]}, schema) == [
        "redirectURIs[2]: expected string".replace("[2]", "[1]")
    ]
    assert sdi.validate({"id": "x"}, schema) == [
        "name: required",
        "redirectURIs: required",
        "secret: required",
    ]
    assert sdi.validate({"port": True}, {"properties": {"port": {"type": "integer"}}}) == [
        "port: expected integer"
    ]
    nullable = sdi.SCHEMAS["object-storage"]["v1"]["provides"]["properties"]["namespace"]
    assert sdi.validate(None, nullable) == []


def test_ingress_data_is_written_in_the_negotiated_version(ctx):
    relation = testing.Relation(
        "ingress",
        remote_app_name="istio-pilot",
        remote_app_data={"_supported_versions": "- v1\n- v2\n"},
    )
    out = ctx.run(
        ctx.on.relation_changed(relation), testing.State(leader=True, relations={relation})
    )
    bag = out.get_relation(relation.id).local_app_data
    assert yaml.safe_load(bag["_supported_versions"]) == ["v1"]
    assert yaml.safe_load(bag["data"]) == INGRESS


def test_ingress_waits_for_the_remote_versions(ctx):
    relation = testing.Relation("ingress", remote_app_name="istio-pilot")
    with ctx(
        ctx.on.relation_changed(relation), testing.State(leader=True, relations={relation})
    ) as mgr:
        out = mgr.run()
        assert mgr.charm.problems == ["ingress: waiting for istio-pilot versions"]
    assert "data" not in out.get_relation(relation.id).local_app_data


def test_incompatible_versions_are_reported(ctx):
    relation = testing.Relation("ingress", remote_app_data={"_supported_versions": "- v7\n"})
    with ctx(
        ctx.on.relation_changed(relation), testing.State(leader=True, relations={relation})
    ) as mgr:
        mgr.run()
        assert mgr.charm.problems == ["ingress: no common version with remote"]


def test_client_data_is_validated_on_read(ctx):
    good = testing.Relation(
        "oidc-client",
        remote_app_data={"_supported_versions": "- v1\n", "data": yaml.safe_dump(CLIENT)},
    )
    with ctx(ctx.on.relation_changed(good), testing.State(leader=True, relations={good})) as mgr:
        mgr.run()
        assert mgr.charm.received == [CLIENT]

    bad = testing.Relation(
        "oidc-client",
        remote_app_data={"_supported_versions": "- v1\n", "data": yaml.safe_dump({"id": "x"})},
    )
    with ctx(ctx.on.relation_changed(bad), testing.State(leader=True, relations={bad})) as mgr:
        mgr.run()
        assert mgr.charm.received == []
        assert "invalid data from remote" in mgr.charm.problems[0]
        assert "secret: required" in mgr.charm.problems[0]

    garbled = testing.Relation(
        "oidc-client", remote_app_data={"_supported_versions": "- v1\n", "data": "{unclosed"}
    )
    with ctx(
        ctx.on.relation_changed(garbled), testing.State(leader=True, relations={garbled})
    ) as mgr:
        mgr.run()
        assert mgr.charm.problems == ["oidc-client: unreadable data from remote"]


def test_non_leader_writes_nothing(ctx):
    relation = testing.Relation("ingress", remote_app_data={"_supported_versions": "- v1\n"})
    out = ctx.run(ctx.on.relation_changed(relation), testing.State(relations={relation}))
    assert out.get_relation(relation.id).local_app_data == {}


def test_withdraw_removes_our_data_and_keeps_the_versions():
    class Withdrawing(SdiCharm):
        def _on_ingress(self, event: ops.RelationChangedEvent) -> None:
            self.ingress.withdraw(event.relation)

    relation = testing.Relation(
        "ingress",
        remote_app_data={"_supported_versions": "- v1\n"},
        local_app_data={"_supported_versions": "- v1\n", "data": yaml.safe_dump(INGRESS)},
    )
    ctx = testing.Context(Withdrawing, meta=META)
    out = ctx.run(
        ctx.on.relation_changed(relation), testing.State(leader=True, relations={relation})
    )
    assert out.get_relation(relation.id).local_app_data == {"_supported_versions": "- v1\n"}
    out = ctx.run(ctx.on.relation_changed(relation), testing.State(relations={relation}))
    assert "data" in out.get_relation(relation.id).local_app_data  # only the leader writes


@pytest.mark.parametrize(
    "versions",
    ["yes", "1", "1.5", "v1", "{v1: 1}", "- [v1]\n", "- {v1: x}\n", "2024-13-45", "[" * 3000],
)
def test_versions_that_are_not_a_yaml_list_are_an_error_naming_the_relation(ctx, versions):
    """A scalar once raised TypeError from `version` and put the charm in hook error."""
    relation = testing.Relation(
        "oidc-client",
        remote_app_name="oidc-gatekeeper",
        remote_app_data={"_supported_versions": versions, "data": yaml.safe_dump(CLIENT)},
    )
    with ctx(
        ctx.on.relation_changed(relation), testing.State(leader=True, relations={relation})
    ) as mgr:
        mgr.run()
        assert mgr.charm.received == []
        assert len(mgr.charm.problems) == 1
        assert mgr.charm.problems[0].startswith("oidc-client: ")
        assert "oidc-gatekeeper" in mgr.charm.problems[0]


@pytest.mark.parametrize("data", ["2024-13-45", "!!float x", "[" * 3000, "yes", "- a\n"])
def test_data_pyyaml_cannot_construct_is_an_error_naming_the_relation(ctx, data):
    """PyYAML raises ValueError or RecursionError, not YAMLError, for some hostile text."""
    relation = testing.Relation(
        "oidc-client", remote_app_data={"_supported_versions": "- v1\n", "data": data}
    )
    with ctx(
        ctx.on.relation_changed(relation), testing.State(leader=True, relations={relation})
    ) as mgr:
        mgr.run()
        assert mgr.charm.received == []
        assert mgr.charm.problems[0].startswith("oidc-client: ")
