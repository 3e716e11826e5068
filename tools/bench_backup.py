"""Scale benchmark of kubeflow-backup against a real Ceph RADOS Gateway (tests/ceph).

A fake Kubernetes cluster (dsplib.testing.FakeKubernetes) holds N users' objects (1-20 KB,
Secrets among them) across P profiles; the charm's own job functions (src/jobs.py) back them
up to a real RGW started for the run, list, verify and restore them. For each action it prints:
seconds, ms per object, the ratio to the S3 client's bare PUT (or GET) loop over the same
bodies at the same number of parallel transfers (bare loop and action alternate, and the best
of `--repeat` runs of each is kept, so that the machine's load weighs on both), the action's
peak memory (tracemalloc, in a second run of its own: tracing slows Python down), S3
requests, and log records per object (as Juju would receive them: each one a `juju-log`
process) with action-log lines (each an `action-log` process). list-backups is timed over L
backups of N objects each.

Usage (a benchmark, not a test: its figures depend on the machine and its load):

    ./dev tox -e bench-backup -- --objects 1000 --objects 10000 --transfers 1,2,4,8 --repeat 2
    ./dev tox -e bench-backup -- --objects 10000 --transfers 4 --repeat 0   # memory alone

To measure another version of the charm and of dsplib with the same script, put their sources
first on PYTHONPATH (`<tree>/lib/src:<tree>/charms/kubeflow-backup/src`); a version without
parallel transfers runs with 1 only.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import inspect
import logging
import os
import random
import secrets
import string
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# after PYTHONPATH, so that another version's sources given there come first
sys.path += [str(ROOT / "tests" / "ceph"), str(ROOT / "charms" / "kubeflow-backup" / "src")]

import backup  # noqa: E402
import cluster as k8s  # noqa: E402
import dsplib  # noqa: E402
import jobs  # noqa: E402
from ceph_rgw import CephRGW  # noqa: E402
from dsplib.kubernetes import KubernetesObjects  # noqa: E402
from dsplib.s3 import S3Client  # noqa: E402
from dsplib.testing import FakeKubernetes, custom_resource_definition  # noqa: E402

KEY = b"k" * 32
MB = 1024 * 1024
CRDS = [
    custom_resource_definition("kubeflow.org", "Profile", namespaced=False),
    custom_resource_definition("kubeflow.org", "Notebook", ["v1"]),
    custom_resource_definition("kubeflow.org", "PodDefault", ["v1alpha1"]),
]
# (share of the objects, apiVersion, kind)
KINDS = [
    (0.40, "v1", "ConfigMap"),
    (0.20, "v1", "Secret"),
    (0.10, "kubeflow.org/v1", "Notebook"),
    (0.10, "v1", "PersistentVolumeClaim"),
    (0.10, "kubeflow.org/v1alpha1", "PodDefault"),
    (0.10, "v1", "ServiceAccount"),
]


def cpu_model() -> str:
    """The CPU's name, for the table's header."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"  # pragma: no cover - every Linux has /proc/cpuinfo


def payload(rng: random.Random) -> str:
    """Text of 1-20 KB, most objects small (a Pareto tail, as users' objects are)."""
    size = min(20 * 1024, int(1024 * rng.paretovariate(1.5)))
    return "".join(rng.choices(string.ascii_letters, k=size))


def user_object(rng: random.Random, api_version: str, kind: str, ns: str, n: int) -> dict:
    """One object a user made, with generated metadata the backup strips."""
    meta: dict[str, Any] = {"name": f"{kind.lower()}-{n}", "namespace": ns}
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    body = payload(rng)
    if kind in ("ConfigMap", "Secret"):
        obj["data"] = {"value": body}
    elif kind == "ServiceAccount":
        meta["annotations"] = {"note": body}
    else:
        obj["spec"] = {"note": body}
    return obj


