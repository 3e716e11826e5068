"""What Grafana, as COS runs it, needs from a dashboard file, and where each rule comes from.

- Valid JSON object with a non-empty `title` and a `panels` list: Grafana's dashboard JSON model
  (https://grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/).
- Every panel, rows' nested `panels` included, has a numeric `id` unique in the dashboard (the
  same page: "id: unique numeric identifier for the panel"); links, "view panel" and editing
  address panels by that id.
- Datasources: COS' Grafana provides the template variables `prometheusds` and `lokids`
  (canonical/grafana-k8s-operator `lib/charms/grafana_k8s/v0/grafana_dashboard.py`
  `DATASOURCE_TEMPLATE_DROPDOWNS`, injected with `juju_model`, `juju_model_uuid`,
  `juju_application` and `juju_unit` from `TOPOLOGY_TEMPLATE_DROPDOWNS`). A dashboard reaches
  its data only through `${prometheusds}` / `${lokids}`: a fixed datasource name or uid exists
  in no COS deployment.
- `CharmedDashboard._convert_dashboard_fields` (same file) inserts each of those variables
  unless an *identical* dict is already in `templating.list`, and removes a dashboard's own
  definition only when it rewrote a panel to use it: a dashboard that defines `prometheusds`
  itself ends up with two variables of that name. So a dashboard defines none of them.
- `CharmedDashboard._modify_panel` injects the application's topology matchers into a query
  only when the *panel* (not only the target) names `${prometheusds}` or `${lokids}`.
- Every variable a query uses (`$x`, `${x}`, `${x:fmt}`, `[[x]]`, syntax:
  https://grafana.com/docs/grafana/latest/dashboards/variables/variable-syntax/) is defined by
  the dashboard, injected by COS, or one of Grafana's global variables
  (https://grafana.com/docs/grafana/latest/dashboards/variables/add-template-variables/#global-variables).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from promql import metric_names

COS_VARIABLES = {
    "prometheusds",
    "lokids",
    "juju_model",
    "juju_model_uuid",
    "juju_application",
    "juju_unit",
}
DATASOURCE_VARIABLES = {"prometheusds": "prometheus", "lokids": "loki"}  # name: type
GRAFANA_GLOBALS = {
    "__interval", "__interval_ms", "__rate_interval", "__rate_interval_ms", "__range",
    "__range_s", "__range_ms", "__from", "__to", "__dashboard", "__name", "__org", "__user",
    "__timeFilter", "__timezone", "timeFilter", "__all_variables", "__url_time_range",
}  # fmt: skip
_VARIABLE = re.compile(r"\$\{([a-zA-Z0-9_]+)(?::[^}]*)?\}|\$([a-zA-Z0-9_]+)|\[\[([a-zA-Z0-9_]+)")
# Values for Grafana's own variables when a query is handed to promtool.
_SUBSTITUTES = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' collapsed panels included."""
    for panel in dashboard.get("panels") or []:
        yield panel
        yield from panels(panel)


def structure_problems(dashboard: Any) -> list[str]:
    """Why Grafana would not import the dashboard as it is meant."""
    if not isinstance(dashboard, dict):
        return ["not a JSON object"]
    problems = []
    if not str(dashboard.get("title") or "").strip():
        problems.append("no title")
    if not isinstance(dashboard.get("panels"), list):
        problems.append("no panels list")
        return problems
    seen: dict[int, str] = {}
    for panel in panels(dashboard):
        title = panel.get("title", "?")
        panel_id = panel.get("id")
        if not isinstance(panel_id, int) or isinstance(panel_id, bool):
            problems.append(f"panel {title!r}: id {panel_id!r} is not a number")
        elif panel_id in seen:
            problems.append(f"panel {title!r}: id {panel_id} already used by {seen[panel_id]!r}")
        else:
            seen[panel_id] = title
    return problems


def _defined_variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    templating = dashboard.get("templating") or {}
    return {v["name"]: v for v in templating.get("list") or [] if isinstance(v, dict)}


def _datasource_uid(datasource: Any) -> str | None:
    if datasource is None:
        return None
    if isinstance(datasource, dict):
        return str(datasource.get("uid", ""))
    return str(datasource)


def datasource_problems(dashboard: dict[str, Any]) -> list[str]:
    """Datasource references that no COS Grafana can resolve."""
    defined = _defined_variables(dashboard)
    problems = [
        f"variable {name!r} is injected by COS; a second definition duplicates it"
        for name in defined
        if name in COS_VARIABLES
    ]
    for panel in panels(dashboard):
        if panel.get("targets") and _datasource_uid(panel.get("datasource")) is None:
            problems.append(f"panel {panel.get('title')!r}: no panel datasource")
        refs = [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets", [])]
        for ref in refs:
            uid = _datasource_uid(ref)
            if uid is None or uid in ("-- Mixed --", "-- Dashboard --", "-- Grafana --"):
                continue
            match = re.fullmatch(r"\$\{?([a-zA-Z0-9_]+)\}?", uid)
            name = match.group(1) if match else None
            if name in DATASOURCE_VARIABLES:
                kind = ref.get("type") if isinstance(ref, dict) else None
                if kind not in (None, DATASOURCE_VARIABLES[name]):
                    problems.append(f"panel {panel.get('title')!r}: {kind} type for ${name}")
                continue
            problems.append(
                f"panel {panel.get('title')!r}: datasource {uid!r} is not ${{prometheusds}} "
                "or ${lokids}"
            )
    return list(dict.fromkeys(problems))


def queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, expression) of every Prometheus query."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield panel.get("title", "?"), target["expr"]


def variable_problems(dashboard: dict[str, Any]) -> list[str]:
    """Variables used by queries that nobody defines."""
    known = set(_defined_variables(dashboard)) | COS_VARIABLES | GRAFANA_GLOBALS
    problems = []
    for title, expr in queries(dashboard):
        for match in _VARIABLE.finditer(expr):
            name = next(g for g in match.groups() if g)
            if name not in known:
                problems.append(f"panel {title!r}: ${name} is not defined")
    return problems


def for_promtool(expr: str) -> str:
    """The query with Grafana's variables replaced by values, as Grafana sends it."""

    def value(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        return _SUBSTITUTES.get(name, "x")

    return _VARIABLE.sub(value, expr).replace("]]", "")


def known_metrics(catalogue_file: Path, charm: str) -> set[str] | None:
    """Sample names the charm's scrape targets export (None when the catalogue lacks it)."""
    catalogue = yaml.safe_load(catalogue_file.read_text())
    entry = catalogue["charms"].get(charm)
    if entry is None:
        return None
    families: dict[str, str] = dict(entry.get("metrics") or {})
    for library in entry.get("libraries", []):
        families.update(catalogue["libraries"][library])
    names = set()
    for family, kind in families.items():
        names.add(family)
        if kind in ("histogram", "summary"):
            names |= {f"{family}_sum", f"{family}_count"}
        if kind == "histogram":
            names.add(f"{family}_bucket")
    return names


def unknown_metrics(expressions: list[str], known: set[str]) -> set[str]:
    """Metric names the expressions read that the workload does not export."""
    used = {name for expr in expressions for name in metric_names(expr)}
    return used - known
