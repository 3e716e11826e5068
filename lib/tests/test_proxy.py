"""Proxy choice: NO_PROXY read as Go's golang.org/x/net/http/httpproxy reads it.

The cases follow the rules written in httpproxy's `Config.NoProxy` doc and its matchers
(http/httpproxy/proxy.go): CIDR entries match IP literals only, a domain matches itself and
its subdomains, a leading "." (or "*.") only subdomains, "host:port" only that port, "*"
everything. The one deliberate difference (no implicit loopback exemption) has its own case.
"""

from __future__ import annotations

import pytest

from dsplib.proxy import CLUSTER_NO_PROXY, ProxySettings, bypasses, java_host_patterns, shown

RGW_NO_PROXY = "127.0.0.1,localhost,::1,10.0.0.0/8,.ceph.internal,storage.example,rgw.lan:7480"


@pytest.mark.parametrize(
    ("host", "port", "direct"),
    [
        # CIDR: any IP literal inside, any port
        ("10.20.30.40", 7480, True),
        ("10.255.255.255", 443, True),
        ("11.0.0.1", 7480, False),
        # a CIDR never matches a host name, even one that would resolve inside it
        ("rgw.example", 7480, False),
        # ".ceph.internal": subdomains only
        ("rgw.ceph.internal", 7480, True),
        ("a.b.ceph.internal", 80, True),
        ("ceph.internal", 7480, False),
        ("notceph.internal", 7480, False),
        # "storage.example": the name itself and its subdomains, not a longer name
        ("storage.example", 443, True),
        ("s3.storage.example", 443, True),
        ("mystorage.example", 443, False),
        # "rgw.lan:7480": that port only
        ("rgw.lan", 7480, True),
        ("rgw.lan", 443, False),
        ("s3.rgw.lan", 7480, True),
        # case does not matter
        ("RGW.Ceph.Internal", 7480, True),
        # exact IP entries
        ("127.0.0.1", 8080, True),
        ("::1", 8080, True),
        ("[::1]", 8080, True),
        ("localhost", 8080, True),
    ],
)
def test_no_proxy_entries(host: str, port: int, direct: bool):
    assert bypasses(RGW_NO_PROXY, host, port) is direct


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "direct"),
    [
        ("*", "anything.example", 443, True),
        ("ceph.internal, *", "s3.amazonaws.com", 443, True),
        ("*.ceph.internal", "rgw.ceph.internal", 80, True),
        ("*.ceph.internal", "ceph.internal", 80, False),
        ("fd00::/8", "fd12::7", 7480, True),
        ("fd00::/8", "fe80::1", 7480, False),
        ("fd00::/8", "10.0.0.1", 7480, False),
        ("10.0.0.0/8", "fd00::1", 7480, False),
        ("[fd00::1]:7480", "fd00::1", 7480, True),
        ("[fd00::1]:7480", "fd00::1", 7481, False),
        ("10.1.2.3:7480", "10.1.2.3", 7480, True),
        ("10.1.2.3:7480", "10.1.2.3", 80, False),
        ("  Ceph.Internal  ,", "rgw.ceph.internal", 443, True),
        # malformed entries are ignored, not fatal (Go: "a best effort is made to parse")
        ("10.0.0.0/33,rgw:port,:80,.,ceph.internal", "rgw.ceph.internal", 443, True),
        ("10.0.0.0/33,rgw:port,:80,.", "rgw", 80, False),
        ("", "rgw.ceph.internal", 443, False),
    ],
)
def test_no_proxy_forms(no_proxy: str, host: str, port: int, direct: bool):
    assert bypasses(no_proxy, host, port) is direct


def test_loopback_is_proxied_unless_listed():
    """Unlike Go (which never proxies loopback), only NO_PROXY exempts, as curl does."""
    assert not bypasses("10.0.0.0/8", "127.0.0.1", 80)
    assert not bypasses("", "localhost", 80)
    assert bypasses("127.0.0.0/8", "127.0.0.2", 80)


JUJU = {
    "JUJU_CHARM_HTTP_PROXY": "http://squid.internal:3128",
    "JUJU_CHARM_HTTPS_PROXY": "squid.internal:3129",
    "JUJU_CHARM_NO_PROXY": "127.0.0.1,localhost,::1,10.0.0.0/8,.ceph.internal",
    "HTTPS_PROXY": "http://ignored:1",
}


def test_settings_come_from_juju_variables_only():
    settings = ProxySettings.from_juju(JUJU)
    assert settings.http == "http://squid.internal:3128"
    assert settings.https == "http://squid.internal:3129"  # no scheme means http://
    assert settings.configured
    assert not ProxySettings.from_juju({"HTTPS_PROXY": "http://ignored:1"}).configured
    # Juju exports the variables empty when the model has no proxy
    assert not ProxySettings.from_juju({"JUJU_CHARM_HTTP_PROXY": ""}).configured


