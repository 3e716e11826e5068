"""Every Kubernetes object the charm can send, for schema checks here and in tests/static."""

from __future__ import annotations

from typing import Any

import kafka

CA = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUKafkaTestCA==\n-----END CERTIFICATE-----\n"


def credentials(*, tls: bool) -> kafka.Credentials:
    return kafka.Credentials(
        bootstrap_servers=("kafka-k8s-0.kafka-k8s-endpoints.kubeflow.svc.cluster.local:9093",),
        username="relation-7",
        password="secret-password",
        topic="profiles",
        consumer_group_prefix="relation-7-",
        tls_ca=CA if tls else "",
        dns_search="kubeflow.svc.cluster.local",
    )


# resource-dispatcher copies the objects into each profile namespace; here they sit in one.
PROFILE = "alice"


def rendered_manifests() -> list[dict[str, Any]]:
    """Secret and PodDefault, without and with TLS, as a profile namespace receives them."""
    objects = [
        obj
        for tls in (False, True)
        for obj in (
            kafka.secret("kafka-profiles", credentials(tls=tls)),
            kafka.pod_default("kafka-profiles", with_tls=tls),
        )
    ]
    for obj in objects:
        obj["metadata"]["namespace"] = PROFILE
    return objects
