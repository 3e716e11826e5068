"""Refresh our charms from the previous packed revision to this one, with users' work in place.

Deploys seldon-core, spark-operator and kubeflow-backup from the .charm files of the previous
revision (the directory `DSP_PREVIOUS_CHARMS` names: `<name>.charm` files, for instance
packed by `./dev tox -e pack` from the previous release tag, see docs/how-to/upgrade.md),
creates a SeldonDeployment, a SparkApplication and a backup, then runs
`juju refresh <app> --path build/<name>.charm` for each (jubilant's `refresh(path=...)`;
`--path` is Juju 3.6's flag for a local charm) and checks that every application settles
active again and that the users' objects still work: the model is served, the Spark job's
object is kept and a new job completes, and the backup still verifies with the same key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jubilant
import pytest
import yaml
from helpers import wait_for
from lightkube import Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.models.rbac_v1 import RoleRef, Subject
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import Namespace, ServiceAccount
from lightkube.resources.rbac_authorization_v1 import RoleBinding
from s3_server import deploy_s3_integrator, s3_server

from conftest import ROOT, packed

SeldonDeployment = create_namespaced_resource(
    "machinelearning.seldon.io", "v1", "SeldonDeployment", "seldondeployments"
)
SparkApplication = create_namespaced_resource(
    "sparkoperator.k8s.io", "v1beta2", "SparkApplication", "sparkapplications"
)
APPS = ("seldon-core", "spark-operator", "kubeflow-backup")
NAMESPACE = "refresh-it"
S3_APP = "refresh-s3"
SELDON_EXAMPLE = ROOT / "charms" / "kubeflow-seldon-core" / "examples" / "sklearn-iris.yaml"
SPARK_EXAMPLES_JAR = (
    "local:///opt/spark/examples/jars/spark-examples_2.13-4.0.1.jar"  # in the spark image
)


def previous(charm: str) -> Path:
    """The previous revision's packed charm, or a clear failure."""
    where = os.environ.get("DSP_PREVIOUS_CHARMS")
    if not where:
        pytest.fail(
            "set DSP_PREVIOUS_CHARMS to a directory of the previous revision's .charm files"
        )
    path = Path(where).expanduser().resolve() / f"{charm}.charm"
    if not path.exists():
        pytest.fail(f"{path} missing: pack the previous revision there (docs/how-to/upgrade.md)")
    return path


def image(charm: str) -> dict[str, str]:
    """The oci-image resource of a charm with a workload, as charmcraft.yaml names it."""
    meta = yaml.safe_load((ROOT / "charms" / charm / "charmcraft.yaml").read_text())
    resources = meta.get("resources") or {}
    if "oci-image" not in resources:
        return {}
    return {"oci-image": resources["oci-image"]["upstream-source"]}


@pytest.fixture(scope="module")
def deployed(juju: jubilant.Juju) -> jubilant.Juju:
    server = s3_server(juju)
    deploy_s3_integrator(juju, S3_APP, server, bucket="refresh-it", path="it")
    for app in APPS:
        juju.deploy(previous(app), app, resources=image(app) or None, trust=True)
    juju.integrate("kubeflow-backup:s3-credentials", f"{S3_APP}:s3-credentials")
    juju.wait(lambda status: jubilant.all_active(status, *APPS), timeout=30 * 60)
    return juju


@pytest.fixture(scope="module")
def users_work(deployed: jubilant.Juju, kube: Client) -> dict[str, str]:
    """A SeldonDeployment, a finished SparkApplication and a backup, made before the refresh."""
    kube.apply(Namespace(metadata=ObjectMeta(name=NAMESPACE)), field_manager="it")
    _spark_account(kube)
    model = yaml.safe_load(SELDON_EXAMPLE.read_text())
    model["metadata"]["namespace"] = NAMESPACE
    kube.apply(SeldonDeployment(model), field_manager="it")
    _wait_available(kube, model["metadata"]["name"])
    kube.apply(SparkApplication(_spark_pi("pi-before")), field_manager="it")
    assert _wait_for_spark(kube, "pi-before") == "COMPLETED"
    task = deployed.run(
        "kubeflow-backup/leader", "create-backup", {"namespaces": NAMESPACE}, wait=600
    )
    return {"model": model["metadata"]["name"], "backup": task.results["backup-id"]}


