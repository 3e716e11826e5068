"""The page in a real browser (headless Chromium from Debian) against the served model.

The pictures are the ones the README tells a user to make, made by running the README's
own commands; nothing here looks at the model's answers before choosing an image. Set
DSP_DRESS_SCREENSHOTS to a directory to keep the screenshots (the README's come from
`DSP_DRESS_SCREENSHOTS=examples/dress-classification/docs ./dev tox -e examples-dress`).
"""

import base64
import os
import re
import shlex
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from examples_support import needs
from werkzeug.serving import make_server

from dress_classification.webapp import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
EXAMPLE = Path(__file__).resolve().parent.parent
REPOSITORY = EXAMPLE.parent.parent
SAMPLE_COMMAND = "./dev tox -e examples-dress-sample -- "
# What each picture the README makes must show: (length, color), or None for "not sure".
EXPECTED = {"dress.png": ("maxi", "red"), "noise.png": None}


def readme_sample_commands() -> dict[str, list[str]]:
    """The README's commands that make pictures, by the file each writes."""
    commands = {}
    for line in (EXAMPLE / "README.md").read_text().splitlines():
        if line.startswith(SAMPLE_COMMAND):
            words = shlex.split(line, comments=True)
            commands[words[-1]] = words
    return commands


@pytest.fixture(scope="module")
def readme_pictures(tmp_path_factory) -> dict[str, Path]:
    """Run the README's picture commands exactly as written, from the repository root."""
    commands = readme_sample_commands()
    assert set(commands) == set(EXPECTED), "the README's sample commands changed"
    keep = tmp_path_factory.mktemp("pictures")
    # the nested ./dev must not inherit this tox run's variables
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOX_", "VIRTUAL_ENV"))}
    pictures = {}
    for name, words in commands.items():
        target = EXAMPLE / name
        existed = target.exists()
        saved = target.read_bytes() if existed else None
        subprocess.run(words, cwd=REPOSITORY, env=env, check=True, timeout=600)
        pictures[name] = keep / name
        shutil.copyfile(target, pictures[name])
        if saved is None:
            target.unlink()
        else:
            target.write_bytes(saved)
    return pictures


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
        "--window-size=1100,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where screenshots go: DSP_DRESS_SCREENSHOTS, or a temporary directory."""
    chosen = os.environ.get("DSP_DRESS_SCREENSHOTS")
    directory = (REPOSITORY / chosen).resolve() if chosen else tmp_path_factory.mktemp("screens")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def choose(browser, page_url, path):
    from selenium.webdriver.common.by import By

    browser.get(page_url)
    browser.find_element(By.ID, "photo").send_keys(str(path))


def submit(browser, page_url, path):
    from selenium.webdriver.common.by import By

    choose(browser, page_url, path)
    browser.find_element(By.ID, "submit").click()


def text_of(browser, element_id):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 60).until(
        expected_conditions.visibility_of_element_located((By.ID, element_id))
    )
    return browser.find_element(By.ID, element_id).text


def script(browser, code, *arguments):
    return browser.execute_script(code, *arguments)


def test_the_empty_page(browser, page_url, screenshots):
    browser.get(page_url)
    assert browser.find_element("tag name", "h1").text == "What dress is this?"
    assert "drag an image here" in text_of(browser, "drop-hint")
    assert script(browser, "return document.getElementById('chosen').hidden") is True
    browser.save_screenshot(str(screenshots / "empty.png"))


def test_the_readme_dress_is_classified_as_the_readme_says(
    browser, page_url, readme_pictures, screenshots
):
    submit(browser, page_url, readme_pictures["dress.png"])
    assert text_of(browser, "length-label") == EXPECTED["dress.png"][0]
    assert text_of(browser, "color-label") == EXPECTED["dress.png"][1]
    assert text_of(browser, "verdict") == "A maxi dress in red."
    assert 0 < int(text_of(browser, "color-confidence")) <= 100
    preview = browser.find_element("id", "preview")
    assert script(browser, "return arguments[0].naturalWidth", preview) > 0
    # the choice is kept after the answer, with its preview
    assert script(browser, "return document.getElementById('photo').files[0].name") == (
        "dress.png"
    )
    assert script(browser, "return document.getElementById('chosen').hidden") is False
    # the two probability tables line up: same width, same column positions
    boxes = script(
        browser,
        "return ['length', 'color'].map(t => {"
        " const table = document.getElementById(t + '-table');"
        " const cells = table.rows[0].cells;"
        " return [table.getBoundingClientRect().width, table.getBoundingClientRect().top,"
        " cells[1].getBoundingClientRect().left - table.getBoundingClientRect().left,"
        " cells[2].getBoundingClientRect().left - table.getBoundingClientRect().left]; })",
    )
    assert boxes[0] == pytest.approx(boxes[1], abs=1)
    browser.save_screenshot(str(screenshots / "result.png"))


def test_noise_shows_not_sure(browser, page_url, readme_pictures, screenshots):
    submit(browser, page_url, readme_pictures["noise.png"])
    assert text_of(browser, "not-sure").startswith("Not sure")
    assert not browser.find_elements("id", "verdict")
    browser.save_screenshot(str(screenshots / "not-sure.png"))


def test_a_chosen_or_dropped_image_is_previewed_before_classifying(
    browser, page_url, readme_pictures
):
    choose(browser, page_url, readme_pictures["dress.png"])
    assert script(browser, "return document.getElementById('chosen').hidden") is False
    assert not browser.find_elements("id", "length-label")
    browser.get(page_url)
    encoded = base64.b64encode(readme_pictures["dress.png"].read_bytes()).decode()
    script(
        browser,
        "const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));"
        "const transfer = new DataTransfer();"
        "transfer.items.add(new File([bytes], 'dropped.png', {type: 'image/png'}));"
        "const drop = new DragEvent('drop', {dataTransfer: transfer, bubbles: true,"
        " cancelable: true});"
        "document.getElementById('drop').dispatchEvent(drop);",
        encoded,
    )
    assert script(browser, "return document.getElementById('photo').files[0].name") == (
        "dropped.png"
    )
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(
        lambda b: script(b, "return document.getElementById('chosen').naturalWidth") > 0
    )
    browser.find_element("id", "submit").click()
    assert text_of(browser, "length-label") == "maxi"


def test_uploading_a_text_file_shows_an_error(browser, page_url, tmp_path, screenshots):
    path = tmp_path / "notes.txt"
    path.write_text("this is not a photo\n")
    submit(browser, page_url, path)
    message = text_of(browser, "error")
    assert "notes.txt is not an image" in message and "use JPEG, PNG" in message
    assert not re.search(r"https?://|Errno", message)
    browser.save_screenshot(str(screenshots / "error.png"))


def test_an_oversized_file_is_stopped_before_upload(browser, page_url, tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(b"\x89PNG" + bytes(400_000))
    choose(browser, page_url, path)
    assert "Choose a smaller image" in text_of(browser, "client-error")
    browser.find_element("id", "submit").click()
    assert not browser.find_elements("id", "error")
