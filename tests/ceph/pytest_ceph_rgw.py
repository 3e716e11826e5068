"""pytest fixtures for a real Ceph RADOS Gateway started on loopback (see ceph_rgw.py).

Load it from a conftest.py with `pytest_plugins = ["pytest_ceph_rgw"]` (the root pyproject.toml
puts tests/ceph on pytest's python path) and request a fixture:

- `ceph_rgw`: the gateway over plain HTTP, as an `RGWEndpoint` (endpoint, keys, region).
- `ceph_rgw_https`: the same gateway over HTTPS; `ca_pem` is the CA that signed its certificate.
- `ceph_cluster`: the `CephRGW` itself (stop/start the gateway, create users, logs).

One cluster serves the whole session. Without Ceph's packages the tests are skipped with the
reason, except when the environment variable CI is set: there they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from ceph_rgw import INSTALL_HINT, CephRGW, missing_binaries


@dataclass(frozen=True)
class RGWEndpoint:
    """Where and how to reach the gateway as one S3 user."""

    endpoint: str
    access_key: str
    secret_key: str
    cluster: CephRGW
    ca_pem: str | None = None
    region: str = "us-east-1"

    def with_new_user(self) -> RGWEndpoint:
        """The same endpoint as a new user with other keys and no buckets."""
        user = self.cluster.create_user()
        return replace(self, access_key=user.access_key, secret_key=user.secret_key)


_timings: dict[str, float] = {}


@pytest.fixture(scope="session")
def ceph_cluster() -> Iterator[CephRGW]:
    """A single-node Ceph cluster with radosgw, for the whole test session."""
    missing = missing_binaries()
    if missing:
        message = f"Ceph is not installed (missing {', '.join(missing)}): {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the S3 tests", pytrace=False)
        pytest.skip(message)
    cluster = CephRGW().start()
    _timings["start"] = cluster.startup_seconds
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def ceph_rgw(ceph_cluster: CephRGW) -> RGWEndpoint:
    """The gateway over HTTP with the cluster's first user."""
    user = ceph_cluster.user
    return RGWEndpoint(ceph_cluster.endpoint, user.access_key, user.secret_key, ceph_cluster)


@pytest.fixture(scope="session")
def ceph_rgw_https(ceph_cluster: CephRGW) -> RGWEndpoint:
    """The gateway over HTTPS, for 127.0.0.1 and localhost; `ca_pem` signed its certificate."""
    user = ceph_cluster.user
    return RGWEndpoint(
        ceph_cluster.https_endpoint,
        user.access_key,
        user.secret_key,
        ceph_cluster,
        ca_pem=ceph_cluster.ca_pem,
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how long the cluster took to start, when one was started."""
    if "start" in _timings:
        terminalreporter.write_line(f"ceph-rgw: cluster ready in {_timings['start']:.2f} s")
