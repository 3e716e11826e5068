"""A small web page: upload a photo, see the dress's length and color with confidences.

It validates the upload (an image, not too large), sends it to the model over Seldon's v1
protocol, and shows the answer next to the picture. Run it with::

    python -m dress_classification.webapp --model-url http://HOST:PORT/api/v1.0/predictions
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import urllib.error
import urllib.request

from flask import Flask, render_template_string, request
from PIL import Image
from werkzeug.exceptions import RequestEntityTooLarge

from dress_classification.data import prepare_image

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_TIMEOUT = 10.0
PREVIEW_PIXELS = 320

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Dress length and color</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:sans-serif;max-width:48em;margin:2em auto;padding:0 1em;color:#222}
.error{background:#fde8e8;border:1px solid #e0a0a0;padding:.6em 1em;border-radius:4px}
.result{display:flex;gap:2em;align-items:flex-start;margin-top:1.5em}
.result img{max-width:{{ preview }}px;border:1px solid #ccc}
table{border-collapse:collapse}td,th{padding:.2em .6em;text-align:left}
.bar{background:#4a7bd0;height:.7em;display:inline-block}
</style></head><body>
<h1>What dress is this?</h1>
<p>Upload a photo of a dress: the model tells its length (mini, knee, midi, maxi) and its
color. Images up to {{ max_mb }} MB.</p>
<form method="post" enctype="multipart/form-data" id="upload">
  <input type="file" name="photo" id="photo" accept="image/*" required>
  <button type="submit" id="submit">Classify</button>
</form>
<p class="error" id="client-error" hidden></p>
{% if error %}<p class="error" id="error">{{ error }}</p>{% endif %}
{% if result %}
<div class="result">
  <img id="preview" src="data:image/png;base64,{{ preview_png }}" alt="uploaded photo">
  <div>
  {% for task in ("length", "color") %}
    {% set answer = result[task] %}
    <h2>{{ task | capitalize }}: <span id="{{ task }}-label">{{ answer.label }}</span>
      (<span id="{{ task }}-confidence">{{ "%.0f" % (100 * answer.confidence) }}</span>%)</h2>
    <table>{% for name, p in answer.probabilities | dictsort(by="value", reverse=true) %}
      <tr><td>{{ name }}</td>
      <td><span class="bar" style="width:{{ (p * 10) | round(2) }}em"></span>
      {{ "%.1f" % (100 * p) }}%</td></tr>{% endfor %}</table>
  {% endfor %}
  </div>
</div>
{% endif %}
<script>
document.getElementById("upload").addEventListener("submit", function (event) {
  var file = document.getElementById("photo").files[0];
  var box = document.getElementById("client-error");
  if (file && file.size > {{ max_bytes }}) {
    event.preventDefault();
    box.textContent = "The file is " + (file.size / 1048576).toFixed(1) +
      " MB; images up to {{ max_mb }} MB are accepted.";
    box.hidden = false;
  }
});
</script>
</body></html>
"""


class ModelUnavailable(Exception):
    """The model server did not answer, or answered with something that is not a prediction."""


def classify(model_url: str, image: bytes, timeout: float) -> dict:
    """Send one image to the model (Seldon v1 binData) and return its first prediction."""
    body = json.dumps({"binData": base64.b64encode(image).decode()}).encode()
    req = urllib.request.Request(  # noqa: S310 - http(s) only, see create_app
        model_url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        # The URL is the operator's setting, checked to be http(s) by create_app.
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        raise ModelUnavailable(
            f"the model answered HTTP {error.code}: {_reason(error)}"
        ) from error
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise ModelUnavailable(
            f"the model server at {model_url} did not answer ({reason})"
        ) from error
    except json.JSONDecodeError as error:
        raise ModelUnavailable("the model server answered something that is not JSON") from error
    try:
        return answer["jsonData"]["predictions"][0]
    except (KeyError, IndexError, TypeError) as error:
        raise ModelUnavailable("the model's answer has no prediction in it") from error


def _reason(error: urllib.error.HTTPError) -> str:
    """The message in a Seldon error body, or the HTTP reason."""
    try:
        status = json.loads(error.read() or b"{}").get("status", {})
        return str(status.get("info") or status.get("reason") or error.reason)
    except (ValueError, AttributeError):
        return str(error.reason)


def preview_png(image: bytes) -> str:
    """The upload as a small PNG (base64) to show beside the answer."""
    with Image.open(io.BytesIO(image)) as opened:
        thumbnail = opened.convert("RGB")
    thumbnail.thumbnail((PREVIEW_PIXELS, PREVIEW_PIXELS))
    buffer = io.BytesIO()
    thumbnail.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def create_app(
    model_url: str, max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = DEFAULT_TIMEOUT
) -> Flask:
    """The web application, talking to the Seldon model at *model_url*."""
    if not model_url.startswith(("http://", "https://")):
        raise ValueError(f"the model URL must be http(s)://..., not {model_url!r}")
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = max_bytes
    limits = {
        "max_bytes": max_bytes,
        "max_mb": f"{max_bytes / 1048576:.3g}",
        "preview": PREVIEW_PIXELS,
    }

    def page(status: int = 200, **context):
        return render_template_string(PAGE, **limits, **context), status

    @app.get("/")
    def form():
        return page()

    @app.post("/")
    def upload():
        photo = request.files.get("photo")
        if photo is None or not photo.filename:
            return page(400, error="Choose an image file to upload.")
        image = photo.read()
        try:
            prepare_image(image, 8)
        except ValueError:
            return page(
                400,
                error=f"{photo.filename} is not an image this page can read "
                "(use JPEG, PNG, WebP, GIF or BMP).",
            )
        try:
            result = classify(model_url, image, timeout)
        except ModelUnavailable as error:
            return page(502, error=f"No answer from the model: {error}. Try again later.")
        return page(result=result, preview_png=preview_png(image))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error):
        return page(413, error=f"The file is too large: images up to {limits['max_mb']} MB.")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the page (Flask's threaded server: fine for a demonstration behind a proxy)."""
    parser = argparse.ArgumentParser(prog="python -m dress_classification.webapp")
    parser.add_argument("--model-url", required=True, help="Seldon v1 predictions URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    args = parser.parse_args(argv)
    app = create_app(args.model_url, args.max_bytes, args.timeout)
    app.run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()
