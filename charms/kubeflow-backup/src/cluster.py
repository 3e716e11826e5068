"""The Kubernetes side of backups: what is saved, how it is cleaned, and how it comes back.

Saved: Kubeflow Profiles and, in each backed-up namespace, the objects users make on this
platform — Notebooks, PodDefaults, PersistentVolumeClaims (definitions; data through CSI
snapshots), ConfigMaps, ServiceAccounts, RoleBindings and Istio AuthorizationPolicies they
added (a contributor has one of each), Secrets when asked, SeldonDeployments,
InferenceServices, (Scheduled)SparkApplications, Katib Experiments, KFP ScheduledWorkflows
and Argo CronWorkflows. Which of these kinds the cluster serves is asked
of the API, so a platform without Seldon or Spark simply has none. Objects a controller or
charm makes (owner references, Juju labels, the profile controller's defaults) are left out:
their makers make them again.

Restore goes in dependency order: Profiles (and plain Namespaces), then waits until the
profile controller has made their namespaces, then PersistentVolumeClaims, then accounts,
configuration, roles and contributors' access policies, then the workloads. Objects that
exist are skipped unless asked to overwrite.

No ops here: the charm passes a `dsplib.kubernetes.KubernetesObjects`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from backup import BackupError, Entry, Progress, Snapshot
from dsplib.kubernetes import (
    ApiKind,
    KubernetesObjects,
    NotFoundError,
    ObjectRef,
    RejectedError,
    TransientError,
)

PROFILE = ("kubeflow.org", "Profile")
NAMESPACE = ("", "Namespace")
PVC = ("", "PersistentVolumeClaim")
SECRET = ("", "Secret")
SNAPSHOT = ("snapshot.storage.k8s.io", "VolumeSnapshot")
SNAPSHOT_CLASS = ("snapshot.storage.k8s.io", "VolumeSnapshotClass")
# Namespaced kinds saved, each with its place in restore order (lower first).
NAMESPACED_KINDS: dict[tuple[str, str], int] = {
    PVC: 1,
    ("", "ServiceAccount"): 2,
    ("", "ConfigMap"): 2,
    SECRET: 2,
    ("rbac.authorization.k8s.io", "RoleBinding"): 3,
    ("security.istio.io", "AuthorizationPolicy"): 3,  # a contributor's access, with its binding
    ("kubeflow.org", "PodDefault"): 3,
    ("kubeflow.org", "Notebook"): 4,
    ("machinelearning.seldon.io", "SeldonDeployment"): 4,
    ("serving.kserve.io", "InferenceService"): 4,
    ("sparkoperator.k8s.io", "SparkApplication"): 4,
    ("sparkoperator.k8s.io", "ScheduledSparkApplication"): 4,
    ("kubeflow.org", "Experiment"): 4,
    ("kubeflow.org", "ScheduledWorkflow"): 4,
    ("argoproj.io", "CronWorkflow"): 4,
}
# What the profile controller and Kubernetes create in every profile namespace.
GENERATED_NAMES = {
    "ConfigMap": {"kube-root-ca.crt", "istio-ca-root-cert"},
    "ServiceAccount": {"default", "default-editor", "default-viewer"},
    "RoleBinding": {"namespaceAdmin", "default-editor", "default-viewer"},
    "AuthorizationPolicy": {"ns-owner-access-istio"},
}
GENERATED_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "ownerReferences",
    "finalizers",
)
GENERATED_ANNOTATION_PREFIXES = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "pv.kubernetes.io/",
    "volume.beta.kubernetes.io/",
    "volume.kubernetes.io/",
)
CHARM_LABEL = "app.juju.is/created-by"
BACKUP_LABEL = "kubeflow-backup.juju.is/backup-id"
NAMESPACE_WAIT = 300.0  # seconds the profile controller gets to make the namespaces
WAIT_STEP = 2.0


def kind_name(key: tuple[str, str]) -> str:
    """`Kind.group` as kubectl names kinds (`Kind` for the core group)."""
    group, kind = key
    return f"{kind}.{group}" if group else kind


def group_of(api_version: str) -> str:
    """The API group of an apiVersion (empty for the core group)."""
    return api_version.rpartition("/")[0]


def ref_of(obj: Mapping[str, Any]) -> ObjectRef:
    """The reference of a manifest dict."""
    return ObjectRef.of(obj)


# -- what is saved --------------------------------------------------------------------------


def is_saved(obj: Mapping[str, Any]) -> bool:
    """Whether an object is the user's (to save) rather than something a controller makes."""
    meta = obj.get("metadata") or {}
    if meta.get("ownerReferences"):
        return False
    if CHARM_LABEL in (meta.get("labels") or {}):
        return False
    if meta.get("name") in GENERATED_NAMES.get(obj.get("kind", ""), ()):
        return False
    return not (obj.get("kind") == "Secret" and "service-account-token" in str(obj.get("type")))


