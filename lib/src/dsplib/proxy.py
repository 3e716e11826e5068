"""The model's HTTP proxy: which of a charm's own requests go through it, and what pods get.

Juju hands every hook the model config keys `juju-http-proxy`, `juju-https-proxy` and
`juju-no-proxy` as JUJU_CHARM_HTTP_PROXY, JUJU_CHARM_HTTPS_PROXY and JUJU_CHARM_NO_PROXY
(juju/juju: environs/config/config.go `JujuProxySettings`, passed on by
worker/uniter/runner/context/context.go `HookVars`). Nothing applies them for the charm: it
chooses per request, and hands them to the workloads that fetch from outside.

NO_PROXY is read as Go reads it (golang.org/x/net, http/httpproxy/proxy.go: `config.init`,
`useProxy` and the matchers), the convention of Juju, containerd, Kubernetes and rclone:

- entries are comma-separated, blanks around them and letter case do not matter, and an
  entry that cannot be parsed is ignored;
- `*` alone: nothing goes through the proxy;
- a CIDR (`10.0.0.0/8`, `fd00::/8`): every IP address literal inside it, on any port (a host
  *name* is never resolved to be compared with it);
- an IP address, optionally with a port (`10.1.2.3`, `10.1.2.3:7480`, `[fd00::1]:7480`): that
  address (on that port only);
- a domain, optionally with a port (`ceph.internal`, `ceph.internal:7480`): that name and
  every subdomain; with a leading `.` or `*.` (`.ceph.internal`) subdomains only.

One deliberate difference from Go: Go never proxies `localhost` or loopback addresses
whatever NO_PROXY says; here only NO_PROXY exempts them, as curl and Python's urllib do.
Juju's default `juju-no-proxy` is `127.0.0.1,localhost,::1`, so a model left at the default
behaves as Go would. An http:// URL uses the HTTP proxy and an https:// URL the HTTPS proxy,
with no fallback from one to the other (Go's `proxyForURL`); a proxy value without a scheme
means http:// (Go's `parseProxy`).

Java reads none of these variables: `java_options` turns the same settings into the JVM's
system properties (http.proxyHost, https.proxyHost, their ports, and http.nonProxyHosts, which
both schemes use; java.base/java/net/doc-files/net-properties.html). That list takes `|`
separated host patterns with `*` wildcards and no CIDRs or ports, so an IPv4 CIDR becomes the
octet patterns that cover it exactly (10.152.0.0/13 is 10.152.* to 10.159.*), an IPv6 CIDR is
left out, and `host:port` loses its port.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

JUJU_HTTP_PROXY = "JUJU_CHARM_HTTP_PROXY"
JUJU_HTTPS_PROXY = "JUJU_CHARM_HTTPS_PROXY"
JUJU_NO_PROXY = "JUJU_CHARM_NO_PROXY"
DEFAULT_PORTS = {"http": 80, "https": 443}
# What a pod never sends through the proxy, whatever the model says: its own cluster's
# Service names (`<service>.<namespace>.svc[.cluster.local]`) and its own loopback.
CLUSTER_NO_PROXY = (".svc", ".cluster.local", "localhost", "127.0.0.1", "::1")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def bypasses(no_proxy: str, host: str, port: int) -> bool:
    """True when `no_proxy` sends requests to `host`:`port` straight to it, not via a proxy."""
    host = host.strip().lower().strip("[]")
    address = _address(host)
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if entry == "*":
            return True
        if entry and _matches(entry, host, address, port):
            return True
    return False


def _matches(entry: str, host: str, address: Address | None, port: int) -> bool:
    """One NO_PROXY entry against one host (Go's cidrMatch, ipMatch and domainMatch)."""
    if "/" in entry:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return False
        return address is not None and address.version == network.version and address in network
    name, entry_port = _split_port(entry)
    if entry_port is not None and entry_port != port:
        return False
    entry_address = _address(name)
    if entry_address is not None:
        return address is not None and entry_address == address
    if not name or name in (".", "*."):
        return False
    if name.startswith("*."):
        name = name[1:]
    if name.startswith("."):
        return host.endswith(name)
    return host == name or host.endswith(f".{name}")


def _split_port(entry: str) -> tuple[str, int | None]:
    """`host:port`, `[v6]:port`, `host` or a bare IPv6 address; a bad port drops the entry."""
    if entry.startswith("["):
        name, _, rest = entry[1:].partition("]")
        if not rest:
            return name, None
        return (name, int(rest[1:])) if rest[1:].isdigit() and rest[0] == ":" else ("", None)
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        return (name, int(port)) if port.isdigit() else ("", None)
    return entry, None


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _with_scheme(proxy: str) -> str:
    """A proxy given as host:port means http://host:port, as in Go's parseProxy."""
    proxy = proxy.strip()
    try:
        scheme = urlsplit(proxy).scheme
    except ValueError:
        return proxy  # unusable either way; from_juju names it
    if proxy and scheme not in ("http", "https", "socks5"):
        return f"http://{proxy}"
    return proxy


def shown(proxy: str) -> str:
    """The proxy URL without user and password, fit for a status message or a log."""
    parts = urlsplit(proxy)
    if "@" not in parts.netloc:
        return proxy
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def _usable(proxy: str) -> bool:
    """An http:// or https:// proxy URL with a host and, if any, a numeric port."""
    try:
        parts = urlsplit(proxy)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in DEFAULT_PORTS and bool(parts.hostname) and parts.path in ("", "/")


@dataclass(frozen=True)
class ProxySettings:
    """The model's proxies (empty when the model has none) and its NO_PROXY list."""

    http: str = ""
    https: str = ""
    no_proxy: str = ""
    unusable: tuple[str, ...] = ()  # model keys whose value is not a proxy URL (then unused)

    @classmethod
    def from_juju(cls, environ: Mapping[str, str] | None = None) -> ProxySettings:
        """The settings Juju gave this hook (JUJU_CHARM_*; other variables are ignored).

        A value that is not an http(s) proxy URL is left out (never a crash in a hook) and
        named by `problem`, for the charm's status.
        """
        env = os.environ if environ is None else environ
        proxies: dict[str, str] = {}
        unusable: list[str] = []
        for key, variable in (
            ("juju-http-proxy", JUJU_HTTP_PROXY),
            ("juju-https-proxy", JUJU_HTTPS_PROXY),
        ):
            value = _with_scheme(env.get(variable, ""))
            if value and not _usable(value):
                unusable.append(key)
                value = ""
            proxies[key] = value
        return cls(
            http=proxies["juju-http-proxy"],
            https=proxies["juju-https-proxy"],
            no_proxy=env.get(JUJU_NO_PROXY, "").strip(),
            unusable=tuple(unusable),
        )

    @property
    def problem(self) -> str:
        """What to fix in the model config, or "" (the value itself may hold a password)."""
        if not self.unusable:
            return ""
        keys = " and ".join(self.unusable)
        return f"model config {keys}: expected a proxy URL such as http://squid.example:3128"

    @property
    def configured(self) -> bool:
        """True when the model names a proxy for http or https."""
        return bool(self.http or self.https)

    def for_url(self, url: str) -> str:
        """The proxy a request to `url` goes through, or "" for a direct connection."""
        try:
            parts = urlsplit(url)
        except ValueError:  # not a URL: the request fails on its own and names it
            return ""
        proxy = {"http": self.http, "https": self.https}.get(parts.scheme, "")
        if not proxy or not parts.hostname:
            return ""
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:  # not a port: the request fails on its own, let it name the URL
            port = DEFAULT_PORTS[parts.scheme]
        return "" if bypasses(self.no_proxy, parts.hostname, port) else proxy

    def pod_env(self, cluster_networks: Iterable[str] = ()) -> dict[str, str]:
        """Environment for pods that fetch from outside; {} when the model has no proxy.

        Both spellings are set: Go programs (rclone) read HTTP_PROXY before http_proxy
        (httpproxy.FromEnvironment), curl reads only lowercase http_proxy, and Python's urllib
        reads either (lowercase first). NO_PROXY gets the cluster's own names and networks
        first, then the model's entries, without repeats.
        """
        if not self.configured:
            return {}
        entries = [*CLUSTER_NO_PROXY, *cluster_networks, *self.no_proxy.split(",")]
        no_proxy = ",".join(dict.fromkeys(e.strip() for e in entries if e.strip()))
        env = {"HTTP_PROXY": self.http, "HTTPS_PROXY": self.https, "NO_PROXY": no_proxy}
        env = {name: value for name, value in env.items() if value}
        return {**env, **{name.lower(): value for name, value in env.items()}}

    def java_options(self, cluster_networks: Iterable[str] = ()) -> list[str]:
        """JVM options with the same proxies and exceptions as `pod_env`; [] without a proxy.

        Credentials in a proxy URL are not passed: the JVM takes them only from code (an
        Authenticator), never from properties.
        """
        if not self.configured:
            return []
        options: list[str] = []
        for scheme, proxy in (("http", self.http), ("https", self.https)):
            parts = urlsplit(proxy)
            if parts.hostname:
                port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
                options += [
                    f"-D{scheme}.proxyHost={parts.hostname}",
                    f"-D{scheme}.proxyPort={port}",
                ]
        entries = [*CLUSTER_NO_PROXY, *cluster_networks, *self.no_proxy.split(",")]
        patterns = [p for entry in entries for p in java_host_patterns(entry)]
        options.append(f"-Dhttp.nonProxyHosts={'|'.join(dict.fromkeys(patterns))}")
        return options


def java_host_patterns(entry: str) -> list[str]:
    """One NO_PROXY entry as http.nonProxyHosts patterns matching the same hosts."""
    entry = entry.strip().lower()
    if entry == "*":
        return ["*"]
    if "/" in entry:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return []
        return _octet_patterns(network) if network.version == 4 else []
    name, _ = _split_port(entry)
    if not name or name in (".", "*."):
        return []
    if _address(name) is not None:
        return [name]
    if name.startswith("*."):
        name = name[1:]
    if name.startswith("."):
        return [f"*{name}"]
    return [name, f"*.{name}"]


def _octet_patterns(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
    """`a.b.*` patterns (or addresses, past /24) that together match exactly `network`."""
    octets = math.ceil(network.prefixlen / 8)
    if octets == 0:
        return ["*"]
    if octets == 4:
        return [str(address) for address in network]
    subnets = network.subnets(new_prefix=8 * octets)
    return [".".join(str(s.network_address).split(".")[:octets]) + ".*" for s in subnets]
