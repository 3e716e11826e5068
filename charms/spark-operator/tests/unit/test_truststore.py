"""The JKS trust store: its layout, and that the JDK's keytool reads it back."""

import hashlib
import os
import shutil
import struct
import subprocess

import pytest

import truststore
from render import ca_pem


def test_layout_header_entries_and_digest():
    pem = ca_pem() + ca_pem()
    store = truststore.jks(pem, "pw")
    magic, version, count = struct.unpack(">III", store[:12])
    assert (magic, version, count) == (0xFEEDFEED, 2, 2)
    body, digest = store[:-20], store[-20:]
    salted = "pw".encode("utf-16-be") + b"Mighty Aphrodite" + body
    expected = hashlib.sha1(salted, usedforsecurity=False).digest()
    assert digest == expected
    der = truststore.pem_to_der(ca_pem())[0]
    assert store.count(der) == 2


def test_same_pem_gives_the_same_bytes():
    assert truststore.jks(ca_pem()) == truststore.jks(ca_pem())


def test_no_certificate_is_an_error():
    with pytest.raises(ValueError, match="no certificate"):
        truststore.jks("not a pem")


def test_keytool_lists_the_ca_as_a_trusted_entry(tmp_path):
    keytool = shutil.which("keytool")
    if keytool is None:
        if os.environ.get("CI"):
            pytest.fail("keytool missing: the CI installs a Java runtime")
        pytest.skip(
            "no Java keytool on this machine (apt-get install openjdk-17-jre-headless,"
            " as `sudo .ci/run` does)"
        )
    path = tmp_path / "truststore.jks"
    path.write_bytes(truststore.jks(ca_pem()))
    listing = subprocess.run(  # noqa: S603
        [keytool, "-list", "-keystore", str(path), "-storepass", "changeit", "-storetype", "JKS"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Your keystore contains 1 entry" in listing
    assert "ca-0" in listing
    assert "trustedCertEntry" in listing
    wrong = subprocess.run(  # noqa: S603
        [keytool, "-list", "-keystore", str(path), "-storepass", "wrong", "-storetype", "JKS"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert wrong.returncode != 0, "the digest must depend on the password"
