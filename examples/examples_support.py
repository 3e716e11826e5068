"""Test helpers shared by the examples: skip-or-fail, free ports, a real Ceph RGW on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CEPH_BINARIES = ("ceph-authtool", "monmaptool", "ceph-mon", "ceph-osd", "radosgw", "ceph")
RGW_POOLS = (
    ".rgw.root",
    "default.rgw.log",
    "default.rgw.control",
    "default.rgw.meta",
    "default.rgw.buckets.index",
    "default.rgw.buckets.data",
    "default.rgw.buckets.non-ec",
)
ACCESS_KEY = "EXAMPLESACCESSKEY001"
SECRET_KEY = "examplessecretkey0000000000000000000001"


def needs(what: str, reason: str) -> None:
    """Skip for a missing service, but fail in CI, where everything must be present."""
    message = f"{what} is not available: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_range(size: int) -> int:
    """The first of *size* consecutive free loopback ports."""
    for _ in range(50):
        start = free_port()
        if start + size >= 65535:
            continue
        ports = []
        try:
            for port in range(start, start + size):
                sock = socket.socket()
                ports.append(sock)
                sock.bind(("127.0.0.1", port))
            return start
        except OSError:
            continue
        finally:
            for sock in ports:
                sock.close()
    raise RuntimeError(f"no {size} consecutive free ports")


@dataclass
class CephRGW:
    """A throw-away one-OSD Ceph cluster with a RADOS Gateway, all on 127.0.0.1."""

    root: Path
    rgw_port: int = field(default_factory=free_port)
    mon_port: int = field(default_factory=lambda: free_range(2))
    osd_ports: int = field(default_factory=lambda: free_range(21))
    daemons: list[subprocess.Popen] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.rgw_port}"

    @property
    def env(self) -> dict[str, str]:
        """The variables boto3 (and the examples' code) read."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def _run(self, *args: str) -> str:
        return subprocess.run(
            args, check=True, capture_output=True, text=True, timeout=120, env=self._ceph_env()
        ).stdout

    def _ceph_env(self) -> dict[str, str]:
        return {**os.environ, "CEPH_CONF": str(self.root / "ceph.conf")}

    def _daemon(self, name: str, *args: str) -> None:
        log = open(self.root / "log" / f"{name}.stdout", "ab")  # noqa: SIM115 - kept by Popen
        self.daemons.append(
            subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self._ceph_env(),
                start_new_session=True,
            )
        )

    def write_config(self) -> None:
        root = self.root
        for sub in ("log", "pid", "asok", "mon.a", "osd.0", "rgw.a", "crash"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        fsid = uuid.uuid4()
        mon = f"[v2:127.0.0.1:{self.mon_port},v1:127.0.0.1:{self.mon_port + 1}]"
        (root / "ceph.conf").write_text(
            f"""[global]
fsid = {fsid}
mon host = {mon}
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind port min = {self.osd_ports}
ms bind port max = {self.osd_ports + 20}
keyring = {root}/keyring
run dir = {root}/pid
pid file = {root}/pid/$name.pid
admin socket = {root}/asok/$name.$pid.asok
log file = {root}/log/$name.log
crash dir = {root}/crash
log to syslog = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
mon mgr mkfs grace = 315360000

[mon]
mon data = {root}/mon.$id
paxos propose interval = 0.1

[osd]
osd data = {root}/osd.$id
osd objectstore = memstore
memstore device bytes = 1073741824

[client.rgw.a]
rgw data = {root}/rgw.a
rgw frontends = beast endpoint=127.0.0.1:{self.rgw_port}
rgw dns name =
"""
        )
        keyring = str(root / "keyring")
        self._run(
            "ceph-authtool",
            "--create-keyring",
            keyring,
            "--gen-key",
            "-n",
            "mon.",
            "--cap",
            "mon",
            "allow *",
        )
        for name, caps in (
            ("client.admin", ["mon", "allow *", "osd", "allow *", "mgr", "allow *"]),
            ("osd.0", ["mon", "allow profile osd", "osd", "allow *"]),
            ("client.rgw.a", ["mon", "allow rw", "osd", "allow rwx"]),
        ):
            args = [a for k in range(0, len(caps), 2) for a in ("--cap", *caps[k : k + 2])]
            self._run("ceph-authtool", keyring, "--gen-key", "-n", name, *args)
        self._run(
            "monmaptool", "--create", "--fsid", str(fsid), "--addv", "a", mon, str(root / "monmap")
        )

    def start(self) -> None:
        """Monitor, OSD (memstore), RGW pools, gateway and an S3 user; a few seconds."""
        self.write_config()
        conf = str(self.root / "ceph.conf")
        keyring = str(self.root / "keyring")
        self._run(
            "ceph-mon",
            "--mkfs",
            "-i",
            "a",
            "--monmap",
            str(self.root / "monmap"),
            "--keyring",
            keyring,
        )
        self._daemon("mon.a", "ceph-mon", "-f", "-c", conf, "-i", "a")
        osd_uuid = str(uuid.uuid4())
        self._run("ceph", "--connect-timeout", "60", "osd", "new", osd_uuid)
        pools = [
            subprocess.Popen(
                [
                    "sh",
                    "-c",
                    f"ceph osd pool create {p} 8 8 replicated && "
                    f"ceph osd pool application enable {p} rgw",
                ],
                env=self._ceph_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for p in RGW_POOLS
        ]
        self._run("ceph-osd", "-i", "0", "--mkfs", "--osd-uuid", osd_uuid)
        self._daemon("osd.0", "ceph-osd", "-f", "-c", conf, "-i", "0")
        for pool in pools:
            if pool.wait(timeout=120) != 0:
                raise RuntimeError("creating the RGW pools failed")
        self._wait(lambda: '"num_up_osds":1,' in self._run("ceph", "osd", "stat", "-f", "json"))
        self._daemon("rgw.a", "radosgw", "-f", "-c", conf, "-n", "client.rgw.a")
        self._wait(self._rgw_answers)
        self._run(
            "radosgw-admin",
            "user",
            "create",
            "--uid=examples",
            "--display-name=examples",
            f"--access-key={ACCESS_KEY}",
            f"--secret-key={SECRET_KEY}",
        )

    def _rgw_answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.endpoint, timeout=2) as response:  # noqa: S310
                return response.status == 200
        except OSError:
            return False

    def _wait(self, ready, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            dead = [str(d.args[0]) for d in self.daemons if d.poll() is not None]  # type: ignore[index]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited; logs in {self.root / 'log'}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"Ceph did not come up; logs in {self.root / 'log'}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the daemons this object started, newest first."""
        for daemon in reversed(self.daemons):
            daemon.terminate()
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
