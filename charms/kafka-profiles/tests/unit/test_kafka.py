"""Kafka's answer checked and turned into what profiles get, host names made resolvable."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

import kafka
from dsplib import validation
from dsplib.testing import validate_manifests
from render import CA, rendered_manifests

CRDS = [
    yaml.safe_load(
        (Path(__file__).parents[4] / "tests/crds/poddefaults.kubeflow.org.yaml").read_text()
    )
]
DEFAULTS = {
    "topic": "profiles",
    "extra-user-roles": "consumer,producer",
    "consumer-group-prefix": "",
    "kafka-namespace": "",
    "cluster-domain": "cluster.local",
    "kafka-extra-listener-port": 0,
}
SETTINGS = kafka.Settings.from_config(DEFAULTS, "kubeflow")
USER = {"username": "relation-7", "password": "Dy0k2UTfyNt2B13c"}


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        # what kafka-k8s 4 hands out today (issue canonical/kafka-operator#560)
        (
            "kafka-k8s-0.kafka-k8s-endpoints:9092",
            "kafka-k8s-0.kafka-k8s-endpoints.kafka.svc.cluster.local:9092",
        ),
        ("kafka-k8s:9092", "kafka-k8s.kafka.svc.cluster.local:9092"),
        # already fully qualified (the fix of PR #541), external names and addresses: kept
        (
            "kafka-k8s-0.kafka-k8s-endpoints.kafka.svc.cluster.local:9093",
            "kafka-k8s-0.kafka-k8s-endpoints.kafka.svc.cluster.local:9093",
        ),
        ("broker1.example.com:9094", "broker1.example.com:9094"),
        ("10.1.2.3:9092", "10.1.2.3:9092"),
        ("[fd00::1]:9092", "[fd00::1]:9092"),
    ],
)
def test_short_names_become_fully_qualified(endpoint: str, expected: str):
    assert kafka.fully_qualified(endpoint, "kafka", "cluster.local") == expected


@pytest.mark.parametrize(
    "endpoint",
    ["kafka-k8s-0", "kafka:port", "kafka:0", "kafka:70000", "bad host:9092", "a\nb:9092", ":9092"],
)
def test_an_endpoint_that_is_not_host_and_port_is_refused(endpoint: str):
    with pytest.raises(kafka.InvalidKafkaData):
        kafka.fully_qualified(endpoint, "kafka", "cluster.local")


def test_credentials_from_the_databag_and_user_secret_kafka_writes_today():
    bag = {
        "endpoints": "kafka-k8s-0.kafka-k8s-endpoints:9092,kafka-k8s-1.kafka-k8s-endpoints:9092",
        "topic": "profiles",
        "consumer-group-prefix": "relation-7-",
        "tls": "disabled",
        "secret-user": "secret:abc",
    }
    creds = kafka.credentials(bag, USER, SETTINGS)
    assert creds is not None
    assert creds.bootstrap_servers == (
        "kafka-k8s-0.kafka-k8s-endpoints.kubeflow.svc.cluster.local:9092",
        "kafka-k8s-1.kafka-k8s-endpoints.kubeflow.svc.cluster.local:9092",
    )
    assert creds.security_protocol == "SASL_PLAINTEXT"
    assert creds.jaas_config.endswith('username="relation-7" password="Dy0k2UTfyNt2B13c";')


def test_nothing_until_kafka_has_answered():
    assert kafka.credentials({}, {}, SETTINGS) is None
    assert kafka.credentials({"endpoints": "k-0.k-endpoints:9092"}, {}, SETTINGS) is None


def test_tls_waits_for_the_ca_then_uses_sasl_ssl():
    bag = {"endpoints": "k-0.k-endpoints:9093", "tls": "enabled"}
    assert kafka.credentials(bag, USER, SETTINGS) is None
    creds = kafka.credentials(bag, {**USER, "tls-ca": CA}, SETTINGS)
    assert creds is not None and creds.security_protocol == "SASL_SSL"
    assert creds.tls_ca == CA


@pytest.mark.parametrize(
    ("bag", "secret"),
    [
        ({"endpoints": "not a host"}, USER),
        ({"endpoints": ","}, USER),
        ({"endpoints": "k-0.k:9092"}, {"username": 'a" b', "password": "x"}),
        ({"endpoints": "k-0.k:9092"}, {"username": "a", "password": 'p";evil'}),
        ({"endpoints": "k-0.k:9092"}, {"username": "a", "password": ""}),
        ({"endpoints": "k-0.k:9092", "topic": "bad topic!"}, USER),
        ({"endpoints": "k-0.k:9092", "consumer-group-prefix": "x y"}, USER),
        ({"endpoints": "k-0.k:9092", "tls": "enabled", "tls-ca": "not a pem"}, USER),
    ],
)
def test_hostile_or_broken_data_is_refused(bag: dict[str, str], secret: dict[str, str]):
    with pytest.raises(kafka.InvalidKafkaData):
        kafka.credentials(bag, secret, SETTINGS)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("topic", ""),
        ("topic", "a b"),
        ("topic", "ab*"),  # Kafka refuses '*' in the first three characters
        ("topic", "x" * 250),
        ("extra-user-roles", "reader"),
        ("extra-user-roles", ""),
        ("consumer-group-prefix", "a/b"),
        ("kafka-namespace", "Not_A_Namespace"),
        ("cluster-domain", "bad domain"),
        ("kafka-extra-listener-port", 20000),
        ("kafka-extra-listener-port", 50000),
        ("kafka-extra-listener-port", -1),
        ("kafka-extra-listener-port", 9092),
    ],
)
def test_bad_config_names_the_option(option: str, value: str):
    with pytest.raises(validation.InvalidConfig) as err:
        kafka.Settings.from_config({**DEFAULTS, option: value}, "kubeflow")
    assert err.value.option == option


def test_a_prefix_topic_and_the_request_kafka_reads():
    settings = kafka.Settings.from_config(
        {**DEFAULTS, "topic": "sales-*", "consumer-group-prefix": "team-a-"}, "kubeflow"
    )
    request = settings.request()
    assert request["topic"] == "sales-*"
    assert request["extra-user-roles"] == "consumer,producer"
    assert request["consumer-group-prefix"] == "team-a-"
    assert "username" in request["requested-secrets"]


def test_profile_objects_validate_against_kubernetes_and_the_poddefault_crd():
    validate_manifests(rendered_manifests(), CRDS)


def test_the_poddefault_reads_every_key_from_the_secret_and_mounts_the_ca_with_tls():
    secret, pod_default, tls_secret, tls_pod_default = rendered_manifests()
    assert pod_default["metadata"]["name"] == "access-kafka"
    assert pod_default["spec"]["selector"] == {"matchLabels": {"access-kafka": "true"}}
    refs = {
        e["valueFrom"]["secretKeyRef"]["key"]
        for e in pod_default["spec"]["env"]
        if "valueFrom" in e
    }
    assert refs <= set(secret["data"]), "every referenced key exists in the Secret"
    assert "volumes" not in pod_default["spec"]
    mount = tls_pod_default["spec"]["volumeMounts"][0]["mountPath"]
    location = base64.b64decode(tls_secret["data"]["KAFKA_SSL_CA_LOCATION"]).decode()
    assert location == f"{mount}/ca.crt"
    assert base64.b64decode(tls_secret["data"]["ca.crt"]).decode() == CA
    protocol = base64.b64decode(tls_secret["data"]["KAFKA_SECURITY_PROTOCOL"]).decode()
    assert protocol == "SASL_SSL"


# -- the extra listener: brokers that advertise fully qualified names ----------------------


# Charmed Kafka's rule for an extra-listeners base port (canonical/kafka-operator
# core/structured_config.py extra_listeners_port_values: 20000 < port < 50000) and the ports
# it allocates (k8s/config.yaml extra-listeners: base 30000 -> 39092, 39093 ... per scheme,
# the client listener's port plus the base).
def kafka_accepts_base_port(port: int) -> bool:
    return 20000 < port < 50000


def extra_listener_port(base: int, client_port: int) -> int:
    return base + client_port


def test_the_option_accepts_exactly_the_base_ports_kafka_accepts():
    for port in (20000, 20001, 30000, 49999, 50000):
        config = {**DEFAULTS, "kafka-extra-listener-port": port}
        if kafka_accepts_base_port(port):
            assert kafka.Settings.from_config(config, "kubeflow").extra_listener_port == port
        else:
            with pytest.raises(validation.InvalidConfig):
                kafka.Settings.from_config(config, "kubeflow")


def test_the_kafka_port_model_rejects_its_bounds():
    assert not kafka_accepts_base_port(20000) and not kafka_accepts_base_port(50000)


WITH_LISTENER = kafka.Settings.from_config(
    {**DEFAULTS, "kafka-extra-listener-port": 30000}, "kubeflow"
)


@pytest.mark.parametrize("client_port", [9092, 9093])
def test_bootstrap_goes_to_the_extra_listener_of_the_same_protocol(client_port: int):
    bag = {"endpoints": f"kafka-k8s-0.kafka-k8s-endpoints:{client_port}", "topic": "profiles"}
    creds = kafka.credentials(bag, USER, WITH_LISTENER)
    assert creds is not None
    port = extra_listener_port(30000, client_port)
    assert creds.bootstrap_servers == (
        f"kafka-k8s-0.kafka-k8s-endpoints.kubeflow.svc.cluster.local:{port}",
    )


def test_the_extra_listener_advertises_the_names_the_profiles_bootstrap_on():
    value = WITH_LISTENER.extra_listeners("kafka-k8s")
    host_template, base = value.rsplit(":", 1)
    assert int(base) == 30000
    creds = kafka.credentials(
        {"endpoints": "kafka-k8s-1.kafka-k8s-endpoints:9092", "topic": "profiles"},
        USER,
        WITH_LISTENER,
    )
    assert creds is not None
    assert creds.bootstrap_servers == (f"{host_template.replace('{unit}', '1')}:39092",)


def test_an_offset_past_the_last_port_is_refused():
    with pytest.raises(kafka.InvalidKafkaData, match="not a port"):
        kafka.fully_qualified("kafka-k8s-0.kafka-k8s-endpoints:30000", "kafka", "local", 40000)


def test_the_overlay_configures_kafka_and_the_profiles_for_the_same_listener():
    overlay = yaml.safe_load((Path(__file__).parents[4] / "overlays/kafka.yaml").read_text())
    apps = overlay["applications"]
    options = {**DEFAULTS, **apps["kafka-profiles"]["options"]}
    settings = kafka.Settings.from_config(options, "kubeflow")
    assert settings.extra_listener_port
    assert apps["kafka-k8s"]["options"]["extra-listeners"] == settings.extra_listeners("kafka-k8s")
