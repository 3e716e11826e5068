"""Every charm's Prometheus alert rules, as COS delivers them, checked by promtool itself.

- `promtool check rules` accepts the rule file our provider publishes (PromQL syntax, `for`
  durations, label names, annotation templates).
- Every selector is scoped to the application with `%%juju_topology%%` (see tests/alert_rules.py).
- `promtool test rules` runs each charm's unit tests (`tests/unit/alert_tests/`): every alert
  fires on a series that should trigger it and stays silent on a healthy one, and on a failing
  series of another application in the same model.
promtool comes from Debian's `prometheus` package (`.ci/run` installs it); without it these
tests skip locally and fail in CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alert_rules import (
    RuleSet,
    coverage_gaps,
    expand_tests,
    promtool_or_skip,
    rendered,
    rule_sets,
    run_promtool,
    unscoped_selectors,
    write_rules,
)
from bundles import ROOT
from dsplib.observability import Topology

RULE_SETS = rule_sets(ROOT)
RULE_FILES = [(rules, path) for rules in RULE_SETS for path in rules.rule_files()]


@pytest.fixture(scope="module")
def promtool() -> str:
    return promtool_or_skip()


def test_every_rule_directory_is_checked():
    """A charm whose rules this module would not find would go unchecked."""
    on_disk = {p.parent for p in ROOT.glob("charms/*/src/prometheus_alert_rules/*")}
    on_disk |= {p.parent for p in (ROOT / "lib").glob("**/prometheus_alert_rules/*")}
    assert on_disk == {r.rules_dir for r in RULE_SETS}
    assert {"dex", "kubeflow-seldon-core", "spark-operator"} <= {r.name for r in RULE_SETS}


@pytest.mark.parametrize("rules", RULE_SETS, ids=lambda r: r.name)
def test_promtool_accepts_the_published_rules(rules: RuleSet, promtool: str, tmp_path: Path):
    published = rendered(rules)
    assert published, f"{rules.rules_dir} holds no rules"
    path = write_rules(published, tmp_path / f"{rules.topology.application}.rules")
    result = run_promtool(promtool, "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(("rules", "path"), RULE_FILES, ids=lambda x: getattr(x, "name", ""))
def test_every_selector_is_scoped_to_the_application(rules: RuleSet, path: Path):
    assert unscoped_selectors(path) == [], f"add {{%%juju_topology%%}} in {path}"


@pytest.mark.parametrize(("rules", "path"), RULE_FILES, ids=lambda x: getattr(x, "name", ""))
def test_alerts_fire_when_they_should_and_only_then(
    rules: RuleSet, path: Path, promtool: str, tmp_path: Path
):
    test_file = rules.tests_dir / f"{path.stem}.yaml"
    assert test_file.is_file(), f"write promtool unit tests for {path} in {test_file}"
    published = load_file_rules(rules, path)
    rule_file = write_rules(published, tmp_path / path.name, annotations=False)
    tests = expand_tests(rules, test_file, rule_file)
    assert coverage_gaps(published, tests) == []
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = run_promtool(promtool, "test", "rules", str(tmp_path / "tests.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("charm", "alert", "down_job", "up_job"),
    [
        ("kubeflow-seldon-core", "SeldonOperatorDown", "models", "manager"),
        ("spark-operator", "SparkOperatorDown", "webhook", "controller"),
        ("spark-operator", "SparkOperatorWebhookDown", "controller", "webhook"),
    ],
)
def test_an_alert_about_one_job_ignores_the_others_whatever_the_model_name(
    charm: str, alert: str, down_job: str, up_job: str, promtool: str, tmp_path: Path
):
    """A job alert matches its job's name only, not the model name before it.

    Job names start with the model and application names (`juju_<model>_...`): an alert about
    the `manager` job must not catch the `models` job in a model named `...manager...`.
    """
    base = next(r for r in RULE_SETS if r.name == charm)
    t = base.topology
    topology = Topology(
        "manager-controller-webhook", t.model_uuid, t.application, t.unit, t.charm_name
    )
    rules = RuleSet(charm, base.rules_dir, tmp_path, topology)
    rule_file = write_rules(rendered(rules), tmp_path / "rules.rules", annotations=False)
    series = [
        {
            "series": f'up{{%%juju_topology%%, instance="a", job="%%job:{down_job}%%"}}',
            "values": "0x20",
        },
        {
            "series": f'up{{%%juju_topology%%, instance="b", job="%%job:{up_job}%%"}}',
            "values": "1x20",
        },
    ]
    case = {"interval": "1m", "input_series": series}
    case["alert_rule_test"] = [{"eval_time": "10m", "alertname": alert, "exp_alerts": []}]
    (tmp_path / "case.yaml").write_text(yaml.safe_dump({"tests": [case]}))
    tests = expand_tests(rules, tmp_path / "case.yaml", rule_file)
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests))
    result = run_promtool(promtool, "test", "rules", str(tmp_path / "tests.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr


def load_file_rules(rules: RuleSet, path: Path) -> dict:
    """The published groups that come from `path`.

    Our provider names them after the file's groups (or the file, for a single rule),
    prefixed with the topology identifier.
    """
    content = yaml.safe_load(path.read_text())
    is_rule_file = isinstance(content, dict) and "groups" in content
    names = {g["name"] for g in content["groups"]} if is_rule_file else {path.stem}
    wanted = {f"{rules.topology.identifier}_{n}_alerts" for n in names}
    return {"groups": [g for g in rendered(rules)["groups"] if g["name"] in wanted]}


# -- the checks catch what they are for --------------------------------------------------------


def _dex() -> RuleSet:
    return next(r for r in RULE_SETS if r.name == "dex")


def test_promtool_rejects_a_broken_rule(promtool: str, tmp_path: Path):
    broken_dir = tmp_path / "prometheus_alert_rules"
    broken_dir.mkdir()
    (broken_dir / "broken.rules").write_text(
        "groups:\n- name: broken\n  rules:\n  - alert: Broken\n"
        "    expr: sum(rate(up{%%juju_topology%%}[5m]) > 1\n    for: 5m\n"
    )
    rules = RuleSet("broken", broken_dir, tmp_path, _dex().topology)
    path = write_rules(rendered(rules), tmp_path / "broken.rules")
    result = run_promtool(promtool, "check", "rules", str(path))
    assert result.returncode != 0
    assert "Broken" in result.stdout + result.stderr or "parse error" in result.stderr


def test_promtool_test_fails_when_an_alert_is_expected_on_healthy_series(
    promtool: str, tmp_path: Path
):
    dex = _dex()
    rule_file = write_rules(rendered(dex), tmp_path / "dex.rules", annotations=False)
    (tmp_path / "wrong.yaml").write_text(
        "tests:\n- interval: 1m\n  input_series:\n"
        '  - series: \'up{%%juju_topology%%, instance="dex:5558", job="%%job%%"}\'\n'
        "    values: '1x20'\n  alert_rule_test:\n  - eval_time: 10m\n    alertname: DexDown\n"
        "    exp_alerts:\n    - exp_labels: {severity: critical}\n"
    )
    tests = expand_tests(dex, tmp_path / "wrong.yaml", rule_file)
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests))
    result = run_promtool(promtool, "test", "rules", str(tmp_path / "tests.yaml"))
    assert result.returncode != 0
    assert "DexDown" in result.stdout + result.stderr


def test_an_unscoped_selector_is_reported(tmp_path: Path):
    path = tmp_path / "x.rules"
    path.write_text(
        "groups:\n- name: x\n  rules:\n  - alert: X\n"
        "    expr: sum(rate(a{%%juju_topology%%}[5m])) / sum(rate(b{code='500'}[5m])) > 1\n"
    )
    assert unscoped_selectors(path) == ["X: b{code='500'}"]


def test_an_alert_without_a_silent_case_is_reported():
    rules = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up < 1"}]}]}
    tests = {"tests": [{"alert_rule_test": [{"alertname": "A", "exp_alerts": [{}]}]}]}
    assert coverage_gaps(rules, tests) == ["A: no test where it stays silent"]
