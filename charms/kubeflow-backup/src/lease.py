"""A lease in the bucket so that two writers of one backup location never undo each other.

Two create-backup runs can meet on one bucket and path: the old leader still uploading after
leadership moved, or two deployments configured with the same bucket and path. Without a lease
the second deletes the first one's upload as "interrupted" and the first then writes a manifest
over what is left. Each writer therefore holds a lease while it writes:

    <root>leases/<token>.json     {"owner", "backup-id", "acquired", "expires", "held"}

Conditional PUTs (If-None-Match / If-Match) would make one lease object atomic, and Ceph RGW
16 honours If-None-Match (HTTP 412, tried on the test gateway), but the s3 relation may point
at any S3 service: AWS S3 accepted them only in 2024
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html), and a service
that ignores the headers would let two writers in without a sign. So the lease is claimed with
one object per claimant, each written only by its claimant, which needs nothing but S3's
read-after-write and listing consistency:

1. list the claims; delete the expired ones (takeover); refuse if a live one remains;
2. write our claim (a candidate);
3. list again; if another live claim is there, delete ours and refuse; else mark ours held.

Of two claimants racing, the one whose second listing comes last always sees the other's
claim, which was written before the other's listing began, because S3 (RGW too) lists an
object once its PUT has returned; so at most one gets through, and at worst both refuse and
the operator runs the action again. While working, the holder renews
its claim (a new expiry) at least every RENEW_SECONDS. Renewing first reads the claim back:
gone means another writer found it expired and took over, and a held claim newer than ours
means the same; then we lost the lease and stop without writing a manifest. The check runs once
more right after the manifest is written; losing the lease there withdraws the manifest.

Expiry is the holder's clock plus TTL_SECONDS, compared with the reader's clock, so the units'
clocks must agree to within TTL_SECONDS - RENEW_SECONDS (NTP does far better). A claim made by
this very unit is always stale: Juju's uniter holds the unit's hook execution lock while it
runs a hook or an action that is not marked `parallel` (none of ours is; juju/juju,
docs/reference/.../list-of-juju-introspect-macros/juju_machine_lock.md), so a claim of ours
that we did not make in this run is left from a run that was killed.

The lease keeps honest writers apart; it is no protection against someone who can write to the
bucket and chooses to ignore it. No ops here.
"""

from __future__ import annotations

import datetime
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from backup import BackupError, Store

DIRECTORY = "leases/"
TTL_SECONDS = 600
RENEW_SECONDS = 60

Clock = Callable[[], datetime.datetime]


def utc_now() -> datetime.datetime:
    """The time leases are written and compared in."""
    return datetime.datetime.now(datetime.timezone.utc)


class LeaseHeld(BackupError):
    """Another writer holds the lease: nothing was written."""


class LeaseLost(BackupError):
    """Another writer took over the lease while we were writing: our backup is not done."""


@dataclass(frozen=True)
class Claim:
    """One claimant's record in the bucket."""

    token: str
    owner: str
    backup_id: str
    acquired: datetime.datetime
    expires: datetime.datetime
    held: bool = False

    def live(self, now: datetime.datetime) -> bool:
        """True until the claim expires."""
        return now < self.expires

    def to_json(self) -> bytes:
        """The claim as stored."""
        data = {
            "owner": self.owner,
            "backup-id": self.backup_id,
            "acquired": self.acquired.isoformat(timespec="microseconds"),
            "expires": self.expires.isoformat(timespec="seconds"),
            "held": self.held,
        }
        return json.dumps(data, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, token: str, data: bytes) -> Claim | None:
        """A stored claim; None when it cannot be read (then nobody can rely on it)."""
        try:
            raw = json.loads(data)
            acquired = datetime.datetime.fromisoformat(raw["acquired"])
            expires = datetime.datetime.fromisoformat(raw["expires"])
            if acquired.tzinfo is None or expires.tzinfo is None:
                return None
            return cls(
                token, str(raw["owner"]), str(raw["backup-id"]), acquired, expires, raw["held"]
            )
        except (ValueError, KeyError, TypeError):
            return None

    def __str__(self) -> str:
        until = self.expires.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{self.owner} (backup {self.backup_id}) until {until}"


