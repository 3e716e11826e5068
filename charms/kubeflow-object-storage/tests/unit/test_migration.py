"""The artifact migration between two buckets with different keys on a real Ceph RGW.

The source stands for Charmed Kubeflow's MinIO: a user in its own RGW tenant, so its bucket
has the same name as the target's (run URIs name the bucket) and other keys.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

import migration
from ceph_rgw import S3User
from dsplib.s3 import S3Client, S3Object, S3Unreachable
from migration import Buckets, MigrationError, Report
from pytest_ceph_rgw import RGWEndpoint

# What Kubeflow Pipelines writes: v2 artifacts, uploaded pipelines, Argo's logs.
ARTIFACTS = {
    "v2/artifacts/train/6f1c/train-model/model": (os.urandom(2500), "application/octet-stream"),
    "v2/artifacts/train/6f1c/evaluate/metrics": (b'{"accuracy": 0.93}', "application/json"),
    "pipelines/0b7e8a52-5d0c-4f8e-9b1e-4f6f5e7f2a10": (b"pipelineSpec: {}", "text/yaml"),
    "artifacts/train-6f1c/2026/12/06/train-6f1c-1234/main.log": (b"epoch 1\n", "text/plain"),
    "v2/artifacts/ünïcødé run/a b+c=d&e.csv": (b"a,b\n1,2\n", "text/csv"),
    "v2/artifacts/empty/marker": (b"", "application/x-empty"),
    "v2/artifacts/big/weights.bin": (os.urandom(3 * 1024 * 1024 + 5), "application/x-weights"),
}


@pytest.fixture(scope="module")
def minio_user(ceph_cluster) -> S3User:
    return ceph_cluster.create_user(f"minio${secrets.token_hex(4)}")


@pytest.fixture
def bucket() -> str:
    return f"mlpipeline-{secrets.token_hex(4)}"


@pytest.fixture
def source(ceph_rgw: RGWEndpoint, minio_user: S3User, bucket: str) -> Iterator[S3Client]:
    with S3Client(ceph_rgw.endpoint, minio_user.access_key, minio_user.secret_key) as client:
        client.create_bucket(bucket)
        yield client


@pytest.fixture
def target(ceph_rgw: RGWEndpoint, bucket: str) -> Iterator[S3Client]:
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as client:
        client.create_bucket(bucket)
        yield client


@pytest.fixture
def buckets(source: S3Client, target: S3Client, bucket: str) -> Buckets:
    return Buckets(source, bucket, target, bucket)


def fill(client: S3Client, bucket: str, objects: dict[str, tuple[bytes, str]]) -> None:
    for key, (content, content_type) in objects.items():
        client.put_object(bucket, key, content, content_type)


def multipart_upload(client: S3Client, bucket: str, key: str, parts: list[bytes]) -> str:
    """Upload in parts, as the KFP launcher's SDK does for large artifacts; the ETag."""
    started = client._request("POST", bucket, key, query=[("uploads", "")])
    upload_id = ET.fromstring(started.content).findtext("{*}UploadId", "")  # noqa: S314 - RGW's
    root = ET.Element("CompleteMultipartUpload")
    for number, part in enumerate(parts, start=1):
        query = [("partNumber", str(number)), ("uploadId", upload_id)]
        answer = client._request("PUT", bucket, key, query=query, body=part)
        element = ET.SubElement(root, "Part")
        ET.SubElement(element, "PartNumber").text = str(number)
        ET.SubElement(element, "ETag").text = answer.headers["etag"]
    body = ET.tostring(root)
    client._request("POST", bucket, key, query=[("uploadId", upload_id)], body=body)
    return client.object_info(bucket, key).etag


def run(buckets: Buckets, dry_run: bool = False) -> tuple[Report, list[str]]:
    report, logged = Report(), []
    migration.migrate(buckets, report, dry_run=dry_run, log=logged.append)
    return report, logged


def listing(client: S3Client, bucket: str) -> list[tuple[str, int]]:
    return [(o.key, o.size) for o in client.iter_objects(bucket)]


