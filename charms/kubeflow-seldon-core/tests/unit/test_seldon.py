"""The workload module: settings, command line, environment, seldon-config, credentials."""

import base64
import json

import pytest

import seldon
from conftest import CONFIG_DEFAULTS as DEFAULTS
from dsplib.s3_credentials import S3Connection
from dsplib.validation import InvalidConfig


def settings(**overrides) -> seldon.Settings:
    return seldon.Settings.from_config({**DEFAULTS, **overrides})


def test_defaults_are_valid_and_pin_1_17_images():
    s = settings()
    assert s.log_level == "info"
    assert s.images.executor == "docker.io/seldonio/seldon-core-executor:1.17.1"
    assert s.istio_gateway == ""


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("log-level", "verbose"),
        ("webhook-port", 80),
        ("metrics-port", 0),
        ("istio-gateway", "no-slash"),
        ("istio-gateway", "Bad/Name"),
        ("executor-image", "not an image"),
        ("sklearn-server-image", "seldonio/sklearnserver"),
        ("mlserver-image", "seldonio/mlserver@sha256:" + "a" * 64),
        ("executor-cpu-limit", "half"),
        ("executor-memory-request", "-1Gi"),
        ("executor-request-logger-endpoint", "broker"),
        ("default-user-id", -5),
        ("model-secret-name", "Has_Underscore"),
        ("storage-initializer-image", ""),
    ],
)
def test_every_bad_value_names_its_option(option: str, value):
    with pytest.raises(InvalidConfig) as info:
        settings(**{option: value})
    assert info.value.option == option
    assert str(info.value).startswith(f"config {option}: expected ")


def test_manager_command_has_literal_flags_and_never_creates_resources():
    command = seldon.manager_command(settings(**{"log-level": "debug", "webhook-port": 9443}))
    assert command.startswith("/manager ")
    assert "--webhook-port=9443" in command
    assert "--log-level=DEBUG" in command
    assert "--create-resources=false" in command
    assert "$(" not in command


def test_environment_enables_istio_only_with_a_gateway():
    s = settings()
    off = seldon.manager_environment(s, "kubeflow", None)
    assert off["ISTIO_ENABLED"] == "false"
    assert off["ISTIO_GATEWAY"] == ""
    on = seldon.manager_environment(s, "kubeflow", seldon.Gateway("kubeflow", "kubeflow-gateway"))
    assert on["ISTIO_ENABLED"] == "true"
    assert on["ISTIO_GATEWAY"] == "kubeflow/kubeflow-gateway"
    assert on["POD_NAMESPACE"] == "kubeflow"
    assert on["EXECUTOR_CONTAINER_IMAGE_AND_VERSION"] == s.images.executor
    assert all(isinstance(v, str) for v in on.values())


def test_config_gateway_overrides_the_relation():
    related = seldon.Gateway("istio-system", "from-relation")
    assert seldon.effective_gateway(settings(), related) == related
    chosen = seldon.effective_gateway(settings(**{"istio-gateway": "ns/mine"}), related)
    assert chosen == seldon.Gateway("ns", "mine")


def test_gateway_from_relation():
    assert seldon.gateway_from_relation({}) is None
    gw = seldon.gateway_from_relation(
        {"gateway_name": "kubeflow-gateway", "gateway_namespace": "kubeflow"}
    )
    assert str(gw) == "kubeflow/kubeflow-gateway"
    with pytest.raises(ValueError, match="invalid gateway"):
        seldon.gateway_from_relation({"gateway_name": "x y", "gateway_namespace": "kubeflow"})


def test_predictor_servers_split_images_into_image_and_version():
    servers = seldon.predictor_servers(settings().images)
    assert servers["SKLEARN_SERVER"]["protocols"]["seldon"] == {
        "image": "docker.io/seldonio/sklearnserver",
        "defaultImageVersion": "1.17.1",
    }
    assert servers["SKLEARN_SERVER"]["protocols"]["v2"] == {
        "image": "docker.io/seldonio/mlserver",
        "defaultImageVersion": "1.3.5-sklearn",
    }
    assert servers["TENSORFLOW_SERVER"]["protocols"]["tensorflow"]["image"] == (
        "docker.io/tensorflow/serving"
    )
    assert servers["TRITON_SERVER"]["protocols"]["v2"]["defaultImageVersion"] == "21.08-py3"
    assert servers["TEMPO_SERVER"]["protocols"]["v2"]["defaultImageVersion"] == "1.3.5-slim"


