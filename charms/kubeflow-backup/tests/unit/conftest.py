import copy
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml
from ops import testing

from charm import KubeflowBackupCharm
from dsplib.manifests import KubernetesManifests
from dsplib.testing import FakeKubernetes, custom_resource_definition
from pytest_ceph_rgw import RGWEndpoint

# The real Ceph RADOS Gateway (ceph_rgw, ceph_rgw_https, ceph_cluster): see tests/ceph/README.md.
pytest_plugins = ["dsplib.testing", "dsplib.fuzz", "pytest_ceph_rgw", "pytest_tinyproxy"]

MODEL = testing.Model(name="kubeflow")
CHARMCRAFT = yaml.safe_load(Path("charmcraft.yaml").read_text())
CONFIG_DEFAULTS = {
    k: v["default"] for k, v in CHARMCRAFT["config"]["options"].items() if "default" in v
}
REPO = Path(__file__).resolve().parents[4]
SNAPSHOT_CRD = yaml.safe_load(
    (REPO / "tests/crds/volumesnapshots.snapshot.storage.k8s.io.yaml").read_text()
)

# What this cluster has installed: no KServe, Katib, Argo, KFP or scheduled Spark.
CRDS = [
    custom_resource_definition("kubeflow.org", "Profile", namespaced=False),
    custom_resource_definition("kubeflow.org", "Notebook", ["v1beta1", "v1"], storage="v1"),
    custom_resource_definition("kubeflow.org", "PodDefault", ["v1alpha1"]),
    custom_resource_definition(
        "security.istio.io", "AuthorizationPolicy", ["v1beta1", "v1"], storage="v1"
    ),
    custom_resource_definition("machinelearning.seldon.io", "SeldonDeployment"),
    custom_resource_definition("sparkoperator.k8s.io", "SparkApplication", ["v1beta2"]),
    custom_resource_definition("snapshot.storage.k8s.io", "VolumeSnapshot"),
    custom_resource_definition(
        "snapshot.storage.k8s.io",
        "VolumeSnapshotClass",
        namespaced=False,
        plural="volumesnapshotclasses",
    ),
]
SNAPSHOT_CLASS = {
    "apiVersion": "snapshot.storage.k8s.io/v1",
    "kind": "VolumeSnapshotClass",
    "metadata": {"name": "ceph-rbd-snapshots"},
    "driver": "rbd.csi.ceph.com",
    "deletionPolicy": "Retain",
}
SECRET_VALUE = "c3VwZXItc2VjcmV0LXBhc3N3b3Jk"  # base64 of a password that must never leak


def generated(**extra: Any) -> dict[str, Any]:
    """Metadata the API server adds to every object."""
    return {
        "uid": secrets.token_hex(8),
        "resourceVersion": "4711",
        "creationTimestamp": "2026-01-10T08:00:00Z",
        "generation": 3,
        "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
        **extra,
    }


def obj(api_version: str, kind: str, name: str, namespace: str | None = None, **body: Any):
    meta: dict[str, Any] = {"name": name, **generated()}
    if namespace:
        meta["namespace"] = namespace
    meta.update(body.pop("metadata", {}))
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **body}


def profile(name: str) -> dict:
    return obj(
        "kubeflow.org/v1",
        "Profile",
        name,
        metadata={"finalizers": ["profile-finalizer"]},
        spec={"owner": {"kind": "User", "name": f"{name}@example.com"}},
        status={"conditions": [{"type": "Ready"}]},
    )


def namespace(name: str, labels: dict | None = None) -> dict:
    return obj(
        "v1",
        "Namespace",
        name,
        metadata={"labels": labels or {"kubernetes.io/metadata.name": name}},
        spec={"finalizers": ["kubernetes"]},
        status={"phase": "Active"},
    )


def pvc(name: str, ns: str, bound: bool) -> dict:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "10Gi"}},
        "storageClassName": "ceph-rbd",
    }
    if bound:
        spec["volumeName"] = f"pvc-{secrets.token_hex(4)}"
    return obj(
        "v1",
        "PersistentVolumeClaim",
        name,
        ns,
        metadata={
            "annotations": {
                "pv.kubernetes.io/bind-completed": "yes",
                "volume.kubernetes.io/storage-provisioner": "rbd.csi.ceph.com",
                "team": "forecasting",
            },
            "finalizers": ["kubernetes.io/pvc-protection"],
        },
        spec=spec,
        status={"phase": "Bound" if bound else "Pending"},
    )


