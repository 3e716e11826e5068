"""Count the Kubernetes writes and log records a charm makes per event (for tools/bench.py).

Runs in the unit-test environment with the charm's src/ on PYTHONPATH:
    python tools/bench_writes.py charms/<name> install config-changed update-status ...
The charm runs as the leader with every workload container reachable; the same state is
carried from one event to the next. Printed as JSON: {"writes": [...], "logs": [...]}, one
number per event. Log records count at INFO and above (what Juju's default logging-config
sends to the controller), from the charm and its libraries, not from the test harness.
"""

from __future__ import annotations

import json
import logging
import sys

from ops import testing

from dsplib.manifests import KubernetesManifests
from dsplib.testing import FakeKubernetes


class RecordCounter(logging.Handler):
    """Counts the records at INFO and above, except the test harness's own (ops-scenario)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Count one record unless the harness wrote it."""
        if not record.name.startswith("ops-scenario"):
            self.count += 1


def main(events: list[str]) -> dict[str, list[int]]:
    """Writes and log records per event, in order."""
    import charm  # pyright: ignore[reportMissingImports] - from PYTHONPATH

    kube = FakeKubernetes()
    KubernetesManifests.client_factory = staticmethod(lambda app: kube)
    charm_class = next(
        v
        for v in vars(charm).values()
        if isinstance(v, type)
        and issubclass(v, charm.ops.CharmBase)
        and v is not charm.ops.CharmBase
    )
    ctx = testing.Context(charm_class)
    containers = {
        testing.Container(name, can_connect=True)
        for name in ctx.charm_spec.meta.get("containers", {})
    }
    state = testing.State(leader=True, containers=containers, model=testing.Model(name="kubeflow"))
    records = RecordCounter()
    logging.getLogger().addHandler(records)
    counts: dict[str, list[int]] = {"writes": [], "logs": []}
    for name in events:
        writes_before, logs_before = len(kube.writes), records.count
        event = getattr(ctx.on, name.replace("-", "_"))()
        state = ctx.run(event, state)
        counts["writes"].append(len(kube.writes) - writes_before)
        counts["logs"].append(records.count - logs_before)
    return counts


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[2:])))  # argv[1], the charm directory, is on PYTHONPATH
