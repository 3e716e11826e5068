"""A Java trust store (JKS) holding the CA of the object store, built without a JVM.

Spark's S3A client runs in the JVM, which trusts only what its trust store holds and cannot
read a PEM file. The charm only has the PEM the s3 relation sent, so it writes the JKS format
itself: a fixed header, one "trusted certificate" entry per CA and a keyed SHA-1 over the
whole, as `keytool` writes it. The output is deterministic (fixed entry dates), so the same
CA always gives the same bytes and an unchanged relation never changes the delivered Secret.
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct

# A trust store password guards the file's integrity, not a secret: anyone who can read the
# file can read the public CA certificates in it. This is the JVM's own default.
DEFAULT_PASSWORD = "changeit"  # noqa: S105

_MAGIC = 0xFEEDFEED
_VERSION = 2
_TRUSTED_CERT_TAG = 2
_PEM_BLOCK = re.compile(
    r"-----BEGIN CERTIFICATE-----\s*(?P<body>[A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----"
)


def pem_to_der(pem: str) -> list[bytes]:
    """The DER bytes of every certificate in a PEM bundle, in order."""
    return [base64.b64decode("".join(m["body"].split())) for m in _PEM_BLOCK.finditer(pem)]


def jks(pem: str, password: str = DEFAULT_PASSWORD) -> bytes:
    """A JKS trust store with every certificate of `pem` as a trusted entry (alias ca-N).

    Raises ValueError when `pem` holds no certificate.
    """
    certificates = pem_to_der(pem)
    if not certificates:
        raise ValueError("no certificate in the PEM bundle")
    body = struct.pack(">III", _MAGIC, _VERSION, len(certificates))
    for index, der in enumerate(certificates):
        body += struct.pack(">I", _TRUSTED_CERT_TAG)
        body += _java_utf(f"ca-{index}")
        body += struct.pack(">q", 0)  # entry date: fixed, so the output is reproducible
        body += _java_utf("X.509")
        body += struct.pack(">I", len(der)) + der
    return body + _integrity_digest(body, password)


def _java_utf(text: str) -> bytes:
    """DataOutputStream.writeUTF for ASCII text: 16-bit length, then the bytes."""
    raw = text.encode("ascii")
    return struct.pack(">H", len(raw)) + raw


def _integrity_digest(body: bytes, password: str) -> bytes:
    """SHA-1 over the password (UTF-16BE), the JDK's fixed salt phrase and the content."""
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(password.encode("utf-16-be"))
    digest.update(b"Mighty Aphrodite")
    digest.update(body)
    return digest.digest()