def cluster_with(objects: int, profiles: int, seed: int = 7) -> FakeKubernetes:
    """A fake cluster with `profiles` profiles and about `objects` objects to back up."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    fake = FakeKubernetes()
    fake.add(*CRDS)
    per_profile = max(1, (objects - profiles) // profiles)
    for p in range(profiles):
        ns = f"user-{p:03d}"
        fake.add(
            {
                "apiVersion": "kubeflow.org/v1",
                "kind": "Profile",
                "metadata": {"name": ns},
                "spec": {"owner": {"kind": "User", "name": f"{ns}@example.com"}},
            },
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        )
        for n in range(per_profile):
            _, api_version, kind = rng.choices(KINDS, weights=[k[0] for k in KINDS])[0]
            fake.add(user_object(rng, api_version, kind, ns, n))
    return fake


class Forgetful(FakeKubernetes):
    """A fake that forgets what is created in a namespace, and the calls made to it.

    The fake's records of restored objects are the fake's memory, not the charm's: a traced
    restore into a FakeKubernetes would count every restored object (and every call) as the
    charm's. Profiles and Namespaces are kept: restore waits for the namespaces to appear.
    """

    def create(self, obj: Any, name: str | None = None, **kwargs: Any) -> Any:
        """Create, then forget it unless it is a Profile or a Namespace."""
        created = super().create(obj, name, **kwargs)
        meta = obj.metadata
        key = self._key(type(obj), meta.name, kwargs.get("namespace") or meta.namespace)
        if key[1] not in ("Namespace", "Profile"):
            del self.objects[key]
        self.calls.clear()
        return created


def empty_cluster(forgetful: bool = False) -> FakeKubernetes:
    """A cluster to restore into, whose profile controller makes each Profile's namespace."""
    fake = Forgetful() if forgetful else FakeKubernetes()
    fake.add(*CRDS)

    def make_namespace(cluster: FakeKubernetes, profile: dict) -> None:
        name = profile["metadata"]["name"]
        cluster.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    fake.react("Profile", make_namespace)
    return fake


def engine(fake: FakeKubernetes) -> k8s.Cluster:
    """The charm's view of a fake cluster."""
    objects = KubernetesObjects("kubeflow-backup", "kubeflow", client=fake)  # type: ignore[arg-type]
    return k8s.Cluster(objects)


class Counter(logging.Handler):
    """Counts the log records that reach the root logger (what ops hands to juju-log)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Count one record."""
        self.records += 1


@dataclass
class Row:
    """One line of the table."""

    action: str
    transfers: int
    objects: int
    seconds: float
    bare: float = 0.0
    peak_mb: float | None = None
    requests: int = 0
    log_records: int = 0
    progress_lines: int = 0

    def cells(self) -> list[str]:
        """The row as the table prints it."""
        per_object = self.seconds * 1000 / self.objects if self.objects else 0.0
        ratio = f"{self.seconds / self.bare:.2f}" if self.bare else "-"
        peak = "-" if self.peak_mb is None else f"{self.peak_mb:.1f}"
        logs = self.log_records / self.objects if self.objects else 0.0
        return [
            self.action,
            str(self.objects),
            str(self.transfers),
            f"{self.seconds:.2f}",
            f"{per_object:.2f}",
            ratio,
            peak,
            str(self.requests),
            f"{logs:.4f}",
            str(self.progress_lines),
        ]


HEADER = [
    "action",
    "objects",
    "transfers",
    "s",
    "ms/object",
    "x bare loop",
    "peak MB",
    "S3 requests",
    "log records/object",
    "action-log lines",
]


