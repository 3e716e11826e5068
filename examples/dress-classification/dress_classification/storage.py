"""Objects in S3 (Ceph RADOS Gateway on the platform): image sets in, exported models out.

Endpoint and credentials come from the standard AWS variables (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``), set from a Kubernetes Secret on the
platform, so no key appears in a pipeline, a manifest or a log.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Bucket and key (or key prefix, possibly empty) of an ``s3://bucket/key`` URI."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def s3_client():
    """A boto3 client: path-style, checksums only when required (Ceph before Reef)."""
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
    """The content of one object."""
    bucket, key = split_s3_uri(uri)
    return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()


def download_prefix(uri: str, target: Path) -> int:
    """Copy every object under the URI's prefix into *target*; returns how many."""
    bucket, prefix = split_s3_uri(uri)
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    client = s3_client()
    count = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :]
            if not relative or relative.endswith("/"):
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(bucket, item["Key"], str(destination))
            count += 1
    if count == 0:
        raise FileNotFoundError(f"nothing stored under {uri}")
    return count


def upload_directory(source: Path, uri: str) -> int:
    """Copy every file under *source* to the URI's prefix; returns how many."""
    bucket, prefix = split_s3_uri(uri)
    prefix = prefix.rstrip("/")
    client = s3_client()
    files = [p for p in sorted(source.rglob("*")) if p.is_file()]
    for path in files:
        key = f"{prefix}/{path.relative_to(source).as_posix()}".lstrip("/")
        client.upload_file(str(path), bucket, key)
    return len(files)
