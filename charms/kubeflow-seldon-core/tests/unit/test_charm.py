"""Scenario tests of the seldon-core charm: events, relations, config errors, statuses."""

import base64
import json

import ops
import pytest
from lightkube.core.exceptions import httpx as lk_httpx  # pyright: ignore[reportPrivateImportUsage]
from ops import testing

import seldon
from conftest import CONFIG_DEFAULTS, MODEL
from dsplib import certificates, kubernetes
from dsplib.observability import decode_dashboard
from dsplib.testing import relation_event

TRUST = testing.BlockedStatus("run: juju trust seldon-core --scope=cluster")
S3_DATA = {
    "access-key": "ACCESS",
    "secret-key": "SECRET-KEY-VALUE",
    "bucket": "models",
    "endpoint": "http://rgw.ceph.example:80",
    "region": "default",
    "s3-uri-style": "path",
}


def container(**kwargs) -> testing.Container:
    return testing.Container("seldon-core", can_connect=True, **kwargs)


def state(*, leader=True, config=None, relations=(), secrets=(), containers=None, **kw):
    return testing.State(
        leader=leader,
        model=MODEL,
        config=config or {},
        relations=set(relations),
        secrets=set(secrets),
        containers={container()} if containers is None else set(containers),
        **kw,
    )


def env_of(out: testing.State) -> dict[str, str]:
    return out.get_container("seldon-core").plan.services["seldon-core"].environment


# -- lifecycle --------------------------------------------------------------------------------


def test_leader_install_creates_certificate_objects_and_starts_the_operator(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())

    assert out.unit_status == testing.ActiveStatus()
    secret = next(s for s in out.secrets if s.label == "webhook-certificate")
    cert = certificates.WebhookCertificate.from_content(secret.tracked_content)
    assert cert is not None
    assert "seldon-webhook-service.kubeflow.svc" in cert.dns_names

    fs = out.get_container("seldon-core").get_filesystem(ctx)
    served = (fs / "tmp/k8s-webhook-server/serving-certs/tls.crt").read_text()
    assert served == cert.cert

    crd = kube.get_object(
        "CustomResourceDefinition", "seldondeployments.machinelearning.seldon.io"
    )
    assert [v["name"] for v in crd["spec"]["versions"] if v["storage"]] == ["v1"]
    hook = kube.get_object(
        "ValidatingWebhookConfiguration", "seldon-validating-webhook-configuration-kubeflow"
    )
    bundle = hook["webhooks"][0]["clientConfig"]["caBundle"]
    assert base64.b64decode(bundle).decode() == cert.ca
    config = kube.get_object("ConfigMap", "seldon-config", "kubeflow")
    assert "SKLEARN_SERVER" in json.loads(config["data"]["predictor_servers"])
    binding = kube.get_object("ClusterRoleBinding", "seldon-core-kubeflow-manager")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "seldon-core", "namespace": "kubeflow"}
    ]
    for obj in kube.objects.values():
        assert obj["metadata"]["labels"]["app.juju.is/created-by"] == "seldon-core"


def test_install_before_pebble_waits(ctx, kube):
    out = ctx.run(ctx.on.install(), state(containers=[testing.Container("seldon-core")]))
    assert out.unit_status == testing.WaitingStatus("waiting for Pebble in the workload container")
    assert kube.get_object(
        "CustomResourceDefinition", "seldondeployments.machinelearning.seldon.io"
    )


