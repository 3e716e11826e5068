"""Rendered objects are valid Kubernetes objects; documented SeldonDeployments fit our CRD."""

import pytest

from dsplib.testing import validate_manifests
from render import example_resources, rendered_manifests


def test_every_rendered_object_validates_against_kubernetes_schemas():
    validate_manifests(rendered_manifests())


def test_documented_seldon_deployments_validate_against_the_crd():
    crds = [o for o in rendered_manifests() if o["kind"] == "CustomResourceDefinition"]
    examples = example_resources()
    assert len(examples) == 2
    validate_manifests(examples, crds)


def test_crd_rejects_a_deployment_without_predictors():
    import jsonschema

    crds = [o for o in rendered_manifests() if o["kind"] == "CustomResourceDefinition"]
    bad = {
        "apiVersion": "machinelearning.seldon.io/v1",
        "kind": "SeldonDeployment",
        "metadata": {"name": "x"},
        "spec": {"name": "x"},
    }
    with pytest.raises(jsonschema.ValidationError, match="predictors"):
        validate_manifests([bad], crds)


def test_rbac_has_no_wildcards():
    for obj in rendered_manifests():
        for rule in obj.get("rules", []):
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(key, []), f"{obj['metadata']['name']}: {rule}"
