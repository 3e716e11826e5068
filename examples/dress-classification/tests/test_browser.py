"""The page in a real browser (headless Chromium from Debian) against the served model."""

import base64
import json
import shutil
import threading
import urllib.request

import numpy as np
import pytest
from examples_support import needs
from werkzeug.serving import make_server

from dress_classification import data
from dress_classification.webapp import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def page_url(predictions_url):
    app = create_app(predictions_url, max_bytes=300_000)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        needs("headless Chromium", "apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def submit(browser, page_url, path):
    from selenium.webdriver.common.by import By

    browser.get(page_url)
    browser.find_element(By.ID, "photo").send_keys(str(path))
    browser.find_element(By.ID, "submit").click()


def text_of(browser, element_id):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(
        expected_conditions.visibility_of_element_located((By.ID, element_id))
    )
    return browser.find_element(By.ID, element_id).text


def a_dress_the_model_knows(predictions_url):
    """A generated maxi dress in red that the served model classifies right.

    This test is about the page, not the model (its accuracy is tested on many images):
    picking an image the model gets right makes "the page shows the truth" a firm check.
    """
    for seed in range(20):
        png = data.to_png(data.render_dress(3, 2, 160, np.random.default_rng(seed)))
        request = urllib.request.Request(
            predictions_url,
            data=json.dumps({"binData": base64.b64encode(png).decode()}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            (prediction,) = json.load(answer)["jsonData"]["predictions"]
        if (prediction["length"]["label"], prediction["color"]["label"]) == ("maxi", "red"):
            return png
    pytest.fail("the served model got none of 20 red maxi dresses right")


def test_uploading_a_dress_shows_its_length_and_color(
    browser, page_url, predictions_url, tmp_path
):
    path = tmp_path / "dress.png"
    path.write_bytes(a_dress_the_model_knows(predictions_url))
    submit(browser, page_url, path)
    assert text_of(browser, "length-label") == "maxi"
    assert text_of(browser, "color-label") == "red"
    assert 0 < int(text_of(browser, "color-confidence")) <= 100
    preview = browser.find_element("id", "preview")
    assert browser.execute_script("return arguments[0].naturalWidth", preview) > 0
    browser.save_screenshot(str(tmp_path / "result.png"))


def test_uploading_a_text_file_shows_an_error(browser, page_url, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is not a photo\n")
    submit(browser, page_url, path)
    assert "notes.txt is not an image" in text_of(browser, "error")


def test_an_oversized_file_is_stopped_before_upload(browser, page_url, tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(b"\x89PNG" + bytes(400_000))
    submit(browser, page_url, path)
    assert "images up to" in text_of(browser, "client-error")
