"""Scenario tests of kubeflow-object-storage, checking a real Ceph RADOS Gateway."""

import json
import logging
import secrets
import socket

import jsonschema
import pytest
import yaml
from ops import testing

from ceph_rgw import self_signed_ca
from conftest import GATEWAY_ADDRESS, GATEWAY_NAME, MODEL
from dsplib.s3 import S3Client
from dsplib.sdi import SCHEMAS
from dsplib.testing import FakeKubernetes
from pytest_ceph_rgw import RGWEndpoint

pytestmark = pytest.mark.usefixtures("gateway_names")

APP = "kubeflow-object-storage"
SERVICE = f"{APP}-s3"
TRUST = testing.BlockedStatus(f"run: juju trust {APP} --scope=cluster")
SCHEMA = SCHEMAS["object-storage"]["v1"]["provides"]


def s3_data(rgw: RGWEndpoint, host: str = GATEWAY_NAME, **overrides) -> dict[str, str]:
    data = {
        "access-key": rgw.access_key,
        "secret-key": rgw.secret_key,
        "bucket": "from-s3-integrator",
        "endpoint": rgw.endpoint.replace("127.0.0.1", host),
        "region": "us-east-1",
    }
    if rgw.ca_pem:
        data["tls-ca-chain"] = json.dumps([rgw.ca_pem])
    return {**data, **overrides}


def s3_relation(data: dict[str, str]) -> testing.Relation:
    return testing.Relation(
        "s3-credentials", remote_app_name="s3-integrator", remote_app_data=data
    )


def consumer(app: str = "kfp-api", versions: str = "- v1\n") -> testing.Relation:
    return testing.Relation(
        "object-storage", remote_app_name=app, remote_app_data={"_supported_versions": versions}
    )


def state(*, leader=True, config=None, relations=(), **kw) -> testing.State:
    return testing.State(
        leader=leader, model=MODEL, config=config or {}, relations=set(relations), **kw
    )


def fresh_bucket() -> dict[str, str]:
    return {"bucket": f"kfp-{secrets.token_hex(4)}"}


def published(out: testing.State, relation: testing.Relation) -> dict | None:
    bag = out.get_relation(relation.id).local_app_data
    return yaml.safe_load(bag["data"]) if "data" in bag else None


def bucket_exists(rgw: RGWEndpoint, bucket: str) -> bool:
    with S3Client(rgw.endpoint, rgw.access_key, rgw.secret_key, ca_pem=rgw.ca_pem or "") as s3:
        try:
            s3.head_bucket(bucket)
        except Exception:
            return False
    return True


# -- good credentials -------------------------------------------------------------------------


def test_good_credentials_publish_schema_valid_data_and_an_external_name(ctx, kube, ceph_rgw):
    config, kfp_api, kfp_ui = fresh_bucket(), consumer(), consumer("kfp-ui")
    s3 = s3_relation(s3_data(ceph_rgw))
    out = ctx.run(
        ctx.on.relation_changed(s3), state(config=config, relations=[s3, kfp_api, kfp_ui])
    )

    port = int(ceph_rgw.endpoint.rsplit(":", 1)[1])
    for relation in (kfp_api, kfp_ui):
        data = published(out, relation)
        assert data is not None
        jsonschema.validate(data, SCHEMA)
        assert data == {
            "access-key": ceph_rgw.access_key,
            "secret-key": ceph_rgw.secret_key,
            "service": SERVICE,
            "namespace": "kubeflow",
            "port": port,
            "secure": False,
        }
        local = out.get_relation(relation.id).local_app_data
        assert yaml.safe_load(local["_supported_versions"]) == ["v1"]
    service = kube.get_object("Service", SERVICE, "kubeflow")
    assert service["spec"]["externalName"] == GATEWAY_NAME
    assert kube.of_kind("EndpointSlice") == []
    assert bucket_exists(ceph_rgw, config["bucket"])  # created, as create-bucket is on
    assert out.unit_status == testing.ActiveStatus(
        f"bucket {config['bucket']} at {GATEWAY_NAME}:{port} as {SERVICE}.kubeflow:{port}"
    )


