"""Rendered objects are valid Kubernetes objects, and the EndpointSlice serves the Service."""

from dsplib.testing import validate_manifests
from render import rendered_manifests


def test_every_rendered_object_validates():
    objects = rendered_manifests()
    assert [o["kind"] for o in objects] == [
        "Service",
        "Service",
        "EndpointSlice",
        "Service",
        "EndpointSlice",
    ]
    validate_manifests(objects)


def test_a_host_name_is_a_dns_alias_and_an_address_an_endpoint_slice():
    by_name, by_ip, slice_v4, _, slice_v6 = rendered_manifests()
    assert by_name["spec"]["type"] == "ExternalName"
    assert by_name["spec"]["externalName"] == "rgw.ceph.example.com"
    assert by_ip["spec"]["type"] == "ClusterIP"
    assert "selector" not in by_ip["spec"]
    service = by_ip["metadata"]["name"]
    assert slice_v4["metadata"]["labels"]["kubernetes.io/service-name"] == service
    assert slice_v4["endpoints"][0]["addresses"] == ["10.20.0.15"]
    assert slice_v4["ports"][0]["name"] == by_ip["spec"]["ports"][0]["name"]
    assert slice_v4["ports"][0]["port"] == by_ip["spec"]["ports"][0]["targetPort"] == 7480
    assert slice_v6["addressType"] == "IPv6"
    # EndpointSlices of Services without selector must not claim the control plane's manager
    manager = slice_v4["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"]
    assert manager != "endpointslice-controller.k8s.io"
