"""kubeflow-backup on a real cluster: back up a namespace, lose it, restore it."""

from __future__ import annotations

import base64
import json
import time

import jubilant
import pytest
from lightkube import Client
from lightkube.core.exceptions import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Namespace, Secret, ServiceAccount
from s3_server import deploy_s3_integrator, s3_server

from conftest import packed

APP = "kubeflow-backup"
S3_APP = "backup-s3"
NAMESPACE = "backup-it"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def deployed(juju: jubilant.Juju) -> jubilant.Juju:
    server = s3_server(juju)
    deploy_s3_integrator(juju, S3_APP, server, bucket="kubeflow-backups-it", path="it")
    juju.deploy(packed(APP), APP, trust=True, config={"retention": 2})
    juju.integrate(f"{APP}:s3-credentials", f"{S3_APP}:s3-credentials")
    juju.wait(lambda status: jubilant.all_active(status, APP), timeout=15 * 60)
    return juju


@pytest.fixture(scope="module")
def user_namespace(kube: Client) -> str:
    """A namespace with a user's objects, as a profile would hold them."""
    objects = [
        Namespace(metadata=ObjectMeta(name=NAMESPACE, labels={"team": "it"})),
        ConfigMap(
            metadata=ObjectMeta(name="settings", namespace=NAMESPACE), data={"region": "emea"}
        ),
        ServiceAccount(metadata=ObjectMeta(name="ci-bot", namespace=NAMESPACE)),
        Secret(
            metadata=ObjectMeta(name="db-password", namespace=NAMESPACE),
            data={"pw": base64.b64encode(PASSWORD.encode()).decode()},
        ),
    ]
    for obj in objects:
        kube.apply(obj, field_manager="it")
    return NAMESPACE


def test_backup_delete_namespace_restore(deployed: jubilant.Juju, kube: Client, user_namespace):
    task = deployed.run(
        f"{APP}/leader",
        "create-backup",
        {"namespaces": user_namespace, "include-secrets": True, "description": "it"},
        wait=600,
    )
    backup_id = task.results["backup-id"]
    assert int(task.results["objects"]) == 4  # Namespace, ConfigMap, ServiceAccount, Secret
    assert PASSWORD not in json.dumps(task.results)
    status = deployed.status().apps[APP].app_status
    assert status.current == "active"
    assert backup_id in status.message

    listing = deployed.run(f"{APP}/0", "list-backups", {"format": "json"})
    assert backup_id in [row["id"] for row in json.loads(listing.results["backups"])]
    verified = deployed.run(f"{APP}/0", "verify-backup", {"backup-id": backup_id})
    assert verified.results["ok"] == "true"

    kube.delete(Namespace, user_namespace)
    _wait_gone(kube, user_namespace)

    restored = deployed.run(f"{APP}/leader", "restore", {"backup-id": backup_id}, wait=900)
    assert restored.results["failed"] == "0"
    assert restored.results["created"] == "4"
    settings = kube.get(ConfigMap, "settings", namespace=user_namespace)
    assert settings.data == {"region": "emea"}
    secret = kube.get(Secret, "db-password", namespace=user_namespace)
    assert secret.data and base64.b64decode(secret.data["pw"]).decode() == PASSWORD

    again = deployed.run(f"{APP}/leader", "restore", {"backup-id": backup_id}, wait=900)
    assert again.results["skipped"] == "4"


def test_retention_and_delete(deployed: jubilant.Juju, user_namespace):
    ids = [
        deployed.run(
            f"{APP}/leader", "create-backup", {"namespaces": user_namespace}, wait=600
        ).results["backup-id"]
        for _ in range(3)
    ]
    listing = deployed.run(f"{APP}/0", "list-backups", {"format": "json"})
    listed = [row["id"] for row in json.loads(listing.results["backups"])]
    assert listed == [ids[2], ids[1]]  # retention 2, newest first
    for backup_id in listed:
        deployed.run(f"{APP}/leader", "delete-backup", {"backup-id": backup_id})
    listing = deployed.run(f"{APP}/0", "list-backups")
    assert listing.results["count"] == "0"


def test_a_failed_backup_blocks_until_a_good_one(deployed: jubilant.Juju):
    with pytest.raises(jubilant.TaskError) as info:
        deployed.run(f"{APP}/leader", "create-backup", {"namespaces": "no-such-namespace"})
    assert "namespace no-such-namespace does not exist" in info.value.task.message
    deployed.wait(lambda status: jubilant.all_blocked(status, APP))
    deployed.run(f"{APP}/leader", "create-backup", {"namespaces": NAMESPACE}, wait=600)
    deployed.wait(lambda status: jubilant.all_active(status, APP))


def _wait_gone(kube: Client, name: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            kube.get(Namespace, name)
        except ApiError as err:
            if err.status.code == 404:
                return
            raise
        time.sleep(3)
    pytest.fail(f"namespace {name} was not deleted in {timeout}s")
