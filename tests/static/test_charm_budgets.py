"""The per-hook budgets every charm keeps.

No Kubernetes write when nothing changed, and a handful of log records per hook (under Juju,
ops hands each record to its own `juju-log` process).

The figures come from tools/bench_writes.py, the same Scenario run `tox -e bench` reports.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CHARM_DIRS, ROOT

sys.path.insert(0, str(ROOT / "tools"))
from bench import BUDGET_LOGS, EVENTS

# ops itself writes three DEBUG records per dispatch ("up and running", storage, "Emitting
# Juju event"): a count below that would mean the counter saw nothing.
OPS_RECORDS_PER_HOOK = 3


def counts(charm_dir: Path) -> dict[str, list[int]]:
    path = [str(charm_dir / "src"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}
    out = subprocess.run(  # noqa: S603 - this repository's own tool
        [sys.executable, str(ROOT / "tools" / "bench_writes.py"), str(charm_dir), *EVENTS],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


@pytest.fixture(scope="module", params=CHARM_DIRS, ids=[d.name for d in CHARM_DIRS])
def measured(request: pytest.FixtureRequest) -> dict[str, list[int]]:
    return counts(request.param)


def test_no_kubernetes_write_when_nothing_changed(measured: dict[str, list[int]]):
    # EVENTS ends with update-status and an unchanged config-changed
    assert measured["writes"][-2:] == [0, 0]


def test_a_handful_of_log_records_per_hook(measured: dict[str, list[int]]):
    assert all(OPS_RECORDS_PER_HOOK <= n <= BUDGET_LOGS for n in measured["logs"]), measured
