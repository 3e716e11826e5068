"""The rendered operator against the upstream facts the charm depends on (Seldon Core 1.17.1).

Each fact names the file of SeldonIO/seldon-core (tag v1.17.1) or of the manifests it comes
from. The models below follow the operator's own code (how it turns DEFAULT_USER_ID into a
pod's runAsUser, how it reads --log-level), and each has a case that must fail.
"""

from __future__ import annotations

import shlex
from typing import Any

import pytest

import seldon
from conftest import CONFIG_DEFAULTS

SC = "SeldonIO/seldon-core@v1.17.1"
MANIFESTS = "kubeflow/manifests@v1.8.0 contrib/seldon/seldon-core-operator/base/resources.yaml"

# fact -> (value, source)
UPSTREAM: dict[str, tuple[object, str]] = {
    "manager flags": (
        {
            "metrics-addr",
            "enable-leader-election",
            "webhook-port",
            "namespace",
            "operator-namespace",
            "create-resources",
            "debug",
            "log-level",
            "leader-election-id",
        },
        f"{SC} operator/main.go (flag.StringVar/BoolVar/IntVar in main)",
    ),
    "log-level words": (
        {"DEBUG": "debug", "INFO": "info", "WARNING": "warn", "ERROR": "error", "FATAL": "fatal"},
        f'{SC} operator/main.go setupLogger (`case "WARN":` is empty: WARN means INFO)',
    ),
    "leader election id": (
        "a33bd623.machinelearning.seldon.io",
        f"{SC} operator/main.go leaderElectionIDDefault",
    ),
    "webhook cert dir": (
        "/tmp/k8s-webhook-server/serving-certs",
        "kubernetes-sigs/controller-runtime pkg/webhook/server.go default CertDir "
        "(os.TempDir()/k8s-webhook-server/serving-certs)",
    ),
    "user variables": (
        ("DEFAULT_USER_ID", "EXECUTOR_CONTAINER_USER"),
        f"{SC} operator/controllers/security.go createSecurityContext; "
        "operator/controllers/seldondeployment_engine.go getSvcOrchUser",
    ),
    "executor": (
        {"port": 8000, "prometheus path": "/prometheus", "user": "8888"},
        f"{SC} operator/controllers/seldondeployment_engine.go "
        f"(DEFAULT_EXECUTOR_CONTAINER_PORT, getPrometheusPath); "
        f"{MANIFESTS} EXECUTOR_CONTAINER_USER",
    ),
    "predictive unit ports": (
        {"PREDICTIVE_UNIT_HTTP_SERVICE_PORT": "9000", "PREDICTIVE_UNIT_GRPC_SERVICE_PORT": "9500"},
        f"{SC} operator/apis/machinelearning.seldon.io/v1/seldondeployment_webhook.go; "
        f"{MANIFESTS}",
    ),
    "environment the operator reads": (
        {
            # operator/main.go
            "POD_NAMESPACE",
            "WATCH_NAMESPACE",
            # operator/controllers/seldondeployment_controller.go, istio.go
            "CONTROLLER_ID",
            "ISTIO_ENABLED",
            "ISTIO_GATEWAY",
            "ISTIO_TLS_MODE",
            "KEDA_ENABLED",
            "AMBASSADOR_ENABLED",
            "DEPLOYMENT_NAME_AS_PREFIX",
            # operator/controllers/seldondeployment_engine.go
            "USE_EXECUTOR",
            "EXECUTOR_CONTAINER_IMAGE_AND_VERSION",
            "EXECUTOR_CONTAINER_IMAGE_PULL_POLICY",
            "EXECUTOR_CONTAINER_USER",
            "EXECUTOR_CONTAINER_SERVICE_ACCOUNT_NAME",
            "EXECUTOR_SERVER_PORT",
            "EXECUTOR_PROMETHEUS_PATH",
            "EXECUTOR_SERVER_METRICS_PORT_NAME",
            "EXECUTOR_REQUEST_LOGGER_DEFAULT_ENDPOINT",
            "EXECUTOR_DEFAULT_CPU_REQUEST",
            "EXECUTOR_DEFAULT_CPU_LIMIT",
            "EXECUTOR_DEFAULT_MEMORY_REQUEST",
            "EXECUTOR_DEFAULT_MEMORY_LIMIT",
            # operator/apis/machinelearning.seldon.io/v1/seldondeployment_webhook.go
            "PREDICTIVE_UNIT_HTTP_SERVICE_PORT",
            "PREDICTIVE_UNIT_GRPC_SERVICE_PORT",
            "PREDICTIVE_UNIT_METRICS_PORT_NAME",
            # operator/controllers/security.go
            "DEFAULT_USER_ID",
        },
        f"{SC} operator/ (files named above each group); the same names in {MANIFESTS}",
    ),
}


