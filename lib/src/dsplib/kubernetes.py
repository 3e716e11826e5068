"""Make the cluster hold exactly the objects a charm renders, and nothing it rendered before.

Charms describe their Kubernetes objects as Jinja2 templates. This module renders them,
labels every object with the owning application, applies them with server-side apply (field
manager = application name) and deletes the objects a previous render had and this one does
not. A hash of the labelled objects is kept with the inventory, so a hook where nothing
changed (update-status, a repeated config-changed) makes no API write at all.

Every object also carries the hash of its own content in an annotation. The inventory lives in
charm state, and a Kubernetes charm loses that state with its container, which Juju recreates
on every refresh (https://documentation.ubuntu.com/ops/latest/howto/manage-stored-state.html):
without an inventory, or when asked to check (upgrade-charm), the cluster itself says which of
our objects exist and whether they hold what this revision renders, so a refresh that changes
nothing writes nothing, and one that stops rendering an object prunes it.

API failures are sorted into the two kinds a charm can act on: `TrustError` (the operator has
to grant the application cluster access) and `TransientError` (conflicts, throttling, server
errors, timeouts: retry on a later event). Anything else is a bug in what we rendered and is
raised unchanged.

This module does not import ops; lightkube and jinja2 are imported when first needed so that
hooks which never touch the cluster do not pay for them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

if TYPE_CHECKING:
    from lightkube import Client

logger = logging.getLogger(__name__)

CREATED_BY_LABEL = "app.juju.is/created-by"
MODEL_LABEL = "app.juju.is/model"
# sha256 of the labelled object as rendered (this annotation left out).
DIGEST_ANNOTATION = "data-science-platform/applied-digest"

# Objects other objects depend on go first; deletion runs in the reverse order.
_APPLY_ORDER = {
    "CustomResourceDefinition": 0,
    "Namespace": 1,
    "ServiceAccount": 2,
    "ClusterRole": 2,
    "Role": 2,
    "ClusterRoleBinding": 3,
    "RoleBinding": 3,
    "ConfigMap": 4,
    "Secret": 4,
    "Service": 5,
    "EndpointSlice": 6,
    "MutatingWebhookConfiguration": 9,
    "ValidatingWebhookConfiguration": 9,
}
_DEFAULT_ORDER = 7

# Kinds searched by label for leftovers when the inventory is lost, besides those rendered now
# and those the inventory lists: a revision that stops rendering a whole kind still prunes it.
# The search needs both of our labels. Juju's own objects for an application (its
# ServiceAccount, the ClusterRole of `juju trust`) carry app.juju.is/created-by too, but name
# the model in model.juju.is/name, not app.juju.is/model, so they are never taken for ours.
SEARCHED_KINDS: tuple[tuple[str, str], ...] = (
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("v1", "ServiceAccount"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "DaemonSet"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
)

_TRANSIENT_STATUS = {409, 429, 500, 502, 503, 504}

# libyaml's loader parses rendered templates several times faster than the pure-Python one,
# and every hook renders them; both build the same safe objects.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

T = TypeVar("T")


class KubernetesError(Exception):
    """A Kubernetes API call failed in a way the charm reports in its status."""


class TrustError(KubernetesError):
    """The API refused us (403): the application lacks cluster permissions."""

    def __init__(self, app: str, detail: str):
        self.app = app
        self.detail = detail
        super().__init__(f"run: juju trust {app} --scope=cluster")


class TransientError(KubernetesError):
    """Conflict, throttling, server error, timeout or a missing API: retry on a later event."""


class NotFoundError(TransientError):
    """The object, its namespace or its API (CRD) does not exist (yet)."""


class RejectedError(KubernetesError):
    """The API refused one object as invalid (400/422): it cannot be stored as it is."""


class ManifestError(Exception):
    """A template rendered something that is not a Kubernetes object (a bug in the charm)."""


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Identity of one Kubernetes object, enough to find it again or delete it."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectRef:
        """The reference of a manifest dict."""
        meta = obj["metadata"]
        return cls(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


@dataclass(frozen=True)
class ApiKind:
    """A kind the cluster serves: the version to use, its resource name and its scope."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """`group/version`, or only the version for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass(frozen=True)
