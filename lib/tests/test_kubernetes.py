from pathlib import Path

import jinja2
import pytest
from lightkube.core.exceptions import httpx as lk_httpx  # pyright: ignore[reportPrivateImportUsage]

from dsplib import kubernetes as k8s
from dsplib.testing import FakeKubernetes, custom_resource_definition

TEMPLATES = Path(__file__).parent / "templates"
CONTEXT = {"name": "demo", "namespace": "ns", "greeting": "hi: there"}


def rendered() -> list[dict]:
    return k8s.render(TEMPLATES, CONTEXT)


def engine(kube: FakeKubernetes) -> k8s.KubernetesObjects:
    return k8s.KubernetesObjects("demo", "ns", client=kube)  # type: ignore[arg-type]


def test_render_skips_empty_documents_and_quotes_values():
    objects = rendered()
    assert [o["kind"] for o in objects] == ["ConfigMap", "ClusterRole", "CustomResourceDefinition"]
    assert objects[0]["data"]["greeting"] == "hi: there"


def test_render_refuses_undefined_variables():
    with pytest.raises(jinja2.UndefinedError):
        k8s.render(TEMPLATES, {"name": "demo"})


def test_render_rejects_documents_that_are_not_objects(tmp_path: Path):
    (tmp_path / "bad.yaml.j2").write_text("kind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(k8s.ManifestError, match="not a Kubernetes object"):
        k8s.render(tmp_path, {})
    (tmp_path / "bad.yaml.j2").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
    with pytest.raises(k8s.ManifestError, match=r"without metadata\.name"):
        k8s.render(tmp_path, {})


def test_digest_ignores_order_but_not_content():
    a, b, c = rendered()
    assert k8s.digest([a, b, c]) == k8s.digest([c, a, b])
    b2 = {**b, "rules": []}
    assert k8s.digest([a, b2, c]) != k8s.digest([a, b, c])


@pytest.mark.parametrize(
    ("kind", "plural"),
    [
        ("PodDefault", "poddefaults"),
        ("Policy", "policies"),
        ("Gateway", "gateways"),
        ("Ingress", "ingresses"),
        ("Mesh", "meshes"),
    ],
)
def test_plural_of(kind: str, plural: str):
    assert k8s.plural_of(kind) == plural


def test_apply_labels_every_object_and_applies_dependencies_first(kube: FakeKubernetes):
    inventory = engine(kube).apply(rendered(), None)
    applied = [c for c in kube.calls if c[0] == "apply"]
    assert applied == [
        ("apply", "CustomResourceDefinition/widgets.example.com"),
        ("apply", "ClusterRole/demo"),
        ("apply", "ConfigMap/ns/demo-config"),
    ]
    for obj in kube.objects.values():
        assert obj["metadata"]["labels"][k8s.CREATED_BY_LABEL] == "demo"
        assert obj["metadata"]["labels"][k8s.MODEL_LABEL] == "ns"
    assert len(inventory.refs) == 3


def test_unchanged_objects_cause_no_api_call(kube: FakeKubernetes):
    first = engine(kube).apply(rendered(), None)
    kube.reset_calls()
    second = engine(kube).apply(rendered(), first)
    assert kube.calls == []
    assert second == first


def test_force_checks_the_cluster_and_writes_nothing_when_it_holds_the_objects(kube):
    first = engine(kube).apply(rendered(), None)
    kube.reset_calls()
    second = engine(kube).apply(rendered(), first, force=True)
    assert kube.writes == []
    assert second == first


def test_force_reapplies_objects_deleted_or_changed_behind_our_back(kube: FakeKubernetes):
    first = engine(kube).apply(rendered(), None)
    kube.objects.pop(("rbac.authorization.k8s.io/v1", "ClusterRole", None, "demo"))
    config = kube.get_object("ConfigMap", "demo-config", "ns")
    config["metadata"]["annotations"][k8s.DIGEST_ANNOTATION] = "an older revision"
    kube.reset_calls()
    engine(kube).apply(rendered(), first, force=True)
    assert sorted(kube.writes) == [
        ("apply", "ClusterRole/demo"),
        ("apply", "ConfigMap/ns/demo-config"),
    ]


def test_without_inventory_unchanged_objects_are_not_written_again(kube: FakeKubernetes):
    # A Kubernetes charm loses its state with its container on every refresh.
    engine(kube).apply(rendered(), None)
    kube.reset_calls()
    engine(kube).apply(rendered(), None)
    assert kube.writes == []
    assert {verb for verb, _ in kube.calls} == {"list"}


def test_every_object_carries_the_hash_of_its_content(kube: FakeKubernetes):
    engine(kube).apply(rendered(), None)
    config = kube.get_object("ConfigMap", "demo-config", "ns")
    stamped = config["metadata"]["annotations"][k8s.DIGEST_ANNOTATION]
    del config["metadata"]["annotations"]
    assert stamped == k8s.digest([config])
    changed = k8s.render(TEMPLATES, {**CONTEXT, "greeting": "other"})
    engine(kube).apply(changed, None)
    config = kube.get_object("ConfigMap", "demo-config", "ns")
    assert config["metadata"]["annotations"][k8s.DIGEST_ANNOTATION] != stamped


def test_a_whole_kind_no_longer_rendered_is_pruned_without_inventory(kube: FakeKubernetes):
    engine(kube).apply(rendered(), None)
    without_role = [o for o in rendered() if o["kind"] != "ClusterRole"]
    engine(kube).apply(without_role, None)
    assert kube.find("ClusterRole", "demo") is None


def test_objects_labelled_by_juju_itself_are_never_pruned(kube: FakeKubernetes):
    # Juju labels an application's own objects app.juju.is/created-by=<app> as well, with
    # model.juju.is/name for the model (e.g. the ClusterRole `juju trust` makes).
    juju_role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": "ns-demo",
            "labels": {k8s.CREATED_BY_LABEL: "demo", "model.juju.is/name": "ns"},
        },
    }
    kube.add(juju_role)
    engine(kube).apply([o for o in rendered() if o["kind"] == "ConfigMap"], None)
    assert kube.find("ClusterRole", "ns-demo") is not None


