"""The pre-pull DaemonSet against the Kubernetes rules the charm depends on.

intel-notebooks runs no workload container: its workload is the DaemonSet. Each fact names
the Kubernetes source (v1.32) it comes from; the tests render the DaemonSet and check it and
the status logic against them, with cases that must fail.
"""

from __future__ import annotations

from typing import Any

import pytest

import notebooks
from conftest import CONFIG_DEFAULTS
from dsplib import kubernetes
from dsplib.testing import validate_manifests
from dsplib.validation import InvalidConfig
from render import TEMPLATES

K8S = "kubernetes/kubernetes@v1.32.0"

# fact -> (value, source)
UPSTREAM: dict[str, tuple[Any, str]] = {
    "daemon pod tolerations": (
        {
            ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"),
            ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/pid-pressure", "NoSchedule"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
        },
        f"{K8S} pkg/controller/daemon/util/daemonset_util.go AddOrUpdateDaemonPodTolerations",
    ),
    "effects that keep a daemon pod off": (
        {"NoSchedule", "NoExecute"},
        f"{K8S} pkg/controller/daemon/daemon_controller.go predicates "
        "(FindMatchingUntoleratedTaint)",
    ),
    "taint effects": (
        {"NoSchedule", "PreferNoSchedule", "NoExecute"},
        f"{K8S} staging/src/k8s.io/api/core/v1/types.go TaintEffect",
    ),
    "toleration rules": (
        "key empty => operator Exists; Exists => no value; tolerationSeconds => NoExecute",
        f"{K8S} pkg/apis/core/validation/validation.go ValidateTolerations",
    ),
    "status counts": (
        ("desiredNumberScheduled", "numberReady", "updatedNumberScheduled"),
        f"{K8S} staging/src/k8s.io/api/apps/v1/types.go DaemonSetStatus "
        "(nodes that should run the pod: tainted ones excluded)",
    ),
    "pull secrets": (
        "imagePullSecrets: [{name}] in the pod spec, Secrets of the pod's namespace",
        f"{K8S} staging/src/k8s.io/api/core/v1/types.go PodSpec.ImagePullSecrets",
    ),
}


def fact(name: str) -> Any:
    return UPSTREAM[name][0]


def toleration_tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    """ToleratesTaint (staging/src/k8s.io/api/core/v1/toleration.go), written out again."""
    if toleration.get("effect") and toleration["effect"] != taint["effect"]:
        return False
    if toleration.get("key") and toleration["key"] != taint["key"]:
        return False
    operator = toleration.get("operator") or "Equal"
    return operator == "Exists" or (
        operator == "Equal" and toleration.get("value", "") == taint.get("value", "")
    )


def settings(**overrides) -> notebooks.Settings:
    return notebooks.Settings.from_config({**CONFIG_DEFAULTS, **overrides})


def daemonset(**overrides) -> dict[str, Any]:
    context = notebooks.manifest_context("intel-notebooks", "kubeflow", settings(**overrides))
    objects = kubernetes.render(TEMPLATES, context)
    return next(o for o in objects if o["kind"] == "DaemonSet")


def node(name: str, *taints: dict[str, str], labels=None) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"taints": list(taints)},
    }


TOLERATIONS = (
    "[{key: dedicated, operator: Equal, value: notebooks, effect: NoSchedule},"
    " {key: gpu, operator: Exists}]"
)


def test_every_fact_names_its_source():
    for name, (_value, source) in UPSTREAM.items():
        assert source.strip(), name


def test_the_charm_uses_the_daemon_controllers_tolerations_and_effects():
    assert {(t["key"], t["effect"]) for t in notebooks.DAEMONSET_TOLERATIONS} == fact(
        "daemon pod tolerations"
    )
    assert set(notebooks.BLOCKING_EFFECTS) == fact("effects that keep a daemon pod off")
    assert set(notebooks.TAINT_EFFECTS) == fact("taint effects")


