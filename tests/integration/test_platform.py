"""The whole platform on one machine: bundle.yaml with overlays/local.yaml, used for real.

Deploys the bundle (our charms from build/, Charmed Kubeflow from Charmhub) into a new model
named `kubeflow` (Charmed Kubeflow needs that name; DSP_MODEL=kubeflow uses an existing one),
by absolute path so that Juju reads the repository's own files (juju_helpers.deploy_bundle),
waits for every application to be active, and then
walks through what a data scientist does: Dex's login page answers through the Istio gateway,
a notebook with an Intel image starts with the optimizations PodDefault, a SparkApplication
completes, a SeldonDeployment answers a prediction, and the backup action succeeds.

Prerequisites beyond tests/integration/conftest.py: the Intel images configured in
intel-notebooks must be pullable (build and push them with `make images`, or point the
`images` option at your registry), and the gateway reachable (LoadBalancer or DSP_INGRESS_URL).
Expect an hour on a 16-core machine, most of it image pulls.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jubilant
import pytest
import yaml
from helpers import Browser, get_or_none, ingress_url, wait_for
from juju_helpers import deploy_bundle, module_model
from lightkube import Client
from lightkube.generic_resource import create_global_resource, create_namespaced_resource
from lightkube.resources.core_v1 import ConfigMap, Namespace, Pod
from s3_server import S3Server, deploy_s3_integrator

from conftest import BUILD, ROOT

Profile = create_global_resource("kubeflow.org", "v1", "Profile", "profiles")
Notebook = create_namespaced_resource("kubeflow.org", "v1", "Notebook", "notebooks")
SparkApplication = create_namespaced_resource(
    "sparkoperator.k8s.io", "v1beta2", "SparkApplication", "sparkapplications"
)
SeldonDeployment = create_namespaced_resource(
    "machinelearning.seldon.io", "v1", "SeldonDeployment", "seldondeployments"
)
PROFILE = "platform-it"
# The packed charms bundle.yaml deploys from build/.
OURS = sorted(
    Path(app["charm"]).stem
    for app in yaml.safe_load((ROOT / "bundle.yaml").read_text())["applications"].values()
    if str(app["charm"]).startswith("./build/")
)
# Charmed Kubeflow's charms expect their model to be called kubeflow (bundle.yaml).
MODEL = "kubeflow"


@pytest.fixture(scope="module")
def juju(controller: None) -> Iterator[jubilant.Juju]:
    """This module's model is `kubeflow`, not a temporary name."""
    yield from module_model(MODEL)


@pytest.fixture(scope="module")
def platform(juju: jubilant.Juju) -> jubilant.Juju:
    missing = [c for c in OURS if not (BUILD / f"{c}.charm").exists()]
    if missing:
        pytest.fail(f"pack first (./dev tox -e pack): {missing} not in build/")
    deploy_bundle(juju, ROOT / "bundle.yaml", [ROOT / "overlays" / "local.yaml"])
    juju.config(
        "dex-auth", {"static-username": "admin@example.com", "static-password": "it-admin-9"}
    )
    juju.wait(jubilant.all_active, timeout=90 * 60, delay=30)
    return juju


@pytest.fixture(scope="module")
def profile(platform: jubilant.Juju, kube: Client) -> str:
    profile: Any = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "Profile",
        "metadata": {"name": PROFILE},
        "spec": {"owner": {"kind": "User", "name": "admin@example.com"}},
    }
    kube.apply(Profile(profile), field_manager="it")
    wait_for(lambda: get_or_none(kube, Namespace, PROFILE), "the profile namespace", 300)
    namespace = kube.get(Namespace, PROFILE)
    labels = (namespace.metadata.labels if namespace.metadata else None) or {}
    if "user.kubeflow.org/enabled" not in labels:  # resource-dispatcher's selector
        kube.patch(
            Namespace, PROFILE, {"metadata": {"labels": {"user.kubeflow.org/enabled": "true"}}}
        )
    return PROFILE


def test_every_application_is_active(platform: jubilant.Juju):
    status = platform.status()
    not_active = {
        n: a.app_status.current for n, a in status.apps.items() if a.app_status.current != "active"
    }
    assert not not_active


def test_dex_login_page_answers_through_the_gateway(platform: jubilant.Juju, kube: Client):
    browser = Browser(ingress_url(platform, kube))
    url, page = browser.get("/dex/.well-known/openid-configuration")
    assert json.loads(page)["issuer"].endswith("/dex"), url
    url, page = wait_for(lambda: _redirected_to_dex(browser), "the login redirect", 600)
    assert "/dex/auth" in url


def test_intel_notebook_starts_with_the_optimizations(
    profile: str, kube: Client, platform: jubilant.Juju
):
    images = yaml.safe_load(str(platform.config("intel-notebooks")["images"]))
    notebook: Any = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "Notebook",
        "metadata": {
            "name": "intel-it",
            "namespace": profile,
            "labels": {"intel-optimizations": "true"},
        },
        "spec": {
            "template": {
                "metadata": {"labels": {"intel-optimizations": "true"}},
                "spec": {
                    "containers": [
                        {
                            "name": "intel-it",
                            "image": images[0],
                            "resources": {"limits": {"cpu": "2", "memory": "4Gi"}},
                        }
                    ]
                },
            }
        },
    }
    kube.apply(Notebook(notebook), field_manager="it")

    def ready_pod():
        for pod in kube.list(Pod, namespace=profile, labels={"notebook-name": "intel-it"}):
            statuses = (pod.status.containerStatuses if pod.status else None) or []
            if statuses and all(s.ready for s in statuses):
                return pod
        return None

    pod = wait_for(ready_pod, "the Intel notebook to be ready", 30 * 60, every=15)
    container = next(c for c in pod.spec.containers if c.name == "intel-it")
    env = {e.name for e in container.env or []}
    assert {"OMP_NUM_THREADS", "ONEDNN_MAX_CPU_ISA", "KMP_BLOCKTIME"} <= env


