"""flink-operator on a real cluster: a Kubeflow profile runs a FlinkDeployment with S3 checkpoints.

Deploys the charm with resource-dispatcher (and what it needs: metacontroller, the PodDefault
CRD from admission-webhook), Kubeflow's profile controller and an S3 server behind
s3-integrator (a real Ceph RGW with DSP_S3_*, else MinIO; tests/integration/s3_server.py).
Creates a profile, waits for the `flink` account, the access-flink PodDefault and the S3
Secret in its namespace, creates the bucket from inside the profile with that Secret, submits
the documented FlinkDeployment (charms/flink-operator/examples/flinkdeployment-s3.yaml.j2) and
waits for a RUNNING job without Istio sidecars and a completed checkpoint in the bucket.
"""

from __future__ import annotations

import base64
import time
from typing import Any, cast

import jinja2
import jubilant
import pytest
import yaml
from helpers import create_profile, deploy_profile_stack, get_or_none, wait_for
from lightkube import Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.core_v1 import Pod, Secret, ServiceAccount
from lightkube.resources.rbac_authorization_v1 import Role, RoleBinding
from s3_server import deploy_s3_integrator, s3_server

from conftest import ROOT, packed

APP = "flink-operator"
S3_APP = "flink-s3"
BUCKET = "flink-it"
PROFILE = "flink-it"
DEPLOYMENT = "weekly-demand"
S3_SECRET = f"{APP}-s3"
DISPATCH = ("service-accounts", "roles", "role-bindings", "pod-defaults", "secrets")
TEMPLATE = ROOT / "charms" / APP / "examples" / "flinkdeployment-s3.yaml.j2"
# The jar in /opt/flink/opt of the charm's default Flink image (flink-image option).
PLUGIN = "flink-s3-fs-hadoop-2.2.1.jar"
AWS_CLI = "docker.io/amazon/aws-cli:2.27.0"

PodDefault = create_namespaced_resource("kubeflow.org", "v1alpha1", "PodDefault", "poddefaults")
FlinkDeployment = create_namespaced_resource(
    "flink.apache.org", "v1beta1", "FlinkDeployment", "flinkdeployments"
)


@pytest.fixture(scope="module")
def deployed(juju: jubilant.Juju) -> jubilant.Juju:
    meta = yaml.safe_load((ROOT / "charms" / APP / "charmcraft.yaml").read_text())
    image = meta["resources"]["oci-image"]["upstream-source"]
    server = s3_server(juju)
    deploy_s3_integrator(juju, S3_APP, server, bucket=BUCKET)
    juju.deploy(packed(APP), APP, resources={"oci-image": image}, trust=True)
    deploy_profile_stack(juju)
    for endpoint in DISPATCH:
        juju.integrate(f"{APP}:{endpoint}", f"resource-dispatcher:{endpoint}")
    juju.integrate(f"{APP}:s3-credentials", f"{S3_APP}:s3-credentials")
    juju.wait(jubilant.all_active, timeout=30 * 60)
    return juju


@pytest.fixture(scope="module")
def profile(deployed: jubilant.Juju, kube: Client) -> str:
    """A Kubeflow profile whose namespace receives what the charm sends."""
    labels = create_profile(kube, PROFILE)
    assert labels.get("app.kubernetes.io/part-of") == "kubeflow-profile"
    return PROFILE


def test_operator_is_active(deployed: jubilant.Juju):
    assert deployed.status().apps[APP].app_status.current == "active"


def test_profile_receives_the_job_account_poddefault_and_s3_secret(profile: str, kube: Client):
    for resource, name in (
        (ServiceAccount, "flink"),
        (Role, "flink"),
        (RoleBinding, "flink"),
        (PodDefault, "access-flink"),
        (Secret, S3_SECRET),
    ):
        wait_for(lambda r=resource, n=name: get_or_none(kube, r, n, profile), name, 300)


