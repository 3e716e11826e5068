"""What is saved, how it is cleaned, and the order and waiting of restore (fake cluster)."""

import pytest

import cluster
from conftest import empty_cluster, generated_objects, pvc, user_objects
from dsplib.kubernetes import KubernetesObjects
from dsplib.testing import FakeKubernetes


def engine(fake: FakeKubernetes) -> KubernetesObjects:
    return KubernetesObjects("kubeflow-backup", "kubeflow", client=fake)  # type: ignore[arg-type]


def test_generated_objects_are_not_saved_and_user_objects_are():
    in_profiles = [
        o
        for o in generated_objects()
        if o["kind"] != "Namespace" and o["metadata"]["namespace"] != "kube-system"
    ]
    assert in_profiles
    assert not any(cluster.is_saved(o) for o in in_profiles)
    assert all(cluster.is_saved(o) for o in user_objects())


def test_strip_removes_what_the_cluster_fills_in():
    claim = cluster.strip(pvc("data", "alice", bound=True))
    assert set(claim["metadata"]) == {"name", "namespace", "annotations"}
    assert claim["metadata"]["annotations"] == {"team": "forecasting"}
    assert "volumeName" not in claim["spec"]
    assert "status" not in claim
    account = cluster.strip(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "a", "labels": {}},
            "secrets": [{"name": "a-token"}],
        }
    )
    assert account == {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}}


def test_collect_skips_kinds_the_cluster_does_not_serve():
    fake = empty_cluster()
    fake.add(*user_objects(), *generated_objects())
    lines: list[str] = []
    found = cluster.Cluster(engine(fake)).collect(["alice", "bob"], False, lines.append)
    assert {o["kind"] for o in found.objects} == {
        "Profile",
        "Notebook",
        "PodDefault",
        "PersistentVolumeClaim",
        "ConfigMap",
        "ServiceAccount",
        "RoleBinding",
        "AuthorizationPolicy",
        "SeldonDeployment",
        "SparkApplication",
    }
    assert "InferenceService.serving.kserve.io" in found.skipped_kinds
    assert "Secret" not in {o["kind"] for o in found.objects}
    assert found.bound_pvcs == [("alice", "lab-workspace")]
    assert lines[-1].startswith("read namespace bob: ")


def test_a_cluster_without_kubeflow_has_no_profiles():
    fake = FakeKubernetes()
    assert cluster.Cluster(engine(fake)).profile_namespaces() == []


def _objects_in_restore_order(fake: FakeKubernetes) -> list[str]:
    return [name for verb, name in fake.calls if verb == "create"]


def test_restore_goes_profiles_then_volumes_then_the_rest():
    source = empty_cluster()
    source.add(*user_objects())
    found = cluster.Cluster(engine(source)).collect(["alice", "bob"], False, lambda _: None)
    target = empty_cluster()
    report = cluster.Cluster(engine(target)).restore(
        list(reversed(found.objects)), cluster.RestoreOptions(), lambda _: None
    )
    assert report.created == len(found.objects)
    created = [c.split("/")[0] for c in _objects_in_restore_order(target)]
    assert created[:2] == ["Profile", "Profile"]
    assert created[2:4] == ["PersistentVolumeClaim", "PersistentVolumeClaim"]
    assert (
        created.index("ServiceAccount") < created.index("RoleBinding") < created.index("Notebook")
    )


def test_restore_waits_until_the_profile_controller_made_the_namespace():
    fake = empty_cluster()
    fake._reactions.clear()
    ticks: list[float] = []

    def sleep(seconds: float) -> None:
        ticks.append(seconds)
        if len(ticks) == 3:  # the controller is slow: the namespace comes on the third wait
            fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bob"}})

    clock = iter(range(1000))
    restorer = cluster.Cluster(engine(fake), sleep=sleep, clock=lambda: float(next(clock)))
    objects = [cluster.strip(o) for o in user_objects() if o["metadata"].get("namespace") == "bob"]
    lines: list[str] = []
    report = restorer.restore(objects, cluster.RestoreOptions(), lines.append)
    assert report.failed == 0
    assert report.created == len(objects)
    assert ticks == [cluster.WAIT_STEP] * 3
    assert lines.count("waiting for namespaces: bob") == 3


def test_restore_counts_kinds_the_cluster_does_not_serve_as_failed():
    fake = FakeKubernetes()
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bob"}})
    notebook = cluster.strip(next(o for o in user_objects() if o["kind"] == "Notebook"))
    notebook["metadata"]["namespace"] = "bob"
    report = cluster.Cluster(engine(fake)).restore([notebook], cluster.RestoreOptions(), print)
    assert report.failed == 1
    assert report.failures == [
        "Notebook bob/lab: the cluster does not serve kubeflow.org/v1 Notebook"
    ]


def test_objects_the_api_refuses_are_counted_and_the_rest_goes_on():
    fake = empty_cluster()
    fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bob"}})
    objects = [cluster.strip(o) for o in user_objects() if o["metadata"].get("namespace") == "bob"]
    fake.fail(422, verb="create", kind="Notebook", times=1)
    report = cluster.Cluster(engine(fake)).restore(objects, cluster.RestoreOptions(), print)
    assert report.failed == 1
    assert report.created == len(objects) - 1
    assert report.failures[0].startswith("Notebook bob/bob-nb: ")


def test_forbidden_stops_the_restore():
    fake = empty_cluster()
    fake.fail(403, verb="create")
    objects = [cluster.strip(o) for o in user_objects()[:1]]
    with pytest.raises(Exception, match="juju trust"):
        cluster.Cluster(engine(fake)).restore(objects, cluster.RestoreOptions(), print)
