"""Count the Kubernetes writes a charm makes per event (helper of tools/bench.py).

Runs in the unit-test environment with the charm's src/ on PYTHONPATH:
    python tools/bench_writes.py charms/<name> install config-changed update-status ...
The charm runs as the leader with every workload container reachable; the same state is
carried from one event to the next, and the writes of each event are printed as JSON.
"""

from __future__ import annotations

import json
import sys

from ops import testing

from dsplib.manifests import KubernetesManifests
from dsplib.testing import FakeKubernetes


def main(events: list[str]) -> list[int]:
    """Writes per event, in order."""
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
    counts = []
    for name in events:
        before = len(kube.writes)
        event = getattr(ctx.on, name.replace("-", "_"))()
        state = ctx.run(event, state)
        counts.append(len(kube.writes) - before)
    return counts


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[2:])))  # argv[1], the charm directory, is on PYTHONPATH
