"""The rendered workload against the upstream facts the charm depends on.

Each fact names the upstream file it comes from (Spark Operator 2.5.2, the controller-runtime
it links, Apache Spark 4.0, Istio). The tests check the Pebble layer, spark-defaults.conf and
the manifests against these facts, and the models of upstream rules have a case that fails,
so a change on either side is noticed here rather than by a crash-looping pod.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest

import spark
from conftest import CHARMCRAFT, CONFIG_DEFAULTS
from dsplib.validation import InvalidConfig
from render import NAMES, cluster_objects, example_resources

SO = "kubeflow/spark-operator@v2.5.2"
CR = "kubernetes-sigs/controller-runtime"

# fact -> (value, source)
UPSTREAM: dict[str, tuple[object, str]] = {
    "binary": ("/usr/bin/spark-operator", f"{SO} Dockerfile (COPY ... /usr/bin/spark-operator)"),
    "subcommands": (
        ("controller start", "webhook start"),
        f"{SO} charts/spark-operator-chart/templates/{{controller,webhook}}/deployment.yaml args",
    ),
    "zap-log-level words": (
        ("debug", "info", "error"),
        f"{CR} pkg/log/zap/flags.go levelStrings (levelFlag.Set; else a positive integer)",
    ),
    "zap-encoder values": (("json", "console"), f"{CR} pkg/log/zap/flags.go encoderFlag.Set"),
    "health probe": (
        (8081, "/readyz"),
        f"{SO} charts/.../controller/deployment.yaml readinessProbe; "
        "cmd/operator/controller/start.go --health-probe-bind-address default :8081",
    ),
    "metrics": (
        (8080, "/metrics"),
        f"{SO} charts/spark-operator-chart/values.yaml prometheus.metrics.port/endpoint",
    ),
    "webhook port": (9443, f"{SO} cmd/operator/webhook/start.go --webhook-port default 9443"),
    "webhook cert dir": (
        "/etc/k8s-webhook-server/serving-certs",
        f"{SO} cmd/operator/webhook/start.go --webhook-cert-dir default",
    ),
    "spark uid": (185, "apache/spark-docker Dockerfile (spark user 185); chart fsGroup 185"),
    "SPARK_HOME": (
        "/opt/spark",
        f"{SO} internal/controller/sparkapplication/submission.go runSparkSubmit "
        "($SPARK_HOME/bin/spark-submit, env inherited from the controller)",
    ),
    "feature gate LoadSparkDefaults": (
        "LoadSparkDefaults",
        f"{SO} pkg/features/features.go (alpha since v2.5.0, default false; PR #2798)",
    ),
    "image spark-submit": (
        (4, 0, 4),
        f"{SO} Dockerfile base docker.io/library/spark:4.0.4 (PR #3052, cherry-picked to "
        "release-2.5.2)",
    ),
    "--load-spark-defaults since": (
        (4, 0, 0),
        "apache/spark PR #46782 (SPARK-48392) SparkSubmitArguments.scala; the flag "
        "LoadSparkDefaults adds",
    ),
    "defaults file": (
        "spark-defaults.conf",
        "apache/spark v4.0 SparkSubmitArguments.scala mergeDefaultSparkProperties: "
        "Utils.getDefaultPropertiesFile = $SPARK_CONF_DIR/spark-defaults.conf, "
        "loaded only for keys not set by --conf or the properties file",
    ),
    "pod property prefixes": (
        (
            "spark.kubernetes.driver.label.",
            "spark.kubernetes.driver.annotation.",
            "spark.kubernetes.executor.label.",
            "spark.kubernetes.executor.annotation.",
        ),
        "apache/spark resource-managers/kubernetes/core/.../Config.scala "
        "KUBERNETES_DRIVER_LABEL_PREFIX etc.",
    ),
    "pod environment properties": (
        ("spark.kubernetes.driverEnv.", "spark.executorEnv."),
        "apache/spark docs/running-on-kubernetes.md spark.kubernetes.driverEnv.[Name]; "
        "docs/configuration.md spark.executorEnv.[Name]",
    ),
    "administrator JVM options": (
        ("spark.driver.defaultJavaOptions", "spark.executor.defaultJavaOptions"),
        "apache/spark core/.../internal/config/package.scala DRIVER_DEFAULT_JAVA_OPTIONS, "
        "EXECUTOR_DEFAULT_JAVA_OPTIONS (since 3.0): prepended to extraJavaOptions",
    ),
    "submit JVM options variable": (
        "SPARK_SUBMIT_OPTS",
        "apache/spark launcher/.../SparkSubmitCommandBuilder.java buildSparkSubmitCommand "
        "(addOptionString from the environment), run by bin/spark-class",
    ),
    "istio opt-out": (
        ("sidecar.istio.io/inject", "false"),
        "istio/istio pkg/kube/inject/webhook.go injectRequired (label or annotation)",
    ),
}

CONTROLLER_FLAGS = {
    # cmd/operator/controller/start.go NewStartCommand (v2.5.2), plus the zap flags that
    # zapOptions.BindFlags adds and --feature-gates from utilfeature.DefaultMutableFeatureGate.
    "zap-log-level",
    "zap-encoder",
    "namespaces",
    "namespace-selector",
    "controller-threads",
    "enable-ui-service",
    "enable-batch-scheduler",
    "default-batch-scheduler",
    "enable-metrics",
    "metrics-bind-address",
    "metrics-endpoint",
    "metrics-prefix",
    "metrics-labels",
    "health-probe-bind-address",
    "leader-election",
    "leader-election-lock-name",
    "leader-election-lock-namespace",
    "leader-election-lease-duration",
    "leader-election-renew-deadline",
    "leader-election-retry-period",
    "workqueue-ratelimiter-bucket-qps",
    "workqueue-ratelimiter-bucket-size",
    "workqueue-ratelimiter-max-delay",
    "driver-pod-creation-grace-period",
    "max-tracked-executor-per-app",
    "kube-api-qps",
    "kube-api-burst",
    "scheduled-spark-application-timestamp-precision",
    "feature-gates",
}
WEBHOOK_FLAGS = {
    # cmd/operator/webhook/start.go NewStartCommand (v2.5.2) and the same zap flags.
    "zap-log-level",
    "zap-encoder",
    "namespaces",
    "webhook-secret-name",
    "webhook-secret-namespace",
    "webhook-svc-name",
    "webhook-svc-namespace",
    "webhook-port",
    "webhook-cert-dir",
    "mutating-webhook-name",
    "validating-webhook-name",
    "enable-resource-quota-enforcement",
    "enable-metrics",
    "metrics-bind-address",
    "metrics-endpoint",
    "metrics-prefix",
    "metrics-labels",
    "health-probe-bind-address",
    "leader-election",
    "leader-election-lock-name",
    "leader-election-lock-namespace",
}


def fact(name: str) -> Any:
    return UPSTREAM[name][0]


def zap_level_accepted(value: str) -> bool:
    """controller-runtime's levelFlag.Set: a known word (any case) or an integer above 0."""
    if value.lower() in fact("zap-log-level words"):
        return True
    return bool(re.fullmatch(r"[+-]?[0-9]+", value)) and int(value) > 0


