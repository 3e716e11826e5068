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
import logging
import urllib.error
import urllib.request

from flask import Flask, render_template_string, request
from PIL import Image
from werkzeug.exceptions import RequestEntityTooLarge

from dress_classification.data import prepare_image

logger = logging.getLogger(__name__)
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_TIMEOUT = 10.0
PREVIEW_PIXELS = 320

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Dress length and color</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:sans-serif;max-width:52em;margin:2em auto;padding:0 1em;color:#222}
.error{background:#fde8e8;border:1px solid #e0a0a0;padding:.6em 1em;border-radius:4px}
.unsure{background:#fff6dc;border:1px solid #e0c070;padding:.6em 1em;border-radius:4px}
#drop{border:2px dashed #9ab;border-radius:6px;padding:1em;display:flex;gap:1.5em;
  align-items:center;min-height:8em}
#drop.over{background:#eef4ff;border-color:#4a7bd0}
#chosen{max-width:10em;max-height:10em;border:1px solid #ccc}
.result{display:flex;gap:2em;align-items:flex-start;margin-top:1.5em}
.result img{max-width:{{ preview }}px;border:1px solid #ccc}
.tables{display:grid;grid-template-columns:repeat(2,16em);gap:2em}
.tables h2{font-size:1.15em;margin:.2em 0 .5em}
table{border-collapse:collapse;table-layout:fixed;width:16em}
td{padding:.2em .4em;text-align:left;white-space:nowrap}
td.name{width:5em}td.pct{width:4em;text-align:right}
.bar{background:#4a7bd0;height:.7em;display:inline-block}
</style></head><body>
<h1>What dress is this?</h1>
<p>Choose or drop a photo of a dress: the model tells its length (mini, knee, midi, maxi)
and its color. Images up to {{ max_mb }} MB.</p>
<form method="post" enctype="multipart/form-data" id="upload">
  <div id="drop">
    <img id="chosen" alt="the chosen image" hidden>
    <div><input type="file" name="photo" id="photo" accept="image/*" required>
    <p id="drop-hint">or drag an image here</p>
    <button type="submit" id="submit">Classify</button></div>
  </div>
</form>
<p class="error" id="client-error" hidden></p>
<div id="answer">
{% if error %}<p class="error" id="error">{{ error }}</p>{% endif %}
{% if result %}
{% if result.sure %}
<p id="verdict">A <b>{{ result.length.label }}</b> dress in <b>{{ result.color.label }}</b>.</p>
{% else %}
<p class="unsure" id="not-sure">Not sure: this may not be a dress, or the model cannot tell
from this picture. Its best guesses are below; try a photo of one whole dress, standing.</p>
{% endif %}
<div class="result">
  <img id="preview" src="data:image/png;base64,{{ preview_png }}" alt="uploaded photo">
  <div class="tables">
  {% for task in ("length", "color") %}
    {% set answer = result[task] %}
    <div>
    <h2>{{ task | capitalize }}{% if not answer.sure %} (best guess){% endif %}:
      <span id="{{ task }}-label">{{ answer.label }}</span>
      (<span id="{{ task }}-confidence">{{ "%.0f" % (100 * answer.confidence) }}</span>%)</h2>
    {% set ranked = answer.probabilities | dictsort(by="value", reverse=true) %}
    <table id="{{ task }}-table">{% for name, p in ranked %}
      <tr><td class="name">{{ name }}</td>
      <td><span class="bar" style="width:{{ (p * 6) | round(2) }}em"></span></td>
      <td class="pct">{{ "%.1f" % (100 * p) }}%</td></tr>{% endfor %}</table>
    </div>
  {% endfor %}
  </div>
</div>
{% endif %}
</div>
<script>
(function () {
  var form = document.getElementById("upload");
  var input = document.getElementById("photo");
  var drop = document.getElementById("drop");
  var chosen = document.getElementById("chosen");
  var box = document.getElementById("client-error");
  function show(file) {
    box.hidden = true;
    if (!file) { chosen.hidden = true; return; }
    if (file.size > {{ max_bytes }}) {
      box.textContent = "The file is " + (file.size / 1048576).toFixed(1) +
        " MB; images up to {{ max_mb }} MB are accepted. Choose a smaller image.";
      box.hidden = false;
    }
    chosen.src = URL.createObjectURL(file);
    chosen.hidden = false;
  }
  chosen.addEventListener("error", function () { chosen.hidden = true; });
  input.addEventListener("change", function () { show(input.files[0]); });
  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (event) {
      event.preventDefault(); drop.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      show(input.files[0]);
    }
  });
  form.addEventListener("submit", function (event) {
    var file = input.files[0];
    event.preventDefault();
    if (file && file.size > {{ max_bytes }}) { show(file); return; }
    // Send it in the background and replace only the answer: the chosen file stays chosen.
    var answer = document.getElementById("answer");
    answer.innerHTML = "<p id='working'>Classifying...</p>";
    fetch(form.action || window.location.href, {method: "POST", body: new FormData(form)})
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        answer.innerHTML = page.getElementById("answer").innerHTML;
      })
      .catch(function () {
        answer.innerHTML = "<p class='error' id='error'>The page could not reach its " +
          "server. Check your connection and try again.</p>";
      });
  });
})();
</script>
</body></html>
"""


class ModelUnavailable(Exception):
    """The model server did not answer, or answered with something that is not a prediction.

    The message is for the person at the page: what happened and what they can do, never an
    internal address or an errno (those go to the log).
    """


def classify(model_url: str, image: bytes, timeout: float) -> dict:
    """Send one image to the model (Seldon v1 binData) and return its first prediction."""
    try:
        return _classify(model_url, image, timeout)
    except ModelUnavailable as error:
        logger.warning("model at %s: %s (%r)", model_url, error, error.__cause__)
        raise


def _classify(model_url: str, image: bytes, timeout: float) -> dict:
    body = json.dumps({"binData": base64.b64encode(image).decode()}).encode()
    req = urllib.request.Request(  # noqa: S310 - http(s) only, see create_app
        model_url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        # The URL is the operator's setting, checked to be http(s) by create_app.
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        if error.code == 400:
            raise ModelUnavailable(
                f"The model could not read this image ({_reason(error)}). "
                "Try another photo, as JPEG or PNG."
            ) from error
        raise ModelUnavailable(
            f"The model failed on this image (HTTP {error.code}). "
            "Try again in a minute, or another photo."
        ) from error
    except (TimeoutError, ConnectionError, urllib.error.URLError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise ModelUnavailable(
                f"The model did not answer within {timeout:g} seconds. "
                "Try again in a minute; if it keeps happening, the model server is overloaded."
            ) from error
        raise ModelUnavailable(
            "The model server is not running or cannot be reached. Start it "
            "(locally: ./dev tox -e examples-dress-serve), or try again in a minute."
        ) from error
    except json.JSONDecodeError as error:
        raise ModelUnavailable(
            "The model server answered something that is not a prediction. "
            "Check that the page's --model-url points at the model's predictions URL."
        ) from error
    try:
        return answer["jsonData"]["predictions"][0]
    except (KeyError, IndexError, TypeError) as error:
        raise ModelUnavailable(
            "The model's answer has no prediction in it. "
            "Check that the page's --model-url points at the dress model."
        ) from error


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
            return page(400, error="Choose an image file to upload, or drop one on the box.")
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
            return page(502, error=str(error))
        return page(result=result, preview_png=preview_png(image))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error):
        return page(
            413,
            error=f"The file is too large: images up to {limits['max_mb']} MB. "
            "Choose a smaller image or save it at a lower resolution.",
        )

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
