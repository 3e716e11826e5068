"""Scenario tests of the flink-operator charm: events, relations, config errors, statuses."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import ops
import pytest
import yaml
from lightkube.core.exceptions import httpx as lk_httpx  # pyright: ignore[reportPrivateImportUsage]
from ops import testing

import flink
from conftest import MODEL
from dsplib import kubernetes
from dsplib.observability import decode_dashboard

TRUST = testing.BlockedStatus("run: juju trust flink-operator --scope=cluster")
WEBHOOK_CONFIG = "flink-operator-kubeflow-webhook"
CRD = "flinkdeployments.flink.apache.org"
S3_DATA = {
    "access-key": "ACCESS",
    "secret-key": "SECRET-KEY-VALUE",
    "bucket": "flink",
    "endpoint": "http://rgw.ceph.example:80",
    "region": "default",
    "s3-uri-style": "path",
}
DISPATCH = ("service-accounts", "roles", "role-bindings", "pod-defaults", "secrets")
PROFILE_LABELS = {"app.kubernetes.io/part-of": "kubeflow-profile"}


def container(**kwargs) -> testing.Container:
    return testing.Container("flink-operator", can_connect=True, **kwargs)


def state(*, leader=True, config=None, relations=(), containers=None, **kw) -> testing.State:
    return testing.State(
        leader=leader,
        model=MODEL,
        config=config or {},
        relations=set(relations),
        containers={container()} if containers is None else set(containers),
        **kw,
    )


def follow_up(out: testing.State, **changes) -> testing.State:
    """The state after `out`, with some fields changed (as the next hook sees it)."""
    fields: dict[str, Any] = {
        "leader": out.leader,
        "model": MODEL,
        "config": out.config,
        "relations": out.relations,
        "containers": out.containers,
        "secrets": out.secrets,
        "stored_states": out.stored_states,
    }
    fields.update(changes)
    return testing.State(**fields)


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": PROFILE_LABELS if labels is None else labels},
    }


def files(ctx: testing.Context, out: testing.State) -> Path:
    return out.get_container("flink-operator").get_filesystem(ctx)


def operator_config(ctx: testing.Context, out: testing.State) -> dict[str, str]:
    return yaml.safe_load((files(ctx, out) / flink.CONFIG_FILE.lstrip("/")).read_text())


def watched(ctx: testing.Context, out: testing.State) -> list[str]:
    return operator_config(ctx, out)["kubernetes.operator.watched.namespaces"].split(",")


def dispatch_relations() -> list[testing.Relation]:
    return [testing.Relation(e, remote_app_name="resource-dispatcher") for e in DISPATCH]


def sent(out: testing.State, relation: testing.Relation) -> list[dict[str, Any]]:
    """The manifests our side of a kubernetes_manifest relation holds (plain or in a secret)."""
    bag = out.get_relation(relation.id).local_app_data
    if bag.get("is_secret") == "true":
        secret = next(
            s for s in out.secrets if s.label == f"manifest.{relation.endpoint}.{relation.id}"
        )
        return json.loads(secret.tracked_content["manifests"])
    return json.loads(bag["kubernetes_manifests"])


def s3_relation(data: dict[str, str] | None = None) -> testing.Relation:
    return testing.Relation(
        "s3-credentials",
        remote_app_name="s3-integrator",
        remote_app_data=S3_DATA if data is None else data,
    )


def running(operator=ops.pebble.CheckStatus.UP, webhook=ops.pebble.CheckStatus.UP):
    layer = flink.pebble_layer(flink.Names("flink-operator", "kubeflow"), "flink-operator-0", "pw")
    return container(
        layers={"flink-operator": ops.pebble.Layer(layer)},  # type: ignore[arg-type]
        service_statuses=dict.fromkeys(flink.SERVICES, ops.pebble.ServiceStatus.ACTIVE),
        check_infos={
            testing.CheckInfo(
                "operator-ready", status=operator, level=ops.pebble.CheckLevel.READY
            ),
            testing.CheckInfo("webhook-ready", status=webhook, level=ops.pebble.CheckLevel.READY),
        },
    )


# -- lifecycle --------------------------------------------------------------------------------


def test_install_applies_cluster_objects_before_the_workload_is_up(ctx, kube):
    out = ctx.run(ctx.on.install(), state(containers=[testing.Container("flink-operator")]))
    assert out.unit_status == testing.WaitingStatus("waiting for Pebble in the workload container")
    for name in ("flinkdeployments", "flinksessionjobs", "flinkstatesnapshots"):
        assert kube.find("CustomResourceDefinition", f"{name}.flink.apache.org")
    assert kube.find("CustomResourceDefinition", "flinkbluegreendeployments.flink.apache.org")
    service = kube.get_object("Service", "flink-operator-webhook", "kubeflow")
    assert service["spec"]["ports"][0] == {
        "name": "webhook",
        "port": 443,
        "targetPort": 9443,
        "protocol": "TCP",
    }
    for obj in kube.objects.values():
        assert obj["metadata"]["labels"]["app.juju.is/created-by"] == "flink-operator"


def test_webhook_configurations_trust_the_ca_of_the_certificate_in_the_keystore(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    secret = next(s for s in out.secrets if s.label == "webhook-certificate")
    ca = secret.tracked_content["ca-cert"]
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        for webhook in kube.get_object(kind, WEBHOOK_CONFIG)["webhooks"]:
            assert base64.b64decode(webhook["clientConfig"]["caBundle"]).decode() == ca
            assert webhook["clientConfig"]["service"]["name"] == "flink-operator-webhook"
    workload = out.get_container("flink-operator")
    env = workload.plan.services["webhook"].environment
    data = (files(ctx, out) / flink.KEYSTORE.lstrip("/")).read_bytes()
    assert env["WEBHOOK_KEYSTORE_FILE"] == flink.KEYSTORE
    assert flink.keystore_holds(
        data, secret.tracked_content["tls-cert"], env["WEBHOOK_KEYSTORE_PASSWORD"]
    )
    assert not flink.keystore_holds(data, secret.tracked_content["tls-cert"], "password1234")


def test_pebble_ready_starts_operator_and_webhook_from_the_image_entrypoint(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    services = out.get_container("flink-operator").plan.services
    assert {n: s.command for n, s in services.items()} == {
        "operator": "/docker-entrypoint.sh operator",
        "webhook": "/docker-entrypoint.sh webhook",
    }
    for service in services.values():
        assert service.user_id == service.group_id == 9999
        assert service.environment["FLINK_CONF_DIR"] == "/opt/flink/conf"
        assert service.environment["POD_NAME"] == "flink-operator-0"
    assert out.unit_status == testing.ActiveStatus()


def test_the_operator_watches_the_profile_namespaces_it_finds(ctx, kube):
    kube.add(namespace("alice"), namespace("bob"), namespace("default", labels={}))
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert watched(ctx, out) == ["alice", "bob"]
    conf = operator_config(ctx, out)
    assert conf["kubernetes.operator.dynamic.namespaces.enabled"] == "true"


def test_a_new_profile_is_watched_without_restarting_the_operator(ctx, kube):
    kube.add(namespace("alice"))
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    plan = out.get_container("flink-operator").plan.to_dict()
    kube.add(namespace("carol"))
    kube.reset_calls()
    out = ctx.run(ctx.on.update_status(), out)
    assert watched(ctx, out) == ["alice", "carol"]
    assert out.get_container("flink-operator").plan.to_dict() == plan
    assert kube.writes == []


def test_with_no_profile_yet_the_operator_watches_only_its_own_namespace(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert watched(ctx, out) == ["kubeflow"]


def test_job_namespaces_replace_the_profiles(ctx, kube):
    kube.add(namespace("alice"))
    out = ctx.run(ctx.on.pebble_ready(container()), state(config={"job-namespaces": "x, y"}))
    assert watched(ctx, out) == ["x", "y"]
    assert ("list", "Namespace/*") not in kube.calls


def test_every_flink_pod_gets_no_sidecar_and_a_metrics_reporter_by_default(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    conf = operator_config(ctx, out)
    for role in ("jobmanager", "taskmanager"):
        assert conf[f"kubernetes.{role}.annotations"] == "sidecar.istio.io/inject:false"
        assert conf[f"kubernetes.{role}.labels"] == "sidecar.istio.io/inject:false"
    assert conf["metrics.reporter.prom.port"] == "9249"


def persistent(tmp_path: Path) -> testing.Container:
    """The container with its config and certificate directories kept between hooks."""
    mounts = {}
    for name, location in (("conf", flink.CONF_DIR), ("certs", flink.CERT_DIR)):
        (tmp_path / name).mkdir()
        mounts[name] = testing.Mount(location=location, source=tmp_path / name)
    return container(mounts=mounts)


def test_repeated_events_write_nothing_and_keep_plan_files_and_keystore(ctx, kube, tmp_path):
    kube.add(namespace("alice"))
    relations = [*dispatch_relations(), s3_relation()]
    workload = persistent(tmp_path)
    out = ctx.run(ctx.on.pebble_ready(workload), state(relations=relations, containers=[workload]))
    written = len(ctx.juju_log)
    kube.reset_calls()
    plan = out.get_container("flink-operator").plan.to_dict()
    keystore = (files(ctx, out) / flink.KEYSTORE.lstrip("/")).read_bytes()
    bags = {r.id: dict(r.local_app_data) for r in out.relations}
    for event in (
        ctx.on.config_changed(),
        ctx.on.update_status(),
        ctx.on.leader_elected(),
        ctx.on.relation_changed(out.get_relation(relations[0].id)),
    ):
        out = ctx.run(event, out)
    assert kube.writes == []
    assert out.get_container("flink-operator").plan.to_dict() == plan
    assert (files(ctx, out) / flink.KEYSTORE.lstrip("/")).read_bytes() == keystore
    assert {r.id: dict(r.local_app_data) for r in out.relations} == bags
    assert not [r for r in ctx.juju_log[written:] if "configuration updated" in r.message]
    assert out.unit_status == testing.ActiveStatus()


def test_upgrade_reapplies_what_an_older_revision_applied_and_nothing_else(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    kube.reset_calls()
    out = ctx.run(ctx.on.upgrade_charm(), out)
    assert kube.writes == []
    for obj in kube.objects.values():
        obj["metadata"]["annotations"][kubernetes.DIGEST_ANNOTATION] = "older revision"
    ctx.run(ctx.on.upgrade_charm(), out)
    assert ("apply", f"CustomResourceDefinition/{CRD}") in kube.writes


def test_update_status_recreates_an_object_deleted_behind_our_back(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    key = next(k for k in kube.objects if k[1] == "ValidatingWebhookConfiguration")
    del kube.objects[key]
    ctx.run(ctx.on.update_status(), out)
    assert kube.find("ValidatingWebhookConfiguration", WEBHOOK_CONFIG)


def test_non_leader_waits_for_the_leaders_certificate_and_leaves_the_cluster_alone(ctx, kube):
    relations = dispatch_relations()
    out = ctx.run(ctx.on.pebble_ready(container()), state(leader=False, relations=relations))
    assert kube.writes == []
    assert out.unit_status == testing.WaitingStatus("waiting for the leader's webhook certificate")
    for relation in relations:
        assert out.get_relation(relation.id).local_app_data == {}


def test_non_leader_serves_the_certificate_the_leader_made(ctx, kube):
    leader = ctx.run(ctx.on.pebble_ready(container()), state())
    secret = next(s for s in leader.secrets if s.label == "webhook-certificate")
    kube.reset_calls()
    out = ctx.run(ctx.on.pebble_ready(container()), state(leader=False, secrets=[secret]))
    assert kube.writes == []
    data = (files(ctx, out) / flink.KEYSTORE.lstrip("/")).read_bytes()
    password = (
        out.get_container("flink-operator")
        .plan.services["webhook"]
        .environment["WEBHOOK_KEYSTORE_PASSWORD"]
    )
    assert flink.keystore_holds(data, secret.tracked_content["tls-cert"], password)
    assert out.unit_status == testing.ActiveStatus()


def damaged_certificates(good: dict[str, str]) -> dict[str, dict[str, str]]:
    """What a hand edit, a truncation or a mix-up may leave in the certificate secret."""
    return {
        "bad PEM": {**good, "tls-cert": "-----BEGIN CERTIFICATE-----\nAAAA\n"},
        "truncated key": {**good, "tls-key": good["tls-key"][:50]},
        "missing keys": {"ca-cert": good["ca-cert"]},
        "cert and key swapped": {**good, "tls-cert": good["tls-key"], "tls-key": good["tls-cert"]},
        "CA as certificate": {**good, "tls-cert": good["ca-cert"]},
        "naive expiry": {**good, "not-after": "2027-01-01T00:00:00"},
        "expiry not a date": {**good, "not-after": "soon"},
        "one unknown key": {"certificate": good["tls-cert"]},
    }


DAMAGES = sorted(damaged_certificates(dict.fromkeys(("ca-cert", "tls-cert", "tls-key"), "")))


def _certificate_content(ctx: testing.Context) -> dict[str, str]:
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    return dict(next(s for s in out.secrets if s.label == "webhook-certificate").tracked_content)


@pytest.mark.parametrize("damage", DAMAGES)
def test_leader_replaces_a_damaged_certificate_secret(ctx, kube, damage):
    content = damaged_certificates(_certificate_content(ctx))[damage]
    secret = testing.Secret(content, label="webhook-certificate", owner="app")
    out = ctx.run(ctx.on.update_status(), state(containers=[running()], secrets=[secret]))
    fresh = next(s for s in out.secrets if s.label == "webhook-certificate").latest_content
    assert fresh is not None and fresh != content
    data = (files(ctx, out) / flink.KEYSTORE.lstrip("/")).read_bytes()
    password = (
        out.get_container("flink-operator")
        .plan.services["webhook"]
        .environment["WEBHOOK_KEYSTORE_PASSWORD"]
    )
    assert flink.keystore_holds(data, fresh["tls-cert"], password)
    webhooks = kube.get_object("ValidatingWebhookConfiguration", WEBHOOK_CONFIG)["webhooks"]
    assert base64.b64decode(webhooks[0]["clientConfig"]["caBundle"]).decode() == fresh["ca-cert"]
    assert out.unit_status == testing.ActiveStatus()


@pytest.mark.parametrize("damage", DAMAGES)
def test_non_leader_waits_while_the_certificate_secret_is_damaged(ctx, kube, damage):
    content = damaged_certificates(_certificate_content(ctx))[damage]
    secret = testing.Secret(content, label="webhook-certificate", owner="app")
    kube.reset_calls()
    out = ctx.run(ctx.on.pebble_ready(container()), state(leader=False, secrets=[secret]))
    assert kube.writes == []
    assert out.unit_status == testing.WaitingStatus("waiting for the leader's webhook certificate")
    assert not (files(ctx, out) / flink.KEYSTORE.lstrip("/")).exists()


def test_a_damaged_keystore_file_is_rewritten(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    path = files(ctx, out) / flink.KEYSTORE.lstrip("/")
    path.write_bytes(b"\x30\x82garbage")
    out = ctx.run(ctx.on.update_status(), out)
    secret = next(s for s in out.secrets if s.label == "webhook-certificate")
    password = (
        out.get_container("flink-operator")
        .plan.services["webhook"]
        .environment["WEBHOOK_KEYSTORE_PASSWORD"]
    )
    assert flink.keystore_holds(path.read_bytes(), secret.tracked_content["tls-cert"], password)


def test_removal_with_a_damaged_certificate_still_deletes_the_objects(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    secret = testing.Secret({"tls-cert": "x"}, label="webhook-certificate", owner="app")
    ctx.run(ctx.on.remove(), follow_up(out, planned_units=0, secrets=[secret]))
    assert kube.objects == {}


# -- config -----------------------------------------------------------------------------------


def test_config_change_rewrites_the_operator_configuration(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    out = ctx.run(
        ctx.on.config_changed(),
        follow_up(out, config={"log-level": "debug", "reconcile-parallelism": 7}),
    )
    assert operator_config(ctx, out)["kubernetes.operator.reconcile.parallelism"] == "7"
    log4j = (files(ctx, out) / flink.LOG4J_FILE.lstrip("/")).read_text()
    assert "rootLogger.level = DEBUG" in log4j


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("log-level", "loud", "log-level"),
        ("reconcile-parallelism", 0, "reconcile-parallelism"),
        ("reconcile-parallelism", 1001, "reconcile-parallelism"),
        ("job-namespaces", "Alice,bob", "job-namespaces"),
        ("flink-image", "not an image", "flink-image"),
    ],
)
def test_bad_config_blocks_naming_the_option_and_changes_nothing(
    ctx, kube, option, value, message
):
    out = ctx.run(ctx.on.config_changed(), state(config={option: value}))
    assert isinstance(out.unit_status, testing.BlockedStatus)
    assert out.unit_status.message.startswith(f"config {message}: expected")
    assert kube.calls == []
    assert out.get_container("flink-operator").plan.services == {}


def test_fixing_the_config_recovers(ctx, kube):
    out = ctx.run(ctx.on.config_changed(), state(config={"log-level": "loud"}))
    out = ctx.run(ctx.on.config_changed(), follow_up(out, config={"log-level": "warn"}))
    assert out.unit_status == testing.ActiveStatus()


def test_waits_until_both_processes_pass_their_checks(ctx, kube):
    down = running(webhook=ops.pebble.CheckStatus.DOWN)
    out = ctx.run(ctx.on.update_status(), state(containers=[down]))
    assert out.unit_status == testing.WaitingStatus("waiting for webhook-ready")
    out = ctx.run(ctx.on.update_status(), state(containers=[running()]))
    assert out.unit_status == testing.ActiveStatus()


def test_forbidden_blocks_with_the_trust_command(ctx, kube):
    kube.fail(403)
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert out.unit_status == TRUST


def test_forbidden_listing_of_namespaces_blocks_with_the_trust_command(ctx, kube):
    kube.fail(403, verb="list", times=1)
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert out.unit_status == TRUST


def test_conflicts_and_timeouts_wait_and_retry(ctx, kube):
    kube.fail(409, verb="apply", times=1)
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert isinstance(out.unit_status, testing.WaitingStatus)
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus()
    kube.fail(error=lk_httpx.ReadTimeout("slow"), verb="list", times=1)
    out = ctx.run(ctx.on.update_status(), out)
    assert isinstance(out.unit_status, testing.WaitingStatus)
    assert "cannot list profile namespaces" in out.unit_status.message
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus()


# -- resource-dispatcher and S3 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "kind", "name"),
    [
        ("service-accounts", "ServiceAccount", "flink"),
        ("roles", "Role", "flink"),
        ("role-bindings", "RoleBinding", "flink"),
        ("pod-defaults", "PodDefault", "access-flink"),
    ],
)
def test_each_dispatch_endpoint_gets_its_profile_object(ctx, kube, endpoint, kind, name):
    relation = testing.Relation(endpoint, remote_app_name="resource-dispatcher")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    [obj] = sent(out, relation)
    assert (obj["kind"], obj["metadata"]["name"]) == (kind, name)
    assert "namespace" not in obj["metadata"]


def test_s3_access_reaches_profiles_through_a_secret_and_the_poddefault(ctx, kube):
    relations = dispatch_relations()
    s3 = s3_relation()
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[*relations, s3]))
    [secret] = sent(out, relations[4])
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data["AWS_SECRET_ACCESS_KEY"] == "SECRET-KEY-VALUE"
    assert data["S3_ENDPOINT"] == "http://rgw.ceph.example:80"
    assert data["S3_PATH_STYLE_ACCESS"] == "true"
    assert data["FLINK_CHECKPOINTS_DIR"] == "s3://flink/flink/checkpoints"
    [pod_default] = sent(out, relations[3])
    names = {e["name"] for e in pod_default["spec"]["env"]}
    assert {"FLINK_S3_SECRET", "S3_ENDPOINT", "FLINK_SAVEPOINTS_DIR"} <= names
    assert "AWS_SECRET_ACCESS_KEY" not in names
    assert out.unit_status == testing.ActiveStatus()
    assert "SECRET-KEY-VALUE" not in json.dumps(
        {r.id: dict(r.local_app_data) for r in out.relations}
    )


def test_s3_without_resource_dispatcher_says_what_to_integrate(ctx, kube):
    s3 = s3_relation()
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[s3]))
    assert out.unit_status == testing.BlockedStatus(
        "integrate secrets and pod-defaults with resource-dispatcher for S3 access in profiles"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**S3_DATA, "endpoint": "rgw:80"}, "endpoint must be an http(s):// URL"),
        ({**S3_DATA, "bucket": ""}, "sent no bucket"),
        ({**S3_DATA, "s3-uri-style": "virtual"}, "s3-uri-style must be path or host"),
    ],
)
def test_unusable_s3_data_blocks_naming_the_field(ctx, kube, data, message):
    s3 = s3_relation(data)
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[*dispatch_relations(), s3]))
    assert isinstance(out.unit_status, testing.BlockedStatus)
    assert message in out.unit_status.message
    assert "SECRET-KEY-VALUE" not in out.unit_status.message


def test_s3_relation_without_keys_yet_waits(ctx, kube):
    s3 = s3_relation({})
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[*dispatch_relations(), s3]))
    assert out.unit_status == testing.WaitingStatus("waiting for S3 credentials")


def test_removing_s3_withdraws_the_secret_and_the_s3_settings(ctx, kube):
    relations = dispatch_relations()
    s3 = s3_relation()
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[*relations, s3]))
    out = ctx.run(ctx.on.relation_broken(out.get_relation(s3.id)), out)
    assert sent(out, relations[4]) == []
    [pod_default] = sent(out, relations[3])
    assert "FLINK_S3_SECRET" not in {e["name"] for e in pod_default["spec"]["env"]}


@pytest.mark.parametrize("endpoint", DISPATCH)
def test_dispatch_relation_broken_keeps_the_charm_active(ctx, kube, endpoint):
    relation = testing.Relation(endpoint, remote_app_name="resource-dispatcher")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    out = ctx.run(ctx.on.relation_broken(out.get_relation(relation.id)), out)
    assert out.unit_status == testing.ActiveStatus()


# -- observability ----------------------------------------------------------------------------


def jobmanager(name: str, ns: str, ip: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {"app": name, "component": "jobmanager", "type": "flink-native-kubernetes"},
        },
        "status": {"podIP": ip},
    }


def test_metrics_endpoint_scrapes_the_operator_and_running_jobmanagers(ctx, kube):
    kube.add(jobmanager("etl-6f", "alice", "10.1.2.3"))
    relation = testing.Relation("metrics-endpoint", remote_app_name="prometheus")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    bag = out.get_relation(relation.id).local_app_data
    jobs = {j["job_name"]: j for j in json.loads(bag["scrape_jobs"])}
    assert jobs["operator"]["static_configs"] == [{"targets": ["*:9999"]}]
    assert jobs["jobmanagers"]["static_configs"] == [{"targets": ["10.1.2.3:9249"]}]
    rules = json.loads(bag["alert_rules"])
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"FlinkOperatorDown", "FlinkJobRestarting", "FlinkCheckpointsFailing"} <= alerts


def test_grafana_gets_the_dashboard(ctx, kube):
    relation = testing.Relation("grafana-dashboard", remote_app_name="grafana")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    templates = json.loads(out.get_relation(relation.id).local_app_data["dashboards"])["templates"]
    dashboard = json.loads(decode_dashboard(templates["file:flink-operator"]["content"]))
    assert dashboard["title"] == "Flink Operator"
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
    for metric in (
        "flink_jobmanager_job_numRestarts",
        "flink_jobmanager_job_numberOfFailedCheckpoints",
        "flink_jobmanager_job_lastCheckpointDuration",
    ):
        assert metric in exprs


def test_logs_are_forwarded_to_loki(ctx, kube):
    relation = testing.Relation(
        "logging",
        remote_app_name="loki",
        remote_units_data={
            0: {"endpoint": json.dumps({"url": "http://loki-0.loki:3100/loki/api/v1/push"})}
        },
    )
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state(relations=[relation]))
    targets = out.get_container("flink-operator").plan.to_dict()["log-targets"]
    assert targets["loki/0"]["services"] == ["all"]


@pytest.mark.parametrize("endpoint", ["metrics-endpoint", "grafana-dashboard", "logging"])
def test_observability_relation_broken_is_harmless(ctx, kube, endpoint):
    relation = testing.Relation(endpoint)
    out = ctx.run(ctx.on.relation_broken(relation), state(relations=[relation]))
    assert out.unit_status == testing.ActiveStatus()


# -- removal ----------------------------------------------------------------------------------


def test_removing_the_application_deletes_its_objects(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert any(k[2] is None for k in kube.objects)
    ctx.run(ctx.on.remove(), follow_up(out, planned_units=0))
    assert kube.objects == {}


def test_removal_keeps_a_crd_while_flink_deployments_exist(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    kube.objects[("flink.apache.org/v1beta1", "FlinkDeployment", "alice", "etl")] = {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkDeployment",
        "metadata": {"name": "etl", "namespace": "alice"},
    }
    ctx.run(ctx.on.remove(), follow_up(out, planned_units=0))
    assert kube.find("CustomResourceDefinition", CRD)
    assert kube.find("CustomResourceDefinition", "flinksessionjobs.flink.apache.org") is None
    assert kube.find("MutatingWebhookConfiguration", WEBHOOK_CONFIG) is None


def test_scaling_down_keeps_cluster_objects(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    ctx.run(ctx.on.remove(), follow_up(out, leader=False, planned_units=2))
    assert kube.find("CustomResourceDefinition", CRD)


def test_status_stays_true_on_hooks_that_do_not_reconcile(ctx, kube):
    out = ctx.run(ctx.on.config_changed(), state(config={"log-level": "loud"}))
    out = ctx.run(ctx.on.start(), out)
    assert isinstance(out.unit_status, testing.BlockedStatus)


def test_removing_the_secrets_relation_removes_its_juju_secret(ctx, kube):
    relations = dispatch_relations()
    s3 = s3_relation()
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[*relations, s3]))
    label = f"manifest.secrets.{relations[4].id}"
    assert any(s.label == label for s in out.secrets)
    out = ctx.run(ctx.on.relation_broken(out.get_relation(relations[4].id)), out)
    assert out.unit_status == testing.BlockedStatus(
        "integrate secrets with resource-dispatcher for S3 access in profiles"
    )


def test_leader_elected_takes_over_the_cluster_objects(ctx, kube):
    ctx.run(ctx.on.leader_elected(), state())
    assert kube.find("CustomResourceDefinition", CRD)


def test_a_namespace_change_is_logged_once_as_a_live_update(ctx, kube, tmp_path):
    workload = persistent(tmp_path)
    out = ctx.run(ctx.on.pebble_ready(workload), state(containers=[workload]))
    kube.add(namespace("dave"))
    seen = len(ctx.juju_log)
    out = ctx.run(ctx.on.update_status(), out)
    messages = [r.message for r in ctx.juju_log[seen:] if r.level == "INFO"]
    assert "operator configuration updated: 1 watched namespaces" in messages
    assert not [m for m in messages if "restarted" in m]
