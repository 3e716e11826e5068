"""Alert rules as COS delivers them to Prometheus, checked and unit-tested with promtool.

What COS does with a charm's `src/prometheus_alert_rules` (rule sources):
- The provider (our `dsplib.observability.load_alert_rules`, like cosl `rules.py`
  `Rules._from_dict`, canonical/cos-lib `src/cosl/rules.py`) prefixes every group name with
  `<model>_<uuid[:8]>_<application>`, adds the labels `juju_model`, `juju_model_uuid`,
  `juju_application`, `juju_charm` to every rule and replaces `%%juju_topology%%` in `expr`
  with the matchers of model, model UUID and application.
- cosl then lets cos-tool inject those matchers into *every* vector selector; the Prometheus
  charm does the same again on its side (`Rules.inject_alert_expr_labels`, same file). We do
  not ship cos-tool, so we require every selector to carry `%%juju_topology%%` itself
  (`unscoped_selectors`): the expression our provider renders is then the one Prometheus
  evaluates.
- Prometheus' scrape of a unit adds `juju_model`, `juju_model_uuid`, `juju_application`,
  `juju_charm`, `juju_unit` to every series and names the job
  `juju_<model>_<uuid[:8]>_<application>_prometheus_scrape_<job_name>-<unit number>`
  (canonical/prometheus-k8s-operator `lib/charms/prometheus_k8s/v0/prometheus_scrape.py`,
  `MetricsEndpointConsumer.jobs`, `PrometheusConfig.prefix_job_names`, `_labeled_unit_config`).
  The unit tests' series use the same labels and job names (placeholders below).

Unit tests live next to each charm, `charms/<charm>/tests/unit/alert_tests/<rules stem>.yaml`,
in promtool's test format (https://prometheus.io/docs/prometheus/latest/configuration/unit_testing_rules/)
without `rule_files`, which the harness adds. Placeholders, replaced before promtool runs:
`%%juju_topology%%` (the scrape labels of unit 0), `%%other_application%%` (the same labels for
another application of the model), `%%job%%` / `%%job:<name>%%` (the job label of a scrape job
without / with a `job_name`). Every expected alert gets the four rule topology labels added.
Annotations are removed from the rules promtool unit-tests (they are text, checked by
`promtool check rules`), so tests compare labels only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from dsplib.observability import ALERT_RULE_SUFFIXES, Topology, load_alert_rules
from promql import selectors

INSTALL_HINT = "apt-get install --no-install-recommends prometheus  # provides promtool"
PLACEHOLDER = "%%juju_topology%%"
MODEL = "kubeflow"
MODEL_UUID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
OTHER_APPLICATION = "another-app"


def promtool_or_skip() -> str:
    """Promtool's path; without it skip (install hint), or fail when CI is set."""
    path = shutil.which("promtool")
    if path is None:
        message = f"promtool is not installed: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the alert rule tests", pytrace=False)
        pytest.skip(message)
    return path


@dataclass(frozen=True)
class RuleSet:
    """One charm's alert rule directory and the topology it is deployed with."""

    name: str
    rules_dir: Path
    tests_dir: Path
    topology: Topology

    def rule_files(self) -> list[Path]:
        return sorted(p for p in self.rules_dir.iterdir() if p.suffix in ALERT_RULE_SUFFIXES)

    def job(self, job_name: str = "") -> str:
        """The job label Prometheus gives unit 0's scrape of `job_name`."""
        prefix = f"juju_{self.topology.identifier}_prometheus_scrape"
        return f"{prefix}_{job_name}-0" if job_name else f"{prefix}-0"

    def scrape_labels(self, application: str | None = None) -> str:
        """Labels of a series scraped from unit 0 (of `application`, default this one)."""
        app = application or self.topology.application
        labels = {
            "juju_model": self.topology.model,
            "juju_model_uuid": self.topology.model_uuid,
            "juju_application": app,
            "juju_charm": self.topology.charm_name,
            "juju_unit": f"{app}/0",
        }
        return ",".join(f'{k}="{v}"' for k, v in labels.items())