def test_repeated_events_write_nothing_to_kubernetes_and_keep_the_plan(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    kube.reset_calls()
    plan_before = out.get_container("seldon-core").plan.to_dict()
    for event in (ctx.on.config_changed(), ctx.on.update_status(), ctx.on.config_changed()):
        out = ctx.run(event, out)
    assert kube.writes == []
    assert out.get_container("seldon-core").plan.to_dict() == plan_before
    assert out.unit_status == testing.ActiveStatus()


def test_upgrade_keeps_the_certificate_and_reapplies_only_what_changed(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    before = next(s for s in out.secrets if s.label == "webhook-certificate").tracked_content
    kube.reset_calls()
    out = ctx.run(ctx.on.upgrade_charm(), out)
    after = next(s for s in out.secrets if s.label == "webhook-certificate").tracked_content
    assert after == before
    assert kube.writes == []
    crd = kube.get_object(
        "CustomResourceDefinition", "seldondeployments.machinelearning.seldon.io"
    )
    crd["metadata"]["annotations"][kubernetes.DIGEST_ANNOTATION] = "an older revision's CRD"
    ctx.run(ctx.on.upgrade_charm(), out)
    assert kube.writes == [
        ("apply", "CustomResourceDefinition/seldondeployments.machinelearning.seldon.io")
    ]


def test_config_change_updates_the_workload_and_the_configmap(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    kube.reset_calls()
    changed = testing.State(
        leader=True,
        model=MODEL,
        containers=out.containers,
        secrets=out.secrets,
        stored_states=out.stored_states,
        config={"sklearn-server-image": "registry.local/seldon/sklearnserver:1.17.1-fix"},
    )
    out = ctx.run(ctx.on.config_changed(), changed)
    servers = json.loads(
        kube.get_object("ConfigMap", "seldon-config", "kubeflow")["data"]["predictor_servers"]
    )
    assert servers["SKLEARN_SERVER"]["protocols"]["seldon"]["defaultImageVersion"] == "1.17.1-fix"
    assert ("apply", "ConfigMap/kubeflow/seldon-config") in kube.writes


def test_user_id_zero_removes_the_user_from_the_operator_environment(ctx, kube):
    """0 is "the image's user": sending "0" would make the operator run model pods as root."""
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert env_of(out)["DEFAULT_USER_ID"] == env_of(out)["EXECUTOR_CONTAINER_USER"] == "8888"
    changed = testing.State(
        leader=True,
        model=MODEL,
        containers=out.containers,
        secrets=out.secrets,
        stored_states=out.stored_states,
        config={"default-user-id": 0},
    )
    out = ctx.run(ctx.on.config_changed(), changed)
    env = env_of(out)
    assert "DEFAULT_USER_ID" not in env
    assert "EXECUTOR_CONTAINER_USER" not in env
    assert out.unit_status == testing.ActiveStatus()


def test_non_leader_runs_the_operator_with_the_leaders_certificate(
    ctx, kube, cert_secret, webhook_cert
):
    out = ctx.run(ctx.on.pebble_ready(container()), state(leader=False, secrets=[cert_secret]))
    assert kube.calls == []
    fs = out.get_container("seldon-core").get_filesystem(ctx)
    assert (fs / "tmp/k8s-webhook-server/serving-certs/tls.key").read_text() == webhook_cert.key
    assert out.unit_status == testing.ActiveStatus()


def test_non_leader_waits_for_the_certificate(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state(leader=False))
    assert out.unit_status == testing.WaitingStatus(
        "waiting for the leader to create the webhook certificate"
    )


def _running(service=ops.pebble.ServiceStatus.ACTIVE, metrics=ops.pebble.CheckStatus.UP):
    layer = seldon.pebble_layer(seldon.Settings.from_config(CONFIG_DEFAULTS), MODEL.name, None)
    return container(
        layers={"seldon-core": ops.pebble.Layer(layer)},  # type: ignore[arg-type]
        service_statuses={"seldon-core": service},
        check_infos={
            testing.CheckInfo(
                "manager-metrics", status=metrics, level=ops.pebble.CheckLevel.READY
            ),
            testing.CheckInfo("webhook-listening", level=ops.pebble.CheckLevel.READY),
        },
    )


def test_waits_until_the_operator_answers(ctx, kube, cert_secret):
    down = _running(metrics=ops.pebble.CheckStatus.DOWN)
    out = ctx.run(ctx.on.update_status(), state(containers=[down], secrets=[cert_secret]))
    assert out.unit_status == testing.WaitingStatus(
        "waiting for the operator: manager-metrics not up"
    )


def test_service_not_running_is_waiting(ctx, kube, cert_secret):
    stopped = _running(service=ops.pebble.ServiceStatus.INACTIVE)
    out = ctx.run(ctx.on.update_status(), state(containers=[stopped], secrets=[cert_secret]))
    assert out.unit_status == testing.WaitingStatus("waiting for the operator service to start")


# -- config errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("log-level", "loud"),
        ("webhook-port", 443),
        ("istio-gateway", "kubeflow-gateway"),
        ("mlserver-image", "seldonio/mlserver"),
        ("executor-memory-limit", "lots"),
        ("cluster-cidrs", "10.152.183.1/24"),
        ("cluster-cidrs", "10.1.0.0/16,.svc"),
    ],
)
def test_bad_config_blocks_with_the_option_and_changes_nothing(ctx, kube, option, value):
    out = ctx.run(ctx.on.config_changed(), state(config={option: value}))
    assert isinstance(out.unit_status, testing.BlockedStatus)
    assert out.unit_status.message.startswith(f"config {option}: expected")
    assert kube.calls == []
    assert out.get_container("seldon-core").plan.services == {}


# -- Kubernetes API failures ------------------------------------------------------------------


def test_forbidden_blocks_with_the_trust_command(ctx, kube):
    kube.fail(403)
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert out.unit_status == TRUST


def test_conflicts_server_errors_and_timeouts_wait_and_retry(ctx, kube):
    kube.fail(409, verb="apply", times=1)
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert isinstance(out.unit_status, testing.WaitingStatus)
    assert "409" in out.unit_status.message
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus()

    kube.fail(error=lk_httpx.ReadTimeout("slow"), verb="apply", times=1)
    changed = testing.State(
        leader=True,
        model=MODEL,
        containers=out.containers,
        secrets=out.secrets,
        stored_states=out.stored_states,
        config={"sklearn-server-image": "docker.io/seldonio/sklearnserver:1.17.2"},
    )
    out = ctx.run(ctx.on.config_changed(), changed)
    assert out.unit_status == testing.WaitingStatus(
        "Kubernetes API unreachable: ReadTimeout; retrying"
    )
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus()


def test_unreachable_api_is_waiting(ctx, kube):
    kube.fail(error=lk_httpx.ConnectError("refused"))
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert out.unit_status == testing.WaitingStatus(
        "Kubernetes API unreachable: ConnectError; retrying"
    )


# -- gateway-info -----------------------------------------------------------------------------


def test_gateway_info_turns_istio_on(ctx, kube):
    relation = testing.Relation(
        "gateway-info",
        remote_app_name="istio-pilot",
        remote_app_data={
            "gateway_name": "kubeflow-gateway",
            "gateway_namespace": "kubeflow",
            "gateway_up": "true",
        },
    )
    out = ctx.run(ctx.on.relation_changed(relation), state(relations=[relation]))
    env = env_of(out)
    assert env["ISTIO_ENABLED"] == "true"
    assert env["ISTIO_GATEWAY"] == "kubeflow/kubeflow-gateway"

    gone = ctx.run(ctx.on.relation_broken(out.get_relation(relation.id)), out)
    assert env_of(gone)["ISTIO_ENABLED"] == "false"


def test_gateway_info_with_garbage_blocks(ctx, kube):
    relation = testing.Relation(
        "gateway-info", remote_app_data={"gateway_name": "../etc", "gateway_namespace": "kubeflow"}
    )
    out = ctx.run(ctx.on.relation_changed(relation), state(relations=[relation]))
    assert out.unit_status == testing.BlockedStatus(
        "gateway-info: istio-pilot sent an invalid gateway name or namespace"
    )


def test_configured_gateway_wins(ctx, kube):
    relation = testing.Relation(
        "gateway-info",
        remote_app_data={"gateway_name": "other", "gateway_namespace": "istio-system"},
    )
    out = ctx.run(
        ctx.on.config_changed(),
        state(relations=[relation], config={"istio-gateway": "kubeflow/kubeflow-gateway"}),
    )
    assert env_of(out)["ISTIO_GATEWAY"] == "kubeflow/kubeflow-gateway"


# -- s3-credentials and secrets ---------------------------------------------------------------


def _s3(data=None) -> testing.Relation:
    return testing.Relation(
        "s3-credentials",
        remote_app_name="s3-integrator",
        remote_app_data=data if data is not None else S3_DATA,
    )


def _secret_manifests(out: testing.State, relation: testing.Relation) -> list[dict]:
    bag = out.get_relation(relation.id).local_app_data
    assert bag["is_secret"] == "true"
    secret = next(s for s in out.secrets if s.label == f"manifest.secrets.{relation.id}")
    return json.loads(secret.tracked_content["manifests"])


def test_s3_credentials_reach_profiles_as_an_rclone_secret(ctx, kube):
    s3, dispatcher = _s3(), testing.Relation("secrets", remote_app_name="resource-dispatcher")
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[s3, dispatcher]))
    manifests = _secret_manifests(out, dispatcher)
    assert len(manifests) == 1
    env = manifests[0]["stringData"]
    assert manifests[0]["metadata"]["name"] == "seldon-rclone-secret"
    assert env["RCLONE_CONFIG_S3_ENDPOINT"] == "http://rgw.ceph.example:80"
    assert env["RCLONE_CONFIG_S3_SECRET_ACCESS_KEY"] == "SECRET-KEY-VALUE"
    assert "SECRET-KEY-VALUE" not in json.dumps(out.get_relation(dispatcher.id).local_app_data)
    assert out.unit_status == testing.ActiveStatus()


