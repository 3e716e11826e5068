"""Fixtures of the dress-classification tests.

The expensive things happen once per session: the pipeline runs locally (training both
models) and the Seldon microservice serves what it exported; the serving, web page and
browser tests all use that one model.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from examples_support import free_port, needs

EXAMPLE = Path(__file__).resolve().parent.parent
# A smaller run than the default (4,096 images, 14 + 6 epochs) to keep CI short (the whole tox
# environment took 4.5 minutes on two cores shared with other work); its bars
# (tests/test_pipeline.py) are close to the default run's. The seed is the pipeline's default,
# fixed before any result was seen; it fixes the images and the initial weights, not the
# CPU's rounding, which differs between machines (see the bars).
PIPELINE_ARGUMENTS = {
    "n_train": 1536,
    "n_test": 384,
    "length_epochs": 14,
    "color_epochs": 8,
    "seed": 1,
}


@pytest.fixture(scope="session")
def pipeline_arguments() -> dict[str, int]:
    return dict(PIPELINE_ARGUMENTS)


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory):
    """The whole pipeline run locally: (pipeline task, run directory)."""
    from dress_classification import pipeline

    root = tmp_path_factory.mktemp("kfp")
    task = pipeline.run_locally(str(root), **PIPELINE_ARGUMENTS)
    (run_dir,) = root.glob("dress-classification-*")
    return task, run_dir


@pytest.fixture(scope="session")
def exported_model(pipeline_run) -> Path:
    task, _ = pipeline_run
    return Path(task.outputs["Output"].path)


def serving_python() -> str:
    """The interpreter of the Seldon environment (serving/requirements.txt)."""
    python = os.environ.get("DRESS_SERVING_PYTHON", "")
    if not python or not Path(python).exists():
        needs(
            "the Seldon serving environment",
            "set DRESS_SERVING_PYTHON to a Python with serving/requirements.txt installed "
            "(tox -e examples-dress creates it)",
        )
    return python


class ModelServer:
    """seldon-core-microservice serving the exported models on loopback."""

    def __init__(self, model_uri: str, extra_env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"seldon-{self.port}.log"
        parameters = [{"name": "model_uri", "value": model_uri, "type": "STRING"}]
        env = {
            **os.environ,
            **(extra_env or {}),
            "PYTHONPATH": str(EXAMPLE),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
        command = [
            serving_python(),
            "-m",
            "dress_classification.loopback",
            "dress_classification.serving.DressClassifier",
            "--service-type=MODEL",
            f"--http-port={self.port}",
            f"--grpc-port={free_port()}",
            f"--metrics-port={free_port()}",
            f"--parameters={json.dumps(parameters)}",
        ]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the model server exited:\n{self.log.read_text()[-3000:]}")
            try:
                status = f"{self.url}/health/status"
                with urllib.request.urlopen(status, timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"the model server did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Stop the server and the worker processes it forked (its own process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="session")
def model_server(exported_model):
    """Base URL of the Seldon model serving the pipeline's export."""
    server = ModelServer(str(exported_model))
    try:
        server.wait_ready()
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def predictions_url(model_server) -> str:
    return f"{model_server}/api/v1.0/predictions"


class SilentServer:
    """Accepts connections and never answers: a model server that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self):
        for connection in self.held:
            connection.close()
        self.sock.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield f"http://127.0.0.1:{server.port}/api/v1.0/predictions"
    server.close()