def test_an_ip_address_gets_a_service_with_an_endpoint_slice(ctx, kube, ceph_rgw):
    s3, kfp = s3_relation(s3_data(ceph_rgw, host=GATEWAY_ADDRESS)), consumer()
    out = ctx.run(ctx.on.relation_changed(s3), state(config=fresh_bucket(), relations=[s3, kfp]))
    service = kube.get_object("Service", SERVICE, "kubeflow")
    assert service["spec"]["type"] == "ClusterIP"
    [endpoints] = kube.of_kind("EndpointSlice")
    assert endpoints["endpoints"][0]["addresses"] == [GATEWAY_ADDRESS]
    assert endpoints["metadata"]["labels"]["kubernetes.io/service-name"] == SERVICE
    assert published(out, kfp)["service"] == SERVICE  # type: ignore[index]
    assert out.unit_status.name == "active"


def test_moving_from_an_address_to_a_name_prunes_the_endpoint_slice(ctx, kube, ceph_rgw):
    config = fresh_bucket()
    s3 = s3_relation(s3_data(ceph_rgw, host=GATEWAY_ADDRESS))
    out = ctx.run(ctx.on.relation_changed(s3), state(config=config, relations=[s3]))
    moved = s3_relation(s3_data(ceph_rgw))
    out = ctx.run(
        ctx.on.relation_changed(moved),
        state(config=config, relations=[moved], stored_states=out.stored_states),
    )
    assert kube.of_kind("EndpointSlice") == []
    assert kube.get_object("Service", SERVICE)["spec"]["type"] == "ExternalName"


def test_a_consumer_joining_later_gets_the_data(ctx, kube, ceph_rgw):
    config, s3 = fresh_bucket(), s3_relation(s3_data(ceph_rgw))
    out = ctx.run(ctx.on.relation_changed(s3), state(config=config, relations=[s3]))
    kube.reset_calls()
    argo = consumer("argo-controller")
    out = ctx.run(
        ctx.on.relation_joined(argo, remote_unit=0),
        state(config=config, relations=[s3, argo], stored_states=out.stored_states),
    )
    jsonschema.validate(published(out, argo), SCHEMA)
    assert kube.writes == []


def test_update_status_checks_again_and_writes_nothing_when_unchanged(ctx, kube, ceph_rgw):
    config, s3, kfp = fresh_bucket(), s3_relation(s3_data(ceph_rgw)), consumer()
    out = ctx.run(ctx.on.relation_changed(s3), state(config=config, relations=[s3, kfp]))
    kube.reset_calls()
    out = ctx.run(ctx.on.update_status(), out)
    out = ctx.run(ctx.on.config_changed(), out)
    assert kube.writes == []
    assert out.unit_status.name == "active"

    with ceph_rgw.cluster.gateway_stopped():
        down = ctx.run(ctx.on.update_status(), out)
    assert down.unit_status.name == "waiting"  # an outage, not a mistake: checked again
    assert "refused the connection; retrying on update-status" in down.unit_status.message
    assert published(down, kfp) == published(out, kfp)  # consumers keep the last good data
    back = ctx.run(ctx.on.update_status(), down)
    assert back.unit_status.name == "active"
    assert kube.writes == []


def test_existing_bucket_is_used_with_creation_off(ctx, kube, ceph_rgw):
    config = fresh_bucket()
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as s3client:
        s3client.create_bucket(config["bucket"])
    s3 = s3_relation(s3_data(ceph_rgw))
    out = ctx.run(
        ctx.on.relation_changed(s3),
        state(config={**config, "create-bucket": False}, relations=[s3]),
    )
    assert out.unit_status.name == "active"


# -- each cause of failure blocks, naming it, and publishes nothing ---------------------------


def assert_nothing_published(out: testing.State, kube: FakeKubernetes, kfp: testing.Relation):
    assert published(out, kfp) is None
    assert kube.writes == []


def test_missing_bucket_with_creation_off_blocks(ctx, kube, ceph_rgw):
    config, s3, kfp = fresh_bucket(), s3_relation(s3_data(ceph_rgw)), consumer()
    out = ctx.run(
        ctx.on.relation_changed(s3),
        state(config={**config, "create-bucket": False}, relations=[s3, kfp]),
    )
    assert out.unit_status == testing.BlockedStatus(
        f"bucket '{config['bucket']}' does not exist: create it or set create-bucket=true"
    )
    assert_nothing_published(out, kube, kfp)
    assert not bucket_exists(ceph_rgw, config["bucket"])

    # turning creation on unblocks on the next config-changed
    out = ctx.run(
        ctx.on.config_changed(),
        state(config=config, relations=[s3, kfp], stored_states=out.stored_states),
    )
    assert out.unit_status.name == "active"
    assert bucket_exists(ceph_rgw, config["bucket"])


