"""A throw-away single-node Ceph cluster with a RADOS Gateway (S3), for tests.

One monitor, one memstore OSD and radosgw from Debian's packages (`apt-get install
--no-install-recommends ceph-mon ceph-osd radosgw ceph-common`), bound to 127.0.0.1 only and
living in a private directory: no systemd, nothing under /etc/ceph or /var/lib/ceph, no
ceph-mgr. The gateway serves plain HTTP and HTTPS (a self-signed CA made at start-up).
Each cluster takes a private block of 32 ports (held with a lock file), so parallel runs on one
machine do not collide. Ready in 2-4 s on two cores.

As a command (daemons keep running after `start`):
    python tests/ceph/ceph_rgw.py start [DIR]   # prints endpoint and keys, writes DIR/s3.env
    python tests/ceph/ceph_rgw.py stop DIR
    python tests/ceph/ceph_rgw.py bench [RUNS]  # start-up and stop times
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dsplib.certificates import generate

REQUIRED_BINARIES = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph-authtool")
INSTALL_HINT = "apt-get install --no-install-recommends ceph-mon ceph-osd radosgw ceph-common"
SYSTEM_PYTHON = "/usr/bin/python3"  # the interpreter Debian's python3-rados is built for
# radosgw would create these one at a time (a monitor commit each, 1-2 s apiece, some lazily
# on the first bucket or object); creating them in parallel while the OSD boots saves ~10 s.
RGW_POOLS = (
    ".rgw.root",
    "default.rgw.log",
    "default.rgw.control",
    "default.rgw.meta",
    "default.rgw.buckets.index",
    "default.rgw.buckets.data",
    "default.rgw.buckets.non-ec",
)
PORT_RANGE = range(20000, 32000, 32)  # below Linux's ephemeral ports (32768+)
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

# Runs in Debian's python3 (which has the rados binding): one monitor connection registers the
# OSD, creates the pools in parallel and waits until the OSD is up. Far cheaper than one
# `ceph` CLI process per command.
MON_SETUP = """
import json, sys, time, rados
from concurrent.futures import ThreadPoolExecutor
conf, osd_uuid, pools = sys.argv[1], sys.argv[2], sys.argv[3:]
cluster = rados.Rados(conffile=conf, name="client.admin")
cluster.connect(timeout=30)
def command(**cmd):
    ret, out, err = cluster.mon_command(json.dumps(cmd), b"")
    if ret != 0:
        sys.exit(f"{cmd['prefix']} failed ({ret}): {err}")
    return out
print(json.loads(command(prefix="osd new", uuid=osd_uuid, format="json"))["osdid"], flush=True)
def create_pool(pool):
    command(prefix="osd pool create", pool=pool, pg_num=8, pgp_num=8, pool_type="replicated")
    command(prefix="osd pool application enable", pool=pool, app="rgw")
with ThreadPoolExecutor(len(pools)) as workers:
    list(workers.map(create_pool, pools))
while json.loads(command(prefix="osd stat", format="json"))["num_up_osds"] < 1:
    time.sleep(0.05)
"""


class CephUnavailable(RuntimeError):
    """Ceph's packages are not installed on this machine."""


class CephStartError(RuntimeError):
    """The cluster did not come up; the message names the step and the log directory."""


@dataclass(frozen=True)
class S3User:
    """An RGW user and its S3 keys."""

    uid: str
    access_key: str
    secret_key: str


def missing_binaries() -> list[str]:
    """The Ceph programs this module needs that are not on PATH."""
    missing = [name for name in REQUIRED_BINARIES if shutil.which(name) is None]
    if not Path(SYSTEM_PYTHON).exists():
        missing.append(SYSTEM_PYTHON)
    return missing


def self_signed_ca(common_name: str = "ceph-rgw test CA") -> str:
    """A CA certificate (PEM) that signed nothing this gateway serves, for wrong-CA tests."""
    return generate((common_name.replace(" ", "-").lower(),)).ca


