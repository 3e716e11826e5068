"""Backups that do not grow in memory with the platform: streaming, parallel transfers, summaries.

Against the real RGW, with parallel-transfers at its default (several) unless a test sets it.
"""

import hashlib
import hmac
import json
import threading
import time
from pathlib import Path

import pytest

import backup
import cluster
import jobs
import manifest_text
from conftest import empty_cluster, s3_relation
from dsplib import validation as check
from dsplib.s3 import S3Client, S3Error, S3Unreachable
from test_charm import ROOT, act, fails, keys, state
from test_safety import in_cluster

# -- bounded_map ------------------------------------------------------------------------------


def test_bounded_map_keeps_order_and_holds_at_most_twice_the_workers():
    pulled, finished = [], []
    lock = threading.Lock()

    def items():
        for n in range(40):
            with lock:
                in_flight = len(pulled) - len(finished)
            assert in_flight <= 2 * 3, f"{in_flight} items in flight"
            pulled.append(n)
            yield n

    def work(n: int) -> int:
        time.sleep(0.001 * (n % 4))  # later items often end first
        with lock:
            finished.append(n)
        return n * n

    results = []
    for result in backup.bounded_map(work, items(), 3):
        results.append(result)
        time.sleep(0.002)  # a slow consumer must not make the producer run ahead
    assert results == [n * n for n in range(40)]
    assert len(pulled) == 40


def test_bounded_map_raises_the_first_error_and_starts_nothing_more():
    started = []

    def work(n: int) -> int:
        started.append(n)
        if n == 5:
            raise ValueError("object 5")
        time.sleep(0.01)
        return n

    with pytest.raises(ValueError, match="object 5"):
        list(backup.bounded_map(work, range(1000), 2))
    assert len(started) < 20  # the rest was cancelled, not run


def test_one_transfer_runs_in_the_callers_thread():
    threads = set()
    list(backup.bounded_map(lambda n: threads.add(threading.get_ident()), range(5), 1))
    assert threads == {threading.get_ident()}


# -- the config option ------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 33, -1])
def test_parallel_transfers_out_of_range_blocks_naming_the_option(
    ctx, kube, ceph_rgw, bucket, value
):
    s3 = s3_relation(ceph_rgw, bucket)
    config = {"parallel-transfers": value}
    out = ctx.run(ctx.on.config_changed(), state([s3], config=config))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message == (
        "config parallel-transfers: expected a whole number from 1 to 32"
    )
    failure = fails(ctx, "create-backup", state([s3], config=config))
    assert failure.message.startswith("config parallel-transfers: ")
    assert keys(ceph_rgw, bucket) == []


def test_one_transfer_at_a_time_makes_the_same_backup(ctx, kube, ceph_rgw, bucket):
    s3 = s3_relation(ceph_rgw, bucket)
    listings = []
    for transfers in (1, 8):
        st = state([s3], config={"parallel-transfers": transfers})
        act(ctx, "create-backup", st)
        backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
        listings.append(
            [k.split("/", 3)[3] for k in keys(ceph_rgw, bucket, f"{ROOT}{backup_id}/")]
        )
        act(ctx, "verify-backup", st, **{"backup-id": backup_id})
        assert ctx.action_results["ok"] == "true"  # type: ignore[index]
    assert listings[0] == listings[1]


# -- interruption and errors with parallel transfers ------------------------------------------


def test_a_failed_upload_names_the_object_and_leaves_no_manifest(
    ctx, kube, ceph_rgw, bucket, monkeypatch
):
    s3 = s3_relation(ceph_rgw, bucket)
    real_put = S3Client.put_object

    def failing_put(self, bucket_name, key, data, content_type="application/octet-stream"):
        if key.endswith("/configmap.core/settings.json"):
            raise S3Unreachable(f"S3 endpoint {self.endpoint} did not answer in time")
        return real_put(self, bucket_name, key, data, content_type)

    monkeypatch.setattr(S3Client, "put_object", failing_put)
    st = state([s3], config={"parallel-transfers": 4})
    failure = fails(ctx, "create-backup", st)
    assert failure.message == (
        f"uploading ConfigMap alice/settings: S3 endpoint {ceph_rgw.endpoint} did not answer "
        "in time"
    )
    stored = keys(ceph_rgw, bucket, ROOT)
    assert stored  # some objects went up before the failure...
    assert not [k for k in stored if k.endswith("manifest.json")]  # ...but it is not a backup
    monkeypatch.setattr(S3Client, "put_object", real_put)
    act(ctx, "list-backups", st)
    assert ctx.action_results["count"] == "0"  # type: ignore[index]


