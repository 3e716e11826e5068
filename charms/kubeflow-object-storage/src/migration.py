"""Copy Kubeflow Pipelines' artifacts bucket from an old S3 endpoint (MinIO) into Ceph RGW.

No ops here: the charm's `migrate-artifacts` action hands in two S3 clients, the two bucket
names and a function that writes to the action's log.

Keys and the bucket name stay the same. Kubeflow Pipelines records where each artifact lives
as `minio://<bucket>/<key>` (the launcher's default pipeline root is
`minio://mlpipeline/v2/artifacts`), a bucket and a key but no host: the UI's server fetches
`/artifacts/get?source=minio&bucket=<bucket>&key=<key>` from `MINIO_HOST.MINIO_NAMESPACE`,
which the kfp-ui charm takes from the `object-storage` relation (canonical/kfp-operators
charms/kfp-ui/src/charm.py; kubeflow/pipelines frontend/server/configs.ts); kfp-api is given
the relation's `<service>.<namespace>`, and the launcher, without a `kfp-launcher` config,
`minio-service`, which kfp-api keeps as an alias of the same name (charms/kfp-api/src/charm.py
and templates/minio-service.yaml.j2). Once this charm serves the relation, an old URI names the
same key in the same bucket on Ceph. That is why the source bucket must be the served bucket.

How a copy is checked: MD5 against ETags, not a SHA-256 and a second read. The object is
streamed from the source into one PUT on the target while its MD5 is computed. The target's
ETag, which RGW computes from the bytes it stored, must equal that MD5; and for an object the
source uploaded in one part, so must the source's own ETag, the MD5 it computed when the
object was written. So both hops are checked end to end without reading anything twice, where
a SHA-256 compared after re-reading the target would double the traffic and still say nothing
about the source side. Objects the source uploaded in parts (ETag `<md5>-<parts>`) have no
whole-content checksum there: for them the size (the PUT carries exactly the source's length)
and the target's MD5 are checked. Every copy carries the source's ETag as user metadata, so a
later run recognises what it already copied, multipart objects included.

What is resumable: each object is one PUT, which the gateway keeps whole or not at all, so an
interrupted run leaves no partial objects, and the next run compares the two listings and
copies only what is missing, of another size, or of another ETag.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from dsplib.s3 import S3AuthError, S3Client, S3Error, S3NotFound, S3Object, S3Unreachable
from storage import is_bucket_name

COPIED_FROM = "migrated-from-etag"  # user metadata: the source ETag a copy was made from
CHUNK = 1 << 20  # bytes held in memory per object being copied
# Objects copied at once: small artifacts cost a few round trips each, so one at a time would
# leave a remote gateway idle; four keep memory at a few MiB and the old store's load low.
WORKERS = 4
PROGRESS_STEPS = 10  # progress messages during a copy, after the one that announces it
MAX_FAILURES_SHOWN = 5
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# A Juju secret URI as juju/juju core/secrets/secret.go (ParseURI) matches it before decoding
# the xid: 20 lowercase letters and digits, bare or as secret:<id> or secret://<uuid>/<id>.
SECRET_ID = re.compile(r"^(secret:(//[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/)?)?[0-9a-z]{20}$")

Log = Callable[[str], None]


class MigrationError(Exception):
    """The migration cannot start or cannot go on; the message names the fix."""


class CopyError(S3Error):
    """One object was copied wrong (its MD5 differs); the target copy has been removed."""


@dataclass
class Report:
    """What a run found and did. Byte counts are of object contents."""

    objects: int = 0
    bytes: int = 0
    present: int = 0
    present_bytes: int = 0
    to_copy: int = 0
    to_copy_bytes: int = 0
    copied: int = 0
    copied_bytes: int = 0
    vanished: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def results(self, dry_run: bool) -> dict[str, str]:
        """The action's results."""
        results = {
            "dry-run": str(dry_run).lower(),
            "objects": str(self.objects),
            "bytes": str(self.bytes),
            "already-present": str(self.present),
            "to-copy": str(self.to_copy),
            "to-copy-bytes": str(self.to_copy_bytes),
            "seconds": f"{self.seconds:.1f}",
        }
        if not dry_run:
            results |= {
                "copied": str(self.copied),
                "copied-bytes": str(self.copied_bytes),
                "failed": str(len(self.failed)),
                "vanished": str(self.vanished),
            }
        if self.failed:
            results["failures"] = "\n".join(self.failed[:MAX_FAILURES_SHOWN])
        return results


