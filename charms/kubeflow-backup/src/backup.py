"""Backups in an S3 bucket: layout, manifest, checksums, encryption of Secrets, retention.

Everything of one backup lives under its own prefix, one object per Kubernetes object:

    <root><id>/objects/<namespace or _cluster>/<kind>.<group or core>/<name>.json[.enc]
    <root><id>/manifest.json
    <path>kubeflow-backup-summaries/<id>.json

`<root>` is the s3 relation's path (if any) followed by `kubeflow-backups/`, `<id>` the UTC
time of the backup and four random hex digits (`20260115-103000-a1b2`); the manifest keeps
the exact start time, which orders backups for listing and retention.
The manifest lists every object with its sha256 and size and is written LAST: a prefix without
one is an interrupted backup, never listed, and deleted by the next create-backup (unless a live
lease, see lease.py, says another writer is still making it). Objects are plain JSON a person
can read and `kubectl apply`; Secrets are AES-256-GCM encrypted (`.enc`: 12-byte nonce, then
ciphertext and tag, the object's key as associated data) with a key the charm keeps in a Juju
secret, so the bucket never holds them in clear. Checksums are taken over the stored bytes.

The manifest carries an HMAC-SHA256 over its content and the backup id, with a key derived
(HKDF) from that same Juju secret: whoever can write to the bucket but does not have the key
cannot change the manifest, and through its checksums any object it lists, without the
signature failing; a manifest copied from another backup fails because the id is bound in.
Manifests of format 1 were written before signing: they are read as "unsigned".

The manifest grows with the backup (about 250 bytes an object), so list-backups does not read
it: each manifest carries a summary (objects, bytes, snapshots), and a signed copy of what
list-backups shows is written next to the backups (outside `<root>`, so that every key under a
backup's prefix is still one of its objects or its manifest), just before the manifest. That
copy names the MD5 of the manifest's bytes, which is the ETag S3 and RGW return for an object
stored with one PUT; list-backups trusts it only while its signature holds with our key and
the manifest's ETag still matches, and otherwise reads the manifest as before (a backup
written before summaries, an edited manifest, an ETag that is not an MD5). The manifest stays
the one source of truth: the summary is a signed cache of it, and verify and restore never
read it.

Objects are moved through the bucket `Store.transfers` at a time (`bounded_map`), holding at
most twice that many objects in memory: uploads, verification and restore keep checksums, not
bodies (restore keeps the checked bodies in an unnamed temporary file until it applies them).

No ops and no Kubernetes here.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import io
import json
import re
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from dsplib.s3 import S3Client, S3Error

FORMAT = 2
UNSIGNED_FORMAT = 1  # written before manifests were signed: read, never written
SIGNATURE = "hmac-sha256"
PREFIX = "kubeflow-backups/"
MANIFEST = "manifest.json"
SUMMARIES = "kubeflow-backup-summaries/"
SUMMARY_FORMAT = 1
MAX_TRANSFERS = 32
PROGRESS_EVERY = 1000  # objects between two progress lines (each one an action-log call)
ID_PATTERN = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4}$")
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
CLUSTER_SCOPE = "_cluster"  # not a valid namespace name, so it cannot clash with one

Progress = Callable[[str], None]
T = TypeVar("T")
R = TypeVar("R")


class BackupError(Exception):
    """An operation cannot be done; the message tells the operator why and what to do."""


class InvalidManifest(BackupError):
    """A manifest that cannot be read: the backup cannot be trusted."""


# What checking a manifest's signature found (Manifest.seal; the state list-backups shows).
SIGNED = "done"
UNSIGNED = "unsigned"
BAD_SIGNATURE = "bad signature"
OTHER_KEY = "signed with another key"
UNCHECKED = "signature not checked"


def new_id(now: datetime.datetime) -> str:
    """A backup id: the UTC time and 4 random hex digits."""
    utc = now.astimezone(datetime.timezone.utc)
    return f"{utc:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def check_id(backup_id: str) -> str:
    """The id, stripped, or BackupError when it cannot be one."""
    text = str(backup_id).strip()
    if not ID_PATTERN.match(text):
        raise BackupError(f"'{text}' is not a backup id (like 20260115-103000-a1b2)")
    return text


def object_key(obj: Mapping[str, Any], encrypted: bool) -> str:
    """Key of one Kubernetes object inside its backup."""
    meta = obj["metadata"]
    group, _, _ = str(obj["apiVersion"]).rpartition("/")
    where = meta.get("namespace") or CLUSTER_SCOPE
    suffix = ".json.enc" if encrypted else ".json"
    return f"objects/{where}/{obj['kind'].lower()}.{group or 'core'}/{meta['name']}{suffix}"


def sha256(data: bytes) -> str:
    """Hex SHA-256 of stored bytes."""
    return hashlib.sha256(data).hexdigest()


def bounded_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """Call fn on each item, `workers` at a time; the results in the order of the items.

    `items` is consumed in the caller's thread (it may read Kubernetes) and at most
    2 x workers items are in flight, so memory does not grow with the number of items. The
    first error is raised once the calls already running have ended; calls not yet started
    are cancelled. One worker runs everything in the caller's thread.
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="transfer") as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def naming(err: S3Error, what: object) -> S3Error:
    """The same error (its type tells the charm what to advise) with the object named first."""
    err.args = (f"{what}: {err}",)
    return err


