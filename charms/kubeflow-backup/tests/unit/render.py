"""Every Kubernetes object the charm can write, for schema checks here and in tests/static.

The charm writes users' objects back as they were saved (checked by the restore tests) and
makes only two objects of its own: VolumeSnapshots, and PVCs restored from one.
"""

from typing import Any

import cluster
from conftest import pvc


def rendered_manifests() -> list[dict[str, Any]]:
    """A VolumeSnapshot of a backup and the PVC restored from it."""
    snapshot = cluster.snapshot_manifest(
        "snapshot.storage.k8s.io/v1",
        "alice",
        "lab-workspace",
        "20260115-103000-a1b2",
        "ceph-rbd-snapshots",
        "kubeflow-backup",
    )
    restored = cluster.with_snapshot_source(
        cluster.strip(pvc("lab-workspace", "alice", bound=True)), snapshot["metadata"]["name"]
    )
    return [snapshot, restored]