def test_wrong_keys_block_without_revealing_them(ctx, kube, ceph_rgw, caplog):
    caplog.set_level(logging.DEBUG)
    s3 = s3_relation(s3_data(ceph_rgw, **{"secret-key": "WRONG-SECRET-VALUE"}))
    kfp = consumer()
    out = ctx.run(ctx.on.relation_changed(s3), state(config=fresh_bucket(), relations=[s3, kfp]))
    assert out.unit_status.name == "blocked"
    assert "S3 refused the request" in out.unit_status.message
    assert out.unit_status.message.endswith("fix the keys given to s3-integrator")
    assert_nothing_published(out, kube, kfp)
    assert "WRONG-SECRET-VALUE" not in caplog.text
    assert ceph_rgw.secret_key not in caplog.text


def test_unknown_access_key_blocks(ctx, kube, ceph_rgw):
    s3 = s3_relation(s3_data(ceph_rgw, **{"access-key": "NOSUCHKEY0000000"}))
    out = ctx.run(ctx.on.relation_changed(s3), state(config=fresh_bucket(), relations=[s3]))
    assert out.unit_status.name == "blocked"
    assert "fix the keys" in out.unit_status.message


def test_a_stopped_gateway_waits_naming_the_host_and_recovers(ctx, kube, ceph_rgw, caplog):
    caplog.set_level(logging.DEBUG)
    config, s3, kfp = fresh_bucket(), s3_relation(s3_data(ceph_rgw)), consumer()
    with ceph_rgw.cluster.gateway_stopped():
        out = ctx.run(ctx.on.relation_changed(s3), state(config=config, relations=[s3, kfp]))
    port = ceph_rgw.endpoint.rsplit(":", 1)[1]
    assert out.unit_status == testing.WaitingStatus(
        f"S3 endpoint http://{GATEWAY_NAME}:{port} refused the connection; "
        "retrying on update-status"
    )
    assert_nothing_published(out, kube, kfp)
    assert ceph_rgw.secret_key not in out.unit_status.message + caplog.text
    assert ceph_rgw.access_key not in out.unit_status.message + caplog.text

    out = ctx.run(ctx.on.update_status(), out)  # the gateway is back: the retry publishes
    assert out.unit_status.name == "active"
    assert published(out, kfp) is not None


def test_a_silent_endpoint_waits(ctx, kube, monkeypatch):
    import storage

    monkeypatch.setattr(storage, "CHECK_TIMEOUT", 0.3)
    with socket.create_server(("127.0.0.1", 0)) as server:  # accepts, never answers
        port = server.getsockname()[1]
        s3 = s3_relation(
            {"access-key": "AK", "secret-key": "SK", "bucket": "b",
             "endpoint": f"http://{GATEWAY_NAME}:{port}"}
        )  # fmt: skip
        kfp = consumer()
        out = ctx.run(ctx.on.relation_changed(s3), state(relations=[s3, kfp]))
    assert out.unit_status == testing.WaitingStatus(
        f"S3 endpoint http://{GATEWAY_NAME}:{port} did not answer in time; "
        "retrying on update-status"
    )
    assert_nothing_published(out, kube, kfp)


def test_an_endpoint_that_does_not_resolve_blocks(ctx, kube):
    endpoint = "http://rgw.example.invalid:7480"  # RFC 2606: .invalid never resolves
    s3 = s3_relation({"access-key": "AK", "secret-key": "SK", "bucket": "b", "endpoint": endpoint})
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[s3]))
    assert out.unit_status == testing.BlockedStatus(
        f"S3 endpoint {endpoint}: host name does not resolve: check s3-integrator's endpoint "
        "and the network"
    )


def test_https_with_the_right_ca_publishes_secure_storage(ctx, kube, ceph_rgw_https):
    s3 = s3_relation(s3_data(ceph_rgw_https, host="localhost"))
    kfp = consumer()
    out = ctx.run(ctx.on.relation_changed(s3), state(config=fresh_bucket(), relations=[s3, kfp]))
    assert out.unit_status.name == "active"
    data = published(out, kfp)
    assert data is not None
    assert data["secure"] is True
    assert data["port"] == int(ceph_rgw_https.endpoint.rsplit(":", 1)[1])


