"""A throwaway Samba Active Directory domain controller on loopback, as a pytest plugin.

Debian's Samba (`apt-get install --no-install-recommends samba samba-ad-dc samba-ad-provision
samba-dsdb-modules ldb-tools`; without samba-ad-provision the provision fails) provisions a
domain into a temporary directory and runs only its LDAP service (`server services = ldap`,
one process: `--model=single`) on 127.0.0.1. Like a real AD it refuses simple binds without
TLS, and it serves LDAPS and StartTLS with a certificate from a throwaway enterprise CA whose
subjectAltName names the DC, the domain, localhost and 127.0.0.1, as AD Certificate Services
issues them (Samba's self-generated certificate has no subjectAltName, which Go refuses).

Samba's LDAP ports are fixed (389, 636, 3268, 3269): a lock file at a fixed path in /tmp
makes a second test process wait for the first one's DC to stop instead of colliding. The DC
is seeded over LDAPS as Administrator with people, a disabled account, a service account and
groups nested two deep, and every process it started is stopped by PID at the end (it also
dies with the test process, and Samba ends itself after MAX_RUNTIME). One DC serves the whole
test session; the terminal summary says how long it took.

Without the packages (or without root, which ports below 1024 need) the tests that use
`samba_dc` are skipped with the install command; with the environment variable CI set they
fail instead, since .ci/run installs the packages.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NoReturn

import pytest

from dsplib.certificates import generate

PACKAGES = ("samba", "samba-ad-dc", "samba-ad-provision", "samba-dsdb-modules", "ldb-tools")
INSTALL_HINT = f"apt-get install --no-install-recommends {' '.join(PACKAGES)}"
BINARIES = ("samba", "samba-tool")
PORTS = (389, 636, 3268, 3269)  # LDAP, LDAPS, global catalog, global catalog over TLS
# The ports are the machine's, so the lock is at one fixed path whatever $TMPDIR says.
LOCK_PATH = Path("/tmp/samba-ad-dc-ports.lock")
LOCK_WAIT = 900.0  # another test process may hold the ports for its whole session
READY_TIMEOUT = 60.0
MAX_RUNTIME = 3 * 3600  # samba --maximum-runtime: a DC left behind ends itself

REALM = "SAMDOM.EXAMPLE.TEST"
DOMAIN = "samdom.example.test"  # the domain's DNS name, in front of every DC
NETBIOS = "SAMDOM"
DC_NAME = "dc1"
DC_FQDN = f"{DC_NAME}.{DOMAIN}"
HOST = "localhost"
BASE_DN = "DC=samdom,DC=example,DC=test"
ADMIN_DN = f"CN=Administrator,CN=Users,{BASE_DN}"
ADMIN_PASSWORD = "Adm1n-Samba-Pass!"  # a throwaway test domain
STAFF = f"OU=Staff,{BASE_DN}"
SERVICES = f"OU=Service Accounts,{BASE_DN}"
GROUPS = f"OU=Groups,{BASE_DN}"
BIND_DN = f"CN=svc-dex,{SERVICES}"
BIND_PASSWORD = "Svc-Dex-Bind-9!"  # a throwaway test domain

# userAccountControl flags (MS-ADTS 2.2.16): a normal account, disabled, password never expires
NORMAL_ACCOUNT = 0x200
ACCOUNT_DISABLE = 0x2
DONT_EXPIRE_PASSWORD = 0x10000


@dataclass(frozen=True)
class Person:
    """A user account of the seed."""

    sam: str
    cn: str
    password: str = field(repr=False)
    mail: str = ""
    display_name: str = ""
    disabled: bool = False

    @property
    def dn(self) -> str:
        return f"CN={self.cn.replace(',', chr(92) + ',')},{STAFF}"

    @property
    def upn(self) -> str:
        return f"{self.sam}@{DOMAIN}"


PEOPLE = {
    p.sam: p
    for p in (
        Person("alice", "Alice Liddell", "Alice-Wonder-1!", "alice@example.org", "Alice L."),
        Person("bob", "Bob Builder", "Bob-Builds-2!", "bob@example.org"),  # no displayName
        Person("carol", "Carol Singer", "Carol-Sings-3!", display_name="Carol S."),  # no mail
        Person("dave", "Dave Gone", "Dave-Left-4!", "dave@example.org", disabled=True),
        Person("erin", "Smith, Erin", "Erin-Smith-5!", "erin@example.org", "Erin Smith"),
    )
}
# group -> members (people by sAMAccountName, groups by name): platform > admins > ops
GROUP_MEMBERS: dict[str, tuple[str, ...]] = {
    "data-scientists": ("alice", "bob", "dave"),
    "ops": ("alice", "erin"),
    "admins": ("ops",),
    "platform": ("admins",),
    "auditors": ("carol",),
}


def group_dn(name: str) -> str:
    return f"CN={name},{GROUPS}"


@dataclass
class SambaDC:
    """A running DC: where it listens, the CA its certificate chains to, timings and logs."""

    dir: Path
    ca: str
    host: str = HOST
    provision_seconds: float = 0.0
    start_seconds: float = 0.0
    seed_seconds: float = 0.0
    pids: list[int] = field(default_factory=list)

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://{self.host}:636"

    @property
    def ldap_url(self) -> str:
        return f"ldap://{self.host}:389"

    @property
    def log(self) -> Path:
        return self.dir / "samba.out"


class Unavailable(Exception):
    """The DC cannot run here (message says why and how to fix it)."""


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail where CI is set, since .ci/run installs everything the DC needs."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; .ci/run provides it, so CI must run the AD tests", pytrace=False)
    pytest.skip(reason)


def check_prerequisites() -> None:
    """Raise Unavailable naming what is missing."""
    missing = [
        b for b in BINARIES if not shutil.which(b, path=f"{os.environ.get('PATH')}:/usr/sbin")
    ]
    if missing:
        raise Unavailable(
            f"Samba AD DC is not installed (no {', '.join(missing)}): {INSTALL_HINT}"
        )
    if os.geteuid() != 0:
        raise Unavailable("the Samba AD DC needs root: its LDAP ports (389, 636) are privileged")


@contextmanager
def ports_lock(wait: float = LOCK_WAIT) -> Iterator[IO[str]]:
    """Hold the machine-wide lock on Samba's fixed ports, waiting for another holder."""
    lock = open(LOCK_PATH, "a")  # noqa: SIM115 - closed below
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Unavailable(
                        f"another test process has held {LOCK_PATH} (Samba's fixed LDAP ports) "
                        f"for {wait:.0f} s"
                    ) from None
                time.sleep(0.5)
        busy = [port for port in PORTS if not _port_free(port)]
        if busy:
            raise Unavailable(
                f"127.0.0.1 port(s) {', '.join(map(str, busy))} are in use by another program; "
                "Samba's AD DC needs 389, 636, 3268 and 3269"
            )
        yield lock
    finally:
        lock.close()  # releases the flock


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _write_tls(work: Path) -> tuple[Path, str]:
    """The DC's key and certificate from a fresh CA, with the names AD CS would put in it."""
    pki = generate((DOMAIN, HOST, "127.0.0.1", DC_FQDN))  # the last name is the subject CN
    tls = work / "tls"
    tls.mkdir()
    (tls / "ca.pem").write_text(pki.ca)
    (tls / "cert.pem").write_text(pki.cert)
    key = tls / "key.pem"
    key.touch(0o600)  # Samba refuses a key file others can read
    key.write_text(pki.key)
    return tls, pki.ca


