"""Test doubles shared by the charms' unit tests (not imported by charm code).

`FakeKubernetes` stands in for `lightkube.Client` at the client boundary: the charm's real
code renders, converts and applies objects, and the fake keeps them in memory and records
every call, so tests can assert on what was written and inject the API errors charms must
survive. `react` stands in for the cluster's controllers (a Profile that makes a Namespace),
`custom_resource_definition` for installed CRDs that API discovery finds. Loaded as a pytest
plugin (`pytest_plugins = ["dsplib.testing"]`), it gives the fixture `kube`: a fake that every
KubernetesManifests of the test uses.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lightkube.core import resource as lk_resource
from lightkube.core.exceptions import ApiError
from lightkube.core.exceptions import httpx as lk_httpx  # pyright: ignore[reportPrivateImportUsage]

WRITE_VERBS = frozenset({"apply", "create", "patch", "replace", "delete"})

Key = tuple[str, str, "str | None", str]  # (apiVersion, kind, namespace, name)
Reaction = Callable[["FakeKubernetes", dict[str, Any]], None]


class ObjectTable(dict[Key, dict[str, Any]]):
    """The fake's objects by key: a dict tests read and write directly, with an index.

    Every change goes through the dict methods overridden here, which keep an index of keys by
    (apiVersion, kind) and namespace, so a list call costs what it returns rather than the size
    of the whole cluster (a backup of 10,000 objects lists each kind of each namespace once).
    """

    def __init__(self, *args: Any):
        super().__init__()
        self._index: dict[tuple[str, str], dict[str | None, set[Key]]] = {}
        self.update(*args)

    def keys_of(self, api_version: str, kind: str, namespace: str | None) -> list[Key]:
        """Keys of one kind, in one namespace or (None) in all, sorted as the fake lists them."""
        by_namespace = self._index.get((api_version, kind), {})
        if namespace is None:
            found = [key for keys in by_namespace.values() for key in keys]
        else:
            found = list(by_namespace.get(namespace, ()))
        return sorted(found, key=str)

    def _add(self, key: Key) -> None:
        self._index.setdefault((key[0], key[1]), {}).setdefault(key[2], set()).add(key)

    def _drop(self, key: Key) -> None:
        by_namespace = self._index.get((key[0], key[1]), {})
        by_namespace.get(key[2], set()).discard(key)

    def __setitem__(self, key: Key, value: dict[str, Any]) -> None:
        super().__setitem__(key, value)
        self._add(key)

    def __delitem__(self, key: Key) -> None:
        super().__delitem__(key)
        self._drop(key)

    def pop(self, key: Key, *default: Any) -> Any:  # type: ignore[override]
        """dict.pop, keeping the index."""
        if key in self:
            self._drop(key)
        return super().pop(key, *default)

    def popitem(self) -> tuple[Key, dict[str, Any]]:
        """dict.popitem, keeping the index."""
        key, value = super().popitem()
        self._drop(key)
        return key, value

    def setdefault(self, key: Key, default: Any = None) -> Any:  # type: ignore[override]
        """dict.setdefault, keeping the index."""
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any) -> None:  # type: ignore[override]
        """dict.update (from a mapping or pairs), keeping the index."""
        for key, value in dict(*args).items():
            self[key] = value

    def clear(self) -> None:
        """dict.clear, keeping the index."""
        super().clear()
        self._index.clear()

    def __ior__(self, other: Any) -> ObjectTable:  # type: ignore[override]
        self.update(other)
        return self


def api_error(code: int, message: str = "") -> ApiError:
    """An ApiError as lightkube raises it for an HTTP status `code`."""
    reason = {403: "Forbidden", 404: "NotFound", 409: "Conflict"}.get(code, "Error")
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message or reason,
        "reason": reason,
        "code": code,
    }
    request = lk_httpx.Request("GET", "https://kubernetes.default.svc")
    return ApiError(request=request, response=lk_httpx.Response(code, json=body, request=request))


@dataclass
class _Failure:
    verb: str | None
    kind: str | None
    error: Exception
    times: int | None


@dataclass
class FakeKubernetes:
    """An in-memory Kubernetes API with lightkube.Client's method signatures."""

    objects: dict[Key, dict[str, Any]] = field(default_factory=ObjectTable)
    calls: list[tuple[str, str]] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _reactions: dict[str, list[Reaction]] = field(default_factory=dict)

    def __setattr__(self, name: str, value: Any) -> None:
        """`objects` given or assigned as a plain dict becomes an indexed ObjectTable."""
        if name == "objects" and not isinstance(value, ObjectTable):
            value = ObjectTable(value)
        super().__setattr__(name, value)

    # -- test controls -----------------------------------------------------------------------

    def fail(
        self,
        code: int | None = None,
        *,
        verb: str | None = None,
        kind: str | None = None,
        times: int | None = None,
        error: Exception | None = None,
    ) -> None:
        """Make matching calls raise: an ApiError with `code`, or `error` (e.g. a timeout)."""
        exc = error if error is not None else api_error(code or 500)
        self._failures.append(_Failure(verb, kind, exc, times))

    def add(self, *objects: Mapping[str, Any]) -> None:
        """Put objects (manifest dicts) into the cluster without recording a call."""
        for obj in objects:
            meta = obj["metadata"]
            key = (obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])
            self.objects[key] = copy.deepcopy(dict(obj))

    def react(self, kind: str, reaction: Reaction) -> None:
        """Call `reaction(fake, obj)` after each create or apply of `kind`, as a controller."""
        self._reactions.setdefault(kind, []).append(reaction)

    def heal(self) -> None:
        """Stop injecting failures."""
        self._failures.clear()

    @property
    def writes(self) -> list[tuple[str, str]]:
        """Calls that would change the cluster."""
        return [c for c in self.calls if c[0] in WRITE_VERBS]

    def reset_calls(self) -> None:
        """Forget the recorded calls (keep the objects)."""
        self.calls.clear()

    def find(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The stored object of `kind` named `name` (any apiVersion), or None."""
        for (_, k, ns, n), obj in self.objects.items():
            if k == kind and n == name and (namespace is None or ns == namespace):
                return obj
        return None

    def get_object(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        """The stored object of `kind` named `name`; fails the test when there is none."""
        found = self.find(kind, name, namespace)
        assert found is not None, f"no {kind} {name} in the fake cluster"
        return found

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every stored object of `kind`."""
        return [o for (_, k, _, _), o in sorted(self.objects.items()) if k == kind]

    # -- lightkube.Client surface ------------------------------------------------------------

    def apply(
        self,
        obj: Any,
        name: str | None = None,
        *,
        namespace: str | None = None,
        field_manager: str | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> Any:
        data = _as_dict(obj)
        key = self._key(type(obj), data["metadata"]["name"], namespace or _ns(data))
        self._record("apply", key)
        data.setdefault("metadata", {})
        if key[2] is not None:
            data["metadata"]["namespace"] = key[2]
        self.objects[key] = data
        self._react(key[1], data)
        return obj

    def create(
        self, obj: Any, name: str | None = None, *, namespace: str | None = None, **_: Any
    ) -> Any:
        data = _as_dict(obj)
        key = self._key(type(obj), data["metadata"]["name"], namespace or _ns(data))
        self._record("create", key)
        if key in self.objects:
            raise api_error(409, "already exists")
        self.objects[key] = data
        self._react(key[1], data)
        return obj

    def get(self, res: type, name: str, *, namespace: str | None = None) -> Any:
        key = self._key(res, name, namespace)
        self._record("get", key)
        if key not in self.objects:
            raise api_error(404, f"{key[1]} {name} not found")
        return res.from_dict(copy.deepcopy(self.objects[key]))

    def delete(self, res: type, name: str, *, namespace: str | None = None, **_: Any) -> None:
        key = self._key(res, name, namespace)
        self._record("delete", key)
        if key not in self.objects:
            raise api_error(404, f"{key[1]} {name} not found")
        del self.objects[key]

    def patch(
        self, res: type, name: str, obj: Any, *, namespace: str | None = None, **_: Any
    ) -> Any:
        key = self._key(res, name, namespace)
        self._record("patch", key)
        if key not in self.objects:
            raise api_error(404, f"{key[1]} {name} not found")
        _merge(self.objects[key], _as_dict(obj))
        return res.from_dict(copy.deepcopy(self.objects[key]))

    def list(
        self,
        res: type,
        *,
        namespace: str | None = None,
        labels: Any = None,
        chunk_size: int | None = None,
        fields: Any = None,
    ) -> Iterator[Any]:
        api_version, kind = _type_of(res)
        self._record("list", (api_version, kind, namespace, "*"))
        wanted = dict(labels or {})
        items = []
        where = None if namespace in (None, "*") else namespace
        table = self.objects
        assert isinstance(table, ObjectTable)  # __setattr__ makes it one
        for key in table.keys_of(api_version, kind, where):
            obj = table[key]
            have = obj.get("metadata", {}).get("labels") or {}
            if all(_label_matches(have, lk, lv) for lk, lv in wanted.items()):
                items.append(res.from_dict(copy.deepcopy(obj)))
        return iter(items)

    # -- helpers -----------------------------------------------------------------------------

    def _key(self, res: type, name: str, namespace: str | None) -> Key:
        api_version, kind = _type_of(res)
        if issubclass(res, lk_resource.NamespacedResource):
            return (api_version, kind, namespace or "default", name)
        return (api_version, kind, None, name)

    def _react(self, kind: str, obj: dict[str, Any]) -> None:
        for reaction in self._reactions.get(kind, []):
            reaction(self, copy.deepcopy(obj))

    def _record(self, verb: str, key: Key) -> None:
        _, kind, ns, name = key
        where = f"{ns}/" if ns else ""
        self.calls.append((verb, f"{kind}/{where}{name}"))
        for failure in list(self._failures):
            if failure.verb not in (None, verb) or failure.kind not in (None, kind):
                continue
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
            raise failure.error


def custom_resource_definition(
    group: str,
    kind: str,
    versions: Iterable[str] = ("v1",),
    *,
    storage: str | None = None,
    namespaced: bool = True,
    plural: str | None = None,
) -> dict[str, Any]:
    """A CRD as the cluster holds it, enough for API discovery (no schema)."""
    names = list(versions)
    plural = plural or f"{kind.lower()}s"
    stored = storage or names[0]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "scope": "Namespaced" if namespaced else "Cluster",
            "versions": [{"name": v, "served": True, "storage": v == stored} for v in names],
        },
    }


