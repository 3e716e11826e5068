import io

import numpy as np
import pytest
from PIL import Image

from dress_classification import data


def test_dataset_shapes_types_and_balance():
    images, lengths, colors = data.make_dataset(64, 32, seed=3)
    assert images.shape == (64, 32, 32, 3)
    assert images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert np.bincount(lengths).tolist() == [16] * 4
    assert np.bincount(colors).tolist() == [8] * 8


def test_same_seed_same_images():
    first = data.make_dataset(8, 32, seed=1)
    second = data.make_dataset(8, 32, seed=1)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], data.make_dataset(8, 32, seed=2)[0])


def dress_pixels(layer, color):
    """Mask of the figure layer's pixels in the dress's (shaded, jittered) palette color."""
    pixels = np.asarray(layer, dtype=float)
    base = np.array(data.COLORS[color])
    # Shading scales the color by 0.8-1.15 and jitter adds a little: compare directions too.
    close = np.linalg.norm(pixels[..., :3] - base, axis=-1) < 0.2 * np.linalg.norm(base) + 25
    return close & (pixels[..., 3] > 0)


@pytest.mark.parametrize("color", ["red", "blue", "green", "purple"])
def test_the_hem_falls_where_the_length_label_says(color):
    """The documented hem ranges, measured on the drawn figure (before pose and background)."""
    rng = np.random.default_rng(0)
    canvas = 400
    for length, (low, high) in enumerate(data.HEM_RANGES):
        for _ in range(5):
            layer = data._figure_layer(canvas, length, data.COLOR_NAMES.index(color), rng)
            rows = np.nonzero(dress_pixels(layer, color).any(axis=1))[0]
            hem = (rows.max() + 1 - 0.01 * canvas) / (0.98 * canvas)
            top = (rows.min() - 0.01 * canvas) / (0.98 * canvas)
            assert low - 0.01 <= hem <= high + 0.01, (data.LENGTHS[length], hem)
            assert top == pytest.approx(0.15, abs=0.02)


@pytest.mark.parametrize(("fmt", "mode"), [("PNG", "RGB"), ("JPEG", "RGB"), ("PNG", "L")])
def test_photos_become_model_input(fmt, mode):
    buffer = io.BytesIO()
    Image.new(mode, (300, 200), 128).save(buffer, format=fmt)
    prepared = data.prepare_image(buffer.getvalue(), 64)
    assert prepared.shape == (64, 64, 3)
    assert prepared.dtype == np.float32
    assert prepared.max() <= 1.0


def test_non_images_are_refused():
    with pytest.raises(ValueError, match="not an image"):
        data.prepare_image(b"just some text\n", 64)


def test_labelled_image_set_round_trip(tmp_path):
    images, lengths, colors = data.make_dataset(10, 32, seed=4)
    data.write_labelled_images(images, lengths, colors, tmp_path)
    read, read_lengths, read_colors = data.read_labelled_images(tmp_path, 32)
    np.testing.assert_array_equal(read_lengths, lengths)
    np.testing.assert_array_equal(read_colors, colors)
    np.testing.assert_allclose(read, images, atol=1 / 255)


def test_unknown_labels_are_named(tmp_path):
    images, lengths, colors = data.make_dataset(2, 32, seed=4)
    data.write_labelled_images(images, lengths, colors, tmp_path)
    csv = tmp_path / data.LABELS_CSV
    csv.write_text(csv.read_text().replace(data.LENGTHS[int(lengths[1])], "ankle", 1))
    with pytest.raises(ValueError, match="line 2: unknown label 'ankle'"):
        data.read_labelled_images(tmp_path, 32)


def test_split_and_arrays_round_trip(tmp_path):
    arrays = data.make_dataset(20, 16, seed=9)
    train, test = data.split(arrays, 0.25, seed=0)
    assert len(train[0]) == 15 and len(test[0]) == 5
    path = tmp_path / "set.npz"
    data.save_arrays(path, *test)
    loaded = data.load_arrays(path)
    np.testing.assert_allclose(loaded[0], test[0], atol=1 / 255)
    np.testing.assert_array_equal(loaded[1], test[1])
