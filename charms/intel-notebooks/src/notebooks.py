"""Intel-optimized notebooks: settings, the PodDefault, image pre-pulling and node reports.

No ops here: the charm passes config and cluster data in, this module decides what the
PodDefault and the pre-pull DaemonSet look like and how to read progress and node features.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dsplib import validation as check

PODDEFAULT_NAME = "intel-optimizations"
PODDEFAULT_LABEL = "intel-optimizations"
SKLEARNEX_ENV = "SKLEARNEX_PATCH"
# What data scientists read under "Configurations" in the notebook form.
DESCRIPTION = "Intel CPU optimizations (oneDNN, OpenMP threads, Intel Extension for Scikit-learn)"
ONEDNN_ISAS = (
    "ALL",
    "DEFAULT",
    "SSE41",
    "AVX",
    "AVX2",
    "AVX2_VNNI",
    "AVX2_VNNI_2",
    "AVX512_CORE",
    "AVX512_CORE_VNNI",
    "AVX512_CORE_BF16",
    "AVX512_CORE_FP16",
    "AVX512_CORE_AMX",
    "AVX512_CORE_AMX_FP16",
    "AVX10_1_512",
    "AVX10_1_512_AMX",
    "AVX10_1_512_AMX_FP16",
)
# Node Feature Discovery publishes CPUID flags as labels with this prefix.
NFD_CPUID = "feature.node.kubernetes.io/cpu-cpuid."
CPU_FEATURES = {
    "AVX2": "AVX2",
    "AVX512F": "AVX-512",
    "AVX512VNNI": "AVX-512 VNNI",
    "AVX512BF16": "AVX-512 BF16",
    "AMXTILE": "AMX",
    "AMXBF16": "AMX BF16",
    "AMXINT8": "AMX INT8",
}
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_KMP_AFFINITY = re.compile(r"^[A-Za-z0-9_,=.\-\[\]]*$")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# Taint effects that keep a DaemonSet pod off a node it does not tolerate (PreferNoSchedule
# does not), and the tolerations the DaemonSet controller adds to every DaemonSet pod:
# kubernetes pkg/controller/daemon/daemon_controller.go `predicates` and
# pkg/controller/daemon/util/daemonset_util.go `AddOrUpdateDaemonPodTolerations` (the
# network-unavailable one is added for hostNetwork pods only, which these are not).
BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")
DAEMONSET_TOLERATIONS: tuple[dict[str, str], ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)


@dataclass(frozen=True)
class Settings:
    """Validated charm config."""

    images: tuple[str, ...]
    prepull: bool
    node_selector: dict[str, str]
    omp_num_threads: int | None  # None: from the container's CPU limit
    omp_wait_policy: str
    kmp_affinity: str
    kmp_blocktime: int
    onednn_max_cpu_isa: str
    tf_enable_onednn_opts: bool
    sklearnex: bool
    pause_image: str
    pull_secrets: tuple[str, ...] = ()
    tolerations: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Check every option; raises InvalidConfig naming the first bad one."""
        blocktime = config["kmp-blocktime"]
        if (
            isinstance(blocktime, bool)
            or not isinstance(blocktime, int)
            or not 0 <= blocktime <= 200
        ):
            raise check.InvalidConfig("kmp-blocktime", "milliseconds between 0 and 200")
        affinity = str(config["kmp-affinity"]).strip()
        if not _KMP_AFFINITY.match(affinity):
            raise check.InvalidConfig(
                "kmp-affinity", "a KMP_AFFINITY value like granularity=fine,compact,1,0"
            )
        return cls(
            images=parse_images(config["images"]),
            prepull=bool(config["prepull"]),
            node_selector=parse_node_selector(config["node-selector"]),
            omp_num_threads=_omp_threads(config["omp-num-threads"]),
            omp_wait_policy=_wait_policy(config["omp-wait-policy"]),
            kmp_affinity=affinity,
            kmp_blocktime=blocktime,
            onednn_max_cpu_isa=check.choice(
                "onednn-max-cpu-isa", str(config["onednn-max-cpu-isa"]).upper(), ONEDNN_ISAS
            ),
            tf_enable_onednn_opts=bool(config["tf-enable-onednn-opts"]),
            sklearnex=bool(config["sklearnex"]),
            pause_image=check.oci_reference("prepull-pause-image", config["prepull-pause-image"]),
            pull_secrets=parse_pull_secrets(config.get("prepull-image-pull-secrets", "")),
            tolerations=parse_tolerations(config.get("prepull-tolerations", "")),
        )