@dataclass(frozen=True)
class Buckets:
    """Where from and where to; the clients are the callers' to close."""

    source: S3Client
    source_bucket: str
    target: S3Client
    target_bucket: str

    def describe_source(self) -> str:
        """How messages name the source: endpoint and bucket."""
        return f"source {self.source.endpoint} bucket '{self.source_bucket}'"


@dataclass(frozen=True)
class Request:
    """The action's parameters, checked."""

    endpoint: str
    bucket: str
    secret_id: str
    ca_pem: str
    dry_run: bool

    @classmethod
    def from_params(cls, params: Mapping[str, Any], served_bucket: str) -> Request:
        """The checked parameters; MigrationError names the first wrong one and the fix."""
        endpoint = str(params.get("source-endpoint", "")).strip().rstrip("/")
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise MigrationError(
                "source-endpoint: expected the old endpoint's URL, scheme://host[:port], such "
                "as http://minio.kubeflow.svc.cluster.local:9000"
            )
        bucket = str(params.get("source-bucket") or "mlpipeline").strip()
        if not is_bucket_name(bucket):
            raise MigrationError(f"source-bucket: '{bucket}' is not an S3 bucket name")
        if bucket != served_bucket:
            raise MigrationError(
                f"source-bucket '{bucket}' is not the bucket this charm serves "
                f"('{served_bucket}'): old runs recorded minio://{bucket}/... URIs, which "
                f"Kubeflow resolves in a bucket named {bucket}. Set the charm's bucket (and "
                f"kfp-api's object-store-bucket-name, argo-controller's bucket) to {bucket} "
                "first"
            )
        secret_id = str(params.get("source-credentials-secret", "")).strip()
        if not SECRET_ID.match(secret_id):
            raise MigrationError(
                "source-credentials-secret: expected a Juju secret id such as "
                "secret:d0a6jc7mp25c7bqbe3mg, as juju add-secret prints it (juju secrets "
                "lists them)"
            )
        return cls(
            endpoint,
            bucket,
            secret_id,
            str(params.get("source-ca-cert") or "").strip(),
            bool(params.get("dry-run")),
        )

    def describe(self) -> str:
        """The source as messages and results name it."""
        return f"{self.endpoint} bucket '{self.bucket}'"


def source_keys(content: Mapping[str, str], secret_id: str) -> tuple[str, str, str]:
    """Access key, secret key and CA (maybe empty) from the secret's content."""
    missing = [name for name in ("access-key", "secret-key") if not content.get(name)]
    if missing:
        raise MigrationError(
            f"source-credentials-secret {secret_id} has no {' and no '.join(missing)}: run "
            f"juju update-secret {secret_id} access-key=<key> secret-key=<key>"
        )
    return content["access-key"], content["secret-key"], content.get("ca-cert", "")


def source_client(request: Request, keys: tuple[str, str, str], timeout: float) -> S3Client:
    """A client for the old endpoint; MigrationError when the CA is not a PEM certificate."""
    access_key, secret_key, secret_ca = keys
    try:
        return S3Client(
            request.endpoint,
            access_key,
            secret_key,
            ca_pem=request.ca_pem or secret_ca,
            timeout=timeout,
        )
    except S3Error as err:
        where = "source-ca-cert" if request.ca_pem else "the secret's ca-cert"
        raise MigrationError(f"{where}: {err}") from err


def mib(size: int) -> str:
    """Bytes as MiB with one decimal, for log messages."""
    return f"{size / (1 << 20):.1f} MiB"


