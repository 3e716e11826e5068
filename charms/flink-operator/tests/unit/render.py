"""Every Kubernetes object the charm can render, for schema checks here and in tests/static."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2
import yaml

import flink
from conftest import CONFIG_DEFAULTS
from dsplib import kubernetes
from dsplib.certificates import WebhookCertificate, generate, service_dns_names
from dsplib.s3_credentials import S3Connection

CHARM = Path(__file__).parent.parent.parent
TEMPLATES = CHARM / "src" / "templates"
EXAMPLE = CHARM / "examples" / "flinkdeployment-s3.yaml.j2"
PODDEFAULT_CRD = CHARM.parent.parent / "tests" / "crds" / "poddefaults.kubeflow.org.yaml"
NAMES = flink.Names("flink-operator", "kubeflow")
PROFILE = "alice"


@functools.cache
def certificate() -> WebhookCertificate:
    return generate(service_dns_names(NAMES.webhook_service, NAMES.namespace))


def s3_connection(**overrides: Any) -> S3Connection:
    values: dict[str, Any] = {
        "endpoint": "https://rgw.ceph.example:443",
        "access_key": "ACCESS",
        "secret_key": "SECRET<&>",
        "bucket": "flink",
        "region": "default",
        "path": "team",
        "tls_ca": certificate().ca,
    }
    values.update(overrides)
    return S3Connection(**values)


def settings(**overrides: Any) -> flink.Settings:
    return flink.Settings.from_config({**CONFIG_DEFAULTS, **overrides})


def cluster_objects() -> list[dict[str, Any]]:
    """What the leader applies."""
    return kubernetes.render(TEMPLATES, flink.manifest_context(NAMES, certificate().ca))


def profile_objects(*, with_s3: bool = True) -> list[dict[str, Any]]:
    """What resource-dispatcher copies into a profile namespace (placed in one here)."""
    objects = [
        flink.job_service_account(),
        flink.job_role(),
        flink.job_role_binding(),
        flink.pod_default(NAMES, settings(), with_s3=with_s3),
    ]
    if with_s3:
        objects.append(flink.s3_secret(NAMES, s3_connection()))
    for obj in objects:
        obj["metadata"]["namespace"] = PROFILE
    return objects


def example_deployment(**context: Any) -> dict[str, Any]:
    """The documented FlinkDeployment, rendered as a notebook would fill it in."""
    values = {
        "name": "weekly-demand",
        "namespace": PROFILE,
        "image": settings().flink_image,
        "flink_version": "v2_2",
        "plugin": "flink-s3-fs-hadoop-2.2.1.jar",
        "s3_secret": NAMES.s3_secret,
        "endpoint": s3_connection().endpoint,
        "path_style": "true",
        "checkpoints": flink.checkpoint_dirs(s3_connection())[0],
        "savepoints": flink.checkpoint_dirs(s3_connection())[1],
        "service_account": flink.JOB_ACCOUNT,
        **context,
    }
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701
    return yaml.safe_load(env.from_string(EXAMPLE.read_text()).render(values))


def rendered_manifests() -> list[dict[str, Any]]:
    """Objects applied to the cluster and sent to profiles."""
    return [
        *cluster_objects(),
        *profile_objects(with_s3=True),
        *profile_objects(with_s3=False),
    ]


def poddefault_crd() -> dict[str, Any]:
    return yaml.safe_load(PODDEFAULT_CRD.read_text())


def rendered_with(name: str) -> list[dict[str, Any]]:
    """The cluster objects with `name` as application and model name."""
    return kubernetes.render(TEMPLATES, flink.manifest_context(flink.Names(name, name), "CA"))
