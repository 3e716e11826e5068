"""overlays/kafka.yaml on a real cluster: a pod in a Kubeflow profile writes and reads a topic.

Deploys Charmed Apache Kafka K8s as the overlay does (channel, lab roles, profile) with
kafka-profiles and resource-dispatcher (and what it needs: metacontroller, the PodDefault CRD
from admission-webhook, Kubeflow's profile controller), creates a profile, waits for the
Secret and the access-kafka PodDefault in its namespace, checks that the broker names it holds
are fully qualified, then runs a Job in the profile that selects the PodDefault, produces a
message with Apache Kafka's console tools and reads it back.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import cast

import jubilant
import pytest
import yaml
from helpers import create_profile, deploy_profile_stack, get_or_none, wait_for
from lightkube import Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Pod, Secret

from conftest import ROOT, packed

APP = "kafka-profiles"
KAFKA = "kafka-k8s"
PROFILE = "kafka-it"
SECRET = f"{APP}-credentials"
# Apache Kafka's own image: its console tools are the reference clients.
KAFKA_CLIENT_IMAGE = "docker.io/apache/kafka:4.1.0"
OVERLAY = yaml.safe_load((ROOT / "overlays" / "kafka.yaml").read_text())

PodDefault = create_namespaced_resource("kubeflow.org", "v1alpha1", "PodDefault", "poddefaults")

# Writes a client config from the PodDefault's variables, produces one message and reads it
# back within the user's consumer-group prefix. Values come from the environment only.
CLIENT_SCRIPT = r"""
set -eu
printf '%s\n' "security.protocol=${KAFKA_SECURITY_PROTOCOL}" \
  "sasl.mechanism=${KAFKA_SASL_MECHANISM}" \
  "sasl.jaas.config=${KAFKA_SASL_JAAS_CONFIG}" > /tmp/client.properties
echo "$MESSAGE" | /opt/kafka/bin/kafka-console-producer.sh \
  --bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" --topic "$KAFKA_TOPIC" \
  --producer.config /tmp/client.properties
/opt/kafka/bin/kafka-console-consumer.sh \
  --bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" --topic "$KAFKA_TOPIC" \
  --consumer.config /tmp/client.properties --group "${KAFKA_CONSUMER_GROUP_PREFIX}it" \
  --from-beginning --max-messages 50 --timeout-ms 60000 | grep -x "$MESSAGE"
"""


@pytest.fixture(scope="module")
def deployed(juju: jubilant.Juju) -> jubilant.Juju:
    kafka = OVERLAY["applications"][KAFKA]
    juju.deploy(
        KAFKA,
        KAFKA,
        channel=kafka["channel"],
        config=kafka["options"],
        trust=True,
        storage=kafka.get("storage"),
    )
    juju.deploy(packed(APP), APP, config=OVERLAY["applications"][APP]["options"])
    deploy_profile_stack(juju)
    for a, b in OVERLAY["relations"]:
        juju.integrate(a, b)
    juju.wait(jubilant.all_active, timeout=40 * 60)
    return juju


@pytest.fixture(scope="module")
def profile(deployed: jubilant.Juju, kube: Client) -> str:
    create_profile(kube, PROFILE)
    return PROFILE


def credentials(kube: Client, namespace: str) -> dict[str, str]:
    """The Secret resource-dispatcher copied into the profile, decoded."""
    secret = wait_for(lambda: get_or_none(kube, Secret, SECRET, namespace), SECRET, 300)
    return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}


def test_kafka_profiles_is_active(deployed: jubilant.Juju):
    assert deployed.status().apps[APP].app_status.current == "active"


def test_profile_gets_fully_qualified_brokers_and_the_poddefault(
    deployed: jubilant.Juju, profile: str, kube: Client
):
    values = credentials(kube, profile)
    base = OVERLAY["applications"][APP]["options"]["kafka-extra-listener-port"]
    for server in values["KAFKA_BOOTSTRAP_SERVERS"].split(","):
        host, port = server.rsplit(":", 1)
        assert host.endswith(f".{deployed.model}.svc.cluster.local"), server
        # kafka-k8s's extra listener of the overlay (SASL_PLAINTEXT: base port + 9092)
        assert int(port) == base + 9092, server
    assert values["KAFKA_TOPIC"] == OVERLAY["applications"][APP]["options"]["topic"]
    wait_for(lambda: get_or_none(kube, PodDefault, "access-kafka", profile), "PodDefault", 300)


def test_a_pod_in_the_profile_writes_and_reads_the_topic(profile: str, kube: Client):
    credentials(kube, profile)  # the profile has the Secret the PodDefault reads
    message = f"it-{uuid.uuid4()}"
    name = f"kafka-client-{int(time.time())}"
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": profile},
        "spec": {
            "backoffLimit": 1,
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": {
                    "labels": {"access-kafka": "true"},
                    "annotations": {"sidecar.istio.io/inject": "false"},
                },
                "spec": {
                    "restartPolicy": "Never",
                    # No dnsConfig: the overlay's extra listener advertises names every
                    # namespace resolves, which is what this test proves.
                    "containers": [
                        {
                            "name": "client",
                            "image": KAFKA_CLIENT_IMAGE,
                            "command": ["/bin/bash", "-c", CLIENT_SCRIPT],
                            "env": [{"name": "MESSAGE", "value": message}],
                        }
                    ],
                },
            },
        },
    }
    kube.apply(cast("Job", Job.from_dict(job)), field_manager="it")
    done = wait_for(lambda: _finished(kube, name, profile), f"Job {name} to finish", 10 * 60)
    if done != "Complete":
        logs = [
            "".join(kube.log(p.metadata.name, namespace=profile))
            for p in kube.list(Pod, namespace=profile, labels={"job-name": name})
            if p.metadata and p.metadata.name
        ]
        pytest.fail(f"Kafka client Job {done}: {logs[-1][-2000:] if logs else 'no pod'}")


def _finished(kube: Client, name: str, namespace: str) -> str | None:
    """Complete or Failed once the Job has finished, else None (wait_for keeps polling)."""
    job = kube.get(Job, name, namespace=namespace)
    for condition in (job.status.conditions or []) if job.status else []:
        if condition.status == "True" and condition.type in ("Complete", "Failed"):
            return condition.type
    return None