def check_access(buckets: Buckets) -> None:
    """Fail before anything is written when either bucket cannot be used with its keys."""
    try:
        buckets.source.head_bucket(buckets.source_bucket)
    except S3AuthError as err:
        raise MigrationError(
            f"{buckets.describe_source()}: {err}: fix access-key and secret-key in the "
            "source-credentials-secret (juju update-secret), or the keys' permissions"
        ) from err
    except S3Error as err:
        raise MigrationError(f"{buckets.describe_source()}: {err}") from err
    try:
        buckets.target.head_bucket(buckets.target_bucket)
    except S3Error as err:
        raise MigrationError(
            f"target bucket '{buckets.target_bucket}' on {buckets.target.endpoint}: {err}: "
            "wait until the charm is active"
        ) from err


def pairs(
    source: Iterable[S3Object], target: Iterable[S3Object]
) -> Iterator[tuple[S3Object, S3Object | None]]:
    """Each source object with the target object of the same key, if any.

    Both listings come in key order (S3's ListObjectsV2 sorts keys by their UTF-8 bytes, which
    is the order of Python's str comparison), so one pass over each is enough and neither is
    held in memory. Were the orders ever to differ, objects would look missing and be copied
    again: more work, never a skipped object.
    """
    targets = iter(target)
    current = next(targets, None)
    for obj in source:
        while current is not None and current.key < obj.key:
            current = next(targets, None)
        if current is not None and current.key == obj.key:
            yield obj, current
        else:
            yield obj, None


def already_copied(buckets: Buckets, obj: S3Object, copy: S3Object | None) -> bool:
    """True when the target holds this object: same size, and same ETag or copied from it."""
    if copy is None or copy.size != obj.size:
        return False
    if copy.etag == obj.etag:
        return True
    try:
        info = buckets.target.object_info(buckets.target_bucket, copy.key)
    except S3NotFound:
        return False
    return info.metadata.get(COPIED_FROM) == obj.etag.strip('"')


def to_copy(buckets: Buckets) -> Iterator[tuple[S3Object, bool]]:
    """Every source object, and whether the target lacks it."""
    source = buckets.source.iter_objects(buckets.source_bucket)
    target = buckets.target.iter_objects(buckets.target_bucket)
    for obj, copy in pairs(source, target):
        yield obj, not already_copied(buckets, obj, copy)


def survey(buckets: Buckets, report: Report) -> None:
    """Count the source's objects and what the target lacks (the dry run, and the plan)."""
    for obj, missing in to_copy(buckets):
        report.objects += 1
        report.bytes += obj.size
        if missing:
            report.to_copy += 1
            report.to_copy_bytes += obj.size
        else:
            report.present += 1
            report.present_bytes += obj.size


