"""Fixtures shared by the examples' tests: a real S3 server (Ceph RGW) on loopback."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
from examples_support import ACCESS_KEY, CEPH_BINARIES, SECRET_KEY, CephRGW, needs


@pytest.fixture(scope="session")
def ceph_rgw(tmp_path_factory) -> Iterator[CephRGW]:
    """A running Ceph RGW with one S3 user; its variables are set in os.environ."""
    missing = [b for b in CEPH_BINARIES if shutil.which(b) is None]
    if missing:
        needs(
            "Ceph RGW",
            f"missing {', '.join(missing)} (apt-get install ceph-mon ceph-osd "
            "radosgw ceph-common)",
        )
    cluster = CephRGW(tmp_path_factory.mktemp("ceph"))
    try:
        cluster.start()
    except Exception:
        cluster.stop()
        raise
    saved = {k: os.environ.get(k) for k in cluster.env}
    os.environ.update(cluster.env)
    try:
        yield cluster
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        cluster.stop()


@pytest.fixture
def bucket(ceph_rgw) -> str:
    """A new empty bucket on the Ceph RGW."""
    import boto3

    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=ceph_rgw.endpoint, **_credentials()).create_bucket(Bucket=name)
    return name


def _credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
        "region_name": "us-east-1",
    }
