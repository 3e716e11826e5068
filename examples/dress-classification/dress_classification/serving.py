r"""The Seldon Core (v1) Python model that serves both classifiers behind one endpoint.

Run locally with the seldon-core microservice::

    seldon-core-microservice dress_classification.serving.DressClassifier \\
        --parameters '[{"name": "model_uri", "value": "/path/to/export", "type": "STRING"}]'

Requests follow Seldon's v1 protocol at ``/api/v1.0/predictions``: ``{"binData": <base64 image
file>}`` for one photo, or ``{"data": {"ndarray": <N x size x size x 3 floats in [0, 1]>}}``
for a batch. The answer is ``jsonData`` with one entry per image::

    {"predictions": [{"length": {"label": "midi", "confidence": 0.93, "sure": true,
                                 "probabilities": {"mini": 0.01, ...}},
                      "color": {...}, "sure": true}]}

``sure`` is false when the top probability is below the task's threshold, chosen on the
held-out images by the pipeline (``thresholds`` in labels.json): the picture may not be a
dress, or the model cannot tell.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from dress_classification.data import prepare_image

logger = logging.getLogger(__name__)
TASKS = ("length", "color")
LABELS_FILE = "labels.json"


def bad_request(message: str) -> Exception:
    """The error Seldon turns into an HTTP 400 with *message*, or ValueError elsewhere."""
    try:
        from seldon_core.flask_utils import (  # pyright: ignore[reportMissingImports]
            SeldonMicroserviceException,
        )
    except ImportError:
        return ValueError(message)
    return SeldonMicroserviceException(message, status_code=400)


def local_model_dir(model_uri: str) -> Path:
    """A local directory with the exported models: the URI itself, or a copy from S3."""
    if model_uri.startswith("s3://"):
        from dress_classification.storage import download_prefix

        target = Path(tempfile.mkdtemp(prefix="dress-model-"))
        download_prefix(model_uri, target)
        return target
    path = Path(model_uri)
    if not (path / LABELS_FILE).is_file():
        raise FileNotFoundError(f"no exported dress models in {model_uri} ({LABELS_FILE})")
    return path


def read_labels(model_uri: str) -> dict:
    """labels.json of an export, without loading the models."""
    if model_uri.startswith("s3://"):
        from dress_classification.storage import read_bytes

        return json.loads(read_bytes(f"{model_uri.rstrip('/')}/{LABELS_FILE}"))
    return json.loads((Path(model_uri) / LABELS_FILE).read_text())


class DressClassifier:
    """Length and color of the dress in each image, with confidences."""

    def __init__(self, model_uri: str = "/mnt/models"):
        self.model_uri = os.environ.get("DRESS_MODEL_URI", model_uri)
        self.models: dict = {}
        self.labels: dict = {}
        self.size = 0

    def load(self) -> None:
        """Load the SavedModels; Seldon calls this in each server process after forking."""
        import tensorflow as tf

        directory = local_model_dir(self.model_uri)
        self.labels = json.loads((directory / LABELS_FILE).read_text())
        self.size = int(self.labels["image_size"])
        self.models = {task: tf.saved_model.load(str(directory / task)) for task in TASKS}
        logger.info("loaded dress models from %s (image size %d)", self.model_uri, self.size)

    def predict(self, X, features_names=None, meta=None):  # noqa: N803 - Seldon's signature
        """Classify a binData image or an ndarray batch; see the module docstring."""
        if not self.models:
            self.load()
        batch = self._batch(X)
        probabilities = {
            task: np.asarray(self.models[task].serve(batch), dtype=float) for task in TASKS
        }
        predictions = []
        for i in range(len(batch)):
            answer = {task: self._describe(task, probabilities[task][i]) for task in TASKS}
            predictions.append({**answer, "sure": all(answer[t]["sure"] for t in TASKS)})
        return {"predictions": predictions}

    def health_status(self):
        """Seldon's /health/status: a real prediction on a blank image."""
        blank = np.zeros((1, self.size or 8, self.size or 8, 3), dtype=np.float32)
        return self.predict(blank)

    def init_metadata(self):
        """What /api/v1.0/metadata reports; Seldon asks before `load`, so read labels only."""
        if not self.labels:
            self.labels = read_labels(self.model_uri)
        return {
            "name": "dress-classifier",
            "versions": ["v1"],
            "platform": "tensorflow",
            "custom": {
                "lengths": ",".join(self.labels.get("length", [])),
                "colors": ",".join(self.labels.get("color", [])),
            },
        }

    def _batch(self, images) -> np.ndarray:
        if isinstance(images, (bytes, bytearray)):
            try:
                return prepare_image(bytes(images), self.size)[None, ...]
            except ValueError as error:
                raise bad_request(str(error)) from error
        array = np.asarray(images, dtype=np.float32)
        if array.ndim == 3:
            array = array[None, ...]
        if array.ndim != 4 or array.shape[1:] != (self.size, self.size, 3):
            raise bad_request(
                f"expected images of shape (N, {self.size}, {self.size}, 3), got {array.shape}"
            )
        return array

    def _describe(self, task: str, probabilities: np.ndarray) -> dict:
        names = self.labels[task]
        best = int(np.argmax(probabilities))
        threshold = float(self.labels.get("thresholds", {}).get(task, 0.0))
        return {
            "label": names[best],
            "confidence": round(float(probabilities[best]), 4),
            "sure": bool(probabilities[best] >= threshold),
            "probabilities": {
                n: round(float(p), 4) for n, p in zip(names, probabilities, strict=True)
            },
        }
