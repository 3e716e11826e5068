"""Scenario tests of the spark-operator charm: events, relations, config errors, statuses."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from typing import Any

import ops
import pytest
from lightkube.core.exceptions import httpx as lk_httpx  # pyright: ignore[reportPrivateImportUsage]
from ops import testing

import spark
from conftest import CONFIG_DEFAULTS, MODEL
from dsplib import kubernetes
from dsplib.manifests import KubernetesManifests
from dsplib.observability import decode_dashboard
from dsplib.testing import YAML_AMBIGUOUS, FakeKubernetes
from render import NAMES, ca_pem

TRUST = testing.BlockedStatus("run: juju trust spark-operator --scope=cluster")
WEBHOOK_CONFIG = "spark-operator-kubeflow-webhook"
CRD = "sparkapplications.sparkoperator.k8s.io"
S3_DATA = {
    "access-key": "ACCESS",
    "secret-key": "SECRET-KEY-VALUE",
    "bucket": "spark",
    "endpoint": "http://rgw.ceph.example:80",
    "region": "default",
    "s3-uri-style": "path",
}
DISPATCH = ("service-accounts", "roles", "role-bindings", "pod-defaults", "secrets")


def container(**kwargs) -> testing.Container:
    return testing.Container("spark-operator", can_connect=True, **kwargs)


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


def running(controller=ops.pebble.CheckStatus.UP, webhook=ops.pebble.CheckStatus.UP):
    layer = spark.pebble_layer(spark.Settings.from_config(CONFIG_DEFAULTS), NAMES)
    return container(
        layers={"spark-operator": ops.pebble.Layer(layer)},  # type: ignore[arg-type]
        service_statuses=dict.fromkeys(spark.SERVICES, ops.pebble.ServiceStatus.ACTIVE),
        check_infos={
            testing.CheckInfo(
                "controller-ready", status=controller, level=ops.pebble.CheckLevel.READY
            ),
            testing.CheckInfo("webhook-ready", status=webhook, level=ops.pebble.CheckLevel.READY),
        },
    )


# -- lifecycle --------------------------------------------------------------------------------


def test_install_applies_cluster_objects_before_the_workload_is_up(ctx, kube):
    out = ctx.run(ctx.on.install(), state(containers=[testing.Container("spark-operator")]))
    assert out.unit_status == testing.WaitingStatus("waiting for Pebble in the workload container")
    for name in ("sparkapplications", "scheduledsparkapplications", "sparkconnects"):
        assert kube.find("CustomResourceDefinition", f"{name}.sparkoperator.k8s.io")
    assert kube.find("MutatingWebhookConfiguration", WEBHOOK_CONFIG)
    assert kube.find("ValidatingWebhookConfiguration", WEBHOOK_CONFIG)
    service = kube.get_object("Service", "spark-operator-webhook-svc", "kubeflow")
    assert service["spec"]["ports"][0]["targetPort"] == 9443
    for obj in kube.objects.values():
        assert obj["metadata"]["labels"]["app.juju.is/created-by"] == "spark-operator"


def test_the_model_proxy_reaches_spark_submit_and_the_jobs(ctx, kube, juju_proxy):
    juju_proxy("http://squid.internal:3128", "127.0.0.1,localhost,::1,.ceph.internal")
    config = {"cluster-cidrs": "10.152.183.0/24"}
    out = ctx.run(ctx.on.pebble_ready(container()), state(config=config))
    workload = out.get_container("spark-operator")
    controller = workload.plan.services["controller"].environment
    assert "-Dhttps.proxyHost=squid.internal" in controller["SPARK_SUBMIT_OPTS"]
    assert "10.152.183.*" in controller["SPARK_SUBMIT_OPTS"]
    text = (workload.get_filesystem(ctx) / spark.SPARK_DEFAULTS.lstrip("/")).read_text()
    assert "spark.kubernetes.driverEnv.HTTPS_PROXY http://squid.internal:3128" in text
    assert "spark.executorEnv.no_proxy .svc,.cluster.local," in text
    assert "spark.driver.defaultJavaOptions -Dhttp.proxyHost=squid.internal" in text
    assert out.unit_status == testing.ActiveStatus()


def test_an_unusable_model_proxy_blocks_naming_the_key(ctx, kube, juju_proxy):
    juju_proxy("http://[squid.internal:3128", "")
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert out.unit_status == testing.BlockedStatus(
        "model config juju-http-proxy and juju-https-proxy: expected a proxy URL such as "
        "http://squid.example:3128"
    )
    controller = out.get_container("spark-operator").plan.services["controller"]
    assert "SPARK_SUBMIT_OPTS" not in controller.environment


def test_pebble_ready_starts_both_processes_and_prepares_the_cert_dir(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    workload = out.get_container("spark-operator")
    assert set(workload.plan.services) == {"controller", "webhook"}
    assert (workload.get_filesystem(ctx) / spark.CERT_DIR.lstrip("/")).is_dir()
    assert out.unit_status == testing.ActiveStatus()


def test_spark_submit_defaults_keep_istio_out_of_drivers_and_executors(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    workload = out.get_container("spark-operator")
    defaults = workload.get_filesystem(ctx) / spark.SPARK_DEFAULTS.lstrip("/")
    text = defaults.read_text()
    for role in ("driver", "executor"):
        assert f"spark.kubernetes.{role}.annotation.sidecar.istio.io/inject false" in text
    controller = workload.plan.services["controller"]
    assert controller.environment["SPARK_CONF_DIR"] == spark.SPARK_CONF_DIR
    assert "--feature-gates=LoadSparkDefaults=true" in controller.command


def test_cluster_wide_rbac_by_default_binds_the_application_account(ctx, kube):
    ctx.run(ctx.on.install(), state())
    role = kube.get_object("ClusterRole", "spark-operator-kubeflow-controller")
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert {"pods", "namespaces", "sparkapplications"} <= resources
    binding = kube.get_object("ClusterRoleBinding", "spark-operator-kubeflow-controller")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "spark-operator", "namespace": "kubeflow"}
    ]
    hook = kube.get_object("MutatingWebhookConfiguration", WEBHOOK_CONFIG)
    for webhook in hook["webhooks"]:
        assert webhook["namespaceSelector"] == {
            "matchLabels": {"app.kubernetes.io/part-of": "kubeflow-profile"}
        }


def test_repeated_events_write_nothing_to_kubernetes_and_keep_the_plan(ctx, kube):
    relations = [*dispatch_relations(), s3_relation()]
    out = ctx.run(ctx.on.pebble_ready(container()), state(relations=relations))
    kube.reset_calls()
    plan = out.get_container("spark-operator").plan.to_dict()
    bags = {r.id: dict(r.local_app_data) for r in out.relations}
    for event in (
        ctx.on.config_changed(),
        ctx.on.update_status(),
        ctx.on.leader_elected(),
        ctx.on.config_changed(),
        ctx.on.relation_changed(out.get_relation(relations[0].id)),
    ):
        out = ctx.run(event, out)
    assert kube.writes == []
    assert out.get_container("spark-operator").plan.to_dict() == plan
    assert {r.id: dict(r.local_app_data) for r in out.relations} == bags
    assert out.unit_status == testing.ActiveStatus()


class ServerSideApply(FakeKubernetes):
    """Applies like server-side apply does for fields other managers own.

    Mappings merge and lists of named items (webhooks) merge by name, so a field the charm
    does not send (caBundle, set by the webhook process) stays as the other manager left it.
    Every applied body is kept, to check what the charm claims.
    """

    def __init__(self):
        super().__init__()
        self.applied: list[dict[str, Any]] = []

    def apply(
        self, obj, name=None, *, namespace=None, field_manager=None, force=False, dry_run=False
    ):
        body = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
        self.applied.append(copy.deepcopy(body))
        before = copy.deepcopy(self.find(body["kind"], body["metadata"]["name"]))
        result = super().apply(obj, namespace=namespace, field_manager=field_manager, force=force)
        if before is not None:
            key = next(
                k
                for k, v in self.objects.items()
                if v["metadata"]["name"] == body["metadata"]["name"] and k[1] == body["kind"]
            )
            self.objects[key] = _merged(before, self.objects[key])
        return result


def _merged(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: _merged(old.get(k), v) for k, v in new.items()}}
    if (
        isinstance(old, list)
        and isinstance(new, list)
        and all(isinstance(i, dict) and "name" in i for i in old + new)
    ):
        by_name = {i["name"]: i for i in old}
        return [_merged(by_name.get(i["name"]), i) for i in new]
    return new


def _inject_ca_bundle(kube: FakeKubernetes, bundle: str) -> None:
    """What the webhook process does after start: write its CA into both configurations."""
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        for webhook in kube.get_object(kind, WEBHOOK_CONFIG)["webhooks"]:
            webhook["clientConfig"]["caBundle"] = bundle


def _ca_bundles(kube: FakeKubernetes) -> set[str]:
    return {
        w["clientConfig"].get("caBundle", "")
        for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
        for w in kube.get_object(kind, WEBHOOK_CONFIG)["webhooks"]
    }


def test_charm_leaves_the_ca_bundle_to_the_webhook_process(ctx, monkeypatch):
    kube = ServerSideApply()
    monkeypatch.setattr(KubernetesManifests, "client_factory", staticmethod(lambda app: kube))
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    bundle = base64.b64encode(ca_pem().encode()).decode()
    _inject_ca_bundle(kube, bundle)
    kube.reset_calls()

    for event in (ctx.on.update_status(), ctx.on.config_changed(), ctx.on.leader_elected()):
        out = ctx.run(event, out)
    assert kube.writes == [], "no event re-applies anything, caBundle included"
    assert _ca_bundles(kube) == {bundle}

    _as_an_older_revision_left_them(kube)
    out = ctx.run(ctx.on.upgrade_charm(), out)  # re-applies what an older revision applied
    assert ("apply", f"MutatingWebhookConfiguration/{WEBHOOK_CONFIG}") in kube.writes
    assert _ca_bundles(kube) == {bundle}
    for body in kube.applied:
        assert "caBundle" not in json.dumps(body), f"{body['kind']} claims caBundle"


def _as_an_older_revision_left_them(kube: FakeKubernetes) -> None:
    """Mark every object as holding other content than this revision renders."""
    for obj in kube.objects.values():
        obj["metadata"]["annotations"][kubernetes.DIGEST_ANNOTATION] = "older revision"


def test_upgrade_reapplies_what_an_older_revision_applied_and_nothing_else(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    kube.reset_calls()
    out = ctx.run(ctx.on.upgrade_charm(), out)
    assert kube.writes == []
    _as_an_older_revision_left_them(kube)
    ctx.run(ctx.on.upgrade_charm(), out)
    assert ("apply", f"CustomResourceDefinition/{CRD}") in kube.writes
    assert ("apply", "ClusterRole/spark-operator-kubeflow-webhook") in kube.writes


def test_update_status_recreates_an_object_deleted_behind_our_back(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    key = next(k for k in kube.objects if k[1] == "ValidatingWebhookConfiguration")
    del kube.objects[key]
    ctx.run(ctx.on.update_status(), out)
    assert kube.find("ValidatingWebhookConfiguration", WEBHOOK_CONFIG)


def test_non_leader_runs_the_workload_and_leaves_the_cluster_alone(ctx, kube):
    relations = dispatch_relations()
    out = ctx.run(ctx.on.pebble_ready(container()), state(leader=False, relations=relations))
    assert kube.calls == []
    assert set(out.get_container("spark-operator").plan.services) == {"controller", "webhook"}
    for relation in relations:
        assert out.get_relation(relation.id).local_app_data == {}
    assert out.unit_status == testing.ActiveStatus()


def test_leader_elected_takes_over_the_cluster_objects(ctx, kube):
    ctx.run(ctx.on.leader_elected(), state())
    assert kube.find("CustomResourceDefinition", CRD)


# -- config -----------------------------------------------------------------------------------


def test_config_change_restarts_the_processes_with_new_flags(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    out = ctx.run(
        ctx.on.config_changed(),
        follow_up(out, config={"controller-threads": 40, "resource-quota-enforcement": True}),
    )
    services = out.get_container("spark-operator").plan.services
    assert "--controller-threads=40" in services["controller"].command
    assert "--enable-resource-quota-enforcement=true" in services["webhook"].command


def test_job_namespaces_grant_per_namespace_roles_and_prune_them_later(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    out = ctx.run(ctx.on.config_changed(), follow_up(out, config={"job-namespaces": "alice,bob"}))
    for namespace in ("alice", "bob"):
        role = kube.get_object("Role", "spark-operator-controller", namespace)
        assert any("pods" in rule["resources"] for rule in role["rules"])
        assert kube.get_object("RoleBinding", "spark-operator-controller", namespace)
    cluster_role = kube.get_object("ClusterRole", "spark-operator-kubeflow-controller")
    assert {r for rule in cluster_role["rules"] for r in rule["resources"]} == {
        "nodes",
        "customresourcedefinitions",
    }
    hook = kube.get_object("ValidatingWebhookConfiguration", WEBHOOK_CONFIG)
    selector = hook["webhooks"][0]["namespaceSelector"]["matchExpressions"][0]
    assert selector["values"] == ["alice", "bob"]
    command = out.get_container("spark-operator").plan.services["controller"].command
    assert "--namespaces=alice,bob" in command

    ctx.run(ctx.on.config_changed(), follow_up(out, config={"job-namespaces": ""}))
    assert kube.find("Role", "spark-operator-controller", "alice") is None
    assert kube.find("Role", "spark-operator-controller", "kubeflow")


@pytest.mark.parametrize("name", YAML_AMBIGUOUS)
def test_job_namespaces_yaml_reads_as_other_types_are_granted_as_named(ctx, kube, name):
    """YAML-ambiguous namespace names stay strings.

    `123`, `yes`, `null`, `0x1f`, `2024-01-01` are valid namespace names, and were once
    rendered bare: apply crashed on a number, and `null` applied a namespace-less Role.
    """
    out = ctx.run(ctx.on.config_changed(), state(config={"job-namespaces": f"alice,{name}"}))
    assert out.unit_status != testing.BlockedStatus
    roles = {(r["metadata"]["namespace"]) for r in kube.of_kind("Role")}
    assert roles == {"kubeflow", "alice", name}
    bindings = {(r["metadata"]["namespace"]) for r in kube.of_kind("RoleBinding")}
    assert bindings == {"kubeflow", "alice", name}
    hook = kube.get_object("ValidatingWebhookConfiguration", WEBHOOK_CONFIG)
    selector = hook["webhooks"][0]["namespaceSelector"]["matchExpressions"][0]
    assert selector["values"] == ["alice", name]


@pytest.mark.parametrize("model", ["null", "123", "2024-01-01"])
def test_a_model_name_yaml_reads_as_other_types_stays_the_namespace(ctx, kube, model):
    ctx.run(
        ctx.on.config_changed(),
        dataclasses.replace(state(), model=testing.Model(name=model, uuid=MODEL.uuid)),
    )
    namespaces = {r["metadata"]["namespace"] for r in kube.of_kind("Role")}
    assert namespaces == {model}
    binding = kube.get_object("ClusterRoleBinding", f"spark-operator-{model}-controller")
    assert binding["subjects"][0]["namespace"] == model


def test_volcano_adds_podgroup_rights(ctx, kube):
    ctx.run(ctx.on.config_changed(), state(config={"batch-scheduler": "volcano"}))
    role = kube.get_object("ClusterRole", "spark-operator-kubeflow-controller")
    assert any("podgroups" in rule["resources"] for rule in role["rules"])


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("spark-image", "Not An Image"),
        ("job-namespaces", "Team_A"),
        ("controller-threads", 0),
        ("batch-scheduler", "kube-batch"),
        ("log-level", "loud"),
        ("log-level", "warn"),
        ("cluster-cidrs", "10.1.0.0/33"),
    ],
)
def test_bad_config_blocks_naming_the_option_and_changes_nothing(ctx, kube, option, value):
    out = ctx.run(ctx.on.config_changed(), state(config={option: value}))
    assert isinstance(out.unit_status, testing.BlockedStatus)
    assert out.unit_status.message.startswith(f"config {option}: expected")
    assert kube.calls == []
    assert out.get_container("spark-operator").plan.services == {}


def test_fixing_the_config_recovers(ctx, kube):
    out = ctx.run(ctx.on.config_changed(), state(config={"log-level": "loud"}))
    out = ctx.run(ctx.on.config_changed(), follow_up(out, config={"log-level": "debug"}))
    assert out.unit_status == testing.ActiveStatus()
    command = out.get_container("spark-operator").plan.services["webhook"].command
    assert "--zap-log-level=debug" in command


# -- statuses ---------------------------------------------------------------------------------


def test_waits_until_both_processes_pass_their_checks(ctx, kube):
    down = running(webhook=ops.pebble.CheckStatus.DOWN)
    out = ctx.run(ctx.on.update_status(), state(containers=[down]))
    assert out.unit_status == testing.WaitingStatus("waiting for webhook-ready")
    both = running(controller=ops.pebble.CheckStatus.DOWN, webhook=ops.pebble.CheckStatus.DOWN)
    out = ctx.run(ctx.on.update_status(), state(containers=[both]))
    assert out.unit_status == testing.WaitingStatus("waiting for controller-ready, webhook-ready")
    out = ctx.run(ctx.on.update_status(), state(containers=[running()]))
    assert out.unit_status == testing.ActiveStatus()


def test_stopped_service_is_waiting(ctx, kube):
    stopped = running()
    stopped = testing.Container(
        "spark-operator",
        can_connect=True,
        layers=stopped.layers,
        service_statuses={"controller": ops.pebble.ServiceStatus.INACTIVE},
        check_infos=stopped.check_infos,
    )
    out = ctx.run(ctx.on.update_status(), state(containers=[stopped]))
    assert out.unit_status == testing.WaitingStatus(
        "waiting for the controller and webhook services to start"
    )


def test_forbidden_blocks_with_the_trust_command(ctx, kube):
    kube.fail(403)
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert out.unit_status == TRUST


def test_conflicts_and_timeouts_wait_and_retry(ctx, kube):
    kube.fail(409, verb="apply", times=1)
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert isinstance(out.unit_status, testing.WaitingStatus)
    assert "409" in out.unit_status.message
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus()

    kube.fail(error=lk_httpx.ReadTimeout("slow"), verb="apply", times=1)
    out = ctx.run(ctx.on.config_changed(), follow_up(out, config={"job-namespaces": "alice"}))
    assert out.unit_status == testing.WaitingStatus(
        "Kubernetes API unreachable: ReadTimeout; retrying"
    )
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus()


# -- resource-dispatcher ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "kind", "name"),
    [
        ("service-accounts", "ServiceAccount", "spark-operator-spark"),
        ("roles", "Role", "spark-operator-spark"),
        ("role-bindings", "RoleBinding", "spark-operator-spark"),
        ("pod-defaults", "PodDefault", "access-spark"),
    ],
)
def test_each_dispatch_endpoint_gets_its_profile_object(ctx, kube, endpoint, kind, name):
    relation = testing.Relation(endpoint, remote_app_name="resource-dispatcher")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    manifests = sent(out, relation)
    assert [(m["kind"], m["metadata"]["name"]) for m in manifests] == [(kind, name)]
    assert "namespace" not in manifests[0]["metadata"], "copied into every profile"
    assert out.unit_status == testing.ActiveStatus()


def test_without_s3_the_poddefault_has_no_storage_and_no_secret_is_sent(ctx, kube):
    relations = dispatch_relations()
    out = ctx.run(ctx.on.relation_changed(relations[3]), state(relations=relations))
    pod_default = sent(out, relations[3])[0]
    assert "volumes" not in pod_default["spec"]
    assert sent(out, relations[4]) == []


def test_s3_access_reaches_profiles_through_a_secret_and_the_poddefault(ctx, kube):
    relations = dispatch_relations()
    s3 = s3_relation()
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[*relations, s3]))
    secrets = sent(out, relations[4])
    assert [s["metadata"]["name"] for s in secrets] == ["spark-operator-s3"]
    data = {k: base64.b64decode(v).decode() for k, v in secrets[0]["data"].items()}
    assert data["AWS_SECRET_ACCESS_KEY"] == "SECRET-KEY-VALUE"
    assert "<value>http://rgw.ceph.example:80</value>" in data["core-site.xml"]
    pod_default = sent(out, relations[3])[0]
    assert pod_default["spec"]["volumes"][0]["secret"]["secretName"] == "spark-operator-s3"
    plain = json.dumps([dict(out.get_relation(r.id).local_app_data) for r in relations])
    assert "SECRET-KEY-VALUE" not in plain
    assert out.get_relation(relations[4].id).local_app_data["is_secret"] == "true"
    assert out.unit_status == testing.ActiveStatus()


def test_s3_with_a_private_ca_delivers_a_trust_store(ctx, kube):
    relations = dispatch_relations()
    s3 = s3_relation(
        {**S3_DATA, "endpoint": "https://rgw:443", "tls-ca-chain": json.dumps([ca_pem()])}
    )
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[*relations, s3]))
    data = sent(out, relations[4])[0]["data"]
    assert base64.b64decode(data["truststore.jks"])[:4] == bytes.fromhex("feedfeed")
    assert "JAVA_TOOL_OPTIONS" in data


def test_s3_without_resource_dispatcher_says_what_to_integrate(ctx, kube):
    s3 = s3_relation()
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[s3]))
    assert out.unit_status == testing.BlockedStatus(
        "integrate secrets and pod-defaults with resource-dispatcher for S3 access in profiles"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {**S3_DATA, "endpoint": ""},
            "s3-credentials: the provider sent no endpoint (set its endpoint)",
        ),
        (
            {**S3_DATA, "endpoint": "ftp://rgw"},
            "s3-credentials: endpoint must be an http(s):// URL",
        ),
        (
            {**S3_DATA, "bucket": ""},
            "s3-credentials: the provider sent no bucket (set its bucket)",
        ),
        (
            {**S3_DATA, "tls-ca-chain": '["not a certificate"]'},
            "s3-credentials: tls-ca-chain holds something that is not a PEM CA",
        ),
        (
            {**S3_DATA, "s3-uri-style": "sideways"},
            "s3-credentials: s3-uri-style must be path or host",
        ),
    ],
)
def test_unusable_s3_data_blocks_naming_the_field(ctx, kube, data, message):
    relations = dispatch_relations()
    s3 = s3_relation(data)
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[*relations, s3]))
    assert out.unit_status == testing.BlockedStatus(message)
    assert sent(out, relations[4]) == []
    assert "volumes" not in sent(out, relations[3])[0]["spec"]


def test_s3_relation_without_keys_yet_waits(ctx, kube):
    s3 = s3_relation({"bucket": "spark"})
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[*dispatch_relations(), s3]))
    assert out.unit_status == testing.WaitingStatus("waiting for S3 credentials")


def test_removing_s3_withdraws_the_secret_and_the_mount(ctx, kube):
    relations = dispatch_relations()
    s3 = s3_relation()
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[*relations, s3]))
    out = ctx.run(ctx.on.relation_broken(out.get_relation(s3.id)), out)
    assert sent(out, relations[4]) == []
    assert "volumes" not in sent(out, relations[3])[0]["spec"]
    assert out.unit_status == testing.ActiveStatus()


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


@pytest.mark.parametrize("endpoint", DISPATCH[:4])
def test_dispatch_relation_broken_keeps_the_charm_active(ctx, kube, endpoint):
    relation = testing.Relation(endpoint, remote_app_name="resource-dispatcher")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    out = ctx.run(ctx.on.relation_broken(out.get_relation(relation.id)), out)
    assert out.unit_status == testing.ActiveStatus()


# -- observability ----------------------------------------------------------------------------


def test_metrics_endpoint_scrapes_controller_and_webhook_with_alert_rules(ctx, kube):
    relation = testing.Relation("metrics-endpoint", remote_app_name="prometheus")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    bag = out.get_relation(relation.id).local_app_data
    jobs = {j["job_name"]: j for j in json.loads(bag["scrape_jobs"])}
    assert jobs["controller"]["static_configs"] == [{"targets": ["*:8080"]}]
    assert jobs["webhook"]["static_configs"] == [{"targets": ["*:8082"]}]
    rules = json.loads(bag["alert_rules"])
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    assert {"SparkOperatorDown", "SparkOperatorWebhookDown", "SparkApplicationsFailing"} <= set(
        alerts
    )
    assert all("%%" not in r["expr"] for r in alerts.values())
    assert 'juju_application="spark-operator"' in alerts["SparkApplicationsFailing"]["expr"]


def test_grafana_gets_the_dashboard(ctx, kube):
    relation = testing.Relation("grafana-dashboard", remote_app_name="grafana")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    templates = json.loads(out.get_relation(relation.id).local_app_data["dashboards"])["templates"]
    dashboard = json.loads(decode_dashboard(templates["file:spark-operator"]["content"]))
    assert dashboard["title"] == "Spark Operator"
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
    for metric in (
        "spark_application_submit_count",
        "spark_application_running_count",
        "spark_application_failure_count",
        "spark_application_start_latency_seconds_histogram_bucket",
        "controller_runtime_reconcile_time_seconds_bucket",
    ):
        assert metric in exprs
    assert "$juju_application" in exprs


def test_logs_are_forwarded_to_loki(ctx, kube):
    relation = testing.Relation(
        "logging",
        remote_app_name="loki",
        remote_units_data={
            0: {"endpoint": json.dumps({"url": "http://loki-0.loki:3100/loki/api/v1/push"})}
        },
    )
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state(relations=[relation]))
    targets = out.get_container("spark-operator").plan.to_dict()["log-targets"]
    assert targets["loki/0"]["location"] == "http://loki-0.loki:3100/loki/api/v1/push"
    assert targets["loki/0"]["services"] == ["all"]


@pytest.mark.parametrize("endpoint", ["metrics-endpoint", "grafana-dashboard", "logging"])
def test_observability_relation_broken_is_harmless(ctx, kube, endpoint):
    relation = testing.Relation(endpoint)
    out = ctx.run(ctx.on.relation_broken(relation), state(relations=[relation]))
    assert out.unit_status == testing.ActiveStatus()


# -- removal ----------------------------------------------------------------------------------


CLUSTER_SCOPED = (
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
)


def test_removing_the_application_deletes_cluster_scoped_objects(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert any(k[2] is None for k in kube.objects)
    ctx.run(ctx.on.remove(), follow_up(out, planned_units=0))
    assert [k for k in kube.objects if k[1] in CLUSTER_SCOPED] == []
    assert kube.objects == {}


def test_removal_keeps_a_crd_while_applications_exist(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    kube.objects[("sparkoperator.k8s.io/v1beta2", "SparkApplication", "alice", "etl")] = {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {"name": "etl", "namespace": "alice"},
    }
    ctx.run(ctx.on.remove(), follow_up(out, planned_units=0))
    assert kube.find("CustomResourceDefinition", CRD)
    assert kube.find("CustomResourceDefinition", "sparkconnects.sparkoperator.k8s.io") is None
    assert kube.find("MutatingWebhookConfiguration", WEBHOOK_CONFIG) is None


def test_scaling_down_keeps_cluster_objects(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    ctx.run(ctx.on.remove(), follow_up(out, leader=False, planned_units=2))
    assert kube.find("CustomResourceDefinition", CRD)


def test_s3_relation_joined_before_the_provider_answers_waits(ctx, kube):
    s3 = s3_relation({})
    out = ctx.run(
        ctx.on.relation_joined(s3, remote_unit=0), state(relations=[*dispatch_relations(), s3])
    )
    assert out.unit_status == testing.WaitingStatus("waiting for S3 credentials")


def test_secrets_relation_joined_without_s3_sends_an_empty_list(ctx, kube):
    relation = testing.Relation("secrets", remote_app_name="resource-dispatcher")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    assert sent(out, relation) == []
    assert out.unit_status == testing.ActiveStatus()


def test_status_stays_true_on_hooks_that_do_not_reconcile(ctx, kube):
    out = ctx.run(ctx.on.config_changed(), state(config={"log-level": "loud"}))
    blocked = out.unit_status
    assert blocked.name == "blocked"
    out = ctx.run(ctx.on.start(), out)
    assert out.unit_status == blocked