def _label_matches(labels: dict[str, str], key: str, wanted: Any) -> bool:
    """Label selector semantics for plain values and lightkube.operators."""
    op = getattr(wanted, "op_name", None)
    if op is None or op == "equal":
        return labels.get(key) == getattr(wanted, "value", wanted)
    if op == "exists":
        return key in labels
    if op == "not_exists":
        return key not in labels
    if op == "not_equal":
        return labels.get(key) != wanted.value
    if op == "in_":
        return labels.get(key) in wanted.value
    if op == "not_in":
        return labels.get(key) not in wanted.value
    raise NotImplementedError(op)


def _type_of(res: type) -> tuple[str, str]:
    info = res._api_info.resource  # type: ignore[attr-defined]
    version = f"{info.group}/{info.version}" if info.group else info.version
    return version, info.kind


def _as_dict(obj: Any) -> dict[str, Any]:
    data = dict(obj) if isinstance(obj, dict) else obj.to_dict()
    return copy.deepcopy(data)


def _ns(data: dict[str, Any]) -> str | None:
    return (data.get("metadata") or {}).get("namespace")


def _merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


KUBERNETES_VERSION = "1.33.0"  # the Charmed Kubernetes release the platform targets


def validate_manifests(
    objects: list[dict[str, Any]],
    crds: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> None:
    """Fail unless every object is valid for the cluster we target.

    Built-in kinds are checked against the Kubernetes OpenAPI schema (strict: unknown fields
    are errors), custom kinds against the schema of their CRD, taken from `crds` and from the
    CRDs among `objects`.
    """
    import kubernetes_validate

    known = [*crds, *(o for o in objects if o["kind"] == "CustomResourceDefinition")]
    for obj in objects:
        crd = _crd_for(obj, known)
        if crd is not None:
            validate_against_crd(obj, crd)
        else:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def validate_against_crd(obj: dict[str, Any], crd: dict[str, Any]) -> None:
    """Validate a custom resource with the openAPIV3Schema of its version in `crd`.

    Fields the schema does not know are errors, as with the API server's strict field
    validation: the server would otherwise drop a misspelt field without a word.
    """
    import jsonschema

    version = obj["apiVersion"].rpartition("/")[2]
    versions = {v["name"]: v for v in crd["spec"]["versions"]}
    assert version in versions, f"{obj['kind']} {version} is not a version of its CRD"
    assert versions[version]["served"], f"{obj['kind']} {version} is not served"
    jsonschema.validate(obj, _strict(versions[version]["schema"]["openAPIV3Schema"]))


def _strict(schema: Any) -> Any:
    """Close every object schema that lists its properties and does not keep unknown fields."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _strict(value) for key, value in schema.items()}
    closed = (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    )
    if closed:
        out["additionalProperties"] = False
    return out


def _crd_for(obj: dict[str, Any], crds: list[dict[str, Any]]) -> dict[str, Any] | None:
    group = obj["apiVersion"].rpartition("/")[0]
    for crd in crds:
        if crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == obj["kind"]:
            return crd
    return None


@pytest.fixture
def kube(monkeypatch: pytest.MonkeyPatch) -> FakeKubernetes:
    """A fake Kubernetes API that the charms under test talk to."""
    from dsplib.manifests import KubernetesManifests

    fake = FakeKubernetes()
    monkeypatch.setattr(KubernetesManifests, "client_factory", staticmethod(lambda app: fake))
    return fake


def relation_event(ctx: Any, relation: Any, kind: str) -> Any:
    """The Scenario event `joined`, `changed` or `broken` of `relation` (remote unit 0)."""
    if kind == "broken":
        return ctx.on.relation_broken(relation)
    return getattr(ctx.on, f"relation_{kind}")(relation, remote_unit=0)


# -- templated scalars ---------------------------------------------------------------------

# Valid Kubernetes names (model, namespace, app) that YAML 1.1, which PyYAML and the charms'
# loader speak, reads as something other than a string when written bare: integers (decimal,
# octal, hex, binary), floats, booleans, null and dates (https://yaml.org/type/).
YAML_AMBIGUOUS = (
    "123",
    "0123",
    "0x1f",
    "0o17",
    "0b101",
    "1e3",
    "yes",
    "no",
    "on",
    "off",
    "true",
    "false",
    "null",
    "2024-01-01",
)
PLAIN = "plainvalue"

_EXPRESSION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_FRAGMENT = re.compile(r"\{%-?\s*(?:set|macro)\s+(\w+)")


def unquoted_expressions(template_dir: Path) -> list[str]:
    """Every `{{ ... }}` of the templates that may write a bare YAML scalar.

    The rule: an expression ends with `| to_json`, which writes any value as JSON (a subset
    of YAML, so a string stays a string), or it inserts a YAML fragment the same template
    builds from such expressions (`{% set name %}` block with `| indent(n)`, or a macro call).
    """
    found = []
    for path in sorted(template_dir.glob("*.j2")):
        text = path.read_text()
        fragments = set(_FRAGMENT.findall(text))
        for match in _EXPRESSION.finditer(text):
            expr = " ".join(match.group(1).split())
            if re.search(r"\|\s*to_json$", expr):
                continue
            name = re.match(r"(\w+)\s*(?:\|\s*indent\(\d+\)|\(\))$", expr)
            if name and name.group(1) in fragments:
                continue
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path.name}:{line}: {{{{ {expr} }}}}")
    return found


def check_values_stay_strings(
    render: Callable[[str], list[dict[str, Any]]], values: Iterable[str] = YAML_AMBIGUOUS
) -> None:
    """Fail unless `render(value)` places every value exactly as the string it is.

    `render` builds the charm's objects with one free-form string (model name, namespace from
    config, ...) set to its argument. Rendered with PLAIN, then with each value: every field
    must be the same, except that PLAIN becomes the value inside strings; a field that turns
    into a number, boolean, date or null, or an object that loses a field, fails.
    """
    base = render(PLAIN)
    assert any(PLAIN in json.dumps(o, default=str) for o in base), "render ignores its argument"
    for value in values:
        got = render(value)
        expected = _substitute(base, value)
        assert len(got) == len(expected), f"{value!r}: {len(got)} objects, not {len(expected)}"
        for want, have in zip(expected, got, strict=True):
            where = f"{want.get('kind')} {want.get('metadata', {}).get('name')}"
            _same(want, have, f"{value!r} in {where}")


def _substitute(value: Any, text: str) -> Any:
    if isinstance(value, str):
        return value.replace(PLAIN, text)
    if isinstance(value, list):
        return [_substitute(v, text) for v in value]
    if isinstance(value, dict):
        return {_substitute(k, text): _substitute(v, text) for k, v in value.items()}
    return value


def _same(want: Any, have: Any, path: str) -> None:
    if isinstance(want, dict) and isinstance(have, dict):
        assert set(want) == set(have), f"{path}: fields {sorted(map(str, have))}"
        for key in want:
            _same(want[key], have[key], f"{path}.{key}")
    elif isinstance(want, list) and isinstance(have, list):
        assert len(want) == len(have), f"{path}: {len(have)} items, not {len(want)}"
        for i, (w, h) in enumerate(zip(want, have, strict=True)):
            _same(w, h, f"{path}[{i}]")
    else:
        assert type(want) is type(have), f"{path}: {have!r}, not {want!r}"
        assert want == have, f"{path}: {have!r}, not {want!r}"
