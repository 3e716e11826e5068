"""The dress-classification pipeline for Kubeflow Pipelines v2, and its command line.

    python -m dress_classification.pipeline run      # locally: synthetic images, no network
    python -m dress_classification.pipeline compile --image REGISTRY/dress-classification:TAG

Steps: load images (synthetic, or a labelled set in S3) -> train the length model and the
color model -> evaluate each -> export both as SavedModels (optionally published to S3, where
the SeldonDeployment loads them). Components never pip-install at run time.
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kfp import compiler, dsl
from kfp.dsl import HTML, ClassificationMetrics, Dataset, Input, Metrics, Model, Output

PIPELINE_NAME = "dress-classification"
LOCAL_IMAGE = "python:3.11-slim"  # never pulled by the local runner; see run_locally
S3_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")


def load_images(
    source: str,
    n_train: int,
    n_test: int,
    size: int,
    seed: int,
    train: Output[Dataset],
    test: Output[Dataset],
):
    """Labelled images: generated, or ``s3://bucket/prefix`` holding labels.csv and images."""
    import tempfile
    from pathlib import Path

    from dress_classification import data

    if source == "synthetic":
        train_set = data.make_dataset(n_train, size, seed)
        test_set = data.make_dataset(n_test, size, seed + 1)
    elif source.startswith("s3://"):
        from dress_classification.storage import download_prefix

        with tempfile.TemporaryDirectory() as local:
            download_prefix(source, Path(local))
            everything = data.read_labelled_images(local, size)
        fraction = n_test / (n_train + n_test)
        train_set, test_set = data.split(everything, fraction, seed)
    else:
        raise ValueError(f"source must be 'synthetic' or an s3:// URI, not {source!r}")
    data.save_arrays(train.path, *train_set)
    data.save_arrays(test.path, *test_set)
    train.metadata["images"] = len(train_set[0])
    test.metadata["images"] = len(test_set[0])


