"""Scenario helpers: Charmed Apache Kafka's kafka_client databag as its charm writes it today."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ops import testing

from charm import KafkaProfilesCharm

pytest_plugins = ["dsplib.testing", "dsplib.fuzz"]

APP = "kafka-profiles"
MODEL = testing.Model(name="kubeflow")
CHARMCRAFT = yaml.safe_load(Path("charmcraft.yaml").read_text())
CONFIG_DEFAULTS = {k: v["default"] for k, v in CHARMCRAFT["config"]["options"].items()}
# kafka-k8s 4 answers with `<app>-<n>.<app>-endpoints:<port>` (canonical/kafka-operator
# common models.py internal_address; the short names of issue #560) and keeps the SCRAM
# credentials in a Juju secret referenced as `secret-user` (data_interfaces v0 with secrets).
SHORT_ENDPOINTS = "kafka-k8s-0.kafka-k8s-endpoints:9092,kafka-k8s-1.kafka-k8s-endpoints:9092"
USER_SECRET_ID = "secret:0f0c0a0b1c2d3e4f5a6b"
TLS_SECRET_ID = "secret:1f0c0a0b1c2d3e4f5a6c"


def kafka_databag(**overrides: str) -> dict[str, str]:
    """The application databag kafka-k8s writes once it has created the user."""
    bag = {
        "endpoints": SHORT_ENDPOINTS,
        "topic": "profiles",
        "consumer-group-prefix": "relation-7-",
        "tls": "disabled",
        "secret-user": USER_SECRET_ID,
        "version": "4.1.1",
    }
    bag.update(overrides)
    return {k: v for k, v in bag.items() if v is not None}


def user_secret(username: str = "relation-7", password: str = "Dy0k2UTfyNt2B13c") -> Any:  # noqa: S107 - a test value
    return testing.Secret(
        {"username": username, "password": password}, id=USER_SECRET_ID, owner=None
    )


def tls_secret(ca: str) -> Any:
    return testing.Secret({"tls": "enabled", "tls-ca": ca}, id=TLS_SECRET_ID, owner=None)


def kafka_relation(rid: int = 1, bag: dict[str, str] | None = None) -> Any:
    return testing.Relation(
        "kafka",
        interface="kafka_client",
        id=rid,
        remote_app_name="kafka-k8s",
        remote_app_data=kafka_databag() if bag is None else bag,
    )


def dispatcher(endpoint: str, rid: int) -> Any:
    return testing.Relation(
        endpoint,
        interface="kubernetes_manifest",
        id=rid,
        remote_app_name="resource-dispatcher",
    )


def full_state(*, bag: dict[str, str] | None = None, secrets=None, **kwargs: Any) -> Any:
    """The leader with Kafka and both resource-dispatcher endpoints related."""
    relations = {kafka_relation(bag=bag), dispatcher("secrets", 2), dispatcher("pod-defaults", 3)}
    return testing.State(
        leader=True,
        model=MODEL,
        relations=relations,
        secrets=[user_secret()] if secrets is None else secrets,
        **kwargs,
    )


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(KafkaProfilesCharm, app_name=APP)
