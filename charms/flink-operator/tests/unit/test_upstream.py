"""The rendered workload against the upstream facts the charm depends on.

Each fact names the upstream file it comes from (Flink Kubernetes Operator 1.15.0, its Helm
chart and Docker image, Apache Flink 2.x, the official Flink image, Istio). The tests check
the Pebble layer, the operator's config.yaml, the keystore, the manifests and the documented
FlinkDeployment against these facts; the models of upstream rules have a case that fails, so
a change on either side is noticed here rather than by a crash-looping pod.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import flink
from conftest import CHARMCRAFT, CONFIG_DEFAULTS
from render import NAMES, certificate, cluster_objects, example_deployment

FKO = "apache/flink-kubernetes-operator@release-1.15.0"
CHART = f"{FKO} helm/flink-kubernetes-operator"
FLINK = "apache/flink (release-2.2)"

# fact -> (value, source)
UPSTREAM: dict[str, tuple[object, str]] = {
    "image": (
        "ghcr.io/apache/flink-kubernetes-operator:79d730b",
        f"{CHART}/values.yaml image.repository (tag `latest` in git); the release script "
        f"rewrites `tag:` to `git log -1 --pretty=format:%h` of the release commit ({FKO} "
        "tools/releasing/create_source_release.sh), 79d730b for 1.15.0 (the packaged chart "
        "is not in git: the value is that commit's hash, the mechanism is the script's)",
    ),
    "commands": (
        ("/docker-entrypoint.sh operator", "/docker-entrypoint.sh webhook"),
        f"{CHART}/templates/controller/deployment.yaml (containers flink-kubernetes-operator "
        f"and flink-webhook, command [/docker-entrypoint.sh, operator|webhook]); {FKO} "
        "docker-entrypoint.sh (`cd /flink-kubernetes-operator`, then java with $LOG_CONFIG "
        "$JVM_ARGS and main class FlinkOperator or admission.FlinkOperatorWebhook)",
    ),
    "uid": (9999, f"{CHART}/values.yaml podSecurityContext runAsUser/runAsGroup 9999"),
    "conf dir": (
        "/opt/flink/conf",
        f"{CHART}/templates/controller/deployment.yaml FLINK_CONF_DIR",
    ),
    "log config": (
        "-Dlog4j.configurationFile=/opt/flink/conf/log4j-operator.properties",
        f"{CHART}/templates/controller/deployment.yaml LOG_CONFIG",
    ),
    "config file": (
        "config.yaml",
        f"{CHART}/templates/controller/deployment.yaml (the ConfigMap volume mounts "
        "config.yaml unless the values carry a legacy `flink-conf.yaml` key) and "
        f"{CHART}/conf/config.yaml; {FKO} flink-kubernetes-operator/src/main/java/org/apache/"
        "flink/kubernetes/operator/config/FlinkConfigManager.java loadGlobalConfiguration "
        "(GlobalConfiguration.loadConfiguration() of FLINK_CONF_DIR, then FLINK_CONF_* "
        f"environment overrides); {FLINK} docs/content/docs/deployment/config.md (since 1.19 "
        "config.yaml wins over the legacy flink-conf.yaml, which Flink 2 no longer reads)",
    ),
    "webhook env": (
        {
            "WEBHOOK_KEYSTORE_FILE": "/certs/keystore.p12",
            "WEBHOOK_KEYSTORE_TYPE": "pkcs12",
            "WEBHOOK_SERVER_PORT": "9443",
        },
        f"{CHART}/templates/controller/deployment.yaml flink-webhook env, volume `keystore` "
        "(Secret webhook-server-cert, item keystore.p12 at /certs); "
        f"{FKO} flink-kubernetes-operator/.../utils/EnvUtils.java (ENV_WEBHOOK_KEYSTORE_*) and "
        "flink-kubernetes-webhook/.../admission/FlinkOperatorWebhook.java createSslContext "
        "(no WEBHOOK_KEYSTORE_FILE: plain HTTP; the type is then required)",
    ),
    "webhook password env": (
        "WEBHOOK_KEYSTORE_PASSWORD",
        f"{CHART}/templates/controller/deployment.yaml "
        "(from the Secret flink-operator-webhook-secret)",
    ),
    "webhook service": (
        (443, 9443, "/mutate", "/validate"),
        f"{CHART}/templates/webhook/service.yaml, mutating_webhook_configuration.yaml, "
        "validating_webhook_configuration.yaml",
    ),
    "health probe": (
        (8085, "/"),
        f"{CHART}/values.yaml operatorHealth.port; deployment.yaml livenessProbe httpGet path /",
    ),
    "metrics reporter": (
        ("org.apache.flink.metrics.prometheus.PrometheusReporterFactory", "prom"),
        f"{FKO} docs/content/docs/operations/metrics-logging.md (kubernetes.operator.metrics."
        "reporter.prom.factory.class, .port)",
    ),
    "operator options": (
        {
            "kubernetes.operator.watched.namespaces",
            "kubernetes.operator.dynamic.namespaces.enabled",
            "kubernetes.operator.dynamic.config.enabled",
            "kubernetes.operator.dynamic.config.check.interval",
            "kubernetes.operator.reconcile.parallelism",
            "kubernetes.operator.health.probe.enabled",
            "kubernetes.operator.health.probe.port",
            "kubernetes.operator.leader-election.enabled",
            "kubernetes.operator.leader-election.lease-name",
            "kubernetes.operator.user.artifacts.base.dir",
            "kubernetes.operator.metrics.reporter.prom.factory.class",
            "kubernetes.operator.metrics.reporter.prom.port",
        },
        f"{FKO} docs/layouts/shortcodes/generated/kubernetes_operator_config_configuration.html "
        f"and system_section.html; {FKO} flink-kubernetes-operator/.../config/"
        "KubernetesOperatorConfigOptions.java (dynamic.namespaces.enabled default false, "
        "dynamic.config.enabled default true, dynamic.config.check.interval default 5 min) and "
        "FlinkConfigManager.java (the config watcher runs only if dynamic.config.enabled is set "
        "at start; updateDefaultConfig re-targets the watched namespaces only with "
        "dynamic.namespaces.enabled)",
    ),
    "flink pod options": (
        {
            "kubernetes.jobmanager.annotations",
            "kubernetes.taskmanager.annotations",
            "kubernetes.jobmanager.labels",
            "kubernetes.taskmanager.labels",
            "metrics.reporter.prom.factory.class",
            "metrics.reporter.prom.port",
        },
        f"{FLINK} flink-kubernetes .../KubernetesConfigOptions.java (Map options); "
        "docs/content/docs/deployment/metric_reporters.md (prom)",
    ),
    "versioned defaults prefix": (
        "kubernetes.operator.default-configuration.flink-version.",
        f"{CHART}/conf/config.yaml (v1_19+ env.java.default-opts.all for Java 17)",
    ),
    "java 17 default opts": (
        "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED",
        f"{CHART}/conf/config.yaml (last option of the v1_19+ list)",
    ),
    "s3 options (hadoop plugin)": (
        ("s3.endpoint", "s3.path.style.access"),
        f"{FLINK} docs/content/docs/deployment/filesystems/s3.md (s3.* -> fs.s3a.*)",
    ),
    "checkpoint options": (
        ("execution.checkpointing.dir", "execution.checkpointing.savepoint-dir"),
        f"{FLINK} CheckpointingOptions.java (state.checkpoints.dir kept as fallback key)",
    ),
    "env credentials": (
        ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        "apache/hadoop S3A default credential chain: EnvironmentVariableCredentialsProvider "
        "(HADOOP-12807)",
    ),
    "plugin env": (
        "ENABLE_BUILT_IN_PLUGINS",
        "apache/flink-docker 2.2/*/docker-entrypoint.sh: ';'-separated jar names of "
        "/opt/flink/opt, linked into plugins/; the entrypoint exits if one is absent",
    ),
    "main container": (
        "flink-main-container",
        f"{FKO} docs/content/docs/custom-resource/pod-template.md",
    ),
    "jobmanager pod labels": (
        {"component": "jobmanager", "type": "flink-native-kubernetes"},
        f"{FLINK} flink-kubernetes .../Constants.java LABEL_COMPONENT_JOB_MANAGER, "
        "LABEL_TYPE_NATIVE_TYPE",
    ),
    "job rbac": (
        {("", ("configmaps", "pods")), ("apps", ("deployments", "deployments/finalizers"))},
        f"{CHART}/templates/rbac/_helpers.tpl jobRbacRules",
    ),
    "crds": (
        {
            "flinkdeployments.flink.apache.org",
            "flinksessionjobs.flink.apache.org",
            "flinkstatesnapshots.flink.apache.org",
            "flinkbluegreendeployments.flink.apache.org",
        },
        f"{CHART}/crds/*.flink.apache.org-v1.yml (all v1beta1)",
    ),
    "crd names": (
        {
            "flinkdeployments.flink.apache.org": ("FlinkDeployment", "flinkdep"),
            "flinksessionjobs.flink.apache.org": ("FlinkSessionJob", "sessionjob"),
            "flinkstatesnapshots.flink.apache.org": ("FlinkStateSnapshot", "flinksnp"),
            "flinkbluegreendeployments.flink.apache.org": (
                "FlinkBlueGreenDeployment",
                "flinkbgdep",
            ),
        },
        f"{CHART}/crds/*.flink.apache.org-v1.yml names.kind, names.shortNames",
    ),
    "crd spec fields": (
        {
            "flinkdeployments.flink.apache.org": {
                "flinkConfiguration",
                "flinkVersion",
                "image",
                "imagePullPolicy",
                "ingress",
                "job",
                "jobManager",
                "logConfiguration",
                "mode",
                "podTemplate",
                "restartNonce",
                "serviceAccount",
                "taskManager",
            },
            "flinksessionjobs.flink.apache.org": {
                "deploymentName",
                "flinkConfiguration",
                "job",
                "restartNonce",
            },
            "flinkstatesnapshots.flink.apache.org": {
                "backoffLimit",
                "checkpoint",
                "jobReference",
                "savepoint",
            },
            "flinkbluegreendeployments.flink.apache.org": {"configuration", "template"},
        },
        f"{CHART}/crds/*.flink.apache.org-v1.yml spec.properties (fabric8 CRDGenerator output; "
        f"no `required` list anywhere in spec); {FKO} docs/content/docs/custom-resource/"
        "reference.md FlinkDeploymentSpec, FlinkSessionJobSpec",
    ),
    "crd job fields": (
        {
            "allowNonRestoredState",
            "args",
            "checkpointTriggerNonce",
            "entryClass",
            "initialSavepointPath",
            "initialStateReference",
            "jarURI",
            "parallelism",
            "savepointRedeployNonce",
            "savepointTriggerNonce",
            "state",
            "upgradeMode",
        },
        f"{CHART}/crds/flinkdeployments.flink.apache.org-v1.yml and flinksessionjobs... "
        "spec.job.properties (JobSpec)",
    ),
    "crd printer columns": (
        {
            "flinkdeployments.flink.apache.org": [
                ("Job Status", ".status.jobStatus.state"),
                ("Lifecycle State", ".status.lifecycleState"),
            ],
            "flinksessionjobs.flink.apache.org": [
                ("Job Status", ".status.jobStatus.state"),
                ("Lifecycle State", ".status.lifecycleState"),
            ],
            "flinkstatesnapshots.flink.apache.org": [
                ("Path", ".status.path"),
                ("Result Timestamp", ".status.resultTimestamp"),
                ("Snapshot State", ".status.state"),
            ],
            "flinkbluegreendeployments.flink.apache.org": [
                ("Job Status", ".status.jobStatus.state"),
            ],
        },
        f"{CHART}/crds/*.flink.apache.org-v1.yml additionalPrinterColumns",
    ),
    "flinkdeployment scale": (
        {
            "specReplicasPath": ".spec.taskManager.replicas",
            "statusReplicasPath": ".status.taskManager.replicas",
            "labelSelectorPath": ".status.taskManager.labelSelector",
        },
        f"{CHART}/crds/flinkdeployments.flink.apache.org-v1.yml subresources.scale (the "
        "autoscaler and `kubectl scale` use it)",
    ),
    "istio opt-out": (
        ("sidecar.istio.io/inject", "false"),
        "istio/istio pkg/kube/inject/webhook.go injectRequired (label or annotation)",
    ),
}


def fact(name: str) -> Any:
    return UPSTREAM[name][0]


def settings(**overrides) -> flink.Settings:
    return flink.Settings.from_config({**CONFIG_DEFAULTS, **overrides})


def config(**overrides) -> dict[str, str]:
    return yaml.safe_load(flink.operator_config(settings(**overrides), NAMES, ["alice", "bob"]))


def parse_flink_map(value: str) -> dict[str, str]:
    """Flink's Map option syntax: `k1:v1,k2:v2` (ConfigurationUtils.convertToProperties)."""
    pairs = [item for item in value.split(",") if item]
    if not all(item.count(":") == 1 for item in pairs):
        raise ValueError(f"not a Flink map: {value!r}")
    return dict(item.split(":") for item in pairs)


