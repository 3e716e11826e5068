"""A real HTTP proxy (Debian's tinyproxy) on loopback, for tests of proxy handling.

Each `TinyProxy` is one tinyproxy process in the foreground (`-d`) with its own config and log
in a temporary directory, listening on a free port of 127.0.0.1; `stop()` ends that process by
its PID. The log (tinyproxy writes it to stderr in the foreground) says which requests went
through: one `Request (file descriptor N): METHOD URL` line each, the CONNECT of an https://
tunnel included.

`allow` is the client address the proxy serves: anything but 127.0.0.1 makes a proxy that
answers every request with 403 Access denied, as a corporate proxy does for an unlisted host.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

INSTALL_HINT = "apt-get install --no-install-recommends tinyproxy"
_REQUEST = re.compile(r"Request \(file descriptor \d+\): (\S+) (\S+)")
_CONNECT = re.compile(r"Connect \(file descriptor \d+\):")


class TinyProxyError(RuntimeError):
    """tinyproxy did not start; the message holds its log."""


def binary() -> str | None:
    """The tinyproxy program on PATH (Debian's package puts it in /usr/bin), or None."""
    return shutil.which("tinyproxy")


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TinyProxy:
    """One tinyproxy process; `url` is what HTTP_PROXY / JUJU_CHARM_HTTP_PROXY would say."""

    def __init__(self, allow: str = "127.0.0.1"):
        self.allow = allow
        self.dir = Path(tempfile.mkdtemp(prefix="tinyproxy-"))
        self.log = self.dir / "tinyproxy.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, attempts: int = 3) -> TinyProxy:
        """Start on a free port (another one if a parallel test took it first)."""
        program = binary()
        if program is None:
            raise TinyProxyError(f"tinyproxy is not installed: {INSTALL_HINT}")
        for _ in range(attempts):
            self.port = free_port()
            config = self.dir / "tinyproxy.conf"
            config.write_text(
                f"Port {self.port}\nListen 127.0.0.1\nTimeout 30\nLogLevel Info\n"
                f"MaxClients 20\nAllow {self.allow}\nDisableViaHeader Yes\n"
            )
            with self.log.open("wb") as log:
                self._process = subprocess.Popen(  # noqa: S603 - our own config, no shell
                    [program, "-d", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
                )
            if self._wait_listening():
                return self
            self.stop()
        raise TinyProxyError(f"tinyproxy did not start:\n{self.log.read_text()}")

    def _wait_listening(self, seconds: float = 10.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return True
            time.sleep(0.05)
        return False

    def requests(self) -> list[tuple[str, str]]:
        """(method, URL) of every request the proxy received so far, in order."""
        return _REQUEST.findall(self.log.read_text(errors="replace"))

    def connections(self) -> int:
        """Client connections the proxy accepted so far, refused ones included."""
        return len(_CONNECT.findall(self.log.read_text(errors="replace")))

    def stop(self) -> None:
        """End this tinyproxy (by its PID) and wait for it."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def remove(self) -> None:
        """Stop and delete the config and log."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