# -- manifest -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored object: where it is, its checksum, and which Kubernetes object it holds."""

    key: str
    sha256: str
    size: int
    api_version: str
    kind: str
    name: str
    namespace: str | None = None
    encrypted: bool = False

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """The entry as the manifest stores it (asdict, without its deep copies)."""
        return {
            "key": self.key,
            "sha256": self.sha256,
            "size": self.size,
            "api_version": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "encrypted": self.encrypted,
        }


@dataclass(frozen=True)
class Snapshot:
    """A CSI VolumeSnapshot taken of a PersistentVolumeClaim during the backup."""

    namespace: str
    name: str
    pvc: str


@dataclass
class Manifest:
    """What a finished backup holds; its presence marks the backup as complete."""

    id: str
    created: str
    finished: str = ""
    description: str = ""
    namespaces: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    skipped_kinds: list[str] = field(default_factory=list)
    key_id: str = ""
    signed_by: str = ""  # fingerprint of the key that signed it
    seal: str = field(default=UNCHECKED, compare=False)

    @property
    def size(self) -> int:
        """Bytes stored for the objects."""
        return sum(e.size for e in self.entries)

    def to_json(self, signer: Signer) -> bytes:
        """The manifest as stored, signed: one entry a line, which a person can still read.

        Entries are serialised one at a time, for the signature and again for the text, so
        the only copy of the whole manifest held is the text itself.
        """
        body = self._body()
        body["signed-by"] = signer.key_id
        data = {**body, SIGNATURE: signer.sign(self.id, body)}
        out = io.BytesIO()
        out.write(b"{\n")
        for n, name in enumerate(sorted(data)):
            value = data[name]
            out.write(b",\n" if n else b"")
            out.write(f" {json.dumps(name)}: ".encode())
            if isinstance(value, (list, _Lazy)):
                out.write(b"[")
                items = 0
                for items, item in enumerate(value, 1):
                    out.write(b"," if items > 1 else b"")
                    out.write(f"\n  {json.dumps(item, sort_keys=True)}".encode())
                out.write(b"\n ]" if items else b"]")
            else:
                out.write(json.dumps(value, sort_keys=True).encode())
        out.write(b"\n}\n")
        return out.getvalue()

    def summary(self, state: str = SIGNED) -> Summary:
        """The row list-backups shows for this manifest."""
        return Summary(
            id=self.id,
            time=self.created,
            namespaces=self.namespaces,
            objects=len(self.entries),
            bytes=self.size,
            state=state,
            description=self.description,
        )

    def _body(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "id": self.id,
            "created": self.created,
            "finished": self.finished,
            "description": self.description,
            "namespaces": self.namespaces,
            "key-id": self.key_id,
            "skipped-kinds": self.skipped_kinds,
            "snapshots": [asdict(s) for s in self.snapshots],
            "objects": _Lazy(self.entries),
            "summary": {
                "objects": len(self.entries),
                "bytes": self.size,
                "snapshots": len(self.snapshots),
            },
        }

    @classmethod
    def from_json(cls, data: bytes, backup_id: str, signer: Signer | None) -> Manifest:
        """Parse a stored manifest and check its signature (`seal`); InvalidManifest.

        Without a signer the signature is not checked (seal UNCHECKED).
        """
        try:
            raw = json.loads(data)
            if not isinstance(raw, dict) or raw.get("format") not in (FORMAT, UNSIGNED_FORMAT):
                raise ValueError("format")
            if not isinstance(raw.get("id"), str):
                raise ValueError("id")
        except ValueError as err:
            raise InvalidManifest(f"backup {backup_id}: its manifest is unreadable") from err
        if raw.get("id") != backup_id:
            raise InvalidManifest(
                f"backup {backup_id}: its manifest is that of backup {raw['id'][:40]} "
                "(copied from another backup)"
            )
        seal = _seal(raw, backup_id, signer)
        try:
            return cls(
                id=raw["id"],
                created=str(raw["created"]),
                finished=str(raw["finished"]),
                description=str(raw["description"]),
                namespaces=[str(n) for n in raw["namespaces"]],
                entries=[Entry(**e) for e in raw["objects"]],
                snapshots=[Snapshot(**s) for s in raw["snapshots"]],
                skipped_kinds=[str(k) for k in raw["skipped-kinds"]],
                key_id=str(raw["key-id"]),
                signed_by=str(raw.get("signed-by", "")),
                seal=seal,
            )
        except (ValueError, KeyError, TypeError) as err:
            raise InvalidManifest(f"backup {backup_id}: its manifest is unreadable") from err

    def seal_problem(self, signer: Signer | None) -> str | None:
        """Why the manifest cannot be trusted, in the operator's words; None when signed."""
        if self.seal == SIGNED:
            return None
        if self.seal == UNSIGNED:
            return (
                f"backup {self.id} was written before kubeflow-backup signed its manifests, "
                "so a change to its manifest cannot be detected"
            )
        if self.seal == OTHER_KEY:
            ours = signer.key_id if signer else "(none)"
            return (
                f"the manifest of backup {self.id} is signed with key {self.signed_by}, not "
                f"this application's key {ours}: set encryption-key-secret to the key it was "
                "made with"
            )
        if self.seal == BAD_SIGNATURE:
            return (
                f"the manifest of backup {self.id} does not match its signature: it was "
                "changed after the backup was written"
            )
        return (
            f"cannot check the signature of backup {self.id}: this application has no backup "
            "key yet (the leader makes it on install)"
        )


