"""Our side of the COS relations, written from their wire contracts.

The COS charm libraries are distributed through Charmhub; these classes speak the same
databag formats (prometheus_scrape provider, grafana_dashboard provider, loki_push_api
requirer through Pebble log forwarding) without their dependency on pydantic, which alone
would take a quarter of a charm's size budget.

Every writer compares before it writes: a relation databag write wakes the other side, so
rewriting identical content on every hook would keep COS busy for nothing.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
import logging
import lzma
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ops
import yaml

logger = logging.getLogger(__name__)

ALERT_RULE_SUFFIXES = (".rule", ".rules", ".yml", ".yaml")
TOPOLOGY_PLACEHOLDER = "%%juju_topology%%"


@dataclass(frozen=True)
class Topology:
    """Where a piece of telemetry comes from, as COS labels it."""

    model: str
    model_uuid: str
    application: str
    unit: str
    charm_name: str

    @classmethod
    def of(cls, charm: ops.CharmBase) -> Topology:
        """The topology of a running charm."""
        return cls(
            model=charm.model.name,
            model_uuid=charm.model.uuid,
            application=charm.app.name,
            unit=charm.unit.name,
            charm_name=charm.meta.name,
        )

    def as_dict(self) -> dict[str, str]:
        """The `scrape_metadata` / `metadata` dict (key order as COS writes it)."""
        return {
            "model": self.model,
            "model_uuid": self.model_uuid,
            "application": self.application,
            "unit": self.unit,
            "charm_name": self.charm_name,
        }

    @property
    def identifier(self) -> str:
        """`<model>_<short uuid>_<application>`, the prefix COS gives rule groups and jobs."""
        return f"{self.model}_{self.model_uuid[:8]}_{self.application}"

    @property
    def alert_labels(self) -> dict[str, str]:
        """Labels that tie an alert to this application."""
        return {
            "juju_model": self.model,
            "juju_model_uuid": self.model_uuid,
            "juju_application": self.application,
            "juju_charm": self.charm_name,
        }

    @property
    def promql_matchers(self) -> str:
        """Label matchers that replace `%%juju_topology%%` in rule expressions."""
        return ",".join(f'{k}="{v}"' for k, v in self.alert_labels.items() if k != "juju_charm")


def load_alert_rules(rules_dir: Path, topology: Topology) -> dict[str, Any]:
    """Prometheus rule groups from `rules_dir`, labelled and scoped to `topology`.

    A file holds either `groups:` (a rule file) or one rule / a list of rules, which become a
    group named after the file. Returns `{}` when there are no rules, as COS expects.
    """
    groups = []
    if rules_dir.is_dir():
        for path in sorted(rules_dir.iterdir()):
            if path.suffix not in ALERT_RULE_SUFFIXES:
                continue
            groups.extend(_groups_in(path, topology))
    return {"groups": groups} if groups else {}


def _groups_in(path: Path, topology: Topology) -> list[dict[str, Any]]:
    content = yaml.safe_load(path.read_text())
    if isinstance(content, dict) and "groups" in content:
        raw_groups = content["groups"]
    else:
        rules = content if isinstance(content, list) else [content]
        raw_groups = [{"name": path.stem, "rules": rules}]
    groups = []
    for group in raw_groups:
        name = f"{topology.identifier}_{group['name']}_alerts"
        groups.append({"name": name, "rules": [_scoped(r, topology) for r in group["rules"]]})
    return groups


def _scoped(rule: Mapping[str, Any], topology: Topology) -> dict[str, Any]:
    out = dict(rule)
    out["expr"] = str(rule["expr"]).replace(TOPOLOGY_PLACEHOLDER, topology.promql_matchers)
    out["labels"] = {**(rule.get("labels") or {}), **topology.alert_labels}
    return out


def charm_source_dir(charm: ops.CharmBase) -> Path:
    """The directory of the charm's module (src/ in a packed charm), where its assets live."""
    return Path(inspect.getfile(type(charm))).resolve().parent


def _set_if_changed(bag: ops.RelationDataContent, key: str, value: str) -> bool:
    if bag.get(key) == value:
        return False
    bag[key] = value
    return True


