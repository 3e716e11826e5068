"""Recorded charm states, and the check every later revision passes from each (tests only).

A charm revision leaves state behind that the next revision inherits on `juju refresh`: its
stored state, the Juju secrets it owns, the relation data it wrote and the Kubernetes objects
it applied (with their labels and content hashes), next to users' objects it must never
touch. `record` turns what a Scenario run left (output state and `FakeKubernetes`) into a small,
deterministic JSON fixture; `restore` turns a fixture back into a Scenario state and cluster;
`check_upgrade` runs what Juju runs on a Kubernetes refresh from that state and checks:

- no hook error (Scenario raises the charm's exception);
- no Kubernetes write for an object whose content did not change (an apply only where this
  revision renders other content or a new object, a delete only of a recorded object that
  this revision no longer renders);
- every object recorded as ours that this revision no longer renders is pruned, except a
  CustomResourceDefinition that users' objects still need;
- users' objects (those without our labels) are all still there, unchanged;
- the secrets the charm owns keep their content (a webhook CA or a backup key that changed
  would break what depends on it) and the relation data it writes is the same, unless the
  test names the secret or endpoint that a revision changes on purpose;
- the unit ends in the status it had.

Juju's Kubernetes refresh runs stop (old charm), upgrade-charm, config-changed, start and
pebble-ready (https://documentation.ubuntu.com/ops/latest/reference/ - event upgrade-charm,
"Emission sequence"), and recreates the charm's container, so stored state is lost
(https://documentation.ubuntu.com/ops/latest/howto/manage-stored-state.html): each fixture is
checked both with its stored state kept and with it lost.

The rule for charm authors: fixtures live in `charms/<name>/tests/unit/upgrade_states/`, one
per revision that changed what the charm stores, named after its date. A revision that changes
the shape of what it stores (stored-state keys, owned secret labels and fields, relation keys,
the objects it applies) records a new fixture with `tools/record_state.py` and keeps every old
one: users refresh from any of them.
"""

from __future__ import annotations

import copy
import datetime
import json
import re
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops import testing

from dsplib import certificates
from dsplib.kubernetes import CREATED_BY_LABEL, DIGEST_ANNOTATION, Inventory
from dsplib.testing import FakeKubernetes

FORMAT = 1
FIXTURE_DIR = Path("tests") / "unit" / "upgrade_states"
MODEL_UUID = "5b3c8f4e-2a7d-4c1e-9f0a-6d2e8b1c3a47"
SECRET_ID = re.compile(r"secret:[0-9a-zA-Z:/_-]+")
CRD = "CustomResourceDefinition"
FAR_FUTURE = datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)

Event = Callable[[testing.Context, testing.State], Any]


@dataclass
class Scenario:
    """What a charm's recording runs: a starting state, events, and users' objects."""

    app: str
    state: testing.State
    events: list[Event]
    users_objects: list[dict[str, Any]] = field(default_factory=list)


def full_events(state: testing.State) -> list[Event]:
    """A deployment's life up to steady state, as events.

    Install, leadership, config, start, Pebble, every relation created, joined and changed,
    then update-status.
    """
    events: list[Event] = [
        lambda ctx, s: ctx.on.install(),
        lambda ctx, s: ctx.on.leader_elected(),
        lambda ctx, s: ctx.on.config_changed(),
        lambda ctx, s: ctx.on.start(),
    ]
    for container in sorted(state.containers, key=lambda c: c.name):
        events.append(
            lambda ctx, s, name=container.name: ctx.on.pebble_ready(s.get_container(name))
        )
    for relation in sorted(state.relations, key=lambda r: r.id):
        rid = relation.id
        events.append(lambda ctx, s, rid=rid: ctx.on.relation_created(s.get_relation(rid)))
        for unit in sorted(getattr(relation, "remote_units_data", {})):
            events += [
                lambda ctx, s, rid=rid, u=unit: ctx.on.relation_joined(
                    s.get_relation(rid), remote_unit=u
                ),
                lambda ctx, s, rid=rid, u=unit: ctx.on.relation_changed(
                    s.get_relation(rid), remote_unit=u
                ),
            ]
    events.append(lambda ctx, s: ctx.on.update_status())
    return events