def settings(**overrides) -> spark.Settings:
    return spark.Settings.from_config({**CONFIG_DEFAULTS, **overrides})


def flags(command: str) -> dict[str, str]:
    argv = shlex.split(command)
    return dict(a.removeprefix("--").split("=", 1) for a in argv if a.startswith("--"))


def layer(**overrides):
    return spark.pebble_layer(settings(**overrides), NAMES)


def test_every_fact_names_its_source():
    for name, (_value, source) in UPSTREAM.items():
        assert source.strip(), name


def test_the_zap_model_rejects_warn_and_accepts_verbosity_numbers():
    assert not zap_level_accepted("warn")
    assert not zap_level_accepted("0")
    assert not zap_level_accepted("")
    assert zap_level_accepted("ERROR")
    assert zap_level_accepted("3")


@pytest.mark.parametrize("level", ["debug", "info", "error", "warn", "warning", "trace"])
def test_only_levels_the_binary_parses_reach_the_command_line(level):
    """`warn` used to be offered and made both processes exit at flag parsing."""
    if level not in spark.LOG_LEVELS:
        with pytest.raises(InvalidConfig, match="log-level"):
            layer(**{"log-level": level})
        assert not zap_level_accepted(level)
        return
    rendered = layer(**{"log-level": level})
    for service in rendered["services"].values():
        assert zap_level_accepted(flags(service["command"])["zap-log-level"])


def test_the_option_description_offers_exactly_the_accepted_levels():
    description = CHARMCRAFT["config"]["options"]["log-level"]["description"]
    offered = [
        w for w in ("debug", "info", "warn", "error") if re.search(rf"\b{w}\b", description)
    ]
    assert offered == list(spark.LOG_LEVELS)
    assert all(zap_level_accepted(level) for level in spark.LOG_LEVELS)


