"""The pipeline and the SeldonDeployment on the real platform (`-m integration`).

Needs: DSP_KFP_HOST (Kubeflow Pipelines API; DSP_KFP_NAMESPACE, DSP_KFP_TOKEN as needed) and
DSP_DRESS_IMAGE (pipeline image) for the pipeline; kubectl with access to DSP_NAMESPACE,
DSP_DRESS_SERVING_IMAGE, DSP_DRESS_MODEL_URI (published models) and DSP_SELDON_GATEWAY (the
Istio ingress URL) for serving.
"""

import base64
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml

from dress_classification import data, pipeline

pytestmark = pytest.mark.integration
EXAMPLE = Path(__file__).resolve().parent.parent


def settings(*names):
    values = {name: os.environ.get(name, "") for name in names}
    missing = [name for name, value in values.items() if not value]
    if missing:
        reason = f"set {', '.join(missing)} to test on the platform"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return values


def test_pipeline_succeeds_on_kubeflow(tmp_path):
    env = settings("DSP_KFP_HOST", "DSP_DRESS_IMAGE")
    import kfp

    client = kfp.Client(
        host=env["DSP_KFP_HOST"],
        namespace=os.environ.get("DSP_KFP_NAMESPACE", "kubeflow-user-example-com"),
        existing_token=os.environ.get("DSP_KFP_TOKEN"),
    )
    package = tmp_path / "dress.yaml"
    pipeline.compile_pipeline(str(package), image=env["DSP_DRESS_IMAGE"])
    run = client.create_run_from_pipeline_package(
        str(package),
        arguments={"n_train": 512, "n_test": 128, "length_epochs": 3, "color_epochs": 3},
        run_name="dress-classification-integration",
        enable_caching=False,
    )
    assert run.run_id
    result = client.wait_for_run_completion(run.run_id, timeout=3600)
    assert result.state == "SUCCEEDED", result.error


def test_seldondeployment_answers_through_the_gateway(tmp_path):
    env = settings(
        "DSP_NAMESPACE", "DSP_DRESS_SERVING_IMAGE", "DSP_DRESS_MODEL_URI", "DSP_SELDON_GATEWAY"
    )
    (sdep,) = yaml.safe_load_all((EXAMPLE / "deploy" / "seldondeployment.yaml").read_text())
    predictor = sdep["spec"]["predictors"][0]
    predictor["componentSpecs"][0]["spec"]["containers"][0]["image"] = env[
        "DSP_DRESS_SERVING_IMAGE"
    ]
    predictor["graph"]["parameters"][0]["value"] = env["DSP_DRESS_MODEL_URI"]
    manifest = tmp_path / "sdep.yaml"
    manifest.write_text(yaml.safe_dump(sdep))
    kubectl = ["kubectl", "-n", env["DSP_NAMESPACE"]]
    subprocess.run([*kubectl, "apply", "-f", str(manifest)], check=True)
    try:
        deadline = time.monotonic() + 900
        state = ""
        while state != "Available" and time.monotonic() < deadline:
            time.sleep(10)
            state = subprocess.run(
                [*kubectl, "get", "sdep", "dress-classifier", "-o", "jsonpath={.status.state}"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
        assert state == "Available"
        png = data.to_png(data.render_dress(3, 2, 160, np.random.default_rng(0)))
        url = (
            f"{env['DSP_SELDON_GATEWAY'].rstrip('/')}/seldon/{env['DSP_NAMESPACE']}"
            "/dress-classifier/api/v1.0/predictions"
        )
        request = urllib.request.Request(
            url,
            data=json.dumps({"binData": base64.b64encode(png).decode()}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            (prediction,) = json.load(answer)["jsonData"]["predictions"]
        assert prediction["length"]["label"] in data.LENGTHS
        assert prediction["color"]["label"] in data.COLOR_NAMES
    finally:
        subprocess.run([*kubectl, "delete", "-f", str(manifest)], check=False)
