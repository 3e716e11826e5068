"""examples/flink/flinkdeployment.yaml agrees with the FlinkDeployment CRD, the image and the job.

The CRD (apache/flink-kubernetes-operator helm/flink-kubernetes-operator/crds/
flinkdeployments.flink.apache.org-v1.yml, 544 KB) is not vendored here: SPEC below is the part
of its schema this manifest uses, with the field names of FlinkDeploymentSpec, JobSpec and
JobManagerSpec/TaskManagerSpec (docs/content/docs/custom-resource/reference.md, release-1.15),
closed so that a misspelt field fails as the operator's validation would reject it.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

import weekly_demand

EXAMPLE = Path(__file__).resolve().parent.parent
MANIFEST = yaml.safe_load((EXAMPLE / "flinkdeployment.yaml").read_text())
DOCKERFILE = (EXAMPLE / "Dockerfile").read_text()

RESOURCE = {
    "type": "object",
    "properties": {
        "cpu": {"type": "number"},
        "memory": {"type": "string"},
        "ephemeralStorage": {"type": "string"},
    },
    "additionalProperties": False,
}
SPEC = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "flink.apache.org/v1beta1"},
        "kind": {"const": "FlinkDeployment"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["image", "flinkVersion", "serviceAccount", "job"],
            "additionalProperties": False,
            "properties": {
                "image": {"type": "string"},
                "imagePullPolicy": {"type": "string"},
                "flinkVersion": {"enum": ["v1_19", "v1_20", "v2_0", "v2_1", "v2_2", "v2_3"]},
                "serviceAccount": {"type": "string"},
                "flinkConfiguration": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                },
                "podTemplate": {"type": "object"},
                "logConfiguration": {"type": "object"},
                "mode": {"enum": ["native", "standalone"]},
                "restartNonce": {"type": "integer"},
                "ingress": {"type": "object"},
                "jobManager": {
                    "type": "object",
                    "properties": {"resource": RESOURCE, "replicas": {"type": "integer"}},
                    "additionalProperties": False,
                },
                "taskManager": {
                    "type": "object",
                    "properties": {"resource": RESOURCE, "replicas": {"type": "integer"}},
                    "additionalProperties": False,
                },
                "job": {
                    "type": "object",
                    "required": ["jarURI"],
                    "additionalProperties": False,
                    "properties": {
                        "jarURI": {"type": "string"},
                        "entryClass": {"type": "string"},
                        "args": {"type": "array", "items": {"type": "string"}},
                        "parallelism": {"type": "integer"},
                        "state": {"enum": ["running", "suspended"]},
                        "upgradeMode": {"enum": ["stateless", "savepoint", "last-state"]},
                        "initialSavepointPath": {"type": "string"},
                        "allowNonRestoredState": {"type": "boolean"},
                        "savepointTriggerNonce": {"type": "integer"},
                        "checkpointTriggerNonce": {"type": "integer"},
                    },
                },
            },
        },
    },
}


def image_version() -> str:
    match = re.search(r"^FROM flink:(\d+\.\d+\.\d+)", DOCKERFILE, re.MULTILINE)
    assert match, "the job image starts from an official flink:<x.y.z> image"
    return match.group(1)


def main_container(manifest=MANIFEST) -> dict:
    (container,) = [
        c
        for c in manifest["spec"]["podTemplate"]["spec"]["containers"]
        if c["name"] == "flink-main-container"
    ]
    return container


def test_the_manifest_fits_the_schema():
    jsonschema.validate(MANIFEST, SPEC)


@pytest.mark.parametrize(
    "path",
    [("spec", "jobmanager"), ("spec", "job", "upgrade_mode"), ("spec", "job", "jarUri")],
)
def test_a_misspelt_field_fails_the_schema(path):
    broken = copy.deepcopy(MANIFEST)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "x"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SPEC)


def test_image_flink_version_plugin_and_python_driver_agree():
    version = image_version()
    major_minor = "v" + "_".join(version.split(".")[:2])
    spec = MANIFEST["spec"]
    assert spec["flinkVersion"] == major_minor
    assert spec["image"].endswith(f":{version}")
    assert spec["job"]["jarURI"] == f"local:///opt/flink/opt/flink-python-{version}.jar"
    assert spec["job"]["entryClass"] == "org.apache.flink.client.python.PythonDriver"
    assert f'"apache-flink=={version}"' in DOCKERFILE, "PyFlink must be the cluster's version"
    env = {e["name"]: e for e in main_container()["env"]}
    # docker-entrypoint.sh of the official image links /opt/flink/opt/<jar> into plugins/
    assert env["ENABLE_BUILT_IN_PLUGINS"]["value"] == f"flink-s3-fs-hadoop-{version}.jar"
    assert re.search(r"flink-sql-connector-kafka-\$\{KAFKA_CONNECTOR\}\.jar", DOCKERFILE)
    assert re.search(
        r"KAFKA_CONNECTOR=\d+\.\d+\.\d+-" + re.escape(version.rsplit(".", 1)[0]), DOCKERFILE
    )


def test_the_job_script_is_where_the_image_puts_it_and_its_arguments_parse():
    args = MANIFEST["spec"]["job"]["args"]
    script = args[args.index("-py") + 1]
    assert f"COPY --chown=flink:flink weekly_demand.py {script}" in DOCKERFILE
    job_args = args[args.index("-py") + 2 :]
    parsed = weekly_demand.parse(job_args)
    assert parsed.source == "kafka" and parsed.output.startswith("s3://")


def test_checkpoints_and_savepoints_go_to_rgw_with_keys_only_from_the_secret():
    conf = MANIFEST["spec"]["flinkConfiguration"]
    assert conf["execution.checkpointing.dir"].startswith("s3://")
    assert conf["execution.checkpointing.savepoint-dir"].startswith("s3://")
    assert conf["s3.path.style.access"] == "true"
    assert not {"s3.access-key", "s3.secret-key", "s3.access.key", "s3.secret.key"} & set(conf)
    env = {e["name"]: e for e in main_container()["env"]}
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert "value" not in env[key], "keys come from the Secret, never the manifest"
        assert env[key]["valueFrom"]["secretKeyRef"]["key"] == key
    assert MANIFEST["spec"]["job"]["upgradeMode"] == "savepoint"


def test_no_istio_sidecar_and_the_kafka_poddefault_is_selected():
    labels = MANIFEST["spec"]["podTemplate"]["metadata"]["labels"]
    assert labels["sidecar.istio.io/inject"] == "false"
    assert labels["access-kafka"] == "true"
    searches = MANIFEST["spec"]["podTemplate"]["spec"]["dnsConfig"]["searches"]
    assert searches == ["kubeflow.svc.cluster.local"]
