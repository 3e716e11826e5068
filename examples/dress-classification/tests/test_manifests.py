"""The platform manifests agree with the code they deploy."""

import importlib
import re
from pathlib import Path

import yaml

EXAMPLE = Path(__file__).resolve().parent.parent


def load(name):
    return list(yaml.safe_load_all((EXAMPLE / "deploy" / name).read_text()))


def test_seldondeployment_serves_our_model_class_from_s3():
    (sdep,) = load("seldondeployment.yaml")
    assert sdep["apiVersion"] == "machinelearning.seldon.io/v1"
    assert sdep["kind"] == "SeldonDeployment"
    (predictor,) = sdep["spec"]["predictors"]
    graph = predictor["graph"]
    (container,) = predictor["componentSpecs"][0]["spec"]["containers"]
    assert container["name"] == graph["name"], "Seldon matches graph nodes to containers by name"
    assert graph["type"] == "MODEL"
    parameters = {p["name"]: p for p in graph["parameters"]}
    assert parameters["model_uri"]["value"].startswith("s3://")
    assert container["envFrom"][0]["secretRef"]["name"]
    assert "serving" in container["image"]


def test_serving_image_runs_the_class_that_exists():
    dockerfile = (EXAMPLE / "serving" / "Dockerfile").read_text()
    match = re.search(r'"seldon-core-microservice", "([\w.]+)"', dockerfile)
    assert match, "the serving image does not run seldon-core-microservice"
    interface = match.group(1)
    module, name = interface.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    assert callable(cls.predict) and callable(cls.load)
    assert "COPY serving/requirements.txt" in dockerfile


def test_webapp_talks_to_the_seldon_service_of_the_deployment():
    (sdep,) = load("seldondeployment.yaml")
    deployment, service = load("webapp.yaml")
    service_name = f"{sdep['metadata']['name']}-{sdep['spec']['predictors'][0]['name']}"
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    url = next(a for a in container["command"] if a.startswith("--model-url="))
    assert url == f"--model-url=http://{service_name}:8000/api/v1.0/predictions"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
