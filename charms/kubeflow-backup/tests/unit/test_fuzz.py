"""Hooks and actions never crash, whatever the config, relation data and API faults."""

from pathlib import Path

from hypothesis import strategies as st

from charm import KubeflowBackupCharm
from conftest import CRDS, SNAPSHOT_CLASS, namespace, profile
from dsplib import fuzz
from dsplib.testing import FakeKubernetes

BACKUP_ID = st.sampled_from(["20260115-103000-a1b2", "latest", "../x"])


def cluster(kube: FakeKubernetes) -> None:
    kube.add(*CRDS, SNAPSHOT_CLASS, profile("alice"), namespace("alice"))


SPEC = fuzz.CharmSpec(
    KubeflowBackupCharm,
    app="kubeflow-backup",
    charm_dir=Path(__file__).parents[2],
    relations={"s3-credentials": fuzz.S3},
    config={
        "retention": st.integers(0, 30),
        "volume-snapshot-class": st.sampled_from(["ceph-rbd-snapshots", "missing"]),
    },
    params={
        "create-backup": {
            "namespaces": st.sampled_from(["alice", "alice,bob", "kubeflow"]),
            "description": st.sampled_from(["nightly"]),
        },
        "verify-backup": {"backup-id": BACKUP_ID},
        "restore": {"backup-id": BACKUP_ID, "namespaces": st.sampled_from(["alice"])},
        "delete-backup": {"backup-id": BACKUP_ID},
    },
    cluster=cluster,
)


def test_hooks_and_actions_hold_their_properties():
    fuzz.check_hooks(SPEC)