def fact(name: str) -> Any:
    return UPSTREAM[name][0]


def run_as_user(env: dict[str, str], variable: str) -> int | None:
    """The operator's rule: a non-empty variable becomes runAsUser (strconv.Atoi), else none."""
    value = env.get(variable, "")
    return int(value) if value != "" else None


def manager_log_level(word: str) -> str:
    """setupLogger: exact upper-case words; anything else keeps the INFO default."""
    return fact("log-level words").get(word, "info")


def layer(**overrides):
    settings = seldon.Settings.from_config({**CONFIG_DEFAULTS, **overrides})
    return seldon.pebble_layer(settings, "kubeflow", seldon.Gateway("kubeflow", "gw"))


def service(**overrides):
    return layer(**overrides)["services"][seldon.SERVICE]


def test_every_fact_names_its_source():
    for name, (_value, source) in UPSTREAM.items():
        assert source.strip(), name


def test_the_user_model_turns_zero_into_root():
    """The defect it catches: sending "0" makes model pods run as root."""
    assert run_as_user({"DEFAULT_USER_ID": "0"}, "DEFAULT_USER_ID") == 0
    assert run_as_user({"DEFAULT_USER_ID": ""}, "DEFAULT_USER_ID") is None


@pytest.mark.parametrize("variable", ["DEFAULT_USER_ID", "EXECUTOR_CONTAINER_USER"])
def test_user_id_zero_leaves_the_user_to_the_image(variable):
    env = service(**{"default-user-id": 0})["environment"]
    assert variable in fact("user variables")
    assert run_as_user(env, variable) is None


@pytest.mark.parametrize("variable", ["DEFAULT_USER_ID", "EXECUTOR_CONTAINER_USER"])
def test_default_user_id_runs_model_pods_and_executor_as_that_user(variable):
    assert run_as_user(service()["environment"], variable) == int(fact("executor")["user"])
    assert run_as_user(service(**{"default-user-id": 1234})["environment"], variable) == 1234


def test_the_operator_reads_every_variable_the_charm_sets():
    for user_id in (0, 8888):
        env = service(**{"default-user-id": user_id})["environment"]
        assert set(env) <= fact("environment the operator reads")


def test_an_unknown_variable_would_be_noticed():
    env = {**service()["environment"], "EXECUTOR_USER": "8888"}
    assert not set(env) <= fact("environment the operator reads")


@pytest.mark.parametrize("level", seldon.LOG_LEVELS)
def test_every_offered_log_level_reaches_the_manager_as_that_level(level):
    argv = shlex.split(service(**{"log-level": level})["command"])
    word = next(a.split("=", 1)[1] for a in argv if a.startswith("--log-level="))
    assert manager_log_level(word) == level


def test_the_log_model_shows_why_warn_is_spelled_warning():
    assert manager_log_level("WARN") == "info"
    assert manager_log_level("warning") == "info"


def test_manager_flags_ports_and_ids_match_the_binary():
    argv = shlex.split(service()["command"])
    assert argv[0] == "/manager"
    flags = {a.removeprefix("--").split("=", 1)[0] for a in argv[1:]}
    assert flags <= fact("manager flags")
    assert f"--leader-election-id={fact('leader election id')}" in argv
    assert fact("leader election id") == seldon.LEADER_ELECTION_ID
    assert fact("webhook cert dir") == seldon.CERT_DIR
    env = service()["environment"]
    executor = fact("executor")
    assert env["EXECUTOR_SERVER_PORT"] == str(executor["port"])
    assert env["EXECUTOR_PROMETHEUS_PATH"] == executor["prometheus path"]
    for name, port in fact("predictive unit ports").items():
        assert env[name] == port