def test_s3_without_resource_dispatcher_says_what_to_integrate(ctx, kube):
    s3 = _s3()
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[s3]))
    assert out.unit_status == testing.BlockedStatus(
        "integrate secrets with resource-dispatcher to deliver S3 credentials"
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
    s3, dispatcher = _s3(data), testing.Relation("secrets")
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[s3, dispatcher]))
    assert out.unit_status == testing.BlockedStatus(message)
    assert _secret_manifests(out, dispatcher) == []


def test_s3_relation_without_keys_yet_waits(ctx, kube):
    s3, dispatcher = _s3({"bucket": "models"}), testing.Relation("secrets")
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[s3, dispatcher]))
    assert out.unit_status == testing.WaitingStatus("waiting for S3 credentials")


def test_removing_s3_withdraws_the_secret(ctx, kube):
    s3, dispatcher = _s3(), testing.Relation("secrets")
    out = ctx.run(ctx.on.relation_changed(s3), state(relations=[s3, dispatcher]))
    out = ctx.run(ctx.on.relation_broken(out.get_relation(s3.id)), out)
    assert _secret_manifests(out, dispatcher) == []


# -- observability ----------------------------------------------------------------------------


def test_metrics_endpoint_scrapes_operator_and_served_models(ctx, kube):
    kube.objects[("v1", "Service", "alice", "iris-default")] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "iris-default",
            "namespace": "alice",
            "labels": {"seldon-deployment-id": "iris"},
        },
        "spec": {"ports": [{"port": 8000, "name": "http"}, {"port": 5001, "name": "grpc"}]},
    }
    relation = testing.Relation("metrics-endpoint", remote_app_name="prometheus")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    bag = out.get_relation(relation.id).local_app_data
    jobs = {j["job_name"]: j for j in json.loads(bag["scrape_jobs"])}
    assert jobs["manager"]["static_configs"] == [{"targets": ["*:8080"]}]
    assert jobs["models"]["metrics_path"] == "/prometheus"
    assert jobs["models"]["static_configs"][0]["targets"] == ["iris-default.alice.svc:8000"]
    rules = json.loads(bag["alert_rules"])
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"SeldonOperatorDown", "SeldonReconcileErrors", "SeldonModelHighErrorRate"} <= alerts
    assert all("%%" not in r["expr"] for g in rules["groups"] for r in g["rules"])