def test_every_fact_names_its_source():
    for name, (_value, source) in UPSTREAM.items():
        assert source.strip(), name


def test_the_image_is_the_one_the_release_chart_pins():
    assert CHARMCRAFT["resources"]["oci-image"]["upstream-source"] == fact("image")
    bundle = yaml.safe_load((Path(__file__).parents[4] / "bundle.yaml").read_text())
    assert bundle["applications"]["flink-operator"]["resources"]["oci-image"] == fact("image")


def test_both_processes_run_as_the_chart_runs_them():
    layer = flink.pebble_layer(NAMES, "flink-operator-0", "pw")
    commands = tuple(layer["services"][s]["command"] for s in flink.SERVICES)
    assert commands == fact("commands")
    for service in layer["services"].values():
        assert service["user-id"] == fact("uid")
        assert service["environment"]["FLINK_CONF_DIR"] == fact("conf dir")
        assert service["environment"]["LOG_CONFIG"] == fact("log config")
    webhook = layer["services"]["webhook"]["environment"]
    assert fact("webhook env").items() <= webhook.items()
    assert webhook[fact("webhook password env")] == "pw"
    assert f"{fact('conf dir')}/{fact('config file')}" == flink.CONFIG_FILE
    port, path = fact("health probe")
    assert layer["checks"]["operator-ready"]["http"]["url"] == f"http://localhost:{port}{path}"


