"""The kfp-launcher ConfigMap and its Secret, read the way the KFP v2 launcher reads them.

`session_of` models how the driver and launcher turn a pipeline root and the `kfp-launcher`
ConfigMap into S3 settings, from kubeflow/pipelines (KFP 2.x):

- backend/src/v2/config/env.go: ConfigMap `kfp-launcher`; `defaultPipelineRoot` (default
  `minio://mlpipeline/v2/artifacts`); `providers` is YAML with `minio`, `s3`, `gs` sections;
  a `minio://` root without a `minio` section gets `getDefaultMinioSessionInfo`: endpoint
  `minio-service.kubeflow:9000`, region `minio`, disableSSL true, Secret
  `mlpipeline-minio-artifact` with keys `accesskey`/`secretkey`.
- backend/src/v2/config/s3.go `S3ProviderConfig.ProvideSessionInfo` (minio.go uses the same for
  `minio://`): `default.credentials` is required; disableSSL defaults to false, forcePathStyle
  to true; with `fromEnv` false the keys come from `credentials.secretRef`.
- backend/src/v2/objectstore/object_store.go `bucketPattern`, which a root must match.

The settings it yields are then used against the real Ceph RADOS Gateway, as the launcher
would use them, with the keys read from the Secret.
"""

from __future__ import annotations

import base64
import json
import re
import secrets

import pytest
import yaml

import launcher
from dsplib.s3 import S3Client
from dsplib.s3_credentials import S3Connection
from pytest_ceph_rgw import RGWEndpoint

APP = "kubeflow-object-storage"
# object_store.go bucketPattern: scheme, bucket, prefix, query.
BUCKET_PATTERN = re.compile(r"(^[a-z][a-z0-9]+:///?)([^/?]+)(/[^?]*)?(\?.+)?$")
UPSTREAM_MINIO_DEFAULT = {
    "endpoint": "minio-service.kubeflow:9000",
    "region": "minio",
    "disableSSL": True,
    "secretName": "mlpipeline-minio-artifact",
    "accessKeyKey": "accesskey",
    "secretKeyKey": "secretkey",
}
S3_DEFAULT_FIELDS = {"endpoint", "credentials", "region", "disableSSL", "forcePathStyle"}


class InvalidProviderConfig(Exception):
    """What the launcher fails a step with (s3.go invalidConfigErr)."""


def session_of(config_map: dict | None, root: str | None = None) -> dict:
    """The session parameters the launcher derives for `root` (see the module docstring)."""
    data = (config_map or {}).get("data", {})
    root = root or data.get("defaultPipelineRoot") or "minio://mlpipeline/v2/artifacts"
    match = BUCKET_PATTERN.match(root)
    if match is None or match[1] not in ("minio://", "s3://", "gs://"):
        raise InvalidProviderConfig(f"unrecognized pipeline root {root!r}")
    section = yaml.safe_load(data.get("providers") or "{}") or {}
    provider = {"minio://": "minio", "s3://": "s3"}[match[1]]
    config = section.get(provider) or {}
    if not config.get("default") and not config.get("Overrides"):
        if provider == "minio":
            return {**UPSTREAM_MINIO_DEFAULT, "bucket": match[2]}
        return {"fromEnv": True, "bucket": match[2]}
    default = config.get("default") or {}
    unknown = set(default) - S3_DEFAULT_FIELDS - {"maxRetries"}
    assert not unknown, (
        f"fields the launcher does not know (ignored by sigs.k8s.io/yaml): {unknown}"
    )
    credentials = default.get("credentials")
    if not credentials:
        raise InvalidProviderConfig("missing default credentials")
    session = {
        "bucket": match[2],
        "endpoint": default.get("endpoint", ""),
        "region": default.get("region", ""),
        "disableSSL": default.get("disableSSL", False),
        "forcePathStyle": default.get("forcePathStyle", True),
        "fromEnv": credentials.get("fromEnv", False),
    }
    if not session["fromEnv"]:
        session.update(credentials["secretRef"])
    return session


def connection(rgw: RGWEndpoint, **kw) -> S3Connection:
    values = {
        "endpoint": rgw.endpoint,
        "access_key": rgw.access_key,
        "secret_key": rgw.secret_key,
        "bucket": "ignored",
        "tls_ca": rgw.ca_pem or "",
        **kw,
    }
    return S3Connection(**values)


def host_port(rgw: RGWEndpoint) -> tuple[str, int]:
    host, port = rgw.endpoint.split("://", 1)[1].rsplit(":", 1)
    return host, int(port)