def test_https_with_a_ca_that_does_not_verify_blocks(ctx, kube, ceph_rgw_https):
    other_ca = self_signed_ca("another CA")
    s3 = s3_relation(
        s3_data(ceph_rgw_https, host="localhost", **{"tls-ca-chain": json.dumps([other_ca])})
    )
    kfp = consumer()
    out = ctx.run(ctx.on.relation_changed(s3), state(config=fresh_bucket(), relations=[s3, kfp]))
    assert out.unit_status.name == "blocked"
    assert "TLS certificate of https://localhost:" in out.unit_status.message
    assert "does not verify" in out.unit_status.message
    assert_nothing_published(out, kube, kfp)


# -- relation data and config that cannot be used -------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"endpoint": ""}, "s3-credentials: the provider sent no endpoint (set its endpoint)"),
        ({"endpoint": "ftp://rgw"}, "s3-credentials: endpoint must be an http(s):// URL"),
        ({"tls-ca-chain": '["junk"]'}, "s3-credentials: tls-ca-chain holds something that is not"),
        ({"endpoint": "http://127.0.0.1:7480"}, "s3-credentials: endpoint 127.0.0.1 is not reach"),
        (
            {"endpoint": "http://rgw.example:7480/s3"},
            "s3-credentials: the S3 endpoint must be scheme://host[:port], nothing more",
        ),
    ],
)
def test_unusable_s3_data_blocks_naming_the_field(ctx, kube, ceph_rgw, data, message):
    s3 = s3_relation(s3_data(ceph_rgw, **data))
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[s3]))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith(message)
    assert kube.calls == []


def test_s3_relation_without_keys_yet_waits(ctx, kube):
    s3 = s3_relation({"bucket": "b"})
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[s3]))
    assert out.unit_status == testing.WaitingStatus("waiting for S3 credentials")


def test_without_s3_it_says_what_to_integrate(ctx, kube):
    out = ctx.run(ctx.on.install(), state(relations=[consumer()]))
    assert out.unit_status == testing.BlockedStatus(
        "integrate s3-credentials with s3-integrator (Ceph RGW)"
    )
    assert kube.writes == []


@pytest.mark.parametrize("bucket", ["x", "Bad_Name", "10.0.0.1"])
def test_bad_bucket_option_blocks_and_checks_nothing(ctx, kube, ceph_rgw, bucket):
    s3, kfp = s3_relation(s3_data(ceph_rgw)), consumer()
    out = ctx.run(ctx.on.config_changed(), state(config={"bucket": bucket}, relations=[s3, kfp]))
    assert out.unit_status.message.startswith("config bucket: expected")
    assert_nothing_published(out, kube, kfp)


def test_a_consumer_without_a_common_version_blocks(ctx, kube, ceph_rgw):
    s3, odd = s3_relation(s3_data(ceph_rgw)), consumer("odd", versions="- v9\n")
    out = ctx.run(ctx.on.relation_changed(odd), state(config=fresh_bucket(), relations=[s3, odd]))
    assert out.unit_status == testing.BlockedStatus("object-storage: no common version with odd")
    assert published(out, odd) is None


def test_garbage_from_a_consumer_does_not_break_the_hook(ctx, kube, ceph_rgw):
    s3 = s3_relation(s3_data(ceph_rgw))
    junk = testing.Relation("object-storage", remote_app_data={"_supported_versions": "{["})
    out = ctx.run(
        ctx.on.relation_changed(junk), state(config=fresh_bucket(), relations=[s3, junk])
    )
    assert out.unit_status.message == "object-storage: unreadable versions from remote"


# -- relation lifecycle, Kubernetes errors, leadership, upgrade, remove -----------------------


def test_s3_relation_broken_deletes_the_service_and_withdraws_the_data(ctx, kube, ceph_rgw):
    config, s3, kfp = (
        fresh_bucket(),
        s3_relation(s3_data(ceph_rgw, host=GATEWAY_ADDRESS)),
        consumer(),
    )
    out = ctx.run(ctx.on.relation_changed(s3), state(config=config, relations=[s3, kfp]))
    assert published(out, kfp) is not None
    out = ctx.run(ctx.on.relation_broken(out.get_relation(s3.id)), out)
    assert kube.of_kind("Service") == []
    assert kube.of_kind("EndpointSlice") == []
    assert published(out, kfp) is None
    assert out.unit_status.name == "blocked"


def test_s3_relation_joined_checks_as_soon_as_keys_are_there(ctx, kube, ceph_rgw):
    s3 = s3_relation(s3_data(ceph_rgw))
    out = ctx.run(
        ctx.on.relation_joined(s3, remote_unit=0), state(config=fresh_bucket(), relations=[s3])
    )
    assert out.unit_status.name == "active"


