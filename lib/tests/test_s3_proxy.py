"""S3Client and the model's proxy, against a real tinyproxy and the real Ceph RGW on loopback.

The gateway listens on 127.0.0.1, so "the gateway is in NO_PROXY" is the entry 127.0.0.1 (or a
CIDR holding it), and "it is not" is a NO_PROXY without it: loopback is proxied unless listed
(see dsplib.proxy), which is what lets a loopback gateway stand for one outside.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from dsplib.proxy import ProxySettings
from dsplib.s3 import S3AuthError, S3Client, S3ProxyError, S3Unreachable
from pytest_ceph_rgw import RGWEndpoint
from tinyproxy import TinyProxy, free_port

pytestmark = pytest.mark.usefixtures("ceph_rgw")


def proxied(proxy_url: str, no_proxy: str) -> ProxySettings:
    return ProxySettings.from_juju(
        {
            "JUJU_CHARM_HTTP_PROXY": proxy_url,
            "JUJU_CHARM_HTTPS_PROXY": proxy_url,
            "JUJU_CHARM_NO_PROXY": no_proxy,
        }
    )


def client(rgw: RGWEndpoint, proxies: ProxySettings, **kwargs) -> S3Client:
    return S3Client(rgw.endpoint, rgw.access_key, rgw.secret_key, proxies=proxies, **kwargs)


@pytest.fixture
def bucket(ceph_rgw: RGWEndpoint) -> Iterator[str]:
    name = f"proxy-{secrets.token_hex(4)}"
    with client(ceph_rgw, ProxySettings()) as s3:
        s3.create_bucket(name)
        yield name
        s3.delete_objects(name, [o.key for o in s3.list_objects(name)])
        s3.delete_bucket(name)


def round_trip(s3: S3Client, bucket: str) -> None:
    s3.put_object(bucket, "via/proxy", b"payload")
    assert s3.get_object(bucket, "via/proxy") == b"payload"
    assert [o.key for o in s3.list_objects(bucket)] == ["via/proxy"]


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.0/8", "*"])
def test_gateway_in_no_proxy_never_touches_the_proxy(
    ceph_rgw: RGWEndpoint, tinyproxy: TinyProxy, bucket: str, no_proxy: str
):
    with client(ceph_rgw, proxied(tinyproxy.url, no_proxy)) as s3:
        assert s3.proxy == ""
        round_trip(s3, bucket)
    assert tinyproxy.requests() == []


def test_gateway_not_in_no_proxy_goes_through_the_proxy(
    ceph_rgw: RGWEndpoint, tinyproxy: TinyProxy, bucket: str
):
    with client(ceph_rgw, proxied(tinyproxy.url, "localhost,::1,10.0.0.0/8,.ceph.internal")) as s3:
        assert s3.proxy == tinyproxy.url
        round_trip(s3, bucket)
    seen = tinyproxy.requests()
    assert ("PUT", f"{ceph_rgw.endpoint}/{bucket}/via/proxy") in seen
    assert ("GET", f"{ceph_rgw.endpoint}/{bucket}/via/proxy") in seen
    assert len(seen) == 3, seen


def test_https_gateway_goes_through_a_connect_tunnel(
    ceph_rgw_https: RGWEndpoint, tinyproxy: TinyProxy
):
    rgw = ceph_rgw_https
    with client(rgw, proxied(tinyproxy.url, ""), ca_pem=rgw.ca_pem or "") as s3:
        name = f"tunnel-{secrets.token_hex(4)}"
        s3.create_bucket(name)
        round_trip(s3, name)
        s3.delete_objects(name, ["via/proxy"])
        s3.delete_bucket(name)
    host_port = rgw.endpoint.removeprefix("https://")
    assert ("CONNECT", host_port) in tinyproxy.requests()


def test_wrong_keys_through_the_proxy_are_still_the_keys(
    ceph_rgw: RGWEndpoint, tinyproxy: TinyProxy, bucket: str
):
    """The gateway's own 403 (it carries x-amz-request-id) is not taken for the proxy's."""
    proxies = proxied(tinyproxy.url, "")
    s3 = S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, "wrong-secret", proxies=proxies)
    with s3, pytest.raises(S3AuthError):
        s3.head_bucket(bucket)
    assert tinyproxy.requests(), "the request went through the proxy"


def test_a_refusing_proxy_is_named_for_http(
    ceph_rgw: RGWEndpoint, refusing_tinyproxy: TinyProxy, bucket: str
):
    s3 = client(ceph_rgw, proxied(refusing_tinyproxy.url, ""))
    with s3, pytest.raises(S3ProxyError) as caught:
        s3.head_bucket(bucket)
    message = str(caught.value)
    assert f"HTTP proxy {refusing_tinyproxy.url} answered HTTP 403" in message
    assert "juju-no-proxy" in message


def test_a_refusing_proxy_is_named_for_https(
    ceph_rgw_https: RGWEndpoint, refusing_tinyproxy: TinyProxy
):
    rgw = ceph_rgw_https
    s3 = client(rgw, proxied(refusing_tinyproxy.url, ""), ca_pem=rgw.ca_pem or "")
    with s3, pytest.raises(S3ProxyError) as caught:
        s3.head_bucket("any-bucket")
    message = str(caught.value)
    assert f"HTTP proxy {refusing_tinyproxy.url} refused the tunnel" in message
    assert rgw.endpoint in message and "juju-no-proxy" in message


def test_a_proxy_that_is_down_is_named(ceph_rgw: RGWEndpoint):
    closed = f"http://user:s3cret@127.0.0.1:{free_port()}"
    s3 = client(ceph_rgw, proxied(closed, "10.0.0.0/8"), timeout=2)
    with s3, pytest.raises(S3ProxyError) as caught:
        s3.head_bucket("any-bucket")
    message = str(caught.value)
    assert "HTTP proxy http://127.0.0.1:" in message and "refused the connection" in message
    assert "juju-http-proxy" in message and ceph_rgw.endpoint in message
    assert "s3cret" not in message


def test_the_process_environment_is_not_a_proxy_setting(
    ceph_rgw: RGWEndpoint, bucket: str, monkeypatch: pytest.MonkeyPatch
):
    """HTTP_PROXY (Juju's legacy http-proxy key sets it in hooks) is not the charm's proxy."""
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{free_port()}")
    for name in ("JUJU_CHARM_HTTP_PROXY", "JUJU_CHARM_HTTPS_PROXY", "JUJU_CHARM_NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as s3:
        assert s3.proxy == ""
        round_trip(s3, bucket)


def test_juju_variables_are_read_when_no_settings_are_given(
    ceph_rgw: RGWEndpoint, tinyproxy: TinyProxy, bucket: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("JUJU_CHARM_HTTP_PROXY", tinyproxy.url)
    monkeypatch.setenv("JUJU_CHARM_NO_PROXY", "localhost,::1")
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as s3:
        round_trip(s3, bucket)
    assert len(tinyproxy.requests()) == 3


def test_a_silent_proxy_times_out_naming_it(ceph_rgw: RGWEndpoint):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:  # accepts, never answers
        silent = f"http://127.0.0.1:{server.getsockname()[1]}"
        s3 = client(ceph_rgw, proxied(silent, ""), timeout=0.5)
        with s3, pytest.raises(S3Unreachable, match="did not answer in time") as caught:
            s3.head_bucket("any-bucket")
    assert f"through HTTP proxy {silent}" in str(caught.value)