def copy_object(buckets: Buckets, key: str) -> int:
    """Stream one object from source to target and check it; the number of bytes copied."""
    md5 = hashlib.md5(usedforsecurity=False)

    def hashed(chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            md5.update(chunk)
            yield chunk

    with contextlib.ExitStack() as stack:
        try:
            info, chunks = stack.enter_context(
                buckets.source.open_object(buckets.source_bucket, key, CHUNK)
            )
        except S3AuthError as err:
            raise S3AuthError(f"{buckets.describe_source()}: {err}", err.code, err.status) from err
        source_etag = info.etag.strip('"')
        try:
            etag = buckets.target.put_object_stream(
                buckets.target_bucket,
                key,
                hashed(chunks),
                info.size,
                content_type=info.content_type or DEFAULT_CONTENT_TYPE,
                metadata={**info.metadata, COPIED_FROM: source_etag},
            )
        except S3AuthError as err:
            where = f"target {buckets.target.endpoint}"
            raise S3AuthError(f"{where}: {err}", err.code, err.status) from err
    digest = md5.hexdigest()
    problem = ""
    if etag.strip('"') != digest:
        problem = f"the target stored other bytes (ETag {etag}, sent MD5 {digest})"
    elif not info.multipart and source_etag != digest:
        problem = (
            f"the bytes read have MD5 {digest}, the source's ETag is {source_etag} (damaged on "
            "the way, or the source's ETags are not MD5s, as for encrypted objects)"
        )
    if problem:
        buckets.target.delete_object(buckets.target_bucket, key)
        raise CopyError(f"'{key}': {problem}; not kept")
    return info.size


class Progress:
    """At most PROGRESS_STEPS log messages however many objects are copied."""

    def __init__(self, log: Log, report: Report):
        self.log, self.report = log, report
        self.next_step = 1

    def done(self) -> None:
        """Log when the share of objects handled passes the next tenth."""
        report = self.report
        handled = report.copied + len(report.failed) + report.vanished
        total = max(report.to_copy, 1)
        if handled * PROGRESS_STEPS < self.next_step * total:
            return
        while self.next_step * total <= handled * PROGRESS_STEPS:
            self.next_step += 1
        failed = f", {len(report.failed)} failed" if report.failed else ""
        self.log(
            f"copied {report.copied}/{report.to_copy} objects "
            f"({mib(report.copied_bytes)} of {mib(report.to_copy_bytes)}){failed}"
        )


def migrate(
    buckets: Buckets,
    report: Report,
    *,
    dry_run: bool,
    log: Log,
    workers: int = WORKERS,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Copy what the target lacks into `report`'s counts; with `dry_run`, only count it.

    Raises MigrationError when a bucket cannot be used or the source or target stops
    answering (`report` then says how far it got); a single object that fails is reported
    and the others are still copied.
    """
    began = clock()
    check_access(buckets)
    survey(buckets, report)
    log(
        f"{buckets.describe_source()}: {report.objects} objects ({mib(report.bytes)}); "
        f"bucket '{buckets.target_bucket}' already has {report.present}; "
        f"{'would copy' if dry_run else 'copying'} {report.to_copy} ({mib(report.to_copy_bytes)})"
    )
    try:
        if not dry_run and report.to_copy:
            _copy_missing(buckets, report, Progress(log, report), workers)
    finally:
        report.seconds = clock() - began


def _copy_missing(buckets: Buckets, report: Report, progress: Progress, workers: int) -> None:
    """Copy with `workers` threads, at most twice as many objects queued: bounded memory.

    The first error that stops the run (keys refused, an endpoint gone) lets the copies under
    way finish and be counted, starts no other, and is raised with the count.
    """
    stop: S3Error | None = None
    with ThreadPoolExecutor(workers, thread_name_prefix="migrate") as pool:
        pending: dict[Future[int], str] = {}
        for obj, missing in to_copy(buckets):
            if not missing:
                continue
            if len(pending) >= 2 * workers:
                stop = _settle(pending, report, progress, FIRST_COMPLETED) or stop
            if stop is not None:
                break
            pending[pool.submit(copy_object, buckets, obj.key)] = obj.key
        stop = _settle(pending, report, progress, ALL_COMPLETED) or stop
    if stop is not None:
        raise MigrationError(
            f"stopped after copying {report.copied} of {report.to_copy} objects: {stop}; "
            "run the action again to copy the rest"
        ) from stop


def _settle(
    pending: dict[Future[int], str], report: Report, progress: Progress, when: str
) -> S3Error | None:
    """Count the copies that are done (all of them, or at least one); the first stop error."""
    done, _ = wait(pending, return_when=when)
    stop = None
    for future in done:
        key = pending.pop(future)
        try:
            report.copied_bytes += future.result()
            report.copied += 1
        except S3NotFound as err:
            if err.code != "NoSuchKey":
                stop = stop or err  # the bucket itself is gone
            else:
                report.vanished += 1  # deleted from the source since it was listed
        except (S3AuthError, S3Unreachable) as err:
            stop = stop or err
        except S3Error as err:
            report.failed.append(str(err) if isinstance(err, CopyError) else f"'{key}': {err}")
        progress.done()
    return stop