class Inventory:
    """What was last applied: its hash and the reference of every object."""

    digest: str = ""
    refs: frozenset[ObjectRef] = field(default_factory=frozenset)

    def dumps(self) -> str:
        """Serialise for charm state."""
        refs = sorted([r.api_version, r.kind, r.name, r.namespace] for r in self.refs)
        return json.dumps({"digest": self.digest, "refs": refs}, sort_keys=True)

    @classmethod
    def loads(cls, text: str | None) -> Inventory | None:
        """Read what `dumps` wrote; None when there is no (readable) inventory."""
        if not text:
            return None
        try:
            data = json.loads(text)
            refs = frozenset(ObjectRef(*r) for r in data["refs"])
            return cls(data["digest"], refs)
        except (ValueError, KeyError, TypeError):
            logger.warning("discarding unreadable Kubernetes inventory")
            return None


def render(template_dir: Path, context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Render every `*.yaml.j2` under `template_dir` (sorted by name) into manifest dicts.

    Undefined template variables are errors: a silently empty field in a manifest is worse
    than a failed hook in development.
    """
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - YAML, not HTML
    )
    env.filters["to_json"] = _to_json
    # Jinja's global `namespace` (a class) would stand in for a missing `namespace` variable,
    # which every template of ours uses for the model name.
    env.globals.pop("namespace", None)
    objects: list[dict[str, Any]] = []
    for path in sorted(template_dir.glob("*.yaml.j2")):
        text = env.get_template(path.name).render(**context)
        for doc in yaml.load_all(text, Loader=_SAFE_LOADER):
            if doc is None:
                continue
            _check_manifest(doc, path.name)
            objects.append(doc)
    return objects


def _to_json(value: Any) -> str:
    """JSON text of a value: a safe way to put any string or structure into YAML."""
    import jinja2

    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises here, naming the missing variable
    return json.dumps(value)


def _check_manifest(doc: Any, source: str) -> None:
    if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
        raise ManifestError(f"{source}: not a Kubernetes object")
    if not isinstance(doc.get("metadata"), dict) or not doc["metadata"].get("name"):
        raise ManifestError(f"{source}: {doc['kind']} without metadata.name")


def digest(objects: Iterable[Mapping[str, Any]]) -> str:
    """Content hash of a set of objects, independent of their order."""
    canonical = sorted(json.dumps(o, sort_keys=True, separators=(",", ":")) for o in objects)
    return hashlib.sha256("\n".join(canonical).encode()).hexdigest()


def apply_order(kind: str) -> int:
    """Rank of a kind in apply order (lower goes first)."""
    return _APPLY_ORDER.get(kind, _DEFAULT_ORDER)


def plural_of(kind: str) -> str:
    """English plural of a kind, as Kubernetes derives resource names for CRDs."""
    lower = kind.lower()
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x", "ch", "sh")):
        return lower + "es"
    return lower + "s"


class KubernetesObjects:
    """Applies, prunes and removes the objects one application owns."""

    def __init__(self, app: str, model: str, client: Client | None = None):
        self.app = app
        self.model = model
        self._client = client
        self._crd_names: dict[tuple[str, str], tuple[str, bool]] = {}

    @property
    def labels(self) -> dict[str, str]:
        """Labels put on every object; they find our objects again when state is lost."""
        return {CREATED_BY_LABEL: self.app, MODEL_LABEL: self.model}

    @property
    def client(self) -> Client:
        """The lightkube client, created on first use, never through an HTTP proxy.

        The API server is inside the cluster (in a pod, the Service address in
        KUBERNETES_SERVICE_HOST). Juju's legacy `http-proxy`/`https-proxy` model keys put
        HTTPS_PROXY in every hook's environment, which httpx would apply to it; so the
        configuration is loaded explicitly (in-cluster account or KUBECONFIG, as lightkube's
        default does) and the environment is not trusted for proxies.
        """
        if self._client is None:
            from lightkube import Client, KubeConfig

            config = KubeConfig.from_env()
            self._client = Client(config=config, field_manager=self.app, trust_env=False)
        return self._client

    def apply(
        self,
        objects: Iterable[Mapping[str, Any]],
        previous: Inventory | None,
        *,
        force: bool = False,
    ) -> Inventory:
        """Apply `objects` and prune what we applied before that they lack.

        Returns the new inventory. When the labelled objects hash to `previous.digest` and
        `force` is false, nothing at all is sent to the API. Without an inventory (first
        install, state lost with the container) or with `force` (upgrade-charm), the objects
        labelled as ours are read from the cluster: only those missing or holding other
        content are applied, and the labelled ones no longer rendered are pruned.
        """
        desired = [self._labelled(o) for o in objects]
        new_digest = digest(desired)
        if previous is not None and previous.digest == new_digest and not force:
            return previous
        self._learn_crds(desired)
        refs = frozenset(ObjectRef.of(o) for o in desired)
        known = previous.refs if previous is not None else frozenset()
        if previous is None or force:
            kinds = {(r.api_version, r.kind) for r in refs | known} | set(SEARCHED_KINDS)
            live = self._labelled_digests(kinds)
            changed = [o for o in desired if live.get(ObjectRef.of(o)) != _applied_digest(o)]
            stale = (set(live) | known) - refs
        else:
            changed, stale = desired, known - refs
        for obj in sorted(changed, key=lambda o: apply_order(o["kind"])):
            self._apply_one(obj)
        deleted = self._delete(self._without_crds_in_use(stale))
        if changed or deleted:
            # One record per apply, not per object: under Juju each record is a process.
            logger.info("applied %d objects, pruned %d", len(changed), deleted)
        return Inventory(new_digest, refs)

    def missing(self, inventory: Inventory) -> list[ObjectRef]:
        """Objects of the inventory no longer in the cluster (deleted behind our back)."""
        gone = []
        for ref in sorted(inventory.refs):
            try:
                self._call(self.client.get, self._resource(ref), ref.name, namespace=ref.namespace)
            except NotFoundError:
                gone.append(ref)
        return gone

    def remove(self, inventory: Inventory | None, kinds: Iterable[tuple[str, str]] = ()) -> None:
        """Delete every object we own: those in `inventory` and any labelled as ours.

        `kinds` lists extra (apiVersion, kind) pairs to search by label, so removal is complete
        even when the inventory was lost. A CustomResourceDefinition that still has custom
        resources is kept (with a warning): deleting it would delete users' work with it.
        """
        refs = set(inventory.refs if inventory else ())
        refs |= self._labelled_refs({(r.api_version, r.kind) for r in refs} | set(kinds))
        deleted = self._delete(self._without_crds_in_use(refs))
        logger.info("deleted %d objects", deleted)

    def read(self, ref: ObjectRef) -> dict[str, Any] | None:
        """One object as a dict, or None when it does not exist."""
        try:
            obj = self._call(
                self.client.get, self._resource(ref), ref.name, namespace=ref.namespace
            )
        except NotFoundError:
            return None
        return _to_dict(obj)

    def read_all(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        labels: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Objects of a kind as dicts; `namespace="*"` means every namespace."""
        res = self._resource(ObjectRef(api_version, kind, "-", namespace))
        kwargs: dict[str, Any] = {"labels": dict(labels or {})}
        if _is_namespaced(res):
            kwargs["namespace"] = namespace or "*"
        listing = self._call(self.client.list, res, **kwargs)
        return [_to_dict(item) for item in self._call(list, listing)]

    def discover(self, kinds: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ApiKind]:
        """Which of the (group, kind) pairs the cluster serves, and how to address them.

        Built-in kinds come from the API version lightkube knows; custom kinds from their
        CustomResourceDefinition (the storage version when it is served, else the first served
        one). Kinds whose CRD is not installed are left out: a cluster without Seldon or Spark
        simply has none of their objects.
        """
        wanted = list(dict.fromkeys(kinds))
        found: dict[tuple[str, str], ApiKind] = {}
        custom = []
        for group, kind in wanted:
            builtin = _builtin_kind(group, kind)
            if builtin is not None:
                found[(group, kind)] = builtin
            else:
                custom.append((group, kind))
        if custom:
            crds = self.read_all("apiextensions.k8s.io/v1", "CustomResourceDefinition")
            served = {k: v for k, v in map(_served_kind, crds) if v is not None}
            for key in custom:
                if key in served:
                    found[key] = served[key]
                    self._crd_names[key] = (served[key].plural, served[key].namespaced)
        return {key: found[key] for key in wanted if key in found}

    def create(self, obj: Mapping[str, Any]) -> bool:
        """Create the object as given (no labels added); False when it already exists.

        Raises RejectedError when the API refuses it as invalid, NotFoundError when its
        namespace or kind is missing, TrustError / TransientError as every call does.
        """
        from lightkube import codecs
        from lightkube.core.exceptions import ApiError

        self._resource(ObjectRef.of(obj))
        resource = codecs.from_dict(json.loads(json.dumps(obj)))
        try:
            self._call(self._refusing_invalid(self.client.create), resource)
        except TransientError as err:
            cause = err.__cause__
            if isinstance(cause, ApiError) and _status_code(cause) == 409:
                return False
            raise
        return True

    def overwrite(self, obj: Mapping[str, Any]) -> None:
        """Server-side apply the object as given, taking over conflicting fields (no labels)."""
        from lightkube import codecs

        self._resource(ObjectRef.of(obj))
        resource = codecs.from_dict(json.loads(json.dumps(obj)))
        apply = self._refusing_invalid(self.client.apply)
        self._call(apply, resource, field_manager=self.app, force=True)

    def delete(self, ref: ObjectRef) -> bool:
        """Delete one object; False when it was already gone."""
        try:
            self._call(self.client.delete, self._resource(ref), ref.name, namespace=ref.namespace)
        except NotFoundError:
            return False
        logger.info("deleted %s", ref)
        return True

    # -- internals ---------------------------------------------------------------------------

    @staticmethod
    def _refusing_invalid(fn: Callable[..., T]) -> Callable[..., T]:
        """Wrap an API call so that 400/422 answers become RejectedError, not bugs."""
        from lightkube.core.exceptions import ApiError

        def call(*args: Any, **kwargs: Any) -> T:
            try:
                return fn(*args, **kwargs)
            except ApiError as err:
                if _status_code(err) in (400, 422):
                    message = err.status.message or err.status.reason or "invalid"
                    raise RejectedError(message) from err
                raise

        return call

    def _labelled(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """A copy with our labels, annotated with the hash of that labelled content."""
        out = json.loads(json.dumps(obj))  # deep copy that also rejects non-JSON values
        meta = out["metadata"]
        meta["labels"] = {**(meta.get("labels") or {}), **self.labels}
        annotations = meta.pop("annotations", None) or {}
        annotations.pop(DIGEST_ANNOTATION, None)
        if annotations:
            meta["annotations"] = annotations
        meta["annotations"] = {**annotations, DIGEST_ANNOTATION: digest([out])}
        return out

    def _without_crds_in_use(self, refs: Iterable[ObjectRef]) -> set[ObjectRef]:
        """`refs` less the CRDs that still have custom resources (users' work: kept, said)."""
        refs = set(refs)
        crds = {r for r in refs if r.kind == "CustomResourceDefinition"}
        in_use = {r for r in crds if self._crd_in_use(r.name)}
        for ref in sorted(in_use):
            logger.warning("keeping %s: custom resources of it still exist", ref)
        return refs - in_use

    def _labelled_digests(self, kinds: Iterable[tuple[str, str]]) -> dict[ObjectRef, str | None]:
        """Our labelled objects of the given kinds, with the content hash each one carries.

        A kind the cluster does not serve (its CRD is not installed yet) has no objects.
        """
        found: dict[ObjectRef, str | None] = {}
        for api_version, kind in sorted(kinds):
            res = self._resource(ObjectRef(api_version, kind, "-"))
            namespaced = _is_namespaced(res)
            try:
                listing = self._call(
                    self.client.list,
                    res,
                    labels=self.labels,
                    **({"namespace": "*"} if namespaced else {}),
                )
                items = self._call(list, listing)
            except NotFoundError:
                continue
            for item in items:
                meta = item.metadata
                ref = ObjectRef(api_version, kind, meta.name, meta.namespace)
                found[ref] = (meta.annotations or {}).get(DIGEST_ANNOTATION)
        return found

    def _learn_crds(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """Remember plural and scope of CRDs we define, to address their objects."""
        for obj in objects:
            if obj["kind"] == "CustomResourceDefinition":
                spec = obj["spec"]
                key = (spec["group"], spec["names"]["kind"])
                self._crd_names[key] = (spec["names"]["plural"], spec["scope"] == "Namespaced")

    def _resource(self, ref: ObjectRef) -> Any:
        from lightkube import generic_resource
        from lightkube.core.exceptions import LoadResourceError
        from lightkube.core.resource_registry import resource_registry

        try:
            return resource_registry.load(ref.api_version, ref.kind)
        except LoadResourceError:
            pass
        group, _, version = ref.api_version.rpartition("/")
        plural, namespaced = self._crd_names.get(
            (group, ref.kind), (plural_of(ref.kind), ref.namespace is not None)
        )
        create = (
            generic_resource.create_namespaced_resource
            if namespaced
            else generic_resource.create_global_resource
        )
        return create(group, version, ref.kind, plural)

    def _apply_one(self, obj: dict[str, Any]) -> None:
        from lightkube import codecs

        self._resource(ObjectRef.of(obj))  # registers generic kinds for from_dict
        resource = codecs.from_dict(obj)
        self._call(self.client.apply, resource, field_manager=self.app, force=True)

    def _delete(self, refs: Iterable[ObjectRef]) -> int:
        """Delete `refs`, dependants first; the number that still existed."""
        ordered = sorted(refs, key=lambda r: (-apply_order(r.kind), r))
        return sum(self._delete_one(ref) for ref in ordered)

    def _delete_one(self, ref: ObjectRef) -> bool:
        try:
            self._call(self.client.delete, self._resource(ref), ref.name, namespace=ref.namespace)
        except NotFoundError:
            return False
        return True

    def _labelled_refs(self, kinds: Iterable[tuple[str, str]]) -> set[ObjectRef]:
        """Every object of the given kinds that carries our labels, in any namespace."""
        return set(self._labelled_digests(kinds))

    def _crd_in_use(self, crd_name: str) -> bool:
        from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

        try:
            crd = self._call(self.client.get, CustomResourceDefinition, crd_name)
        except NotFoundError:
            return False
        spec = crd.spec
        version = next(v.name for v in spec.versions if v.storage)
        ref = ObjectRef(f"{spec.group}/{version}", spec.names.kind, "-")
        self._crd_names[(spec.group, spec.names.kind)] = (
            spec.names.plural,
            spec.scope == "Namespaced",
        )
        res = self._resource(ref)
        kwargs = {"namespace": "*"} if _is_namespaced(res) else {}
        listing = self._call(self.client.list, res, chunk_size=1, **kwargs)
        return self._call(lambda: next(iter(listing), None)) is not None

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call the API, sorting failures into TrustError / TransientError."""
        from lightkube.core.exceptions import ApiError
        from lightkube.core.exceptions import httpx as lk_httpx  # pyright: ignore[reportPrivateImportUsage]

        try:
            return fn(*args, **kwargs)
        except ApiError as err:
            code = _status_code(err)
            if code == 403:
                raise TrustError(self.app, err.status.message or "forbidden") from err
            message = err.status.message or err.status.reason or str(code)
            if code == 404:
                raise NotFoundError(f"Kubernetes API 404: {message}") from err
            if code in (400, 422):
                raise RejectedError(f"Kubernetes API {code}: {message}") from err
            # 409, 429, 5xx, and whatever else the way to the API answers (401 of an expired
            # token, 410): a later hook may succeed, a hook error would block the model.
            raise TransientError(f"Kubernetes API {code}: {message}") from err
        except lk_httpx.TransportError as err:
            raise TransientError(f"Kubernetes API unreachable: {type(err).__name__}") from err


def _applied_digest(obj: Mapping[str, Any]) -> str | None:
    """The content hash `_labelled` put on an object."""
    return (obj["metadata"].get("annotations") or {}).get(DIGEST_ANNOTATION)


def _status_code(err: Any) -> int:
    return err.status.code or err.response.status_code


def _builtin_kind(group: str, kind: str) -> ApiKind | None:
    """A kind lightkube ships a model for (v1 of its group), or None.

    Generic kinds registered earlier in the process do not count: only the API knows whether
    their CRD is still installed.
    """
    from lightkube import generic_resource
    from lightkube.core import resource as lk_resource
    from lightkube.core.exceptions import LoadResourceError
    from lightkube.core.resource_registry import resource_registry

    api_version = f"{group}/v1" if group else "v1"
    try:
        res = resource_registry.load(api_version, kind)
    except LoadResourceError:
        return None
    if res is None or issubclass(res, generic_resource.Generic):
        return None
    info = res._api_info  # pyright: ignore[reportAttributeAccessIssue]
    namespaced = issubclass(res, lk_resource.NamespacedResource)
    return ApiKind(group, info.resource.version, kind, info.plural, namespaced)


def _served_kind(crd: Mapping[str, Any]) -> tuple[tuple[str, str], ApiKind | None]:
    """(group, kind) of a CRD and the version to use, None when no version is served."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    key = (spec.get("group", ""), names.get("kind", ""))
    versions = [v for v in spec.get("versions") or [] if v.get("served")]
    if not versions or not names.get("plural"):
        return key, None
    chosen = next((v for v in versions if v.get("storage")), versions[0])
    namespaced = spec.get("scope") == "Namespaced"
    return key, ApiKind(key[0], chosen["name"], key[1], names["plural"], namespaced)


def _to_dict(obj: Any) -> dict[str, Any]:
    return dict(obj) if isinstance(obj, dict) else obj.to_dict()


def _is_namespaced(resource: Any) -> bool:
    from lightkube.core import resource as lk_resource

    return issubclass(resource, lk_resource.NamespacedResource)


def iter_kinds(objects: Iterable[Mapping[str, Any]]) -> Iterator[tuple[str, str]]:
    """The (apiVersion, kind) pairs present in `objects`."""
    seen = set()
    for obj in objects:
        key = (obj["apiVersion"], obj["kind"])
        if key not in seen:
            seen.add(key)
            yield key