def test_the_operator_configuration_uses_only_known_options():
    known = fact("operator options") | fact("flink pod options")
    for key in config():
        assert key in known or key.startswith(fact("versioned defaults prefix")), key


def test_the_option_model_rejects_an_unknown_key():
    known = fact("operator options") | fact("flink pod options")
    assert "kubernetes.operator.watch.namespaces" not in known


def test_java_17_options_are_the_charts():
    opts = config()[f"{fact('versioned defaults prefix')}v1_19+.env.java.default-opts.all"]
    assert opts.split()[-1] == fact("java 17 default opts")
    assert len(opts.split()) == 15


def test_pod_annotations_and_labels_parse_as_flink_maps_with_the_istio_opt_out():
    key, value = fact("istio opt-out")
    for role in ("jobmanager", "taskmanager"):
        for kind in ("annotations", "labels"):
            assert parse_flink_map(config()[f"kubernetes.{role}.{kind}"]) == {key: value}


def test_the_flink_map_model_rejects_the_equals_form():
    with pytest.raises(ValueError, match="not a Flink map"):
        parse_flink_map("sidecar.istio.io/inject=false")


def test_the_metrics_reporter_is_the_prometheus_one():
    factory, name = fact("metrics reporter")
    conf = config()
    assert conf[f"kubernetes.operator.metrics.reporter.{name}.factory.class"] == factory
    assert conf[f"metrics.reporter.{name}.factory.class"] == factory


