"""Run one of our charms against a remote databag and print what it wrote (for tests/static).

    python tools/wiring.py <charm dir> <spec.json>

spec.json: {"endpoint", "remote_app", "remote_app_data", "remote_unit_data", "config",
"secrets": [{"id", "content"}], "extra_relations": [{"endpoint", "remote_app",
"remote_app_data"}]}; extra relations are those the charm needs to do its job at all.
The charm runs as leader with its containers reachable and the Kubernetes API faked, first
installs, then sees relation-created, -joined and -changed.
Prints JSON: the unit status, the local app and unit databags, and the content of the secrets
the charm owns (where it sends credentials).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ops import testing

from dsplib.manifests import KubernetesManifests
from dsplib.testing import FakeKubernetes


def charm_class():
    """The CharmBase subclass of the charm module on PYTHONPATH."""
    import charm  # pyright: ignore[reportMissingImports]

    return next(
        v
        for v in vars(charm).values()
        if isinstance(v, type)
        and issubclass(v, charm.ops.CharmBase)
        and v is not charm.ops.CharmBase
    )


def run(spec: dict) -> dict:
    """The charm's view after the relation events."""
    kube = FakeKubernetes()
    KubernetesManifests.client_factory = staticmethod(lambda app: kube)
    ctx = testing.Context(charm_class())
    meta = ctx.charm_spec.meta
    containers = {testing.Container(n, can_connect=True) for n in meta.get("containers", {})}
    secrets = {
        testing.Secret(s["content"], id=s["id"], owner=None) for s in spec.get("secrets", [])
    }
    relation = testing.Relation(
        spec["endpoint"],
        remote_app_name=spec["remote_app"],
        remote_app_data=spec.get("remote_app_data", {}),
        remote_units_data={0: spec.get("remote_unit_data", {})},
    )
    extra = {
        testing.Relation(
            r["endpoint"], remote_app_name=r["remote_app"], remote_app_data=r["remote_app_data"]
        )
        for r in spec.get("extra_relations", [])
    }
    state = testing.State(
        leader=True,
        config=spec.get("config", {}),
        containers=containers,
        relations={relation, *extra},
        secrets=secrets,
        model=testing.Model(name="kubeflow"),
    )
    state = ctx.run(ctx.on.install(), state)
    for event in ("relation_created", "relation_joined", "relation_changed"):
        rel = state.get_relation(relation.id)
        trigger = getattr(ctx.on, event)
        state = ctx.run(
            trigger(rel) if event == "relation_created" else trigger(rel, remote_unit=0), state
        )
    final = state.get_relation(relation.id)
    return {
        "status": [state.unit_status.name, state.unit_status.message],
        "app_data": dict(final.local_app_data),
        "unit_data": dict(final.local_unit_data),
        "secrets": {s.id: s.latest_content for s in state.secrets if s.owner == "app"},
    }


if __name__ == "__main__":
    print(json.dumps(run(json.loads(Path(sys.argv[2]).read_text()))))
