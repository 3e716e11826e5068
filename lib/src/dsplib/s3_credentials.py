"""What an `s3` relation provides, checked and in one shape for every charm that consumes it.

s3-integrator (interface v0) and the newer object-storage integrators (v1, keys in a Juju
secret) publish the same fields; object-storage-charmlib reads both into one flat dict. This
module turns that dict into an `S3Connection`, or says precisely what is missing or wrong, so
a charm can block with a message that names the fix instead of failing later in a workload.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from dsplib.s3 import S3Client

PEM_BEGIN = "-----BEGIN CERTIFICATE-----"


class InvalidS3Data(Exception):
    """The s3 provider sent data that cannot be used; the message names the field."""


@dataclass(frozen=True)
class S3Connection:
    """Everything a client needs to reach one bucket."""

    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    bucket: str
    region: str = ""
    path: str = ""
    path_style: bool = True
    tls_ca: str = ""

    @property
    def secure(self) -> bool:
        """True for an https endpoint."""
        return self.endpoint.startswith("https://")

    @property
    def host(self) -> str:
        """Host name or IP of the endpoint."""
        return urlparse(self.endpoint).hostname or ""

    @property
    def port(self) -> int:
        """TCP port of the endpoint (scheme default when absent)."""
        parsed = urlparse(self.endpoint)
        return parsed.port or (443 if parsed.scheme == "https" else 80)

    def client(self, timeout: float) -> S3Client:
        """An S3 client for this connection (TLS verified against its CA when it has one)."""
        from dsplib.s3 import S3Client

        return S3Client(
            self.endpoint,
            self.access_key,
            self.secret_key,
            region=self.region,
            virtual_host=not self.path_style,
            ca_pem=self.tls_ca,
            timeout=timeout,
        )

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> S3Connection | None:
        """Build from the relation's connection info; None while the provider has not sent keys.

        Raises InvalidS3Data when the provider sent something unusable.
        """
        access_key = _text(info.get("access-key"))
        secret_key = _text(info.get("secret-key"))
        if not access_key or not secret_key:
            return None
        endpoint = _text(info.get("endpoint")).rstrip("/")
        if not endpoint:
            raise InvalidS3Data("s3-credentials: the provider sent no endpoint (set its endpoint)")
        parsed = urlparse(endpoint)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InvalidS3Data("s3-credentials: endpoint must be an http(s):// URL")
        try:
            parsed.port  # noqa: B018 - raises on a malformed port
        except ValueError as err:
            raise InvalidS3Data("s3-credentials: endpoint has an invalid port") from err
        bucket = _text(info.get("bucket"))
        if not bucket:
            raise InvalidS3Data("s3-credentials: the provider sent no bucket (set its bucket)")
        region = _text(info.get("region"))
        _check_scope("access-key", access_key)
        _check_scope("region", region)
        style = _text(info.get("s3-uri-style")) or "path"
        if style not in ("path", "host"):
            raise InvalidS3Data("s3-credentials: s3-uri-style must be path or host")
        return cls(
            endpoint=endpoint,
            access_key=access_key,
            secret_key=secret_key,
            bucket=bucket,
            region=region,
            path=_text(info.get("path")).strip("/"),
            path_style=style == "path",
            tls_ca=_ca_bundle(info.get("tls-ca-chain")),
        )


def _check_scope(key: str, value: str) -> None:
    """Access key and region go into the Authorization header's credential scope.

    Signature Version 4 writes `Credential=<access key>/<date>/<region>/s3/aws4_request`
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html): HTTP
    headers are ASCII, and a `/` or a space would change the scope.
    """
    if not (value.isascii() and value.isprintable()) or " " in value or "/" in value:
        raise InvalidS3Data(f"s3-credentials: {key} must be printable ASCII without spaces or '/'")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _ca_bundle(chain: Any) -> str:
    """PEM bundle from `tls-ca-chain`: a list of PEM or base64-of-PEM texts (or one of them)."""
    if not chain:
        return ""
    items = chain if isinstance(chain, list) else [chain]
    pems = []
    for item in items:
        text = item.strip() if isinstance(item, str) else ""
        if not text.startswith(PEM_BEGIN):
            try:
                text = base64.b64decode(text, validate=True).decode().strip()
            except ValueError:  # binascii.Error, UnicodeDecodeError, non-ASCII input
                text = ""
        if not text.startswith(PEM_BEGIN):
            raise InvalidS3Data(
                "s3-credentials: tls-ca-chain holds something that is not a PEM CA"
            )
        pems.append(text)
    return "\n".join(pems) + "\n"