def test_the_webhook_service_and_paths():
    port, target, mutate, validate = fact("webhook service")
    objects = {o["kind"]: o for o in cluster_objects()}
    assert objects["Service"]["spec"]["ports"][0]["port"] == port
    assert objects["Service"]["spec"]["ports"][0]["targetPort"] == target
    assert target == flink.WEBHOOK_PORT
    hooks = objects["MutatingWebhookConfiguration"]["webhooks"]
    assert [h["clientConfig"]["service"]["path"] for h in hooks] == [mutate]
    hooks = objects["ValidatingWebhookConfiguration"]["webhooks"]
    assert [h["clientConfig"]["service"]["path"] for h in hooks] == [validate]


def test_the_job_role_grants_what_the_chart_grants_jobmanagers():
    rules = {(r["apiGroups"][0], tuple(sorted(r["resources"]))) for r in flink.job_role()["rules"]}
    assert rules == fact("job rbac")


def _crds() -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o
        for o in cluster_objects()
        if o["kind"] == "CustomResourceDefinition"
    }


def _version(crd: dict[str, Any]) -> dict[str, Any]:
    [version] = crd["spec"]["versions"]
    return version


def _spec_schema(crd: dict[str, Any]) -> dict[str, Any]:
    return _version(crd)["schema"]["openAPIV3Schema"]["properties"]["spec"]


