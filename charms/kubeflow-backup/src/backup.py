"""Backups in an S3 bucket: layout, manifest, checksums, encryption of Secrets, retention.

Everything of one backup lives under its own prefix, one object per Kubernetes object:

    <root><id>/objects/<namespace or _cluster>/<kind>.<group or core>/<name>.json[.enc]
    <root><id>/manifest.json

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

No ops and no Kubernetes here.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dsplib.s3 import S3Client

FORMAT = 2
UNSIGNED_FORMAT = 1  # written before manifests were signed: read, never written
SIGNATURE = "hmac-sha256"
PREFIX = "kubeflow-backups/"
MANIFEST = "manifest.json"
ID_PATTERN = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4}$")
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
CLUSTER_SCOPE = "_cluster"  # not a valid namespace name, so it cannot clash with one

Progress = Callable[[str], None]


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


# -- manifest -------------------------------------------------------------------------------


@dataclass(frozen=True)
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
        """The manifest as stored, signed."""
        body = self._body()
        body["signed-by"] = signer.key_id
        data = {**body, SIGNATURE: signer.sign(self.id, body)}
        return json.dumps(data, indent=1, sort_keys=True).encode()

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
            "objects": [asdict(e) for e in self.entries],
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


class Signer:
    """HMAC-SHA256 of a manifest's content and its backup id.

    The content is signed in a canonical JSON form (sorted keys, no spaces, ASCII), which
    json.loads followed by json.dumps reproduces exactly for what we write; what is checked is
    therefore the parsed manifest that the actions go on to use.
    """

    def __init__(self, key: bytes, key_id: str):
        self._key = key
        self.key_id = key_id

    def sign(self, backup_id: str, body: Mapping[str, Any]) -> str:
        """Hex HMAC of the body, bound to the backup id."""
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        message = b"kubeflow-backup manifest\0" + backup_id.encode() + b"\0" + canonical.encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def verify(self, backup_id: str, body: Mapping[str, Any], signature: Any) -> bool:
        """True when `signature` is this key's HMAC of the body (compared in constant time)."""
        if not isinstance(signature, str):
            return False
        return hmac.compare_digest(self.sign(backup_id, body), signature)


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
    manifests read are UNCHECKED and none can be written.
    """

    def __init__(
        self, client: S3Client, bucket: str, root: str = "", signer: Signer | None = None
    ):
        self.client = client
        self.bucket = bucket
        self.root = f"{root.strip('/')}/{PREFIX}" if root.strip("/") else PREFIX
        self.signer = signer

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
        """Rows for every complete backup (newest first), and the ids of incomplete ones."""
        done: list[Summary] = []
        incomplete: list[str] = []
        for backup_id in self.backup_ids():
            try:
                manifest = self.manifest(backup_id)
            except InvalidManifest:
                done.append(Summary(backup_id, "", [], 0, 0, "unreadable manifest"))
                continue
            if manifest is None:
                incomplete.append(backup_id)
                continue
            done.append(
                Summary(
                    id=backup_id,
                    time=manifest.created,
                    namespaces=manifest.namespaces,
                    objects=len(manifest.entries),
                    bytes=manifest.size,
                    state=manifest.seal,
                    description=manifest.description,
                )
            )
        return sorted(done, key=lambda s: (s.time, s.id), reverse=True), incomplete

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
        """Write the signed manifest: the last write of a backup, which makes it complete."""
        if self.signer is None:  # pragma: no cover - the charm always passes one to writers
            raise BackupError("no key to sign the manifest with")
        self.put(manifest.id, MANIFEST, manifest.to_json(self.signer))

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
        if rest:
            self.client.delete_objects(self.bucket, rest)
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


def read_back(
    store: Store, manifest: Manifest, progress: Progress, every: int = 100
) -> tuple[Verification, dict[str, bytes]]:
    """Read every object of the backup and compare with the manifest's checksums."""
    from dsplib.s3 import S3NotFound

    result = Verification()
    contents: dict[str, bytes] = {}
    total = len(manifest.entries)
    for n, entry in enumerate(manifest.entries, 1):
        try:
            data = store.get(manifest.id, entry.key)
        except S3NotFound:
            result.missing.append(str(entry))
        else:
            if len(data) != entry.size or sha256(data) != entry.sha256:
                result.bad.append(str(entry))
            elif not entry.encrypted and (wrong := mismatch(entry, data)):
                result.mismatched.append(wrong)
            else:
                contents[entry.key] = data
        result.checked = n
        if n % every == 0 or n == total:
            progress(f"read {n}/{total} objects")
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
