"""The writers' lease, against the real RGW: refusal, takeover, loss, and a real race."""

import datetime
import json
import re
import threading

import pytest

import backup
import lease
from dsplib.s3 import S3Client
from pytest_ceph_rgw import RGWEndpoint

T0 = datetime.datetime(2026, 1, 15, 10, 30, 0, tzinfo=datetime.timezone.utc)
A = "kubeflow-backup/0 in model kubeflow (aaaaaaaa)"
B = "kubeflow-backup/0 in model staging (bbbbbbbb)"


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime.datetime = T0):
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


def client(rgw: RGWEndpoint) -> S3Client:
    return S3Client(rgw.endpoint, rgw.access_key, rgw.secret_key)


@pytest.fixture
def store(ceph_rgw: RGWEndpoint, bucket: str):
    with client(ceph_rgw) as s3:
        s3.create_bucket(bucket)
        yield backup.Store(s3, bucket, "site")


def claims_in(store: backup.Store) -> list[dict]:
    prefix = store.root + lease.DIRECTORY
    return [
        json.loads(store.client.get_object(store.bucket, o.key))
        for o in store.client.list_objects(store.bucket, prefix)
    ]


def test_a_held_lease_refuses_a_second_writer_naming_owner_and_expiry(store):
    clock = Clock()
    first = lease.Lease(store, A, "20260115-103000-aaaa", clock)
    assert first.acquire() == []
    [claim] = claims_in(store)
    assert claim == {
        "owner": A,
        "backup-id": "20260115-103000-aaaa",
        "acquired": "2026-01-15T10:30:00.000000+00:00",
        "expires": "2026-01-15T10:40:00+00:00",
        "held": True,
    }
    clock.advance(300)
    second = lease.Lease(store, B, "20260115-103500-bbbb", clock)
    with pytest.raises(lease.LeaseHeld) as info:
        second.acquire()
    assert str(info.value) == (
        "another create-backup is writing to this bucket and path: "
        f"{A} (backup 20260115-103000-aaaa) until 2026-01-15 10:40:00 UTC holds the lease; "
        "run create-backup again once it has finished or its lease has expired"
    )
    assert len(claims_in(store)) == 1  # the refused writer wrote nothing
    first.check()  # the holder is not disturbed
    first.release()
    assert claims_in(store) == []
    second.acquire()
    assert [c["owner"] for c in claims_in(store)] == [B]


def test_an_expired_lease_is_taken_over_and_its_holder_learns_it_lost(store):
    clock = Clock()
    stalled = lease.Lease(store, A, "20260115-103000-aaaa", clock)
    stalled.acquire()
    clock.advance(lease.TTL_SECONDS + 1)
    taker = lease.Lease(store, B, "20260115-104001-bbbb", clock)
    [old] = taker.acquire()
    assert old.owner == A
    assert lease.live_backup_ids(store, clock) == {"20260115-104001-bbbb": taker_claim(store)}
    with pytest.raises(lease.LeaseLost) as info:
        stalled.keep()
    assert str(info.value).startswith(
        f"lost the backup lease to {B} (backup 20260115-104001-bbbb) until "
        "2026-01-15 10:50:01 UTC: backup 20260115-103000-aaaa was not completed."
    )
    stalled.release()  # touches only its own (gone) claim
    assert [c["owner"] for c in claims_in(store)] == [B]
    taker.check()


def taker_claim(store: backup.Store) -> lease.Claim:
    [claim] = lease.Lease(store, "", "").claims()[0]
    return claim


def test_a_holder_that_renews_over_a_takeover_still_loses(store):
    """A renewal racing a takeover: the taker's claim is newer, so the holder gives way.

    The stalled holder read its claim, then the taker deleted it, then the holder's renewal
    wrote it again.
    """
    clock = Clock()
    stalled = lease.Lease(store, A, "20260115-103000-aaaa", clock)
    stalled.acquire()
    clock.advance(lease.TTL_SECONDS + 1)
    taker = lease.Lease(store, B, "20260115-104001-bbbb", clock)
    taker.acquire()
    stalled._write(held=True)  # the renewal's PUT, landing after the takeover
    clock.advance(1)
    with pytest.raises(lease.LeaseLost, match=re.escape(f"lost the backup lease to {B}")):
        stalled.check()
    assert [c["owner"] for c in claims_in(store)] == [B]
    taker.check()  # the older re-created claim (now gone anyway) never displaces the taker