def test_scraping_models_can_be_turned_off(ctx, kube):
    relation = testing.Relation("metrics-endpoint")
    out = ctx.run(
        ctx.on.relation_joined(relation, remote_unit=0),
        state(relations=[relation], config={"scrape-models": False}),
    )
    jobs = json.loads(out.get_relation(relation.id).local_app_data["scrape_jobs"])
    assert [j["job_name"] for j in jobs] == ["manager"]


def test_grafana_gets_the_dashboard(ctx, kube):
    relation = testing.Relation("grafana-dashboard", remote_app_name="grafana")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    templates = json.loads(out.get_relation(relation.id).local_app_data["dashboards"])["templates"]
    dashboard = json.loads(decode_dashboard(templates["file:seldon-core"]["content"]))
    assert dashboard["title"] == "Seldon Core"
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert any("controller_runtime_reconcile_total" in e for e in exprs)
    assert any("seldon_api_executor_server_requests_seconds_bucket" in e for e in exprs)


def test_logs_are_forwarded_to_loki(ctx, kube):
    relation = testing.Relation(
        "logging",
        remote_app_name="loki",
        remote_units_data={
            0: {"endpoint": json.dumps({"url": "http://loki-0.loki:3100/loki/api/v1/push"})}
        },
    )
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state(relations=[relation]))
    targets = out.get_container("seldon-core").plan.to_dict()["log-targets"]
    assert targets["loki/0"]["location"] == "http://loki-0.loki:3100/loki/api/v1/push"


# -- removal ----------------------------------------------------------------------------------


