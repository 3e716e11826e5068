"""The bucket side: ids, manifest, encryption, listing and retention (against the real RGW)."""

import dataclasses
import datetime
import json
from pathlib import Path

import pytest

import backup
import manifest_text
from dsplib.s3 import S3Client
from pytest_ceph_rgw import RGWEndpoint

NOW = datetime.datetime(2026, 1, 15, 10, 30, 0, tzinfo=datetime.timezone.utc)
SIGNER = backup.Cipher(b"k" * 32).signer()
OTHER_SIGNER = backup.Cipher(b"o" * 32).signer()
FORMAT2 = Path(__file__).parent / "format2"


@pytest.fixture
def store(ceph_rgw: RGWEndpoint, bucket: str):
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as client:
        client.create_bucket(bucket)
        yield backup.Store(client, bucket, "/site/", SIGNER)


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
    entries = [backup.Entry("objects/a.json", "ab" * 32, 10, "v1", "ConfigMap", "a", "alice")]
    original.snapshots.append(backup.Snapshot("alice", "s", "pvc"))
    stored = manifest_text.written(original, entries, SIGNER)
    parsed, read = manifest_text.read(stored, original.id, SIGNER)
    assert parsed == dataclasses.replace(original, signed_by=SIGNER.key_id)
    assert read == entries
    assert parsed.seal == backup.SIGNED
    assert parsed.seal_problem(SIGNER) is None
    assert (parsed.objects, parsed.size) == (1, 10)
    header, entry_line, signature = stored.splitlines(keepends=True)
    for data in (
        b"{",
        b"[]",
        stored.replace(b'"format": 3', b'"format": 4'),
        json.dumps({"format": 2, "id": original.id}).encode(),
        json.dumps({"format": 2, "id": ["x"]}).encode(),
        json.dumps({"format": 3, "id": original.id}).encode() + b"\n",
        header + entry_line,  # cut before its signature
        header + entry_line[:-1],  # cut inside a line
        header + signature,  # its summary counts an entry it does not have
        header + entry_line + signature + entry_line,  # goes on after its signature
        header + b'{"key": "objects/b.json"}\n' + signature,
        header + entry_line.replace(b'"size": 10', b'"size": "10"') + signature,
        header + entry_line.replace(b'"encrypted": false', b'"encrypted": 0') + signature,
        header + b"[1]\n" + signature,
    ):
        with pytest.raises(backup.InvalidManifest, match="manifest is unreadable"):
            manifest_text.read(data, original.id, SIGNER)
    with pytest.raises(backup.InvalidManifest, match="is that of backup 20260115-103000-a1b2"):
        manifest_text.read(stored, "20260115-103000-ffff", SIGNER)


def signed_manifest() -> tuple[backup.Manifest, list[backup.Entry], dict]:
    m = manifest("20260115-103000-a1b2")
    m.key_id = "0123456789abcdef"
    entries = [
        backup.Entry(
            "objects/alice/configmap.core/a.json", "ab" * 32, 10, "v1", "ConfigMap", "a", "alice"
        ),
        backup.Entry(
            "objects/alice/secret.core/s.json.enc",
            "cd" * 32,
            20,
            "v1",
            "Secret",
            "s",
            "alice",
            True,
        ),
    ]
    m.snapshots.append(backup.Snapshot("alice", "lab-20260115", "lab"))
    return m, entries, manifest_text.as_dict(manifest_text.written(m, entries, SIGNER))


def entry(data: dict, n: int = 0) -> dict:
    return data["objects"][n]


