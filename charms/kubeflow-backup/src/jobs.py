"""The five backup operations, from start to finish, without ops.

Each takes the bucket (`backup.Store`), the cluster (`cluster.Cluster`) and a progress callback
(the action's log) and returns what the action reports. They raise `BackupError` for what the
operator has to fix; S3 and Kubernetes errors pass through for the charm to word.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import backup
import cluster as k8s
from backup import BackupError, Cipher, Manifest, Progress, Store, Summary
from dsplib import validation as check
from dsplib.kubernetes import KubernetesError
from dsplib.s3 import S3Error
from lease import Lease, LeaseLost, live_backup_ids, utc_now

logger = logging.getLogger(__name__)
MAX_RETENTION = 1000
TRANSFERS_RANGE = f"a whole number from 1 to {backup.MAX_TRANSFERS}"
# Manifests restore takes with allow-unsigned: written before signing, or signed with a key
# this application does not have (a lost key). A signature that fails with our key never.
UNCHECKABLE = (backup.UNSIGNED, backup.OTHER_KEY)


@dataclass(frozen=True)
class Settings:
    """Validated charm config."""

    retention: int
    snapshot_class: str
    key_secret: str
    transfers: int = 1

    @classmethod
    def from_config(cls, config: Any) -> Settings:
        """Check every option; raises InvalidConfig naming the first bad one."""
        retention = config.get("retention")
        if isinstance(retention, bool) or not isinstance(retention, int):
            raise check.InvalidConfig("retention", f"a whole number from 0 to {MAX_RETENTION}")
        if not 0 <= retention <= MAX_RETENTION:
            raise check.InvalidConfig("retention", f"a whole number from 0 to {MAX_RETENTION}")
        snapshot_class = str(config.get("volume-snapshot-class") or "").strip()
        if snapshot_class and not check.DNS_SUBDOMAIN.match(snapshot_class):
            raise check.InvalidConfig("volume-snapshot-class", "a VolumeSnapshotClass name")
        key_secret = str(config.get("encryption-key-secret") or "").strip()
        if key_secret and not key_secret.startswith("secret:"):
            raise check.InvalidConfig(
                "encryption-key-secret", "the URI of a secret made with juju add-secret"
            )
        transfers = config.get("parallel-transfers", 1)
        if isinstance(transfers, bool) or not isinstance(transfers, int):
            raise check.InvalidConfig("parallel-transfers", TRANSFERS_RANGE)
        if not 1 <= transfers <= backup.MAX_TRANSFERS:
            raise check.InvalidConfig("parallel-transfers", TRANSFERS_RANGE)
        return cls(retention, snapshot_class, key_secret, transfers)


def parse_namespaces(value: Any) -> tuple[str, ...]:
    """The `namespaces` action parameter: comma-separated namespace names."""
    names = tuple(check.comma_list(value))
    for name in names:
        if not check.DNS_LABEL.match(name):
            raise BackupError(f"namespaces: '{name}' is not a namespace name")
    return names


@dataclass(frozen=True)
class BackupRequest:
    """The create-backup parameters, checked."""

    namespaces: tuple[str, ...] = ()  # empty: every profile namespace
    include_secrets: bool = False
    volume_snapshots: bool = False
    description: str = ""
    snapshot_class: str = ""
    retention: int = 0
    app: str = "kubeflow-backup"
    owner: str = "kubeflow-backup/0"  # who holds the lease: unit, model name and uuid


@dataclass
class BackupResult:
    """What create-backup did."""

    manifest: Manifest
    cleaned_up: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    cleanup_failed: list[str] = field(default_factory=list)  # "<id>: <why>"


def clean_incomplete(
    store: Store, cluster: k8s.Cluster, progress: Progress, incomplete: list[str] | None = None
) -> tuple[list[str], list[str]]:
    """Delete interrupted backups (no manifest) and their snapshots: ids deleted, failures.

    `incomplete` are their ids when the caller has listed the backups already. A backup named
    by a live lease is being written by someone else and is left alone. A failure is reported
    ("<id>: <why>") and does not stop the new backup.
    """
    if incomplete is None:
        _, incomplete = store.summaries()
    live = live_backup_ids(store)
    cleaned: list[str] = []
    failed: list[str] = []
    for backup_id in incomplete:
        if backup_id in live:
            progress(f"left backup {backup_id} alone: {live[backup_id]} is writing it")
            continue
        try:
            deleted = store.delete(backup_id)
            snapshots = cluster.delete_snapshots(backup_id)
        except (S3Error, KubernetesError) as err:
            failed.append(f"{backup_id}: {_reason(err)}")
            progress(f"could not delete incomplete backup {backup_id}: {_reason(err)}")
            continue
        cleaned.append(backup_id)
        progress(f"deleted incomplete backup {backup_id} ({deleted} keys, {snapshots} snapshots)")
    return cleaned, failed


def _reason(err: Exception) -> str:
    return f"Kubernetes: {err}" if isinstance(err, KubernetesError) else str(err)


def create_backup(
    store: Store,
    cluster: k8s.Cluster,
    request: BackupRequest,
    cipher: Cipher | None,
    progress: Progress,
    now: datetime.datetime,
) -> BackupResult:
    """Take the lease; save the objects, snapshot the volumes, write the manifest last.

    Then apply retention, whose failures are reported but do not undo the backup.
    """
    store.ensure_bucket()  # wrong keys, TLS or network fail here, before anything is written
    namespaces = list(request.namespaces) or cluster.profile_namespaces()
    if not namespaces:
        raise BackupError("no Kubeflow profiles found: name the namespaces to back up")
    cluster.require_namespaces(namespaces)
    if request.volume_snapshots:
        if not request.snapshot_class:
            raise BackupError("set config volume-snapshot-class to take volume snapshots")
        cluster.require_snapshot_class(request.snapshot_class)
    if request.include_secrets and cipher is None:
        raise BackupError("no encryption key for Secrets")  # the charm always passes one
    backup_id = backup.new_id(now)
    lease = Lease(store, request.owner, backup_id)
    for claim in lease.acquire():
        progress(f"took over the lease of {claim}")
    try:
        rows, incomplete = store.summaries()  # each manifest is read at most this once
        cleaned, failed = clean_incomplete(store, cluster, progress, incomplete)
        manifest = _write_backup(
            store, cluster, request, cipher, lease, progress, now, backup_id, namespaces
        )
        rows = [*rows, manifest.summary()]
        expired, retention_failed = apply_retention(
            store, cluster, request.retention, progress, rows
        )
    finally:
        with contextlib.suppress(S3Error):  # a claim left behind expires by itself
            lease.release()
    return BackupResult(manifest, cleaned, expired, failed + retention_failed)


def _write_backup(
    store: Store,
    cluster: k8s.Cluster,
    request: BackupRequest,
    cipher: Cipher | None,
    lease: Lease,
    progress: Progress,
    now: datetime.datetime,
    backup_id: str,
    namespaces: list[str],
) -> Manifest:
    """What create-backup writes, under the lease: objects as they are read, then the manifest.

    Objects stream from the cluster to the bucket (`store.transfers` uploads at a time); their
    entries go to a temporary file (ManifestWriter) until the manifest is written.
    """

    def step(message: str) -> None:
        lease.keep()
        progress(message)

    def upload(obj: dict[str, Any]) -> backup.Entry:
        return _upload(store, backup_id, obj, cipher)

    manifest = Manifest(
        id=backup_id,
        created=now.astimezone(datetime.timezone.utc).isoformat(timespec="microseconds"),
        description=request.description,
        namespaces=sorted(namespaces),
        key_id=cipher.key_id if cipher and request.include_secrets else "",
    )
    progress(f"backup {backup_id}: {len(namespaces)} namespaces")
    found = k8s.Collection(namespaces=namespaces)
    objects = cluster.stream(found, request.include_secrets, step)
    with backup.ManifestWriter(manifest) as writer:
        for n, entry in enumerate(store.map(upload, objects), 1):
            lease.keep()
            writer.add(entry)
            if n % backup.PROGRESS_EVERY == 0:
                progress(f"uploaded {n} objects")
        if not manifest.objects or manifest.objects % backup.PROGRESS_EVERY:
            progress(f"uploaded {manifest.objects} objects")
        manifest.skipped_kinds = found.skipped_kinds
        if request.volume_snapshots and found.bound_pvcs:
            manifest.snapshots = cluster.take_snapshots(
                backup_id, found.bound_pvcs, request.snapshot_class, request.app
            )
            progress(f"requested {len(manifest.snapshots)} volume snapshots")
        manifest.finished = utc_now().isoformat(timespec="seconds")
        lease.check()
        store.put_manifest(manifest, writer.lines())
    try:
        lease.check()
    except LeaseLost:  # another writer may have cleaned our objects away meanwhile
        store.withdraw(backup_id)
        raise
    progress(f"backup {backup_id} complete")
    return manifest


def _upload(
    store: Store, backup_id: str, obj: dict[str, Any], cipher: Cipher | None
) -> backup.Entry:
    encrypted = obj["kind"] == "Secret"
    key = backup.object_key(obj, encrypted)
    data = json.dumps(obj, indent=1, sort_keys=True).encode()
    if encrypted:
        if cipher is None:  # pragma: no cover - create_backup refuses this earlier
            raise BackupError("no encryption key for Secrets")
        data = cipher.encrypt(data, key)
    meta = obj["metadata"]
    namespace = meta.get("namespace")
    entry = backup.Entry(
        key=key,
        sha256=backup.sha256(data),
        size=len(data),
        api_version=obj["apiVersion"],
        kind=obj["kind"],
        name=meta["name"],
        namespace=namespace,
        encrypted=encrypted,
    )
    try:
        store.put(backup_id, key, data)
    except S3Error as err:
        raise backup.naming(err, f"uploading {entry}") from None
    return entry


def apply_retention(
    store: Store,
    cluster: k8s.Cluster,
    keep: int,
    progress: Progress,
    rows: list[Summary] | None = None,
) -> tuple[list[str], list[str]]:
    """Delete the oldest backups beyond `keep`: the ids deleted, and "<id>: <why>" failures.

    `rows` are the complete backups when the caller has them (create-backup lists once);
    else they are listed here. Runs after the new backup is complete, so a failure here is
    reported, not raised.
    """
    deleted: list[str] = []
    failed: list[str] = []
    try:
        done = rows if rows is not None else store.summaries()[0]
    except S3Error as err:
        failed.append(f"listing the backups: {err}")
        progress(f"retention: could not list the backups: {err}")
        return deleted, failed
    for backup_id in backup.expired(done, keep):
        try:
            delete_backup(store, cluster, backup_id)
        except (BackupError, S3Error, KubernetesError) as err:
            reason = _reason(err)
            failed.append(f"{backup_id}: {reason}")
            progress(f"retention: could not delete backup {backup_id}: {reason}")
        else:
            deleted.append(backup_id)
            progress(f"retention: deleted backup {backup_id}")
    return deleted, failed


def delete_backup(store: Store, cluster: k8s.Cluster, backup_id: str) -> tuple[int, int]:
    """Delete every key of a backup and its volume snapshots; (keys, snapshots) deleted."""
    backup_id = backup.check_id(backup_id)
    writer = live_backup_ids(store).get(backup_id)
    if writer is not None:
        raise BackupError(
            f"backup {backup_id} is being written: {writer} holds the lease; "
            "delete it once that create-backup has finished"
        )
    keys = store.delete(backup_id)
    if keys == 0:
        raise BackupError(f"no backup {backup_id} in bucket '{store.bucket}'")
    return keys, cluster.delete_snapshots(backup_id)


def verify_backup(
    store: Store, cluster: k8s.Cluster | None, backup_id: str, progress: Progress
) -> tuple[Manifest, backup.Verification, dict[str, int]]:
    """Re-read every object of a backup; also how many of its snapshots are ready.

    The manifest's signature is in `manifest.seal`; objects the manifest does not list are in
    the verification's `unlisted`. The manifest is read an entry at a time.
    """
    with store.require_manifest_file(backup_id) as found:
        manifest = found.manifest
        check = backup.check_manifest(store, found, progress)
    snapshots = {"ready": 0, "pending": 0, "gone": 0}
    if cluster is not None:
        for snapshot in manifest.snapshots:
            state = cluster.snapshot_ready(snapshot)
            snapshots["gone" if state is None else "ready" if state else "pending"] += 1
    return manifest, check, snapshots


def restore_backup(
    store: Store,
    cluster: k8s.Cluster,
    backup_id: str,
    namespaces: tuple[str, ...],
    options: k8s.RestoreOptions,
    cipher: Cipher | None,
    progress: Progress,
    allow_unsigned: bool = False,
) -> k8s.RestoreReport:
    """Check the signature and every checksum (and decrypt every Secret), then restore.

    The manifest is read an entry at a time; the checked objects wait in a _Held (temporary
    file and on-disk index) to be applied in dependency order.
    """
    with store.require_manifest_file(backup_id) as found:
        manifest = found.manifest
        _require_trusted(manifest, store, allow_unsigned)
        unknown = sorted(set(namespaces) - set(manifest.namespaces))
        if unknown:
            raise BackupError(f"backup {manifest.id} has no namespace {', '.join(unknown)}")
        chosen = set(namespaces or manifest.namespaces)

        def wanted(entry: backup.Entry) -> bool:
            return _in_scope(entry, chosen)

        with _Held() as held:
            # An unchecked manifest's entries may lie about where an object belongs: check all.
            check = backup.check_manifest(
                store,
                found,
                progress,
                wanted=None if manifest.seal in UNCHECKABLE else wanted,
                keep=held.keeper(wanted),
            )
            if not check.ok:
                raise BackupError(
                    f"backup {manifest.id} is damaged, nothing restored: {check.problems()}"
                )
            if held.has_secrets() and (cipher is None or cipher.key_id != manifest.key_id):
                raise BackupError(
                    f"backup {manifest.id} holds Secrets encrypted with key {manifest.key_id}, "
                    f"not this application's key {cipher.key_id if cipher else '(none)'}: set "
                    "encryption-key-secret to the key it was made with"
                )
            for entry in held.secrets():  # every Secret decrypts before anything is written
                _decoded(entry, held.read(entry), cipher)
            snapshots = tuple(s for s in manifest.snapshots if s.namespace in chosen)
            options = k8s.RestoreOptions(options.overwrite, options.dry_run, snapshots)
            return cluster.restore_entries(
                held, lambda e: _decoded(e, held.read(e), cipher), options, progress
            )


def _require_trusted(manifest: Manifest, store: Store, allow_unsigned: bool) -> None:
    """BackupError unless the manifest's signature holds (or allow-unsigned may pass it)."""
    problem = manifest.seal_problem(store.signer)
    if problem and not (allow_unsigned and manifest.seal in UNCHECKABLE):
        hint = ""
        if manifest.seal == backup.UNSIGNED:
            hint = ": run verify-backup, then restore with allow-unsigned=true"
        elif manifest.seal == backup.OTHER_KEY:
            hint = (
                " (if that key is lost: run verify-backup, then restore with allow-unsigned=true)"
            )
        raise BackupError(f"{problem}; nothing restored{hint}")


