"""Every Kubernetes object the charm can render, for schema checks here and in tests/static."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

import spark
from conftest import CONFIG_DEFAULTS
from dsplib import kubernetes
from dsplib.certificates import generate, service_dns_names
from dsplib.s3_credentials import S3Connection

CHARM = Path(__file__).parent.parent.parent
ROOT = CHARM.parent.parent
TEMPLATES = CHARM / "src" / "templates"
EXAMPLES = ROOT / "examples" / "spark"
PODDEFAULT_CRD = Path(__file__).parent / "data" / "poddefault-crd.yaml"
NAMES = spark.Names("spark-operator", "kubeflow")
PROFILE = "alice"


@functools.cache
def ca_pem() -> str:
    """A CA certificate such as an s3 provider sends for a private Ceph RGW endpoint."""
    return generate(service_dns_names("rgw", "ceph")).ca


def s3_connection(**overrides: Any) -> S3Connection:
    values: dict[str, Any] = {
        "endpoint": "https://rgw.ceph.example:443",
        "access_key": "ACCESS",
        "secret_key": "SECRET<&>",
        "bucket": "spark",
        "region": "default",
        "path": "team",
        "tls_ca": ca_pem(),
    }
    values.update(overrides)
    return S3Connection(**values)


def settings(**overrides: Any) -> spark.Settings:
    return spark.Settings.from_config({**CONFIG_DEFAULTS, **overrides})


def cluster_objects(**overrides: Any) -> list[dict[str, Any]]:
    """What the leader applies, with the given config."""
    return kubernetes.render(TEMPLATES, spark.manifest_context(NAMES, settings(**overrides)))


def profile_objects(*, with_s3: bool = True) -> list[dict[str, Any]]:
    """What resource-dispatcher copies into a profile namespace (placed in one here)."""
    objects = [
        spark.driver_service_account(NAMES),
        spark.driver_role(NAMES),
        spark.driver_role_binding(NAMES),
        spark.pod_default(NAMES, settings(), with_s3=with_s3),
    ]
    if with_s3:
        objects.append(spark.s3_secret(NAMES, s3_connection()))
    for obj in objects:
        obj["metadata"]["namespace"] = PROFILE
    return objects


def rendered_manifests() -> list[dict[str, Any]]:
    """Objects applied to the cluster and sent to profiles, in both namespace modes."""
    return [
        *cluster_objects(),
        *cluster_objects(**{"job-namespaces": "alice,bob", "batch-scheduler": "volcano"}),
        *profile_objects(with_s3=True),
        *profile_objects(with_s3=False),
    ]


def poddefault_crd() -> dict[str, Any]:
    return yaml.safe_load(PODDEFAULT_CRD.read_text())


def example_resources() -> list[dict[str, Any]]:
    """The Spark resources the documentation and the integration test use."""
    return [
        doc
        for path in sorted(EXAMPLES.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc["apiVersion"].startswith("sparkoperator.k8s.io/")
    ]


def rendered_with(name: str) -> list[dict[str, Any]]:
    """The cluster objects with `name` as application, model and job namespace name."""
    names = spark.Names(name, name)
    return [
        *kubernetes.render(TEMPLATES, spark.manifest_context(names, settings())),
        *kubernetes.render(
            TEMPLATES, spark.manifest_context(names, settings(**{"job-namespaces": name}))
        ),
    ]