class MetricsEndpointProvider(ops.Object):
    """prometheus_scrape provider: scrape jobs, topology and alert rules for Prometheus."""

    def __init__(
        self,
        charm: ops.CharmBase,
        jobs: list[dict[str, Any]] | Callable[[], list[dict[str, Any]]],
        *,
        relation_name: str = "metrics-endpoint",
        alert_rules_dir: Path | None = None,
    ):
        super().__init__(charm, relation_name)
        self._charm = charm
        self._relation_name = relation_name
        self._jobs = jobs
        self._rules_dir = alert_rules_dir or charm_source_dir(charm) / "prometheus_alert_rules"
        on = charm.on
        for event in (
            on[relation_name].relation_joined,
            on[relation_name].relation_changed,
            on.leader_elected,
            on.upgrade_charm,
            on.config_changed,
            on.update_status,
        ):
            self.framework.observe(event, self._publish)

    def scrape_jobs(self) -> list[dict[str, Any]]:
        """The jobs to publish now (a callable given at construction is asked each time)."""
        return self._jobs() if callable(self._jobs) else self._jobs

    def _publish(self, _: ops.EventBase) -> None:
        relations = self.model.relations[self._relation_name]
        if not relations:
            return
        unit_data = {
            "prometheus_scrape_unit_address": self._unit_address(relations[0]),
            "prometheus_scrape_unit_name": self._charm.unit.name,
            "prometheus_scrape_unit_path": "",
        }
        app_data = {}
        if self._charm.unit.is_leader():
            topology = Topology.of(self._charm)
            app_data = {
                "scrape_metadata": json.dumps(topology.as_dict()),
                "scrape_jobs": json.dumps(self.scrape_jobs()),
                "alert_rules": json.dumps(load_alert_rules(self._rules_dir, topology)),
            }
        for relation in relations:
            for key, value in app_data.items():
                _set_if_changed(relation.data[self._charm.app], key, value)
            for key, value in unit_data.items():
                _set_if_changed(relation.data[self._charm.unit], key, value)

    def _unit_address(self, relation: ops.Relation) -> str:
        import socket

        binding = self.model.get_binding(relation)
        address = binding.network.bind_address if binding else None
        return str(address) if address else socket.getfqdn()


class GrafanaDashboardProvider(ops.Object):
    """grafana_dashboard provider: ships the charm's dashboards to Grafana."""

    def __init__(
        self,
        charm: ops.CharmBase,
        *,
        relation_name: str = "grafana-dashboard",
        dashboards_dir: Path | None = None,
    ):
        super().__init__(charm, relation_name)
        self._charm = charm
        self._relation_name = relation_name
        self._dir = dashboards_dir or charm_source_dir(charm) / "grafana_dashboards"
        on = charm.on
        for event in (
            on[relation_name].relation_created,
            on[relation_name].relation_joined,
            on.leader_elected,
            on.upgrade_charm,
        ):
            self.framework.observe(event, self._publish)

    def templates(self) -> dict[str, dict[str, Any]]:
        """The `templates` map of the databag, one entry per dashboard file."""
        topology = Topology.of(self._charm)
        charm_name = self._charm.meta.name
        out = {}
        for path in sorted(self._dir.glob("*.json")):
            template_id = f"file:{path.stem}"
            dashboard = json.loads(path.read_text())
            dashboard["uid"] = hashlib.sha256(f"{charm_name}:{path.name}".encode()).hexdigest()[
                :40
            ]
            tags = dashboard.setdefault("tags", [])
            if f"charm: {charm_name}" not in tags:
                tags.append(f"charm: {charm_name}")
            out[template_id] = {
                "charm": charm_name,
                "content": encode_dashboard(json.dumps(dashboard)),
                "juju_topology": {
                    k: v for k, v in topology.as_dict().items() if k != "charm_name"
                },
                "inject_dropdowns": True,
                "dashboard_alt_uid": hashlib.shake_256(
                    f"{charm_name}-{template_id}".encode()
                ).hexdigest(8),
            }
        return out

    def _publish(self, _: ops.EventBase) -> None:
        if not self._charm.unit.is_leader():
            return
        templates = self.templates()
        for relation in self.model.relations[self._relation_name]:
            bag = relation.data[self._charm.app]
            try:
                current = json.loads(bag.get("dashboards", "{}")).get("templates")
            except ValueError:
                current = None
            if current == templates:
                continue
            bag["dashboards"] = json.dumps({"templates": templates, "uuid": str(uuid.uuid4())})


