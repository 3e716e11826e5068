"""Try the whole thing on one machine: the Seldon model server and the web page.

    python -m dress_classification.serve_local [--model DIR] [--port 8080]

Serves the newest export of a local pipeline run (``local_outputs/``) unless --model says
otherwise. The model server runs with the Python in DRESS_SERVING_PYTHON (an environment with
serving/requirements.txt; ``tox -e examples-dress-serve`` provides it).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent


def newest_export(outputs: Path) -> Path:
    """The exported models of the most recent local pipeline run."""
    runs = sorted(outputs.glob("dress-classification-*/export-models/exported"))
    if not runs:
        sys.exit(f"no exported models under {outputs}: run the pipeline first")
    return runs[-1]


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_model_server(model: Path, port: int) -> subprocess.Popen:
    """seldon-core-microservice with our model class, in its own process group."""
    python = os.environ.get("DRESS_SERVING_PYTHON", sys.executable)
    parameters = json.dumps([{"name": "model_uri", "value": str(model), "type": "STRING"}])
    env = {**os.environ, "PYTHONPATH": str(EXAMPLE), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen(  # noqa: S603 - fixed command, our own arguments
        [
            python,
            "-m",
            "dress_classification.loopback",
            "dress_classification.serving.DressClassifier",
            "--service-type=MODEL",
            f"--http-port={port}",
            f"--grpc-port={free_port()}",
            f"--metrics-port={free_port()}",
            f"--parameters={parameters}",
        ],
        env=env,
        start_new_session=True,
    )


def wait_until_ready(server: subprocess.Popen, url: str, timeout: float = 180) -> None:
    """Block until the model answers its health check (or fail if it died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("the model server exited; see its output above")
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310 - our loopback URL
                return
        except OSError:
            time.sleep(0.5)
    sys.exit("the model server did not become ready")


def main(argv: list[str] | None = None) -> int:
    """Start both servers; Ctrl-C stops both."""
    parser = argparse.ArgumentParser(prog="python -m dress_classification.serve_local")
    parser.add_argument("--model", type=Path, help="exported models (default: newest run)")
    parser.add_argument("--outputs", type=Path, default=Path("local_outputs"))
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    model = args.model or newest_export(args.outputs)
    # Stop cleanly (and stop the model server) on SIGTERM as on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    model_port = free_port()
    server = start_model_server(model, model_port)
    try:
        wait_until_ready(server, f"http://127.0.0.1:{model_port}/health/ping")
        from dress_classification.webapp import create_app

        url = f"http://127.0.0.1:{model_port}/api/v1.0/predictions"
        print(f"model {model} at {url}\nopen http://127.0.0.1:{args.port}/", flush=True)
        create_app(url).run(host="127.0.0.1", port=args.port, threaded=True)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