def test_registry_ports_are_not_mistaken_for_tags():
    s = settings(**{"sklearn-server-image": "registry.local:5000/seldon/sklearnserver:1.17.1"})
    proto = seldon.predictor_servers(s.images)["SKLEARN_SERVER"]["protocols"]["seldon"]
    assert proto == {
        "image": "registry.local:5000/seldon/sklearnserver",
        "defaultImageVersion": "1.17.1",
    }


def test_seldon_config_values_are_json_the_operator_parses():
    data = seldon.seldon_config_data(settings().images)
    assert set(data) == {"predictor_servers", "storageInitializer", "explainer", "credentials"}
    init = json.loads(data["storageInitializer"])
    assert init["image"] == "docker.io/seldonio/rclone-storage-initializer:1.17.1"
    assert {"memoryRequest", "memoryLimit", "cpuRequest", "cpuLimit"} <= set(init)
    assert (
        json.loads(data["explainer"])["image_v2"]
        == "docker.io/seldonio/mlserver:1.3.5-alibi-explain"
    )


def test_rclone_secret_describes_an_s3_remote_for_ceph():
    s3 = S3Connection(
        endpoint="https://rgw.example:443",
        access_key="AK",
        secret_key="SK",
        bucket="models",
        region="default",
        path_style=True,
    )
    secret = seldon.rclone_secret("seldon-rclone-secret", s3)
    env = secret["stringData"]
    assert secret["metadata"]["name"] == "seldon-rclone-secret"
    assert env["RCLONE_CONFIG_S3_TYPE"] == "s3"
    assert env["RCLONE_CONFIG_S3_PROVIDER"] == "Ceph"
    assert env["RCLONE_CONFIG_S3_ENDPOINT"] == "https://rgw.example:443"
    assert env["RCLONE_CONFIG_S3_ACCESS_KEY_ID"] == "AK"
    assert env["RCLONE_CONFIG_S3_SECRET_ACCESS_KEY"] == "SK"
    assert env["RCLONE_CONFIG_S3_REGION"] == "default"
    assert env["RCLONE_CONFIG_S3_FORCE_PATH_STYLE"] == "true"


def test_rclone_secret_carries_the_proxy_environment_it_is_given():
    s3 = S3Connection(
        endpoint="http://10.0.0.5:7480", access_key="AK", secret_key="SK", bucket="m"
    )
    proxy_env = {"HTTPS_PROXY": "http://p:3128", "https_proxy": "http://p:3128"}
    env = seldon.rclone_secret("s", s3, proxy_env)["stringData"]
    assert env["HTTPS_PROXY"] == env["https_proxy"] == "http://p:3128"
    assert env["RCLONE_CONFIG_S3_ENDPOINT"] == "http://10.0.0.5:7480"
    assert not [k for k in seldon.rclone_secret("s", s3)["stringData"] if "PROXY" in k.upper()]


def test_manifest_context_carries_the_ca_bundle():
    ctx = seldon.manifest_context(
        app="seldon-core", namespace="kubeflow", settings=settings(), ca_cert="PEM"
    )
    assert base64.b64decode(ctx["ca_bundle"]) == b"PEM"
    assert ctx["webhook_port"] == 4443


def test_model_scrape_targets_cover_executor_services_only():
    services = [
        {
            "name": "iris-default",
            "namespace": "alice",
            "deployment": "iris",
            "ports": [8000, 5001],
        },
        {
            "name": "iris-default-classifier",
            "namespace": "alice",
            "deployment": "iris",
            "ports": [9000],
        },
    ]
    assert seldon.model_scrape_targets(services) == [
        {
            "targets": ["iris-default.alice.svc:8000"],
            "labels": {"seldon_deployment": "iris", "seldon_namespace": "alice"},
        }
    ]


def test_pebble_layer_checks_metrics_and_webhook_ports():
    layer = seldon.pebble_layer(settings(**{"metrics-port": 9090}), "kubeflow", None)
    checks = layer["checks"]
    assert checks["manager-metrics"]["http"]["url"] == "http://localhost:9090/metrics"
    assert checks["webhook-listening"]["tcp"]["port"] == 4443
    assert layer["services"]["seldon-core"]["startup"] == "enabled"
