"""The two classifiers (length, color): one Keras architecture, trained once per task."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

BACKBONES = ("cnn", "mobilenet_v2")
# float32 is the default everywhere: on this model bfloat16 cost most of the accuracy (length
# 0.45 against 0.71 when an image switched Keras to mixed_bfloat16 by itself). bfloat16 stays
# an explicit choice (`precision="mixed_bfloat16"`, `--precision` of the pipeline).
PRECISIONS = ("float32", "mixed_bfloat16")
# Adam's learning rate at the top of the schedule (see `train`).
PEAK_LEARNING_RATE = 2e-3
# Keras's type hints call `verbose` a string; 0 (silent) is what its code accepts too.
SILENT: Any = 0


def set_precision(precision: str = "float32") -> None:
    """Set Keras's global dtype policy, whatever an image or a notebook set before."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    keras.mixed_precision.set_global_policy(precision)


def build_model(
    size: int,
    n_classes: int,
    backbone: str = "cnn",
    weights: str | None = None,
    precision: str = "float32",
    seed: int = 0,
) -> keras.Model:
    """A compiled image classifier: size x size RGB in [0, 1] -> class probabilities.

    ``cnn`` is a small network trained from scratch, quick enough for CI and for the
    synthetic set. ``mobilenet_v2`` uses the Keras application (alpha 0.35); with
    ``weights="imagenet"`` it starts from pretrained weights, which Keras downloads on first
    use, so that is for the platform, where real photos need it. *precision* is Keras's
    dtype policy, float32 unless bfloat16 is asked for (see `PRECISIONS`). *seed* seeds
    Python's, NumPy's and Keras's generators before the layers draw their initial weights
    (Keras builds a functional model's layers here, not in `train`), so one seed gives one
    starting point. The model is compiled by `train`.
    """
    if n_classes < 2:
        raise ValueError("n_classes must be at least 2")
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, not {backbone!r}")
    set_precision(precision)
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((size, size, 3), name="image")
    if backbone == "cnn":
        features = _small_cnn(inputs)
    else:
        scaled = keras.layers.Rescaling(2.0, offset=-1.0)(inputs)
        pretrained: Any = weights  # Keras's hints allow only a string; None means random
        base = keras.applications.MobileNetV2(
            input_shape=(size, size, 3), alpha=0.35, include_top=False, weights=pretrained
        )
        features = keras.layers.Flatten()(base(scaled))
    hidden = keras.layers.Dropout(0.3)(keras.layers.Dense(64, activation="relu")(features))
    # The probabilities stay float32 under mixed precision (Keras's advice for the last layer).
    outputs = keras.layers.Dense(
        n_classes, activation="softmax", name="probabilities", dtype="float32"
    )(hidden)
    return keras.Model(inputs, outputs, name=f"{backbone}_{n_classes}")