def _provision(work: Path, tls: Path) -> None:
    options = {
        "interfaces": "127.0.0.1",
        "bind interfaces only": "yes",
        "server services": "ldap",
        "tls enabled": "yes",
        "tls keyfile": str(tls / "key.pem"),
        "tls certfile": str(tls / "cert.pem"),
        "tls cafile": str(tls / "ca.pem"),
        "log file": str(work / "log" / "samba.log"),
        "pid directory": str(work / "run"),
    }
    (work / "log").mkdir()
    (work / "run").mkdir()
    command = [
        "samba-tool",
        "domain",
        "provision",
        f"--targetdir={work / 'dc'}",
        f"--realm={REALM}",
        f"--domain={NETBIOS}",
        f"--host-name={DC_NAME}",
        "--server-role=dc",
        "--dns-backend=NONE",
        f"--adminpass={ADMIN_PASSWORD}",
        *(f"--option={name}={value}" for name, value in options.items()),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    (work / "provision.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"samba-tool domain provision failed: {result.stderr[-2000:]}")


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the test process dies (PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def _start(work: Path) -> subprocess.Popen[bytes]:
    samba = shutil.which("samba", path=f"{os.environ.get('PATH')}:/usr/sbin") or "samba"
    command = [
        samba,
        "--foreground",
        "--no-process-group",
        "--model=single",
        f"--configfile={work / 'dc' / 'etc' / 'smb.conf'}",
        f"--maximum-runtime={MAX_RUNTIME}",
        "--debug-stdout",
        "--debuglevel=1",
    ]
    with (work / "samba.out").open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - fixed arguments, our own files
            command, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )


def admin_connection(dc: SambaDC, user: str = ADMIN_DN, password: str = ADMIN_PASSWORD):
    """An ldap3 connection over LDAPS, bound (raises on failure)."""
    import ldap3

    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_data=dc.ca)
    server = ldap3.Server(dc.host, port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE)
    conn = ldap3.Connection(
        server, user=user, password=password, raise_exceptions=True, receive_timeout=10
    )
    conn.open()
    conn.bind()
    return conn


def _wait_ready(dc: SambaDC, process: subprocess.Popen[bytes]) -> None:
    import ldap3

    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"samba exited with {process.returncode}: {_tail(dc.log)}")
        try:
            admin_connection(dc).unbind()
            return
        except (ldap3.core.exceptions.LDAPException, OSError):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"samba did not accept an LDAPS bind within {READY_TIMEOUT:.0f} s: "
                    f"{_tail(dc.log)}"
                ) from None
            time.sleep(0.2)


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _password(text: str) -> bytes:
    """unicodePwd: the password in double quotes, UTF-16-LE (MS-ADTS 3.1.1.3.1.5.1)."""
    return f'"{text}"'.encode("utf-16-le")


