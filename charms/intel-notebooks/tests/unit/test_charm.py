"""Scenario tests of the intel-notebooks charm."""

import json

import pytest
from ops import testing

from conftest import MODEL
from dsplib.testing import FakeKubernetes, relation_event

DISPATCHER = testing.Relation("pod-defaults", remote_app_name="resource-dispatcher")
TRUST = testing.BlockedStatus("run: juju trust intel-notebooks --scope=cluster")


def state(*, leader=True, config=None, relations=(DISPATCHER,), **kw) -> testing.State:
    return testing.State(
        leader=leader, model=MODEL, config=config or {}, relations=set(relations), **kw
    )


def sent_poddefaults(out: testing.State) -> list[dict]:
    relation = next(r for r in out.relations if r.endpoint == "pod-defaults")
    return json.loads(relation.local_app_data["kubernetes_manifests"])


def mark_daemonset(kube: FakeKubernetes, ready: int, desired: int) -> None:
    ds = kube.get_object("DaemonSet", "intel-notebooks-prepull", "kubeflow")
    ds["metadata"]["generation"] = 1
    ds["status"] = {
        "observedGeneration": 1,
        "currentNumberScheduled": desired,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": desired,
        "numberReady": ready,
        "updatedNumberScheduled": desired,
    }


def test_install_sends_the_poddefault_and_starts_prepulling(ctx, kube):
    out = ctx.run(ctx.on.install(), state())
    [poddefault] = sent_poddefaults(out)
    assert poddefault["metadata"]["name"] == "intel-optimizations"
    ds = kube.get_object("DaemonSet", "intel-notebooks-prepull", "kubeflow")
    images = [c["image"] for c in ds["spec"]["template"]["spec"]["initContainers"]]
    assert len(images) == 3
    assert out.unit_status == testing.MaintenanceStatus("starting to pre-pull images")


def test_status_follows_prepull_progress(ctx, kube):
    out = ctx.run(ctx.on.install(), state())
    mark_daemonset(kube, ready=3, desired=4)
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.MaintenanceStatus("images cached on 3/4 nodes")
    mark_daemonset(kube, ready=4, desired=4)
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus()


def test_a_node_selector_that_matches_nothing_blocks(ctx, kube):
    out = ctx.run(ctx.on.install(), state(config={"node-selector": "gpu=yes"}))
    assert kube.get_object("DaemonSet", "intel-notebooks-prepull")["spec"]["template"]["spec"][
        "nodeSelector"
    ] == {"gpu": "yes"}
    mark_daemonset(kube, ready=0, desired=0)
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.BlockedStatus(
        "node-selector matches no node: fix it or leave it empty"
    )


def test_turning_prepull_off_deletes_the_daemonset(ctx, kube):
    out = ctx.run(ctx.on.install(), state())
    out = ctx.run(
        ctx.on.config_changed(), state(config={"prepull": False}, stored_states=out.stored_states)
    )
    assert kube.find("DaemonSet", "intel-notebooks-prepull") is None
    assert out.unit_status == testing.ActiveStatus()


def test_repeated_events_write_nothing(ctx, kube):
    out = ctx.run(ctx.on.install(), state())
    mark_daemonset(kube, ready=2, desired=2)
    kube.reset_calls()
    for event in (ctx.on.config_changed(), ctx.on.update_status(), ctx.on.config_changed()):
        out = ctx.run(event, out)
    assert kube.writes == []
    assert out.unit_status == testing.ActiveStatus()