# Each change someone who can write to the bucket might make to a manifest.
CHANGES = {
    "namespace of an entry": lambda d: entry(d).update(namespace="bob"),
    "name of an entry": lambda d: entry(d).update(name="b"),
    "key of an entry": lambda d: entry(d).update(key="objects/alice/configmap.core/b.json"),
    "checksum of an entry": lambda d: entry(d).update(sha256="ef" * 32),
    "entry no longer encrypted": lambda d: entry(d, 1).update(encrypted=False),
    "entry removed": lambda d: d["objects"].pop(0),
    "entry added": lambda d: d["objects"].append(dict(entry(d), name="c")),
    "entries swapped": lambda d: d["objects"].reverse(),
    "namespaces": lambda d: d.update(namespaces=["alice", "mallory"]),
    "time": lambda d: d.update(created="2099-01-01T00:00:00+00:00"),
    "description": lambda d: d.update(description="edited"),
    "snapshot": lambda d: d["snapshots"].clear(),
    "Secrets key id": lambda d: d.update({"key-id": "fedcba9876543210"}),
    "extra field": lambda d: d.update(extra=1),
    "summary": lambda d: d.update(summary=dict(d["summary"], bytes=1)),
    "signature removed": lambda d: d.pop("hmac-sha256"),
    "signature of another manifest": lambda d: d.update({"hmac-sha256": "00" * 32}),
    "signature not a string": lambda d: d.update({"hmac-sha256": 1}),
    "signer removed": lambda d: d.pop("signed-by"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_any_change_to_a_signed_manifest_fails_its_signature(change):
    m, _, data = signed_manifest()
    CHANGES[change](data)
    edited = manifest_text.as_bytes(data)
    try:
        parsed, _ = manifest_text.read(edited, m.id, SIGNER)
    except backup.InvalidManifest:
        return  # no longer a manifest at all: refused just the same
    assert parsed.seal in (backup.BAD_SIGNATURE, backup.OTHER_KEY)
    assert parsed.seal_problem(SIGNER)


def test_signature_states_and_their_messages():
    m, entries, data = signed_manifest()
    stored = manifest_text.as_bytes(data)
    assert manifest_text.read(stored, m.id, SIGNER)[0].seal == backup.SIGNED
    # the bytes are signed: even a change of layout alone is a change
    spaced = stored.replace(b'", "', b'",  "', 1)
    assert manifest_text.read(spaced, m.id, SIGNER)[0].seal == backup.BAD_SIGNATURE

    bad = dict(data, description="edited")
    parsed, _ = manifest_text.read(manifest_text.as_bytes(bad), m.id, SIGNER)
    assert parsed.seal == backup.BAD_SIGNATURE
    assert parsed.seal_problem(SIGNER) == (
        f"the manifest of backup {m.id} does not match its signature: "
        "it was changed after the backup was written"
    )

    other, _ = manifest_text.read(stored, m.id, OTHER_SIGNER)
    assert other.seal == backup.OTHER_KEY
    assert other.seal_problem(OTHER_SIGNER) == (
        f"the manifest of backup {m.id} is signed with key {SIGNER.key_id}, not this "
        f"application's key {OTHER_SIGNER.key_id}: set encryption-key-secret to the key it "
        "was made with"
    )

    unchecked, _ = manifest_text.read(stored, m.id, None)
    assert unchecked.seal == backup.UNCHECKED
    assert "has no backup key yet" in (unchecked.seal_problem(None) or "")

    # the id is bound in: a manifest moved to another backup's prefix, id and all, fails
    moved = dict(data, id="20260115-103000-ffff")
    parsed, _ = manifest_text.read(manifest_text.as_bytes(moved), moved["id"], SIGNER)
    assert parsed.seal == backup.BAD_SIGNATURE

    # a manifest written before signing (format 1, one document)
    old = {k: v for k, v in data.items() if k not in ("hmac-sha256", "signed-by", "summary")}
    old["format"] = 1
    parsed, read = manifest_text.read(json.dumps(old).encode(), m.id, SIGNER)
    assert parsed.seal == backup.UNSIGNED
    assert read == entries
    assert (parsed.objects, parsed.size) == (2, 30)
    assert parsed.seal_problem(SIGNER) == (
        f"backup {m.id} was written before kubeflow-backup signed its manifests, "
        "so a change to its manifest cannot be detected"
    )


def test_a_recorded_format_2_manifest_is_still_read_and_its_signature_checked():
    """FORMAT2 holds a backup as the charm wrote it before manifests were JSON Lines."""
    [path] = (FORMAT2).glob("*/manifest.json")
    backup_id = path.parent.name
    data = path.read_bytes()
    assert data.startswith(b"{\n") and b'"format": 2' in data
    parsed, read = manifest_text.read(data, backup_id, SIGNER)
    assert parsed.seal == backup.SIGNED
    assert (parsed.objects, parsed.size) == (4, 762)
    assert [e.kind for e in read] == ["Profile", "ConfigMap", "Notebook", "Secret"]
    assert manifest_text.read(data, backup_id, OTHER_SIGNER)[0].seal == backup.OTHER_KEY
    edited = data.replace(b'"name": "lab"', b'"name": "lob"')
    assert manifest_text.read(edited, backup_id, SIGNER)[0].seal == backup.BAD_SIGNATURE


def test_the_signing_key_is_derived_and_tells_keys_apart():
    cipher = backup.Cipher(b"k" * 32)
    assert cipher.signer().key_id == cipher.key_id
    m, _, _ = signed_manifest()
    body = {"id": m.id}
    assert SIGNER.sign(m.id, body) == cipher.signer().sign(m.id, body)
    assert SIGNER.sign(m.id, body) != OTHER_SIGNER.sign(m.id, body)
    assert SIGNER.sign(m.id, body) != SIGNER.sign("20260115-103000-ffff", body)
    # the derived key is not the encryption key itself
    assert backup.Signer(b"k" * 32, SIGNER.key_id).sign(m.id, body) != SIGNER.sign(m.id, body)


def test_mismatch_ties_the_entry_to_the_object():
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": "alice"},
    }
    data = json.dumps(obj).encode()
    good = backup.Entry(
        "objects/alice/configmap.core/a.json", "x", 1, "v1", "ConfigMap", "a", "alice"
    )
    assert backup.mismatch(good, data) is None
    moved = dataclasses.replace(good, namespace="bob")
    assert backup.mismatch(moved, data) == (
        "ConfigMap bob/a (the object holds v1 ConfigMap alice/a at "
        "objects/alice/configmap.core/a.json)"
    )
    assert backup.mismatch(dataclasses.replace(good, kind="Secret"), data)
    assert (
        backup.mismatch(good, b"[1]")
        == "ConfigMap alice/a (the object is not a Kubernetes object)"
    )
    assert (
        backup.mismatch(good, b"{") == "ConfigMap alice/a (the object is not a Kubernetes object)"
    )


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


def test_retention_counts_signed_backups_only():
    def row(day: int, state: str) -> backup.Summary:
        return backup.Summary(
            f"202601{day:02}-000000-00{day:02}", f"2026-01-{day:02}", [], 1, 1, state
        )

    signed = [row(d, backup.SIGNED) for d in (10, 11, 12)]
    unsigned = [row(1, backup.UNSIGNED), row(11, backup.UNSIGNED)]
    forged = [
        row(30, backup.BAD_SIGNATURE),
        row(2, backup.BAD_SIGNATURE),
        row(31, backup.OTHER_KEY),
    ]
    rows = signed + unsigned + forged
    # the two newest signed ones stay; the older signed one and unsigned ones older than the
    # oldest kept go; forged manifests neither count (even "newer") nor get deleted
    assert backup.expired(rows, 2) == [unsigned[0].id, signed[0].id]
    # until `keep` signed backups exist, unsigned ones are all kept
    assert backup.expired(unsigned + forged + signed[:1], 2) == []


def test_summaries_sort_newest_first_and_show_unreadable_manifests(store: backup.Store):
    older, newer = manifest("20260115-103000-bbbb"), manifest("20260115-103000-aaaa")
    newer.created = "2026-01-15T10:30:00.5+00:00"
    for m in (older, newer):
        store.put(m.id, "objects/x.json", b"{}")
        store.put_manifest(m)
    unsigned = manifest("20260115-103000-1111", "2026-01-15T10:29:00+00:00")
    data = manifest_text.as_dict(manifest_text.written(unsigned, [], SIGNER))
    data.update(format=1, description="old")
    del data["hmac-sha256"], data["signed-by"]
    store.put(unsigned.id, backup.MANIFEST, json.dumps(data).encode())
    tampered = manifest_text.as_dict(manifest_text.written(older, [], SIGNER))
    tampered["namespaces"] = ["mallory"]
    store.put(
        "20260115-103000-2222",
        backup.MANIFEST,
        manifest_text.as_bytes(dict(tampered, id="20260115-103000-2222")),
    )
    store.put("20260115-103000-cccc", backup.MANIFEST, b"garbage")
    store.put("20260115-103000-dddd", "objects/x.json", b"{}")  # interrupted
    store.client.put_object(store.bucket, f"{store.root}not-a-backup/x", b"")
    done, incomplete = store.summaries()
    assert store.root == "site/kubeflow-backups/"
    assert [(s.id, s.state) for s in done] == [
        ("20260115-103000-aaaa", "done"),
        ("20260115-103000-bbbb", "done"),
        ("20260115-103000-2222", "bad signature"),
        ("20260115-103000-1111", "unsigned"),
        ("20260115-103000-cccc", "unreadable manifest"),
    ]
    unchecked = backup.Store(store.client, store.bucket, "/site/")
    assert {s.state for s in unchecked.summaries()[0]} == {
        "signature not checked",
        "unsigned",
        "unreadable manifest",
    }
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


def config_map(name: str, value: str) -> bytes:
    meta = {"name": name, "namespace": "alice"}
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"v": value}}
    return json.dumps(obj).encode()