def _seal(raw: dict[str, Any], backup_id: str, signer: Signer | None) -> str:
    """What the signature of a parsed manifest says (raw is left as it was)."""
    if raw["format"] == UNSIGNED_FORMAT:
        return UNSIGNED
    body = {k: v for k, v in raw.items() if k != SIGNATURE}
    if signer is None:
        return UNCHECKED
    if signer.verify(backup_id, body, raw.get(SIGNATURE)):
        return SIGNED
    return OTHER_KEY if body.get("signed-by") != signer.key_id else BAD_SIGNATURE


class _Lazy:
    """The manifest's entries as dicts, made one at a time each time they are iterated."""

    def __init__(self, entries: Sequence[Entry]):
        self.entries = entries

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (e.to_dict() for e in self.entries)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical_pieces(body: Mapping[str, Any]) -> Iterator[str]:
    """The canonical JSON of a manifest body, a top-level list item at a time.

    Joined, the pieces are exactly json.dumps(body, sort_keys=True, separators=(",", ":"),
    ensure_ascii=True) (that form is compositional), without ever holding all of it.
    """
    yield "{"
    for n, key in enumerate(sorted(body)):
        value = body[key]
        yield f"{',' if n else ''}{_canonical(key)}:"
        if isinstance(value, (list, _Lazy)):
            yield "["
            for i, item in enumerate(value):
                yield f"{',' if i else ''}{_canonical(item)}"
            yield "]"
        else:
            yield _canonical(value)
    yield "}"