def train_classifier(
    train: Input[Dataset],
    task: str,
    epochs: int,
    backbone: str,
    pretrained: bool,
    seed: int,
    precision: str,
    model: Output[Model],
):
    """Train the length or the color model (a Keras model file).

    *seed* fixes the initial weights, the order of the batches, the mirroring and dropout.
    One generated picture without a dress for every four training images teaches the model
    to spread its probabilities when it sees no dress (see `model.train`).
    """
    import os

    from dress_classification import data
    from dress_classification import model as models

    images, lengths, colors = data.load_arrays(train.path)
    labels = lengths if task == "length" else colors
    classes = data.LENGTHS if task == "length" else data.COLOR_NAMES
    network = models.build_model(
        images.shape[1],
        len(classes),
        backbone,
        "imagenet" if pretrained else None,
        precision,
        seed,
    )
    outliers = data.make_outliers(len(images) // 4, images.shape[1], seed + 100)
    history = models.train(network, images, labels, epochs, seed=seed, outliers=outliers)
    # Keras names its format by the file extension: the artifact is a directory holding it.
    os.makedirs(model.path, exist_ok=True)
    network.save(os.path.join(model.path, "model.keras"))
    model.metadata["task"] = task
    model.metadata["precision"] = precision
    model.metadata["train_accuracy"] = float(history.history["categorical_accuracy"][-1])


def evaluate_classifier(
    model: Input[Model],
    test: Input[Dataset],
    task: str,
    seed: int,
    metrics: Output[Metrics],
    confusion: Output[ClassificationMetrics],
    confusion_page: Output[HTML],
):
    """Accuracy on the held-out images, the confusion matrix, and the "not sure" threshold.

    The threshold is chosen on these held-out images (`model.choose_threshold`); the share
    of generated non-dress pictures that fall below it is logged beside it.
    """
    import os

    import keras
    import numpy as np

    from dress_classification import data
    from dress_classification import model as models

    images, lengths, colors = data.load_arrays(test.path)
    labels = lengths if task == "length" else colors
    classes = list(data.LENGTHS if task == "length" else data.COLOR_NAMES)
    network: Any = keras.models.load_model(os.path.join(model.path, "model.keras"))
    probabilities = models.probabilities(network, images)
    predicted = np.argmax(probabilities, axis=1)
    accuracy = float(np.mean(predicted == labels))
    threshold = models.choose_threshold(probabilities.max(axis=1), predicted == labels)
    outliers = data.make_outliers(96, images.shape[1], seed + 200)
    outlier_top = models.probabilities(network, outliers).max(axis=1)
    metrics.log_metric(f"{task}_accuracy", accuracy)
    metrics.log_metric(f"{task}_chance", 1 / len(classes))
    metrics.log_metric(f"{task}_threshold", threshold)
    metrics.log_metric(f"{task}_not_dresses_below", float(np.mean(outlier_top < threshold)))
    matrix = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    confusion.log_confusion_matrix(classes, matrix.tolist())
    with open(confusion_page.path, "w", encoding="utf-8") as page:
        page.write(models.confusion_html(task, classes, matrix, accuracy, threshold))


def export_models(
    length_model: Input[Model],
    color_model: Input[Model],
    length_metrics: Input[Metrics],
    color_metrics: Input[Metrics],
    length_confusion: Input[HTML],
    color_confusion: Input[HTML],
    publish_uri: str,
    exported: Output[Model],
):
    """Both models as SavedModels, with the files a reader of the results wants beside them.

    labels.json (classes, "not sure" thresholds), metrics.json (accuracies) and the confusion
    matrices as confusion-<task>.html; everything is copied to *publish_uri* (S3) if set.
    """
    import json
    import shutil
    from pathlib import Path

    import keras

    from dress_classification import data
    from dress_classification.model import export_models as export

    trained: Any = {
        "length": keras.models.load_model(f"{length_model.path}/model.keras"),
        "color": keras.models.load_model(f"{color_model.path}/model.keras"),
    }
    thresholds = {
        "length": float(length_metrics.metadata["length_threshold"]),
        "color": float(color_metrics.metadata["color_threshold"]),
    }
    export(
        trained,
        {"length": list(data.LENGTHS), "color": list(data.COLOR_NAMES)},
        exported.path,
        thresholds,
    )
    accuracies = {
        "length": float(length_metrics.metadata["length_accuracy"]),
        "color": float(color_metrics.metadata["color_accuracy"]),
    }
    for task, page in (("length", length_confusion), ("color", color_confusion)):
        shutil.copyfile(page.path, Path(exported.path) / f"confusion-{task}.html")
        exported.metadata[f"{task}_accuracy"] = accuracies[task]
    (Path(exported.path) / "metrics.json").write_text(json.dumps(accuracies, indent=2))
    exported.metadata["framework"] = "tensorflow"
    if publish_uri:
        from dress_classification.storage import upload_directory

        upload_directory(Path(exported.path), publish_uri)
        exported.metadata["published"] = publish_uri


# The local run's defaults (and the platform's): enough images and epochs for length >= 97%
# and color >= 99% on the held-out set. The tests run a smaller set (tests/conftest.py).
DEFAULTS = {"n_train": 4096, "n_test": 1024, "size": 64, "length_epochs": 14, "color_epochs": 6}
STEPS = (load_images, train_classifier, evaluate_classifier, export_models)


def make_pipeline(image: str = LOCAL_IMAGE, s3_secret: str = "") -> Any:
    """The pipeline with every step in *image*.

    *s3_secret* names a Kubernetes Secret with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
    AWS_ENDPOINT_URL, given to the steps that read images from or publish models to S3.
    """
    # The KFP SDK's own type hints do not describe components' call signatures: Any.
    ops: dict[str, Any] = {
        step.__name__: dsl.component(step, base_image=image, install_kfp_package=False)
        for step in STEPS
    }

    def with_s3(task):
        if s3_secret:
            from kfp import kubernetes

            kubernetes.use_secret_as_env(
                task, secret_name=s3_secret, secret_key_to_env={k: k for k in S3_KEYS}
            )
        return task

    @dsl.pipeline(
        name=PIPELINE_NAME,
        description="Two Keras classifiers (dress length, dress color) exported for Seldon.",
    )
    def dress_classification(
        source: str = "synthetic",
        n_train: int = DEFAULTS["n_train"],
        n_test: int = DEFAULTS["n_test"],
        size: int = DEFAULTS["size"],
        length_epochs: int = DEFAULTS["length_epochs"],
        color_epochs: int = DEFAULTS["color_epochs"],
        backbone: str = "cnn",
        pretrained: bool = False,
        seed: int = 1,
        precision: str = "float32",
        publish_uri: str = "",
    ) -> Model:
        loaded = with_s3(
            ops["load_images"](
                source=source, n_train=n_train, n_test=n_test, size=size, seed=seed
            ).set_display_name("load images")
        )
        trained, evaluated = {}, {}
        for task, epochs in (("length", length_epochs), ("color", color_epochs)):
            trained[task] = (
                ops["train_classifier"](
                    train=loaded.outputs["train"],
                    task=task,
                    epochs=epochs,
                    backbone=backbone,
                    pretrained=pretrained,
                    seed=seed,
                    precision=precision,
                )
                .set_display_name(f"train {task} model")
                .set_memory_limit("4G")
            )
            evaluated[task] = ops["evaluate_classifier"](
                model=trained[task].outputs["model"],
                test=loaded.outputs["test"],
                task=task,
                seed=seed,
            ).set_display_name(f"evaluate {task} model")
        exported = with_s3(
            ops["export_models"](
                length_model=trained["length"].outputs["model"],
                color_model=trained["color"].outputs["model"],
                length_metrics=evaluated["length"].outputs["metrics"],
                color_metrics=evaluated["color"].outputs["metrics"],
                length_confusion=evaluated["length"].outputs["confusion_page"],
                color_confusion=evaluated["color"].outputs["confusion_page"],
                publish_uri=publish_uri,
            ).set_display_name("export SavedModels")
        )
        return exported.outputs["exported"]  # pyright: ignore[reportReturnType]

    return dress_classification


def compile_pipeline(path: str, image: str, s3_secret: str = "") -> None:
    """Write the pipeline as KFP IR YAML for upload to Kubeflow Pipelines."""
    compiler.Compiler().compile(make_pipeline(image, s3_secret), package_path=path)


def run_locally(output: str, **arguments) -> Any:
    """Run the whole pipeline in this Python environment (kfp.local, subprocess runner).

    Returns the pipeline task; ``.outputs["Output"].path`` is the exported model directory.
    """
    from kfp import local

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=output)
    importable_by_local_steps()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return make_pipeline()(**arguments)