def test_a_failed_download_names_the_object(ctx, kube, ceph_rgw, bucket, monkeypatch):
    s3 = s3_relation(ceph_rgw, bucket)
    st = state([s3], config={"parallel-transfers": 3})
    act(ctx, "create-backup", st)
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    real_get = S3Client.get_object

    def failing_get(self, bucket_name, key):
        if key.endswith("/notebook.kubeflow.org/lab.json"):
            raise S3Error(f"S3 request for '{bucket_name}/{key}' failed: HTTP 503", "x", 503)
        return real_get(self, bucket_name, key)

    monkeypatch.setattr(S3Client, "get_object", failing_get)
    for action in ("verify-backup", "restore"):
        failure = fails(ctx, action, st, **{"backup-id": backup_id})
        assert failure.message.startswith("reading Notebook alice/lab: S3 request for ")


# -- summaries: list-backups and create-backup read no manifest -------------------------------


def manifest_reads(monkeypatch) -> list[str]:
    """Keys of the manifests read, whole (get_object) or streamed (open_object)."""
    reads: list[str] = []
    real_get, real_open = S3Client.get_object, S3Client.open_object

    def get(self, bucket_name, key):
        if key.endswith("/manifest.json"):
            reads.append(key)
        return real_get(self, bucket_name, key)

    def open_object(self, bucket_name, key, *args, **kwargs):
        if key.endswith("/manifest.json"):
            reads.append(key)
        return real_open(self, bucket_name, key, *args, **kwargs)

    monkeypatch.setattr(S3Client, "get_object", get)
    monkeypatch.setattr(S3Client, "open_object", open_object)
    return reads


def test_list_backups_reads_signed_summaries_not_manifests(
    ctx, kube, ceph_rgw, bucket, monkeypatch
):
    s3 = s3_relation(ceph_rgw, bucket)
    made = []
    for namespace in ("alice", "bob"):
        act(ctx, "create-backup", state([s3]), namespaces=namespace, description=namespace)
        made.append(dict(ctx.action_results))  # type: ignore[arg-type]
    reads = manifest_reads(monkeypatch)
    act(ctx, "list-backups", state([s3]), format="json")
    rows = json.loads(ctx.action_results["backups"])  # type: ignore[index]
    assert reads == []
    assert [(r["id"], r["objects"], r["state"], r["description"]) for r in rows] == [
        (made[1]["backup-id"], int(made[1]["objects"]), "done", "bob"),
        (made[0]["backup-id"], int(made[0]["objects"]), "done", "alice"),
    ]
    assert [r["namespaces"] for r in rows] == [["bob"], ["alice"]]
    # the listing from the summary is the one the manifest gives
    store = backup.Store(
        S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key),
        bucket,
        "platform",
        backup.Cipher(b"o" * 32).signer(),
    )
    for row in rows:
        manifest = store.require_manifest(row["id"])
        assert manifest.summary().to_dict() == row


def test_create_backup_reads_no_manifest_of_earlier_backups(
    ctx, kube, ceph_rgw, bucket, monkeypatch
):
    s3 = s3_relation(ceph_rgw, bucket)
    st = state([s3], config={"retention": 2})
    for _ in range(2):
        act(ctx, "create-backup", st, namespaces="bob")
    reads = manifest_reads(monkeypatch)
    act(ctx, "create-backup", st, namespaces="bob")
    assert reads == []
    assert ctx.action_results["deleted-by-retention"] != "none"  # type: ignore[index]


