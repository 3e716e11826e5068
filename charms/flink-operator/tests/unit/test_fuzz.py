"""Hooks never crash, whatever the config, relation data and API faults (dsplib.fuzz)."""

from pathlib import Path

from hypothesis import strategies as st

from charm import FlinkOperatorCharm
from dsplib import fuzz

SPEC = fuzz.CharmSpec(
    FlinkOperatorCharm,
    app="flink-operator",
    charm_dir=Path(__file__).parents[2],
    relations={"s3-credentials": fuzz.S3, "logging": fuzz.LOKI},
    config={
        "flink-image": st.sampled_from(["docker.io/library/flink:2.2.1-java17"]),
        "job-namespaces": st.sampled_from(["alice", "alice,bob", "123,null"]),
        "log-level": st.sampled_from(["debug", "info", "warn", "error"]),
        "reconcile-parallelism": st.integers(min_value=1, max_value=200),
    },
    # The webhook certificate the leader keeps in an application secret, sound or damaged.
    own_secrets={"webhook-certificate": fuzz.webhook_certificate("flink-operator-webhook")},
)


def test_hooks_hold_their_properties():
    fuzz.check_hooks(SPEC)
