"""The web page against the real model server, and its answers when things go wrong."""

import io
import re

import numpy as np
import pytest
from examples_support import free_port

from dress_classification import data
from dress_classification.webapp import create_app


def upload(client, content: bytes, name: str):
    return client.post(
        "/", data={"photo": (io.BytesIO(content), name)}, content_type="multipart/form-data"
    )


def shown(page: str, element: str) -> str:
    match = re.search(rf'id="{element}">([^<]*)<', page)
    assert match, f"no #{element} on the page"
    return match.group(1)


@pytest.fixture
def client(predictions_url):
    return create_app(predictions_url, max_bytes=200_000).test_client()


def test_form_page(client):
    page = client.get("/").get_data(as_text=True)
    assert 'type="file"' in page
    assert "Images up to 0.191 MB." in page
    assert client.get("/healthz").json == {"status": "ok"}


def test_a_dress_photo_gets_length_color_confidences_and_the_image(client):
    png = data.to_png(data.render_dress(3, 4, 160, np.random.default_rng(2)))
    response = upload(client, png, "dress.png")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert shown(page, "length-label") in data.LENGTHS
    assert shown(page, "color-label") in data.COLOR_NAMES
    assert 0 < int(shown(page, "length-confidence")) <= 100
    assert 'id="preview" src="data:image/png;base64,' in page


def test_noise_is_not_a_confident_dress(client):
    """A picture of pixel noise gets "not sure", not a headline with a length and color."""
    noise = np.random.default_rng(5).random((160, 160, 3))
    page = upload(client, data.to_png(noise), "noise.png").get_data(as_text=True)
    assert 'id="not-sure"' in page
    assert 'id="verdict"' not in page


def test_a_text_file_is_refused_clearly(client):
    response = upload(client, b"hello, this is not a photo\n", "notes.txt")
    assert response.status_code == 400
    assert "notes.txt is not an image" in shown(response.get_data(as_text=True), "error")


def test_an_oversized_file_is_refused_clearly(client):
    response = upload(client, b"\x89PNG" + b"0" * 300_000, "huge.png")
    assert response.status_code == 413
    assert "too large" in shown(response.get_data(as_text=True), "error")


def test_no_file_chosen(client):
    response = client.post("/", data={}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Choose an image" in response.get_data(as_text=True)


def test_a_model_that_is_down(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/api/v1.0/predictions"
    client = create_app(url).test_client()
    png = data.to_png(data.render_dress(0, 0, 64, np.random.default_rng(3)))
    response = upload(client, png, "dress.png")
    assert response.status_code == 502
    message = shown(response.get_data(as_text=True), "error")
    assert "not running or cannot be reached" in message
    assert "examples-dress-serve" in message
    # what the user can do, not where the model lives or how the socket failed
    assert url not in message and "127.0.0.1" not in message and "Errno" not in message


def test_a_model_that_hangs(silent_server):
    client = create_app(silent_server, timeout=1.0).test_client()
    png = data.to_png(data.render_dress(0, 0, 64, np.random.default_rng(3)))
    response = upload(client, png, "dress.png")
    assert response.status_code == 502
    message = shown(response.get_data(as_text=True), "error")
    assert "did not answer within 1 seconds" in message
    assert "127.0.0.1" not in message and "timed out" not in message


def test_only_http_model_urls():
    with pytest.raises(ValueError, match="http"):
        create_app("file:///etc/passwd")
