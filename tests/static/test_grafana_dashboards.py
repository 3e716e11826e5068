"""Every charm's Grafana dashboard: importable by COS' Grafana and querying metrics that exist.

The rules and their sources are in tests/grafana.py. Queries are handed to promtool (Debian's
`prometheus` package) as recording rules, so their PromQL is parsed by Prometheus itself, and
their metric names must be ones the charm's scrape targets export
(data/workload_metrics.yaml, each family with its upstream source) - the same catalogue the
charm's alert rules are held to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from alert_rules import promtool_or_skip, run_promtool
from bundles import ROOT
from grafana import (
    datasource_problems,
    for_promtool,
    known_metrics,
    queries,
    structure_problems,
    unknown_metrics,
    variable_problems,
)

CATALOGUE = Path(__file__).parent / "data" / "workload_metrics.yaml"
DASHBOARDS = sorted(ROOT.glob("charms/*/src/grafana_dashboards/*.json"))
RULE_FILES = sorted(ROOT.glob("charms/*/src/prometheus_alert_rules/*.rules"))


def charm_of(path: Path) -> str:
    return path.parent.parent.parent.name


def load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def promtool() -> str:
    return promtool_or_skip()


def test_every_charm_dashboard_is_checked():
    assert {"dex", "kubeflow-seldon-core", "spark-operator"} <= {charm_of(p) for p in DASHBOARDS}


@pytest.mark.parametrize("path", DASHBOARDS, ids=charm_of)
def test_dashboard_imports_into_cos_grafana(path: Path):
    dashboard = load(path)
    assert structure_problems(dashboard) == []
    assert datasource_problems(dashboard) == []
    assert variable_problems(dashboard) == []
    assert list(queries(dashboard)), "a dashboard without a single query"


@pytest.mark.parametrize("path", DASHBOARDS, ids=charm_of)
def test_dashboard_queries_parse_in_prometheus(path: Path, promtool: str, tmp_path: Path):
    rules = [
        {"record": f"dashboard:query_{i}", "expr": for_promtool(expr)}
        for i, (_, expr) in enumerate(queries(load(path)))
    ]
    rule_file = tmp_path / "queries.rules"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = run_promtool(promtool, "check", "rules", str(rule_file))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", DASHBOARDS, ids=charm_of)
def test_dashboard_queries_only_exported_metrics(path: Path):
    known = known_metrics(CATALOGUE, charm_of(path))
    assert known is not None, f"list what {charm_of(path)}'s workload exports in {CATALOGUE}"
    assert unknown_metrics([expr for _, expr in queries(load(path))], known) == set()


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_alert_rules_only_read_exported_metrics(path: Path):
    known = known_metrics(CATALOGUE, path.parent.parent.parent.name)
    assert known is not None
    content = yaml.safe_load(path.read_text())
    exprs = [
        str(rule["expr"]).replace("%%juju_topology%%", 'juju_model="m"')
        for group in content["groups"]
        for rule in group["rules"]
    ]
    assert unknown_metrics(exprs, known) == set()


# -- the checks catch what they are for --------------------------------------------------------


def _row(panel_id: int, *children: dict[str, Any]) -> dict[str, Any]:
    return {"id": panel_id, "type": "row", "title": f"row {panel_id}", "panels": list(children)}


def _stat(panel_id: Any, expr: str = "up", uid: str = "${prometheusds}") -> dict[str, Any]:
    datasource = {"type": "prometheus", "uid": uid}
    return {
        "id": panel_id,
        "type": "stat",
        "title": f"stat {panel_id}",
        "datasource": datasource,
        "targets": [{"expr": expr, "datasource": datasource}],
    }


def test_a_duplicate_id_inside_a_collapsed_row_is_found():
    dashboard = {"title": "t", "panels": [_stat(1), _row(2, _stat(3), _stat(1))]}
    assert structure_problems(dashboard) == ["panel 'stat 1': id 1 already used by 'stat 1'"]


def test_missing_title_and_non_numeric_ids_are_found():
    assert structure_problems({"panels": [_stat("a")]}) == [
        "no title",
        "panel 'stat a': id 'a' is not a number",
    ]
    assert structure_problems([]) == ["not a JSON object"]


def test_a_fixed_datasource_is_found():
    dashboard = {"title": "t", "panels": [_stat(1, uid="P1809F7CD0C75ACF3")]}
    assert datasource_problems(dashboard) == [
        "panel 'stat 1': datasource 'P1809F7CD0C75ACF3' is not ${prometheusds} or ${lokids}"
    ]


def test_redefining_a_cos_variable_and_a_panel_without_datasource_are_found():
    panel = _stat(1)
    del panel["datasource"]
    dashboard = {
        "title": "t",
        "panels": [panel],
        "templating": {"list": [{"name": "prometheusds", "type": "datasource"}]},
    }
    assert datasource_problems(dashboard) == [
        "variable 'prometheusds' is injected by COS; a second definition duplicates it",
        "panel 'stat 1': no panel datasource",
    ]


def test_an_undefined_variable_is_found():
    dashboard = {"title": "t", "panels": [_stat(1, 'up{job=~"$job",juju_model=~"$juju_model"}')]}
    assert variable_problems(dashboard) == ["panel 'stat 1': $job is not defined"]


def test_an_unknown_metric_is_found():
    known = known_metrics(CATALOGUE, "dex")
    assert known is not None
    assert unknown_metrics(['sum(rate(dex_requests_total{code="500"}[5m]))'], known) == {
        "dex_requests_total"
    }
    assert (
        unknown_metrics(
            ["histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))"], known
        )
        == set()
    )


def test_promtool_rejects_a_broken_query(promtool: str, tmp_path: Path):
    rule_file = tmp_path / "q.rules"
    broken = for_promtool("sum(rate(up[$__rate_interval])")
    rule_file.write_text(
        yaml.safe_dump({"groups": [{"name": "d", "rules": [{"record": "q", "expr": broken}]}]})
    )
    assert run_promtool(promtool, "check", "rules", str(rule_file)).returncode != 0
