"""The two classifiers (length, color): one Keras architecture, trained once per task."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

BACKBONES = ("cnn", "mobilenet_v2")
# Keras's type hints call `verbose` a string; 0 (silent) is what its code accepts too.
SILENT: Any = 0


def build_model(
    size: int, n_classes: int, backbone: str = "cnn", weights: str | None = None
) -> keras.Model:
    """A compiled image classifier: size x size RGB in [0, 1] -> class probabilities.

    ``cnn`` is a small network trained from scratch, quick enough for CI and for the
    synthetic set. ``mobilenet_v2`` uses the Keras application (alpha 0.35); with
    ``weights="imagenet"`` it starts from pretrained weights, which Keras downloads on first
    use, so that is for the platform, where real photos need it. Both see the picture whole
    (no global pooling before the head) because length is about where the hem sits.
    """
    if n_classes < 2:
        raise ValueError("n_classes must be at least 2")
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, not {backbone!r}")
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
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="probabilities")(hidden)
    model = keras.Model(inputs, outputs, name=f"{backbone}_{n_classes}")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _small_cnn(inputs):
    """Four conv blocks halving the resolution each time, then flattened."""
    x = inputs
    for filters in (16, 32, 48, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    return keras.layers.Flatten()(x)


def train(
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    epochs: int,
    batch_size: int = 32,
    seed: int = 0,
    verbose: Any = SILENT,
) -> keras.callbacks.History:
    """Fit *model* (from `build_model`) on images and integer labels; returns the history."""
    keras.utils.set_random_seed(seed)
    return model.fit(
        images, labels, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose
    )


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


def export_models(models: dict[str, keras.Model], labels: dict[str, list[str]], target) -> None:
    """Write each model as a TensorFlow SavedModel (``target/<task>``) plus ``labels.json``.

    SavedModels are what TensorFlow Serving and the Seldon model load; ``labels.json`` maps
    output positions to names and records the input size.
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
    document = {"image_size": sizes.pop(), **{task: list(labels[task]) for task in models}}
    (directory / "labels.json").write_text(json.dumps(document, indent=2))