def test_a_summary_that_no_longer_matches_its_manifest_is_not_trusted(
    ctx, kube, ceph_rgw, bucket, monkeypatch
):
    """A manifest rewritten after its summary no longer has the summary's ETag.

    Here it is signed again, by the key's holder. The listing then reads the manifest, whose
    signature still holds.
    """
    s3 = s3_relation(ceph_rgw, bucket)
    act(ctx, "create-backup", state([s3]), namespaces="bob")
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    key = f"{ROOT}{backup_id}/manifest.json"
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as client:
        signer = backup.Cipher(b"o" * 32).signer()
        manifest, entries = manifest_text.read(client.get_object(bucket, key), backup_id, signer)
        manifest.finished = "2099-01-01T00:00:00+00:00"
        client.put_object(bucket, key, manifest_text.written(manifest, entries, signer))
    reads = manifest_reads(monkeypatch)
    act(ctx, "list-backups", state([s3]), format="json")
    [row] = json.loads(ctx.action_results["backups"])  # type: ignore[index]
    assert row["state"] == "done"
    assert reads == [key]


def test_a_forged_summary_is_not_trusted(ceph_rgw, bucket):
    signer = backup.Cipher(b"o" * 32).signer()
    forger = backup.Cipher(b"f" * 32).signer()
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as client:
        client.create_bucket(bucket)
        store = backup.Store(client, bucket, "platform", signer)
        manifest = backup.Manifest(id="20260115-103000-abcd", created="2026-01-15T10:30:00+00:00")
        store.put(manifest.id, "objects/x.json", b"{}")
        store.put_manifest(manifest)
        data = client.get_object(bucket, store.prefix(manifest.id) + backup.MANIFEST)
        etag = client.head_object(bucket, store.prefix(manifest.id) + backup.MANIFEST).etag
        ours = client.get_object(bucket, store.summary_key(manifest.id))
        assert backup.Summary.trusted(ours, manifest.id, etag, signer) == manifest.summary()
        forged = backup.Summary(manifest.id, manifest.created, ["x"], 10**6, 10**9, "done")
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        assert etag == f'"{md5}"'
        for summary, key in (
            (forged.to_json(md5, forger), signer),  # signed with another key
            (ours, forger),  # checked with another key
        ):
            assert backup.Summary.trusted(summary, manifest.id, etag, key) is None
        assert backup.Summary.trusted(ours, "20260115-103000-ffff", etag, signer) is None
        assert backup.Summary.trusted(ours, manifest.id, '"0123"', signer) is None
        assert backup.Summary.trusted(b"[]", manifest.id, etag, signer) is None
        # the summary goes with its backup
        assert jobs.delete_backup(store, _NoCluster(), manifest.id) == (2, 0)
        assert keys(ceph_rgw, bucket, store.summaries_root) == []


class _NoCluster:
    def delete_snapshots(self, backup_id: str) -> int:
        return 0


def test_the_manifest_is_one_entry_a_line_signed_over_its_bytes():
    """Format 3: a header line, one line an entry, then the HMAC of every byte before it.

    That is what lets create-backup write the entries as they are uploaded and verify and
    restore check the signature reading a line at a time, holding none of it.
    """
    m = backup.Manifest(id="20260115-103000-a1b2", created="2026-01-15T10:30:00+00:00")
    m.namespaces = ["alice", "bob"]
    entries = [
        backup.Entry(
            f"objects/alice/configmap.core/c{n}.json",
            "ab" * 32,
            n,
            "v1",
            "ConfigMap",
            f"c{n}",
            "alice",
            n % 2 == 0,
        )
        for n in range(5)
    ]
    m.snapshots = [backup.Snapshot("alice", "s", "pvc")]
    signer = backup.Cipher(b"k" * 32).signer()
    stored = manifest_text.written(m, entries, signer)
    lines = stored.splitlines(keepends=True)
    assert len(lines) == 1 + 5 + 1
    header = json.loads(lines[0])
    assert header["format"] == 3
    assert header["summary"] == {"objects": 5, "bytes": 10, "snapshots": 1}
    assert [json.loads(line) for line in lines[1:-1]] == [e.to_dict() for e in entries]
    message = b"kubeflow-backup manifest lines\0" + m.id.encode() + b"\0" + b"".join(lines[:-1])
    expected = hmac.new(signer._key, message, hashlib.sha256).hexdigest()
    assert json.loads(lines[-1]) == {"hmac-sha256": expected}
    parsed, read = manifest_text.read(stored, m.id, signer)
    assert parsed.seal == backup.SIGNED
    assert read == entries