def test_the_new_profile_is_watched_after_the_next_event(deployed: jubilant.Juju, profile: str):
    """The charm finds profiles on every event (update-status at the latest)."""
    deployed.config(APP, {"log-level": "debug"})
    deployed.wait(jubilant.all_active, timeout=10 * 60)
    deployed.config(APP, {"log-level": "info"})
    deployed.wait(jubilant.all_active, timeout=10 * 60)
    conf = deployed.ssh(f"{APP}/0", "cat", "/opt/flink/conf/config.yaml", container=APP)
    watched = yaml.safe_load(conf)["kubernetes.operator.watched.namespaces"].split(",")
    assert profile in watched


def test_flink_deployment_runs_and_checkpoints_into_the_bucket(profile: str, kube: Client):
    secret = wait_for(lambda: get_or_none(kube, Secret, S3_SECRET, profile), "S3 Secret", 300)
    s3 = {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}
    _aws(kube, profile, "make-bucket", ["s3", "mb", f"s3://{BUCKET}"], ok_if="BucketAlready")

    body = _rendered(profile, s3)
    kube.apply(FlinkDeployment.from_dict(body), field_manager="it")

    def running() -> bool:
        current = get_or_none(kube, FlinkDeployment, DEPLOYMENT, profile)
        status = (current or {}).get("status") or {}
        return (status.get("jobStatus") or {}).get("state") == "RUNNING"

    wait_for(running, "job RUNNING", 15 * 60, every=10)
    pods = kube.list(Pod, namespace=profile, labels={"app": DEPLOYMENT})
    for pod in pods:
        names = [c.name for c in (pod.spec.containers if pod.spec else [])]
        assert "istio-proxy" not in names, f"{pod.metadata and pod.metadata.name} has a sidecar"

    prefix = f"{s3['FLINK_CHECKPOINTS_DIR']}/{DEPLOYMENT}/"
    wait_for(
        lambda: "_metadata" in _aws(kube, profile, "list", ["s3", "ls", "--recursive", prefix]),
        "a completed checkpoint in the bucket",
        10 * 60,
        every=30,
    )


def _rendered(namespace: str, s3: dict[str, str]) -> dict[str, Any]:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701
    text = env.from_string(TEMPLATE.read_text()).render(
        name=DEPLOYMENT,
        namespace=namespace,
        image="docker.io/library/flink:2.2.1-java17",
        flink_version="v2_2",
        plugin=PLUGIN,
        service_account="flink",
        s3_secret=S3_SECRET,
        endpoint=s3["S3_ENDPOINT"],
        path_style=s3["S3_PATH_STYLE_ACCESS"],
        checkpoints=s3["FLINK_CHECKPOINTS_DIR"],
        savepoints=s3["FLINK_SAVEPOINTS_DIR"],
    )
    return yaml.safe_load(text)


def _aws(kube: Client, namespace: str, name: str, args: list[str], ok_if: str = "") -> str:
    """Run the AWS CLI in the profile with the profile's S3 Secret; its output."""
    pod_name = f"it-aws-{name}-{int(time.time())}"
    env = [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": S3_SECRET, "key": key}}}
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "S3_ENDPOINT")
    ]
    pod = cast(
        "Pod",
        Pod.from_dict(
            {
                "metadata": {
                    "name": pod_name,
                    "namespace": namespace,
                    "labels": {"sidecar.istio.io/inject": "false"},
                },
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "aws",
                            "image": AWS_CLI,
                            "command": [
                                "sh",
                                "-c",
                                'aws --endpoint-url "$S3_ENDPOINT" "$@"',
                                "aws",
                            ],
                            "args": args,
                            "env": [*env, {"name": "AWS_DEFAULT_REGION", "value": "us-east-1"}],
                        }
                    ],
                },
            }
        ),
    )
    kube.create(pod)
    try:
        done = wait_for(lambda: _finished(kube, pod_name, namespace), f"aws {' '.join(args)}", 300)
        log = "".join(kube.log(pod_name, namespace=namespace))
        assert done == "Succeeded" or (ok_if and ok_if in log), log
        return log
    finally:
        kube.delete(Pod, pod_name, namespace=namespace)


def _finished(kube: Client, name: str, namespace: str) -> str | None:
    pod = kube.get(Pod, name, namespace=namespace)
    phase = pod.status.phase if pod.status else None
    return phase if phase in ("Succeeded", "Failed") else None