def test_config_changes_reach_the_poddefault(ctx, kube):
    out = ctx.run(ctx.on.config_changed(), state(config={"omp-num-threads": "6"}))
    env = {e["name"]: e for e in sent_poddefaults(out)[0]["spec"]["env"]}
    assert env["OMP_NUM_THREADS"]["value"] == "6"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("images", "- UPPER"),
        ("omp-num-threads", "-1"),
        ("onednn-max-cpu-isa", "MMX"),
        ("node-selector", "=="),
        ("kmp-blocktime", -1),
    ],
)
def test_bad_config_blocks_naming_the_option_and_changes_nothing(ctx, kube, option, value):
    out = ctx.run(ctx.on.config_changed(), state(config={option: value}))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith(f"config {option}: expected")
    assert kube.calls == []
    relation = next(iter(out.relations))
    assert "kubernetes_manifests" not in relation.local_app_data


def test_without_resource_dispatcher_it_says_what_to_integrate(ctx, kube):
    out = ctx.run(ctx.on.install(), state(relations=()))
    assert out.unit_status == testing.BlockedStatus(
        "integrate pod-defaults with resource-dispatcher to reach profiles"
    )


@pytest.mark.parametrize("kind", ["joined", "changed", "broken"])
def test_pod_defaults_relation_events(ctx, kube, kind):
    relation = testing.Relation("pod-defaults", remote_app_data={"junk": "{"})
    event = relation_event(ctx, relation, kind)
    out = ctx.run(event, state(relations=[relation]))
    if kind == "broken":
        assert out.unit_status.name == "blocked"
    else:
        assert sent_poddefaults(out)[0]["kind"] == "PodDefault"


def test_forbidden_blocks_with_the_trust_command(ctx, kube):
    kube.fail(403)
    out = ctx.run(ctx.on.install(), state())
    assert out.unit_status == TRUST


def test_api_errors_wait_and_retry(ctx, kube):
    kube.fail(503, times=1)
    out = ctx.run(ctx.on.install(), state())
    assert out.unit_status.name == "waiting"
    out = ctx.run(ctx.on.update_status(), out)
    assert kube.find("DaemonSet", "intel-notebooks-prepull") is not None


def test_non_leader_only_reports(ctx, kube):
    out = ctx.run(ctx.on.install(), state(leader=False))
    assert kube.calls == []
    assert out.unit_status == testing.ActiveStatus()


def test_upgrade_writes_nothing_unless_the_cluster_lost_an_object(ctx, kube):
    out = ctx.run(ctx.on.install(), state())
    kube.reset_calls()
    out = ctx.run(ctx.on.upgrade_charm(), out)
    assert kube.writes == []
    kube.objects.pop(next(k for k in kube.objects if k[1] == "DaemonSet"))
    ctx.run(ctx.on.upgrade_charm(), out)
    assert kube.writes == [("apply", "DaemonSet/kubeflow/intel-notebooks-prepull")]


def _node(name, images, labels=None):
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels or {}},
        "status": {"images": [{"names": [i]} for i in images]},
    }


def test_image_report_action(ctx, kube):
    config = {"images": "- ghcr.io/o/scipy:1\n- ghcr.io/o/tf:1"}
    kube.objects[("v1", "Node", None, "n1")] = _node(
        "n1", ["ghcr.io/o/scipy:1"], {"feature.node.kubernetes.io/cpu-cpuid.AMXTILE": "true"}
    )
    kube.objects[("v1", "Node", None, "n2")] = _node("n2", ["ghcr.io/o/scipy:1", "ghcr.io/o/tf:1"])
    ctx.run(ctx.on.action("image-report", params={"format": "json"}), state(config=config))
    report = json.loads(ctx.action_results["report"])
    assert report[0] == {
        "node": "n1",
        "cached": ["ghcr.io/o/scipy:1"],
        "missing": ["ghcr.io/o/tf:1"],
        "cpu-features": ["AMX"],
    }
    assert report[1]["missing"] == []

    ctx.run(ctx.on.action("image-report"), state(config=config))
    assert "missing ghcr.io/o/tf:1" in ctx.action_results["report"]


