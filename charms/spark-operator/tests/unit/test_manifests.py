"""Rendered objects are valid Kubernetes objects; Spark resources and PodDefaults fit CRDs."""

import jsonschema
import pytest

from dsplib.testing import validate_manifests
from render import (
    cluster_objects,
    example_resources,
    poddefault_crd,
    profile_objects,
    rendered_manifests,
)


def crds():
    return [o for o in cluster_objects() if o["kind"] == "CustomResourceDefinition"]


def test_every_rendered_object_validates_against_kubernetes_and_crd_schemas():
    validate_manifests(rendered_manifests(), [poddefault_crd()])


def test_the_three_crds_have_the_upstream_names_and_versions():
    found = {o["metadata"]["name"]: o["spec"]["versions"] for o in crds()}
    assert {name: [v["name"] for v in versions] for name, versions in found.items()} == {
        "sparkapplications.sparkoperator.k8s.io": ["v1beta2"],
        "scheduledsparkapplications.sparkoperator.k8s.io": ["v1beta2"],
        "sparkconnects.sparkoperator.k8s.io": ["v1alpha1"],
    }
    for versions in found.values():
        assert versions[0]["subresources"] == {"status": {}}


def _objects_without_preservation(schema, path="spec"):
    """Paths of object schemas with properties that would prune fields they do not list."""
    found = []
    if schema.get("type") == "object" and schema.get("properties"):
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            found.append(path)
        for name, sub in schema["properties"].items():
            found += _objects_without_preservation(sub, f"{path}.{name}")
    if schema.get("type") == "array":
        found += _objects_without_preservation(schema["items"], f"{path}[]")
    return found


def test_crd_specs_preserve_what_they_do_not_type():
    for crd in crds():
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        pruning = _objects_without_preservation(schema)
        # `secrets` items are closed upstream types ({name, path, secretType}): nothing to keep.
        assert [p for p in pruning if not p.endswith(".secrets[]")] == [], crd["metadata"]["name"]


def test_documented_spark_applications_validate_against_the_crd():
    examples = example_resources()
    assert {e["kind"] for e in examples} == {"SparkApplication"}
    validate_manifests(examples, crds())


@pytest.mark.parametrize("missing", ["type", "sparkVersion", "mainApplicationFile", "driver"])
def test_crd_rejects_an_application_without_a_required_field(missing):
    app = example_resources()[0]
    del app["spec"][missing]
    with pytest.raises(jsonschema.ValidationError, match=missing):
        validate_manifests([app], crds())


def test_crd_rejects_an_unknown_application_type():
    app = example_resources()[0]
    app["spec"]["type"] = "Go"
    with pytest.raises(jsonschema.ValidationError, match="Go"):
        validate_manifests([app], crds())


def test_poddefault_uses_only_fields_of_the_poddefault_crd():
    schema = poddefault_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    allowed = set(schema["properties"]["spec"]["properties"])
    for with_s3 in (True, False):
        pod_default = next(
            o for o in profile_objects(with_s3=with_s3) if o["kind"] == "PodDefault"
        )
        assert set(pod_default["spec"]) <= allowed


def test_poddefault_crd_rejects_a_poddefault_without_selector():
    pod_default = next(o for o in profile_objects() if o["kind"] == "PodDefault")
    del pod_default["spec"]["selector"]
    with pytest.raises(jsonschema.ValidationError, match="selector"):
        validate_manifests([pod_default], [poddefault_crd()])


def test_rbac_has_no_wildcards():
    for obj in rendered_manifests():
        for rule in obj.get("rules", []):
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(key, []), f"{obj['metadata']['name']}: {rule}"


def test_webhook_configurations_carry_no_ca_bundle():
    for obj in cluster_objects():
        if obj["kind"].endswith("WebhookConfiguration"):
            for webhook in obj["webhooks"]:
                assert "caBundle" not in webhook["clientConfig"]