def test_refresh_keeps_every_app_active_and_users_work_working(
    deployed: jubilant.Juju, kube: Client, users_work: dict[str, str]
):
    before = {app: deployed.status().apps[app].charm_rev for app in APPS}
    for app in APPS:
        deployed.refresh(app, path=packed(app), resources=image(app) or None)

    def refreshed(status: jubilant.Status) -> bool:
        # The old revision's "active" must not count: wait for the new revision's units.
        moved = all(status.apps[app].charm_rev != before[app] for app in APPS)
        return moved and jubilant.all_active(status, *APPS)

    deployed.wait(
        refreshed, error=lambda status: jubilant.any_error(status, *APPS), timeout=30 * 60
    )

    for crd in (
        "seldondeployments.machinelearning.seldon.io",
        "sparkapplications.sparkoperator.k8s.io",
    ):
        assert kube.get(CustomResourceDefinition, crd) is not None
    _wait_available(kube, users_work["model"])
    kept = kube.get(SparkApplication, "pi-before", namespace=NAMESPACE)
    assert kept["status"]["applicationState"]["state"] == "COMPLETED"
    kube.apply(SparkApplication(_spark_pi("pi-after")), field_manager="it")
    assert _wait_for_spark(kube, "pi-after") == "COMPLETED"
    verified = deployed.run(
        "kubeflow-backup/0", "verify-backup", {"backup-id": users_work["backup"]}, wait=600
    )
    assert verified.results["ok"] == "true"
    assert verified.results["signature"] == "valid", "the refresh kept the backup key"


def _spark_account(kube: Client) -> None:
    """A driver account in the test namespace (resource-dispatcher does this in profiles)."""
    kube.apply(
        ServiceAccount(metadata=ObjectMeta(name="spark", namespace=NAMESPACE)), field_manager="it"
    )
    kube.apply(
        RoleBinding(
            metadata=ObjectMeta(name="spark-edit", namespace=NAMESPACE),
            roleRef=RoleRef(apiGroup="rbac.authorization.k8s.io", kind="ClusterRole", name="edit"),
            subjects=[Subject(kind="ServiceAccount", name="spark", namespace=NAMESPACE)],
        ),
        field_manager="it",
    )


def _spark_pi(name: str) -> Any:
    spark_image = yaml.safe_load(
        (ROOT / "charms" / "spark-operator" / "charmcraft.yaml").read_text()
    )["config"]["options"]["spark-image"]["default"]
    return {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "type": "Scala",
            "mode": "cluster",
            "image": spark_image,
            "mainClass": "org.apache.spark.examples.SparkPi",
            "mainApplicationFile": SPARK_EXAMPLES_JAR,
            "arguments": ["100"],
            "sparkVersion": "4.0.1",
            "driver": {"cores": 1, "memory": "512m", "serviceAccount": "spark"},
            "executor": {"cores": 1, "instances": 1, "memory": "512m"},
        },
    }


def _wait_available(kube: Client, name: str) -> None:
    def available() -> bool:
        sdep = kube.get(SeldonDeployment, name, namespace=NAMESPACE)
        return (sdep.get("status") or {}).get("state") == "Available"

    wait_for(available, f"SeldonDeployment {name} Available", timeout=15 * 60)


def _wait_for_spark(kube: Client, name: str, timeout: float = 20 * 60) -> str:
    def finished() -> str | None:
        app = kube.get(SparkApplication, name, namespace=NAMESPACE)
        state = ((app.get("status") or {}).get("applicationState") or {}).get("state")
        return state if state in ("COMPLETED", "FAILED", "SUBMISSION_FAILED") else None

    return wait_for(finished, f"SparkApplication {name} finished", timeout=timeout, every=10)