def client_for(session: dict, secret: dict, ca_pem: str = "") -> S3Client:
    """An S3 client with the launcher's settings and the keys from the Secret's data."""
    assert secret["metadata"]["name"] == session["secretName"]
    keys = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    scheme = "http" if session["disableSSL"] else "https"
    return S3Client(
        f"{scheme}://{session['endpoint']}",
        keys[session["accessKeyKey"]],
        keys[session["secretKeyKey"]],
        region=session["region"],
        virtual_host=not session["forcePathStyle"],
        ca_pem=ca_pem,
    )


def test_without_the_config_map_steps_go_to_minio_service():
    """The case this charm exists for: no kfp-launcher, no gateway."""
    assert session_of(None)["endpoint"] == "minio-service.kubeflow:9000"


@pytest.mark.parametrize("root", [None, "s3://mlpipeline/v2/artifacts"])
def test_the_steps_store_artifacts_in_the_gateway_with_the_secret(ceph_rgw: RGWEndpoint, root):
    bucket = f"kfp-{secrets.token_hex(4)}"
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as admin:
        admin.create_bucket(bucket)
    host, port = host_port(ceph_rgw)
    s3 = connection(ceph_rgw)
    config_map = launcher.config_map(APP, host, port, s3, bucket)
    root = root.replace("mlpipeline", bucket) if root else None
    session = session_of(config_map, root)
    assert session["endpoint"] == f"{host}:{port}"
    assert session["bucket"] == bucket
    with client_for(session, launcher.keys_secret(APP, s3)) as step:
        step.put_object(bucket, "v2/artifacts/p/run/task/model", b"weights")
        assert step.get_object(bucket, "v2/artifacts/p/run/task/model") == b"weights"


def test_over_tls_ssl_stays_on(ceph_rgw_https: RGWEndpoint):
    host, port = host_port(ceph_rgw_https)
    s3 = connection(ceph_rgw_https)
    session = session_of(launcher.config_map(APP, host, port, s3, "mlpipeline"))
    assert session["disableSSL"] is False
    secret = launcher.keys_secret(APP, s3)
    with client_for(session, secret, ca_pem=ceph_rgw_https.ca_pem or "") as step:
        step.create_bucket(f"tls-{secrets.token_hex(4)}")


def test_the_config_map_holds_no_keys_and_the_secret_does():
    s3 = S3Connection("http://rgw.ceph.internal:7480", "AKIAEXAMPLE", "very-secret", "b")
    config_map = launcher.config_map(APP, "rgw.ceph.internal", 7480, s3, "mlpipeline")
    text = json.dumps(config_map)
    assert "AKIAEXAMPLE" not in text
    assert "very-secret" not in text
    assert config_map["metadata"]["name"] == "kfp-launcher"  # env.go configMapName
    assert "namespace" not in config_map["metadata"]  # resource-dispatcher: every profile
    secret = launcher.keys_secret(APP, s3)
    assert secret["metadata"]["name"] != "mlpipeline-minio-artifact"  # kfp-profile-controller's
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert decoded == {"accesskey": "AKIAEXAMPLE", "secretkey": "very-secret"}


def test_the_root_keeps_the_launchers_default_form():
    """Old runs' URIs (minio://mlpipeline/v2/artifacts/...) and new ones share a provider."""
    assert launcher.pipeline_root("mlpipeline") == "minio://mlpipeline/v2/artifacts"
    match = BUCKET_PATTERN.match(launcher.pipeline_root("kfp-artifacts"))
    assert match is not None
    assert (match[1], match[2], match[3]) == ("minio://", "kfp-artifacts", "/v2/artifacts")


@pytest.mark.parametrize(
    ("host", "expected"),
    [("rgw.ceph.internal", "rgw.ceph.internal:443"), ("2001:db8::5", "[2001:db8::5]:443")],
)
def test_endpoints_are_host_and_port(host, expected):
    assert launcher.endpoint(host, 443) == expected


def test_virtual_host_style_and_region_are_passed_on():
    s3 = S3Connection("https://s3.example", "AK", "SK", "b", region="eu-1", path_style=False)
    session = session_of(launcher.config_map(APP, "s3.example", 443, s3, "b"))
    assert (session["region"], session["forcePathStyle"], session["disableSSL"]) == (
        "eu-1",
        False,
        False,
    )


def test_the_model_refuses_what_the_launcher_refuses():
    """The model of s3.go must fail where the launcher fails, or it proves nothing."""
    broken = {"data": {"providers": yaml.safe_dump({"minio": {"default": {"endpoint": "x:1"}}})}}
    with pytest.raises(InvalidProviderConfig, match="missing default credentials"):
        session_of(broken)
    with pytest.raises(InvalidProviderConfig, match="unrecognized"):
        session_of(None, "file:///tmp/x")