@pytest.mark.parametrize(
    ("url", "proxy"),
    [
        ("http://10.1.2.3:7480", ""),
        ("https://rgw.ceph.internal", ""),
        ("http://s3.example.com", "http://squid.internal:3128"),
        ("https://s3.example.com", "http://squid.internal:3129"),
        ("https://s3.example.com:8443", "http://squid.internal:3129"),
        ("ftp://s3.example.com", ""),
    ],
)
def test_proxy_for_url(url: str, proxy: str):
    assert ProxySettings.from_juju(JUJU).for_url(url) == proxy


def test_no_fallback_between_schemes():
    """Go's proxyForURL: an https URL uses only the HTTPS proxy, an http URL only the HTTP one."""
    http_only = ProxySettings(http="http://p:3128")
    assert http_only.for_url("https://s3.example.com") == ""
    assert http_only.for_url("http://s3.example.com") == "http://p:3128"
    assert ProxySettings(https="http://p:3128").for_url("http://s3.example.com") == ""


def test_the_port_of_the_scheme_counts_when_the_url_has_none():
    settings = ProxySettings(https="http://p:3128", no_proxy="rgw.lan:443")
    assert settings.for_url("https://rgw.lan") == ""
    assert settings.for_url("https://rgw.lan:7480") == "http://p:3128"


def test_pod_environment_with_a_proxy():
    env = ProxySettings.from_juju(JUJU).pod_env(["10.1.0.0/16", "10.152.183.0/24", "10.0.0.0/8"])
    assert env["HTTP_PROXY"] == env["http_proxy"] == "http://squid.internal:3128"
    assert env["HTTPS_PROXY"] == env["https_proxy"] == "http://squid.internal:3129"
    no_proxy = env["NO_PROXY"].split(",")
    assert env["no_proxy"] == env["NO_PROXY"]
    assert no_proxy[: len(CLUSTER_NO_PROXY)] == list(CLUSTER_NO_PROXY)
    assert {".svc", ".cluster.local", "localhost", "127.0.0.1"} <= set(no_proxy)
    assert {"10.1.0.0/16", "10.152.183.0/24", ".ceph.internal"} <= set(no_proxy)
    assert len(no_proxy) == len(set(no_proxy)), "no repeated entries"
    # a Service name pods use stays direct by the very rules they apply
    assert bypasses(env["NO_PROXY"], "minio.kubeflow.svc.cluster.local", 9000)
    assert bypasses(env["NO_PROXY"], "10.152.183.1", 443)


def test_no_pod_environment_without_a_proxy():
    assert ProxySettings().pod_env(["10.1.0.0/16"]) == {}
    assert ProxySettings(no_proxy="10.0.0.0/8").pod_env() == {}
    only_https = ProxySettings(https="http://p:3128").pod_env()
    assert "HTTP_PROXY" not in only_https and only_https["https_proxy"] == "http://p:3128"


def test_credentials_are_never_shown():
    assert shown("http://user:s3cret@squid.internal:3128") == "http://squid.internal:3128"
    assert shown("http://user:s3cret@[fd00::1]:3128") == "http://[fd00::1]:3128"
    assert shown("http://squid.internal:3128") == "http://squid.internal:3128"


@pytest.mark.parametrize(
    ("entry", "patterns"),
    [
        ("*", ["*"]),
        ("ceph.internal", ["ceph.internal", "*.ceph.internal"]),
        (".ceph.internal", ["*.ceph.internal"]),
        ("*.ceph.internal", ["*.ceph.internal"]),
        ("rgw.lan:7480", ["rgw.lan", "*.rgw.lan"]),
        ("10.1.2.3", ["10.1.2.3"]),
        ("10.0.0.0/8", ["10.*"]),
        ("10.152.183.0/24", ["10.152.183.*"]),
        ("10.1.0.0/16", ["10.1.*"]),
        ("10.152.0.0/13", [f"10.{n}.*" for n in range(152, 160)]),
        ("192.168.1.0/30", ["192.168.1.0", "192.168.1.1", "192.168.1.2", "192.168.1.3"]),
        ("0.0.0.0/0", ["*"]),
        ("fd00::/8", []),
        ("10.0.0.0/33", []),
        (":80", []),
    ],
)
def test_java_host_patterns(entry: str, patterns: list[str]):
    assert java_host_patterns(entry) == patterns


@pytest.mark.parametrize("cidr", ["10.152.0.0/13", "172.16.0.0/12", "10.1.128.0/17"])
def test_java_patterns_of_a_cidr_match_exactly_its_addresses(cidr: str):
    """Checked by sampling: every pattern is a prefix wildcard, so compare the prefixes."""
    import ipaddress

    patterns = java_host_patterns(cidr)
    network = ipaddress.ip_network(cidr)
    for probe in [network.network_address - 1, network.broadcast_address + 1]:
        assert not any(str(probe).startswith(p[:-1]) for p in patterns)
    for probe in [network.network_address, network.broadcast_address, network[len(patterns)]]:
        assert sum(str(probe).startswith(p[:-1]) for p in patterns) == 1


