"""Hooks never crash, whatever the config, relation data and API faults (dsplib.fuzz)."""

from pathlib import Path

from hypothesis import strategies as st

from charm import KafkaProfilesCharm
from dsplib import fuzz

# What Charmed Apache Kafka writes on kafka_client, in the form older charms use (credentials
# in the databag); short broker names as it hands them out today.
KAFKA_CLIENT = fuzz.Contract(
    app={
        "endpoints": st.sampled_from(
            [
                "kafka-k8s-0.kafka-k8s-endpoints:9092",
                "kafka-k8s-0.kafka-k8s-endpoints:9093,kafka-k8s-1.kafka-k8s-endpoints:9093",
                "10.1.2.3:9092",
            ]
        ),
        "username": st.sampled_from(["relation-7", "admin"]),
        "password": fuzz.secret_token(),
        "topic": st.sampled_from(["profiles", "sales-*"]),
        "consumer-group-prefix": st.sampled_from(["", "relation-7-"]),
        "tls": st.sampled_from(["enabled", "disabled"]),
        "tls-ca": st.sampled_from(
            ["", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"]
        ),
    }
)

SPEC = fuzz.CharmSpec(
    KafkaProfilesCharm,
    app="kafka-profiles",
    charm_dir=Path(__file__).parents[2],
    relations={"kafka": KAFKA_CLIENT},
    config={
        "topic": st.sampled_from(["profiles", "sales-*", "a.b_c-d"]),
        "extra-user-roles": st.sampled_from(["consumer,producer", "consumer"]),
        "consumer-group-prefix": st.sampled_from(["", "team-a"]),
        "kafka-namespace": st.sampled_from(["", "kafka"]),
        "cluster-domain": st.sampled_from(["cluster.local", "k8s.example"]),
        "kafka-extra-listener-port": st.sampled_from([0, 30000, 49999]),
    },
)


def test_hooks_hold_their_properties():
    fuzz.check_hooks(SPEC)
