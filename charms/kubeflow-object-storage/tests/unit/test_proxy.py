"""The gateway check and the model's HTTP proxy, with a real tinyproxy and the real Ceph RGW.

Juju gives the hook JUJU_CHARM_HTTP_PROXY and JUJU_CHARM_NO_PROXY from the model's
juju-http-proxy and juju-no-proxy; the tests set them as Juju would. The gateway is
`localhost`, which tinyproxy resolves itself when a request goes through it.
"""

import pytest
from ops import testing

from conftest import GATEWAY_NAME
from test_charm import consumer, fresh_bucket, published, s3_data, s3_relation, state
from tinyproxy import TinyProxy

pytestmark = pytest.mark.usefixtures("ceph_rgw")


def check(ctx, ceph_rgw) -> tuple[testing.State, testing.Relation]:
    kfp_api, s3 = consumer(), s3_relation(s3_data(ceph_rgw))
    out = ctx.run(
        ctx.on.relation_changed(s3), state(config=fresh_bucket(), relations=[s3, kfp_api])
    )
    return out, kfp_api


def test_a_gateway_in_juju_no_proxy_is_reached_directly(
    ctx, kube, ceph_rgw, tinyproxy: TinyProxy, juju_proxy
):
    juju_proxy(tinyproxy.url, f"127.0.0.1,::1,10.0.0.0/8,{GATEWAY_NAME}")
    out, kfp_api = check(ctx, ceph_rgw)
    assert isinstance(out.unit_status, testing.ActiveStatus), out.unit_status
    assert published(out, kfp_api) is not None
    assert tinyproxy.requests() == []


def test_a_gateway_outside_juju_no_proxy_is_reached_through_the_proxy(
    ctx, kube, ceph_rgw, tinyproxy: TinyProxy, juju_proxy
):
    juju_proxy(tinyproxy.url, "127.0.0.1,::1,10.0.0.0/8,.ceph.internal")
    out, _ = check(ctx, ceph_rgw)
    assert isinstance(out.unit_status, testing.ActiveStatus), out.unit_status
    methods = [method for method, _ in tinyproxy.requests()]
    assert methods == ["HEAD", "PUT"], "head the bucket, then create it"


def test_a_refusing_proxy_blocks_naming_it(
    ctx, kube, ceph_rgw, refusing_tinyproxy: TinyProxy, juju_proxy
):
    juju_proxy(refusing_tinyproxy.url, "127.0.0.1")
    out, kfp_api = check(ctx, ceph_rgw)
    assert isinstance(out.unit_status, testing.BlockedStatus)
    message = out.unit_status.message
    assert f"HTTP proxy {refusing_tinyproxy.url} answered HTTP 403" in message
    assert "juju-no-proxy" in message
    assert published(out, kfp_api) is None


def test_a_new_proxy_setting_makes_the_last_check_stale(ctx, kube, ceph_rgw, juju_proxy):
    """collect-status on an action hook must not report a check made on another route."""
    import storage
    from dsplib.s3_credentials import S3Connection

    connection = S3Connection.from_info(s3_data(ceph_rgw))
    assert connection is not None
    settings = storage.Settings("bucket", True)
    juju_proxy("", "")
    direct = storage.fingerprint(connection, settings)
    juju_proxy("http://squid.internal:3128", "")
    assert storage.fingerprint(connection, settings) != direct
    juju_proxy("http://squid.internal:3128", GATEWAY_NAME)
    assert storage.fingerprint(connection, settings) == direct


def test_an_unusable_model_proxy_blocks_naming_the_key(ctx, kube, ceph_rgw, juju_proxy):
    juju_proxy("http://squid.internal:port", "")
    out, _ = check(ctx, ceph_rgw)
    assert out.unit_status == testing.BlockedStatus(
        "model config juju-http-proxy and juju-https-proxy: expected a proxy URL such as "
        "http://squid.example:3128"
    )