def encode_dashboard(raw: str) -> str:
    """LZMA + base64, as Grafana's side of the relation decodes dashboards."""
    return base64.b64encode(lzma.compress(raw.encode("utf-8"), preset=3)).decode("utf-8")


def decode_dashboard(encoded: str) -> str:
    """Inverse of `encode_dashboard` (for tests and debugging)."""
    return lzma.decompress(base64.b64decode(encoded.encode("utf-8"))).decode("utf-8")


class LogForwarder(ops.Object):
    """loki_push_api requirer: Pebble forwards every workload service's logs to Loki."""

    def __init__(self, charm: ops.CharmBase, *, relation_name: str = "logging"):
        super().__init__(charm, f"{relation_name}-forwarder")
        self._charm = charm
        self._relation_name = relation_name
        on = charm.on
        for event in (
            on[relation_name].relation_joined,
            on[relation_name].relation_changed,
            on[relation_name].relation_departed,
            on[relation_name].relation_broken,
            on.upgrade_charm,
        ):
            self.framework.observe(event, self._update_all)
        for container in charm.meta.containers:
            self.framework.observe(on[container].pebble_ready, self._update_all)

    def endpoints(self, *, leaving: ops.Relation | None = None) -> dict[str, str]:
        """Push URL per remote Loki unit name."""
        urls = {}
        for relation in self.model.relations[self._relation_name]:
            if relation is leaving:
                continue
            for unit in relation.units:
                raw = relation.data[unit].get("endpoint")
                if not raw:
                    continue
                try:
                    url = json.loads(raw)["url"]
                except (ValueError, KeyError, TypeError):
                    logger.warning("ignoring malformed Loki endpoint from %s", unit.name)
                    continue
                if isinstance(url, str) and url.startswith(("http://", "https://")):
                    urls[unit.name] = url
        return urls

    def targets(self, endpoints: Mapping[str, str], known: Iterable[str]) -> dict[str, Any]:
        """Log targets for `endpoints`; targets in `known` but gone are switched off."""
        topology = Topology.of(self._charm)
        labels = {
            "product": "Juju",
            "charm": topology.charm_name,
            "juju_model": topology.model,
            "juju_model_uuid": topology.model_uuid,
            "juju_application": topology.application,
            "juju_unit": topology.unit,
            "job": f"juju_{topology.identifier}",
        }
        targets: dict[str, Any] = {}
        for name in sorted(set(known) - set(endpoints)):
            targets[name] = {
                "override": "replace",
                "type": "loki",
                "location": "(removed)",
                "services": ["-all"],
            }
        for name, url in sorted(endpoints.items()):
            targets[name] = {
                "override": "replace",
                "type": "loki",
                "location": url,
                "services": ["all"],
                "labels": labels,
            }
        return targets

    def _update_all(self, event: ops.EventBase) -> None:
        leaving = event.relation if isinstance(event, ops.RelationBrokenEvent) else None
        endpoints = self.endpoints(leaving=leaving)
        for name, container in self._charm.unit.containers.items():
            if not container.can_connect():
                continue
            label = f"{name}-log-forwarding"
            try:
                plan_targets = container.get_plan().to_dict().get("log-targets", {})
                targets = self.targets(endpoints, plan_targets.keys())
                if not targets or _targets_match(plan_targets, targets):
                    continue
                container.add_layer(label, {"log-targets": targets}, combine=True)
            except ops.pebble.ConnectionError:
                logger.debug("Pebble in %s not ready; log targets set on pebble-ready", name)


def _targets_match(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    for name, target in wanted.items():
        have = current.get(name)
        if have is None:
            return False
        for key in ("location", "services", "labels"):
            if have.get(key) != target.get(key):
                return False
    return True