def test_the_signature_of_format_2_is_checked_piece_by_piece_as_it_was_whole():
    """Format 2 (one document, still read) signed json.dumps of the whole canonical body."""
    body = {"b": [1, {"x": "y"}], "a": "é", "c": {"k": [2]}}
    whole = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert "".join(backup.canonical_pieces(body)) == whole


@pytest.mark.parametrize("value", [True, "4", 2.5, None])
def test_settings_refuse_transfers_that_are_not_whole_numbers(value):
    with pytest.raises(check.InvalidConfig, match="parallel-transfers: expected a whole number"):
        jobs.Settings.from_config({"retention": 7, "parallel-transfers": value})
    assert jobs.Settings.from_config({"retention": 7, "parallel-transfers": 32}).transfers == 32


def test_progress_comes_every_so_many_objects_not_per_object(
    ctx, kube, ceph_rgw, bucket, monkeypatch
):
    monkeypatch.setattr(backup, "PROGRESS_EVERY", 5)
    act(ctx, "create-backup", state([s3_relation(ceph_rgw, bucket)]))
    uploaded = [line for line in ctx.action_logs if line.startswith("uploaded")]
    total = int(ctx.action_results["objects"])  # type: ignore[index]
    assert uploaded == [f"uploaded {n} objects" for n in range(5, total, 5)] + [
        f"uploaded {total} objects"
    ]


# -- manifests written before format 3 --------------------------------------------------------


def test_a_recorded_format_2_backup_still_lists_verifies_and_restores(ceph_rgw, bucket):
    """Backups written before manifests became JSON Lines (format 3) keep working.

    format2/ holds one (objects, manifest, summary) as create-backup wrote it then, signed and
    encrypted with the key b"k" * 32.
    """
    recorded = Path(__file__).parent / "format2"
    cipher = backup.Cipher(b"k" * 32)
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as client:
        client.create_bucket(bucket)
        store = backup.Store(client, bucket, "platform", cipher.signer(), transfers=2)
        [folder] = [p for p in recorded.iterdir() if backup.ID_PATTERN.match(p.name)]
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                key = store.prefix(folder.name) + str(path.relative_to(folder))
                client.put_object(bucket, key, path.read_bytes())
        summary = recorded / "summaries" / f"{folder.name}.json"
        client.put_object(bucket, store.summary_key(folder.name), summary.read_bytes())

        rows, incomplete = store.summaries()
        assert [(r.id, r.objects, r.bytes, r.state) for r in rows] == [
            (folder.name, 4, 762, "done")
        ]
        assert incomplete == []
        lines: list[str] = []
        manifest, check, _ = jobs.verify_backup(store, None, folder.name, lines.append)
        assert (manifest.seal, check.ok, check.checked) == (backup.SIGNED, True, 4)
        target = empty_cluster()
        report = jobs.restore_backup(
            store,
            in_cluster(target),
            folder.name,
            (),
            cluster.RestoreOptions(),
            cipher,
            lines.append,
        )
        assert (report.created, report.failed) == (4, 0)
        assert target.get_object("Secret", "db-password", "alice")["data"] == {"pw": "czNjcjN0"}
        # an object changed since: verify and restore both find it
        key = store.prefix(folder.name) + "objects/alice/configmap.core/settings.json"
        client.put_object(bucket, key, b"{}")
        assert not jobs.verify_backup(store, None, folder.name, lines.append)[1].ok
        with pytest.raises(backup.BackupError, match="is damaged, nothing restored"):
            jobs.restore_backup(
                store,
                in_cluster(empty_cluster()),
                folder.name,
                (),
                cluster.RestoreOptions(),
                cipher,
                lines.append,
            )
