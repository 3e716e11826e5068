"""The whole pipeline, run locally with kfp.local, and its compiled form for the platform."""

import io
from typing import Any

import pandas as pd
import pytest
import yaml

from price_optimization import pipeline
from price_optimization.data import generate_sales, product_catalog, true_optimal_prices

from .test_model import PRICE_TOLERANCE

STEPS = {"ingest", "features", "train-model", "evaluate", "optimize", "report"}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("kfp")
    task = pipeline.run_locally(str(root), n_products=6, n_weeks=156, seed=11)
    (run_dir,) = root.glob("price-optimization-*")
    return task, run_dir


def test_local_run_recommends_the_true_optimal_prices(local_run):
    task, _ = local_run
    prices = pd.read_csv(task.outputs["Output"].path, dtype={"product": str})
    truth = true_optimal_prices(product_catalog(6, 11), "margin")
    error = (prices.set_index("product")["optimal_price"] - truth).abs() / truth
    assert len(prices) == 6
    assert error.max() < PRICE_TOLERANCE, error.to_dict()


def test_local_run_logs_forecast_metrics(local_run):
    _, run_dir = local_run
    output = (run_dir / "evaluate" / "executor_output.json").read_text()
    metrics = yaml.safe_load(output)["artifacts"]["metrics"]["artifacts"][0]["metadata"]
    assert set(metrics) >= {"mae", "rmse", "wape", "r2"}
    assert metrics["r2"] > 0.9


def test_local_run_writes_a_report_with_every_product(local_run):
    _, run_dir = local_run
    page = (run_dir / "report" / "report").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "data:image/png;base64," in page
    for product in product_catalog(6, 11)["product"]:
        assert f"<td>{product}</td>" in page


def test_compiled_pipeline_runs_every_step_in_the_image_without_installing(tmp_path):
    path = tmp_path / "pipeline.yaml"
    pipeline.compile_pipeline(str(path), image="registry.local/price-optimization:1")
    spec = yaml.safe_load(path.read_text())
    executors = spec["deploymentSpec"]["executors"]
    assert {e.removeprefix("exec-") for e in executors} == STEPS
    for executor in executors.values():
        container = executor["container"]
        assert container["image"] == "registry.local/price-optimization:1"
        assert "pip install" not in " ".join(container["command"] + container.get("args", []))
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks) == STEPS
    assert tasks["report"]["dependentTasks"] == ["evaluate", "optimize"]
    assert spec["root"]["inputDefinitions"]["parameters"]["objective"]["defaultValue"] == "margin"


def test_compiled_pipeline_gives_ingest_the_s3_secret(tmp_path):
    path = tmp_path / "pipeline.yaml"
    pipeline.compile_pipeline(str(path), image="img:1", s3_secret="sales-s3")
    documents = list(yaml.safe_load_all(path.read_text()))
    platform = documents[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    (secret,) = platform["exec-ingest"]["secretAsEnv"]
    assert secret["secretName"] == "sales-s3"
    assert {m["envVar"] for m in secret["keyToEnv"]} == {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ENDPOINT_URL",
    }
    assert "sales-s3" not in documents[0]["deploymentSpec"]["executors"]["exec-ingest"][
        "container"
    ].get("env", [])


def test_command_line_compiles(tmp_path):
    out = tmp_path / "p.yaml"
    assert pipeline.main(["compile", "--image", "img:2", "--output", str(out)]) == 0
    assert "img:2" in out.read_text()


def test_ingest_reads_sales_from_ceph_rgw(bucket, tmp_path):
    """The S3 path of the ingest step, as a KFP component run, against a real RGW."""
    import boto3
    from kfp import dsl, local

    sales = generate_sales(2, 10, seed=5)
    boto3.client("s3").put_object(
        Bucket=bucket, Key="sales/2024.csv", Body=sales.to_csv(index=False).encode()
    )
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))
    component: Any = dsl.component(
        pipeline.ingest, base_image=pipeline.LOCAL_IMAGE, install_kfp_package=False
    )
    task = component(source=f"s3://{bucket}/sales/2024.csv", n_products=0, n_weeks=0, seed=0)
    read = pd.read_csv(task.outputs["sales"].path)
    pd.testing.assert_frame_equal(read, pd.read_csv(io.StringIO(sales.to_csv(index=False))))