class Bench:
    """The gateway, one bucket per run, and the measurements."""

    def __init__(self, rgw: CephRGW):
        self.rgw = rgw
        self.cipher = backup.Cipher(KEY)
        self.requests = 0
        self.lines = 0
        self._lock = threading.Lock()
        self.counter = Counter()
        logging.getLogger().addHandler(self.counter)
        logging.getLogger().setLevel(logging.DEBUG)  # as ops sets it under Juju

    def client(self) -> S3Client:
        """A client whose requests are counted."""
        client = S3Client(self.rgw.endpoint, self.rgw.user.access_key, self.rgw.user.secret_key)
        real = client._sign  # every request is signed once, streamed ones too

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.requests += 1
            return real(*args, **kwargs)

        client._sign = counted  # type: ignore[method-assign]
        return client

    def store(self, client: S3Client, bucket: str, transfers: int) -> backup.Store:
        """The charm's store in the bucket, `transfers` at a time."""
        store = backup.Store(client, bucket, "bench", self.cipher.signer())
        store.transfers = transfers  # ignored by a version without parallel transfers
        return store

    def measure(
        self, action: str, objects: int, transfers: int, run: Callable[[], Any], memory: bool
    ) -> tuple[Row, Any]:
        """Run once and time it; with `memory`, trace allocations and record the peak only."""
        self.requests, self.counter.records, self.lines = 0, 0, 0
        if memory:
            tracemalloc.start()
            start, _ = tracemalloc.get_traced_memory()
        began = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - began
        row = Row(action, transfers, objects, seconds)
        if memory:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            row.peak_mb = (peak - start) / MB
        row.requests, row.log_records, row.progress_lines = (
            self.requests,
            self.counter.records,
            self.lines,
        )
        return row, result

    def progress(self, _: str) -> None:
        """The action's log (event.log under Juju: one action-log process a line)."""
        self.lines += 1


def bare_loop(
    client: S3Client, bucket: str, bodies: list[tuple[str, bytes]], workers: int, method: str
) -> float:
    """PUT (or GET) every body with the client alone: the floor of any backup; seconds."""

    def put(item: tuple[str, bytes]) -> None:
        client.put_object(bucket, item[0], item[1])

    def get(item: tuple[str, bytes]) -> None:
        client.get_object(bucket, item[0])

    def timed(fn: Callable[[tuple[str, bytes]], None]) -> float:
        began = time.perf_counter()
        if workers == 1:
            for item in bodies:
                fn(item)
        else:
            with ThreadPoolExecutor(workers) as pool:
                for _ in pool.map(fn, bodies):
                    pass
        return time.perf_counter() - began

    return timed(put if method == "PUT" else get)


def bodies_of(fake: FakeKubernetes, cipher: backup.Cipher) -> list[tuple[str, bytes]]:
    """What create-backup uploads, encoded the same way: keys and bytes."""
    import json

    out = []
    for obj in fake.objects.values():
        if obj["kind"] in ("CustomResourceDefinition", "Namespace"):
            continue
        encrypted = obj["kind"] == "Secret"
        key = "bare/" + backup.object_key(obj, encrypted)
        data = json.dumps(k8s.strip(obj), indent=1, sort_keys=True).encode()
        out.append((key, cipher.encrypt(data, key) if encrypted else data))
    return out


