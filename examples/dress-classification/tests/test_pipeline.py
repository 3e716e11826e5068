"""The training pipeline, run locally with kfp.local, and its compiled form for the platform."""

import json
import os
from typing import Any

import numpy as np
import pytest
import yaml

from dress_classification import data, pipeline

STEPS = {"load-images", "train-classifier", "evaluate-classifier", "export-models"}
# The test run is smaller than the default local run (length >= 0.97, color >= 0.99, see the
# README); on its own held-out images it must come close. The same run (tests/conftest.py)
# with seeds 1, 2, 3 and 4 gave length 0.992, 0.995, 0.990, 0.990 and color 0.990, 0.990,
# 0.997, 0.995 (python -m dress_classification.pipeline run --n-train 1536 --n-test 384
# --length-epochs 14 --color-epochs 8 --seed N). The seed fixes the images and the initial
# weights but not the rounding: training is not bit-exact across CPUs (AMX or not, thread
# timing), and before the learning-rate warm-up that alone moved length between 0.85 and 0.97
# for one seed. The bars sit two points (eight images) below the lowest of the four.
MIN_ACCURACY = {"length": 0.97, "color": 0.97}


def executor_output(run_dir, task):
    return json.loads((run_dir / task / "executor_output.json").read_text())["artifacts"]


@pytest.mark.parametrize(
    ("task", "step"), [("length", "evaluate-classifier"), ("color", "evaluate-classifier-2")]
)
def test_both_models_are_accurate_and_choose_a_threshold(
    pipeline_run, pipeline_arguments, task, step
):
    _, run_dir = pipeline_run
    outputs = executor_output(run_dir, step)
    metrics = outputs["metrics"]["artifacts"][0]["metadata"]
    print(f"{task} accuracy on held-out images: {metrics[f'{task}_accuracy']:.3f}")
    assert metrics[f"{task}_accuracy"] >= MIN_ACCURACY[task]
    assert metrics[f"{task}_chance"] == pytest.approx(1 / (4 if task == "length" else 8))
    # the threshold keeps most dresses confident; the non-dresses below it are the page's
    # verdict over both tasks (test_the_page_is_unsure_of_most_non_dresses)
    assert 1 / (4 if task == "length" else 8) < metrics[f"{task}_threshold"] < 1
    print(f"{task} non-dresses below its threshold: {metrics[f'{task}_not_dresses_below']:.3f}")
    matrix = outputs["confusion"]["artifacts"][0]["metadata"]["confusionMatrix"]
    counts = np.array([row["row"] for row in matrix["rows"]])
    assert counts.sum() == pipeline_arguments["n_test"]
    assert np.trace(counts) / counts.sum() == pytest.approx(metrics[f"{task}_accuracy"])


def test_the_page_is_unsure_of_most_non_dresses(exported_model, pipeline_arguments):
    """Most generated non-dress pictures get the page's "not sure".

    The page is not sure when either task is below its threshold; the pictures are the
    evaluate step's set (pipeline seed + 200).
    """
    import tensorflow as tf

    labels = json.loads((exported_model / "labels.json").read_text())
    outliers = data.make_outliers(96, labels["image_size"], seed=pipeline_arguments["seed"] + 200)
    unsure = np.zeros(len(outliers), dtype=bool)
    for task in ("length", "color"):
        served = tf.saved_model.load(str(exported_model / task))
        unsure |= served.serve(outliers).numpy().max(axis=1) < labels["thresholds"][task]
    print(f"non-dresses the page is not sure of: {unsure.mean():.3f}")
    assert unsure.mean() >= 0.75


def test_export_holds_savedmodels_labels_and_confusion_matrices(exported_model):
    labels = json.loads((exported_model / "labels.json").read_text())
    assert labels["length"] == list(data.LENGTHS)
    assert labels["color"] == list(data.COLOR_NAMES)
    assert labels["image_size"] == 64
    for task in ("length", "color"):
        assert (exported_model / task / "saved_model.pb").is_file()
        assert 0 < labels["thresholds"][task] < 1
        page = (exported_model / f"confusion-{task}.html").read_text()
        assert f"Dress {task}: confusion matrix" in page
        assert all(f"<th>{name}</th>" in page for name in labels[task])


def test_the_run_ends_saying_where_the_results_are(exported_model):
    line = pipeline.summary(exported_model)
    assert f"results in {exported_model}" in line
    assert "confusion-length.html" in line and "length accuracy 0." in line


def test_compiled_pipeline_runs_every_step_in_the_image_without_installing(tmp_path):
    path = tmp_path / "pipeline.yaml"
    pipeline.compile_pipeline(str(path), image="registry.local/dress:1", s3_secret="images-s3")
    documents = list(yaml.safe_load_all(path.read_text()))
    spec = documents[0]
    executors = spec["deploymentSpec"]["executors"]
    assert {e.removeprefix("exec-").rstrip("-2") for e in executors} == STEPS
    for executor in executors.values():
        container = executor["container"]
        assert container["image"] == "registry.local/dress:1"
        assert "pip install" not in " ".join(container["command"] + container.get("args", []))
    tasks = spec["root"]["dag"]["tasks"]
    assert len(tasks) == 6
    assert set(tasks["export-models"]["dependentTasks"]) == {
        "train-classifier",
        "train-classifier-2",
        "evaluate-classifier",
        "evaluate-classifier-2",
    }
    secrets = documents[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert set(secrets) == {"exec-load-images", "exec-export-models"}
    for executor in secrets.values():
        assert executor["secretAsEnv"][0]["secretName"] == "images-s3"


def test_command_line_compiles(tmp_path):
    out = tmp_path / "p.yaml"
    assert pipeline.main(["compile", "--image", "img:3", "--output", str(out)]) == 0
    assert "img:3" in out.read_text()


def test_images_are_read_from_ceph_rgw(bucket, tmp_path, monkeypatch):
    """The S3 source of load_images, run as a KFP component against a real RGW."""
    from kfp import dsl, local

    images, lengths, colors = data.make_dataset(20, 32, seed=8)
    data.write_labelled_images(images, lengths, colors, tmp_path / "set")
    from dress_classification.storage import upload_directory

    assert upload_directory(tmp_path / "set", f"s3://{bucket}/dresses") == 21
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "r"))
    # the step runs in a new process, which must import this package even when this test runs
    # alone (the session's pipeline run sets it up otherwise)
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    pipeline.importable_by_local_steps()
    component: Any = dsl.component(
        pipeline.load_images, base_image=pipeline.LOCAL_IMAGE, install_kfp_package=False
    )
    task = component(source=f"s3://{bucket}/dresses", n_train=15, n_test=5, size=32, seed=0)
    train = data.load_arrays(task.outputs["train"].path)
    test = data.load_arrays(task.outputs["test"].path)
    assert len(train[0]) == 15 and len(test[0]) == 5
    assert sorted(np.concatenate([train[1], test[1]])) == sorted(lengths)
    assert train[0].shape[1:] == (32, 32, 3)
