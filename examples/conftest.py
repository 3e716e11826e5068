"""Fixtures shared by the examples' tests: a real S3 server (Ceph RGW) on loopback.

The gateway is the repository's own test fixture (tests/ceph, loaded as a pytest plugin);
the examples read S3 through the standard AWS variables, set here for the session.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

pytest_plugins = ["pytest_ceph_rgw"]


@pytest.fixture(scope="session")
def s3_environment(ceph_rgw) -> Iterator[dict[str, str]]:
    """AWS_* variables for the gateway, set in os.environ while the session runs."""
    env = {
        "AWS_ENDPOINT_URL": ceph_rgw.endpoint,
        "AWS_ACCESS_KEY_ID": ceph_rgw.access_key,
        "AWS_SECRET_ACCESS_KEY": ceph_rgw.secret_key,
        "AWS_DEFAULT_REGION": ceph_rgw.region,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def bucket(s3_environment: dict[str, str]) -> str:
    """A new empty bucket on the Ceph RGW."""
    import boto3

    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name
