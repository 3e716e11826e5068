"""What profiles need to reach Charmed Apache Kafka, from the `kafka_client` relation.

Wire contract (canonical/charm-relation-interfaces interfaces/kafka_client/v0/README.md, and
data_platform_libs' data_interfaces, which Charmed Apache Kafka speaks):

* we (requirer) write in our application databag `topic`, `extra-user-roles`, optionally
  `consumer-group-prefix`, and `requested-secrets` (JSON list) so credentials come as a Juju
  secret, never in clear in relation data;
* Kafka (provider) answers in its application databag with `endpoints` (comma-separated
  `host:port`), `topic`, `consumer-group-prefix`, `tls` (`enabled`/`disabled`) and either
  `secret-user` (a secret with `username`, `password`) and `secret-tls` (`tls-ca`) or, from
  older providers, `username`/`password`/`tls-ca` in the databag itself.

Why host names are rewritten: Kafka's charm hands out `<pod>.<app>-endpoints:<port>`
(canonical/kafka-operator models.py `internal_address`, issue #560), a name only Kafka's own
namespace resolves. Kubeflow profiles are other namespaces, so each short name becomes
`<pod>.<service>.<namespace>.svc.<cluster domain>`, which resolves everywhere in the cluster.
Names that already carry `.svc` or another domain, and IP addresses, are kept as they are.

Bootstrap is only the first connection: a broker then answers with the `advertised.listeners`
of the listener the client connected to, and Kafka's own client listener advertises the same
short names. Charmed Kafka's `extra-listeners` option (canonical/kafka-operator
k8s/config.yaml) adds listeners with an advertised host of our choosing on ports offset by a
base port (`host-{unit}.domain:30000` -> 39092 for SASL_PLAINTEXT, 39093 for SASL_SSL; the
base port must lie strictly between 20000 and 50000, core/structured_config.py), and adds the
host to the brokers' certificates. With `kafka-extra-listener-port` set to that base port,
the bootstrap servers point at the extra listener, so every address a client is told is the
fully qualified one: nothing is left for the pod's DNS settings, which a PodDefault cannot
change (kubeflow/kubeflow components/admission-webhook/pkg/apis/settings/v1alpha1/
poddefault_types.go has no dnsConfig).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dsplib import validation

PODDEFAULT_NAME = "access-kafka"
SASL_MECHANISM = "SCRAM-SHA-512"  # the only SASL mechanism Charmed Apache Kafka serves
CA_MOUNT = "/etc/kafka-client"
CA_FILE = "ca.crt"
ROLES = ("consumer", "producer", "admin")
REQUESTED_SECRETS = ["username", "password", "tls", "tls-ca", "uris"]
_COMPONENT = "app.kubernetes.io/component"

_HOST = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")
# Kafka topic names: [a-zA-Z0-9._-], at most 249 characters (Kafka's Topic.validate).
_TOPIC = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")
# SCRAM user names and passwords go into a JAAS line between double quotes.
_CREDENTIAL = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,255}$")  # printable, no " or \
# Charmed Kafka's extra-listeners base port: 20000 < port < 50000 (core/structured_config.py).
EXTRA_LISTENER_PORTS = range(20001, 50000)
_PEM = re.compile(
    r"^(-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*)+$"
)


class InvalidKafkaData(Exception):
    """Kafka's databag or secret holds something profiles cannot use (message names it)."""