class Signer:
    """HMAC-SHA256 of a manifest's content and its backup id.

    The content is signed in a canonical JSON form (sorted keys, no spaces, ASCII), which
    json.loads followed by json.dumps reproduces exactly for what we write; what is checked is
    therefore the parsed manifest that the actions go on to use.
    """

    def __init__(self, key: bytes, key_id: str):
        self._key = key
        self.key_id = key_id

    def sign(self, backup_id: str, body: Mapping[str, Any], what: str = "manifest") -> str:
        """Hex HMAC of the body, bound to the backup id and to what it is.

        What it is (a manifest or a summary) is signed in, so neither can pass for the other.
        """
        mac = hmac.new(self._key, f"kubeflow-backup {what}\0{backup_id}\0".encode(), "sha256")
        for piece in canonical_pieces(body):
            mac.update(piece.encode())
        return mac.hexdigest()

    def verify(
        self, backup_id: str, body: Mapping[str, Any], signature: Any, what: str = "manifest"
    ) -> bool:
        """True when `signature` is this key's HMAC of the body (compared in constant time)."""
        if not isinstance(signature, str):
            return False
        return hmac.compare_digest(self.sign(backup_id, body, what), signature)


@dataclass(frozen=True)
class Summary:
    """One row of list-backups."""

    id: str
    time: str
    namespaces: list[str]
    objects: int
    bytes: int
    state: str
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The row as list-backups prints it in JSON."""
        return asdict(self)

    def to_json(self, manifest: bytes, signer: Signer) -> bytes:
        """The signed copy written beside the manifest, bound to the manifest's bytes."""
        body = {
            "format": SUMMARY_FORMAT,
            "id": self.id,
            "time": self.time,
            "namespaces": self.namespaces,
            "objects": self.objects,
            "bytes": self.bytes,
            "description": self.description,
            "manifest-md5": hashlib.md5(manifest, usedforsecurity=False).hexdigest(),
            "signed-by": signer.key_id,
        }
        body[SIGNATURE] = signer.sign(self.id, body, "summary")
        return json.dumps(body, sort_keys=True).encode()

    @classmethod
    def trusted(cls, data: bytes, backup_id: str, etag: str, signer: Signer) -> Summary | None:
        """The row from a stored summary; None when it cannot be trusted.

        Trusted: our key signed it for this backup, and the manifest beside it is still the
        one it was made from (the manifest's ETag is the MD5 it names).
        """
        try:
            raw = json.loads(data)
            body = {k: v for k, v in raw.items() if k != SIGNATURE}
            if raw.get("format") != SUMMARY_FORMAT or raw.get("id") != backup_id:
                return None
            if raw.get("manifest-md5") != etag.strip('"'):
                return None
            if not signer.verify(backup_id, body, raw.get(SIGNATURE), "summary"):
                return None
            row = cls(
                id=backup_id,
                time=str(raw["time"]),
                namespaces=[str(n) for n in raw["namespaces"]],
                objects=int(raw["objects"]),
                bytes=int(raw["bytes"]),
                state=SIGNED,
                description=str(raw["description"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return row


# -- encryption of Secrets ------------------------------------------------------------------


class Cipher:
    """AES-256-GCM with the charm's key; the object key is bound in as associated data."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise BackupError("the backup encryption key must be 32 bytes (base64 encoded)")
        self._key = key

    @staticmethod
    def generate_key() -> bytes:
        """A new random key."""
        return secrets.token_bytes(KEY_BYTES)

    @classmethod
    def from_text(cls, text: str) -> Cipher:
        """A cipher from the base64 text kept in a Juju secret."""
        try:
            key = base64.b64decode(str(text).strip(), validate=True)
        except (binascii.Error, ValueError) as err:
            raise BackupError("the backup encryption key is not base64") from err
        return cls(key)

    @property
    def key_id(self) -> str:
        """A short fingerprint that tells keys apart without revealing them."""
        return hashlib.sha256(b"kubeflow-backup key id\0" + self._key).hexdigest()[:16]

    def signer(self) -> Signer:
        """The manifest signer: its own key, derived from this one (HKDF-SHA256, RFC 5869)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=KEY_BYTES,
            salt=None,
            info=b"kubeflow-backup manifest signature",
        ).derive(self._key)
        return Signer(derived, self.key_id)

    def encrypt(self, data: bytes, key: str) -> bytes:
        """Nonce + ciphertext + tag."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + AESGCM(self._key).encrypt(nonce, data, key.encode())

    def decrypt(self, data: bytes, key: str) -> bytes:
        """The plaintext, or BackupError when the key or the data is wrong."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            return AESGCM(self._key).decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], key.encode())
        except (InvalidTag, ValueError) as err:
            raise BackupError(f"{key} does not decrypt with the backup encryption key") from err


# -- the bucket -----------------------------------------------------------------------------


class Store:
    """The backups in one bucket under one root prefix.

    `signer` signs the manifests written and checks those read; without one (no key yet)
    manifests read are UNCHECKED and none can be written. `transfers` objects are uploaded or
    downloaded at a time (threads sharing the client; see dsplib.s3.S3Client).
    """

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        root: str = "",
        signer: Signer | None = None,
        transfers: int = 1,
    ):
        self.client = client
        self.bucket = bucket
        path = f"{root.strip('/')}/" if root.strip("/") else ""
        self.root = path + PREFIX
        self.summaries_root = path + SUMMARIES
        self.signer = signer
        self.transfers = transfers

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """bounded_map with this store's number of transfers."""
        return bounded_map(fn, items, self.transfers)

    def summary_key(self, backup_id: str) -> str:
        """Where the signed summary of one backup is."""
        return f"{self.summaries_root}{backup_id}.json"

    def prefix(self, backup_id: str) -> str:
        """Where one backup's objects are."""
        return f"{self.root}{backup_id}/"

    def ensure_bucket(self) -> None:
        """Fail early with the server's reason (keys, TLS, network); create a missing bucket.

        A listing rather than a HEAD request: its error answer names the reason.
        """
        from dsplib.s3 import S3NotFound

        try:
            self.client.list_prefixes(self.bucket, self.root)
        except S3NotFound:
            self.client.create_bucket(self.bucket)

    def backup_ids(self) -> list[str]:
        """Ids of every backup prefix, complete or not, oldest first."""
        ids = []
        for prefix in self.client.list_prefixes(self.bucket, self.root):
            name = prefix[len(self.root) :].rstrip("/")
            if ID_PATTERN.match(name):
                ids.append(name)
        return sorted(ids)

    def manifest(self, backup_id: str) -> Manifest | None:
        """The backup's manifest, None when it has none (incomplete); InvalidManifest."""
        from dsplib.s3 import S3NotFound

        try:
            data = self.client.get_object(self.bucket, self.prefix(backup_id) + MANIFEST)
        except S3NotFound:
            return None
        return Manifest.from_json(data, backup_id, self.signer)

    def require_manifest(self, backup_id: str) -> Manifest:
        """The manifest of a complete backup, or BackupError naming what is wrong."""
        manifest = self.manifest(check_id(backup_id))
        if manifest is None:
            if backup_id in self.backup_ids():
                raise BackupError(f"backup {backup_id} is incomplete (it has no manifest)")
            raise BackupError(f"no backup {backup_id} in bucket '{self.bucket}'")
        return manifest

    def summaries(self) -> tuple[list[Summary], list[str]]:
        """Rows for every complete backup (newest first), and the ids of incomplete ones.

        Two small requests a backup (its manifest's ETag, its signed summary), `transfers`
        backups at a time; the manifest itself only where the summary cannot be trusted (see
        the module docstring).
        """
        done: list[Summary] = []
        incomplete: list[str] = []
        ids = self.backup_ids()
        for backup_id, row in zip(ids, self.map(self._row, ids), strict=True):
            if row is None:
                incomplete.append(backup_id)
            else:
                done.append(row)
        return sorted(done, key=lambda s: (s.time, s.id), reverse=True), incomplete

    def _row(self, backup_id: str) -> Summary | None:
        try:
            return self.summary(backup_id)
        except InvalidManifest:
            return Summary(backup_id, "", [], 0, 0, "unreadable manifest")

    def summary(self, backup_id: str) -> Summary | None:
        """The list-backups row of one backup, None when incomplete; InvalidManifest."""
        from dsplib.s3 import S3NotFound

        try:
            etag = self.client.head_object(self.bucket, self.prefix(backup_id) + MANIFEST).etag
        except S3NotFound:
            return None
        if self.signer is not None:
            try:
                data = self.client.get_object(self.bucket, self.summary_key(backup_id))
            except S3NotFound:
                data = b""
            row = Summary.trusted(data, backup_id, etag, self.signer) if data else None
            if row is not None:
                return row
        manifest = self.manifest(backup_id)
        return None if manifest is None else manifest.summary(manifest.seal)

    def put(self, backup_id: str, key: str, data: bytes) -> None:
        """Store one object of a backup."""
        content_type = "application/json" if key.endswith(".json") else "application/octet-stream"
        self.client.put_object(self.bucket, self.prefix(backup_id) + key, data, content_type)

    def get(self, backup_id: str, key: str) -> bytes:
        """Read one object of a backup."""
        return self.client.get_object(self.bucket, self.prefix(backup_id) + key)

    def keys(self, backup_id: str) -> list[str]:
        """Every key under the backup's prefix, relative to it."""
        prefix = self.prefix(backup_id)
        return [o.key[len(prefix) :] for o in self.client.list_objects(self.bucket, prefix)]

    def unlisted(self, manifest: Manifest) -> list[str]:
        """Keys under the backup's prefix that its manifest does not list (added or renamed)."""
        listed = {e.key for e in manifest.entries} | {MANIFEST}
        return [key for key in self.keys(manifest.id) if key not in listed]

    def put_manifest(self, manifest: Manifest) -> None:
        """Write the signed summary, then the signed manifest.

        The manifest is the last write of a backup: it makes the backup complete.
        """
        if self.signer is None:  # pragma: no cover - the charm always passes one to writers
            raise BackupError("no key to sign the manifest with")
        data = manifest.to_json(self.signer)
        summary = manifest.summary().to_json(data, self.signer)
        self.client.put_object(self.bucket, self.summary_key(manifest.id), summary)
        self.put(manifest.id, MANIFEST, data)

    def withdraw(self, backup_id: str) -> None:
        """Delete the manifest only: the backup becomes an interrupted one."""
        self.client.delete_object(self.bucket, self.prefix(backup_id) + MANIFEST)

    def delete(self, backup_id: str) -> int:
        """Delete every key of the backup (the manifest first); the number deleted."""
        prefix = self.prefix(check_id(backup_id))
        keys = [o.key for o in self.client.list_objects(self.bucket, prefix)]
        manifest = prefix + MANIFEST
        if manifest in keys:  # without its manifest a half-deleted backup is never listed
            self.client.delete_object(self.bucket, manifest)
        rest = [k for k in keys if k != manifest]
        if keys:  # the summary goes with the rest; it is not one of the backup's keys
            self.client.delete_objects(self.bucket, [*rest, self.summary_key(backup_id)])
        return len(keys)


# -- reading back ---------------------------------------------------------------------------


@dataclass
class Verification:
    """What re-reading a backup found."""

    checked: int = 0
    bad: list[str] = field(default_factory=list)  # checksum or size does not match
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)  # the entry does not describe it
    unlisted: list[str] = field(default_factory=list)  # keys the manifest does not list

    @property
    def ok(self) -> bool:
        """True when every object reads back as the manifest says."""
        return not (self.bad or self.missing or self.mismatched or self.unlisted)

    def problems(self, limit: int = 10) -> str:
        """The names of the objects that failed, for a message."""
        names = [f"{n} (checksum mismatch)" for n in self.bad]
        names += [f"{n} (missing)" for n in self.missing]
        names += self.mismatched
        names += [f"{key} (not in the manifest)" for key in self.unlisted]
        more = f" and {len(names) - limit} more" if len(names) > limit else ""
        return ", ".join(names[:limit]) + more


