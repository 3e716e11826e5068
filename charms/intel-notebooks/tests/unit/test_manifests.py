"""Rendered objects are valid: the DaemonSet for Kubernetes, the PodDefault for its CRD."""

from conftest import PODDEFAULT_CRD
from dsplib.testing import validate_manifests
from render import rendered_manifests


def test_every_rendered_object_validates():
    objects = rendered_manifests()
    assert {o["kind"] for o in objects} == {"DaemonSet", "NetworkPolicy", "PodDefault"}
    validate_manifests(objects, [PODDEFAULT_CRD])


def test_prepull_pods_run_unprivileged():
    daemonset = next(o for o in rendered_manifests() if o["kind"] == "DaemonSet")
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    for container in [*pod["initContainers"], *pod["containers"]]:
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert container["resources"]["limits"]