def run_size(
    bench: Bench,
    objects: int,
    profiles: int,
    transfer_counts: list[int],
    listing: int,
    repeat: int = 1,
    trace: bool = True,
) -> list[Row]:
    """Every action at one size; returns the table's rows."""
    rows: list[Row] = []
    fake = cluster_with(objects, profiles)
    source = engine(fake)
    bodies = bodies_of(fake, bench.cipher)
    # The test double's heap (every object of the fake cluster, a few million Python objects)
    # is no charm's: frozen, the collector stops rescanning it on each full collection, which
    # the action's allocations trigger more often than the bare loop's.
    gc.collect()
    gc.freeze()
    count = len(bodies)
    bucket = f"bench-{secrets.token_hex(4)}"
    with bench.client() as client:
        client.create_bucket(bucket)
        for transfers in transfer_counts:
            best: dict[str, Row] = {}
            bare: dict[str, float] = {}
            # the bare loop and the actions alternate, best of `repeat`: load drifts
            for _ in range(repeat):
                for action, (seconds, row) in interleaved(
                    bench, client, bucket, bodies, source, transfers
                ).items():
                    bare[action] = min(bare.get(action, seconds), seconds)
                    if action not in best or row.seconds < best[action].seconds:
                        best[action] = row
            for action, done in best.items():
                done.bare = bare[action]
                rows.append(done)
                print(f"  {done.cells()}", flush=True)
        del bodies
        if not trace:
            gc.unfreeze()
            return rows
        # peak memory, traced in runs of their own
        transfers = TRACED_TRANSFERS if TRACED_TRANSFERS in transfer_counts else 1
        store = bench.store(client, bucket, transfers)
        row, result = bench.measure(
            "create-backup", count, transfers, create(bench, store, source), memory=True
        )
        backup_id = result.manifest.id
        traced = [
            row,
            bench.measure(
                "verify-backup", count, transfers, verify(bench, store, source, backup_id), True
            )[0],
            bench.measure(
                "restore",
                count,
                transfers,
                restore(bench, store, engine(empty_cluster(forgetful=True)), backup_id),
                True,
            )[0],
        ]
        for done in traced:
            rows.append(done)
            print(f"  {done.cells()}", flush=True)
        jobs.delete_backup(store, source, backup_id)
        if listing:
            rows.extend(list_backups(bench, client, bucket, count, listing))
    gc.unfreeze()
    return rows


def interleaved(
    bench: Bench,
    client: S3Client,
    bucket: str,
    bodies: list[tuple[str, bytes]],
    source: k8s.Cluster,
    transfers: int,
) -> dict[str, tuple[float, Row]]:
    """Bare PUT loop, create-backup, bare GET loop, verify-backup, restore, back to back.

    Each action with the bare loop it is compared with, measured right before it.
    """
    count = len(bodies)
    put_seconds = bare_loop(client, bucket, bodies, transfers, "PUT")
    store = bench.store(client, bucket, transfers)
    created, result = bench.measure(
        "create-backup", count, transfers, create(bench, store, source), memory=False
    )
    backup_id = result.manifest.id
    get_seconds = bare_loop(client, bucket, bodies, transfers, "GET")
    client.delete_objects(bucket, [k for k, _ in bodies])
    verified, _ = bench.measure(
        "verify-backup", count, transfers, verify(bench, store, source, backup_id), False
    )
    target = engine(empty_cluster())
    restored, _ = bench.measure(
        "restore", count, transfers, restore(bench, store, target, backup_id), False
    )
    jobs.delete_backup(store, source, backup_id)
    return {
        "create-backup": (put_seconds, created),
        "verify-backup": (get_seconds, verified),
        "restore": (get_seconds, restored),
    }


# Transfers of the traced runs (peak memory) and of list-backups: at most 2 x this many
# objects are in flight, so memory hardly depends on it.
TRACED_TRANSFERS = 4


def create(bench: Bench, store: backup.Store, source: k8s.Cluster) -> Callable[[], Any]:
    """create-backup of every profile, Secrets included."""
    request = jobs.BackupRequest(include_secrets=True, owner=f"bench {secrets.token_hex(4)}")
    cipher = backup.Cipher(KEY)

    def run() -> Any:
        now = datetime.datetime.now(datetime.timezone.utc)
        return jobs.create_backup(store, source, request, cipher, bench.progress, now)

    return run


def verify(
    bench: Bench, store: backup.Store, source: k8s.Cluster, backup_id: str
) -> Callable[[], Any]:
    """verify-backup, which must find the backup intact."""

    def run() -> Any:
        _, check, _ = jobs.verify_backup(store, source, backup_id, bench.progress)
        assert check.ok, check.problems()

    return run