Keep = Callable[[Entry, bytes], None]
MISSING, BAD = "missing", "bad"


def check_objects(
    store: Store,
    backup_id: str,
    entries: Sequence[Entry],
    progress: Progress,
    every: int = PROGRESS_EVERY,
    keep: Keep | None = None,
) -> Verification:
    """Read every object of `entries` and compare it with its checksum.

    `store.transfers` objects are read at a time; each body is dropped once checked, or handed
    to `keep` (in this thread) when good.
    """
    result = Verification()
    total = len(entries)

    def fetch(entry: Entry) -> tuple[Entry, str | None, bytes | None]:
        problem, data = _fetch(store, backup_id, entry)
        return entry, problem, data if keep is not None and problem is None else None

    for n, (entry, problem, data) in enumerate(store.map(fetch, entries), 1):
        if problem == MISSING:
            result.missing.append(str(entry))
        elif problem == BAD:
            result.bad.append(str(entry))
        elif problem is not None:
            result.mismatched.append(problem)
        elif keep is not None and data is not None:
            keep(entry, data)
        result.checked = n
        if n % every == 0 or n == total:
            progress(f"read {n}/{total} objects")
    return result


def _fetch(store: Store, backup_id: str, entry: Entry) -> tuple[str | None, bytes | None]:
    """(what is wrong with the stored object or None, its bytes); S3 errors name the object."""
    from dsplib.s3 import S3Error, S3NotFound

    try:
        data = store.get(backup_id, entry.key)
    except S3NotFound:
        return MISSING, None
    except S3Error as err:
        raise naming(err, f"reading {entry}") from None
    if len(data) != entry.size or sha256(data) != entry.sha256:
        return BAD, None
    if not entry.encrypted and (wrong := mismatch(entry, data)):
        return wrong, None
    return None, data


