"""spark-operator on a real cluster: a Kubeflow profile runs the example SparkApplication.

Deploys the charm with resource-dispatcher (and what it needs: metacontroller, the PodDefault
CRD from admission-webhook) and Kubeflow's profile controller, creates a profile, waits for the
driver account and the access-spark PodDefault to arrive in its namespace, then submits
examples/spark/sparkapplication.yaml with the job and a generated sales CSV in a ConfigMap, and
waits for COMPLETED.
"""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path

import jubilant
import pytest
import yaml
from helpers import create_profile, deploy_profile_stack, get_or_none, wait_for
from lightkube import Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.admissionregistration_v1 import (
    MutatingWebhookConfiguration,
    ValidatingWebhookConfiguration,
)
from lightkube.resources.core_v1 import ConfigMap, ServiceAccount
from lightkube.resources.rbac_authorization_v1 import Role, RoleBinding

from conftest import ROOT, packed

EXAMPLE = ROOT / "examples" / "spark"
sys.path.insert(0, str(EXAMPLE))
from sample_data import sales_rows, write_sales_csv  # noqa: E402

APP = "spark-operator"
PROFILE = "spark-it"
DRIVER_ACCOUNT = f"{APP}-spark"
WEBHOOK_CONFIG_SUFFIX = "-webhook"
DISPATCH = ("service-accounts", "roles", "role-bindings", "pod-defaults", "secrets")

PodDefault = create_namespaced_resource("kubeflow.org", "v1alpha1", "PodDefault", "poddefaults")
SparkApplication = create_namespaced_resource(
    "sparkoperator.k8s.io", "v1beta2", "SparkApplication", "sparkapplications"
)


@pytest.fixture(scope="module")
def deployed(juju: jubilant.Juju) -> jubilant.Juju:
    meta = yaml.safe_load((ROOT / "charms" / APP / "charmcraft.yaml").read_text())
    image = meta["resources"]["oci-image"]["upstream-source"]
    juju.deploy(packed(APP), APP, resources={"oci-image": image}, trust=True)
    deploy_profile_stack(juju)
    for endpoint in DISPATCH:
        juju.integrate(f"{APP}:{endpoint}", f"resource-dispatcher:{endpoint}")
    juju.wait(jubilant.all_active, timeout=30 * 60)
    return juju


@pytest.fixture(scope="module")
def profile(deployed: jubilant.Juju, kube: Client) -> str:
    """A Kubeflow profile whose namespace receives what the charm sends."""
    labels = create_profile(kube, PROFILE)
    assert labels.get("app.kubernetes.io/part-of") == "kubeflow-profile"
    return PROFILE


def test_operator_is_active(deployed: jubilant.Juju):
    status = deployed.status()
    assert status.apps[APP].app_status.current == "active"


def test_webhook_process_injected_its_ca_and_the_charm_kept_it(
    deployed: jubilant.Juju, kube: Client
):
    name = f"{APP}-{deployed.model}{WEBHOOK_CONFIG_SUFFIX}"
    before = _ca_bundles(kube, name)
    assert all(before), "every webhook carries the CA the webhook process generated"
    deployed.config(APP, {"controller-threads": 12})
    deployed.wait(jubilant.all_active, timeout=10 * 60)
    deployed.config(APP, {"controller-threads": 10})
    deployed.wait(jubilant.all_active, timeout=10 * 60)
    assert _ca_bundles(kube, name) == before


def test_profile_receives_the_driver_account_and_poddefault(profile: str, kube: Client):
    for resource, name in (
        (ServiceAccount, DRIVER_ACCOUNT),
        (Role, DRIVER_ACCOUNT),
        (RoleBinding, DRIVER_ACCOUNT),
        (PodDefault, "access-spark"),
    ):
        wait_for(lambda r=resource, n=name: get_or_none(kube, r, n, profile), f"{name}", 300)


def test_example_spark_application_completes(profile: str, kube: Client, tmp_path: Path):
    csv = write_sales_csv(tmp_path / "sales.csv", sales_rows(n_weeks=26, seed=3))
    kube.apply(
        ConfigMap(
            metadata={"name": "weekly-product-summary", "namespace": profile},  # type: ignore[arg-type]
            data={
                "sales_aggregation.py": (EXAMPLE / "sales_aggregation.py").read_text(),
                "sales.csv": csv.read_text(),
            },
        ),
        field_manager="it",
    )
    app = yaml.safe_load((EXAMPLE / "sparkapplication.yaml").read_text())
    app["metadata"]["namespace"] = profile
    kube.apply(SparkApplication(app), field_manager="it")
    state = _wait_for_state(kube, app["metadata"]["name"], profile, timeout=20 * 60)
    assert state == "COMPLETED"
    current = kube.get(SparkApplication, app["metadata"]["name"], namespace=profile)
    driver = current["status"]["driverInfo"]["podName"]
    log = "".join(kube.log(driver, namespace=profile))
    assert "summarised 3 products" in log


def _ca_bundles(kube: Client, name: str) -> list[str]:
    bundles = []
    for resource in (MutatingWebhookConfiguration, ValidatingWebhookConfiguration):
        config = kube.get(resource, name)
        for webhook in config.webhooks or []:
            raw = webhook.clientConfig.caBundle or ""
            bundles.append(base64.b64decode(raw).decode() if raw else "")
    return bundles


def _wait_for_state(kube: Client, name: str, namespace: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        app = kube.get(SparkApplication, name, namespace=namespace)
        state = ((app.get("status") or {}).get("applicationState") or {}).get("state")
        if state in ("COMPLETED", "FAILED", "SUBMISSION_FAILED"):
            return state
        time.sleep(10)
    pytest.fail(f"SparkApplication {name} not finished after {timeout}s (state {state})")
