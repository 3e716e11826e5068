"""seldon-core on a real cluster: deploy with Istio, serve the sklearn iris model end to end."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jubilant
import pytest
import yaml
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Namespace, Pod

from conftest import ROOT, packed

SeldonDeployment = create_namespaced_resource(
    "machinelearning.seldon.io", "v1", "SeldonDeployment", "seldondeployments"
)
VirtualService = create_namespaced_resource(
    "networking.istio.io", "v1beta1", "VirtualService", "virtualservices"
)
EXAMPLE = ROOT / "charms" / "kubeflow-seldon-core" / "examples" / "sklearn-iris.yaml"
NAMESPACE = "seldon-it"


@pytest.fixture(scope="module")
def deployed(juju: jubilant.Juju) -> jubilant.Juju:
    charm = packed("kubeflow-seldon-core")
    meta = yaml.safe_load((ROOT / "charms/kubeflow-seldon-core/charmcraft.yaml").read_text())
    image = meta["resources"]["oci-image"]["upstream-source"]
    juju.deploy(charm, "seldon-core", resources={"oci-image": image}, trust=True)
    juju.deploy(
        "istio-pilot",
        channel="1.28/stable",
        trust=True,
        config={"default-gateway": "kubeflow-gateway"},
    )
    juju.deploy(
        "istio-gateway",
        "istio-ingressgateway",
        channel="1.28/stable",
        trust=True,
        config={"kind": "ingress"},
    )
    juju.integrate("istio-pilot:istio-pilot", "istio-ingressgateway:istio-pilot")
    juju.integrate("seldon-core:gateway-info", "istio-pilot:gateway-info")
    juju.wait(jubilant.all_active, timeout=30 * 60)
    return juju


def test_operator_is_active_with_istio(deployed: jubilant.Juju):
    status = deployed.status()
    assert status.apps["seldon-core"].app_status.current == "active"


def test_sklearn_model_serves_predictions(deployed: jubilant.Juju, kube: Client):
    kube.apply(Namespace(metadata={"name": NAMESPACE}), field_manager="it")  # type: ignore[arg-type]
    sdep = yaml.safe_load(EXAMPLE.read_text())
    sdep["metadata"]["namespace"] = NAMESPACE
    kube.apply(SeldonDeployment(sdep), field_manager="it")
    _wait_available(kube, sdep["metadata"]["name"], timeout=20 * 60)

    vs = list(kube.list(VirtualService, namespace=NAMESPACE))
    assert vs, "Istio integration creates a VirtualService for the model"

    reply = _predict(kube, f"http://iris-default.{NAMESPACE}.svc.cluster.local:8000")
    probabilities = reply["data"]["ndarray"][0]
    assert reply["data"]["names"] == ["t:0", "t:1", "t:2"]
    assert abs(sum(probabilities) - 1) < 1e-6
    assert probabilities.index(max(probabilities)) == 2


def test_webhook_rejects_an_invalid_deployment(deployed: jubilant.Juju, kube: Client):
    bad = yaml.safe_load(EXAMPLE.read_text())
    bad["metadata"] = {"name": "bad-traffic", "namespace": NAMESPACE}
    second = json.loads(json.dumps(bad["spec"]["predictors"][0]))
    second["name"] = "other"
    bad["spec"]["predictors"][0]["traffic"] = 30
    second["traffic"] = 30
    bad["spec"]["predictors"].append(second)
    with pytest.raises(ApiError) as info:
        kube.create(SeldonDeployment(bad))
    assert "vseldondeployment.kb.io" in str(info.value), "denied by our validating webhook"


def _wait_available(kube: Client, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        obj = kube.get(SeldonDeployment, name, namespace=NAMESPACE)
        state = (obj.get("status") or {}).get("state")
        if state == "Available":
            return
        time.sleep(10)
    pytest.fail(f"SeldonDeployment {name} not Available after {timeout}s (state {state})")


def _predict(kube: Client, base_url: str) -> dict:
    """POST the iris sample from a pod in the cluster and return the JSON reply."""
    payload = json.dumps({"data": {"ndarray": [[1, 2, 3, 4]]}})
    manifest = yaml.safe_load(Path(__file__).with_name("curl-job.yaml").read_text())
    manifest["metadata"]["namespace"] = NAMESPACE
    manifest["spec"]["template"]["spec"]["containers"][0]["args"] = [
        "-sf",
        "-H",
        "Content-Type: application/json",
        "-d",
        payload,
        f"{base_url}/api/v1.0/predictions",
    ]
    name = manifest["metadata"]["name"]
    kube.create(Job.from_dict(manifest))  # pyright: ignore[reportArgumentType, reportCallIssue]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        current = kube.get(Job, name, namespace=NAMESPACE)
        if current.status and current.status.succeeded:
            pod = next(iter(kube.list(Pod, namespace=NAMESPACE, labels={"job-name": name})))
            pod_name = pod.metadata.name if pod.metadata else None
            assert pod_name
            return json.loads("".join(kube.log(pod_name, namespace=NAMESPACE)))
        if current.status and current.status.failed:
            pytest.fail("prediction request failed")
        time.sleep(5)
    pytest.fail("prediction request did not finish")