def read_back(
    store: Store, manifest: Manifest, progress: Progress, every: int = PROGRESS_EVERY
) -> tuple[Verification, dict[str, bytes]]:
    """check_objects over the whole manifest, keeping every good body (small backups only)."""
    contents: dict[str, bytes] = {}

    def keep(entry: Entry, data: bytes) -> None:
        contents[entry.key] = data

    result = check_objects(store, manifest.id, manifest.entries, progress, every, keep)
    return result, contents


def mismatch(entry: Entry, data: bytes) -> str | None:
    """How the manifest's entry and the object it points to disagree; None when they agree.

    The checksum ties the entry to the bytes; this ties the entry's kind, name and namespace
    (what restore selects by) to what the bytes hold.
    """
    try:
        obj = json.loads(data)
        meta = obj["metadata"]
        held = Entry(
            key=object_key(obj, entry.encrypted),
            sha256=entry.sha256,
            size=entry.size,
            api_version=str(obj["apiVersion"]),
            kind=str(obj["kind"]),
            name=str(meta["name"]),
            namespace=meta.get("namespace"),
            encrypted=entry.encrypted,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return f"{entry} (the object is not a Kubernetes object)"
    if held != entry:
        return f"{entry} (the object holds {held.api_version} {held} at {entry.key})"
    return None


def expired(rows: Iterable[Summary], keep: int) -> list[str]:
    """Ids of the backups retention removes, oldest first; none when `keep` is 0.

    Only signed backups count: the newest `keep` are kept, older signed ones go, and so do
    unsigned ones (written before manifests were signed) older than the oldest one kept. A
    manifest whose signature fails, or that cannot be read, is never counted or deleted here:
    nobody without the key can push good backups out with forged ones.
    """

    def order(row: Summary) -> tuple[str, str]:
        return (row.time, row.id)

    rows = list(rows)
    signed = sorted((r for r in rows if r.state == SIGNED), key=order, reverse=True)
    if keep <= 0 or len(signed) < keep:
        return []
    oldest_kept = order(signed[keep - 1])
    old = signed[keep:] + [r for r in rows if r.state == UNSIGNED and order(r) < oldest_kept]
    return [r.id for r in sorted(old, key=order)]


# -- output ---------------------------------------------------------------------------------


def human_bytes(size: int) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def table(rows: list[Summary]) -> str:
    """list-backups as a text table, newest first."""
    header = ("ID", "TIME (UTC)", "NAMESPACES", "OBJECTS", "SIZE", "STATE")
    lines = [header]
    for row in rows:
        namespaces = ",".join(row.namespaces)
        if len(namespaces) > 40:
            namespaces = f"{namespaces[:36]}... ({len(row.namespaces)})"
        when = row.time.replace("T", " ").removesuffix("+00:00")[:19]
        lines.append(
            (row.id, when, namespaces, str(row.objects), human_bytes(row.bytes), row.state)
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