def test_consumer_relation_broken_leaves_the_rest_alone(ctx, kube, ceph_rgw):
    config, s3, kfp = fresh_bucket(), s3_relation(s3_data(ceph_rgw)), consumer()
    out = ctx.run(ctx.on.relation_changed(s3), state(config=config, relations=[s3, kfp]))
    kube.reset_calls()
    out = ctx.run(ctx.on.relation_broken(out.get_relation(kfp.id)), out)
    assert kube.writes == []
    assert out.unit_status.name == "active"


def test_forbidden_blocks_with_the_trust_command_and_publishes_nothing(ctx, kube, ceph_rgw):
    kube.fail(403)
    s3, kfp = s3_relation(s3_data(ceph_rgw)), consumer()
    out = ctx.run(ctx.on.relation_changed(s3), state(config=fresh_bucket(), relations=[s3, kfp]))
    assert out.unit_status == TRUST
    assert published(out, kfp) is None


def test_api_errors_wait_and_retry(ctx, kube, ceph_rgw):
    kube.fail(503, times=1)
    s3, kfp = s3_relation(s3_data(ceph_rgw)), consumer()
    out = ctx.run(ctx.on.relation_changed(s3), state(config=fresh_bucket(), relations=[s3, kfp]))
    assert out.unit_status.name == "waiting"
    assert published(out, kfp) is None
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status.name == "active"
    assert published(out, kfp) is not None


def test_non_leader_neither_checks_nor_writes(ctx, kube, ceph_rgw):
    s3, kfp = s3_relation(s3_data(ceph_rgw, **{"secret-key": "wrong"})), consumer()
    out = ctx.run(ctx.on.relation_changed(s3), state(leader=False, relations=[s3, kfp]))
    assert kube.calls == []
    assert out.get_relation(kfp.id).local_app_data == {}
    assert out.unit_status == testing.ActiveStatus()


def test_upgrade_keeps_the_data_and_writes_only_what_the_cluster_lost(ctx, kube, ceph_rgw):
    config, s3, kfp = fresh_bucket(), s3_relation(s3_data(ceph_rgw)), consumer()
    out = ctx.run(ctx.on.relation_changed(s3), state(config=config, relations=[s3, kfp]))
    kube.reset_calls()
    out = ctx.run(ctx.on.upgrade_charm(), out)
    assert kube.writes == []
    assert published(out, kfp) is not None
    kube.objects.clear()
    out = ctx.run(ctx.on.upgrade_charm(), out)
    assert ("apply", f"Service/kubeflow/{SERVICE}") in kube.writes
    assert published(out, kfp) is not None


def test_update_status_recreates_a_deleted_service(ctx, kube, ceph_rgw):
    config, s3 = fresh_bucket(), s3_relation(s3_data(ceph_rgw))
    out = ctx.run(ctx.on.relation_changed(s3), state(config=config, relations=[s3]))
    kube.objects.clear()
    ctx.run(ctx.on.update_status(), out)
    assert kube.find("Service", SERVICE) is not None


def test_remove_deletes_the_objects_only_with_the_application(ctx, kube, ceph_rgw):
    config, s3 = fresh_bucket(), s3_relation(s3_data(ceph_rgw, host=GATEWAY_ADDRESS))
    out = ctx.run(ctx.on.relation_changed(s3), state(config=config, relations=[s3]))
    ctx.run(ctx.on.remove(), state(planned_units=1, stored_states=out.stored_states))
    assert kube.find("Service", SERVICE) is not None
    ctx.run(ctx.on.remove(), state(planned_units=0, stored_states=out.stored_states))
    assert kube.of_kind("Service") == []
    assert kube.of_kind("EndpointSlice") == []


def test_install_before_any_relation_writes_nothing(ctx, kube):
    out = ctx.run(ctx.on.install(), state())
    out = ctx.run(ctx.on.config_changed(), out)
    assert kube.writes == []
    assert out.unit_status.name == "blocked"


def test_garbage_from_the_s3_provider_blocks_without_a_hook_error(ctx, kube):
    s3 = s3_relation(
        {"access-key": "{", "secret-key": "[", "tls-ca-chain": "{[", "endpoint": "http://"}
    )
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[s3, consumer()]))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith("s3-credentials: ")
    assert kube.calls == []