def assert_same_objects(buckets: Buckets) -> None:
    source, target = buckets.source, buckets.target
    assert listing(target, buckets.target_bucket) == listing(source, buckets.source_bucket)
    for obj in source.iter_objects(buckets.source_bucket):
        original = source.object_info(buckets.source_bucket, obj.key)
        copy = target.object_info(buckets.target_bucket, obj.key)
        assert copy.content_type == original.content_type, obj.key
        assert copy.metadata[migration.COPIED_FROM] == original.etag.strip('"')
        assert hashlib.sha256(target.get_object(buckets.target_bucket, obj.key)).digest() == (
            hashlib.sha256(source.get_object(buckets.source_bucket, obj.key)).digest()
        ), obj.key


# -- a full copy, and runs after it ------------------------------------------------------------


def test_a_full_copy_keeps_keys_content_types_metadata_and_bytes(buckets: Buckets, bucket: str):
    fill(buckets.source, bucket, ARTIFACTS)
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1000)]
    etag = multipart_upload(buckets.source, bucket, "v2/artifacts/big/dataset.parquet", parts)
    assert etag.strip('"').endswith("-2")  # a multipart ETag: not the content's MD5
    buckets.source.put_object_stream(
        bucket, "v2/artifacts/tagged", iter([b"x"]), 1, metadata={"owner": "alice"}
    )
    total = len(ARTIFACTS) + 2
    size = sum(len(c) for c, _ in ARTIFACTS.values()) + sum(len(p) for p in parts) + 1

    report, logged = run(buckets)

    assert (report.objects, report.bytes, report.to_copy, report.present) == (
        total,
        size,
        total,
        0,
    )
    assert (report.copied, report.copied_bytes, report.failed) == (total, size, [])
    assert_same_objects(buckets)
    tagged = buckets.target.object_info(bucket, "v2/artifacts/tagged")
    assert tagged.metadata["owner"] == "alice"
    assert logged[0] == (
        f"source {buckets.source.endpoint} bucket '{bucket}': {total} objects "
        f"({migration.mib(size)}); bucket '{bucket}' already has 0; "
        f"copying {total} ({migration.mib(size)})"
    )
    assert logged[-1] == (
        f"copied {total}/{total} objects ({migration.mib(size)} of {migration.mib(size)})"
    )
    assert len(logged) <= 1 + migration.PROGRESS_STEPS


def test_a_second_run_copies_nothing_then_only_what_changed(buckets: Buckets, bucket: str):
    fill(buckets.source, bucket, ARTIFACTS)
    multipart_upload(buckets.source, bucket, "v2/multi", [os.urandom(5 * 1024 * 1024), b"end"])
    run(buckets)

    again, logged = run(buckets)
    assert (again.present, again.to_copy, again.copied) == (len(ARTIFACTS) + 1, 0, 0)
    assert logged == [logged[0]]  # nothing to copy: the summary line only

    # same size, other bytes: only the ETag tells them apart
    changed_key = "v2/artifacts/train/6f1c/evaluate/metrics"
    buckets.source.put_object(bucket, changed_key, b'{"accuracy": 0.97}', "application/json")
    buckets.source.put_object(bucket, "v2/artifacts/longer", b"grown", "text/plain")
    buckets.target.put_object(bucket, "v2/artifacts/longer", b"old", "text/plain")
    buckets.source.put_object(bucket, "v2/artifacts/new", b"new", "text/plain")
    third, _ = run(buckets)
    assert (third.to_copy, third.copied) == (3, 3)
    assert buckets.target.get_object(bucket, changed_key) == b'{"accuracy": 0.97}'
    assert_same_objects(buckets)


def test_a_dry_run_counts_and_writes_nothing(buckets: Buckets, bucket: str):
    fill(buckets.source, bucket, ARTIFACTS)
    first = "pipelines/0b7e8a52-5d0c-4f8e-9b1e-4f6f5e7f2a10"
    buckets.target.put_object(bucket, first, ARTIFACTS[first][0], "text/yaml")  # same ETag

    report, logged = run(buckets, dry_run=True)

    size = sum(len(c) for c, _ in ARTIFACTS.values())
    assert (report.objects, report.bytes) == (len(ARTIFACTS), size)
    assert (report.present, report.present_bytes) == (1, len(ARTIFACTS[first][0]))
    assert (report.to_copy, report.to_copy_bytes) == (len(ARTIFACTS) - 1, report.bytes - 16)
    assert report.copied == 0
    assert [k for k, _ in listing(buckets.target, bucket)] == [first]
    assert len(logged) == 1
    assert "would copy 6" in logged[0]
    assert report.results(dry_run=True) == {
        "dry-run": "true",
        "objects": str(len(ARTIFACTS)),
        "bytes": str(size),
        "already-present": "1",
        "to-copy": str(len(ARTIFACTS) - 1),
        "to-copy-bytes": str(size - 16),
        "seconds": f"{report.seconds:.1f}",
    }


