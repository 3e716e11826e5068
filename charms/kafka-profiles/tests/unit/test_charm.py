"""The charm end to end in Scenario: Kafka's databag in, profile objects out, status."""

from __future__ import annotations

import base64
import json

import ops
import pytest
from ops import testing

from conftest import (
    MODEL,
    dispatcher,
    full_state,
    kafka_databag,
    kafka_relation,
    tls_secret,
    user_secret,
)
from render import CA


def sent(out: testing.State, rid: int) -> list[dict]:
    """The manifests resource-dispatcher receives on a relation (plain or by secret)."""
    bag = out.get_relation(rid).local_app_data
    if bag.get("is_secret") == "true":
        secret = out.get_secret(id=bag["kubernetes_manifests"])
        return json.loads(secret.latest_content["manifests"])
    return json.loads(bag.get("kubernetes_manifests", "[]"))


def decoded(secret: dict) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_short_names_from_kafka_reach_profiles_fully_qualified(ctx: testing.Context):
    out = ctx.run(ctx.on.config_changed(), full_state())
    assert out.unit_status == ops.ActiveStatus()
    (secret,) = sent(out, 2)
    values = decoded(secret)
    assert values["KAFKA_BOOTSTRAP_SERVERS"] == (
        "kafka-k8s-0.kafka-k8s-endpoints.kubeflow.svc.cluster.local:9092,"
        "kafka-k8s-1.kafka-k8s-endpoints.kubeflow.svc.cluster.local:9092"
    )
    assert values["KAFKA_USERNAME"] == "relation-7"
    assert values["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert values["KAFKA_DNS_SEARCH"] == "kubeflow.svc.cluster.local"
    (pod_default,) = sent(out, 3)
    assert pod_default["metadata"]["name"] == "access-kafka"


def test_with_kafkas_extra_listener_profiles_bootstrap_where_names_resolve(
    ctx: testing.Context,
):
    out = ctx.run(ctx.on.config_changed(), full_state(config={"kafka-extra-listener-port": 30000}))
    assert out.unit_status == ops.ActiveStatus()
    (secret,) = sent(out, 2)
    assert decoded(secret)["KAFKA_BOOTSTRAP_SERVERS"] == (
        "kafka-k8s-0.kafka-k8s-endpoints.kubeflow.svc.cluster.local:39092,"
        "kafka-k8s-1.kafka-k8s-endpoints.kubeflow.svc.cluster.local:39092"
    )


def test_a_port_kafka_would_refuse_blocks_naming_the_option(ctx: testing.Context):
    out = ctx.run(ctx.on.config_changed(), full_state(config={"kafka-extra-listener-port": 9092}))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith("config kafka-extra-listener-port:")


def test_credentials_travel_in_a_juju_secret_not_in_relation_data(ctx: testing.Context):
    out = ctx.run(ctx.on.config_changed(), full_state())
    bag = out.get_relation(2).local_app_data
    assert bag["is_secret"] == "true"
    assert "Dy0k2UTfyNt2B13c" not in json.dumps(dict(bag))
    assert "Dy0k2UTfyNt2B13c" not in str(out.unit_status)


def test_the_leader_asks_kafka_for_the_configured_topic_and_roles(ctx: testing.Context):
    state = full_state(config={"topic": "sales-*", "extra-user-roles": "consumer"})
    out = ctx.run(ctx.on.config_changed(), state)
    request = out.get_relation(1).local_app_data
    assert request["topic"] == "sales-*"
    assert request["extra-user-roles"] == "consumer"
    assert "username" in json.loads(request["requested-secrets"])


def test_kafka_in_another_model_gets_its_namespace(ctx: testing.Context):
    out = ctx.run(ctx.on.config_changed(), full_state(config={"kafka-namespace": "kafka"}))
    servers = decoded(sent(out, 2)[0])["KAFKA_BOOTSTRAP_SERVERS"]
    assert servers.startswith("kafka-k8s-0.kafka-k8s-endpoints.kafka.svc.cluster.local:9092")


def test_tls_sends_the_ca_and_mounts_it(ctx: testing.Context):
    bag = kafka_databag(tls="enabled", **{"secret-tls": "secret:1f0c0a0b1c2d3e4f5a6c"})
    bag["endpoints"] = bag["endpoints"].replace("9092", "9093")
    state = full_state(bag=bag, secrets=[user_secret(), tls_secret(CA)])
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status == ops.ActiveStatus()
    values = decoded(sent(out, 2)[0])
    assert values["ca.crt"] == CA
    assert values["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert "volumes" in sent(out, 3)[0]["spec"]


def test_without_kafka_the_status_names_the_integrate_command(ctx: testing.Context):
    state = testing.State(leader=True, model=MODEL, relations={dispatcher("secrets", 2)})
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status == ops.BlockedStatus(
        "integrate with Kafka: juju integrate kafka-profiles kafka-k8s"
    )
    assert sent(out, 2) == []


def test_without_resource_dispatcher_the_status_names_the_endpoints(ctx: testing.Context):
    state = testing.State(
        leader=True, model=MODEL, relations={kafka_relation()}, secrets=[user_secret()]
    )
    out = ctx.run(ctx.on.config_changed(), state)
    assert isinstance(out.unit_status, ops.BlockedStatus)
    assert "secrets and pod-defaults with resource-dispatcher" in out.unit_status.message


def test_waiting_while_kafka_has_not_created_the_user(ctx: testing.Context):
    out = ctx.run(ctx.on.config_changed(), full_state(bag={}, secrets=[]))
    assert out.unit_status == ops.WaitingStatus("waiting for Kafka to grant a user and topic")
    assert sent(out, 2) == [] and sent(out, 3) == []


@pytest.mark.parametrize(
    "bag",
    [
        kafka_databag(endpoints="$(reboot):9092"),
        kafka_databag(endpoints="kafka-k8s-0.kafka-k8s-endpoints:99999"),
        kafka_databag(topic="a topic"),
        kafka_databag(tls="enabled", **{"tls-ca": "-----BEGIN CERTIFICATE-----\nnot base64!"}),
    ],
)
def test_hostile_databag_blocks_and_sends_nothing(ctx: testing.Context, bag: dict[str, str]):
    out = ctx.run(ctx.on.config_changed(), full_state(bag=bag))
    assert isinstance(out.unit_status, ops.BlockedStatus)
    assert "kafka-k8s" in out.unit_status.message
    assert sent(out, 2) == []


def test_a_password_that_would_break_the_jaas_line_blocks(ctx: testing.Context):
    state = full_state(secrets=[user_secret(password='x";evil="')])
    out = ctx.run(ctx.on.config_changed(), state)
    assert isinstance(out.unit_status, ops.BlockedStatus)
    assert "evil" not in out.unit_status.message


def test_an_unreadable_user_secret_waits(ctx: testing.Context):
    out = ctx.run(ctx.on.config_changed(), full_state(secrets=[]))
    assert isinstance(out.unit_status, ops.WaitingStatus)


def test_bad_config_blocks_with_the_option(ctx: testing.Context):
    out = ctx.run(ctx.on.config_changed(), full_state(config={"extra-user-roles": "reader"}))
    assert out.unit_status == ops.BlockedStatus(
        "config extra-user-roles: expected a list of consumer,producer,admin"
    )


def test_kafka_leaving_withdraws_the_credentials(ctx: testing.Context):
    state = full_state()
    out = ctx.run(ctx.on.config_changed(), state)
    assert sent(out, 2)
    out = ctx.run(ctx.on.relation_broken(out.get_relation(1)), out)
    assert sent(out, 2) == [] and sent(out, 3) == []
    assert isinstance(out.unit_status, ops.BlockedStatus)


def test_a_rotated_password_reaches_profiles(ctx: testing.Context):
    out = ctx.run(ctx.on.config_changed(), full_state())
    old = user_secret()
    # Kafka's set-password action (or a rotation) makes a new revision of the user secret
    rotated = testing.Secret(
        old.tracked_content,
        latest_content={**old.tracked_content, "password": "NewPassword123"},
        id=old.id,
        owner=None,
    )
    state = testing.State(
        leader=True,
        model=MODEL,
        relations=out.relations,
        secrets=[s for s in out.secrets if s.id != rotated.id] + [rotated],
    )
    out = ctx.run(ctx.on.secret_changed(rotated), state)
    assert decoded(sent(out, 2)[0])["KAFKA_PASSWORD"] == "NewPassword123"


def test_a_follower_writes_no_relation_data(ctx: testing.Context):
    state = full_state()
    out = ctx.run(
        ctx.on.config_changed(),
        testing.State(leader=False, model=MODEL, relations=state.relations, secrets=state.secrets),
    )
    assert dict(out.get_relation(1).local_app_data) == {}
    assert dict(out.get_relation(2).local_app_data) == {}