def test_java_options_mirror_the_pod_environment():
    settings = ProxySettings.from_juju(JUJU)
    options = settings.java_options(["10.152.183.0/24"])
    assert options[:4] == [
        "-Dhttp.proxyHost=squid.internal",
        "-Dhttp.proxyPort=3128",
        "-Dhttps.proxyHost=squid.internal",
        "-Dhttps.proxyPort=3129",
    ]
    hosts = options[4].removeprefix("-Dhttp.nonProxyHosts=").split("|")
    assert hosts[:3] == ["*.svc", "*.cluster.local", "localhost"]
    assert {"127.0.0.1", "10.152.183.*", "10.*", "*.ceph.internal"} <= set(hosts)
    assert "::1" in hosts and len(hosts) == len(set(hosts))
    assert ProxySettings().java_options(["10.1.0.0/16"]) == []


def test_java_options_never_carry_credentials():
    settings = ProxySettings(https="http://user:s3cret@squid.internal")
    assert settings.java_options()[:2] == [
        "-Dhttps.proxyHost=squid.internal",
        "-Dhttps.proxyPort=80",
    ]
    assert "s3cret" not in " ".join(settings.java_options())


@pytest.mark.parametrize(
    "value",
    [
        "http://squid:port",
        "http://[squid:3128",
        "socks5://squid:1080",
        "ftp://squid:21",
        "http://",
    ],
)
def test_an_unusable_proxy_is_left_out_and_named(value: str):
    settings = ProxySettings.from_juju(
        {"JUJU_CHARM_HTTP_PROXY": "http://squid:3128", "JUJU_CHARM_HTTPS_PROXY": value}
    )
    assert settings.https == "" and settings.http == "http://squid:3128"
    assert settings.unusable == ("juju-https-proxy",)
    assert settings.problem == (
        "model config juju-https-proxy: expected a proxy URL such as http://squid.example:3128"
    )
    assert settings.for_url("https://s3.example.com") == ""
    assert settings.java_options()[:2] == ["-Dhttp.proxyHost=squid", "-Dhttp.proxyPort=3128"]


def test_a_usable_proxy_has_no_problem():
    assert ProxySettings.from_juju(JUJU).problem == ""
    assert ProxySettings.from_juju({}).problem == ""


def test_a_password_never_reaches_the_problem_message():
    settings = ProxySettings.from_juju({"JUJU_CHARM_HTTP_PROXY": "http://u:s3cret@squid:x"})
    assert settings.unusable == ("juju-http-proxy",)
    assert "s3cret" not in settings.problem


def test_an_endpoint_with_a_bad_port_does_not_break_the_choice():
    settings = ProxySettings(http="http://p:3128", no_proxy="rgw.lan")
    assert settings.for_url("http://rgw.lan:abc") == ""
    assert settings.for_url("http://s3.example:abc") == "http://p:3128"


def test_hostile_model_values_never_raise():
    """Whatever the model config holds, choosing a proxy never breaks a hook (fixed seed)."""
    import random

    rng = random.Random(15)  # noqa: S311 - reproducible test data, not secrets
    alphabet = "abc.:/[]@*%, 0123456789-_\t\n\x00é"
    for _ in range(2000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        env = {
            "JUJU_CHARM_HTTP_PROXY": value,
            "JUJU_CHARM_HTTPS_PROXY": f"http://{value}",
            "JUJU_CHARM_NO_PROXY": value,
        }
        settings = ProxySettings.from_juju(env)
        settings.for_url("https://rgw.ceph.internal:7480")
        settings.for_url(f"http://{value}")
        settings.pod_env([value])
        settings.java_options([value])
        assert (settings.problem == "") == (settings.unusable == ())


def test_java_patterns_agree_with_no_proxy_on_random_networks():
    """For IPv4 CIDRs the JVM's patterns and Go's rule exempt exactly the same addresses."""
    import ipaddress
    import random

    rng = random.Random(15)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(300):
        prefix = rng.randint(1, 30)
        network = ipaddress.ip_network(
            (ipaddress.IPv4Address(rng.getrandbits(32)), prefix), strict=False
        )
        patterns = java_host_patterns(str(network))
        for _ in range(20):
            address = str(ipaddress.IPv4Address(rng.getrandbits(32)))
            if rng.random() < 0.5:
                address = str(network[rng.randrange(network.num_addresses)])
            by_java = any(
                address == p or (p.endswith("*") and address.startswith(p[:-1])) for p in patterns
            )
            assert by_java == bypasses(str(network), address, 80), (network, address)
