"""Rendered objects are valid Kubernetes objects and grant Dex no more than its storage needs."""

from dsplib.testing import validate_manifests
from render import rendered_manifests

# Resources of Dex 2.41's Kubernetes storage (storage/kubernetes/types.go).
DEX_RESOURCES = {
    "authcodes",
    "authrequests",
    "oauth2clients",
    "signingkeies",
    "refreshtokens",
    "passwords",
    "offlinesessionses",
    "connectors",
    "devicerequests",
    "devicetokens",
}


def test_every_rendered_object_validates_against_kubernetes_schemas():
    validate_manifests(rendered_manifests())


def test_rbac_has_no_wildcards():
    for obj in rendered_manifests():
        for rule in obj.get("rules", []):
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(key, []), f"{obj['metadata']['name']}: {rule}"


def test_storage_role_covers_every_dex_resource_in_its_namespace_only():
    objects = {(o["kind"], o["metadata"]["name"]): o for o in rendered_manifests()}
    role = objects[("Role", "dex-auth-storage")]
    assert role["metadata"]["namespace"] == "kubeflow"
    [rule] = role["rules"]
    assert rule["apiGroups"] == ["dex.coreos.com"]
    assert set(rule["resources"]) == DEX_RESOURCES
    cluster = [o for o in rendered_manifests() if o["kind"] == "ClusterRole"]
    assert [r["resources"] for c in cluster for r in c["rules"]] == [["customresourcedefinitions"]]
