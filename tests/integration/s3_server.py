"""An S3 server that charms in the test model can reach, and s3-integrator pointed at it.

Set DSP_S3_ENDPOINT, DSP_S3_ACCESS_KEY and DSP_S3_SECRET_KEY to test against a real Ceph
RADOS Gateway reachable from the cluster (an `http(s)://host:port` URL and an RGW user's keys;
DSP_S3_CA_FILE for a private CA). Without them the tests deploy Charmed Kubeflow's MinIO charm
into the model as the S3 server: the charms under test speak only S3 to it.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import jubilant
from juju_helpers import run_when_ready

MINIO_CHANNEL = "1.10/stable"
S3_INTEGRATOR_CHANNEL = "1/stable"


@dataclass(frozen=True)
class S3Server:
    """Where the server is and the keys of a user on it."""

    endpoint: str
    access_key: str
    secret_key: str
    ca_pem: str = ""


def s3_server(juju: jubilant.Juju) -> S3Server:
    """The site's gateway from DSP_S3_*, else a MinIO deployed into the model."""
    endpoint = os.environ.get("DSP_S3_ENDPOINT")
    if endpoint:
        ca_file = os.environ.get("DSP_S3_CA_FILE")
        return S3Server(
            endpoint,
            os.environ["DSP_S3_ACCESS_KEY"],
            os.environ["DSP_S3_SECRET_KEY"],
            Path(ca_file).read_text() if ca_file else "",
        )
    secret_key = secrets.token_hex(16)
    juju.deploy(
        "minio",
        channel=MINIO_CHANNEL,
        trust=True,
        config={"access-key": "minio-it", "secret-key": secret_key},
    )
    return S3Server(f"http://minio.{juju.model}.svc.cluster.local:9000", "minio-it", secret_key)


def deploy_s3_integrator(
    juju: jubilant.Juju, app: str, server: S3Server, bucket: str, path: str = ""
) -> None:
    """s3-integrator with the server's endpoint and keys."""
    config = {"endpoint": server.endpoint, "bucket": bucket, "path": path, "s3-uri-style": "path"}
    if server.ca_pem:
        config["tls-ca-chain"] = base64.b64encode(server.ca_pem.encode()).decode()
    juju.deploy("s3-integrator", app, channel=S3_INTEGRATOR_CHANNEL, config=config)
    set_keys(juju, app, server.access_key, server.secret_key)


def set_keys(juju: jubilant.Juju, app: str, access_key: str, secret_key: str) -> None:
    """Give s3-integrator the keys (its sync-s3-credentials action).

    A fresh unit first runs its hooks and then blocks on the missing credentials: the action
    goes in once it has (juju_helpers.run_when_ready), with a wait longer than `juju run`'s 60 s.
    """
    run_when_ready(
        juju,
        f"{app}/leader",
        "sync-s3-credentials",
        {"access-key": access_key, "secret-key": secret_key},
    )
