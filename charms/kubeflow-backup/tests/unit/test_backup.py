"""The bucket side: ids, manifest, encryption, listing and retention (against the real RGW)."""

import datetime
import json

import pytest

import backup
from dsplib.s3 import S3Client
from pytest_ceph_rgw import RGWEndpoint

NOW = datetime.datetime(2026, 1, 15, 10, 30, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def store(ceph_rgw: RGWEndpoint, bucket: str):
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as client:
        client.create_bucket(bucket)
        yield backup.Store(client, bucket, "/site/")


def manifest(backup_id: str, created: str = "2026-01-15T10:30:00+00:00") -> backup.Manifest:
    return backup.Manifest(id=backup_id, created=created, namespaces=["alice"])


def test_ids_carry_the_utc_time_and_are_checked():
    local = NOW.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
    backup_id = backup.new_id(local)
    assert backup_id.startswith("20260115-103000-")
    assert backup.check_id(f" {backup_id} ") == backup_id
    for bad in ("latest", "20260115-103000", "../20260115-103000-a1b2", "20260115-103000-XYZW"):
        with pytest.raises(backup.BackupError, match="is not a backup id"):
            backup.check_id(bad)


def test_object_keys_say_where_and_what():
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": "n"},
    }
    profile = {"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "p"}}
    assert backup.object_key(config_map, False) == "objects/n/configmap.core/a.json"
    assert backup.object_key(profile, True) == "objects/_cluster/profile.kubeflow.org/p.json.enc"


def test_manifest_round_trip_and_refusals():
    original = manifest("20260115-103000-a1b2")
    original.entries.append(
        backup.Entry("objects/a.json", "ab" * 32, 10, "v1", "ConfigMap", "a", "alice")
    )
    original.snapshots.append(backup.Snapshot("alice", "s", "pvc"))
    parsed = backup.Manifest.from_json(original.to_json(), original.id)
    assert parsed == original
    assert parsed.size == 10
    for data in (b"{", b"[]", original.to_json().replace(b'"format": 1', b'"format": 2')):
        with pytest.raises(backup.InvalidManifest, match="manifest is unreadable"):
            backup.Manifest.from_json(data, original.id)
    with pytest.raises(backup.InvalidManifest):
        backup.Manifest.from_json(original.to_json(), "20260115-103000-ffff")


def test_cipher_round_trip_binds_the_key_and_detects_tampering():
    cipher = backup.Cipher(backup.Cipher.generate_key())
    sealed = cipher.encrypt(b"password", "objects/n/secret.core/s.json.enc")
    assert b"password" not in sealed
    assert cipher.decrypt(sealed, "objects/n/secret.core/s.json.enc") == b"password"
    with pytest.raises(backup.BackupError, match="does not decrypt"):
        cipher.decrypt(sealed, "objects/n/secret.core/other.json.enc")  # moved object
    flipped = bytearray(sealed)
    flipped[-1] ^= 1
    with pytest.raises(backup.BackupError, match="does not decrypt"):
        cipher.decrypt(bytes(flipped), "objects/n/secret.core/s.json.enc")
    other = backup.Cipher(backup.Cipher.generate_key())
    assert other.key_id != cipher.key_id
    with pytest.raises(backup.BackupError):
        other.decrypt(sealed, "objects/n/secret.core/s.json.enc")


def test_keys_must_be_32_bytes_of_base64():
    with pytest.raises(backup.BackupError, match="not base64"):
        backup.Cipher.from_text("not base64!")
    with pytest.raises(backup.BackupError, match="32 bytes"):
        backup.Cipher.from_text("c2hvcnQ=")


def test_retention_keeps_the_newest_complete_backups():
    rows = [
        backup.Summary(f"2026011{i}-000000-000{i}", f"2026-01-1{i}T00:00:00", [], 1, 1, "done")
        for i in range(5)
    ]
    rows.append(backup.Summary("20260101-000000-ffff", "", [], 0, 0, "unreadable manifest"))
    assert backup.expired(rows, 2) == [r.id for r in rows[:3]]
    assert backup.expired(rows, 0) == []
    assert backup.expired(rows, 9) == []


def test_summaries_sort_newest_first_and_show_unreadable_manifests(store: backup.Store):
    older, newer = manifest("20260115-103000-bbbb"), manifest("20260115-103000-aaaa")
    newer.created = "2026-01-15T10:30:00.5+00:00"
    for m in (older, newer):
        store.put(m.id, "objects/x.json", b"{}")
        store.put_manifest(m)
    store.put("20260115-103000-cccc", backup.MANIFEST, b"garbage")
    store.put("20260115-103000-dddd", "objects/x.json", b"{}")  # interrupted
    store.client.put_object(store.bucket, f"{store.root}not-a-backup/x", b"")
    done, incomplete = store.summaries()
    assert store.root == "site/kubeflow-backups/"
    assert [(s.id, s.state) for s in done] == [
        ("20260115-103000-aaaa", "done"),
        ("20260115-103000-bbbb", "done"),
        ("20260115-103000-cccc", "unreadable manifest"),
    ]
    assert incomplete == ["20260115-103000-dddd"]
    with pytest.raises(backup.InvalidManifest):
        store.require_manifest("20260115-103000-cccc")


def test_delete_removes_the_manifest_first_and_every_key(store: backup.Store, monkeypatch):
    m = manifest("20260115-103000-eeee")
    for n in range(3):
        store.put(m.id, f"objects/{n}.json", b"{}")
    store.put_manifest(m)
    order = []
    real_delete = store.client.delete_object
    monkeypatch.setattr(
        store.client, "delete_object", lambda b, k: (order.append(k), real_delete(b, k))
    )
    assert store.delete(m.id) == 4
    assert order == [store.prefix(m.id) + backup.MANIFEST]
    assert store.client.list_objects(store.bucket, store.prefix(m.id)) == []
    assert store.delete(m.id) == 0


def test_read_back_reports_bad_and_missing_objects(store: backup.Store):
    m = manifest("20260115-103000-ffff")
    for name, data in (("a", b'{"a": 1}'), ("b", b'{"b": 2}'), ("c", b'{"c": 3}')):
        key = f"objects/alice/configmap.core/{name}.json"
        store.put(m.id, key, data)
        m.entries.append(
            backup.Entry(key, backup.sha256(data), len(data), "v1", "ConfigMap", name, "alice")
        )
    store.put(m.id, m.entries[1].key, b'{"b": 3}')  # same size, other content
    store.client.delete_object(store.bucket, store.prefix(m.id) + m.entries[2].key)
    lines: list[str] = []
    check, contents = backup.read_back(store, m, lines.append, every=2)
    assert check.checked == 3
    assert not check.ok
    assert check.problems() == (
        "ConfigMap alice/b (checksum mismatch), ConfigMap alice/c (missing)"
    )
    assert list(contents) == [m.entries[0].key]
    assert lines == ["read 2/3 objects", "read 3/3 objects"]


def test_table_and_sizes():
    rows = [
        backup.Summary(
            "20260115-103000-a1b2",
            "2026-01-15T10:30:00.123456+00:00",
            [f"user-{n}" for n in range(9)],
            312,
            1536,
            "done",
        )
    ]
    lines = backup.table(rows).splitlines()
    assert lines[0].split() == ["ID", "TIME", "(UTC)", "NAMESPACES", "OBJECTS", "SIZE", "STATE"]
    assert "2026-01-15 10:30:00" in lines[1]
    assert "... (9)" in lines[1]
    assert lines[1].endswith("1.5 KiB  done")
    assert backup.human_bytes(0) == "0 B"
    assert backup.human_bytes(5 * 1024**3) == "5.0 GiB"
    assert json.loads(json.dumps(rows[0].to_dict()))["objects"] == 312
