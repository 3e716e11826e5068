"""Every Kubernetes object the charm can render, for schema checks here and in tests/static."""

from pathlib import Path
from typing import Any

import notebooks
from conftest import CONFIG_DEFAULTS
from dsplib import kubernetes

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "templates"


def rendered_manifests() -> list[dict[str, Any]]:
    """The pre-pull DaemonSet and the PodDefault (placed in a profile namespace)."""
    config = {**CONFIG_DEFAULTS, "node-selector": "node-role.kubernetes.io/worker=,zone=a"}
    settings = notebooks.Settings.from_config(config)
    objects = kubernetes.render(
        TEMPLATES, notebooks.manifest_context("intel-notebooks", "kubeflow", settings)
    )
    private = notebooks.Settings.from_config(
        {
            **config,
            "prepull-image-pull-secrets": "mirror-creds",
            "prepull-tolerations": "[{key: dedicated, value: notebooks, effect: NoSchedule}]",
        }
    )
    objects += [
        o
        for o in kubernetes.render(
            TEMPLATES, notebooks.manifest_context("intel-notebooks", "kubeflow", private)
        )
        if o["kind"] == "DaemonSet"
    ]
    for variant in (settings, notebooks.Settings.from_config({**config, "omp-num-threads": "4"})):
        poddefault = notebooks.poddefault(variant)
        poddefault["metadata"]["namespace"] = "alice"
        objects.append(poddefault)
    return objects


def rendered_with(name: str) -> list[dict[str, Any]]:
    """The pre-pull objects with `name` as application and model name."""
    settings = notebooks.Settings.from_config(CONFIG_DEFAULTS)
    return kubernetes.render(TEMPLATES, notebooks.manifest_context(name, name, settings))