def test_a_hook_that_does_not_check_says_the_check_is_pending(ctx, kube, ceph_rgw):
    s3 = s3_relation(s3_data(ceph_rgw))
    out = ctx.run(ctx.on.start(), state(config=fresh_bucket(), relations=[s3]))
    assert out.unit_status == testing.WaitingStatus("waiting to check the S3 endpoint")
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status.name == "active"


# -- kfp-launcher for every profile, through resource-dispatcher -------------------------------


def dispatcher(endpoint: str) -> testing.Relation:
    return testing.Relation(endpoint, remote_app_name="resource-dispatcher")


def sent(out: testing.State, relation: testing.Relation) -> list[dict] | None:
    """The manifests our side of a kubernetes_manifest relation holds (plain or in a secret)."""
    bag = out.get_relation(relation.id).local_app_data
    if "kubernetes_manifests" not in bag:
        return None
    if bag.get("is_secret") == "true":
        label = f"manifest.{relation.endpoint}.{relation.id}"
        secret = next(s for s in out.secrets if s.label == label)
        return json.loads(secret.tracked_content["manifests"])
    return json.loads(bag["kubernetes_manifests"])


def test_profiles_get_kfp_launcher_and_the_keys_in_a_juju_secret(ctx, kube, ceph_rgw):
    config, s3 = fresh_bucket(), s3_relation(s3_data(ceph_rgw))
    maps, keys = dispatcher("config-maps"), dispatcher("secrets")
    out = ctx.run(ctx.on.relation_changed(s3), state(config=config, relations=[s3, maps, keys]))
    assert out.unit_status.name == "active"
    [config_map] = sent(out, maps) or [None]
    assert config_map["metadata"]["name"] == "kfp-launcher"
    assert config_map["data"]["defaultPipelineRoot"] == f"minio://{config['bucket']}/v2/artifacts"
    port = int(ceph_rgw.endpoint.rsplit(":", 1)[1])
    minio = yaml.safe_load(config_map["data"]["providers"])["minio"]["default"]
    assert minio["endpoint"] == f"{GATEWAY_NAME}:{port}"
    assert minio["credentials"]["secretRef"]["secretName"] == f"{APP}-artifact-keys"
    assert ceph_rgw.secret_key not in json.dumps(config_map)
    # the keys travel only inside a Juju secret, never in the relation data in clear
    assert out.get_relation(keys.id).local_app_data["is_secret"] == "true"
    assert ceph_rgw.secret_key not in json.dumps(dict(out.get_relation(keys.id).local_app_data))
    [secret] = sent(out, keys) or [None]
    assert secret["metadata"]["name"] == f"{APP}-artifact-keys"

    # update-status with nothing changed writes nothing new
    again = ctx.run(ctx.on.update_status(), out)
    assert sent(again, maps) == sent(out, maps)
    assert sent(again, keys) == sent(out, keys)


def test_one_dispatch_endpoint_without_the_other_blocks_and_sends_nothing(ctx, kube, ceph_rgw):
    s3, maps = s3_relation(s3_data(ceph_rgw)), dispatcher("config-maps")
    out = ctx.run(ctx.on.relation_changed(s3), state(config=fresh_bucket(), relations=[s3, maps]))
    assert out.unit_status == testing.BlockedStatus(
        "integrate secrets with resource-dispatcher: profiles need both the kfp-launcher "
        "ConfigMap and the Secret with its keys"
    )
    assert sent(out, maps) in (None, [])  # a kfp-launcher naming a missing Secret breaks steps


def test_wrong_keys_send_nothing_to_profiles(ctx, kube, ceph_rgw):
    s3 = s3_relation(s3_data(ceph_rgw, **{"secret-key": "WRONG-SECRET-VALUE"}))
    maps, keys = dispatcher("config-maps"), dispatcher("secrets")
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[s3, maps, keys]))
    assert out.unit_status.name == "blocked"
    assert sent(out, maps) is None
    assert sent(out, keys) is None


def test_losing_s3_takes_kfp_launcher_back(ctx, kube, ceph_rgw):
    config, s3 = fresh_bucket(), s3_relation(s3_data(ceph_rgw))
    maps, keys = dispatcher("config-maps"), dispatcher("secrets")
    out = ctx.run(ctx.on.relation_changed(s3), state(config=config, relations=[s3, maps, keys]))
    assert sent(out, maps)
    gone = ctx.run(
        ctx.on.relation_broken(s3),
        state(config=config, relations=[s3, maps, keys], secrets=out.secrets,
              stored_states=out.stored_states),
    )  # fmt: skip
    assert sent(gone, maps) == []
    assert sent(gone, keys) == []
