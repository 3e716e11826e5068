"""Hooks never crash, whatever the config, relation data and API faults (dsplib.fuzz)."""

from pathlib import Path

import ops
import pytest
from hypothesis import strategies as st

import storage
from charm import KubeflowObjectStorageCharm
from dsplib import fuzz
from dsplib.s3 import S3Error

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


# -- failing examples the fuzzing found, kept as regression tests ---------------------------


@pytest.mark.parametrize(
    ("error", "fix"),
    [
        (S3Error("HTTP 409 BucketAlreadyExists", "BucketAlreadyExists", 409), "set bucket"),
        (S3Error("HTTP 405 MethodNotAllowed", "MethodNotAllowed", 405), "s3-integrator's keys"),
    ],
)
def test_other_s3_refusals_name_the_fix(error, fix):
    """`check the gateway and the keys' permissions` named nothing an operator can change."""
    outcome = storage._failure(error)
    assert outcome.status == "blocked"
    assert fix in outcome.message
    assert fuzz.names_its_fix(ops.BlockedStatus(outcome.message), SPEC)