def test_image_report_fails_cleanly(ctx, kube):
    kube.fail(403, verb="list")
    with pytest.raises(testing.ActionFailed) as info:
        ctx.run(ctx.on.action("image-report"), state())
    assert (
        info.value.message == "cannot read nodes: run: juju trust intel-notebooks --scope=cluster"
    )
    kube.heal()
    with pytest.raises(testing.ActionFailed, match="config images"):
        ctx.run(ctx.on.action("image-report"), state(config={"images": "[]"}))


def test_status_stays_blocked_after_an_action(ctx, kube):
    out = ctx.run(ctx.on.config_changed(), state(config={"images": "[]"}))
    with pytest.raises(testing.ActionFailed):
        ctx.run(ctx.on.action("image-report"), out)
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status.name == "blocked"


def test_remove_deletes_the_daemonset_only_with_the_application(ctx, kube):
    out = ctx.run(ctx.on.install(), state())
    ctx.run(ctx.on.remove(), state(planned_units=1, stored_states=out.stored_states))
    assert kube.find("DaemonSet", "intel-notebooks-prepull") is not None
    ctx.run(ctx.on.remove(), state(planned_units=0, stored_states=out.stored_states))
    assert kube.find("DaemonSet", "intel-notebooks-prepull") is None


def _tainted(name, key, effect="NoSchedule", value=""):
    node = _node(name, [])
    node["spec"] = {"taints": [{"key": key, "value": value, "effect": effect}]}
    return node


def test_tainted_nodes_are_reported_as_skipped_not_complete(ctx, kube):
    kube.objects[("v1", "Node", None, "w1")] = _node("w1", [])
    kube.objects[("v1", "Node", None, "gpu")] = _tainted("gpu", "nvidia.com/gpu", "NoExecute")
    out = ctx.run(ctx.on.install(), state())
    mark_daemonset(kube, ready=1, desired=1)  # the DaemonSet controller leaves "gpu" out
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus(
        "images cached on 1 of 2 nodes; 1 skipped for taints (set prepull-tolerations)"
    )
    tolerations = "[{key: nvidia.com/gpu, operator: Exists, effect: NoExecute}]"
    out = ctx.run(ctx.on.config_changed(), state(config={"prepull-tolerations": tolerations}))
    ds = kube.get_object("DaemonSet", "intel-notebooks-prepull", "kubeflow")
    assert ds["spec"]["template"]["spec"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}
    ]
    mark_daemonset(kube, ready=2, desired=2)
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus()


def test_only_tainted_nodes_blocks_naming_the_option(ctx, kube):
    kube.objects[("v1", "Node", None, "cp")] = _tainted(
        "cp", "node-role.kubernetes.io/control-plane"
    )
    out = ctx.run(ctx.on.install(), state())
    mark_daemonset(kube, ready=0, desired=0)
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.BlockedStatus(
        "pre-pull runs on no node: 1 selected nodes have taints it does not tolerate; "
        "set prepull-tolerations"
    )


def test_pull_secrets_reach_the_daemonset_and_must_exist(ctx, kube):
    config = {"prepull-image-pull-secrets": "mirror-creds"}
    out = ctx.run(ctx.on.install(), state(config=config))
    ds = kube.get_object("DaemonSet", "intel-notebooks-prepull", "kubeflow")
    assert ds["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "mirror-creds"}]
    mark_daemonset(kube, ready=2, desired=2)
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.BlockedStatus(
        "prepull-image-pull-secrets: no Secret mirror-creds in namespace kubeflow; "
        "create it or fix the option"
    )
    kube.objects[("v1", "Secret", "kubeflow", "mirror-creds")] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "mirror-creds", "namespace": "kubeflow"},
        "type": "kubernetes.io/dockerconfigjson",
    }
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("prepull-tolerations", "[{key: a, operator: Exists, value: b}]"),
        ("prepull-image-pull-secrets", "Not_A_Name"),
    ],
)
def test_bad_prepull_options_block_naming_them(ctx, kube, option, value):
    out = ctx.run(ctx.on.config_changed(), state(config={option: value}))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith(f"config {option}: expected")
    assert kube.calls == []