# -- interruptions and damage ------------------------------------------------------------------


class DropsConnection(S3Client):
    """A target whose connection drops halfway through the body of upload number `after + 1`."""

    def __init__(self, *args, after: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.left, self.lock, self.dropped = after, threading.Lock(), ""

    def put_object_stream(self, bucket: str, key: str, chunks: Iterable[bytes], *args, **kw):
        with self.lock:
            if self.left == 0:
                chunks, self.dropped = self._half_then_drop(chunks), key
            self.left -= 1
        return super().put_object_stream(bucket, key, chunks, *args, **kw)

    def _half_then_drop(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        chunk = next(iter(chunks))
        yield chunk[: len(chunk) // 2]
        raise S3Unreachable(f"S3 endpoint {self.endpoint}: connection reset")


def test_an_interrupted_copy_resumes_where_it_stopped(
    ceph_rgw: RGWEndpoint, buckets: Buckets, bucket: str
):
    objects = {f"v2/artifacts/run/{i:03d}": (os.urandom(300 + i), "text/plain") for i in range(30)}
    fill(buckets.source, bucket, objects)
    keys = ceph_rgw.access_key, ceph_rgw.secret_key
    with DropsConnection(ceph_rgw.endpoint, *keys, after=10) as flaky:
        report = Report()
        with pytest.raises(MigrationError) as stopped:
            migration.migrate(
                Buckets(buckets.source, bucket, flaky, bucket), report, dry_run=False, log=print
            )
    # copies under way when the connection dropped finish and are counted; no new one starts
    assert 10 <= report.copied < 10 + 2 * migration.WORKERS
    assert str(stopped.value) == (
        f"stopped after copying {report.copied} of 30 objects: S3 endpoint {ceph_rgw.endpoint}: "
        "connection reset; run the action again to copy the rest"
    )
    copied = [k for k, _ in listing(buckets.target, bucket)]
    assert len(copied) == report.copied
    assert flaky.dropped not in copied  # the upload cut off halfway left nothing behind

    resumed, _ = run(buckets)
    left = 30 - report.copied
    assert (resumed.present, resumed.to_copy, resumed.copied) == (report.copied, left, left)
    assert_same_objects(buckets)


class Garbles(S3Client):
    """Flips the first byte of every chunk it uploads."""

    def put_object_stream(self, bucket: str, key: str, chunks: Iterable[bytes], *args, **kw):
        return super().put_object_stream(bucket, key, garble(chunks), *args, **kw)


class GarblesReads(S3Client):
    def open_object(self, *args, **kwargs):
        opened = super().open_object(*args, **kwargs)

        class Wrapped:
            def __enter__(self):
                info, chunks = opened.__enter__()
                return info, garble(chunks)

            def __exit__(self, *exc):
                return opened.__exit__(*exc)

        return Wrapped()


def garble(chunks: Iterable[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        yield bytes([chunk[0] ^ 0xFF]) + chunk[1:] if chunk else chunk


@pytest.mark.parametrize(
    ("side", "problem"),
    [
        ("target", "the target stored other bytes"),
        ("source", "the bytes read have MD5"),
    ],
)
def test_a_damaged_copy_is_reported_and_not_kept(
    ceph_rgw: RGWEndpoint, minio_user: S3User, buckets: Buckets, bucket: str, side, problem
):
    fill(buckets.source, bucket, {"v2/a": (b"alpha", "text/plain")})
    if side == "target":
        damaged = Buckets(
            buckets.source,
            bucket,
            Garbles(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key),
            bucket,
        )
    else:
        keys = minio_user.access_key, minio_user.secret_key
        damaged = Buckets(GarblesReads(ceph_rgw.endpoint, *keys), bucket, buckets.target, bucket)
    report = Report()
    migration.migrate(damaged, report, dry_run=False, log=lambda _: None)
    assert report.copied == 0
    [failure] = report.failed
    assert failure.startswith(f"'v2/a': {problem}")
    assert failure.endswith("; not kept")
    assert listing(buckets.target, bucket) == []
    assert report.results(dry_run=False)["failures"] == failure


def test_wrong_source_keys_fail_naming_the_source_and_write_nothing(
    ceph_rgw: RGWEndpoint, minio_user: S3User, buckets: Buckets, bucket: str
):
    fill(buckets.source, bucket, ARTIFACTS)
    wrong = S3Client(ceph_rgw.endpoint, minio_user.access_key, "wrong" * 8)
    with wrong, pytest.raises(MigrationError) as refused:
        run(Buckets(wrong, bucket, buckets.target, bucket))
    assert str(refused.value) == (
        f"source {ceph_rgw.endpoint} bucket '{bucket}': S3 refused the request on bucket "
        f"'{bucket}': wrong keys or no permission (403): "
        "fix access-key and secret-key in the source-credentials-secret (juju update-secret), "
        "or the keys' permissions"
    )
    assert listing(buckets.target, bucket) == []


def test_a_missing_source_bucket_is_named(buckets: Buckets, bucket: str):
    with pytest.raises(MigrationError, match=r"bucket 'nothing-here' does not exist$"):
        run(Buckets(buckets.source, "nothing-here", buckets.target, bucket))


# -- many keys ---------------------------------------------------------------------------------


def test_more_keys_than_one_listing_page(buckets: Buckets, bucket: str):
    count = 1100  # ListObjectsV2 answers at most 1000 keys per page
    keys = [f"v2/artifacts/sweep/{i:05d}/metrics" for i in range(count)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: buckets.source.put_object(bucket, k, k.encode()), keys))
    for key in keys[500:540]:  # some already there, as after an interrupted run
        buckets.target.put_object(bucket, key, key.encode())

    planned, _ = run(buckets, dry_run=True)
    assert (planned.objects, planned.present, planned.to_copy) == (count, 40, count - 40)

    report, logged = run(buckets)
    assert (report.objects, report.present, report.copied) == (count, 40, count - 40)
    assert [k for k, _ in listing(buckets.target, bucket)] == keys
    assert len(logged) == 1 + migration.PROGRESS_STEPS
    assert logged[5] == "copied 530/1060 objects (0.0 MiB of 0.0 MiB)"


# -- pieces ------------------------------------------------------------------------------------


def objs(*keys: str) -> list[S3Object]:
    return [S3Object(k, 1, '"e"', "") for k in keys]


def test_listings_are_paired_by_key_in_one_pass():
    paired = migration.pairs(objs("a", "b", "d", "e"), objs("0", "b", "c", "e", "f"))
    assert [(s.key, t.key if t else None) for s, t in paired] == [
        ("a", None),
        ("b", "b"),
        ("d", None),
        ("e", "e"),
    ]


def test_progress_is_a_bounded_number_of_messages():
    logged: list[str] = []
    report = Report(to_copy=12345)
    progress = migration.Progress(logged.append, report)
    for _ in range(12345):
        report.copied += 1
        progress.done()
    assert len(logged) == migration.PROGRESS_STEPS
    assert logged[-1].startswith("copied 12345/12345 objects")


@pytest.mark.parametrize(
    ("secret_id", "valid"),
    [
        ("secret:d0a6jc7mp25c7bqbe3mg", True),
        ("d0a6jc7mp25c7bqbe3mg", True),  # ParseURI adds the scheme
        ("secret://8e3b4ad8-2f5c-4c1e-9b0a-6f1d2c3b4a59/d0a6jc7mp25c7bqbe3mg", True),
        ("secret:d0a6jc7mp25c7bqbe3m", False),  # 19 characters
        ("secret:D0A6JC7MP25C7BQBE3MG", False),
        ("minio-keys", False),  # a secret's name: the charm cannot look names up
        ("vault:d0a6jc7mp25c7bqbe3mg", False),
    ],
)
def test_secret_ids_are_those_juju_parses(secret_id: str, valid: bool):
    # juju/juju core/secrets/secret.go ParseURI: optional "secret" scheme, optional source
    # UUID, then 20 of [0-9a-z]
    assert bool(migration.SECRET_ID.match(secret_id)) is valid
