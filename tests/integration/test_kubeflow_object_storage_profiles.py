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
from helpers import get_or_none, wait_for
from lightkube import Client
from lightkube.generic_resource import create_global_resource
from lightkube.resources.core_v1 import ConfigMap, Namespace, Secret
from s3_server import S3Server, deploy_s3_integrator, s3_server
from test_kubeflow_object_storage import _http_status_from_a_pod

from conftest import packed

APP = "kubeflow-object-storage"
S3_APP = "pipelines-s3-profiles"
BUCKET = "mlpipeline-profiles-it"
PROFILE = "kfp-launcher-it"
# resource-dispatcher copies objects into namespaces carrying this label (its default config).
DISPATCHER_LABEL = "user.kubeflow.org/enabled"
DISPATCH = ("config-maps", "secrets")

Profile = create_global_resource("kubeflow.org", "v1", "Profile", "profiles")


@pytest.fixture(scope="module")
def server(juju: jubilant.Juju) -> S3Server:
    return s3_server(juju)


@pytest.fixture(scope="module")
def deployed(juju: jubilant.Juju, server: S3Server) -> jubilant.Juju:
    deploy_s3_integrator(juju, S3_APP, server, bucket="ignored-by-the-integrator")
    juju.deploy(packed(APP), APP, trust=True, config={"bucket": BUCKET})
    juju.deploy("metacontroller-operator", channel="4.11/stable", trust=True)
    juju.deploy("resource-dispatcher", channel="latest/edge", trust=True)
    juju.deploy("admission-webhook", channel="1.10/stable", trust=True)
    juju.deploy("istio-pilot", channel="1.28/stable", trust=True)
    juju.deploy("kubeflow-roles", channel="1.10/stable", trust=True)
    juju.deploy("kubeflow-profiles", channel="1.10/stable", trust=True)
    for endpoint in DISPATCH:
        juju.integrate(f"{APP}:{endpoint}", f"resource-dispatcher:{endpoint}")
    juju.integrate(f"{APP}:s3-credentials", f"{S3_APP}:s3-credentials")
    juju.wait(jubilant.all_active, timeout=30 * 60)
    return juju


@pytest.fixture(scope="module")
def profile(deployed: jubilant.Juju, kube: Client) -> str:
    """A Kubeflow profile whose namespace receives what the charm sends."""
    kube.apply(
        Profile.from_dict(
            {
                "apiVersion": "kubeflow.org/v1",
                "kind": "Profile",
                "metadata": {"name": PROFILE},
                "spec": {"owner": {"kind": "User", "name": f"{PROFILE}@example.com"}},
            }
        ),
        field_manager="it",
    )
    namespace = wait_for(lambda: get_or_none(kube, Namespace, PROFILE), "profile namespace", 300)
    labels = (namespace.metadata.labels or {}) if namespace.metadata else {}
    if DISPATCHER_LABEL not in labels:
        kube.patch(Namespace, PROFILE, {"metadata": {"labels": {DISPATCHER_LABEL: "true"}}})
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
