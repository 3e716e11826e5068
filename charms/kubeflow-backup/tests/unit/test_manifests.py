"""What the charm writes is valid: VolumeSnapshots for their CRD, restored PVCs for Kubernetes."""

from conftest import SNAPSHOT_CRD
from dsplib.testing import validate_manifests
from render import rendered_manifests


def test_every_written_object_validates():
    objects = rendered_manifests()
    assert [o["kind"] for o in objects] == ["VolumeSnapshot", "PersistentVolumeClaim"]
    validate_manifests(objects, [SNAPSHOT_CRD])


def test_the_restored_volume_comes_from_the_snapshot():
    snapshot, restored = rendered_manifests()
    assert restored["spec"]["dataSource"] == {
        "apiGroup": "snapshot.storage.k8s.io",
        "kind": "VolumeSnapshot",
        "name": snapshot["metadata"]["name"],
    }
    assert snapshot["metadata"]["namespace"] == restored["metadata"]["namespace"]
    assert "volumeName" not in restored["spec"]