def parse_images(value: Any) -> tuple[str, ...]:
    """The `images` option: a YAML or JSON list of distinct OCI references."""
    try:
        items = check.load_yaml(str(value))
    except check.UnreadableYaml as err:
        raise check.InvalidConfig("images", "a YAML or JSON list of image references") from err
    if not isinstance(items, list) or not items:
        raise check.InvalidConfig("images", "a non-empty YAML or JSON list of image references")
    images = tuple(check.oci_reference("images", item) for item in items)
    if len(set(images)) != len(images):
        raise check.InvalidConfig("images", "each image once")
    return images


def parse_node_selector(value: Any) -> dict[str, str]:
    """`key=value,key2=value2` into a nodeSelector map (label syntax checked)."""
    selector: dict[str, str] = {}
    for item in check.comma_list(value):
        key, sep, label_value = item.partition("=")
        prefix, _, name = key.rpartition("/")
        valid = (
            sep
            and _LABEL_NAME.match(name)
            and (not prefix or check.DNS_SUBDOMAIN.match(prefix))
            and _LABEL_VALUE.match(label_value)
        )
        if not valid:
            raise check.InvalidConfig("node-selector", "comma-separated label=value pairs")
        selector[key] = label_value
    return selector


def parse_pull_secrets(value: Any) -> tuple[str, ...]:
    """`prepull-image-pull-secrets`: names of Secrets in the model's namespace."""
    names = check.comma_list(value)
    for name in names:
        if len(name) > 253 or not check.DNS_SUBDOMAIN.match(name):
            raise check.InvalidConfig(
                "prepull-image-pull-secrets",
                "comma-separated Secret names (lowercase letters, digits, '-', '.')",
            )
    return tuple(names)


_TOLERATION_KEYS = {"key", "operator", "value", "effect", "tolerationSeconds"}


def parse_tolerations(value: Any) -> tuple[dict[str, Any], ...]:
    """`prepull-tolerations`: a YAML or JSON list of Kubernetes tolerations.

    Checked as the API server does (kubernetes pkg/apis/core/validation/validation.go
    `ValidateTolerations`), so a bad one blocks the charm instead of failing the apply.
    """
    option = "prepull-tolerations"
    text = str(value or "").strip()
    if not text:
        return ()
    try:
        items = check.load_yaml(text)
    except check.UnreadableYaml:
        items = None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise check.InvalidConfig(option, "a YAML or JSON list of tolerations")
    return tuple(_toleration(option, item) for item in items)


def _toleration(option: str, item: dict[str, Any]) -> dict[str, Any]:
    unknown = set(item) - _TOLERATION_KEYS
    if unknown:
        raise check.InvalidConfig(option, f"toleration fields only, not {sorted(unknown)[0]}")
    fields = {k: item[k] for k in ("key", "operator", "value", "effect") if k in item}
    if not all(isinstance(v, str) for v in fields.values()):
        raise check.InvalidConfig(
            option, "tolerations whose key, operator, value, effect are text"
        )
    key, operator = fields.get("key", ""), fields.get("operator", "Equal")
    value, effect = fields.get("value", ""), fields.get("effect", "")
    if key and not _qualified_name(key):
        raise check.InvalidConfig(option, f"a label-like toleration key, not {key!r}")
    if operator not in ("Equal", "Exists"):
        raise check.InvalidConfig(option, "toleration operator Equal or Exists")
    if not key and operator != "Exists":
        raise check.InvalidConfig(option, "operator Exists for a toleration without key")
    if operator == "Exists" and value:
        raise check.InvalidConfig(option, "no value in a toleration with operator Exists")
    if not _LABEL_VALUE.match(value):
        raise check.InvalidConfig(option, f"a label-like toleration value, not {value!r}")
    if effect and effect not in TAINT_EFFECTS:
        raise check.InvalidConfig(
            option, "toleration effect NoSchedule, PreferNoSchedule or NoExecute"
        )
    if "tolerationSeconds" in item:
        fields["tolerationSeconds"] = _toleration_seconds(
            option, item["tolerationSeconds"], effect
        )
    return fields