def test_renewal_happens_every_renew_seconds_and_moves_the_expiry(store, monkeypatch):
    clock = Clock()
    holder = lease.Lease(store, A, "20260115-103000-aaaa", clock)
    holder.acquire()
    writes = []
    real = store.client.put_object
    monkeypatch.setattr(store.client, "put_object", lambda *a: (writes.append(a[1]), real(*a)))
    clock.advance(lease.RENEW_SECONDS - 1)
    holder.keep()
    assert writes == []
    clock.advance(1)
    holder.keep()
    assert len(writes) == 1
    [claim] = claims_in(store)
    assert claim["expires"] == "2026-01-15T10:41:00+00:00"


def test_a_refused_candidate_does_not_unseat_the_holder(store):
    clock = Clock()
    holder = lease.Lease(store, A, "20260115-103000-aaaa", clock)
    holder.acquire()
    candidate = lease.Lease(store, B, "20260115-103001-bbbb", clock)
    candidate._write(held=False)  # got past step 1 just before the holder's claim appeared
    clock.advance(1)
    holder.check()  # a candidate is not a holder
    candidate.release()


def test_a_claim_of_this_very_unit_is_stale(store):
    """Juju runs one hook or action at a time per unit, so our own claim is from a killed run."""
    clock = Clock()
    lease.Lease(store, A, "20260115-103000-aaaa", clock).acquire()  # then the pod died
    clock.advance(5)
    again = lease.Lease(store, A, "20260115-103005-cccc", clock)
    [old] = again.acquire()
    assert old.backup_id == "20260115-103000-aaaa"
    assert [c["backup-id"] for c in claims_in(store)] == ["20260115-103005-cccc"]


def test_unreadable_claims_do_not_block_and_are_cleared(store):
    prefix = store.root + lease.DIRECTORY
    for n, data in enumerate([b"{", b"[]", b'{"owner": "x"}', json.dumps(naive_claim()).encode()]):
        store.client.put_object(store.bucket, f"{prefix}junk-{n}.json", data)
    holder = lease.Lease(store, A, "20260115-103000-aaaa", Clock())
    assert holder.acquire() == []
    assert [c["owner"] for c in claims_in(store)] == [A]


def naive_claim() -> dict:
    return {
        "owner": B,
        "backup-id": "x",
        "acquired": "2026-01-15T10:30:00",
        "expires": "2099-01-15T10:30:00",
        "held": True,
    }


def test_concurrent_writers_never_both_get_the_lease(ceph_rgw, bucket):
    """Real concurrent claimants on the real RGW: in every round at most one wins.

    Winners hold their lease until every claimant of the round has finished trying.
    """
    with client(ceph_rgw) as s3:
        s3.create_bucket(bucket)
    rounds, writers = 12, 4
    winners_per_round = []
    for r in range(rounds):
        start = threading.Barrier(writers)
        tried = threading.Barrier(writers + 1, timeout=60)
        outcome: dict[int, str] = {}

        def claim(n: int, r=r, start=start, tried=tried, outcome=outcome) -> None:
            with client(ceph_rgw) as s3:
                store = backup.Store(s3, bucket, "race")
                mine = lease.Lease(store, f"unit/{n} in model m{n} ({r})", f"id-{r}-{n}")
                start.wait()
                try:
                    mine.acquire()
                except lease.LeaseHeld:
                    outcome[n] = "refused"
                    tried.wait()
                else:
                    outcome[n] = "won"
                    tried.wait()
                    mine.release()

        threads = [threading.Thread(target=claim, args=(n,)) for n in range(writers)]
        for t in threads:
            t.start()
        tried.wait()
        for t in threads:
            t.join(60)
        winners_per_round.append(sum(o == "won" for o in outcome.values()))
        assert len(outcome) == writers
    print(
        f"lease race: {rounds} rounds of {writers} writers, winners per round {winners_per_round}"
    )
    assert max(winners_per_round) <= 1, winners_per_round
    assert sum(winners_per_round) >= 1, "nobody ever got the lease"