def test_the_four_crds():
    crds = _crds()
    assert set(crds) == fact("crds")
    for crd in crds.values():
        version = _version(crd)
        assert (version["name"], version["served"], version["storage"]) == ("v1beta1", True, True)


def test_crd_kinds_and_short_names_are_upstreams():
    for name, crd in _crds().items():
        kind, short = fact("crd names")[name]
        assert crd["spec"]["names"]["kind"] == kind
        assert crd["spec"]["names"]["shortNames"] == [short]


def required_fields(schema: dict[str, Any], path: str = "spec") -> list[str]:
    """Paths of every `required` list in a schema; upstream's spec schemas have none."""
    found = [f"{path}: {schema['required']}"] if schema.get("required") else []
    for name, sub in schema.get("properties", {}).items():
        found += required_fields(sub, f"{path}.{name}")
    return found


def test_crd_top_level_spec_fields_and_required_fields_are_upstreams():
    for name, crd in _crds().items():
        schema = _spec_schema(crd)
        assert set(schema["properties"]) == fact("crd spec fields")[name], name
        assert required_fields(schema) == [], name


def test_the_required_model_finds_a_required_list():
    schema = {"properties": {"job": {"required": ["jarURI"], "properties": {}}}}
    assert required_fields(schema) == ["spec.job: ['jarURI']"]


def test_crd_job_fields_are_upstreams():
    crds = _crds()
    for name in ("flinkdeployments.flink.apache.org", "flinksessionjobs.flink.apache.org"):
        assert set(_spec_schema(crds[name])["properties"]["job"]["properties"]) == fact(
            "crd job fields"
        )


def test_crd_printer_columns_are_upstreams():
    for name, crd in _crds().items():
        columns = [(c["name"], c["jsonPath"]) for c in _version(crd)["additionalPrinterColumns"]]
        assert columns == fact("crd printer columns")[name], name


def test_flinkdeployments_have_the_scale_subresource():
    crds = _crds()
    subresources = _version(crds["flinkdeployments.flink.apache.org"])["subresources"]
    assert subresources["scale"] == fact("flinkdeployment scale")
    for name, crd in crds.items():
        if name != "flinkdeployments.flink.apache.org":
            assert _version(crd)["subresources"] == {"status": {}}, name


# -- the documented FlinkDeployment -----------------------------------------------------------


def test_the_example_uses_the_hadoop_s3_options_and_flink_2_checkpoint_keys():
    conf = example_deployment()["spec"]["flinkConfiguration"]
    assert set(fact("s3 options (hadoop plugin)")) <= set(conf)
    assert set(fact("checkpoint options")) <= set(conf)
    assert not any("access-key" in k or "secret-key" in k for k in conf)


def _main_env(deployment: dict[str, Any]) -> dict[str, Any]:
    [main] = deployment["spec"]["podTemplate"]["spec"]["containers"]
    assert main["name"] == fact("main container")
    return {e["name"]: e for e in main["env"]}


