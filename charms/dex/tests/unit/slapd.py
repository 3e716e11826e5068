"""A real OpenLDAP server (Debian's slapd) on loopback, with StartTLS from a test CA.

It starts in a temporary directory from a generated slapd.conf, requires TLS for every
operation (`security tls=1`, so a client that skips StartTLS is refused) and is seeded with
people and groups of both kinds Dex's openldap preset reads: posixGroup with memberUid and
groupOfNames with member.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from dsplib.certificates import generate

SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"
BIND_DN = f"cn=dex,ou=services,{SUFFIX}"
BIND_PASSWORD = "dex-bind-secret"
PASSWORDS = {"alice": "alice-wonder-1", "bob": "bob-builds-2", "carol": "carol-sings-3"}
# Service accounts whose passwords hold what directory passwords do hold and what Dex's
# expansion of the connector's JSON text would break or change: a quote, a backslash, `$`
# (also before a variable name), the two characters `\n`, a real newline, non-ASCII.
HARD_BIND_PASSWORDS = {
    "quote": 'pa"ss"word',
    "backslash": "back\\slash\\",
    "dollar": "do$llar$LDAP_BIND_PW${HOME}$$",
    "escape": "new\\nline\\u0041",
    "newline": "two\nlines",
    "unicode": "pässwörd-密码-🔑",
    "mixed": '"}\\$x\\n\t é{',
}


def hard_bind_dn(name: str) -> str:
    """The DN of the service account whose password is HARD_BIND_PASSWORDS[name]."""
    return f"cn=dex-{name},ou=services,{SUFFIX}"


SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
SLAPD_CANDIDATES = ("slapd", "/usr/sbin/slapd")


def slapd_binary() -> str:
    """Path of slapd, or a failure in CI / a skip elsewhere."""
    for candidate in SLAPD_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    reason = "slapd is not installed (apt-get install slapd ldap-utils)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; .ci/run installs it, so CI must have it")
    pytest.skip(reason)


@dataclass(frozen=True)
class Pki:
    """PEM texts of a test CA and of a server certificate for localhost signed by it."""

    ca: str
    cert: str
    key: str


def make_pki(host: str = "localhost") -> Pki:
    """A test CA and a server certificate for `host` and 127.0.0.1, signed by it."""
    made = generate((host, "127.0.0.1"))
    return Pki(ca=made.ca, cert=made.cert, key=made.key)


@dataclass(frozen=True)
class Directory:
    """A running slapd: where it listens and the CA its certificate chains to."""

    host: str
    port: int
    ca: str
    log: Path

    @property
    def url(self) -> str:
        """The ldap:// URL a provider charm would send."""
        return f"ldap://{self.host}:{self.port}"


def _config(work: Path, pki_dir: Path) -> str:
    includes = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS)
    return f"""{includes}
pidfile {work}/slapd.pid
argsfile {work}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile {pki_dir}/ca.pem
TLSCertificateFile {pki_dir}/server.pem
TLSCertificateKeyFile {pki_dir}/server.key
security tls=1

database mdb
maxsize 16777216
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {work}/data
access to attrs=userPassword
    by self read
    by anonymous auth
    by * none
access to *
    by dn.children="ou=services,{SUFFIX}" read
    by self read
    by * none
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, process: subprocess.Popen, log: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"slapd exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"slapd did not listen on {port} within {timeout}s")


@contextmanager
def running_slapd(work: Path) -> Iterator[Directory]:
    """Start slapd in `work`, seed it, stop it on exit."""
    binary = slapd_binary()
    pki = make_pki()
    pki_dir = work / "pki"
    pki_dir.mkdir()
    (pki_dir / "ca.pem").write_text(pki.ca)
    (pki_dir / "server.pem").write_text(pki.cert)
    (pki_dir / "server.key").write_text(pki.key)
    (pki_dir / "server.key").chmod(0o600)
    (work / "data").mkdir()
    conf = work / "slapd.conf"
    conf.write_text(_config(work, pki_dir))
    port = _free_port()
    log = work / "slapd.log"
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments, our own temp files
            [binary, "-d", "stats", "-h", f"ldap://127.0.0.1:{port}/", "-f", str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_listening(port, process, log)
        directory = Directory(host="localhost", port=port, ca=pki.ca, log=log)
        seed(directory)
        yield directory
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def admin_connection(directory: Directory):
    """An ldap3 connection bound as the root DN over StartTLS."""
    import ldap3

    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_data=directory.ca)
    server = ldap3.Server(directory.host, port=directory.port, tls=tls, get_info=ldap3.NONE)
    conn = ldap3.Connection(server, user=ADMIN_DN, password=ADMIN_PASSWORD, raise_exceptions=True)
    conn.open()
    conn.start_tls()
    conn.bind()
    return conn


def entries() -> list[tuple[str, list[str], dict[str, object]]]:
    """The seed: (dn, objectClasses, attributes). Passwords are stored as slapd compares them."""
    people = f"ou=people,{SUFFIX}"
    groups = f"ou=groups,{SUFFIX}"
    return [
        (SUFFIX, ["dcObject", "organization"], {"dc": "example", "o": "Example"}),
        (people, ["organizationalUnit"], {"ou": "people"}),
        (groups, ["organizationalUnit"], {"ou": "groups"}),
        (f"ou=services,{SUFFIX}", ["organizationalUnit"], {"ou": "services"}),
        (
            BIND_DN,
            ["organizationalRole", "simpleSecurityObject"],
            {"cn": "dex", "userPassword": BIND_PASSWORD},
        ),
        *(
            (
                hard_bind_dn(name),
                ["organizationalRole", "simpleSecurityObject"],
                {"cn": f"dex-{name}", "userPassword": password},
            )
            for name, password in HARD_BIND_PASSWORDS.items()
        ),
        (
            f"uid=alice,{people}",
            ["inetOrgPerson", "posixAccount"],
            {
                "uid": "alice",
                "cn": "Alice Liddell",
                "sn": "Liddell",
                "mail": "alice@example.org",
                "uidNumber": "10001",
                "gidNumber": "10000",
                "homeDirectory": "/home/alice",
                "userPassword": PASSWORDS["alice"],
            },
        ),
        (
            f"uid=bob,{people}",
            ["inetOrgPerson"],
            {
                "uid": "bob",
                "cn": "Bob Builder",
                "sn": "Builder",
                "mail": "bob@example.org",
                "userPassword": PASSWORDS["bob"],
            },
        ),
        (
            f"uid=carol,{people}",
            ["inetOrgPerson"],
            {"uid": "carol", "cn": "Carol", "sn": "Singer", "userPassword": PASSWORDS["carol"]},
        ),
        (
            f"cn=data-scientists,{groups}",
            ["posixGroup"],
            {"cn": "data-scientists", "gidNumber": "10000", "memberUid": ["alice", "bob"]},
        ),
        (
            f"cn=platform-admins,{groups}",
            ["groupOfNames"],
            {"cn": "platform-admins", "member": [f"uid=alice,{people}"]},
        ),
        (
            f"cn=auditors,{groups}",
            ["groupOfNames"],
            {"cn": "auditors", "member": [f"uid=carol,{people}"]},
        ),
    ]


def seed(directory: Directory) -> None:
    """Add the seed entries through the server itself (as an administrator would)."""
    conn = admin_connection(directory)
    try:
        for dn, classes, attributes in entries():
            conn.add(dn, classes, attributes)
    finally:
        conn.unbind()
