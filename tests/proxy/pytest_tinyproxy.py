"""pytest fixtures for a real HTTP proxy (tinyproxy) on loopback (see tinyproxy.py).

Load it from a conftest.py with `pytest_plugins = ["pytest_tinyproxy"]` (the root
pyproject.toml puts tests/proxy on pytest's python path) and request a fixture:

- `tinyproxy`: a proxy that forwards everything; `requests()` lists what went through it.
- `refusing_tinyproxy`: a proxy that answers every request with 403 Access denied.
- `juju_proxy`: `juju_proxy(url, no_proxy)` sets the model proxy as Juju gives it to hooks and
  actions (JUJU_CHARM_HTTP_PROXY, JUJU_CHARM_HTTPS_PROXY, JUJU_CHARM_NO_PROXY).

Each test gets its own process, port and log. Without tinyproxy the tests are skipped with
the install command as the reason, except when the environment variable CI is set: there they
fail, so CI cannot pass without running them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tinyproxy import INSTALL_HINT, TinyProxy, binary


def _require_tinyproxy() -> None:
    if binary() is None:
        message = f"tinyproxy is not installed: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the proxy tests", pytrace=False)
        pytest.skip(message)


@pytest.fixture
def tinyproxy() -> Iterator[TinyProxy]:
    """A forwarding proxy on 127.0.0.1."""
    _require_tinyproxy()
    proxy = TinyProxy().start()
    try:
        yield proxy
    finally:
        proxy.remove()


@pytest.fixture
def refusing_tinyproxy() -> Iterator[TinyProxy]:
    """A proxy that serves only a client address we are not (TEST-NET-1), so it answers 403."""
    _require_tinyproxy()
    proxy = TinyProxy(allow="192.0.2.1").start()
    try:
        yield proxy
    finally:
        proxy.remove()


@pytest.fixture
def juju_proxy(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Set the model's proxy for the charm under test; the variables go at the test's end."""

    def set_proxy(url: str, no_proxy: str) -> None:
        monkeypatch.setenv("JUJU_CHARM_HTTP_PROXY", url)
        monkeypatch.setenv("JUJU_CHARM_HTTPS_PROXY", url)
        monkeypatch.setenv("JUJU_CHARM_NO_PROXY", no_proxy)

    return set_proxy