def test_the_example_takes_credentials_from_the_secret_by_reference():
    env = _main_env(example_deployment())
    for name in fact("env credentials"):
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": NAMES.s3_secret, "key": name}
        assert "value" not in env[name]


def plugin_matches_image(plugin: str, image: str) -> bool:
    """The jar ENABLE_BUILT_IN_PLUGINS names must be in the image: same Flink version."""
    match = re.fullmatch(r"flink-s3-fs-(hadoop|presto)-([0-9.]+)\.jar", plugin)
    tag = re.search(r":([0-9]+\.[0-9]+\.[0-9]+)", image)
    return bool(match and tag and match.group(2) == tag.group(1))


def test_the_example_enables_the_plugin_of_the_default_image():
    env = _main_env(example_deployment())
    assert plugin_matches_image(env[fact("plugin env")]["value"], settings().flink_image)


def test_the_plugin_model_rejects_another_flink_version():
    assert not plugin_matches_image("flink-s3-fs-hadoop-2.2.0.jar", settings().flink_image)
    assert not plugin_matches_image("flink-s3-fs-native-2.2.1.jar", settings().flink_image)


def test_jobmanagers_are_found_by_the_labels_flink_gives_them():
    source = (Path(__file__).parents[2] / "src" / "charm.py").read_text()
    for key, value in fact("jobmanager pod labels").items():
        assert f'"{key}": "{value}"' in source


# -- the keystore, read by the Java that runs the webhook ------------------------------------


def test_the_keystore_holds_the_certificate_under_its_password_only():
    cert = certificate()
    password = flink.keystore_password(cert.key)
    data = flink.keystore(cert.cert, cert.key, cert.ca, password)
    assert flink.keystore_holds(data, cert.cert, password)
    assert not flink.keystore_holds(data, cert.cert, "password1234")
    assert not flink.keystore_holds(b"not a keystore", cert.cert, password)


KEYTOOL = shutil.which("keytool")


def keytool_list(path: Path, password: str) -> subprocess.CompletedProcess[str]:
    """`keytool -list` of a PKCS#12 store, as Java 17 (the webhook's runtime) reads it."""
    assert KEYTOOL
    args = ["-list", "-keystore", str(path), "-storetype", "PKCS12", "-storepass", password]
    return subprocess.run([KEYTOOL, *args], capture_output=True, text=True, check=False)  # noqa: S603


@pytest.mark.skipif(KEYTOOL is None, reason="no keytool: apt install openjdk-17-jre-headless")
def test_java_keytool_opens_the_keystore_as_pkcs12(tmp_path):
    cert = certificate()
    password = flink.keystore_password(cert.key)
    path = tmp_path / "keystore.p12"
    path.write_bytes(flink.keystore(cert.cert, cert.key, cert.ca, password))
    listing = keytool_list(path, password)
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert "PrivateKeyEntry" in listing.stdout
    assert keytool_list(path, "password1234").returncode != 0


# -- the watched namespaces follow the file --------------------------------------------------

# Upstream defaults (KubernetesOperatorConfigOptions.java, see "operator options").
DYNAMIC_DEFAULTS = {
    "kubernetes.operator.dynamic.config.enabled": "true",
    "kubernetes.operator.dynamic.namespaces.enabled": "false",
}


def namespaces_follow_the_file(conf: dict[str, str]) -> bool:
    """True when the operator follows a new watched-namespace list in its config file.

    FlinkConfigManager re-reads FLINK_CONF_DIR only with dynamic config, and passes a new
    watched-namespace list to the controllers only with dynamic namespaces.
    """
    merged = {**DYNAMIC_DEFAULTS, **conf}
    return all(merged[key] == "true" for key in DYNAMIC_DEFAULTS)


def test_a_new_watched_namespace_needs_no_operator_restart():
    assert namespaces_follow_the_file(config())


def test_the_dynamic_model_rejects_upstreams_defaults():
    assert not namespaces_follow_the_file({})
    assert not namespaces_follow_the_file(
        {**config(), "kubernetes.operator.dynamic.config.enabled": "false"}
    )
