"""kubeflow-object-storage on a real cluster: every profile gets kfp-launcher and its keys.

Deploys the charm with resource-dispatcher (and what it needs: metacontroller, the PodDefault
CRD from admission-webhook), Kubeflow's profile controller and an S3 server behind
s3-integrator (a real Ceph RGW with DSP_S3_*, else MinIO; tests/integration/s3_server.py).
Creates a profile and waits for the `kfp-launcher` ConfigMap, whose `providers` the KFP v2
launcher reads (kubeflow/pipelines backend/src/v2/config/env.go, s3.go), and the Secret it
names; then reaches the endpoint it gives from a pod in the profile.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import jubilant
import pytest
import yaml
from helpers import create_profile, deploy_profile_stack, get_or_none, wait_for
from lightkube import Client
from lightkube.resources.core_v1 import ConfigMap, Secret
from s3_server import S3Server, deploy_s3_integrator, s3_server
from test_kubeflow_object_storage import _http_status_from_a_pod

from conftest import packed

APP = "kubeflow-object-storage"
S3_APP = "pipelines-s3-profiles"
BUCKET = "mlpipeline-profiles-it"
PROFILE = "kfp-launcher-it"
DISPATCH = ("config-maps", "secrets")


@pytest.fixture(scope="module")
def server(juju: jubilant.Juju) -> S3Server:
    return s3_server(juju)


@pytest.fixture(scope="module")
def deployed(juju: jubilant.Juju, server: S3Server) -> jubilant.Juju:
    deploy_s3_integrator(juju, S3_APP, server, bucket="ignored-by-the-integrator")
    juju.deploy(packed(APP), APP, trust=True, config={"bucket": BUCKET})
    deploy_profile_stack(juju)
    for endpoint in DISPATCH:
        juju.integrate(f"{APP}:{endpoint}", f"resource-dispatcher:{endpoint}")
    juju.integrate(f"{APP}:s3-credentials", f"{S3_APP}:s3-credentials")
    juju.wait(jubilant.all_active, timeout=30 * 60)
    return juju


@pytest.fixture(scope="module")
def profile(deployed: jubilant.Juju, kube: Client) -> str:
    """A Kubeflow profile whose namespace receives what the charm sends."""
    create_profile(kube, PROFILE)
    return PROFILE


def test_the_profile_gets_kfp_launcher_naming_the_gateway_and_its_secret(
    profile: str, kube: Client, server: S3Server
):
    config_map = wait_for(
        lambda: get_or_none(kube, ConfigMap, "kfp-launcher", profile), "kfp-launcher", 300
    )
    data = config_map.data or {}
    assert data["defaultPipelineRoot"] == f"minio://{BUCKET}/v2/artifacts"
    default = yaml.safe_load(data["providers"])["minio"]["default"]
    gateway = urlsplit(server.endpoint)
    assert default["endpoint"] == f"{gateway.hostname}:{gateway.port}"
    assert default["disableSSL"] is (gateway.scheme == "http")
    assert server.secret_key not in str(data)
    ref = default["credentials"]["secretRef"]
    secret = wait_for(
        lambda: get_or_none(kube, Secret, ref["secretName"], profile), "launcher keys", 300
    )
    keys = {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}
    assert keys[ref["accessKeyKey"]] == server.access_key
    assert keys[ref["secretKeyKey"]] == server.secret_key


def test_a_pod_in_the_profile_reaches_the_endpoint_kfp_launcher_gives(
    profile: str, kube: Client, server: S3Server
):
    config_map = kube.get(ConfigMap, "kfp-launcher", namespace=profile)
    default = yaml.safe_load((config_map.data or {})["providers"])["minio"]["default"]
    scheme = "http" if default["disableSSL"] else "https"
    # An anonymous request: the gateway answers (403 for a private bucket).
    url = f"{scheme}://{default['endpoint']}/{BUCKET}"
    assert _http_status_from_a_pod(kube, profile, url) in ("200", "403")