def s3_relation(rid: int, bucket: str, endpoint: str = "http://rgw.ceph.example:80") -> Any:
    """s3-integrator's side of an `s3` relation, with test keys."""
    data = {
        "access-key": "ACCESS",
        "secret-key": "SECRET-KEY-VALUE",
        "bucket": bucket,
        "endpoint": endpoint,
        "region": "default",
        "s3-uri-style": "path",
    }
    return testing.Relation(
        "s3-credentials", id=rid, remote_app_name="s3-integrator", remote_app_data=data
    )


def cos_relations(first_id: int) -> set[Any]:
    """metrics-endpoint, grafana-dashboard and logging as COS relates to a charm."""
    loki = {"endpoint": json.dumps({"url": "http://loki-0.loki:3100/loki/api/v1/push"})}
    return {
        testing.Relation("metrics-endpoint", id=first_id, remote_app_name="prometheus"),
        testing.Relation("grafana-dashboard", id=first_id + 1, remote_app_name="grafana"),
        testing.Relation(
            "logging", id=first_id + 2, remote_app_name="loki", remote_units_data={0: loki}
        ),
    }


# -- determinism -----------------------------------------------------------------------------


def fixed_certificate(
    dns_names: tuple[str, ...], now: Any = None
) -> certificates.WebhookCertificate:
    """A stand-in for `certificates.generate` while recording: same fields, no random keys.

    Real keys would differ on every recording; the charm only passes the PEM texts on, so
    recognisable placeholders keep fixtures stable and free of private keys.
    """
    pem = "-----BEGIN {0}-----\nUkVDT1JERUQgRk9SIFVQR1JBREUgVEVTVFM=\n-----END {0}-----\n"
    return certificates.WebhookCertificate(
        ca=pem.format("CERTIFICATE"),
        cert=pem.format("CERTIFICATE"),
        key=pem.format("PRIVATE KEY"),
        not_after=FAR_FUTURE,
        dns_names=tuple(dns_names),
    )


def placeholder_certificates(monkeypatch: Any) -> None:
    """Webhook certificates as the fixtures hold them, for recording and replaying.

    New certificates are `fixed_certificate`s, and the placeholders are taken as sound: they
    are not PEM, so `WebhookCertificate.problem` would refuse them and a leader would replace
    the recorded certificate on every refresh.
    """
    monkeypatch.setattr(certificates, "generate", fixed_certificate)
    monkeypatch.setattr(certificates.WebhookCertificate, "problem", lambda self: None)


# -- recording -------------------------------------------------------------------------------


def run(ctx: testing.Context, scenario: Scenario, kube: FakeKubernetes) -> testing.State:
    """Run the scenario's events in turn, users' objects already in the cluster.

    The grafana_dashboard databag carries a random uuid (it makes every change an event for
    Grafana); a counter stands in for it so that recordings compare.
    """
    from dsplib import observability

    kube.add(*scenario.users_objects)
    state = scenario.state
    counter = iter(range(1, 1_000_000))
    stable = lambda: uuid.UUID(int=next(counter))  # noqa: E731 - a stand-in for uuid4
    real = observability.uuid.uuid4
    observability.uuid.uuid4 = stable  # type: ignore[assignment]
    try:
        for event in scenario.events:
            state = ctx.run(event(ctx, state), state)
    finally:
        observability.uuid.uuid4 = real  # type: ignore[assignment]
    return state


