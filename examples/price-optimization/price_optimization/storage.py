"""Reading and writing objects in S3 (Ceph RADOS Gateway on the platform).

Credentials and endpoint come from the standard AWS variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``), which on the platform are set from a
Kubernetes Secret, so no key ever appears in a pipeline definition or its logs.
"""

from __future__ import annotations

import io
import os
from urllib.parse import urlparse


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Bucket and key of an ``s3://bucket/key`` URI."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def s3_client():
    """A boto3 S3 client for the configured endpoint.

    Path-style addressing works with any RGW without DNS wildcards; checksums only when
    required, because Ceph releases before Reef reject the newer default over HTTPS.
    """
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=Config(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def read_bytes(uri: str) -> bytes:
    """The content of one S3 object."""
    bucket, key = split_s3_uri(uri)
    return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()


def write_bytes(uri: str, data: bytes) -> None:
    """Store *data* as one S3 object."""
    bucket, key = split_s3_uri(uri)
    s3_client().upload_fileobj(io.BytesIO(data), bucket, key)