def test_spark_application_completes(profile: str, kube: Client, tmp_path):
    sys.path.insert(0, str(ROOT / "examples" / "spark"))
    from sample_data import sales_rows, write_sales_csv

    csv = write_sales_csv(tmp_path / "sales.csv", sales_rows(n_weeks=26, seed=3))
    job = (ROOT / "examples" / "spark" / "sales_aggregation.py").read_text()
    kube.apply(
        ConfigMap(
            metadata={"name": "weekly-product-summary", "namespace": profile},  # type: ignore[arg-type]
            data={"sales_aggregation.py": job, "sales.csv": csv.read_text()},
        ),
        field_manager="it",
    )
    app = yaml.safe_load((ROOT / "examples" / "spark" / "sparkapplication.yaml").read_text())
    app["metadata"]["namespace"] = profile
    kube.apply(SparkApplication(app), field_manager="it")

    def finished():
        obj = kube.get(SparkApplication, app["metadata"]["name"], namespace=profile)
        state = ((obj.get("status") or {}).get("applicationState") or {}).get("state")
        return state if state in ("COMPLETED", "FAILED", "SUBMISSION_FAILED") else None

    assert wait_for(finished, "the SparkApplication to finish", 30 * 60, every=15) == "COMPLETED"


def test_seldon_deployment_answers_a_prediction(
    profile: str, kube: Client, platform: jubilant.Juju
):
    example = ROOT / "charms" / "kubeflow-seldon-core" / "examples" / "sklearn-iris.yaml"
    sdep = yaml.safe_load(example.read_text())
    sdep["metadata"]["namespace"] = profile
    kube.apply(SeldonDeployment(sdep), field_manager="it")

    def available():
        obj = kube.get(SeldonDeployment, sdep["metadata"]["name"], namespace=profile)
        return (obj.get("status") or {}).get("state") == "Available"

    wait_for(available, "the SeldonDeployment to be Available", 20 * 60, every=15)
    url = f"http://iris-default.{profile}.svc.cluster.local:8000/api/v1.0/predictions"
    reply = _post_from_the_cluster(platform, url, {"data": {"ndarray": [[1, 2, 3, 4]]}})
    assert reply["data"]["names"] == ["t:0", "t:1", "t:2"]


def test_backup_of_the_profile_succeeds(platform: jubilant.Juju, profile: str):
    """kubeflow-backup writes to the in-model MinIO through s3-integrator."""
    if "kubeflow-backup" not in platform.status().apps:
        add_backup(platform)
    task = platform.run(
        "kubeflow-backup/0", "create-backup", {"namespaces": profile}, wait=30 * 60
    )
    assert task.success, task.message
    listed = platform.run("kubeflow-backup/0", "list-backups", {"format": "json"}, wait=600)
    backups = json.loads(listed.results["backups"])
    assert task.results["backup-id"] in [b["id"] for b in backups if b.get("state") == "done"]


def add_backup(juju: jubilant.Juju) -> None:
    """kubeflow-backup and s3-integrator, given the keys of the model's MinIO."""
    minio = {"access-key": "minio", "secret-key": "platform-it-minio-3"}
    juju.config("minio", minio)
    server = S3Server(
        f"http://minio.{juju.model}.svc.cluster.local:9000",
        minio["access-key"],
        minio["secret-key"],
    )
    juju.deploy(str(BUILD / "kubeflow-backup.charm"), "kubeflow-backup", trust=True)
    deploy_s3_integrator(juju, "backup-s3", server, bucket="kubeflow-backups")
    juju.integrate("kubeflow-backup:s3-credentials", "backup-s3")
    juju.wait(jubilant.all_active, timeout=20 * 60)


def _redirected_to_dex(browser: Browser):
    url, page = browser.get("/")
    return (url, page) if "/dex/auth" in url else None


def _post_from_the_cluster(juju: jubilant.Juju, url: str, body: dict) -> dict:
    """POST from inside the cluster (the seldon-core unit's charm container has Python)."""
    code = (
        "import json, sys, urllib.request; "
        f"r = urllib.request.Request({url!r}, data=sys.argv[1].encode(), "
        "headers={'Content-Type': 'application/json'}); "
        "print(urllib.request.urlopen(r, timeout=30).read().decode())"
    )
    for _ in range(10):
        try:
            out = juju.ssh(
                "seldon-core/0", "python3", "-c", shlex.quote(code), shlex.quote(json.dumps(body))
            )
            return json.loads(out)
        except (jubilant.CLIError, subprocess.CalledProcessError, ValueError):
            time.sleep(15)
    pytest.fail(f"no answer from {url}")
