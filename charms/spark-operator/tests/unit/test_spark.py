"""The workload module: settings, both command lines, the layer, and the profile objects."""

import base64
import shlex

import pytest

import spark
from conftest import CONFIG_DEFAULTS as DEFAULTS
from dsplib.validation import InvalidConfig
from render import NAMES, s3_connection


def settings(**overrides) -> spark.Settings:
    return spark.Settings.from_config({**DEFAULTS, **overrides})


def flags(args: list[str]) -> dict[str, str]:
    return dict(a.removeprefix("--").split("=", 1) for a in args if a.startswith("--"))


def test_defaults_select_every_profile_namespace():
    s = settings()
    assert s.job_namespaces == ()
    assert s.namespace_selector == "app.kubernetes.io/part-of=kubeflow-profile"
    assert s.spark_image == "docker.io/library/spark:4.0.1-python3"
    assert (s.controller_threads, s.batch_scheduler, s.log_level) == (10, "", "info")


def test_job_namespaces_are_a_clean_list():
    s = settings(**{"job-namespaces": " alice, team-data ,alice,, "})
    assert s.job_namespaces == ("alice", "team-data")
    assert s.namespace_selector == ""


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("spark-image", "not an image"),
        ("spark-image", ""),
        ("job-namespaces", "Alice"),
        ("job-namespaces", "ok,bad_name"),
        ("controller-threads", 0),
        ("controller-threads", 5000),
        ("batch-scheduler", "kube-batch"),
        ("log-level", "verbose"),
        ("resource-quota-enforcement", "yes"),
    ],
)
def test_every_bad_value_names_its_option(option, value):
    with pytest.raises(InvalidConfig) as info:
        settings(**{option: value})
    assert info.value.option == option
    assert str(info.value).startswith(f"config {option}: expected ")


def test_controller_runs_on_the_profile_selector_with_upstream_flags():
    args = spark.controller_args(settings(), NAMES)
    assert args[:2] == ["controller", "start"]
    f = flags(args)
    assert f["namespace-selector"] == "app.kubernetes.io/part-of=kubeflow-profile"
    assert "namespaces" not in f
    assert f["controller-threads"] == "10"
    assert f["metrics-bind-address"] == ":8080"
    assert f["health-probe-bind-address"] == ":8081"
    assert f["leader-election-lock-name"] == "spark-operator-controller-lock"
    assert f["leader-election-lock-namespace"] == "kubeflow"
    assert f["zap-log-level"] == "info"
    assert "enable-batch-scheduler" not in f


def test_controller_with_listed_namespaces_and_a_batch_scheduler():
    s = settings(
        **{
            "job-namespaces": "alice,bob",
            "batch-scheduler": "volcano",
            "controller-threads": 32,
            "log-level": "debug",
        }
    )
    f = flags(spark.controller_args(s, NAMES))
    assert f["namespaces"] == "alice,bob"
    assert "namespace-selector" not in f
    assert f["enable-batch-scheduler"] == "true"
    assert f["default-batch-scheduler"] == "volcano"
    assert f["controller-threads"] == "32"
    assert f["zap-log-level"] == "debug"


def test_webhook_is_told_the_names_the_charm_renders():
    f = flags(spark.webhook_args(settings(), NAMES))
    assert f["webhook-svc-name"] == NAMES.webhook_service == "spark-operator-webhook-svc"
    assert f["webhook-svc-namespace"] == f["webhook-secret-namespace"] == "kubeflow"
    assert f["webhook-secret-name"] == "spark-operator-webhook-certs"
    assert f["mutating-webhook-name"] == f["validating-webhook-name"]
    assert f["mutating-webhook-name"] == "spark-operator-kubeflow-webhook"
    assert f["webhook-port"] == "9443"
    assert f["webhook-cert-dir"] == spark.CERT_DIR
    assert "enable-resource-quota-enforcement" not in f
    assert "namespaces" not in f


