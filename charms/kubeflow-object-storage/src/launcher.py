"""What every profile namespace needs so that pipeline steps keep their artifacts in the gateway.

No ops here. The KFP v2 driver and launcher of a run read the ConfigMap `kfp-launcher` in the
run's namespace (kubeflow/pipelines backend/src/v2/config/env.go: `configMapName`, keys
`defaultPipelineRoot` and `providers`). Without it, the pipeline root is
`minio://mlpipeline/v2/artifacts` and a `minio://` root goes to `minio-service.kubeflow:9000`
over plain HTTP, region `minio`, with the keys of Secret `mlpipeline-minio-artifact`
(env.go `getDefaultMinioSessionInfo`; objectstore `DefaultMinioEndpointInMultiUserMode`). That
only reaches the gateway when it listens on port 9000 without TLS. Charmed Kubeflow's
kfp-profile-controller 2.15 writes `kfp-launcher` only when its `default_pipeline_root` is set,
and then without `providers`.

So the charm sends, through resource-dispatcher, a `kfp-launcher` whose `providers` name the
gateway itself (its host, port and TLS as the `s3` relation gives them) and a Secret of its own
with the keys, which the provider section refers to by name: the keys never sit in the
ConfigMap. The provider settings follow kubeflow/pipelines backend/src/v2/config/s3.go
(`S3ProviderConfig`: `default.endpoint`, `region`, `disableSSL`, `forcePathStyle`,
`credentials.fromEnv`, `credentials.secretRef.{secretName,accessKeyKey,secretKeyKey}`) and
minio.go (`MinioProviderConfig` is the same structure, used for `minio://` roots).

The root keeps the `minio://` scheme and the `v2/artifacts` prefix of the default, so runs made
before and after read their artifacts with the same settings and the same URIs
(`minio://<bucket>/v2/artifacts/...`); the `s3` section makes `s3://<bucket>/...` roots a
pipeline may choose reach the same gateway with the same keys.
"""

from __future__ import annotations

import base64
from typing import Any

import yaml

from dsplib.s3_credentials import S3Connection

CONFIG_MAP = "kfp-launcher"  # env.go configMapName: the name the driver and launcher read
ACCESS_KEY_KEY = "accesskey"
SECRET_KEY_KEY = "secretkey"  # noqa: S105 - the name of a key in the Secret, not a secret
DEFAULT_REGION = "us-east-1"  # what the charm's own check signs with when the relation has none
ROOT_PREFIX = "v2/artifacts"  # env.go defaultPipelineRoot, minio://mlpipeline/v2/artifacts
# The two kubernetes_manifest endpoints the objects go through: both or neither.
ENDPOINTS = ("config-maps", "secrets")


def keys_secret_name(app: str) -> str:
    """A Secret name of our own: kfp-profile-controller owns `mlpipeline-minio-artifact`."""
    return f"{app}-artifact-keys"


def pipeline_root(bucket: str) -> str:
    """The default pipeline root: the launcher's own default, in the served bucket."""
    return f"minio://{bucket}/{ROOT_PREFIX}"


def endpoint(host: str, port: int) -> str:
    """host:port as the AWS SDK takes it (scheme from disableSSL), IPv6 in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def providers(app: str, host: str, port: int, connection: S3Connection) -> dict[str, Any]:
    """The `providers` setting: `minio` and `s3` roots both go to the gateway."""
    default = {
        "endpoint": endpoint(host, port),
        "region": connection.region or DEFAULT_REGION,
        "disableSSL": not connection.secure,
        "forcePathStyle": connection.path_style,
        "credentials": {
            "fromEnv": False,
            "secretRef": {
                "secretName": keys_secret_name(app),
                "accessKeyKey": ACCESS_KEY_KEY,
                "secretKeyKey": SECRET_KEY_KEY,
            },
        },
    }
    return {"minio": {"default": default}, "s3": {"default": default}}


def config_map(app: str, host: str, port: int, connection: S3Connection, bucket: str) -> dict:
    """The `kfp-launcher` ConfigMap every profile namespace receives (no keys in it)."""
    settings = providers(app, host, port, connection)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONFIG_MAP, "labels": {"app.kubernetes.io/managed-by": app}},
        "data": {
            "defaultPipelineRoot": pipeline_root(bucket),
            "providers": yaml.safe_dump(settings, sort_keys=True),
        },
    }


def keys_secret(app: str, connection: S3Connection) -> dict[str, Any]:
    """The Secret the ConfigMap's `secretRef` names; `data`, so it reads back as sent."""
    values = {ACCESS_KEY_KEY: connection.access_key, SECRET_KEY_KEY: connection.secret_key}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": keys_secret_name(app),
            "labels": {"app.kubernetes.io/managed-by": app},
        },
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()},
    }
