"""intel-notebooks on a real cluster: PodDefault in a profile namespace, images pre-pulled."""

from __future__ import annotations

import time

import jubilant
import pytest
from lightkube import Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.core_v1 import Namespace

from conftest import packed

PodDefault = create_namespaced_resource("kubeflow.org", "v1alpha1", "PodDefault", "poddefaults")
PROFILE_NAMESPACE = "intel-it"
# Small public images stand in for the multi-GB notebook images.
IMAGES = "- docker.io/library/busybox:1.37\n- docker.io/library/alpine:3.21"


@pytest.fixture(scope="module")
def deployed(juju: jubilant.Juju) -> jubilant.Juju:
    juju.deploy(
        packed("intel-notebooks"), "intel-notebooks", trust=True, config={"images": IMAGES}
    )
    juju.deploy("metacontroller-operator", channel="4.11/stable", trust=True)
    juju.deploy("resource-dispatcher", channel="latest/edge", trust=True)
    juju.deploy("admission-webhook", channel="1.10/stable", trust=True)
    juju.integrate("intel-notebooks:pod-defaults", "resource-dispatcher:pod-defaults")
    juju.wait(jubilant.all_active, timeout=30 * 60)
    return juju


def test_poddefault_reaches_profile_namespaces(deployed: jubilant.Juju, kube: Client):
    kube.apply(
        Namespace(
            metadata={
                "name": PROFILE_NAMESPACE,  # type: ignore[arg-type]
                "labels": {"user.kubeflow.org/enabled": "true"},
            }
        ),
        field_manager="it",
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = list(kube.list(PodDefault, namespace=PROFILE_NAMESPACE))
        if found:
            env = {e["name"] for e in found[0]["spec"]["env"]}
            assert {"OMP_NUM_THREADS", "ONEDNN_MAX_CPU_ISA", "KMP_BLOCKTIME"} <= env
            return
        time.sleep(10)
    pytest.fail("PodDefault intel-optimizations did not reach the profile namespace")


def test_image_report_shows_the_images_cached(deployed: jubilant.Juju):
    task = deployed.run("intel-notebooks/0", "image-report")
    assert task.success
    assert "missing" not in task.results["report"], task.results["report"]
