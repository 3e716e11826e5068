"""Every Kubernetes object the charm can render, for schema checks here and in tests/static."""

from pathlib import Path
from typing import Any

import storage
from dsplib import kubernetes

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "templates"
TARGETS = (
    storage.Target("rgw.ceph.example.com", 443, True),
    storage.Target("10.20.0.15", 7480, False, "IPv4"),
    storage.Target("fd00:10::15", 7480, False, "IPv6"),
)


def rendered_manifests() -> list[dict[str, Any]]:
    """The Service for a host name, and Service plus EndpointSlice for IPv4 and IPv6."""
    return [
        obj
        for target in TARGETS
        for obj in kubernetes.render(
            TEMPLATES, storage.manifest_context("kubeflow-object-storage", "kubeflow", target)
        )
    ]


def rendered_with(name: str) -> list[dict[str, Any]]:
    """The Service (and EndpointSlice) with `name` as application and model name."""
    return [
        obj
        for target in TARGETS
        for obj in kubernetes.render(TEMPLATES, storage.manifest_context(name, name, target))
    ]