@dataclass(frozen=True)
class Settings:
    """This charm's config, checked."""

    topic: str
    extra_user_roles: str
    consumer_group_prefix: str
    kafka_namespace: str
    cluster_domain: str
    extra_listener_port: int = 0

    @classmethod
    def from_config(cls, config: Mapping[str, Any], model_name: str) -> Settings:
        """Each option checked, failing with the option and what it must hold."""
        topic = str(config.get("topic", "")).strip()
        # Kafka's charm refuses '*' in the first three characters (managers/auth.py).
        if not _TOPIC.match(topic.rstrip("*")) or "*" in topic[:3] or topic.count("*") > 1:
            raise validation.InvalidConfig(
                "topic", "a Kafka topic name ([a-zA-Z0-9._-], or a prefix like sales-*)"
            )
        roles = validation.comma_list(config.get("extra-user-roles", ""))
        if not roles or any(r not in ROLES for r in roles):
            raise validation.InvalidConfig("extra-user-roles", "a list of consumer,producer,admin")
        prefix = str(config.get("consumer-group-prefix", "")).strip()
        if prefix and not _TOPIC.match(prefix):
            raise validation.InvalidConfig("consumer-group-prefix", "empty or [a-zA-Z0-9._-]")
        namespace = str(config.get("kafka-namespace", "")).strip() or model_name
        validation.dns_label("kafka-namespace", namespace)
        domain = str(config.get("cluster-domain", "")).strip().rstrip(".")
        if not _HOST.match(domain):
            raise validation.InvalidConfig("cluster-domain", "a DNS name like cluster.local")
        port = config.get("kafka-extra-listener-port", 0)
        if port != 0 and (isinstance(port, bool) or port not in EXTRA_LISTENER_PORTS):
            raise validation.InvalidConfig(
                "kafka-extra-listener-port",
                "0, or the port of Kafka's extra-listeners (20001-49999)",
            )
        return cls(topic, ",".join(roles), prefix, namespace, domain, port)

    def extra_listeners(self, kafka_app: str) -> str:
        """The value of Kafka's `extra-listeners` that advertises the names we hand out.

        Its pods are `<app>-<unit>` under the headless Service `<app>-endpoints` (the short
        names Kafka sends), made fully qualified as `fully_qualified` does.
        """
        host = f"{kafka_app}-{{unit}}.{kafka_app}-endpoints.{self.kafka_namespace}.svc"
        return f"{host}.{self.cluster_domain}:{self.extra_listener_port}"

    def request(self) -> dict[str, str]:
        """Our application databag on the kafka_client relation."""
        bag = {
            "topic": self.topic,
            "extra-user-roles": self.extra_user_roles,
            "requested-secrets": json.dumps(REQUESTED_SECRETS),
        }
        if self.consumer_group_prefix:
            bag["consumer-group-prefix"] = self.consumer_group_prefix
        return bag


@dataclass(frozen=True)
class Credentials:
    """What Kafka granted, with bootstrap servers every namespace resolves."""

    bootstrap_servers: tuple[str, ...]
    username: str
    password: str
    topic: str
    consumer_group_prefix: str
    tls_ca: str
    dns_search: str = ""

    @property
    def security_protocol(self) -> str:
        """SASL over TLS when Kafka gave a CA (port 9093), else SASL over plain TCP (9092)."""
        return "SASL_SSL" if self.tls_ca else "SASL_PLAINTEXT"

    @property
    def jaas_config(self) -> str:
        """`sasl.jaas.config` for Java clients (Flink, Spark); values checked to hold no quote."""
        return (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{self.username}" password="{self.password}";'
        )


