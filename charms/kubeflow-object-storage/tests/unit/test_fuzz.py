"""Hooks never crash, whatever the config, relation data and API faults (dsplib.fuzz)."""

from pathlib import Path

from hypothesis import strategies as st

from charm import KubeflowObjectStorageCharm
from dsplib import fuzz

SPEC = fuzz.CharmSpec(
    KubeflowObjectStorageCharm,
    app="kubeflow-object-storage",
    charm_dir=Path(__file__).parents[2],
    relations={"s3-credentials": fuzz.S3, "object-storage": fuzz.sdi()},
    config={"bucket": st.sampled_from(["mlpipeline", "kfp-artifacts", "a.b-c"])},
    # The provider charm whose options (endpoint, tls-ca-chain, keys) the messages name.
    fixes=("s3-integrator",),
)


def test_hooks_hold_their_properties():
    fuzz.check_hooks(SPEC)