USER_CLASSES = ["top", "person", "organizationalPerson", "user"]


def add_person(conn, person: Person) -> None:
    """Create `person`'s account with its password, enabled unless `disabled`."""
    attributes: dict[str, object] = {
        "sAMAccountName": person.sam,
        "userPrincipalName": person.upn,
        "givenName": person.cn.split()[0],
        "unicodePwd": _password(person.password),
        "userAccountControl": str(NORMAL_ACCOUNT | (ACCOUNT_DISABLE if person.disabled else 0)),
    }
    if person.mail:
        attributes["mail"] = person.mail
    if person.display_name:
        attributes["displayName"] = person.display_name
    conn.add(person.dn, USER_CLASSES, attributes)


def seed(dc: SambaDC) -> None:
    """Add OUs, the service account, people and nested groups, as an administrator would."""
    conn = admin_connection(dc)
    try:
        for ou in (STAFF, SERVICES, GROUPS):
            conn.add(ou, ["top", "organizationalUnit"])
        conn.add(
            BIND_DN,
            USER_CLASSES,
            {
                "sAMAccountName": "svc-dex",
                "userPrincipalName": f"svc-dex@{DOMAIN}",
                "unicodePwd": _password(BIND_PASSWORD),
                "userAccountControl": str(NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD),
            },
        )
        for person in PEOPLE.values():
            add_person(conn, person)
        for name, members in GROUP_MEMBERS.items():
            dns = [PEOPLE[m].dn if m in PEOPLE else group_dn(m) for m in members]
            conn.add(group_dn(name), ["top", "group"], {"sAMAccountName": name, "member": dns})
    finally:
        conn.unbind()


def _descendants(pid: int) -> list[int]:
    """PIDs of every process below `pid` (from /proc), so none is left behind."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop(process: subprocess.Popen[bytes], dc: SambaDC) -> None:
    """Stop samba and anything it started, each by PID."""
    others = _descendants(process.pid)
    dc.pids = [process.pid, *others]
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pid in others:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def running_dc(work: Path) -> Iterator[SambaDC]:
    """Provision, start and seed a DC in `work`; stop it on exit (the directory stays)."""
    with ports_lock():
        began = time.monotonic()
        tls, ca = _write_tls(work)
        _provision(work, tls)
        dc = SambaDC(dir=work, ca=ca, provision_seconds=time.monotonic() - began)
        began = time.monotonic()
        process = _start(work)
        try:
            _wait_ready(dc, process)
            dc.start_seconds = time.monotonic() - began
            began = time.monotonic()
            seed(dc)
            dc.seed_seconds = time.monotonic() - began
            yield dc
        finally:
            stop(process, dc)


_timings: dict[str, float] = {}


@pytest.fixture(scope="session")
def samba_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaDC]:
    """One Samba AD DC for the whole session, seeded (see PEOPLE and GROUP_MEMBERS)."""
    try:
        check_prerequisites()
        with running_dc(tmp_path_factory.mktemp("samba-ad")) as dc:
            _timings.update(
                provision=dc.provision_seconds, start=dc.start_seconds, seed=dc.seed_seconds
            )
            yield dc
    except Unavailable as err:
        unavailable(str(err))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how long the DC took, when one was started."""
    if _timings:
        terminalreporter.write_line(
            "samba-ad: provisioned in {provision:.1f} s, LDAPS up in {start:.1f} s, "
            "seeded in {seed:.1f} s".format(**_timings)
        )