def port_is_free(port: int) -> bool:
    """Nothing listens on (or holds) 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def reserve_port_block() -> tuple[int, IO[str]]:
    """A free block of 32 ports, locked (flock) against other clusters until the file closes."""
    lock_dir = Path(tempfile.gettempdir()) / "ceph-rgw-ports"
    lock_dir.mkdir(exist_ok=True)
    bases = list(PORT_RANGE)
    secrets.SystemRandom().shuffle(bases)
    for base in bases:
        lock = open(lock_dir / f"{base}.lock", "w")  # noqa: SIM115 - held until stop()
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        if all(port_is_free(p) for p in range(base, base + 32)):
            return base, lock
        lock.close()
    raise CephStartError("no free block of 32 ports between 20000 and 32000 on 127.0.0.1")


_prctl = None


def _die_with_parent() -> None:
    """Ask for SIGKILL when the parent dies, so no daemon outlives a killed pytest.

    Runs in the child between fork and exec. SIGTERM would do, but the OSD then takes ~10 s
    to exit once the monitor is gone.
    """
    if _prctl is not None:
        _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class CephRGW:
    """One cluster: `start()`, use `endpoint`/`https_endpoint`/`user`/`ca_pem`, `stop()`."""

    def __init__(self, workdir: Path | None = None, bound_to_parent: bool = True):
        self.dir = workdir or Path(tempfile.mkdtemp(prefix="ceph-rgw-"))
        self.conf = self.dir / "ceph.conf"
        self.bound_to_parent = bound_to_parent
        self.user = S3User("testuser", _access_key(), secrets.token_hex(20))
        self.ca_pem = ""
        self.startup_seconds = 0.0
        self.base_port = 0
        self._lock: IO[str] | None = None
        self._daemons: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def http_port(self) -> int:
        return self.base_port + 2

    @property
    def https_port(self) -> int:
        return self.base_port + 3

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def https_endpoint(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def start(self) -> CephRGW:
        """Bring the cluster up and create the S3 user; stop what was started on failure."""
        missing = missing_binaries()
        if missing:
            raise CephUnavailable(f"missing {', '.join(missing)}; install with: {INSTALL_HINT}")
        began = time.monotonic()
        try:
            self._prepare()
            self._start_monitor()
            self._start_osd()
            self.start_gateway()
            self._radosgw_admin("user", "create", *self._user_args(self.user))
        except BaseException:
            self.stop(remove=False)
            raise
        self.startup_seconds = time.monotonic() - began
        env_file = self.dir / "s3.env"
        env_file.touch(0o600)
        env_file.write_text("".join(f"{k}={v}\n" for k, v in self.env().items()))
        return self

    def stop(self, remove: bool = True) -> None:
        """Stop every daemon this object started, free the ports, delete the directory.

        `remove=False` keeps the directory, e.g. the logs of a failed start.
        """
        for name in ("rgw", "osd", "mon"):  # one at a time: together, rgw and osd hang 10 s
            self._terminate(name)
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)

    def create_user(self, uid: str | None = None) -> S3User:
        """Another RGW user with its own keys (it cannot see the first user's buckets)."""
        user = S3User(uid or f"user-{secrets.token_hex(4)}", _access_key(), secrets.token_hex(20))
        self._radosgw_admin("user", "create", *self._user_args(user))
        return user

    def start_gateway(self) -> None:
        """Start radosgw and wait until it answers S3 requests."""
        self._spawn("rgw", "radosgw", "-f", "-c", str(self.conf), "-n", "client.rgw.a")
        self._wait_until("radosgw to answer", self._gateway_answers, ["mon", "osd", "rgw"])

    def stop_gateway(self) -> None:
        """Stop radosgw only (the endpoint then refuses connections)."""
        self._terminate("rgw")

    @contextlib.contextmanager
    def gateway_stopped(self) -> Iterator[None]:
        """The gateway is down inside the block and back up after it."""
        self.stop_gateway()
        try:
            yield
        finally:
            self.start_gateway()

    def env(self) -> dict[str, str]:
        """The endpoint and keys as environment variables (AWS CLI / SDK names)."""
        return {
            "S3_ENDPOINT": self.endpoint,
            "S3_HTTPS_ENDPOINT": self.https_endpoint,
            "S3_CA_FILE": str(self.dir / "tls" / "ca.pem"),
            "AWS_ACCESS_KEY_ID": self.user.access_key,
            "AWS_SECRET_ACCESS_KEY": self.user.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "CEPH_CONF": str(self.conf),
        }

    # -- start-up steps ----------------------------------------------------------------------

    def _prepare(self) -> None:
        self.base_port, self._lock = reserve_port_block()
        for sub in ("log", "run", "mon.a", "osd.0", "rgw.a", "tls"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self._write_tls_files()
        self.conf.write_text(ceph_conf(self.dir, self.base_port, str(uuid.uuid4())))
        self._write_keyring()
        global _prctl
        if self.bound_to_parent and _prctl is None:
            _prctl = ctypes.CDLL(None, use_errno=True).prctl

    def _write_tls_files(self) -> None:
        pki = generate(("localhost", "127.0.0.1"))
        self.ca_pem, cert, key = pki.ca, pki.cert, pki.key
        tls = self.dir / "tls"
        (tls / "ca.pem").write_text(self.ca_pem)
        (tls / "rgw.crt").write_text(cert)
        (tls / "rgw.key").write_text(key)
        (tls / "rgw.key").chmod(0o600)

    def _write_keyring(self) -> None:
        """Put every daemon's key in one keyring; the monitor imports it at mkfs."""
        keyring = str(self.dir / "keyring")
        entities = {
            "mon.": ["mon", "allow *"],
            "client.admin": ["mon", "allow *", "osd", "allow *", "mgr", "allow *"],
            "osd.0": ["mon", "allow profile osd", "osd", "allow *", "mgr", "allow profile osd"],
            "client.rgw.a": ["mon", "allow rw", "osd", "allow rwx", "mgr", "allow rw"],
        }
        for index, (name, caps) in enumerate(entities.items()):
            pairs = zip(caps[::2], caps[1::2], strict=True)
            cap_args = [arg for pair in pairs for arg in ("--cap", *pair)]
            create = ["--create-keyring"] if index == 0 else []
            self._run("ceph-authtool", *create, keyring, "--gen-key", "-n", name, *cap_args)
        os.chmod(keyring, 0o600)

    def _start_monitor(self) -> None:
        monmap = str(self.dir / "monmap")
        mon = f"[v2:127.0.0.1:{self.base_port},v1:127.0.0.1:{self.base_port + 1}]"
        fsid = _conf_value(self.conf, "fsid")
        self._run("monmaptool", "--create", "--fsid", fsid, "--addv", "a", mon, monmap)
        self._run("ceph-mon", "-c", str(self.conf), "--mkfs", "-i", "a", "--monmap", monmap)
        self._spawn("mon", "ceph-mon", "-f", "-c", str(self.conf), "-i", "a")

    def _start_osd(self) -> None:
        osd_uuid = str(uuid.uuid4())
        setup = self._spawn(
            "mon-setup", SYSTEM_PYTHON, "-c", MON_SETUP, str(self.conf), osd_uuid, *RGW_POOLS,
            stdout=subprocess.PIPE,
        )  # fmt: skip
        assert setup.stdout is not None
        osd_id = setup.stdout.readline().decode().strip()
        if osd_id != "0":
            setup.wait(READY_TIMEOUT)
            raise CephStartError(f"registering the OSD failed; see {self.dir / 'log'}")
        conf = str(self.conf)
        self._run("ceph-osd", "-c", conf, "-i", "0", "--mkfs", "--osd-uuid", osd_uuid)
        self._spawn("osd", "ceph-osd", "-f", "-c", conf, "-i", "0")
        self._wait_until("pools and osd.0", lambda: setup.poll() is not None, ["mon", "osd"])
        del self._daemons["mon-setup"]
        if setup.returncode != 0:
            raise CephStartError(f"creating pools failed; see {self.dir / 'log'}/mon-setup.stdout")

    def _gateway_answers(self) -> bool:
        """RGW's own anonymous bucket listing, not just any HTTP server on the port."""
        try:
            with urllib.request.urlopen(self.endpoint, timeout=2) as response:  # noqa: S310
                return b"<Owner><ID>anonymous</ID>" in response.read()
        except OSError:
            return False

    # -- processes ---------------------------------------------------------------------------

    def _run(self, *args: str, secret: bool = False) -> None:
        """Run a short Ceph command, logged to log/commands.log unless it carries keys."""
        with open(self.dir / "log" / "commands.log", "ab") as log:
            log.write(f"$ {' '.join(args[:1] if secret else args)}\n".encode())
            log.flush()
            stdout = subprocess.DEVNULL if secret else log
            result = subprocess.run(  # noqa: S603 - Ceph's own tools, arguments built here
                args, stdout=stdout, stderr=log, stdin=subprocess.DEVNULL
            )
        if result.returncode != 0:
            raise CephStartError(f"{args[0]} failed; see {self.dir / 'log' / 'commands.log'}")

    def _radosgw_admin(self, *args: str) -> None:
        """Its arguments and output hold S3 keys: neither is logged."""
        self._run("radosgw-admin", "-c", str(self.conf), *args, secret=True)

    @staticmethod
    def _user_args(user: S3User) -> list[str]:
        return [
            f"--uid={user.uid}",
            f"--display-name={user.uid}",
            f"--access-key={user.access_key}",
            f"--secret-key={user.secret_key}",
        ]

    def _spawn(self, name: str, *args: str, stdout: int | None = None) -> subprocess.Popen[bytes]:
        with open(self.dir / "log" / f"{name}.stdout", "ab") as log:
            process = subprocess.Popen(  # noqa: S603 - Ceph's daemons, arguments built here
                args,
                stdin=subprocess.DEVNULL,
                stdout=stdout if stdout is not None else log,
                stderr=log,
                start_new_session=True,
                preexec_fn=_die_with_parent if self.bound_to_parent else None,
            )
        self._daemons[name] = process
        return process

    def _wait_until(self, what: str, ready: Callable[[], bool], daemons: list[str]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready():
            for name in daemons:
                if self._daemons[name].poll() is not None:
                    raise CephStartError(f"{name} exited while waiting for {what}; see logs")
            if time.monotonic() > deadline:
                raise CephStartError(f"timed out waiting for {what}; see {self.dir / 'log'}")
            time.sleep(0.05)

    def _terminate(self, name: str) -> None:
        process = self._daemons.pop(name, None)
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _access_key() -> str:
    return "TEST" + secrets.token_hex(8).upper()


def _conf_value(conf: Path, key: str) -> str:
    prefix = f"{key} = "
    return next(
        line[len(prefix) :] for line in conf.read_text().splitlines() if line.startswith(prefix)
    )


def ceph_conf(run: Path, base: int, fsid: str) -> str:
    """The configuration of the cluster, every path inside `run`.

    Ports: monitor base and base+1, radosgw HTTP base+2 and HTTPS base+3, OSD base+8..base+31.
    """
    return f"""[global]
fsid = {fsid}
mon host = [v2:127.0.0.1:{base},v1:127.0.0.1:{base + 1}]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind port min = {base + 8}
ms bind port max = {base + 31}
keyring = {run}/keyring
run dir = {run}/run
pid file = {run}/run/$name.pid
admin socket = {run}/run/$name.asok
log file = {run}/log/$name.log
crash dir = {run}/crash
log to syslog = false
err to syslog = false
clog to syslog = false
# one OSD holds every pool
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 2
mon data avail crit = 1
# no ceph-mgr runs: do not report MGR_DOWN
mon mgr mkfs grace = 315360000

[mon]
mon data = {run}/mon.$id
# commit map changes every 0.1 s instead of 1 s: pool creation and OSD boot get faster
paxos propose interval = 0.1
mon cluster log file = {run}/log/cluster.log

[osd]
osd data = {run}/osd.$id
osd objectstore = memstore
memstore device bytes = 2147483648

[client]
# CLI tools may run concurrently: one admin socket each
admin socket = {run}/run/$name.$pid.asok

[client.rgw.a]
admin socket = {run}/run/$name.asok
rgw data = {run}/rgw.a
# tcp_nodelay: without it every GET answer stalls 40 ms (Nagle against delayed ACKs)
rgw frontends = beast tcp_nodelay=1 endpoint=127.0.0.1:{base + 2} \
ssl_endpoint=127.0.0.1:{base + 3} ssl_certificate={run}/tls/rgw.crt \
ssl_private_key={run}/tls/rgw.key
rgw thread pool size = 64
# virtual-hosted style for <bucket>.localhost; other host names are path style
rgw dns name = localhost
rgw enable usage log = false
# memstore keeps deleted data in RAM until garbage collection: collect soon
rgw gc obj min wait = 30
rgw gc processor period = 30
"""


# -- command line ------------------------------------------------------------------------------


def _cli_start(workdir: str | None) -> int:
    path = Path(workdir) if workdir else None
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
    cluster = CephRGW(path, bound_to_parent=False).start()
    pids = {name: process.pid for name, process in cluster._daemons.items()}
    (cluster.dir / "daemons.json").write_text(json.dumps(pids))
    for key, value in cluster.env().items():
        print(f"{key}={value}")
    print(
        f"# ready in {cluster.startup_seconds:.2f} s; stop with: {sys.argv[0]} stop {cluster.dir}"
    )
    return 0


def _cli_stop(workdir: str) -> int:
    """Stop the daemons recorded in DIR/daemons.json, then delete DIR.

    Only PIDs still running with DIR's ceph.conf are signalled: a recycled PID is left alone.
    """
    run = Path(workdir)
    conf = str(run / "ceph.conf")
    pids = json.loads((run / "daemons.json").read_text())
    for name in ("rgw", "osd", "mon"):
        pid = pids.get(name)
        if pid is None or not _runs_with(pid, conf):
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _runs_with(pid, conf) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _runs_with(pid, conf):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(run, ignore_errors=True)
    return 0


def _runs_with(pid: int, conf: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return conf.encode() in cmdline


def _cli_bench(runs: int) -> int:
    """Print start-up and stop times of `runs` clusters, one after the other."""
    starts, stops = [], []
    for _ in range(runs):
        cluster = CephRGW().start()
        starts.append(cluster.startup_seconds)
        began = time.monotonic()
        cluster.stop()
        stops.append(time.monotonic() - began)
        print(f"start {starts[-1]:.2f} s  stop {stops[-1]:.2f} s", flush=True)
    start, stop = statistics.median(starts), statistics.median(stops)
    print(f"median of {runs}: start {start:.2f} s, stop {stop:.2f} s")
    return 0


def main(argv: list[str]) -> int:
    """Dispatch `start [DIR]`, `stop DIR` or `bench [RUNS]`."""
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "start":
        return _cli_start(rest[0] if rest else None)
    if command == "stop" and rest:
        return _cli_stop(rest[0])
    if command == "bench":
        return _cli_bench(int(rest[0]) if rest else 5)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