def fully_qualified(endpoint: str, namespace: str, domain: str, port_offset: int = 0) -> str:
    """`host:port` with a short in-cluster host name made resolvable from any namespace.

    `port_offset` moves the port to Kafka's extra listener for the same security protocol.
    """
    host, sep, port = endpoint.strip().rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InvalidKafkaData(f"Kafka sent an endpoint that is not host:port: {endpoint!r:.60}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if int(port) + port_offset > 65535:
        raise InvalidKafkaData(
            f"Kafka's port {port} plus kafka-extra-listener-port is not a port: {endpoint!r:.60}"
        )
    port = str(int(port) + port_offset)
    try:
        ipaddress.ip_address(host)
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    except ValueError:
        pass
    host = host.lower()
    if not _HOST.match(host) or len(host) > 253:
        raise InvalidKafkaData(f"Kafka sent an endpoint with an invalid host: {host!r:.60}")
    labels = host.split(".")
    if len(labels) <= 2:  # <service> or <pod>.<service>: namespace-relative names
        host = f"{host}.{namespace}.svc.{domain}"
    return f"{host}:{port}"


def credentials(
    bag: Mapping[str, str], secrets: Mapping[str, str], settings: Settings
) -> Credentials | None:
    """Kafka's answer, checked; None while Kafka has not answered yet.

    `secrets` is the content of the secrets Kafka referenced (`secret-user`, `secret-tls`)
    merged; fields in them win over the same fields in the databag.
    """
    fields = {**bag, **secrets}
    if not fields.get("endpoints") or not fields.get("username"):
        return None
    endpoints = [e for e in fields["endpoints"].split(",") if e.strip()]
    if not endpoints:
        raise InvalidKafkaData("Kafka sent no endpoints")
    servers = tuple(
        fully_qualified(
            e, settings.kafka_namespace, settings.cluster_domain, settings.extra_listener_port
        )
        for e in endpoints
    )
    username, password = fields.get("username", ""), fields.get("password", "")
    if not _CREDENTIAL.match(username) or not _CREDENTIAL.match(password):
        raise InvalidKafkaData("Kafka sent a username or password that is empty or not printable")
    topic = fields.get("topic") or settings.topic
    if not _TOPIC.match(topic.rstrip("*")):
        raise InvalidKafkaData(f"Kafka sent an invalid topic name: {topic!r:.60}")
    prefix = fields.get("consumer-group-prefix", "")
    if prefix and not _TOPIC.match(prefix.rstrip("*")):
        raise InvalidKafkaData("Kafka sent an invalid consumer-group-prefix")
    tls_ca = ""
    if fields.get("tls") == "enabled" or fields.get("tls-ca"):
        tls_ca = fields.get("tls-ca", "").strip()
        if not tls_ca:
            return None  # TLS on, CA not there yet: wait rather than hand out a broken client
        if not _PEM.match(tls_ca + "\n"):
            raise InvalidKafkaData("Kafka sent a tls-ca that is not a PEM certificate")
        tls_ca += "\n"
    search = f"{settings.kafka_namespace}.svc.{settings.cluster_domain}"
    return Credentials(servers, username, password, topic, prefix, tls_ca, search)


# -- what every profile namespace receives -------------------------------------------------


def secret_name(app: str) -> str:
    """The Secret in profile namespaces (one per application of this charm)."""
    return f"{app}-credentials"


def secret(app: str, creds: Credentials) -> dict[str, Any]:
    """Kafka client settings as environment keys, and the CA as a file when TLS is on.

    All values go into `data`, so the object reads back exactly as sent.
    """
    values = {
        "KAFKA_BOOTSTRAP_SERVERS": ",".join(creds.bootstrap_servers),
        "KAFKA_USERNAME": creds.username,
        "KAFKA_PASSWORD": creds.password,
        "KAFKA_TOPIC": creds.topic,
        "KAFKA_CONSUMER_GROUP_PREFIX": creds.consumer_group_prefix,
        "KAFKA_SECURITY_PROTOCOL": creds.security_protocol,
        "KAFKA_SASL_MECHANISM": SASL_MECHANISM,
        "KAFKA_SASL_JAAS_CONFIG": creds.jaas_config,
        # Without kafka-extra-listener-port Kafka advertises the short names after bootstrap:
        # pods that can set dnsConfig (Flink and Spark pod templates) add this search domain.
        "KAFKA_DNS_SEARCH": creds.dns_search,
    }
    if creds.tls_ca:
        values[CA_FILE] = creds.tls_ca
        values["KAFKA_SSL_CA_LOCATION"] = f"{CA_MOUNT}/{CA_FILE}"
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret_name(app), "labels": {_COMPONENT: "kafka-credentials"}},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in sorted(values.items())},
    }


ENV_KEYS = (
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_USERNAME",
    "KAFKA_PASSWORD",
    "KAFKA_TOPIC",
    "KAFKA_CONSUMER_GROUP_PREFIX",
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_JAAS_CONFIG",
    "KAFKA_DNS_SEARCH",
)


def pod_default(app: str, *, with_tls: bool) -> dict[str, Any]:
    """The `access-kafka` PodDefault notebooks, pipeline steps and Spark/Flink pods select."""
    name = secret_name(app)
    env: list[dict[str, Any]] = [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}}
        for key in ENV_KEYS
    ]
    env.append({"name": "KAFKA_SECRET", "value": name})
    spec: dict[str, Any] = {
        "desc": "Read and write Kafka topics" + (" (TLS)" if with_tls else ""),
        "selector": {"matchLabels": {PODDEFAULT_NAME: "true"}},
        "env": env,
    }
    if with_tls:
        env.append(
            {"name": "KAFKA_SSL_CA_LOCATION", "value": f"{CA_MOUNT}/{CA_FILE}"},
        )
        spec["volumes"] = [
            {"name": "kafka-ca", "secret": {"secretName": name, "items": [_item(CA_FILE)]}}
        ]
        spec["volumeMounts"] = [{"name": "kafka-ca", "mountPath": CA_MOUNT, "readOnly": True}]
    return {
        "apiVersion": "kubeflow.org/v1alpha1",
        "kind": "PodDefault",
        "metadata": {"name": PODDEFAULT_NAME, "labels": {_COMPONENT: "kafka-access"}},
        "spec": spec,
    }


def _item(key: str) -> dict[str, str]:
    return {"key": key, "path": key}
