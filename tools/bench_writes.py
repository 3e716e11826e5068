"""Count the Kubernetes writes and log records a charm makes per event (for tools/bench.py).

Runs in the unit-test environment with the charm's src/ on PYTHONPATH:
    python tools/bench_writes.py charms/<name> install config-changed update-status ...
The charm runs as the leader with every workload container reachable; the same state is
carried from one event to the next. Printed as JSON: {"writes": [...], "logs": [...]}, one
number per event. Log records are counted as Juju receives them (ops sends every record at
DEBUG and above to `juju-log`, one process each).
"""

from __future__ import annotations

import json
import sys

from ops import testing

from dsplib.manifests import KubernetesManifests
from dsplib.testing import FakeKubernetes


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
    counts: dict[str, list[int]] = {"writes": [], "logs": []}
    for name in events:
        writes, logs = len(kube.writes), len(ctx.juju_log)
        event = getattr(ctx.on, name.replace("-", "_"))()
        state = ctx.run(event, state)
        counts["writes"].append(len(kube.writes) - writes)
        counts["logs"].append(sum(not _from_scenario(line) for line in ctx.juju_log[logs:]))
    return counts


def _from_scenario(line: testing.JujuLogLine) -> bool:
    """Scenario's own warning about carrying a container's files into the next run."""
    return "non-empty filesystem that will be wiped" in line.message


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[2:])))  # argv[1], the charm directory, is on PYTHONPATH
