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


def test_the_seed_fixes_the_initial_weights():
    """One seed, one starting point (Keras draws a functional model's weights in build_model)."""

    def weights(seed):
        return models.build_model(32, 4, seed=seed).get_weights()

    first, again, other = weights(3), weights(3), weights(4)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


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
        "thresholds": {"length": 0.0, "color": 0.0},
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


def test_float32_is_the_default_even_after_an_image_chose_bfloat16():
    """An image or notebook may set mixed_bfloat16 globally; the example trains in float32."""
    import keras

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        network = models.build_model(32, 4)
        assert keras.mixed_precision.global_policy().name == "float32"
        assert {layer.dtype_policy.name for layer in network.layers} == {"float32"}
        mixed = models.build_model(32, 4, precision="mixed_bfloat16")
        assert mixed.get_layer("probabilities").dtype_policy.name == "float32"
        assert "mixed_bfloat16" in {layer.dtype_policy.name for layer in mixed.layers}
    finally:
        keras.mixed_precision.set_global_policy("float32")
    with pytest.raises(ValueError, match="precision"):
        models.build_model(32, 4, precision="float16")


def test_threshold_keeps_99_percent_of_right_answers():
    top = np.linspace(0.5, 1.0, 200)
    correct = np.ones(200, bool)
    threshold = models.choose_threshold(top, correct)
    assert np.mean(top[correct] >= threshold) >= 0.99
    assert threshold == pytest.approx(0.50, abs=0.01)
    assert models.choose_threshold(top, np.zeros(200, bool)) == 1.0


def test_outliers_pull_probabilities_apart_from_dresses():
    images, _, colors = data.make_dataset(256, 32, seed=0)
    outliers = data.make_outliers(64, 32, seed=1)
    assert outliers.shape == (64, 32, 32, 3) and outliers.dtype == np.float32
    network = models.build_model(32, len(data.COLORS))
    models.train(network, images, colors, epochs=6, outliers=outliers)
    dresses = models.probabilities(network, images[:64]).max(axis=1)
    others = models.probabilities(network, data.make_outliers(64, 32, seed=2)).max(axis=1)
    assert np.median(others) < np.median(dresses)