@pytest.mark.parametrize(
    ("toleration", "taint", "expected"),
    [
        ({"key": "a", "operator": "Equal", "value": "x"}, {"key": "a", "value": "x"}, True),
        ({"key": "a", "operator": "Equal", "value": "x"}, {"key": "a", "value": "y"}, False),
        ({"key": "a", "value": "x"}, {"key": "a", "value": "x"}, True),
        ({"key": "a", "operator": "Exists"}, {"key": "a", "value": "y"}, True),
        ({"operator": "Exists"}, {"key": "b", "value": "y"}, True),
        ({"key": "a", "operator": "Exists", "effect": "NoExecute"}, {"key": "a"}, False),
        ({"key": "b", "operator": "Exists"}, {"key": "a"}, False),
    ],
)
def test_tolerates_follows_kubernetes(toleration, taint, expected):
    taint = {"effect": "NoSchedule", "value": "", **taint}
    assert toleration_tolerates(toleration, taint) is expected
    assert notebooks.tolerates(toleration, taint) is expected


def test_tainted_nodes_are_skipped_unless_tolerated():
    nodes = [
        node("plain"),
        node("cordoned", {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}),
        node("soft", {"key": "x", "value": "y", "effect": "PreferNoSchedule"}),
        node("dedicated", {"key": "dedicated", "value": "notebooks", "effect": "NoSchedule"}),
        node("gpu", {"key": "gpu", "value": "a100", "effect": "NoExecute"}),
        node("control", {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}),
    ]
    assert notebooks.skipped_nodes(nodes, settings()) == ["control", "dedicated", "gpu"]
    tolerant = settings(**{"prepull-tolerations": TOLERATIONS})
    assert notebooks.skipped_nodes(nodes, tolerant) == ["control"]
    selected = settings(**{"node-selector": "pool=nb"})
    assert notebooks.skipped_nodes(nodes, selected) == []


def test_the_rendered_daemonset_carries_pull_secrets_and_tolerations_and_validates():
    ds = daemonset(
        **{
            "prepull-image-pull-secrets": "mirror-creds, ghcr.io",
            "prepull-tolerations": TOLERATIONS,
        }
    )
    pod = ds["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "mirror-creds"}, {"name": "ghcr.io"}]
    assert pod["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "notebooks", "effect": "NoSchedule"},
        {"key": "gpu", "operator": "Exists"},
    ]
    validate_manifests([ds], [])


def test_without_the_options_the_pod_spec_has_neither():
    pod = daemonset()["spec"]["template"]["spec"]
    assert "imagePullSecrets" not in pod
    assert "tolerations" not in pod


@pytest.mark.parametrize(
    "value",
    [
        "{key: a}",
        "[{key: a, operator: Maybe}]",
        "[{operator: Equal, value: x}]",
        "[{key: a, operator: Exists, value: x}]",
        "[{key: a, effect: Sometimes}]",
        "[{key: a, effect: NoSchedule, tolerationSeconds: 30}]",
        "[{key: a, effect: NoExecute, tolerationSeconds: '30'}]",
        "[{key: 'bad key', operator: Exists}]",
        "[{key: a, value: 'bad value!'}]",
        "[{key: a, colour: red}]",
        "[{key: 1}]",
        "[unclosed",
    ],
)
def test_tolerations_the_api_server_refuses_block_the_charm(value):
    with pytest.raises(InvalidConfig) as info:
        settings(**{"prepull-tolerations": value})
    assert info.value.option == "prepull-tolerations"


@pytest.mark.parametrize("value", ["Upper", "under_score", "a,,b,", "x" * 254, "a b"])
def test_pull_secret_names_must_be_object_names(value):
    if value == "a,,b,":
        assert settings(**{"prepull-image-pull-secrets": value}).pull_secrets == ("a", "b")
        return
    with pytest.raises(InvalidConfig) as info:
        settings(**{"prepull-image-pull-secrets": value})
    assert info.value.option == "prepull-image-pull-secrets"


def test_progress_counts_skipped_nodes_as_not_done():
    progress = notebooks.Progress(ready=3, desired=3, skipped=("gpu-1", "gpu-2"))
    assert progress.done
    assert str(progress) == (
        "images cached on 3 of 5 nodes; 2 skipped for taints (set prepull-tolerations)"
    )
    assert "3/3" not in str(progress)
