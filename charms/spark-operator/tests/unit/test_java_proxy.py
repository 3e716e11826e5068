"""The JVM options the charm gives Spark, run by a real JVM against a real proxy (tinyproxy).

http.nonProxyHosts is the JVM's own rule (`|`-separated patterns, `*` wildcards, no CIDR;
java.base/java/net/doc-files/net-properties.html), so the patterns dsplib.proxy makes from
NO_PROXY are checked by the JVM itself: ProxyProbe.java fetches URLs through URLConnection and
the default ProxySelector, as Ivy does when spark-submit resolves `spark.jars.packages`, and the
proxy's log says which requests reached it.

The JVM never proxies a loopback address, so the targets are names that do not resolve and
documentation addresses (TEST-NET-2/3): a request through the proxy is logged whatever its
fate, a direct one is not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dsplib.proxy import ProxySettings

PROBE = Path(__file__).parent / "ProxyProbe.java"
INSTALL_HINT = "apt-get install --no-install-recommends openjdk-17-jre-headless"

DIRECT = (
    "http://minio.kubeflow.svc:9000/",  # .svc (always)
    "http://api.kubeflow.svc.cluster.local/",  # .cluster.local (always)
    "http://rgw.ceph.internal/",  # juju-no-proxy .ceph.internal: subdomains
    "http://198.51.100.7/",  # inside juju-no-proxy 198.51.96.0/21 (not octet-aligned)
    "http://203.0.113.100/",  # inside cluster-cidrs 203.0.113.0/25
)
PROXIED = (
    "http://ceph.internal/",  # .ceph.internal does not cover the domain itself
    "http://198.51.104.7/",  # just past 198.51.96.0/21
    "http://203.0.113.200/",  # just past 203.0.113.0/25
    "http://repo.maven.test/",  # anything else
)


@pytest.fixture(scope="module")
def java() -> str:
    """A JVM that runs a single source file (Java 11+, with the jdk.compiler module)."""
    path = shutil.which("java")
    modules = ""
    if path:
        listing = subprocess.run(  # noqa: S603 - the JVM found on PATH
            [path, "--list-modules"], capture_output=True, text=True, check=False, timeout=60
        )
        modules = listing.stdout
    if "jdk.compiler@" not in modules:
        message = f"no JVM that runs Java source files: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the JVM proxy tests", pytrace=False)
        pytest.skip(message)
    return str(path)


def probe(java: str, options: list[str], urls: tuple[str, ...]) -> dict[str, str]:
    result = subprocess.run(  # noqa: S603 - the JVM with options built by the charm's lib
        [java, *options, str(PROBE), *urls],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return dict(line.split(" ", 1) for line in result.stdout.splitlines())


def test_the_jvm_sends_through_the_proxy_exactly_what_no_proxy_does_not_exempt(java, tinyproxy):
    settings = ProxySettings(
        http=tinyproxy.url, https=tinyproxy.url, no_proxy="localhost,.ceph.internal,198.51.96.0/21"
    )
    options = settings.java_options(["203.0.113.0/25"])
    outcome = probe(java, options, DIRECT + PROXIED)
    reached = {url for _, url in tinyproxy.requests()}
    assert reached == set(PROXIED), outcome
    for url in PROXIED:
        assert "usingProxy=true" in outcome[url], outcome


def test_without_the_options_the_jvm_ignores_the_proxy(java, tinyproxy):
    """Why the charm passes JVM properties at all: the JVM reads no HTTP_PROXY variable."""
    env = {**os.environ, "HTTP_PROXY": tinyproxy.url, "http_proxy": tinyproxy.url}
    subprocess.run(  # noqa: S603 - the JVM found on PATH
        [java, str(PROBE), *PROXIED], env=env, capture_output=True, check=True, timeout=120
    )
    assert tinyproxy.requests() == []