def test_a_crd_no_longer_rendered_is_kept_while_users_have_objects_of_it(kube: FakeKubernetes):
    first = engine(kube).apply(rendered(), None)
    kube.add(
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "users-widget", "namespace": "user"},
        }
    )
    without_crd = [o for o in rendered() if o["kind"] != "CustomResourceDefinition"]
    second = engine(kube).apply(without_crd, first)
    assert kube.find("CustomResourceDefinition", "widgets.example.com") is not None
    assert kube.find("Widget", "users-widget", "user") is not None
    kube.objects.pop(("example.com/v1", "Widget", "user", "users-widget"))
    engine(kube).apply(without_crd, second, force=True)
    assert kube.find("CustomResourceDefinition", "widgets.example.com") is None


def test_objects_no_longer_rendered_are_pruned(kube: FakeKubernetes):
    first = engine(kube).apply(rendered(), None)
    kube.reset_calls()
    without_role = [o for o in rendered() if o["kind"] != "ClusterRole"]
    second = engine(kube).apply(without_role, first)
    assert ("delete", "ClusterRole/demo") in kube.writes
    assert kube.find("ClusterRole", "demo") is None
    assert len(second.refs) == 2


def test_without_inventory_labelled_leftovers_are_pruned(kube: FakeKubernetes):
    engine(kube).apply(rendered(), None)
    kube.objects[("v1", "ConfigMap", "ns", "foreign")] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "foreign", "namespace": "ns"},
    }
    renamed = k8s.render(TEMPLATES, {**CONTEXT, "name": "other"})
    engine(kube).apply(renamed, None)
    assert kube.find("ConfigMap", "demo-config") is None  # ours, stale: pruned
    assert kube.find("ConfigMap", "foreign") is not None  # not ours: untouched
    assert kube.find("ConfigMap", "other-config") is not None


def test_missing_reports_objects_deleted_behind_our_back(kube: FakeKubernetes):
    inventory = engine(kube).apply(rendered(), None)
    assert engine(kube).missing(inventory) == []
    kube.objects.pop(("rbac.authorization.k8s.io/v1", "ClusterRole", None, "demo"))
    gone = engine(kube).missing(inventory)
    assert [str(r) for r in gone] == ["ClusterRole demo"]


def test_remove_deletes_everything_and_keeps_crds_in_use(kube: FakeKubernetes):
    inventory = engine(kube).apply(rendered(), None)
    kube.objects[("example.com/v1", "Widget", "user", "w1")] = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": "user"},
    }
    engine(kube).remove(inventory)
    assert kube.find("ConfigMap", "demo-config") is None
    assert kube.find("ClusterRole", "demo") is None
    assert kube.find("CustomResourceDefinition", "widgets.example.com") is not None

    del kube.objects[("example.com/v1", "Widget", "user", "w1")]
    engine(kube).remove(inventory)
    assert kube.find("CustomResourceDefinition", "widgets.example.com") is None


