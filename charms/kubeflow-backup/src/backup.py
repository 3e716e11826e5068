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

The manifest (format 3) is JSON Lines, so that no action ever holds all of it:

    {"format": 3, "id": ..., "namespaces": [...], "summary": {"objects": N, ...}, ...}
    {"key": "objects/...", "sha256": ..., "size": ..., "kind": ..., "name": ...}   (N lines)
    {"hmac-sha256": "<hex>"}

The last line is an HMAC-SHA256 over every byte before it and the backup id, with a key derived
(HKDF) from that same Juju secret: whoever can write to the bucket but does not have the key
cannot change the manifest, and through its checksums any object it lists, without the
signature failing; a manifest copied from another backup fails because the id is bound in; a
manifest cut short has no signature line and is refused as unreadable. create-backup spools
each entry to a temporary file as its object is uploaded (ManifestWriter) and writes the
manifest from there in one streamed PUT; verify and restore stream it to a temporary file
(ManifestFile), check the signature and the header's counts in one pass, then read the
entries a line at a time. Format 2 (one JSON document, its canonical form signed) and format 1
(written before signing, read as "unsigned") are still read, whole, as they were written.

The manifest grows with the backup (about 250 bytes an object), so list-backups does not read
it: its header carries a summary (objects, bytes, snapshots), and a signed copy of what
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
bodies. What must be looked up across the whole backup (keys listed twice or not at all,
restore's dependency order and the checked bodies it applies) is in an on-disk SQLite index
and a temporary file, never in memory.

No ops and no Kubernetes here.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import hashlib
import hmac
import itertools
import json
import re
import secrets
import sqlite3
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from dsplib.s3 import S3Client, S3Error

FORMAT = 3  # JSON Lines: header, one entry a line, signature
UNSIGNED_FORMAT = 1  # written before manifests were signed: read, never written
LEGACY_FORMATS = (UNSIGNED_FORMAT, 2)  # one JSON document, signed (2) or not (1)
MAX_LINE = 1 << 20  # a manifest line longer than this is not one we wrote
SIGNATURE = "hmac-sha256"
PREFIX = "kubeflow-backups/"
MANIFEST = "manifest.json"
CHUNK = 1 << 16  # bytes read or sent at a time when a manifest streams
DELETE_BATCH = 1000  # keys in one DeleteObjects request, S3's most
# Keys in one listing page of a backup's prefix: its XML answer, parsed, is the largest thing
# verify and restore hold (about 3 MB for 1,000 keys), for 1 request per LIST_PAGE objects.
LIST_PAGE = 250
MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")
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
    """What a finished backup holds, without its entries; its presence marks it complete.

    The entries are read from the stored manifest (`ManifestFile.entries`) or written to it
    (`ManifestWriter`) one at a time; `objects` and `size` count them.
    """

    id: str
    created: str
    finished: str = ""
    description: str = ""
    namespaces: list[str] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    skipped_kinds: list[str] = field(default_factory=list)
    key_id: str = ""
    signed_by: str = ""  # fingerprint of the key that signed it
    objects: int = 0
    size: int = 0  # bytes stored for the objects
    seal: str = field(default=UNCHECKED, compare=False)

    def count(self, entry: Entry) -> None:
        """Count one more entry."""
        self.objects += 1
        self.size += entry.size

    def summary(self, state: str = SIGNED) -> Summary:
        """The row list-backups shows for this manifest."""
        return Summary(
            id=self.id,
            time=self.created,
            namespaces=self.namespaces,
            objects=self.objects,
            bytes=self.size,
            state=state,
            description=self.description,
        )

    def header(self, signed_by: str) -> dict[str, Any]:
        """The first line of a format 3 manifest: everything but the entries."""
        return {
            "format": FORMAT,
            "id": self.id,
            "created": self.created,
            "finished": self.finished,
            "description": self.description,
            "namespaces": self.namespaces,
            "key-id": self.key_id,
            "signed-by": signed_by,
            "skipped-kinds": self.skipped_kinds,
            "snapshots": [asdict(s) for s in self.snapshots],
            "summary": {
                "objects": self.objects,
                "bytes": self.size,
                "snapshots": len(self.snapshots),
            },
        }

    @classmethod
    def from_header(cls, raw: Mapping[str, Any], backup_id: str) -> Manifest:
        """The manifest a header (format 3) or a whole document (formats 1 and 2) describes.

        Its seal is UNCHECKED; the counts are those the manifest claims.
        """
        if raw.get("id") != backup_id:
            raise InvalidManifest(
                f"backup {backup_id}: its manifest is that of backup {str(raw.get('id'))[:40]} "
                "(copied from another backup)"
            )
        try:
            summary = raw.get("summary") or {}
            return cls(
                id=backup_id,
                created=str(raw["created"]),
                finished=str(raw["finished"]),
                description=str(raw["description"]),
                namespaces=[str(n) for n in raw["namespaces"]],
                snapshots=[Snapshot(**s) for s in raw["snapshots"]],
                skipped_kinds=[str(k) for k in raw["skipped-kinds"]],
                key_id=str(raw["key-id"]),
                signed_by=str(raw.get("signed-by", "")),
                objects=_whole(summary.get("objects", 0)),
                size=_whole(summary.get("bytes", 0)),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise unreadable(backup_id) from err

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


def unreadable(backup_id: str, why: str = "") -> InvalidManifest:
    """The error for a manifest that cannot be parsed."""
    return InvalidManifest(f"backup {backup_id}: its manifest is unreadable{why}")


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


def entry_line(entry: Entry) -> bytes:
    """One entry as a line of a format 3 manifest."""
    return json.dumps(entry.to_dict(), sort_keys=True).encode() + b"\n"


def manifest_lines(
    manifest: Manifest, entry_lines: Iterable[bytes], signer: Signer
) -> Iterator[bytes]:
    """A format 3 manifest, a line at a time: header, the entries' lines, signature.

    The signature line is an HMAC over every byte before it (see Signer.mac); `manifest`
    must already count the entries (its header carries the summary).
    """
    mac = signer.mac(manifest.id)
    header = json.dumps(manifest.header(signer.key_id), sort_keys=True).encode() + b"\n"
    for line in itertools.chain((header,), entry_lines):
        mac.update(line)
        yield line
    yield json.dumps({SIGNATURE: mac.hexdigest()}).encode() + b"\n"


class ManifestWriter:
    """The entries of a backup being written, spooled to an unnamed temporary file.

    Each entry is a line in the file as soon as its object is uploaded, so memory does not grow
    with the backup; `Store.put_manifest` reads them back into the manifest.
    """

    def __init__(self, manifest: Manifest):
        self.manifest = manifest
        self._spool = tempfile.TemporaryFile(prefix="kubeflow-backup-entries-")  # noqa: SIM115 - closed by __exit__

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._spool.close()

    def add(self, entry: Entry) -> None:
        """Spool one entry and count it."""
        self._spool.write(entry_line(entry))
        self.manifest.count(entry)

    def lines(self) -> Iterator[bytes]:
        """The spooled entries' lines, in the order they were added."""
        self._spool.flush()
        self._spool.seek(0)
        yield from self._spool


class ManifestFile:
    """A stored manifest, downloaded to an unnamed temporary file and checked once through.

    `manifest` is its header, with its seal; `entries()` reads the entries again from the file
    each time it is called, one at a time (format 3). A manifest of format 1 or 2 (one JSON
    document, written before format 3) is parsed whole, as it was then: its entries are held
    in memory, about 1.2 KB an object.
    """

    def __init__(self, manifest: Manifest, file: Any = None, legacy: Sequence[Entry] = ()):
        self.manifest = manifest
        self._file = file
        self._legacy = legacy

    def entries(self) -> Iterator[Entry]:
        """Every entry, in the manifest's order."""
        if self._file is None:
            yield from self._legacy
            return
        self._file.seek(0)
        self._file.readline(MAX_LINE)  # the header
        for line in self._file:
            raw = json.loads(line)
            if SIGNATURE in raw:
                return
            yield Entry(**raw)

    @classmethod
    def read(cls, file: Any, backup_id: str, signer: Signer | None) -> ManifestFile:
        """Check a manifest held in `file` line by line; InvalidManifest when unreadable."""
        file.seek(0)
        first = file.readline(MAX_LINE)
        try:
            head = json.loads(first)
        except ValueError:
            head = None
        if not (isinstance(head, dict) and head.get("format") == FORMAT):
            file.seek(0)
            manifest, entries = legacy_manifest(file.read(), backup_id, signer)
            return cls(manifest, legacy=entries)
        manifest = Manifest.from_header(head, backup_id)
        mac = signer.mac(backup_id) if signer is not None else None
        if mac is not None:
            mac.update(first)
        counted = Manifest(backup_id, manifest.created)
        signature: Any = None
        for line in iter(lambda: file.readline(MAX_LINE), b""):
            if signature is not None or not line.endswith(b"\n"):
                raise unreadable(backup_id, " (it goes on after its signature, or is cut)")
            signature = _entry_or_signature(line, backup_id, counted)
            if mac is not None and signature is None:
                mac.update(line)
        if signature is None:
            raise unreadable(backup_id, " (it ends before its signature)")
        if (counted.objects, counted.size) != (manifest.objects, manifest.size):
            raise unreadable(backup_id, " (its summary does not count its entries)")
        mac_ok = mac is not None and hmac.compare_digest(mac.hexdigest(), str(signature))
        manifest.seal = _seal_of(mac_ok, mac is not None, manifest.signed_by, signer)
        return cls(manifest, file)


def _entry_or_signature(line: bytes, backup_id: str, counted: Manifest) -> Any:
    """Count the entry on a line and return None; or the signature the line holds."""
    try:
        raw = json.loads(line)
        if isinstance(raw, dict) and set(raw) == {SIGNATURE}:
            return raw[SIGNATURE]
        counted.count(checked_entry(raw))
    except (ValueError, TypeError, AttributeError) as err:
        raise unreadable(backup_id) from err
    return None


def checked_entry(raw: Any) -> Entry:
    """An entry from its parsed form; ValueError or TypeError when it is not one."""
    entry = Entry(**raw)
    texts = (entry.key, entry.sha256, entry.api_version, entry.kind, entry.name)
    if not all(isinstance(t, str) for t in texts) or not isinstance(entry.encrypted, bool):
        raise ValueError("entry")
    if entry.namespace is not None and not isinstance(entry.namespace, str):
        raise ValueError("namespace")
    _whole(entry.size)
    return entry


def _seal_of(mac_ok: bool, checked: bool, signed_by: str, signer: Signer | None) -> str:
    if not checked or signer is None:
        return UNCHECKED
    if mac_ok:
        return SIGNED
    return OTHER_KEY if signed_by != signer.key_id else BAD_SIGNATURE


def legacy_manifest(
    data: bytes, backup_id: str, signer: Signer | None
) -> tuple[Manifest, list[Entry]]:
    """A manifest of format 1 or 2 (one JSON document) and its entries; InvalidManifest.

    Format 2 signs the canonical JSON of the whole document (canonical_pieces); format 1 was
    written before signing, and reads as UNSIGNED.
    """
    try:
        raw = json.loads(data)
        if not isinstance(raw, dict) or raw.get("format") not in LEGACY_FORMATS:
            raise ValueError("format")
        if not isinstance(raw.get("id"), str):
            raise ValueError("id")
    except ValueError as err:
        raise unreadable(backup_id) from err
    manifest = Manifest.from_header({**raw, "summary": None}, backup_id)
    try:
        entries = [checked_entry(e) for e in raw["objects"]]
    except (ValueError, KeyError, TypeError) as err:
        raise unreadable(backup_id) from err
    for entry in entries:
        manifest.count(entry)
    manifest.seal = _seal(raw, backup_id, signer)
    return manifest, entries


def _seal(raw: dict[str, Any], backup_id: str, signer: Signer | None) -> str:
    """What the signature of a parsed format 1 or 2 manifest says (raw is left as it was)."""
    if raw["format"] == UNSIGNED_FORMAT:
        return UNSIGNED
    body = {k: v for k, v in raw.items() if k != SIGNATURE}
    if signer is None:
        return UNCHECKED
    if signer.verify(backup_id, body, raw.get(SIGNATURE)):
        return SIGNED
    return OTHER_KEY if body.get("signed-by") != signer.key_id else BAD_SIGNATURE


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
        if isinstance(value, list):
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

    def mac(self, backup_id: str) -> hmac.HMAC:
        """The running HMAC of a format 3 manifest: fed every byte before its signature line.

        Its prefix names the format, so no manifest of format 2 can pass for one of format 3.
        """
        prefix = f"kubeflow-backup manifest lines\0{backup_id}\0".encode()
        return hmac.new(self._key, prefix, "sha256")

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

    def to_json(self, manifest_md5: str, signer: Signer) -> bytes:
        """The signed copy written beside the manifest, bound to the MD5 of its bytes."""
        body = {
            "format": SUMMARY_FORMAT,
            "id": self.id,
            "time": self.time,
            "namespaces": self.namespaces,
            "objects": self.objects,
            "bytes": self.bytes,
            "description": self.description,
            "manifest-md5": manifest_md5,
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
        with self.open_manifest(backup_id) as found:
            return None if found is None else found.manifest

    @contextlib.contextmanager
    def open_manifest(self, backup_id: str) -> Iterator[ManifestFile | None]:
        """The backup's manifest, streamed to a temporary file and checked; None when it has none.

        One GET, read in chunks: memory does not grow with the manifest (see ManifestFile).
        """
        from dsplib.s3 import S3NotFound

        with tempfile.TemporaryFile(prefix="kubeflow-backup-manifest-") as file:
            try:
                key = self.prefix(backup_id) + MANIFEST
                with self.client.open_object(self.bucket, key, CHUNK) as (_, chunks):
                    for chunk in chunks:
                        file.write(chunk)
            except S3NotFound:
                found = None
            else:
                found = ManifestFile.read(file, backup_id, self.signer)
            yield found

    def require_manifest(self, backup_id: str) -> Manifest:
        """The manifest of a complete backup, or BackupError naming what is wrong."""
        with self.require_manifest_file(backup_id) as found:
            return found.manifest

    @contextlib.contextmanager
    def require_manifest_file(self, backup_id: str) -> Iterator[ManifestFile]:
        """open_manifest of a complete backup, or BackupError naming what is wrong."""
        with self.open_manifest(check_id(backup_id)) as found:
            if found is None:
                if backup_id in self.backup_ids():
                    raise BackupError(f"backup {backup_id} is incomplete (it has no manifest)")
                raise BackupError(f"no backup {backup_id} in bucket '{self.bucket}'")
            yield found

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

    def keys(self, backup_id: str) -> Iterator[str]:
        """Every key under the backup's prefix, relative to it, a listing page at a time."""
        prefix = self.prefix(backup_id)
        listed = self.client.iter_objects(self.bucket, prefix, LIST_PAGE)
        return (o.key[len(prefix) :] for o in listed)

    def put_manifest(self, manifest: Manifest, entry_lines: Iterable[bytes] = ()) -> None:
        """Write the signed summary, then the signed manifest (format 3) from its entries' lines.

        The manifest is the last write of a backup: it makes the backup complete. It is made in
        an unnamed temporary file first (the summary names its MD5), then streamed in one PUT,
        whose ETag must be that MD5 when the server answers with one.
        """
        from dsplib.s3 import S3Error

        if self.signer is None:  # pragma: no cover - the charm always passes one to writers
            raise BackupError("no key to sign the manifest with")
        with tempfile.TemporaryFile(prefix="kubeflow-backup-manifest-") as file:
            md5 = hashlib.md5(usedforsecurity=False)
            for line in manifest_lines(manifest, entry_lines, self.signer):
                file.write(line)
                md5.update(line)
            size = file.tell()
            summary = manifest.summary().to_json(md5.hexdigest(), self.signer)
            self.client.put_object(self.bucket, self.summary_key(manifest.id), summary)
            file.seek(0)
            etag = self.client.put_object_stream(
                self.bucket,
                self.prefix(manifest.id) + MANIFEST,
                iter(lambda: file.read(CHUNK), b""),
                size,
                "application/x-ndjson",
            ).strip('"')
        if MD5_ETAG.match(etag) and etag != md5.hexdigest():
            self.withdraw(manifest.id)
            raise S3Error(f"the manifest of backup {manifest.id} was stored damaged (ETag {etag})")

    def withdraw(self, backup_id: str) -> None:
        """Delete the manifest only: the backup becomes an interrupted one."""
        self.client.delete_object(self.bucket, self.prefix(backup_id) + MANIFEST)

    def delete(self, backup_id: str) -> int:
        """Delete every key of the backup (the manifest first); the number deleted.

        A listing page at a time: memory does not grow with the backup.
        """
        prefix = self.prefix(check_id(backup_id))
        manifest = prefix + MANIFEST
        deleted = 0
        batch: list[str] = []
        for obj in self.client.iter_objects(self.bucket, prefix, LIST_PAGE):
            if not deleted:  # without its manifest a half-deleted backup is never listed
                self.client.delete_object(self.bucket, manifest)
            deleted += 1
            batch += [] if obj.key == manifest else [obj.key]
            if len(batch) == DELETE_BATCH:
                self.client.delete_objects(self.bucket, batch)
                batch = []
        if deleted:  # the summary goes with the rest; it is not one of the backup's keys
            self.client.delete_objects(self.bucket, [*batch, self.summary_key(backup_id)])
        return deleted


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
    entries: Iterable[Entry],
    progress: Progress,
    every: int = PROGRESS_EVERY,
    keep: Keep | None = None,
    *,
    total: int | None = None,
    result: Verification | None = None,
) -> Verification:
    """Read every object of `entries` and compare it with its checksum.

    `store.transfers` objects are read at a time; each body is dropped once checked, or handed
    to `keep` (in this thread, in the order of the entries) when good. `entries` is consumed
    as the reads go; `total` (its length when it is a sequence) is for the progress lines.
    """
    result = result if result is not None else Verification()
    if total is None:
        total = len(entries) if isinstance(entries, Sequence) else 0

    def fetch(entry: Entry) -> tuple[Entry, str | None, bytes | None]:
        problem, data = _fetch(store, backup_id, entry)
        return entry, problem, data if keep is not None and problem is None else None

    n = 0
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
    if n != total:
        progress(f"read {n}/{n} objects")
    return result


def check_manifest(
    store: Store,
    found: ManifestFile,
    progress: Progress,
    wanted: Callable[[Entry], bool] | None = None,
    keep: Keep | None = None,
) -> Verification:
    """check_objects over a manifest's entries (those `wanted`), read one at a time from it.

    Also finds what no object check can: an entry listed twice, and keys under the backup's
    prefix that the manifest does not list (`unlisted`). The keys listed are kept in a
    KeyIndex on disk, not in memory.
    """
    manifest = found.manifest
    result = Verification()
    with KeyIndex() as index:

        def listed() -> Iterator[Entry]:
            for entry in found.entries():
                if not index.add(entry.key):
                    result.mismatched.append(f"{entry} (listed twice)")
                elif wanted is None or wanted(entry):
                    yield entry

        total = manifest.objects
        if wanted is not None:
            total = sum(1 for e in found.entries() if wanted(e))
        check_objects(
            store, manifest.id, listed(), progress, keep=keep, total=total, result=result
        )
        result.unlisted = [k for k in store.keys(manifest.id) if k != MANIFEST and k not in index]
    return result


SCRATCH_CACHE_KIB = 2048  # SQLite's page cache for a scratch database, outside Python's heap


def scratch_db() -> sqlite3.Connection:
    """A private SQLite database in a temporary file, deleted when closed.

    Its page cache is capped at SCRATCH_CACHE_KIB (SQLite's own default, made explicit): what
    does not fit stays on disk, so it does not grow in memory with what it holds.
    """
    db = sqlite3.connect("")  # "": a private temporary on-disk database (sqlite3 docs)
    db.execute(f"PRAGMA cache_size = -{SCRATCH_CACHE_KIB}")
    return db


class KeyIndex:
    """A set of object keys in a scratch_db: membership without holding the keys in memory.

    Each membership test is one lookup in its B-tree.
    """

    def __init__(self) -> None:
        self.db = scratch_db()
        self.db.execute("CREATE TABLE keys (key TEXT PRIMARY KEY) WITHOUT ROWID")

    def __enter__(self) -> KeyIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.db.close()

    def add(self, key: str) -> bool:
        """Add a key; False when it was there already."""
        return self.db.execute("INSERT OR IGNORE INTO keys VALUES (?)", (key,)).rowcount == 1

    def __contains__(self, key: object) -> bool:
        row = self.db.execute("SELECT 1 FROM keys WHERE key = ?", (key,)).fetchone()
        return row is not None


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