def restore(
    bench: Bench, store: backup.Store, target: k8s.Cluster, backup_id: str
) -> Callable[[], Any]:
    """Restore of the whole backup into an empty cluster, which must not fail."""

    def run() -> Any:
        options = k8s.RestoreOptions()
        report = jobs.restore_backup(
            store, target, backup_id, (), options, backup.Cipher(KEY), bench.progress
        )
        assert report.failed == 0, report.failures[:3]

    return run


def list_backups(
    bench: Bench, client: S3Client, bucket: str, objects: int, count: int
) -> Iterator[Row]:
    """list-backups over `count` backups of `objects` objects each, `transfers` at a time.

    Only their manifests (and summaries) are written, with one placeholder object each.
    """
    parallel = "transfers" in inspect.signature(backup.Store).parameters
    transfers = TRACED_TRANSFERS if parallel else 1
    store = bench.store(client, bucket, transfers)
    for old in store.backup_ids():
        jobs.delete_backup(store, engine(FakeKubernetes()), old)
    for n in range(count):
        created = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
        manifest = backup.Manifest(
            id=f"20260101-{n:06d}-{secrets.token_hex(2)}",
            created=created.isoformat(),
            namespaces=[f"user-{p:03d}" for p in range(100)],
        )
        entries = [
            backup.Entry(
                f"objects/user-{i % 100:03d}/configmap.core/configmap-{i}.json",
                secrets.token_hex(32),
                4096,
                "v1",
                "ConfigMap",
                f"configmap-{i}",
                f"user-{i % 100:03d}",
            )
            for i in range(objects)
        ]
        store.put(manifest.id, "objects/placeholder.json", b"{}")
        for entry in entries:
            manifest.count(entry)
        store.put_manifest(manifest, (backup.entry_line(e) for e in entries))
    for memory in (False, True):
        row, rows = bench.measure(
            f"list-backups ({count} backups)", objects, transfers, store.summaries, memory
        )
        assert len(rows[0]) == count
        yield row
        print(f"  {row.cells()}", flush=True)


def listing_only(bench: Bench, objects: int, count: int) -> list[Row]:
    """The list-backups rows alone, in a bucket of their own."""
    bucket = f"bench-{secrets.token_hex(4)}"
    with bench.client() as client:
        client.create_bucket(bucket)
        return list(list_backups(bench, client, bucket, objects, count))


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [HEADER, ["---"] * len(HEADER), *(r.cells() for r in rows)]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def main() -> int:
    """Start the gateway, run each size, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--objects", type=int, action="append", help="objects (repeatable)")
    parser.add_argument("--profiles", type=int, default=100)
    parser.add_argument("--transfers", default="1,2,4,8", help="comma-separated")
    parser.add_argument("--listing", type=int, default=50, help="backups list-backups reads")
    parser.add_argument("--listing-only", action="store_true", help="list-backups alone")
    parser.add_argument(
        "--repeat", type=int, default=1, help="interleaved runs per transfer count (best kept)"
    )
    parser.add_argument("--no-trace", action="store_true", help="no peak memory runs")
    args = parser.parse_args()
    parallel = "transfers" in inspect.signature(backup.Store).parameters
    counts = [int(t) for t in args.transfers.split(",")] if parallel else [1]
    print(
        f"kubeflow-backup from {Path(str(backup.__file__)).parent}, dsplib from "
        f"{Path(str(dsplib.__file__)).parent}",
        flush=True,
    )
    rgw = CephRGW().start()
    try:
        bench = Bench(rgw)
        rows: list[Row] = []
        for objects in args.objects or [1000]:
            print(f"{objects} objects in {args.profiles} profiles", flush=True)
            if args.listing_only:
                rows.extend(listing_only(bench, objects, args.listing))
            else:
                rows.extend(
                    run_size(
                        bench,
                        *(objects, args.profiles, counts, args.listing, args.repeat),
                        trace=not args.no_trace,
                    )
                )
    finally:
        rgw.stop()
    load = os.getloadavg()
    print()
    print(
        f"{cpu_model()}, {os.cpu_count()} cores, "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