def test_remove_without_inventory_finds_objects_by_label(kube: FakeKubernetes):
    objects = rendered()
    engine(kube).apply(objects, None)
    engine(kube).remove(None, kinds=k8s.iter_kinds(objects))
    assert kube.objects == {}


def test_remove_tolerates_objects_already_gone(kube: FakeKubernetes):
    inventory = engine(kube).apply(rendered(), None)
    kube.objects.clear()
    engine(kube).remove(inventory)
    assert kube.objects == {}


def test_generic_kinds_are_addressed_by_their_crd_plural(kube: FakeKubernetes):
    objects = [
        *rendered(),
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "namespace": "ns"},
            "spec": {"size": 1},
        },
    ]
    engine(kube).apply(objects, None)
    assert kube.get_object("Widget", "w", "ns")["spec"] == {"size": 1}


def test_forbidden_becomes_trust_error(kube: FakeKubernetes):
    kube.fail(403, verb="apply")
    with pytest.raises(k8s.TrustError) as info:
        engine(kube).apply(rendered(), None)
    assert str(info.value) == "run: juju trust demo --scope=cluster"


@pytest.mark.parametrize("code", [409, 429, 500, 503, 404])
def test_conflicts_and_server_errors_are_transient(kube: FakeKubernetes, code: int):
    kube.fail(code, verb="apply")
    with pytest.raises(k8s.TransientError, match=str(code)):
        engine(kube).apply(rendered(), None)


def test_timeouts_are_transient(kube: FakeKubernetes):
    kube.fail(error=lk_httpx.ConnectTimeout("timed out"), verb="apply")
    with pytest.raises(k8s.TransientError, match="unreachable"):
        engine(kube).apply(rendered(), None)


@pytest.mark.parametrize("code", [400, 422])
def test_an_invalid_object_is_rejected_not_a_hook_error(kube: FakeKubernetes, code: int):
    """A config value can make an object the API refuses: the charm must say so, not crash."""
    kube.fail(code, verb="apply")
    with pytest.raises(k8s.RejectedError, match=f"Kubernetes API {code}"):
        engine(kube).apply(rendered(), None)


@pytest.mark.parametrize("code", [401, 410, 502])
def test_other_answers_of_the_way_to_the_api_are_transient(kube: FakeKubernetes, code: int):
    kube.fail(code, verb="apply")
    with pytest.raises(k8s.TransientError, match=str(code)):
        engine(kube).apply(rendered(), None)


def test_inventory_round_trip_and_corrupt_state():
    inventory = k8s.Inventory("abc", frozenset({k8s.ObjectRef("v1", "ConfigMap", "x", "ns")}))
    assert k8s.Inventory.loads(inventory.dumps()) == inventory
    assert k8s.Inventory.loads("") is None
    assert k8s.Inventory.loads("{not json") is None
    assert k8s.Inventory.loads('{"digest": "x"}') is None


def test_read_and_read_all_return_dicts_and_none_when_absent(kube: FakeKubernetes):
    engine(kube).apply(rendered(), None)
    role = engine(kube).read(k8s.ObjectRef("rbac.authorization.k8s.io/v1", "ClusterRole", "demo"))
    assert role is not None
    assert role["rules"][0]["resources"] == ["configmaps"]
    assert engine(kube).read(k8s.ObjectRef("v1", "ConfigMap", "nope", "ns")) is None
    maps = engine(kube).read_all("v1", "ConfigMap", labels={k8s.CREATED_BY_LABEL: "demo"})
    assert [m["metadata"]["name"] for m in maps] == ["demo-config"]
    assert engine(kube).read_all("v1", "ConfigMap", namespace="other") == []


def test_read_maps_api_errors(kube: FakeKubernetes):
    kube.fail(403, verb="list")
    with pytest.raises(k8s.TrustError):
        engine(kube).read_all("v1", "Node")


def _notebook(name: str = "nb", namespace: str = "alice") -> dict:
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "Notebook",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"spec": {"containers": []}}},
    }


