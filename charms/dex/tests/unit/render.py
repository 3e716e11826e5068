"""Every Kubernetes object the charm can render, for schema checks here and in tests/static."""

from pathlib import Path
from typing import Any

import dex
from dsplib import kubernetes

CHARM = Path(__file__).parent.parent.parent
TEMPLATES = CHARM / "src" / "templates"


def rendered_manifests() -> list[dict[str, Any]]:
    """The RBAC objects the charm applies (they do not depend on config)."""
    return kubernetes.render(TEMPLATES, dex.manifest_context(app="dex-auth", namespace="kubeflow"))


def rendered_with(name: str) -> list[dict[str, Any]]:
    """The objects with `name` as application and model name (checked to stay a string)."""
    return kubernetes.render(TEMPLATES, dex.manifest_context(app=name, namespace=name))
