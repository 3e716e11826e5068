"""The exported models behind the Seldon Core 1.17.1 microservice (v1 REST protocol)."""

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from dress_classification import data


def post(url, payload, timeout=60):
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.load(answer)


def test_a_batch_is_classified_well_above_chance(predictions_url):
    images, lengths, colors = data.make_dataset(64, 64, seed=123)
    answer = post(predictions_url, {"data": {"ndarray": images.tolist()}})
    predictions = answer["jsonData"]["predictions"]
    assert len(predictions) == 64
    length_hits = np.mean(
        [
            p["length"]["label"] == data.LENGTHS[i]
            for p, i in zip(predictions, lengths, strict=True)
        ]
    )
    color_hits = np.mean(
        [
            p["color"]["label"] == data.COLOR_NAMES[i]
            for p, i in zip(predictions, colors, strict=True)
        ]
    )
    print(f"served model: length {length_hits:.3f}, color {color_hits:.3f} on 64 new images")
    assert length_hits >= 0.9
    assert color_hits >= 0.95


def test_an_image_file_is_classified_with_confidences(predictions_url):
    png = data.to_png(data.render_dress(3, 2, 64, np.random.default_rng(1)))
    answer = post(predictions_url, {"binData": base64.b64encode(png).decode()})
    (prediction,) = answer["jsonData"]["predictions"]
    for task, names in (("length", data.LENGTHS), ("color", data.COLOR_NAMES)):
        result = prediction[task]
        assert set(result["probabilities"]) == set(names)
        assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
        assert result["confidence"] == max(result["probabilities"].values())
        assert result["label"] in names
        assert isinstance(result["sure"], bool)
    assert prediction["sure"] == (prediction["length"]["sure"] and prediction["color"]["sure"])


def test_noise_is_not_sure(predictions_url):
    noise = data.to_png(np.random.default_rng(4).random((128, 128, 3)))
    answer = post(predictions_url, {"binData": base64.b64encode(noise).decode()})
    assert answer["jsonData"]["predictions"][0]["sure"] is False


def test_the_model_server_listens_on_loopback_only(model_server):
    """Every socket the local Seldon server listens on is bound to 127.0.0.1 (/proc/net/tcp)."""
    port = int(model_server.rsplit(":", 1)[1])
    listening = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, state = fields[1], fields[3]
            if state == "0A":  # LISTEN
                host, hex_port = address.rsplit(":", 1)
                listening.setdefault(int(hex_port, 16), set()).add(host)
    assert listening[port] <= {"0100007F", "00000000000000000000000001000000"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"binData": base64.b64encode(b"plain text").decode()}, "not an image"),
        ({"data": {"ndarray": [[0.0, 1.0]]}}, "expected images of shape"),
    ],
)
def test_bad_input_gets_a_400_with_a_reason(predictions_url, payload, message):
    with pytest.raises(urllib.error.HTTPError) as caught:
        post(predictions_url, payload)
    assert caught.value.code == 400
    assert message in json.load(caught.value)["status"]["info"]


def test_metadata_names_the_classes(model_server):
    with urllib.request.urlopen(f"{model_server}/api/v1.0/metadata", timeout=10) as answer:
        metadata = json.load(answer)
    assert metadata["custom"]["lengths"] == ",".join(data.LENGTHS)


def test_the_model_is_fetched_from_ceph_rgw(exported_model, bucket):
    """What the SeldonDeployment does on the platform: the export is copied from S3."""
    from dress_classification.serving import local_model_dir, read_labels
    from dress_classification.storage import upload_directory

    uri = f"s3://{bucket}/models/dress/1"
    uploaded = upload_directory(exported_model, uri)
    local = local_model_dir(uri)
    copied = sorted(p.relative_to(local) for p in local.rglob("*") if p.is_file())
    original = sorted(
        p.relative_to(exported_model) for p in exported_model.rglob("*") if p.is_file()
    )
    assert copied == original and len(copied) == uploaded
    assert (local / "length" / "saved_model.pb").read_bytes() == (
        exported_model / "length" / "saved_model.pb"
    ).read_bytes()
    assert read_labels(uri)["color"] == list(data.COLOR_NAMES)