def record(out: testing.State, kube: FakeKubernetes, *, app: str, revision: str) -> dict[str, Any]:
    """The fixture of what a run left: state, owned secrets, relation data, cluster objects."""
    ids = _secret_ids(out.secrets)
    fixture = {
        "format": FORMAT,
        "app": app,
        "revision": revision,
        "status": _status(out.unit_status),
        "state": {
            "leader": out.leader,
            "config": dict(out.config),
            "model": out.model.name,
            "stored_states": sorted(
                (
                    {"owner_path": s.owner_path, "name": s.name, "content": dict(s.content)}
                    for s in out.stored_states
                ),
                key=lambda s: (s["owner_path"] is not None, s["owner_path"] or "", s["name"]),
            ),
            "secrets": sorted(
                (_secret_record(s, ids) for s in out.secrets), key=lambda s: s["id"]
            ),
            "relations": sorted(
                (_relation_record(r) for r in out.relations), key=lambda r: r["id"]
            ),
            "containers": sorted(c.name for c in out.containers),
        },
        "kubernetes": {
            "ours": sorted(
                (_outlined(o) for o in kube.objects.values() if _is_ours(o, app)), key=_ref
            ),
            "users": sorted(
                (copy.deepcopy(o) for o in kube.objects.values() if not _is_ours(o, app)),
                key=_ref,
            ),
        },
    }
    return json.loads(_replace_ids(json.dumps(fixture), ids))


def dumps(fixture: Mapping[str, Any]) -> str:
    """Stable JSON text of a fixture (sorted keys, one item a line where it helps diffs)."""
    return json.dumps(fixture, indent=1, sort_keys=True) + "\n"