def test_discover_finds_builtin_kinds_and_installed_crds_only(kube: FakeKubernetes):
    kube.add(
        custom_resource_definition("kubeflow.org", "Notebook", ["v1beta1", "v1"], storage="v1"),
        custom_resource_definition("kubeflow.org", "Profile", namespaced=False),
        custom_resource_definition("example.com", "Widget", ["v1"], plural="widgetz"),
    )
    kube.objects[next(k for k in kube.objects if k[3] == "widgetz.example.com")]["spec"][
        "versions"
    ][0]["served"] = False
    found = engine(kube).discover(
        [
            ("", "ConfigMap"),
            ("rbac.authorization.k8s.io", "RoleBinding"),
            ("kubeflow.org", "Notebook"),
            ("kubeflow.org", "Profile"),
            ("machinelearning.seldon.io", "SeldonDeployment"),  # CRD not installed
            ("example.com", "Widget"),  # installed, no version served
        ]
    )
    assert list(found) == [
        ("", "ConfigMap"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("kubeflow.org", "Notebook"),
        ("kubeflow.org", "Profile"),
    ]
    assert found[("", "ConfigMap")] == k8s.ApiKind("", "v1", "ConfigMap", "configmaps", True)
    assert found[("kubeflow.org", "Notebook")].api_version == "kubeflow.org/v1"
    assert found[("kubeflow.org", "Profile")].namespaced is False
    assert found[("rbac.authorization.k8s.io", "RoleBinding")].plural == "rolebindings"


def test_discover_without_custom_kinds_makes_no_call(kube: FakeKubernetes):
    engine(kube).discover([("", "PersistentVolumeClaim"), ("", "Secret")])
    assert kube.calls == []


def test_discovered_kinds_are_addressed_by_their_scope(kube: FakeKubernetes):
    kube.add(custom_resource_definition("kubeflow.org", "Profile", namespaced=False))
    objects = engine(kube)
    objects.discover([("kubeflow.org", "Profile")])
    profile = {"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "alice"}}
    assert objects.create(profile) is True
    assert kube.find("Profile", "alice") is not None
    assert ("kubeflow.org/v1", "Profile", None, "alice") in kube.objects
    assert [p["metadata"]["name"] for p in objects.read_all("kubeflow.org/v1", "Profile")] == [
        "alice"
    ]


def test_create_keeps_objects_as_given_and_reports_existing_ones(kube: FakeKubernetes):
    objects = engine(kube)
    assert objects.create(_notebook()) is True
    stored = kube.get_object("Notebook", "nb", "alice")
    assert "labels" not in stored["metadata"]  # restored user objects are not ours to prune
    assert objects.create(_notebook()) is False
    assert [c[0] for c in kube.calls] == ["create", "create"]


def test_create_sorts_api_failures(kube: FakeKubernetes):
    kube.fail(422, verb="create", times=1)
    with pytest.raises(k8s.RejectedError, match="Error"):
        engine(kube).create(_notebook())
    kube.fail(404, verb="create", times=1)
    with pytest.raises(k8s.NotFoundError):
        engine(kube).create(_notebook())
    kube.fail(403, verb="create", times=1)
    with pytest.raises(k8s.TrustError):
        engine(kube).create(_notebook())
    kube.fail(503, verb="create", times=1)
    with pytest.raises(k8s.TransientError, match="503"):
        engine(kube).create(_notebook())


def test_overwrite_applies_without_labels(kube: FakeKubernetes):
    objects = engine(kube)
    objects.create(_notebook())
    changed = _notebook()
    changed["spec"]["template"]["spec"]["containers"] = [{"name": "nb", "image": "x"}]
    objects.overwrite(changed)
    stored = kube.get_object("Notebook", "nb", "alice")
    assert stored["spec"]["template"]["spec"]["containers"][0]["image"] == "x"
    assert "labels" not in stored["metadata"]
    kube.fail(400, verb="apply", times=1)
    with pytest.raises(k8s.RejectedError):
        objects.overwrite(changed)


def test_delete_says_whether_the_object_was_there(kube: FakeKubernetes):
    objects = engine(kube)
    objects.create(_notebook())
    ref = k8s.ObjectRef("kubeflow.org/v1", "Notebook", "nb", "alice")
    assert objects.delete(ref) is True
    assert objects.delete(ref) is False
    assert kube.objects == {}


def test_fake_reactions_play_the_part_of_controllers(kube: FakeKubernetes):
    def make_namespace(fake: FakeKubernetes, profile: dict) -> None:
        name = profile["metadata"]["name"]
        fake.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    kube.react("Profile", make_namespace)
    kube.add(custom_resource_definition("kubeflow.org", "Profile", namespaced=False))
    objects = engine(kube)
    objects.discover([("kubeflow.org", "Profile")])
    objects.create({"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "b"}})
    assert objects.read(k8s.ObjectRef("v1", "Namespace", "b")) is not None


def test_a_missing_namespace_is_undefined_not_jinjas_namespace_class(tmp_path: Path):
    template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
    (tmp_path / "cm.yaml.j2").write_text(template + "  namespace: {{ namespace | to_json }}\n")
    with pytest.raises(jinja2.UndefinedError, match="namespace"):
        k8s.render(tmp_path, {})