def strip(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without what the cluster fills in: identity, status, bindings, history."""
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.setdefault("metadata", {})
    for key in GENERATED_METADATA:
        meta.pop(key, None)
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if not k.startswith(GENERATED_ANNOTATION_PREFIXES)
    }
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    if not meta.get("labels"):
        meta.pop("labels", None)
    kind = out.get("kind")
    if kind == "PersistentVolumeClaim":
        spec = out.get("spec") or {}
        for key in ("volumeName", "dataSource", "dataSourceRef"):
            spec.pop(key, None)
    elif kind == "ServiceAccount":
        out.pop("secrets", None)  # token Secrets, made again by Kubernetes
    elif kind == "Namespace":
        out.pop("spec", None)
    return out


def snapshot_manifest(
    api_version: str, namespace: str, pvc: str, backup_id: str, snapshot_class: str, app: str
) -> dict[str, Any]:
    """The VolumeSnapshot of one PVC for one backup, labelled so the backup can find it."""
    return {
        "apiVersion": api_version,
        "kind": "VolumeSnapshot",
        "metadata": {
            "name": f"{pvc[:200]}-{backup_id}",
            "namespace": namespace,
            "labels": {BACKUP_LABEL: backup_id, "app.kubernetes.io/managed-by": app},
        },
        "spec": {
            "volumeSnapshotClassName": snapshot_class,
            "source": {"persistentVolumeClaimName": pvc},
        },
    }


def with_snapshot_source(pvc: Mapping[str, Any], snapshot: str) -> dict[str, Any]:
    """The PVC provisioned from a VolumeSnapshot in its namespace."""
    out = copy.deepcopy(dict(pvc))
    out.setdefault("spec", {})["dataSource"] = {
        "apiGroup": SNAPSHOT[0],
        "kind": "VolumeSnapshot",
        "name": snapshot,
    }
    return out


@dataclass
class Collection:
    """What a backup found in the cluster."""

    namespaces: list[str]
    objects: list[dict[str, Any]] = field(default_factory=list)
    bound_pvcs: list[tuple[str, str]] = field(default_factory=list)  # (namespace, name)
    skipped_kinds: list[str] = field(default_factory=list)


# -- restore --------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    """Counts of a restore (or of what a dry run would do) and what went wrong."""

    dry_run: bool = False
    created: int = 0
    overwritten: int = 0
    skipped: int = 0
    failed: int = 0
    from_snapshot: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, what: str, reason: str) -> None:
        """Count one failed object and remember why."""
        self.failed += 1
        self.failures.append(f"{what}: {reason}")


@dataclass(frozen=True)
class RestoreOptions:
    """How to restore."""

    overwrite: bool = False
    dry_run: bool = False
    snapshots: tuple[Snapshot, ...] = ()


def restore_rank(entry: Entry) -> int:
    """An object's place in restore order (lower first).

    0 for Profiles and Namespaces, which come first and whose namespaces are waited for, then
    NAMESPACED_KINDS' order (9 for other kinds).
    """
    if entry.kind in ("Profile", "Namespace"):
        return 0
    return NAMESPACED_KINDS.get((group_of(entry.api_version), entry.kind), 9)


class RestorePlan(Protocol):
    """The objects of a restore, handed over in restore order without being held in memory."""

    def counts(self) -> tuple[int, int]:
        """Profiles and Namespaces, and the other objects."""
        ...

    def namespaces(self) -> list[str]:
        """The namespaces of the namespaced objects, sorted."""
        ...

    def ordered(self) -> Iterable[Entry]:
        """Every entry, by restore_rank, then in the order they were given."""
        ...


class ListPlan:
    """A RestorePlan of entries held in a list (objects given in memory)."""

    def __init__(self, entries: Iterable[Entry]):
        self.entries = sorted(entries, key=restore_rank)  # stable: the given order within a rank

    def counts(self) -> tuple[int, int]:
        """Profiles and Namespaces, and the other objects."""
        first = sum(1 for e in self.entries if restore_rank(e) == 0)
        return first, len(self.entries) - first

    def namespaces(self) -> list[str]:
        """The namespaces of the namespaced objects, sorted."""
        return sorted({str(e.namespace) for e in self.entries if restore_rank(e) > 0})

    def ordered(self) -> Iterable[Entry]:
        """Every entry in restore order."""
        return self.entries


class Cluster:
    """Reads and writes the objects of backups through the charm's Kubernetes client."""

    def __init__(
        self,
        objects: KubernetesObjects,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.objects = objects
        self._sleep = sleep
        self._clock = clock
        self._kinds: dict[tuple[str, str], ApiKind] | None = None

    # -- discovery ---------------------------------------------------------------------------

    def kinds(self) -> dict[tuple[str, str], ApiKind]:
        """Every kind backups deal with that the cluster serves (asked once)."""
        if self._kinds is None:
            wanted = [PROFILE, NAMESPACE, *NAMESPACED_KINDS, SNAPSHOT, SNAPSHOT_CLASS]
            self._kinds = self.objects.discover(wanted)
        return self._kinds

    def profile_namespaces(self) -> list[str]:
        """Namespaces of every Kubeflow profile (a profile's namespace has its name)."""
        profile = self.kinds().get(PROFILE)
        if profile is None:
            return []
        return sorted(p["metadata"]["name"] for p in self._list(profile))

    def require_namespaces(self, namespaces: Iterable[str]) -> None:
        """BackupError naming the first namespace that does not exist."""
        for name in namespaces:
            if self.objects.read(ObjectRef("v1", "Namespace", name)) is None:
                raise BackupError(f"namespace {name} does not exist")

    def require_snapshot_class(self, name: str) -> None:
        """BackupError unless CSI snapshots can be taken with the class `name`."""
        if SNAPSHOT not in self.kinds() or SNAPSHOT_CLASS not in self.kinds():
            raise BackupError(
                "the cluster has no VolumeSnapshot API: install the CSI snapshot controller "
                "or run without volume-snapshots"
            )
        api = self.kinds()[SNAPSHOT_CLASS]
        if self.objects.read(ObjectRef(api.api_version, api.kind, name)) is None:
            raise BackupError(f"config volume-snapshot-class: no VolumeSnapshotClass '{name}'")

    # -- backup ------------------------------------------------------------------------------

    def collect(
        self, namespaces: list[str], include_secrets: bool, progress: Progress
    ) -> Collection:
        """Every saved object of the namespaces (and their Profiles), stripped, in a list."""
        found = Collection(namespaces=namespaces)
        found.objects = list(self.stream(found, include_secrets, progress))
        return found

    def stream(
        self, found: Collection, include_secrets: bool, progress: Progress, every: int = 10
    ) -> Iterator[dict[str, Any]]:
        """The saved objects of `found.namespaces` (and their Profiles), stripped, one by one.

        One kind of one namespace is held at once. Fills in `found`'s bound PVCs and skipped
        kinds as it goes; a progress line every `every` namespaces and at the end.
        """
        kinds = self.kinds()
        wanted = [k for k in NAMESPACED_KINDS if include_secrets or k != SECRET]
        found.skipped_kinds = [kind_name(k) for k in [PROFILE, *wanted] if k not in kinds]
        profiles = []
        if PROFILE in kinds:
            profiles = [
                strip(p)
                for p in self._list(kinds[PROFILE])
                if p["metadata"]["name"] in found.namespaces
            ]
        yield from profiles
        count = len(profiles)
        with_profile = {p["metadata"]["name"] for p in profiles}
        for n, name in enumerate(found.namespaces, 1):
            for obj in self._in_namespace(name, name in with_profile, wanted, found):
                count += 1
                yield obj
            if n % every == 0 or n == len(found.namespaces):
                progress(f"read namespace {name}: {count} objects so far")

    def _in_namespace(
        self, name: str, has_profile: bool, wanted: list[tuple[str, str]], found: Collection
    ) -> Iterator[dict[str, Any]]:
        kinds = self.kinds()
        if not has_profile:  # a plain namespace: keep its labels and annotations
            namespace = self.objects.read(ObjectRef("v1", "Namespace", name))
            if namespace is not None:
                yield strip(namespace)
        for key in wanted:
            if key in kinds:
                yield from self._saved_of_kind(kinds[key], name, found)

    def _saved_of_kind(
        self, api: ApiKind, namespace: str, found: Collection
    ) -> Iterator[dict[str, Any]]:
        for obj in self._list(api, namespace):
            if not is_saved(obj):
                continue
            if (
                api.kind == "PersistentVolumeClaim"
                and (obj.get("status") or {}).get("phase") == "Bound"
            ):
                found.bound_pvcs.append((namespace, obj["metadata"]["name"]))
            yield strip(obj)

    def take_snapshots(
        self, backup_id: str, pvcs: list[tuple[str, str]], snapshot_class: str, app: str
    ) -> list[Snapshot]:
        """A CSI VolumeSnapshot of each PVC, labelled with the backup id."""
        api = self.kinds()[SNAPSHOT]
        taken = []
        for namespace, pvc in pvcs:
            manifest = snapshot_manifest(
                api.api_version, namespace, pvc, backup_id, snapshot_class, app
            )
            self.objects.create(manifest)
            taken.append(Snapshot(namespace, manifest["metadata"]["name"], pvc))
        return taken

    def delete_snapshots(self, backup_id: str) -> int:
        """Delete the VolumeSnapshots of a backup; how many there were."""
        api = self.kinds().get(SNAPSHOT)
        if api is None:
            return 0
        snapshots = self.objects.read_all(
            api.api_version, api.kind, namespace="*", labels={BACKUP_LABEL: backup_id}
        )
        for snapshot in snapshots:
            meta = snapshot["metadata"]
            ref = ObjectRef(api.api_version, api.kind, meta["name"], meta.get("namespace"))
            self.objects.delete(ref)
        return len(snapshots)

    def snapshot_ready(self, snapshot: Snapshot) -> bool | None:
        """True when the snapshot can restore a volume, False when not yet, None when gone."""
        api = self.kinds().get(SNAPSHOT)
        if api is None:
            return None
        found = self.objects.read(
            ObjectRef(api.api_version, api.kind, snapshot.name, snapshot.namespace)
        )
        if found is None:
            return None
        return bool((found.get("status") or {}).get("readyToUse"))

    # -- restore -----------------------------------------------------------------------------

    def restore(
        self, objects: list[dict[str, Any]], options: RestoreOptions, progress: Progress
    ) -> RestoreReport:
        """Put the objects back in dependency order; see the module docstring."""
        entries = [
            Entry(
                key=str(n),
                sha256="",
                size=0,
                api_version=o["apiVersion"],
                kind=o["kind"],
                name=o["metadata"]["name"],
                namespace=o["metadata"].get("namespace"),
            )
            for n, o in enumerate(objects)
        ]
        plan = ListPlan(entries)
        return self.restore_entries(plan, lambda e: objects[int(e.key)], options, progress)

    def restore_entries(
        self,
        plan: RestorePlan,
        load: Callable[[Entry], dict[str, Any]],
        options: RestoreOptions,
        progress: Progress,
        every: int = 1000,
    ) -> RestoreReport:
        """Put back the objects the plan lists, each loaded only when its turn comes.

        The entries alone decide the dependency order (see the module docstring); the plan
        hands them over in that order (restore_rank), one at a time.
        """
        report = RestoreReport(dry_run=options.dry_run)
        served = self.kinds()
        first, rest = plan.counts()
        progress(f"restoring {first} profiles and namespaces")
        snapshots = {(s.namespace, s.pvc): s for s in options.snapshots}
        done = "checked" if options.dry_run else "restored"
        missing: set[str] | None = None
        n = 0
        for entry in plan.ordered():
            if restore_rank(entry) == 0:
                self._put(load(entry), served, options, report)
                continue
            if missing is None:
                missing = self._missing_namespaces(plan, options, progress)
            n += 1
            if entry.namespace in missing:
                report.fail(str(entry), f"namespace {entry.namespace} did not appear")
            elif entry.kind == "PersistentVolumeClaim":
                self._put_volume(load(entry), snapshots, served, options, report)
            else:
                self._put(load(entry), served, options, report)
            if n % every == 0 or n == rest:
                progress(f"{done} {n}/{rest} namespaced objects")
        if missing is None:
            self._missing_namespaces(plan, options, progress)
        return report

    def _missing_namespaces(
        self, plan: RestorePlan, options: RestoreOptions, progress: Progress
    ) -> set[str]:
        if options.dry_run:
            return set()
        return self._wait_for_namespaces(plan.namespaces(), progress)

    def _put(
        self,
        obj: dict[str, Any],
        served: Mapping[tuple[str, str], ApiKind],
        options: RestoreOptions,
        report: RestoreReport,
    ) -> None:
        what = str(ref_of(obj))
        if (group_of(obj["apiVersion"]), obj["kind"]) not in served:
            report.fail(what, f"the cluster does not serve {obj['apiVersion']} {obj['kind']}")
            return
        try:
            if options.dry_run:
                exists = self.objects.read(ref_of(obj)) is not None
                self._count(report, exists, options.overwrite)
            elif self.objects.create(obj):
                report.created += 1
            elif options.overwrite:
                self.objects.overwrite(obj)
                report.overwritten += 1
            else:
                report.skipped += 1
        except (RejectedError, NotFoundError, TransientError) as err:
            report.fail(what, str(err))

    @staticmethod
    def _count(report: RestoreReport, exists: bool, overwrite: bool) -> None:
        if not exists:
            report.created += 1
        elif overwrite:
            report.overwritten += 1
        else:
            report.skipped += 1

    def _put_volume(
        self,
        pvc: dict[str, Any],
        snapshots: Mapping[tuple[str, str], Snapshot],
        served: Mapping[tuple[str, str], ApiKind],
        options: RestoreOptions,
        report: RestoreReport,
    ) -> None:
        """A PVC that is created again comes from its backup snapshot while that exists."""
        meta = pvc["metadata"]
        snapshot = snapshots.get((meta["namespace"], meta["name"]))
        source = pvc
        if snapshot is not None and self.snapshot_ready(snapshot) is not None:
            source = with_snapshot_source(pvc, snapshot.name)
        created = report.created
        self._put(source, served, options, report)
        if report.created == created or snapshot is None:
            return
        if source is not pvc:
            report.from_snapshot += 1
        else:
            report.notes.append(
                f"PersistentVolumeClaim {meta['namespace']}/{meta['name']}: snapshot "
                f"{snapshot.name} is gone, the volume starts empty"
            )

    def _wait_for_namespaces(self, namespaces: list[str], progress: Progress) -> set[str]:
        """Wait until the namespaces exist; the ones that never appeared."""
        missing = set(namespaces)
        deadline = self._clock() + NAMESPACE_WAIT
        while True:
            missing = {n for n in missing if self._namespace_absent(n)}
            if not missing or self._clock() >= deadline:
                return missing
            progress(f"waiting for namespaces: {', '.join(sorted(missing))}")
            self._sleep(WAIT_STEP)

    def _namespace_absent(self, name: str) -> bool:
        try:
            return self.objects.read(ObjectRef("v1", "Namespace", name)) is None
        except TransientError:
            return True

    def _list(self, api: ApiKind, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.objects.read_all(api.api_version, api.kind, namespace=namespace)