def user_objects() -> list[dict]:
    """What two data scientists made; the stripped form of these is what a backup keeps."""
    return [
        profile("alice"),
        profile("bob"),
        obj(
            "kubeflow.org/v1",
            "Notebook",
            "lab",
            "alice",
            spec={"template": {"spec": {"containers": [{"name": "lab", "image": "jupyter"}]}}},
            status={"readyReplicas": 1},
        ),
        obj(
            "kubeflow.org/v1alpha1",
            "PodDefault",
            "access-ml-pipeline",
            "alice",
            spec={"desc": "Allow access to Kubeflow Pipelines", "selector": {}},
        ),
        pvc("lab-workspace", "alice", bound=True),
        obj("v1", "ConfigMap", "settings", "alice", data={"region": "emea"}),
        obj("v1", "ServiceAccount", "ci-bot", "alice", secrets=[{"name": "ci-bot-token"}]),
        obj(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            "user-bob-example-com-clusterrole-edit",
            "alice",
            metadata={"annotations": {"role": "edit", "user": "bob@example.com"}},
            roleRef={
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "kubeflow-edit",
            },
            subjects=[
                {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "User",
                    "name": "bob@example.com",
                }
            ],
        ),
        obj(
            "security.istio.io/v1",
            "AuthorizationPolicy",
            "user-bob-example-com-clusterrole-edit",
            "alice",
            metadata={"annotations": {"role": "edit", "user": "bob@example.com"}},
            spec={
                "rules": [
                    {"when": [{"key": "request.headers[kubeflow-userid]", "values": ["bob"]}]}
                ]
            },
        ),
        obj(
            "machinelearning.seldon.io/v1",
            "SeldonDeployment",
            "iris",
            "alice",
            spec={"predictors": [{"name": "default", "graph": {"name": "clf"}}]},
        ),
        obj("kubeflow.org/v1", "Notebook", "bob-nb", "bob", spec={"template": {"spec": {}}}),
        pvc("bob-data", "bob", bound=False),
        obj(
            "sparkoperator.k8s.io/v1beta2",
            "SparkApplication",
            "etl",
            "bob",
            spec={"type": "Python", "mode": "cluster"},
        ),
    ]


def user_secret() -> dict:
    return obj("v1", "Secret", "db-password", "alice", type="Opaque", data={"pw": SECRET_VALUE})


def generated_objects() -> list[dict]:
    """What Kubernetes, controllers and charms make in profile namespaces: never saved."""
    owner = [{"apiVersion": "v1", "kind": "Namespace", "name": "alice", "uid": "x"}]
    return [
        namespace("alice", {"app.kubernetes.io/part-of": "kubeflow-profile"}),
        namespace("bob", {"app.kubernetes.io/part-of": "kubeflow-profile"}),
        obj("v1", "ConfigMap", "kube-root-ca.crt", "alice", data={"ca.crt": "PEM"}),
        obj("v1", "ServiceAccount", "default-editor", "alice"),
        obj("v1", "ServiceAccount", "default", "bob"),
        obj(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            "namespaceAdmin",
            "alice",
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "x"},
        ),
        obj("v1", "ConfigMap", "dispatched", "alice", metadata={"ownerReferences": owner}),
        obj("security.istio.io/v1", "AuthorizationPolicy", "ns-owner-access-istio", "alice"),
        obj(
            "v1",
            "Secret",
            "seldon-rclone-secret",
            "alice",
            metadata={"labels": {"app.juju.is/created-by": "seldon-core"}},
            data={"x": "eA=="},
        ),
        obj(
            "v1",
            "Secret",
            "ci-bot-token",
            "alice",
            type="kubernetes.io/service-account-token",
            data={"token": "dG9rZW4="},
        ),
        obj("v1", "ConfigMap", "elsewhere", "kube-system", data={}),
    ]


def make_namespaces(fake: FakeKubernetes, created: dict) -> None:
    """The profile controller: a Profile makes its namespace."""
    name = created["metadata"]["name"]
    fake.add(namespace(name, {"app.kubernetes.io/part-of": "kubeflow-profile"}))


def empty_cluster() -> FakeKubernetes:
    """A cluster with the same CRDs, a profile controller and nobody's objects."""
    fake = FakeKubernetes()
    fake.add(*copy.deepcopy(CRDS), SNAPSHOT_CLASS)
    fake.react("Profile", make_namespaces)
    return fake


@pytest.fixture
def kube(monkeypatch: pytest.MonkeyPatch) -> FakeKubernetes:
    fake = empty_cluster()
    fake.add(*user_objects(), user_secret(), *generated_objects())
    monkeypatch.setattr(KubernetesManifests, "client_factory", staticmethod(lambda app: fake))
    return fake


@pytest.fixture
def use_cluster(monkeypatch: pytest.MonkeyPatch):
    """Point the charm at another fake cluster."""

    def use(fake: FakeKubernetes) -> FakeKubernetes:
        monkeypatch.setattr(KubernetesManifests, "client_factory", staticmethod(lambda app: fake))
        return fake

    return use


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(KubeflowBackupCharm, app_name="kubeflow-backup")


@pytest.fixture
def bucket() -> str:
    return f"backups-{secrets.token_hex(4)}"


def s3_relation(rgw: RGWEndpoint, bucket: str, **overrides: str) -> testing.Relation:
    data = {
        "access-key": rgw.access_key,
        "secret-key": rgw.secret_key,
        "bucket": bucket,
        "endpoint": rgw.endpoint,
        "path": "platform",
        **overrides,
    }
    return testing.Relation("s3-credentials", remote_app_name="backup-s3", remote_app_data=data)
