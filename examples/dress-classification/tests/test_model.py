import json

import numpy as np
import pytest

from dress_classification import data
from dress_classification import model as models


def test_models_output_class_probabilities():
    for backbone in models.BACKBONES:
        network = models.build_model(64, 4, backbone=backbone)
        out = network.predict(np.zeros((2, 64, 64, 3), np.float32), verbose=models.SILENT)
        assert out.shape == (2, 4)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="n_classes"):
        models.build_model(32, 1)
    with pytest.raises(ValueError, match="backbone"):
        models.build_model(32, 4, backbone="resnet")


def test_training_learns_color_quickly():
    images, _, colors = data.make_dataset(256, 32, seed=0)
    network = models.build_model(32, len(data.COLORS))
    history = models.train(network, images, colors, epochs=3)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    assert models.confusion(network, images, colors, 8).sum() == 256


def test_exported_savedmodel_answers_like_keras(tmp_path):
    import tensorflow as tf

    images, _, _ = data.make_dataset(4, 32, seed=1)
    length = models.build_model(32, 4)
    color = models.build_model(32, 8)
    models.export_models(
        {"length": length, "color": color},
        {"length": list(data.LENGTHS), "color": list(data.COLOR_NAMES)},
        tmp_path,
    )
    labels = json.loads((tmp_path / "labels.json").read_text())
    assert labels == {
        "image_size": 32,
        "length": list(data.LENGTHS),
        "color": list(data.COLOR_NAMES),
    }
    served = tf.saved_model.load(str(tmp_path / "length"))
    np.testing.assert_allclose(
        served.serve(images).numpy(),
        length.predict(images, verbose=models.SILENT),
        rtol=1e-4,
        atol=1e-6,
    )


def test_export_refuses_mismatched_labels(tmp_path):
    with pytest.raises(ValueError, match="labels"):
        models.export_models({"length": models.build_model(32, 4)}, {"length": ["a"]}, tmp_path)