def rule_sets(root: Path) -> list[RuleSet]:
    """Every charm's rules (deployed under its bundle application name) and lib's demo rules."""
    bundle = yaml.safe_load((root / "bundle.yaml").read_text())["applications"]
    apps = {Path(str(spec.get("charm", ""))).stem: app for app, spec in bundle.items()}
    found = []
    for rules_dir in sorted(root.glob("charms/*/src/prometheus_alert_rules")):
        charm_dir = rules_dir.parent.parent
        charm = yaml.safe_load((charm_dir / "charmcraft.yaml").read_text())["name"]
        app = apps.get(charm, charm)
        tests_dir = charm_dir / "tests" / "unit" / "alert_tests"
        found.append(RuleSet(charm, rules_dir, tests_dir, _topology(app, charm)))
    for rules_dir in sorted((root / "lib").glob("**/prometheus_alert_rules")):
        name = rules_dir.parent.name
        tests_dir = rules_dir.parent / "alert_tests"
        found.append(RuleSet(f"lib/{name}", rules_dir, tests_dir, _topology(name, name)))
    return found


def _topology(application: str, charm: str) -> Topology:
    return Topology(MODEL, MODEL_UUID, application, f"{application}/0", charm)


def unscoped_selectors(rules_file: Path) -> list[str]:
    """`alert: selector` for every selector of the file without `%%juju_topology%%`."""
    content = yaml.safe_load(rules_file.read_text())
    if isinstance(content, dict) and "groups" in content:
        rules = [rule for group in content["groups"] for rule in group.get("rules", [])]
    else:  # the single-rule format: one rule, or a list of rules
        rules = content if isinstance(content, list) else [content]
    problems = []
    for rule in rules:
        expr = str(rule.get("expr", "")).replace(PLACEHOLDER, "_T_")
        for selector in selectors(expr):
            if "_T_" not in selector.matchers:
                name = rule.get("alert") or rule.get("record")
                problems.append(f"{name}: {selector.metric}{{{selector.matchers}}}")
    return problems


def rendered(rules: RuleSet) -> dict[str, Any]:
    """The `alert_rules` our provider publishes on the relation, as a Python dict."""
    return load_alert_rules(rules.rules_dir, rules.topology)


def write_rules(content: dict[str, Any], path: Path, *, annotations: bool = True) -> Path:
    if not annotations:
        content = {
            "groups": [
                {
                    **g,
                    "rules": [
                        {k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]
                    ],
                }
                for g in content["groups"]
            ]
        }
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def run_promtool(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - promtool with files this test wrote
        [promtool, *args], capture_output=True, text=True, timeout=120, check=False
    )


def expand_tests(rules: RuleSet, test_file: Path, rule_file: Path) -> dict[str, Any]:
    """A promtool test file from ours: placeholders replaced, topology labels added."""
    text = test_file.read_text()
    text = text.replace("%%other_application%%", rules.scrape_labels(OTHER_APPLICATION))
    text = text.replace(PLACEHOLDER, rules.scrape_labels())
    text = re.sub(r"%%job:([a-z0-9_-]+)%%", lambda m: rules.job(m.group(1)), text)
    text = text.replace("%%job%%", rules.job())
    content = yaml.safe_load(text)
    for case in content["tests"]:
        for alert_test in case.get("alert_rule_test", []):
            for alert in alert_test.get("exp_alerts", []):
                labels = alert.setdefault("exp_labels", {})
                for key, value in rules.topology.alert_labels.items():
                    labels.setdefault(key, value)
    return {"rule_files": [str(rule_file)], **content}


def coverage_gaps(rules: dict[str, Any], tests: dict[str, Any]) -> list[str]:
    """Alerts without a test where they fire, or without one where they stay silent."""
    fires: set[str] = set()
    silent: set[str] = set()
    for case in tests["tests"]:
        for alert_test in case.get("alert_rule_test", []):
            name = alert_test["alertname"]
            (fires if alert_test.get("exp_alerts") else silent).add(name)
    gaps = []
    for group in rules.get("groups", []):
        for rule in group["rules"]:
            name = rule.get("alert")
            if name is None:
                continue
            if name not in fires:
                gaps.append(f"{name}: no test where it fires")
            if name not in silent:
                gaps.append(f"{name}: no test where it stays silent")
    return gaps