class Lease:
    """Our claim on one backup location, for one backup."""

    def __init__(self, store: Store, owner: str, backup_id: str, clock: Clock = utc_now):
        self.store = store
        self.owner = owner
        self.backup_id = backup_id
        self.clock = clock
        self.token = f"{clock():%Y%m%d-%H%M%S}-{secrets.token_hex(8)}"
        self._acquired = clock()
        self._renewed: datetime.datetime | None = None

    @property
    def prefix(self) -> str:
        """Where every writer's claims are."""
        return self.store.root + DIRECTORY

    def claims(self) -> tuple[list[Claim], list[str]]:
        """Every claim but ours, and the tokens of claim objects that cannot be read."""
        from dsplib.s3 import S3NotFound

        found, unreadable = [], []
        for obj in self.store.client.list_objects(self.store.bucket, self.prefix):
            token = obj.key[len(self.prefix) :].removesuffix(".json")
            if token == self.token:
                continue
            try:
                data = self.store.client.get_object(self.store.bucket, obj.key)
            except S3NotFound:  # released since the listing
                continue
            claim = Claim.from_json(token, data)
            if claim is None:
                unreadable.append(token)
            else:
                found.append(claim)
        return found, unreadable

    def live_others(self) -> list[Claim]:
        """Claims of other writers that have not expired, the oldest first."""
        now = self.clock()
        claims, _ = self.claims()
        return sorted(
            (c for c in claims if c.live(now) and c.owner != self.owner),
            key=lambda c: c.acquired,
        )

    def acquire(self) -> list[Claim]:
        """Take the lease, or LeaseHeld naming who holds it; the expired claims taken over."""
        now = self.clock()
        claims, unreadable = self.claims()
        for claim in claims:
            if claim.live(now) and claim.owner != self.owner:
                raise _held(claim)
        for token in [c.token for c in claims] + unreadable:
            self._delete(token)
        self._write(held=False)
        rivals = self.live_others()
        if rivals:
            self.release()
            raise _held(rivals[0])
        self._write(held=True)
        return claims

    def keep(self) -> None:
        """Renew the lease when RENEW_SECONDS have passed since the last renewal."""
        if self._renewed and (self.clock() - self._renewed).total_seconds() < RENEW_SECONDS:
            return
        self.check()

    def check(self) -> None:
        """Renew the lease now; LeaseLost when another writer has taken it over."""
        from dsplib.s3 import S3NotFound

        try:
            self.store.client.get_object(self.store.bucket, self._key(self.token))
        except S3NotFound:
            raise self._lost(self.live_others()) from None
        self._write(held=True)
        newer = [c for c in self.live_others() if c.held and c.acquired > self._acquired]
        if newer:
            self.release()
            raise self._lost(newer)

    def release(self) -> None:
        """Delete our claim (a claim already taken over is not touched)."""
        self._delete(self.token)

    def _write(self, *, held: bool) -> None:
        now = self.clock()
        claim = Claim(
            self.token,
            self.owner,
            self.backup_id,
            self._acquired,
            now + datetime.timedelta(seconds=TTL_SECONDS),
            held,
        )
        self.store.client.put_object(
            self.store.bucket, self._key(self.token), claim.to_json(), "application/json"
        )
        self._renewed = now

    def _delete(self, token: str) -> None:
        self.store.client.delete_object(self.store.bucket, self._key(token))

    def _key(self, token: str) -> str:
        return f"{self.prefix}{token}.json"

    def _lost(self, others: list[Claim]) -> LeaseLost:
        who = f"{others[0]}" if others else "another writer"
        return LeaseLost(
            f"lost the backup lease to {who}: backup {self.backup_id} was not completed. "
            f"It ran more than {TTL_SECONDS} s without renewing its lease, or another "
            "deployment writes to the same bucket and path"
        )


def _held(claim: Claim) -> LeaseHeld:
    return LeaseHeld(
        f"another create-backup is writing to this bucket and path: {claim} holds the lease; "
        "run create-backup again once it has finished or its lease has expired"
    )


def live_backup_ids(store: Store, clock: Clock = utc_now) -> dict[str, Claim]:
    """Backups being written now, by id: their prefixes must not be touched."""
    claims, _ = Lease(store, owner="", backup_id="", clock=clock).claims()
    now = clock()
    return {c.backup_id: c for c in claims if c.live(now)}
