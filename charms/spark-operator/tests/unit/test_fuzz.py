"""Hooks never crash, whatever the config, relation data and API faults (dsplib.fuzz)."""

from pathlib import Path

from hypothesis import strategies as st

from charm import SparkOperatorCharm
from dsplib import fuzz

SPEC = fuzz.CharmSpec(
    SparkOperatorCharm,
    app="spark-operator",
    charm_dir=Path(__file__).parents[2],
    relations={"s3-credentials": fuzz.S3, "logging": fuzz.LOKI},
    config={
        "job-namespaces": st.sampled_from(["alice", "alice,bob", "123,null"]),
        "batch-scheduler": st.sampled_from(["", "volcano", "yunikorn"]),
        "log-level": st.sampled_from(["debug", "info", "error"]),
        "spark-image": st.sampled_from(["docker.io/library/spark:4.0.1-python3"]),
    },
)


def test_hooks_hold_their_properties():
    fuzz.check_hooks(SPEC)