def importable_by_local_steps() -> None:
    """Put this package on PYTHONPATH: kfp.local runs each step in a new Python process."""
    package_root = str(Path(__file__).resolve().parent.parent)
    paths = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))


def main(argv: list[str] | None = None) -> int:
    """Command line: run locally, or compile for the platform."""
    parser = argparse.ArgumentParser(prog="python -m dress_classification.pipeline")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline locally")
    run.add_argument("--output", default="local_outputs", help="where artifacts go")
    run.add_argument("--source", default="synthetic")
    run.add_argument("--n-train", type=int, default=DEFAULTS["n_train"])
    run.add_argument("--n-test", type=int, default=DEFAULTS["n_test"])
    run.add_argument("--size", type=int, default=DEFAULTS["size"])
    run.add_argument("--length-epochs", type=int, default=DEFAULTS["length_epochs"])
    run.add_argument("--color-epochs", type=int, default=DEFAULTS["color_epochs"])
    run.add_argument(
        "--precision",
        choices=("float32", "mixed_bfloat16"),
        default="float32",
        help="Keras dtype policy; bfloat16 is faster on some CPUs and costs accuracy here",
    )
    run.add_argument(
        "--seed",
        type=int,
        default=1,
        help="seeds the generated images, the initial weights and the training order",
    )
    run.add_argument("--publish-uri", default="")
    build = commands.add_parser("compile", help="write the pipeline YAML for Kubeflow")
    build.add_argument("--image", required=True, help="image with this package installed")
    build.add_argument("--s3-secret", default="", help="Secret with S3 credentials")
    build.add_argument("--output", default="dress-classification.yaml")
    args = parser.parse_args(argv)
    if args.command == "compile":
        compile_pipeline(args.output, args.image, args.s3_secret)
        print(f"wrote {args.output}")
        return 0
    task = run_locally(
        args.output,
        source=args.source,
        n_train=args.n_train,
        n_test=args.n_test,
        size=args.size,
        length_epochs=args.length_epochs,
        color_epochs=args.color_epochs,
        precision=args.precision,
        seed=args.seed,
        publish_uri=args.publish_uri,
    )
    print(summary(Path(task.outputs["Output"].path)))
    return 0


def summary(exported: Path) -> str:
    """The run's last line: accuracies, and where the models and confusion matrices are."""
    import json

    labels = json.loads((exported / "labels.json").read_text())
    accuracies = json.loads((exported / "metrics.json").read_text())
    return (
        f"length accuracy {accuracies['length']:.3f}, color accuracy {accuracies['color']:.3f}"
        f" (not sure below {labels['thresholds']['length']:.2f} / "
        f"{labels['thresholds']['color']:.2f}); results in {exported}: SavedModels length/ "
        "and color/, confusion-length.html, confusion-color.html"
    )


if __name__ == "__main__":
    sys.exit(main())
