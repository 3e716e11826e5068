"""Kubeflow's serialized-data-interface (SDI) wire format, for the few SDI relations we speak.

Charmed Kubeflow charms exchange `ingress`, `oidc-client`, `object-storage`, ... data as a YAML
document in the `data` key of the writer's application databag, after both leaders publish
`_supported_versions` and agree on the highest common version. The data is validated against
a JSON schema for the writer's role.

The PyPI package implementing this pins an old jsonschema and pulls requests; the format is
small, so it is implemented here, with a validator for the part of JSON Schema those schemas
use (type, properties, required, items).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import ops
import yaml

from dsplib.validation import UnreadableYaml, load_yaml

logger = logging.getLogger(__name__)

VERSIONS_KEY = "_supported_versions"
DATA_KEY = "data"

_STRING = {"type": "string"}
_INTEGER = {"type": "integer"}
_STRINGS = {"type": "array", "items": _STRING}

# JSON schemas of the writer's role, per interface and version (canonical/operator-schemas).
SCHEMAS: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
    "ingress": {
        "v1": {
            "requires": {
                "type": "object",
                "properties": {
                    "service": _STRING,
                    "port": _INTEGER,
                    "prefix": _STRING,
                    "rewrite": _STRING,
                },
                "required": ["service", "port", "prefix"],
            }
        },
        "v2": {
            "requires": {
                "type": "object",
                "properties": {
                    "service": _STRING,
                    "port": _INTEGER,
                    "namespace": _STRING,
                    "prefix": _STRING,
                    "rewrite": _STRING,
                },
                "required": ["service", "port", "namespace", "prefix"],
            }
        },
    },
    "oidc-client": {
        "v1": {
            "provides": {
                "type": "object",
                "properties": {
                    "id": _STRING,
                    "name": _STRING,
                    "redirectURIs": _STRINGS,
                    "secret": _STRING,
                },
                "required": ["id", "name", "redirectURIs", "secret"],
            }
        }
    },
    "object-storage": {
        "v1": {
            "provides": {
                "type": "object",
                "properties": {
                    "access-key": _STRING,
                    "namespace": {"type": ["string", "null"]},
                    "port": {"type": "number"},
                    "secret-key": _STRING,
                    "secure": {"type": "boolean"},
                    "service": _STRING,
                },
                "required": ["access-key", "port", "secret-key", "secure", "service"],
            }
        }
    },
}


class SdiError(Exception):
    """The remote side's SDI data is missing, incompatible or invalid."""


class SdiNotReady(SdiError):
    """The remote side has not published its versions or data yet (transient)."""


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def validate(value: Any, schema: Mapping[str, Any], path: str = "") -> list[str]:
    """Errors of `value` against `schema` (type, properties, required, items); [] if valid."""
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        ok = any(
            isinstance(value, _TYPES[n])
            and not (n in ("integer", "number") and isinstance(value, bool))
            for n in names
        )
        if not ok:
            return [f"{path or 'data'}: expected {' or '.join(names)}"]
    errors: list[str] = []
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{_join(path, key)}: required")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                errors.extend(validate(value[key], sub, _join(path, key)))
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors.extend(validate(item, schema["items"], f"{path}[{i}]"))
    return errors


class SdiEndpoint:
    """One SDI endpoint of the charm: publishes our versions and data, reads the remote's."""

    def __init__(
        self,
        charm: ops.CharmBase,
        relation_name: str,
        interface: str,
        role: str,
        versions: Sequence[str] | None = None,
    ):
        if role not in ("provides", "requires"):
            raise ValueError(role)
        self._charm = charm
        self.relation_name = relation_name
        self.role = role
        self.remote_role = "requires" if role == "provides" else "provides"
        known = SCHEMAS[interface]
        self.schemas = {v: known[v] for v in (versions or known)}

    @property
    def relations(self) -> list[ops.Relation]:
        """Current relations of the endpoint."""
        return list(self._charm.model.relations[self.relation_name])

    def publish_versions(self) -> None:
        """Leader: tell the other side which versions we speak."""
        if not self._charm.unit.is_leader():
            return
        versions = yaml.safe_dump(sorted(self.schemas, key=_version_number))
        for relation in self.relations:
            bag = relation.data[self._charm.app]
            if bag.get(VERSIONS_KEY) != versions:
                bag[VERSIONS_KEY] = versions

    def version(self, relation: ops.Relation) -> str:
        """The highest version both sides speak, or SdiNotReady / SdiError."""
        remote = relation.data[relation.app].get(VERSIONS_KEY) if relation.app else None
        if not remote:
            raise SdiNotReady(f"{self.relation_name}: waiting for {_app(relation)} versions")
        listed = self._load(remote, "versions", relation)
        if not isinstance(listed, list) or not all(isinstance(v, (str, int)) for v in listed):
            raise SdiError(
                f"{self.relation_name}: versions from {_app(relation)} are not a YAML list"
            )
        theirs = {str(v) for v in listed}
        common = sorted(theirs & set(self.schemas), key=_version_number)
        if not common:
            raise SdiError(f"{self.relation_name}: no common version with {_app(relation)}")
        return common[-1]

    def send(self, relation: ops.Relation, data: Mapping[str, Any]) -> None:
        """Leader: write our validated data (schema of the negotiated version)."""
        if not self._charm.unit.is_leader():
            return
        self.publish_versions()
        version = self.version(relation)
        schema = self.schemas[version].get(self.role)
        if schema is None:
            raise ValueError(f"{self.relation_name}: our role {self.role} writes no data")
        errors = validate(dict(data), schema)
        if errors:
            raise ValueError(f"{self.relation_name}: invalid data we send: {errors}")
        text = yaml.safe_dump(dict(data), sort_keys=True)
        bag = relation.data[self._charm.app]
        if bag.get(DATA_KEY) != text:
            bag[DATA_KEY] = text

    def withdraw(self, relation: ops.Relation) -> None:
        """Leader: take our data back, e.g. when what it described is gone."""
        if not self._charm.unit.is_leader():
            return
        bag = relation.data[self._charm.app]
        if DATA_KEY in bag:
            del bag[DATA_KEY]

    def receive(self, relation: ops.Relation) -> dict[str, Any]:
        """The remote application's validated data; SdiNotReady / SdiError otherwise."""
        version = self.version(relation)
        raw = relation.data[relation.app].get(DATA_KEY) if relation.app else None
        if not raw:
            raise SdiNotReady(f"{self.relation_name}: waiting for data from {_app(relation)}")
        data = self._load(raw, "data", relation)
        schema = self.schemas[version].get(self.remote_role, {})
        errors = validate(data, schema)
        if errors:
            raise SdiError(
                f"{self.relation_name}: invalid data from {_app(relation)}: {'; '.join(errors)}"
            )
        return data

    def _load(self, text: str, what: str, relation: ops.Relation) -> Any:
        """YAML the remote wrote, or SdiError naming the relation."""
        try:
            return load_yaml(text)
        except UnreadableYaml as err:
            raise SdiError(
                f"{self.relation_name}: unreadable {what} from {_app(relation)}"
            ) from err


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _version_number(version: str) -> int:
    return int(str(version).lstrip("v"))


def _app(relation: ops.Relation) -> str:
    return relation.app.name if relation.app else "the remote application"