def test_check_objects_reports_bad_and_missing_objects(store: backup.Store):
    m = manifest("20260115-103000-ffff")
    entries = []
    for name in ("a", "b", "c"):
        key = f"objects/alice/configmap.core/{name}.json"
        data = config_map(name, "1")
        store.put(m.id, key, data)
        entries.append(
            backup.Entry(key, backup.sha256(data), len(data), "v1", "ConfigMap", name, "alice")
        )
    store.put(m.id, entries[1].key, config_map("b", "2"))  # same size, other content
    store.client.delete_object(store.bucket, store.prefix(m.id) + entries[2].key)
    lines: list[str] = []
    contents: dict[str, bytes] = {}
    keep = contents.__setitem__
    check = backup.check_objects(
        store, m.id, iter(entries), lines.append, 2, lambda e, d: keep(e.key, d), total=3
    )
    assert check.checked == 3
    assert not check.ok
    assert check.problems() == (
        "ConfigMap alice/b (checksum mismatch), ConfigMap alice/c (missing)"
    )
    assert list(contents) == [entries[0].key]
    assert lines == ["read 2/3 objects", "read 3/3 objects"]


def test_objects_the_manifest_does_not_list_are_found(store: backup.Store):
    m = manifest("20260115-103000-abab")
    data = json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "alice"}}
    ).encode()
    key = "objects/alice/configmap.core/a.json"
    store.put(m.id, key, data)
    entry = backup.Entry(key, backup.sha256(data), len(data), "v1", "ConfigMap", "a", "alice")

    def check(entries: list[backup.Entry]) -> backup.Verification:
        stored = manifest_text.written(m, entries, SIGNER)
        store.put(m.id, backup.MANIFEST, stored)
        with store.open_manifest(m.id) as found:
            assert found is not None
            return backup.check_manifest(store, found, lambda _: None)

    assert check([entry]).ok
    store.put(m.id, "objects/alice/configmap.core/added.json", data)
    found = check([entry])
    assert found.unlisted == ["objects/alice/configmap.core/added.json"]
    assert not found.ok
    assert found.problems() == "objects/alice/configmap.core/added.json (not in the manifest)"
    # an entry listed twice cannot stand for an object added beside it
    twice = check([entry, entry])
    assert twice.problems() == (
        "ConfigMap alice/a (listed twice), "
        "objects/alice/configmap.core/added.json (not in the manifest)"
    )
    store.withdraw(m.id)
    assert store.manifest(m.id) is None
    assert list(store.keys(m.id)) == [key, "objects/alice/configmap.core/added.json"]


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