class _Held:
    """The checked objects of a restore: bodies in an unnamed temporary file, an index on disk.

    The file is private to this process and gone when closed; Secrets stay encrypted in it.
    The index (SQLite, on disk too) holds each entry with where its body is and its place in
    restore order, so neither memory nor the number of downloads grows with the backup: each
    object is downloaded once, and what is applied is exactly what was checked. It is the
    plan cluster.restore_entries follows.
    """

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(prefix="kubeflow-backup-")  # noqa: SIM115 - see __exit__
        self.db = backup.scratch_db()
        self.db.execute(
            "CREATE TABLE held (seq INTEGER PRIMARY KEY, key TEXT UNIQUE, rank INTEGER, "
            "namespace TEXT, encrypted INTEGER, entry TEXT, offset INTEGER)"
        )
        self.db.execute("CREATE INDEX in_order ON held (rank, seq)")

    def __enter__(self) -> _Held:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.db.close()
        self.file.close()

    def keeper(self, wanted: Callable[[backup.Entry], bool]) -> backup.Keep:
        """The check_objects callback that keeps the bodies of `wanted` entries."""

        def keep(entry: backup.Entry, data: bytes) -> None:
            if wanted(entry):
                offset = self.file.seek(0, 2)
                self.file.write(data)
                self.db.execute(
                    "INSERT INTO held (key, rank, namespace, encrypted, entry, offset) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        entry.key,
                        k8s.restore_rank(entry),
                        entry.namespace,
                        entry.encrypted,
                        json.dumps(entry.to_dict()),
                        offset,
                    ),
                )

        return keep

    def read(self, entry: backup.Entry) -> bytes:
        """The body kept for the entry."""
        query = "SELECT offset FROM held WHERE key = ?"
        (offset,) = self.db.execute(query, (entry.key,)).fetchone()
        self.file.seek(offset)
        return self.file.read(entry.size)

    def has_secrets(self) -> bool:
        """True when a Secret (encrypted) is among the objects held."""
        return self.db.execute("SELECT 1 FROM held WHERE encrypted LIMIT 1").fetchone() is not None

    def secrets(self) -> Iterator[backup.Entry]:
        """The Secrets held."""
        return self._entries("SELECT entry FROM held WHERE encrypted ORDER BY seq")

    def counts(self) -> tuple[int, int]:
        """Profiles and Namespaces held, and the other objects (see cluster.restore_rank)."""
        first, rest = self.db.execute(
            "SELECT coalesce(sum(rank = 0), 0), coalesce(sum(rank > 0), 0) FROM held"
        ).fetchone()
        return first, rest

    def namespaces(self) -> list[str]:
        """The namespaces of the namespaced objects held, sorted."""
        rows = self.db.execute(
            "SELECT DISTINCT namespace FROM held WHERE rank > 0 ORDER BY namespace"
        )
        return [str(ns) for (ns,) in rows]

    def ordered(self) -> Iterator[backup.Entry]:
        """The entries in restore order: by rank, then in the manifest's order."""
        return self._entries("SELECT entry FROM held ORDER BY rank, seq")

    def _entries(self, query: str) -> Iterator[backup.Entry]:
        # a cursor of its own: read() queries between two rows
        for (text,) in self.db.cursor().execute(query):
            yield backup.Entry(**json.loads(text))


def _in_scope(entry: backup.Entry, namespaces: set[str]) -> bool:
    if entry.namespace is not None:
        return entry.namespace in namespaces
    return entry.name in namespaces  # a Profile or a Namespace has its namespace's name


def _decoded(entry: backup.Entry, data: bytes, cipher: Cipher | None) -> dict:
    if entry.encrypted:
        if cipher is None:  # pragma: no cover - restore_backup refuses this earlier
            raise BackupError("no encryption key for Secrets")
        data = cipher.decrypt(data, entry.key)
        wrong = backup.mismatch(entry, data)  # check_objects checked the others
        if wrong:
            raise BackupError(f"backup damaged, nothing restored: {wrong}")
    return json.loads(data)