def test_webhook_quota_enforcement_and_namespaces():
    s = settings(**{"resource-quota-enforcement": True, "job-namespaces": "alice"})
    f = flags(spark.webhook_args(s, NAMES))
    assert f["enable-resource-quota-enforcement"] == "true"
    assert f["namespaces"] == "alice"


def test_both_processes_in_one_container_use_distinct_ports():
    controller = flags(spark.controller_args(settings(), NAMES))
    webhook = flags(spark.webhook_args(settings(), NAMES))
    ports = [
        controller["metrics-bind-address"],
        controller["health-probe-bind-address"],
        webhook["metrics-bind-address"],
        webhook["health-probe-bind-address"],
        ":" + webhook["webhook-port"],
    ]
    assert len(set(ports)) == len(ports)


def test_layer_runs_both_processes_as_spark_with_a_check_each():
    layer = spark.pebble_layer(settings(), NAMES)
    assert set(layer["services"]) == {"controller", "webhook"}
    for name, service in layer["services"].items():
        argv = shlex.split(service["command"])
        assert argv[:3] == ["/usr/bin/spark-operator", name, "start"]
        assert service["user-id"] == service["group-id"] == 185
        assert service["startup"] == "enabled"
    assert {n: c["http"]["url"] for n, c in layer["checks"].items()} == {
        "controller-ready": "http://localhost:8081/readyz",
        "webhook-ready": "http://localhost:8083/readyz",
    }


def test_scrape_jobs_cover_both_metrics_ports():
    targets = {j["job_name"]: j["static_configs"][0]["targets"] for j in spark.scrape_jobs()}
    assert targets == {"controller": ["*:8080"], "webhook": ["*:8082"]}


def decoded(secret) -> dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in secret["data"].items()}


def test_s3_secret_holds_core_site_and_aws_variables():
    data = decoded(spark.s3_secret(NAMES, s3_connection(tls_ca="")))
    assert data["AWS_ACCESS_KEY_ID"] == b"ACCESS"
    assert data["AWS_ENDPOINT_URL"] == b"https://rgw.ceph.example:443"
    assert data["AWS_DEFAULT_REGION"] == b"default"
    assert data["SPARK_EVENT_LOG_DIR"] == b"s3a://spark/team/spark-events"
    site = data["core-site.xml"].decode()
    assert "<name>fs.s3a.path.style.access</name><value>true</value>" in site
    assert "<name>fs.s3a.connection.ssl.enabled</name><value>true</value>" in site
    assert "<value>SECRET&lt;&amp;&gt;</value>" in site  # escaped, still well-formed XML
    assert "truststore.jks" not in data
    assert "JAVA_TOOL_OPTIONS" not in data


def test_core_site_is_well_formed_xml():
    import xml.etree.ElementTree as ET

    root = ET.fromstring(spark.core_site(s3_connection()))  # noqa: S314 - our own output
    values = {p.findtext("name"): p.findtext("value") for p in root}
    assert values["fs.s3a.secret.key"] == "SECRET<&>"
    assert values["fs.s3a.endpoint.region"] == "default"


def test_plain_http_endpoint_without_region_or_path():
    conn = s3_connection(endpoint="http://rgw:80", region="", path="", tls_ca="")
    data = decoded(spark.s3_secret(NAMES, conn))
    assert data["AWS_DEFAULT_REGION"] == b"us-east-1"
    assert data["SPARK_EVENT_LOG_DIR"] == b"s3a://spark/spark-events"
    assert (
        b"<name>fs.s3a.connection.ssl.enabled</name><value>false</value>" in data["core-site.xml"]
    )


def test_private_ca_comes_with_a_trust_store_the_jvm_is_pointed_at():
    data = decoded(spark.s3_secret(NAMES, s3_connection()))
    assert data["ca.crt"].decode().startswith("-----BEGIN CERTIFICATE-----")
    assert data["truststore.jks"][:4] == bytes.fromhex("feedfeed")
    options = data["JAVA_TOOL_OPTIONS"].decode()
    assert "-Djavax.net.ssl.trustStore=/etc/spark-s3/truststore.jks" in options
    assert data["AWS_CA_BUNDLE"] == b"/etc/spark-s3/ca.crt"


