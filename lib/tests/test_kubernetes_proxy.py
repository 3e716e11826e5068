"""The Kubernetes API is reached directly, whatever proxy the hook's environment names.

Juju's legacy `http-proxy`/`https-proxy` model keys export HTTP_PROXY/HTTPS_PROXY to hooks
(juju/juju worker/uniter/runner/context/context.go, `HookVars` starts from
`legacyProxySettings.AsEnvironmentValues()`); httpx, under lightkube, would send API calls
through them. A stand-in API server on loopback and a real proxy (tinyproxy) show which way
the request went.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from dsplib.kubernetes import KubernetesObjects
from tinyproxy import TinyProxy


class _ApiServer(BaseHTTPRequestHandler):
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.paths.append(self.path)
        body = json.dumps(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeflow"}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A loopback "API server" named by KUBECONFIG; yields the paths it was asked for."""
    _ApiServer.paths = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ApiServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}
        ],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    monkeypatch.setenv("KUBECONFIG", str(path))
    try:
        yield _ApiServer.paths
    finally:
        server.shutdown()
        server.server_close()


def test_api_calls_never_go_through_the_proxy(
    api_server: list[str], tinyproxy: TinyProxy, monkeypatch: pytest.MonkeyPatch
):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, tinyproxy.url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUJU_CHARM_HTTP_PROXY", tinyproxy.url)
    monkeypatch.setenv("JUJU_CHARM_HTTPS_PROXY", tinyproxy.url)
    from lightkube.resources.core_v1 import Namespace

    namespace = KubernetesObjects("demo", "kubeflow").client.get(Namespace, "kubeflow")
    assert namespace.metadata is not None and namespace.metadata.name == "kubeflow"
    assert api_server == ["/api/v1/namespaces/kubeflow"]
    assert tinyproxy.requests() == []