def test_removing_the_application_deletes_cluster_objects(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    ctx.run(
        ctx.on.remove(),
        testing.State(
            leader=True,
            model=MODEL,
            containers=out.containers,
            secrets=out.secrets,
            stored_states=out.stored_states,
            planned_units=0,
        ),
    )
    assert kube.objects == {}


def test_removal_keeps_the_crd_while_models_exist(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    kube.objects[("machinelearning.seldon.io/v1", "SeldonDeployment", "alice", "iris")] = {
        "apiVersion": "machinelearning.seldon.io/v1",
        "kind": "SeldonDeployment",
        "metadata": {"name": "iris", "namespace": "alice"},
    }
    ctx.run(
        ctx.on.remove(),
        testing.State(
            leader=True,
            model=MODEL,
            containers=out.containers,
            secrets=out.secrets,
            planned_units=0,
        ),
    )
    assert kube.find("CustomResourceDefinition", "seldondeployments.machinelearning.seldon.io")
    assert (
        kube.find(
            "ValidatingWebhookConfiguration", "seldon-validating-webhook-configuration-kubeflow"
        )
        is None
    )
    assert kube.find("ClusterRole", "seldon-core-kubeflow-manager") is None


def test_scaling_down_keeps_cluster_objects(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    ctx.run(
        ctx.on.remove(),
        testing.State(
            leader=False,
            model=MODEL,
            containers=out.containers,
            secrets=out.secrets,
            planned_units=2,
        ),
    )
    assert kube.find("CustomResourceDefinition", "seldondeployments.machinelearning.seldon.io")


# -- every endpoint, every relation event, empty or hostile data --------------------------------

ENDPOINTS = [
    "gateway-info",
    "s3-credentials",
    "secrets",
    "metrics-endpoint",
    "grafana-dashboard",
    "logging",
]
GARBAGE = {
    "gateway_name": "\x00",
    "endpoint": "{",
    "access-key": "",
    "data": "- - -",
    "dashboards": "x",
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("kind", ["joined", "changed", "broken"])
@pytest.mark.parametrize("remote", [{}, GARBAGE], ids=["empty", "garbage"])
def test_any_relation_event_with_any_data_never_raises(ctx, kube, endpoint, kind, remote):
    relation = testing.Relation(endpoint, remote_app_data=remote, remote_units_data={0: remote})
    event = relation_event(ctx, relation, kind)
    out = ctx.run(event, state(relations=[relation]))
    assert out.unit_status.name in ("active", "blocked", "waiting")
    if out.unit_status.name == "blocked":
        assert endpoint in out.unit_status.message or "gateway-info" in out.unit_status.message


def test_status_stays_true_on_hooks_that_do_not_reconcile(ctx, kube):
    out = ctx.run(ctx.on.config_changed(), state(config={"log-level": "loud"}))
    out = ctx.run(ctx.on.start(), out)
    assert out.unit_status.name == "blocked"
    kube.fail(403)
    out = ctx.run(ctx.on.config_changed(), state())
    out = ctx.run(ctx.on.start(), out)
    assert out.unit_status == TRUST


def test_the_model_proxy_reaches_profiles_in_the_rclone_secret(ctx, kube, juju_proxy):
    juju_proxy("http://squid.internal:3128", "127.0.0.1,localhost,::1,.ceph.example")
    s3, dispatcher = _s3(), testing.Relation("secrets", remote_app_name="resource-dispatcher")
    config = {"cluster-cidrs": "10.152.183.0/24,10.1.0.0/16"}
    out = ctx.run(ctx.on.relation_changed(s3), state(config=config, relations=[s3, dispatcher]))
    env = _secret_manifests(out, dispatcher)[0]["stringData"]
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        assert env[name] == "http://squid.internal:3128"
    no_proxy = env["NO_PROXY"].split(",")
    assert env["no_proxy"] == env["NO_PROXY"]
    assert {".svc", ".cluster.local", "localhost", "127.0.0.1"} <= set(no_proxy)
    assert {"10.152.183.0/24", "10.1.0.0/16", ".ceph.example"} <= set(no_proxy)
    assert out.unit_status == testing.ActiveStatus()


def test_an_unusable_model_proxy_blocks_naming_the_key(ctx, kube, juju_proxy):
    juju_proxy("socks5://squid.internal:1080", "")
    out = ctx.run(ctx.on.config_changed(), state())
    assert out.unit_status == testing.BlockedStatus(
        "model config juju-http-proxy and juju-https-proxy: expected a proxy URL such as "
        "http://squid.example:3128"
    )