def fixtures(charm_dir: Path) -> list[Path]:
    """Every recorded fixture of a charm, oldest first."""
    return sorted((charm_dir / FIXTURE_DIR).glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    """A fixture; fails on a format this module does not read."""
    fixture = json.loads(path.read_text())
    assert fixture.get("format") == FORMAT, f"{path}: unknown fixture format"
    return fixture


def shape(fixture: Mapping[str, Any]) -> dict[str, Any]:
    """What a fixture says the charm stores, without the values (content hashes, keys)."""
    state = fixture["state"]
    return {
        "stored_states": sorted(
            (s["owner_path"] or "", s["name"], sorted(s["content"]))
            for s in state["stored_states"]
        ),
        "secrets": sorted(
            (s["owner"] or "", s["label"] or "", sorted(s["content"])) for s in state["secrets"]
        ),
        "relations": sorted(
            (r["endpoint"], sorted(r["local_app_data"]), sorted(r["local_unit_data"]))
            for r in state["relations"]
        ),
        "objects": sorted(_ref(o) for o in fixture["kubernetes"]["ours"]),
    }


def context(module: Any) -> testing.Context:
    """The Scenario context of a charm's upgrade_scenario module (its CHARM and APP)."""
    return testing.Context(module.CHARM, app_name=module.APP)


def each_recorded_state(paths: list[Path]) -> Callable[[Callable[..., Any]], Any]:
    """Parametrize a test with `path` (every fixture) and `stored_state` (kept, lost)."""
    import pytest

    def decorate(test: Callable[..., Any]) -> Any:
        test = pytest.mark.parametrize("stored_state", [True, False], ids=["kept", "lost"])(test)
        return pytest.mark.parametrize("path", paths, ids=[p.stem for p in paths])(test)

    return decorate


def check_newest_shape(module: Any, kube: FakeKubernetes, paths: list[Path]) -> None:
    """What this revision stores has the shape of the newest fixture, or a fixture is due."""
    assert paths, f"{module.APP} has no upgrade fixture: run tools/record_state.py"
    out = run(context(module), module.scenario(), kube)
    now = record(out, kube, app=module.APP, revision="now")
    assert shape(now) == shape(load(paths[-1])), (
        f"{module.APP} stores something new: record a fixture with tools/record_state.py "
        f"and keep {paths[-1].name} and the older ones"
    )


def charm_tests(
    module: Any, after_refresh: Callable[..., None] | None = None
) -> tuple[Callable[..., None], Callable[..., None]]:
    """The two upgrade tests of a charm, for its test module to bind to test_ names.

    `module` is the charm's tests/unit/upgrade_scenario.py (CHARM, APP, scenario(),
    deterministic()); the fixtures are found next to it, wherever pytest runs from.
    `after_refresh(ctx, kube, fixture, out)` adds the charm's own checks of users' work.
    """
    paths = fixtures(Path(module.__file__).resolve().parents[2])

    @each_recorded_state(paths)
    def refresh(kube: FakeKubernetes, monkeypatch: Any, path: Path, stored_state: bool) -> None:
        module.deterministic(monkeypatch)
        ctx = context(module)
        fixture = load(path)
        out = check_upgrade(ctx, kube, fixture, stored_state=stored_state)
        if after_refresh is not None:
            after_refresh(ctx, kube, fixture, out)

    def newest_shape(kube: FakeKubernetes, monkeypatch: Any) -> None:
        module.deterministic(monkeypatch)
        check_newest_shape(module, kube, paths)

    return refresh, newest_shape


# -- restoring -------------------------------------------------------------------------------


def restore(fixture: Mapping[str, Any], *, stored_state: bool = True) -> testing.State:
    """The Scenario state a fixture recorded; without stored state if it was lost."""
    state = fixture["state"]
    return testing.State(
        leader=state["leader"],
        config=state["config"],
        model=testing.Model(name=state["model"], uuid=MODEL_UUID),
        stored_states=(
            {
                testing.StoredState(s["name"], owner_path=s["owner_path"], content=s["content"])
                for s in state["stored_states"]
            }
            if stored_state
            else set()
        ),
        secrets={_secret(s) for s in state["secrets"]},
        relations={_relation(r) for r in state["relations"]},
        # A refresh recreates the pod: workload containers come back with an empty plan.
        containers={testing.Container(name, can_connect=True) for name in state["containers"]},
    )


def restore_cluster(fixture: Mapping[str, Any], kube: FakeKubernetes) -> None:
    """Put the recorded objects, ours and users', back into the fake cluster."""
    kube.add(*fixture["kubernetes"]["ours"], *fixture["kubernetes"]["users"])


# -- the check -------------------------------------------------------------------------------


def refresh_events(state: testing.State) -> list[Event]:
    """The events the new charm sees on a Kubernetes refresh, in Juju's order."""
    events: list[Event] = [
        lambda ctx, s: ctx.on.upgrade_charm(),
        lambda ctx, s: ctx.on.config_changed(),
        lambda ctx, s: ctx.on.start(),
    ]
    for container in sorted(state.containers, key=lambda c: c.name):
        events.append(
            lambda ctx, s, name=container.name: ctx.on.pebble_ready(s.get_container(name))
        )
    return events


def check_upgrade(
    ctx: testing.Context,
    kube: FakeKubernetes,
    fixture: Mapping[str, Any],
    *,
    stored_state: bool = True,
    changed_secrets: Collection[str] = (),
    changed_relations: Collection[str] = (),
) -> testing.State:
    """Refresh into this revision from a recorded state; AssertionError says what went wrong.

    `changed_secrets` (labels) and `changed_relations` (endpoints) name what a later revision
    rewrites on purpose; everything else the charm owns must come through unchanged.
    """
    restore_cluster(fixture, kube)
    state = restore(fixture, stored_state=stored_state)
    kube.reset_calls()
    for event in refresh_events(state):
        state = ctx.run(event(ctx, state), state)
    app = fixture["app"]
    check_writes(fixture, kube, app)
    check_pruned(fixture, kube, state, app)
    check_users_objects(fixture, kube)
    check_secrets(fixture, state, changed_secrets)
    check_relation_data(fixture, state, changed_relations)
    assert _status(state.unit_status) == fixture["status"], (
        f"status after the refresh {_status(state.unit_status)} != recorded {fixture['status']}"
    )
    return state


def check_writes(fixture: Mapping[str, Any], kube: FakeKubernetes, app: str) -> None:
    """Applies only of new or changed objects, deletes only of recorded ones now gone."""
    before = {_call_key(o): _digest_of(o) for o in fixture["kubernetes"]["ours"]}
    after = {_call_key(o): _digest_of(o) for o in kube.objects.values() if _is_ours(o, app)}
    for verb, key in kube.writes:
        if verb == "apply":
            assert before.get(key) != after.get(key), f"{key} was applied again, unchanged"
        elif verb == "delete":
            assert key in before, f"{key} deleted, but it was not ours"
            assert key not in after, f"{key} deleted, though this revision renders it"
        else:
            raise AssertionError(f"unexpected {verb} of {key} on refresh")


def check_pruned(
    fixture: Mapping[str, Any], kube: FakeKubernetes, out: testing.State, app: str
) -> None:
    """Recorded objects this revision does not render are gone (CRDs users need excepted)."""
    rendered = _inventory_refs(out)
    users_kinds = {_group_kind(o) for o in kube.objects.values() if not _is_ours(o, app)}
    for recorded in fixture["kubernetes"]["ours"]:
        ref = _ref(recorded)
        if ref in rendered:
            continue
        name = f"{recorded['kind']} {ref[3]}"
        present = _find(kube, ref) is not None
        if recorded["kind"] == CRD and _crd_kind(recorded) in users_kinds:
            assert present, f"{name} deleted while users' objects need it"
        else:
            assert not present, f"{name} is no longer rendered and was not pruned"
    for ref in rendered:
        assert _find(kube, ref) is not None, f"{ref} is rendered but not in the cluster"


def check_users_objects(fixture: Mapping[str, Any], kube: FakeKubernetes) -> None:
    """Users' objects are all there, as they were."""
    for obj in fixture["kubernetes"]["users"]:
        meta = obj["metadata"]
        found = kube.find(obj["kind"], meta["name"], meta.get("namespace"))
        assert found is not None, f"users' {obj['kind']} {meta['name']} was deleted"
        assert found == obj, f"users' {obj['kind']} {meta['name']} was changed"


def check_secrets(
    fixture: Mapping[str, Any], out: testing.State, changed: Collection[str] = ()
) -> None:
    """Every secret the charm owned is still there with the same content."""
    now = {s.label: s for s in out.secrets if s.owner is not None}
    for recorded in fixture["state"]["secrets"]:
        label = recorded["label"]
        if recorded["owner"] is None or label in changed:
            continue
        assert label in now, f"owned secret {label} is gone"
        content = now[label].latest_content or now[label].tracked_content
        assert dict(content) == recorded["content"], f"owned secret {label} was rewritten"


def check_relation_data(
    fixture: Mapping[str, Any], out: testing.State, changed: Collection[str] = ()
) -> None:
    """The charm's side of every relation holds what it held."""
    for recorded in fixture["state"]["relations"]:
        if recorded["endpoint"] in changed:
            continue
        relation = out.get_relation(recorded["id"])
        for bag in ("local_app_data", "local_unit_data"):
            assert dict(getattr(relation, bag)) == recorded[bag], (
                f"{recorded['endpoint']}: {bag} changed on refresh"
            )


# -- helpers ---------------------------------------------------------------------------------


def _status(status: Any) -> list[str]:
    return [status.name, status.message]


def _secret_ids(secrets: Iterable[testing.Secret]) -> dict[str, str]:
    """Scenario's random secret ids -> stable ones, numbered in label order."""
    ordered = sorted(secrets, key=lambda s: (s.label or "", s.id))
    return {s.id: f"secret:upgrade-state-{i:02d}" for i, s in enumerate(ordered)}


def _replace_ids(text: str, ids: Mapping[str, str]) -> str:
    return SECRET_ID.sub(lambda m: ids.get(m.group(0), m.group(0)), text)


def _secret_record(secret: testing.Secret, ids: Mapping[str, str]) -> dict[str, Any]:
    content = secret.latest_content or secret.tracked_content
    return {
        "id": ids[secret.id],
        "label": secret.label,
        "owner": secret.owner,
        "content": dict(content),
        "remote_grants": {str(k): sorted(v) for k, v in secret.remote_grants.items()},
    }


def _secret(record: Mapping[str, Any]) -> testing.Secret:
    return testing.Secret(
        record["content"],
        id=record["id"],
        label=record["label"],
        owner=record["owner"],
        remote_grants={int(k): set(v) for k, v in record["remote_grants"].items()},
    )


def _relation_record(relation: Any) -> dict[str, Any]:
    return {
        "endpoint": relation.endpoint,
        "interface": relation.interface,
        "id": relation.id,
        "remote_app_name": relation.remote_app_name,
        "local_app_data": dict(relation.local_app_data),
        "local_unit_data": _without_juju_keys(relation.local_unit_data),
        "remote_app_data": dict(relation.remote_app_data),
        "remote_units_data": {
            str(unit): _without_juju_keys(data)
            for unit, data in relation.remote_units_data.items()
        },
    }


def _relation(record: Mapping[str, Any]) -> testing.Relation:
    return testing.Relation(
        record["endpoint"],
        record["interface"],
        id=record["id"],
        remote_app_name=record["remote_app_name"],
        local_app_data=record["local_app_data"],
        local_unit_data=record["local_unit_data"],
        remote_app_data=record["remote_app_data"],
        remote_units_data={int(k): v for k, v in record["remote_units_data"].items()},
    )


_JUJU_UNIT_KEYS = ("egress-subnets", "ingress-address", "private-address")


def _without_juju_keys(data: Mapping[str, str]) -> dict[str, str]:
    """A unit databag without the addresses Juju (and Scenario) put there."""
    return {k: v for k, v in data.items() if k not in _JUJU_UNIT_KEYS}


def _is_ours(obj: Mapping[str, Any], app: str) -> bool:
    return (obj.get("metadata", {}).get("labels") or {}).get(CREATED_BY_LABEL) == app


def _outlined(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy to record: a CRD keeps group, names, scope and versions, not its schema."""
    out = copy.deepcopy(dict(obj))
    if out["kind"] == CRD:
        spec = out.get("spec") or {}
        names = spec.get("names") or {}
        out["spec"] = {
            "group": spec.get("group"),
            "names": {"kind": names.get("kind"), "plural": names.get("plural")},
            "scope": spec.get("scope"),
            "versions": [
                {"name": v["name"], "served": v.get("served"), "storage": v.get("storage")}
                for v in spec.get("versions") or []
            ],
        }
    return out


def _digest_of(obj: Mapping[str, Any]) -> str | None:
    return (obj["metadata"].get("annotations") or {}).get(DIGEST_ANNOTATION)


def _ref(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata", obj)
    return (obj["apiVersion"], obj["kind"], meta.get("namespace") or "", meta["name"])


def _call_key(obj: Mapping[str, Any]) -> str:
    """An object as FakeKubernetes names it in its call log."""
    _, kind, namespace, name = _ref(obj)
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def _inventory_refs(out: testing.State) -> set[tuple[str, str, str, str]]:
    """What this revision applied, from the inventory it stored."""
    for stored in out.stored_states:
        text = stored.content.get("inventory")
        if isinstance(text, str):
            inventory = Inventory.loads(text)
            if inventory is not None:
                return {(r.api_version, r.kind, r.namespace or "", r.name) for r in inventory.refs}
    return set()


def _find(kube: FakeKubernetes, ref: tuple[str, str, str, str]) -> dict[str, Any] | None:
    return kube.find(ref[1], ref[3], ref[2] or None)


def _group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    return obj["apiVersion"].rpartition("/")[0], obj["kind"]


def _crd_kind(crd: Mapping[str, Any]) -> tuple[str, str]:
    """(group, kind) a CRD serves."""
    spec = crd.get("spec") or {}
    return spec.get("group") or "", (spec.get("names") or {}).get("kind") or ""
