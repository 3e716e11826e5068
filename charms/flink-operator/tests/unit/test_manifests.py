"""Rendered objects are valid Kubernetes objects; Flink resources and PodDefaults fit CRDs."""

import base64

import jsonschema
import pytest

import flink
from dsplib.testing import validate_manifests
from render import (
    NAMES,
    cluster_objects,
    example_deployment,
    poddefault_crd,
    profile_objects,
    rendered_manifests,
    s3_connection,
)


def crds():
    return [o for o in cluster_objects() if o["kind"] == "CustomResourceDefinition"]


def test_every_rendered_object_validates_against_kubernetes_and_crd_schemas():
    validate_manifests(rendered_manifests(), [poddefault_crd()])


def test_every_crd_serves_one_version_with_a_status_subresource_and_state_columns():
    for crd in crds():
        [version] = crd["spec"]["versions"]
        assert version["served"] and version["storage"]
        assert version["subresources"]["status"] == {}
        assert version["additionalPrinterColumns"]


def _objects_without_preservation(schema, path="spec"):
    """Paths of object schemas with properties that would prune fields they do not list."""
    found = []
    if schema.get("type") == "object" and schema.get("properties"):
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            found.append(path)
        for name, sub in schema["properties"].items():
            found += _objects_without_preservation(sub, f"{path}.{name}")
    return found


def test_crd_specs_preserve_what_they_do_not_type():
    for crd in crds():
        schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        assert _objects_without_preservation(schema) == [], crd["metadata"]["name"]


def test_the_documented_flink_deployment_validates_against_the_crd():
    validate_manifests([example_deployment()], crds())


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("flinkVersion",), "v2_9"),
        (("job", "upgradeMode"), "last-savepoint"),
        (("job", "state"), "paused"),
        (("jobManager", "replicas"), "two"),
        (("restartNonce",), "again"),
    ],
)
def test_the_crd_rejects_what_the_operator_would_reject(path, value):
    deployment = example_deployment()
    target = deployment["spec"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        validate_manifests([deployment], crds())


def test_the_rendered_example_holds_no_key():
    text = str(example_deployment())
    assert s3_connection().secret_key not in text
    assert "'value': 'ACCESS'" not in text
    assert "secretKeyRef" in text


def test_poddefault_uses_only_fields_of_the_poddefault_crd():
    schema = poddefault_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    allowed = set(schema["properties"]["spec"]["properties"])
    for with_s3 in (True, False):
        pod_default = next(
            o for o in profile_objects(with_s3=with_s3) if o["kind"] == "PodDefault"
        )
        assert set(pod_default["spec"]) <= allowed


def test_the_s3_secret_has_the_keys_the_template_and_poddefault_read():
    secret = flink.s3_secret(NAMES, s3_connection())
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", *flink.S3_ENV_KEYS} <= set(data)
    assert data["FLINK_CHECKPOINTS_DIR"] == "s3://flink/team/flink/checkpoints"
    assert data["FLINK_SAVEPOINTS_DIR"] == "s3://flink/team/flink/savepoints"
    assert data["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    plain = flink.s3_secret(NAMES, s3_connection(tls_ca="", path="", path_style=False))
    data = {k: base64.b64decode(v).decode() for k, v in plain["data"].items()}
    assert "ca.crt" not in data
    assert data["S3_PATH_STYLE_ACCESS"] == "false"
    assert data["FLINK_CHECKPOINTS_DIR"] == "s3://flink/flink/checkpoints"


def test_rbac_has_no_wildcards():
    for obj in rendered_manifests():
        for rule in obj.get("rules", []):
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(key, []), f"{obj['metadata']['name']}: {rule}"


def test_the_operator_cannot_touch_leases_outside_its_namespace():
    for obj in cluster_objects():
        if obj["kind"] == "ClusterRole":
            groups = {g for rule in obj["rules"] for g in rule["apiGroups"]}
            assert "coordination.k8s.io" not in groups


def test_webhook_configurations_carry_the_ca_bundle():
    for obj in cluster_objects():
        if obj["kind"].endswith("WebhookConfiguration"):
            for webhook in obj["webhooks"]:
                ca = base64.b64decode(webhook["clientConfig"]["caBundle"]).decode()
                assert ca.startswith("-----BEGIN CERTIFICATE-----")
