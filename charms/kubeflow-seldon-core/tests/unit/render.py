"""Every Kubernetes object the charm can render, for schema checks here and in tests/static."""

import functools
from pathlib import Path
from typing import Any

import yaml

import seldon
from conftest import CONFIG_DEFAULTS
from dsplib import kubernetes
from dsplib.certificates import generate, service_dns_names
from dsplib.s3_credentials import S3Connection

CHARM = Path(__file__).parent.parent.parent
TEMPLATES = CHARM / "src" / "templates"


def rendered_manifests() -> list[dict[str, Any]]:
    """Objects applied to the cluster and sent to profiles, with default config."""
    settings = seldon.Settings.from_config(CONFIG_DEFAULTS)
    cert = generate(service_dns_names(seldon.WEBHOOK_SERVICE, "kubeflow"))
    context = seldon.manifest_context(
        app="seldon-core", namespace="kubeflow", settings=settings, ca_cert=cert.ca
    )
    s3 = S3Connection(
        endpoint="https://rgw.example:443", access_key="a", secret_key="s", bucket="models"
    )
    secret = seldon.rclone_secret(settings.model_secret_name, s3)
    secret["metadata"]["namespace"] = "user-namespace"
    return [*kubernetes.render(TEMPLATES, context), secret]


def example_resources() -> list[dict[str, Any]]:
    """The SeldonDeployments the documentation shows."""
    return [yaml.safe_load(p.read_text()) for p in sorted((CHARM / "examples").glob("*.yaml"))]


def rendered_with(name: str) -> list[dict[str, Any]]:
    """The cluster objects with `name` as application and model name."""
    settings = seldon.Settings.from_config(CONFIG_DEFAULTS)
    context = seldon.manifest_context(app=name, namespace=name, settings=settings, ca_cert=_ca())
    return kubernetes.render(TEMPLATES, context)


@functools.cache
def _ca() -> str:
    """One CA for every rendering, so that only the name differs between them."""
    return generate(service_dns_names(seldon.WEBHOOK_SERVICE, "kubeflow")).ca