def test_encoder_is_one_the_binary_parses():
    for service in layer()["services"].values():
        assert flags(service["command"])["zap-encoder"] in fact("zap-encoder values")


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"job-namespaces": "alice,bob", "batch-scheduler": "volcano"},
        {"resource-quota-enforcement": True, "log-level": "debug"},
    ],
)
def test_commands_use_the_binary_its_subcommands_and_only_flags_it_defines(config):
    services = layer(**config)["services"]
    known = {"controller": CONTROLLER_FLAGS, "webhook": WEBHOOK_FLAGS}
    for name, service in services.items():
        argv = shlex.split(service["command"])
        assert argv[0] == fact("binary")
        assert " ".join(argv[1:3]) in fact("subcommands")
        assert set(flags(service["command"])) <= known[name], name


def test_a_flag_the_binary_does_not_define_is_noticed():
    command = spark.pebble_layer(settings(), NAMES)["services"]["controller"]["command"]
    assert not set(flags(command + " --enable-webhook=true")) <= CONTROLLER_FLAGS


def test_ports_paths_and_user_match_the_image():
    rendered = layer()
    controller = flags(rendered["services"]["controller"]["command"])
    webhook = flags(rendered["services"]["webhook"]["command"])
    port, path = fact("health probe")
    assert controller["health-probe-bind-address"] == f":{port}"
    assert rendered["checks"]["controller-ready"]["http"]["url"].endswith(f":{port}{path}")
    metrics_port, metrics_path = fact("metrics")
    assert controller["metrics-bind-address"] == f":{metrics_port}"
    assert controller["metrics-endpoint"] == webhook["metrics-endpoint"] == metrics_path
    assert webhook["webhook-port"] == str(fact("webhook port"))
    assert webhook["webhook-cert-dir"] == fact("webhook cert dir")
    for service in rendered["services"].values():
        assert service["user-id"] == service["group-id"] == fact("spark uid")
        assert service["environment"]["SPARK_HOME"] == fact("SPARK_HOME")


def test_webhook_service_targets_the_port_the_process_serves():
    service = next(
        o
        for o in cluster_objects()
        if o["kind"] == "Service" and o["metadata"]["name"] == NAMES.webhook_service
    )
    assert service["spec"]["ports"][0]["targetPort"] == fact("webhook port")


# -- Istio opt-out of every SparkApplication's driver and executors ---------------------------


def parse_properties(text: str) -> dict[str, str]:
    """spark-defaults.conf as java.util.Properties reads it: `key value`, `key=value`."""
    result = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, _, value = re.split(r"(\s*[=:]\s*|\s+)", line, maxsplit=1)
        result[key] = value.strip()
    return result


def merged_spark_conf(submit_conf: dict[str, str], defaults: str) -> dict[str, str]:
    """What spark-submit ends with: --conf wins, the defaults file fills what is missing."""
    merged = dict(submit_conf)
    for key, value in parse_properties(defaults).items():
        merged.setdefault(key, value)
    return merged


def pod_metadata(conf: dict[str, str], role: str) -> tuple[dict[str, str], dict[str, str]]:
    """The labels and annotations Spark puts on a driver or executor pod from its conf."""
    label_prefix = f"spark.kubernetes.{role}.label."
    annotation_prefix = f"spark.kubernetes.{role}.annotation."
    labels = {
        k.removeprefix(label_prefix): v for k, v in conf.items() if k.startswith(label_prefix)
    }
    annotations = {
        k.removeprefix(annotation_prefix): v
        for k, v in conf.items()
        if k.startswith(annotation_prefix)
    }
    return labels, annotations


def istio_injects(labels: dict[str, str], annotations: dict[str, str]) -> bool:
    """Istio's decision for a pod in a namespace with injection: label first, then annotation."""
    key, off = fact("istio opt-out")
    value = labels.get(key, annotations.get(key, "true"))
    return value.lower() != off


def test_the_controller_loads_spark_defaults_from_the_directory_the_charm_writes():
    service = layer()["services"]["controller"]
    assert service["environment"]["SPARK_CONF_DIR"] == spark.SPARK_CONF_DIR
    assert spark.SPARK_DEFAULTS.endswith(f"/{fact('defaults file')}")
    gates = flags(service["command"])["feature-gates"]
    assert f"{fact('feature gate LoadSparkDefaults')}=true" in gates.split(",")


def test_the_image_spark_submit_understands_what_the_feature_gate_adds():
    assert fact("image spark-submit") >= fact("--load-spark-defaults since")


def test_every_property_in_spark_defaults_is_a_pod_property_spark_knows():
    properties = parse_properties(spark.spark_defaults())
    assert properties
    for key in properties:
        assert key.startswith(fact("pod property prefixes")), key


@pytest.mark.parametrize("role", ["driver", "executor"])
def test_an_application_without_an_opt_out_gets_no_sidecar(role):
    conf = merged_spark_conf({"spark.kubernetes.namespace": "alice"}, spark.spark_defaults())
    assert not istio_injects(*pod_metadata(conf, role))