def _toleration_seconds(option: str, seconds: Any, effect: str) -> int:
    if effect != "NoExecute" or isinstance(seconds, bool) or not isinstance(seconds, int):
        raise check.InvalidConfig(
            option, "tolerationSeconds (whole seconds) only with effect NoExecute"
        )
    return seconds


def _qualified_name(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    return bool(_LABEL_NAME.match(name)) and (
        not prefix or (len(prefix) <= 253 and bool(check.DNS_SUBDOMAIN.match(prefix)))
    )


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Kubernetes' Toleration.ToleratesTaint (k8s.io/api core/v1 toleration.go)."""
    effect, key = toleration.get("effect") or "", toleration.get("key") or ""
    if effect and effect != taint.get("effect"):
        return False
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def skipped_nodes(nodes: Sequence[Mapping[str, Any]], settings: Settings) -> list[str]:
    """Names of selected nodes the pre-pull DaemonSet cannot run on because of their taints."""
    tolerations = [*settings.tolerations, *DAEMONSET_TOLERATIONS]
    skipped = []
    for node in nodes:
        labels = (node.get("metadata") or {}).get("labels") or {}
        if any(labels.get(k) != v for k, v in settings.node_selector.items()):
            continue
        taints = (node.get("spec") or {}).get("taints") or []
        if any(
            taint.get("effect") in BLOCKING_EFFECTS
            and not any(tolerates(t, taint) for t in tolerations)
            for taint in taints
        ):
            skipped.append(node["metadata"]["name"])
    return sorted(skipped)


def _wait_policy(value: Any) -> str:
    text = str(value).strip().lower()
    if text and text not in ("passive", "active"):
        raise check.InvalidConfig("omp-wait-policy", "passive, active or empty")
    return text


def _omp_threads(value: Any) -> int | None:
    text = str(value).strip().lower()
    if text == "auto":
        return None
    if not text.isdigit() or not 1 <= int(text) <= 1024:
        raise check.InvalidConfig(
            "omp-num-threads", '"auto" or a whole number of threads (1-1024)'
        )
    return int(text)


def poddefault(settings: Settings) -> dict[str, Any]:
    """The PodDefault profiles get: tuning for the notebook's CPU share.

    resource-dispatcher copies it into every profile namespace (no namespace set here).
    """
    env = [
        *_thread_counts(settings.omp_num_threads),
        {"name": "KMP_BLOCKTIME", "value": str(settings.kmp_blocktime)},
        {"name": "ONEDNN_MAX_CPU_ISA", "value": settings.onednn_max_cpu_isa},
        {"name": "TF_ENABLE_ONEDNN_OPTS", "value": "1" if settings.tf_enable_onednn_opts else "0"},
        {"name": SKLEARNEX_ENV, "value": "1" if settings.sklearnex else "0"},
    ]
    if settings.omp_wait_policy:
        env.append({"name": "OMP_WAIT_POLICY", "value": settings.omp_wait_policy.upper()})
    if settings.kmp_affinity:
        env.append({"name": "KMP_AFFINITY", "value": settings.kmp_affinity})
    return {
        "apiVersion": "kubeflow.org/v1alpha1",
        "kind": "PodDefault",
        "metadata": {"name": PODDEFAULT_NAME},
        "spec": {
            "desc": DESCRIPTION,
            "selector": {"matchLabels": {PODDEFAULT_LABEL: "true"}},
            "env": env,
        },
    }


def _thread_counts(threads: int | None) -> list[dict[str, Any]]:
    """OMP_NUM_THREADS and TensorFlow's intra-op pool sized to the notebook's CPU share.

    Without a number, both follow the container's CPU limit, rounded up to whole CPUs (the
    node's CPUs when there is no limit), so 4 CPUs mean 4 threads, not one per node core.
    """
    names = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")
    if threads is not None:
        return [{"name": name, "value": str(threads)} for name in names]
    limit = {"resource": "limits.cpu", "divisor": "1"}
    return [{"name": name, "valueFrom": {"resourceFieldRef": limit}} for name in names]


def manifest_context(app: str, namespace: str, settings: Settings) -> dict[str, Any]:
    """Variables of the templates in src/templates."""
    return {
        "app": app,
        "namespace": namespace,
        "prepull": settings.prepull,
        "images": list(settings.images),
        "node_selector": settings.node_selector,
        "pause_image": settings.pause_image,
        "pull_secrets": list(settings.pull_secrets),
        "tolerations": list(settings.tolerations),
    }


@dataclass(frozen=True)
class Progress:
    """How far the pre-pull DaemonSet has got."""

    ready: int
    desired: int
    skipped: tuple[str, ...] = ()  # selected nodes whose taints keep the pods off

    @property
    def done(self) -> bool:
        """Every node the DaemonSet runs on has every image (skipped nodes have none)."""
        return self.desired > 0 and self.ready >= self.desired

    def __str__(self) -> str:
        if not self.skipped:
            return f"images cached on {self.ready}/{self.desired} nodes"
        total = self.desired + len(self.skipped)
        return (
            f"images cached on {self.ready} of {total} nodes; {len(self.skipped)} skipped "
            "for taints (set prepull-tolerations)"
        )


def prepull_progress(
    daemonset: Mapping[str, Any] | None, images: tuple[str, ...]
) -> Progress | None:
    """Progress from the DaemonSet status; None while it reflects an older spec or is absent.

    A pod becomes ready only after its init containers (one per image) ran, i.e. after every
    image was pulled on its node.
    """
    if not daemonset:
        return None
    status = daemonset.get("status") or {}
    generation = (daemonset.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if observed is None or (generation is not None and observed != generation):
        return None  # the DaemonSet controller has not looked at this spec yet
    spec_images = [
        c.get("image")
        for c in daemonset.get("spec", {})
        .get("template", {})
        .get("spec", {})
        .get("initContainers", [])
    ]
    if spec_images != list(images):
        return None
    desired = int(status.get("desiredNumberScheduled") or 0)
    ready = min(
        int(status.get("updatedNumberScheduled") or 0), int(status.get("numberReady") or 0)
    )
    return Progress(ready=ready, desired=desired)


def normalize_reference(reference: str) -> str:
    """An image reference as nodes report it: registry and `library/` made explicit."""
    first, sep, _ = reference.partition("/")
    if not sep:
        return f"docker.io/library/{reference}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{reference}"
    return reference


def node_report(
    nodes: Sequence[Mapping[str, Any]], images: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Per node: the configured images it has cached and its CPU features from NFD labels."""
    wanted = {normalize_reference(i): i for i in images}
    report = []
    for node in sorted(nodes, key=lambda n: n["metadata"]["name"]):
        cached_names = {
            normalize_reference(name)
            for entry in (node.get("status") or {}).get("images") or []
            for name in entry.get("names") or []
        }
        labels = node["metadata"].get("labels") or {}
        features = [
            label for flag, label in CPU_FEATURES.items() if labels.get(NFD_CPUID + flag) == "true"
        ]
        report.append(
            {
                "node": node["metadata"]["name"],
                "cached": [original for norm, original in wanted.items() if norm in cached_names],
                "missing": [
                    original for norm, original in wanted.items() if norm not in cached_names
                ],
                "cpu-features": features if any(k.startswith(NFD_CPUID) for k in labels) else None,
            }
        )
    return report


def report_table(report: list[dict[str, Any]]) -> str:
    """The report as a plain text table."""
    lines = [f"{'node':<24} {'cached':>7}  cpu features"]
    for row in report:
        total = len(row["cached"]) + len(row["missing"])
        features = (
            ", ".join(row["cpu-features"])
            if row["cpu-features"] is not None
            else "(no NFD labels)"
        )
        lines.append(f"{row['node']:<24} {len(row['cached'])}/{total:<5}  {features or '-'}")
        lines.extend(f"{'':<24}   missing {image}" for image in row["missing"])
    return "\n".join(lines)
