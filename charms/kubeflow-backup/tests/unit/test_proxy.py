"""Backups and the model's HTTP proxy, with a real tinyproxy and the real Ceph RGW.

Juju gives actions JUJU_CHARM_HTTP_PROXY / JUJU_CHARM_NO_PROXY from the model's
juju-http-proxy / juju-no-proxy; the tests set them as Juju would.
"""

from conftest import s3_relation
from test_charm import act, fails, keys, state
from tinyproxy import TinyProxy


def test_a_backup_to_a_gateway_in_no_proxy_never_touches_the_proxy(
    ctx, kube, ceph_rgw, bucket, tinyproxy: TinyProxy, juju_proxy
):
    juju_proxy(tinyproxy.url, "127.0.0.1,localhost,::1")
    act(ctx, "create-backup", state([s3_relation(ceph_rgw, bucket)]))
    name = ctx.action_results["backup-id"]  # type: ignore[index]
    assert any(name in key for key in keys(ceph_rgw, bucket))
    assert tinyproxy.requests() == []


def test_a_backup_to_a_gateway_outside_no_proxy_goes_through_it(
    ctx, kube, ceph_rgw, bucket, tinyproxy: TinyProxy, juju_proxy
):
    juju_proxy(tinyproxy.url, "::1,10.0.0.0/8")
    act(ctx, "create-backup", state([s3_relation(ceph_rgw, bucket)]))
    name = ctx.action_results["backup-id"]  # type: ignore[index]
    assert any(name in key for key in keys(ceph_rgw, bucket))
    puts = [url for method, url in tinyproxy.requests() if method == "PUT"]
    assert any(name in url for url in puts), puts


def test_a_refusing_proxy_is_named_in_the_action_error(
    ctx, kube, ceph_rgw, bucket, refusing_tinyproxy: TinyProxy, juju_proxy
):
    juju_proxy(refusing_tinyproxy.url, "")
    failure = fails(ctx, "list-backups", state([s3_relation(ceph_rgw, bucket)]))
    assert f"HTTP proxy {refusing_tinyproxy.url} answered HTTP 403" in failure.message
    assert "juju-no-proxy" in failure.message


def test_an_unusable_model_proxy_stops_actions_naming_the_key(
    ctx, kube, ceph_rgw, bucket, juju_proxy
):
    juju_proxy("http://u:s3cret@squid.internal:port", "")
    failure = fails(ctx, "list-backups", state([s3_relation(ceph_rgw, bucket)]))
    assert failure.message.startswith("model config juju-http-proxy and juju-https-proxy:")
    assert "s3cret" not in failure.message