def _small_cnn(inputs):
    """Four conv blocks halving the resolution each time, then averaged over the image.

    Averaging (not flattening) makes the features the same wherever the figure stands and
    whatever its size, which the position-bound flattened features had to learn for every
    place: length is the share of the figure the dress covers (how much leg shows below the
    hem against the size of the body), which averaged feature maps measure directly.
    """
    x = inputs
    for filters in (24, 48, 64, 96):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        # momentum 0.9: the inference statistics settle within a short run's few hundred steps
        x = keras.layers.BatchNormalization(momentum=0.9)(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    return keras.layers.GlobalAveragePooling2D()(x)


def train(
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    epochs: int,
    batch_size: int = 16,
    seed: int = 0,
    verbose: Any = SILENT,
    outliers: np.ndarray | None = None,
) -> keras.callbacks.History:
    """Fit *model* (from `build_model`) on images and integer labels; returns the history.

    *outliers* are images that show no dress; they are trained towards equal probabilities
    for every class ("outlier exposure", Hendrycks et al., ICLR 2019), so that a picture
    unlike any dress gets a low top probability and the page can say it is not sure. The
    learning rate rises linearly to its peak over the first tenth of the steps, then decays
    along a cosine to zero. Without that warm-up, the length model stayed near chance for
    four or more epochs before it took off, and when depended on rounding: the test-sized
    run (tests/conftest.py) ended between 0.85 and 0.97 for one seed. With it, seeds 1 to 4
    of that run all reached 0.99. Every batch is mirrored at
    random (a dress is a dress either way round); this happens in the input pipeline, not in
    the model, because an exported model would keep a random layer's training behaviour.
    """
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    n_classes = int(model.output_shape[-1])
    targets = np.eye(n_classes, dtype=np.float32)[labels]
    if outliers is not None and len(outliers):
        images = np.concatenate([images, outliers])
        uniform = np.full((len(outliers), n_classes), 1 / n_classes, np.float32)
        targets = np.concatenate([targets, uniform])
    steps = epochs * -(-len(images) // batch_size)
    warmup = max(1, steps // 10)
    # Keras's hints say float; a schedule is what its optimizers also accept.
    schedule: Any = keras.optimizers.schedules.CosineDecay(
        PEAK_LEARNING_RATE / 20,
        max(1, steps - warmup),
        warmup_target=PEAK_LEARNING_RATE,
        warmup_steps=warmup,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="categorical_crossentropy",
        metrics=["categorical_accuracy"],
    )
    batches = (
        tf.data.Dataset.from_tensor_slices((images, targets))
        .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .map(lambda x, y: (tf.image.random_flip_left_right(x, seed=seed), y))
        .prefetch(2)
    )
    # shuffle=False: the dataset shuffles itself (Keras warns otherwise)
    return model.fit(batches, epochs=epochs, shuffle=False, verbose=verbose)


def choose_threshold(top: np.ndarray, correct: np.ndarray, keep: float = 0.99) -> float:
    """The confidence below which the page says "not sure", from held-out images.

    *top* is the top probability of each held-out image and *correct* whether that answer was
    right. The threshold is the highest value that still keeps *keep* (99%) of the right
    answers confident, rounded down to a hundredth; wrong answers and pictures that are not
    dresses mostly fall below it.
    """
    right = np.sort(top[correct])
    if not len(right):
        return 1.0
    index = int(np.floor((1 - keep) * len(right)))
    return float(np.floor(right[min(index, len(right) - 1)] * 100) / 100)


def probabilities(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Class probabilities of every image."""
    return np.asarray(model.predict(images, batch_size=128, verbose=SILENT), dtype=float)


def accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of images whose most probable class is the true one."""
    predicted = np.argmax(model.predict(images, batch_size=128, verbose=SILENT), axis=1)
    return float(np.mean(predicted == labels))


def confusion(model: keras.Model, images: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """N x n counts: rows are true classes, columns predicted ones."""
    predicted = np.argmax(model.predict(images, batch_size=128, verbose=SILENT), axis=1)
    matrix = np.zeros((n, n), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def confusion_html(
    task: str, classes: list[str], matrix: np.ndarray, accuracy: float, threshold: float
) -> str:
    """The confusion matrix as a small standalone HTML page (rows true, columns predicted)."""
    from html import escape

    head = "".join(f"<th>{escape(name)}</th>" for name in classes)
    rows = []
    for name, row in zip(classes, matrix, strict=True):
        total = max(1, int(row.sum()))
        cells = "".join(
            f'<td style="background:rgba(74,123,208,{count / total:.2f})">{count}</td>'
            for count in row
        )
        rows.append(f"<tr><th>{escape(name)}</th>{cells}</tr>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Dress {escape(task)}: confusion matrix</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .7em;text-align:right}</style></head><body>"
        f"<h1>Dress {escape(task)}: confusion matrix</h1>"
        f"<p>Accuracy {accuracy:.1%} on {int(matrix.sum())} held-out images; the page says "
        f'"not sure" below a top probability of {threshold:.2f}. Rows: true class; '
        "columns: predicted class.</p>"
        f"<table><tr><th>true \\ predicted</th>{head}</tr>{''.join(rows)}</table></body></html>"
    )


def export_models(
    models: dict[str, keras.Model],
    labels: dict[str, list[str]],
    target,
    thresholds: dict[str, float] | None = None,
) -> None:
    """Write each model as a TensorFlow SavedModel (``target/<task>``) plus ``labels.json``.

    SavedModels are what TensorFlow Serving and the Seldon model load; ``labels.json`` maps
    output positions to names, records the input size and the "not sure" threshold of each
    task (0 when none was chosen).
    """
    import json
    from pathlib import Path

    directory = Path(target)
    directory.mkdir(parents=True, exist_ok=True)
    sizes = {int(model.input_shape[1]) for model in models.values()}
    if len(sizes) != 1:
        raise ValueError(f"models disagree on the input size: {sorted(sizes)}")
    for task, model in models.items():
        if int(model.output_shape[-1]) != len(labels[task]):
            raise ValueError(
                f"{task}: {model.output_shape[-1]} outputs, {len(labels[task])} labels"
            )
        model.export(str(directory / task), verbose=False)
    document = {
        "image_size": sizes.pop(),
        **{task: list(labels[task]) for task in models},
        "thresholds": {task: float((thresholds or {}).get(task, 0.0)) for task in models},
    }
    (directory / "labels.json").write_text(json.dumps(document, indent=2))