def test_secret_is_stable_for_the_same_relation_data():
    assert spark.s3_secret(NAMES, s3_connection()) == spark.s3_secret(NAMES, s3_connection())


def env_of(pod_default) -> dict[str, dict]:
    return {e["name"]: e for e in pod_default["spec"]["env"]}


def test_poddefault_without_s3_names_image_and_driver_account():
    pd = spark.pod_default(NAMES, settings(), with_s3=False)
    assert pd["metadata"]["name"] == "access-spark"
    assert pd["spec"]["selector"] == {"matchLabels": {"access-spark": "true"}}
    env = env_of(pd)
    assert env["SPARK_IMAGE"]["value"] == "docker.io/library/spark:4.0.1-python3"
    assert env["SPARK_SERVICE_ACCOUNT"]["value"] == "spark-operator-spark"
    assert "volumes" not in pd["spec"]
    assert "SPARK_S3_SECRET" not in env


def test_poddefault_with_s3_mounts_the_secret_and_references_its_keys():
    pd = spark.pod_default(NAMES, settings(), with_s3=True)
    env = env_of(pd)
    assert env["HADOOP_CONF_DIR"]["value"] == "/etc/spark-s3"
    ref = env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "spark-operator-s3", "key": "AWS_SECRET_ACCESS_KEY"}
    assert env["JAVA_TOOL_OPTIONS"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert pd["spec"]["volumes"] == [
        {"name": "spark-s3", "secret": {"secretName": "spark-operator-s3"}}
    ]
    assert pd["spec"]["volumeMounts"][0]["mountPath"] == "/etc/spark-s3"
    secret_keys = set(spark.s3_secret(NAMES, s3_connection())["data"])
    referenced = {e["valueFrom"]["secretKeyRef"]["key"] for e in env.values() if "valueFrom" in e}
    assert referenced <= secret_keys


def test_driver_role_binding_binds_the_account_of_its_own_namespace():
    binding = spark.driver_role_binding(NAMES)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "spark-operator-spark"}]
    assert binding["roleRef"]["name"] == spark.driver_role(NAMES)["metadata"]["name"]


def test_with_a_proxy_the_pod_default_gives_notebooks_the_proxy_and_submit_options():
    from dsplib.proxy import ProxySettings

    proxy = ProxySettings(https="http://squid.internal:3128", no_proxy=".ceph.internal")
    pd = spark.pod_default(NAMES, settings(), with_s3=False, proxy=proxy)
    env = {e["name"]: e["value"] for e in pd["spec"]["env"]}
    assert env["HTTPS_PROXY"] == env["https_proxy"] == "http://squid.internal:3128"
    assert "HTTP_PROXY" not in env
    assert ".ceph.internal" in env["NO_PROXY"].split(",")
    assert "10.152.183.0/24" in env["no_proxy"].split(",")  # the default cluster-cidrs
    assert "-Dhttps.proxyHost=squid.internal" in shlex.split(env["SPARK_SUBMIT_OPTS"])
    plain = spark.pod_default(NAMES, settings(), with_s3=False)
    assert [e["name"] for e in plain["spec"]["env"]] == ["SPARK_IMAGE", "SPARK_SERVICE_ACCOUNT"]


def test_cluster_cidrs_are_validated():
    assert settings(**{"cluster-cidrs": "10.1.0.0/16, 10.152.183.0/24"}).cluster_networks == (
        "10.1.0.0/16",
        "10.152.183.0/24",
    )
    with pytest.raises(InvalidConfig, match="cluster-cidrs"):
        settings(**{"cluster-cidrs": "10.1.0.0/16,kubernetes"})
