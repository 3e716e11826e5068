"""kubeflow-object-storage on a real cluster: checks S3, keeps the Service, feeds argo."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import jubilant
import pytest
import yaml
from lightkube import Client
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Service
from s3_server import S3Server, deploy_s3_integrator, s3_server, set_keys

from conftest import packed

APP = "kubeflow-object-storage"
S3_APP = "pipelines-s3"
BUCKET = "mlpipeline-it"


@pytest.fixture(scope="module")
def server(juju: jubilant.Juju) -> S3Server:
    return s3_server(juju)


@pytest.fixture(scope="module")
def deployed(juju: jubilant.Juju, server: S3Server) -> jubilant.Juju:
    deploy_s3_integrator(juju, S3_APP, server, bucket="ignored-by-the-integrator")
    juju.deploy(packed(APP), APP, trust=True, config={"bucket": BUCKET})
    juju.integrate(f"{APP}:s3-credentials", f"{S3_APP}:s3-credentials")
    juju.wait(lambda status: jubilant.all_active(status, APP), timeout=15 * 60)
    return juju


def test_status_names_the_bucket_and_the_service(deployed: jubilant.Juju):
    message = deployed.status().apps[APP].app_status.message
    assert message.startswith(f"bucket {BUCKET} at ")
    assert f"as {APP}-s3.{deployed.model}:" in message


def test_the_service_reaches_the_gateway_from_a_pod(deployed: jubilant.Juju, kube: Client):
    service = kube.get(Service, f"{APP}-s3", namespace=deployed.model)
    assert service.spec is not None
    port = service.spec.ports[0].port if service.spec.ports else None
    url = f"http://{APP}-s3.{deployed.model}.svc.cluster.local:{port}/{BUCKET}"
    # An anonymous request: the gateway answers (403 for a private bucket), which proves the
    # name resolves and the port is the gateway's.
    status = _http_status_from_a_pod(kube, deployed.model or "default", url)
    assert status in ("200", "403"), status


def test_argo_controller_takes_its_object_storage_from_the_integrator(deployed: jubilant.Juju):
    deployed.deploy("argo-controller", channel="3.7/stable", trust=True, config={"bucket": BUCKET})
    deployed.integrate(f"{APP}:object-storage", "argo-controller:object-storage")
    deployed.wait(
        lambda status: jubilant.all_active(status, APP, "argo-controller"), timeout=20 * 60
    )


def test_wrong_keys_block_and_good_keys_unblock(deployed: jubilant.Juju, server: S3Server):
    set_keys(deployed, S3_APP, server.access_key, "not-the-secret-key")
    deployed.wait(lambda status: jubilant.all_blocked(status, APP), timeout=10 * 60)
    message = deployed.status().apps[APP].app_status.message
    assert "fix the keys given to s3-integrator" in message
    assert "not-the-secret-key" not in message
    set_keys(deployed, S3_APP, server.access_key, server.secret_key)
    deployed.wait(lambda status: jubilant.all_active(status, APP), timeout=10 * 60)


def test_a_gateway_that_does_not_answer_waits_and_recovers(
    deployed: jubilant.Juju, server: S3Server
):
    """An outage is not a mistake: waiting, checked again on update-status, active again."""
    host = urlsplit(server.endpoint).hostname or ""
    silent = f"http://{host}:9"  # the server's host, a port nothing listens on
    deployed.model_config({"update-status-hook-interval": "30s"})
    try:
        deployed.config(S3_APP, {"endpoint": silent})
        deployed.wait(lambda status: jubilant.all_waiting(status, APP), timeout=10 * 60)
        message = deployed.status().apps[APP].app_status.message
        assert message.startswith(f"S3 endpoint {silent} ")
        assert message.endswith("; retrying on update-status")
        assert server.secret_key not in message
        deployed.config(S3_APP, {"endpoint": server.endpoint})
        deployed.wait(lambda status: jubilant.all_active(status, APP), timeout=10 * 60)
    finally:
        deployed.config(S3_APP, {"endpoint": server.endpoint})
        deployed.model_config(reset=["update-status-hook-interval"])


PROXY_KEYS = ("juju-http-proxy", "juju-https-proxy", "juju-no-proxy")


def test_the_model_proxy_is_used_unless_juju_no_proxy_lists_the_gateway(
    deployed: jubilant.Juju, server: S3Server
):
    """docs/how-to/proxy.md: a proxy that is down blocks naming it, until NO_PROXY lists S3."""
    closed = "http://127.0.0.1:9"  # nothing listens there in the charm's pod
    gateway = urlsplit(server.endpoint).hostname or ""
    deployed.model_config(
        {
            "juju-http-proxy": closed,
            "juju-https-proxy": closed,
            "juju-no-proxy": "127.0.0.1,localhost,::1",
            "update-status-hook-interval": "30s",  # model config changes run no hook
        }
    )
    try:
        deployed.wait(lambda status: jubilant.all_blocked(status, APP), timeout=10 * 60)
        message = deployed.status().apps[APP].app_status.message
        assert f"HTTP proxy {closed} refused the connection" in message
        deployed.model_config({"juju-no-proxy": f"127.0.0.1,localhost,::1,{gateway}"})
        deployed.wait(lambda status: jubilant.all_active(status, APP), timeout=10 * 60)
    finally:
        deployed.model_config(reset=[*PROXY_KEYS, "update-status-hook-interval"])
    deployed.wait(lambda status: jubilant.all_active(status, APP), timeout=10 * 60)


def _http_status_from_a_pod(kube: Client, namespace: str, url: str) -> str:
    manifest = yaml.safe_load(Path(__file__).with_name("curl-job.yaml").read_text())
    name = "s3-reach"
    manifest["metadata"] = {"name": name, "namespace": namespace}
    manifest["spec"]["template"]["spec"]["containers"][0]["args"] = [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        url,
    ]
    kube.create(Job.from_dict(manifest))  # pyright: ignore[reportArgumentType, reportCallIssue]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = kube.get(Job, name, namespace=namespace)
        if job.status and job.status.succeeded:
            from lightkube.resources.core_v1 import Pod

            pod = next(iter(kube.list(Pod, namespace=namespace, labels={"job-name": name})))
            assert pod.metadata and pod.metadata.name
            return "".join(kube.log(pod.metadata.name, namespace=namespace)).strip()
        if job.status and job.status.failed:
            pytest.fail("the request from the pod failed")
        time.sleep(5)
    pytest.fail("the request from the pod did not finish")