def test_without_the_defaults_file_the_pods_would_get_a_sidecar():
    conf = merged_spark_conf({"spark.kubernetes.namespace": "alice"}, "")
    assert istio_injects(*pod_metadata(conf, "driver"))


def test_an_application_can_still_ask_for_a_sidecar():
    submitted = {
        "spark.kubernetes.driver.label.sidecar.istio.io/inject": "true",
        "spark.kubernetes.driver.annotation.sidecar.istio.io/inject": "true",
    }
    conf = merged_spark_conf(submitted, spark.spark_defaults())
    assert istio_injects(*pod_metadata(conf, "driver"))
    assert not istio_injects(*pod_metadata(conf, "executor"))


def test_the_documented_templates_opt_out_under_any_operator():
    """examples/spark: the driver and executors say so themselves, defaults or not."""
    for app in example_resources():
        for role in ("driver", "executor"):
            spec = app["spec"][role]
            assert not istio_injects(spec.get("labels", {}), spec.get("annotations", {})), role


# -- the model's HTTP proxy -------------------------------------------------------------------


def proxied():
    from dsplib.proxy import ProxySettings

    return ProxySettings(
        http="http://squid.internal:3128",
        https="http://squid.internal:3128",
        no_proxy="127.0.0.1,localhost,::1,10.20.0.0/16,.ceph.internal",
    )


def test_with_a_proxy_spark_defaults_use_only_properties_spark_knows():
    text = spark.spark_defaults(proxied(), ("10.152.183.0/24",))
    known = (
        *fact("pod property prefixes"),
        *fact("pod environment properties"),
        *fact("administrator JVM options"),
    )
    for key in parse_properties(text):
        assert key.startswith(known), key


def test_with_a_proxy_drivers_and_executors_get_it_in_both_forms():
    conf = merged_spark_conf({}, spark.spark_defaults(proxied(), ("10.152.183.0/24",)))
    for prefix in fact("pod environment properties"):
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
            assert conf[f"{prefix}{name}"] == "http://squid.internal:3128"
        no_proxy = conf[f"{prefix}NO_PROXY"].split(",")
        assert {".svc", ".cluster.local", "10.152.183.0/24", ".ceph.internal"} <= set(no_proxy)
    for key in fact("administrator JVM options"):
        options = shlex.split(conf[key])  # as Spark's splitCommandString reads it
        assert "-Dhttps.proxyHost=squid.internal" in options
        hosts = next(o for o in options if o.startswith("-Dhttp.nonProxyHosts=")).split("=")[1]
        assert {"*.svc", "10.152.183.*", "10.20.*", "*.ceph.internal"} <= set(hosts.split("|"))


def test_an_application_keeps_its_own_java_options_and_environment():
    """DefaultJavaOptions is the administrator's slot; the application's extraJavaOptions stays."""
    submitted = {
        "spark.driver.extraJavaOptions": "-Dmine=1",
        "spark.kubernetes.driverEnv.HTTPS_PROXY": "http://other:8080",
    }
    conf = merged_spark_conf(submitted, spark.spark_defaults(proxied()))
    assert conf["spark.driver.extraJavaOptions"] == "-Dmine=1"
    assert conf["spark.kubernetes.driverEnv.HTTPS_PROXY"] == "http://other:8080"
    assert "-Dhttps.proxyHost=squid.internal" in conf["spark.driver.defaultJavaOptions"]


def test_without_a_proxy_spark_defaults_hold_only_the_sidecar_opt_out():
    from dsplib.proxy import ProxySettings

    no_proxy = ProxySettings(no_proxy="127.0.0.1,localhost,::1")
    assert spark.spark_defaults(no_proxy, ("10.1.0.0/16",)) == spark.spark_defaults()


def test_with_a_proxy_only_spark_submit_gets_it_in_the_operator_container():
    layer = spark.pebble_layer(settings(), NAMES, proxied())
    controller = layer["services"]["controller"]["environment"]
    options = shlex.split(controller[fact("submit JVM options variable")])
    assert "-Dhttp.proxyHost=squid.internal" in options
    assert any(o.startswith("-Dhttp.nonProxyHosts=*.svc|") for o in options)
    for service in layer["services"].values():
        assert not [k for k in service["environment"] if k.upper().endswith("_PROXY")]
    assert "SPARK_SUBMIT_OPTS" not in layer["services"]["webhook"]["environment"]
    plain = spark.pebble_layer(settings(), NAMES)["services"]["controller"]["environment"]
    assert "SPARK_SUBMIT_OPTS" not in plain
