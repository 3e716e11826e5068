"""The HTTP stack's request tracing stays out of the log; its warnings and ours do not."""

import http.server
import logging
import threading
from collections.abc import Iterator

import pytest

import dsplib
from dsplib.logs import TRANSPORT_LOGGERS


@pytest.fixture
def http_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format, *args):
        pass


def test_a_request_through_the_kubernetes_client_stack_logs_nothing(
    http_url: str, caplog: pytest.LogCaptureFixture
):
    """Lightkube 1.0 speaks through httpx2/httpcore2, which trace ~10 records per request."""
    import httpx2

    caplog.set_level(logging.DEBUG)  # ops sets the root logger to DEBUG under Juju
    with httpx2.Client() as client:
        for _ in range(5):
            assert client.get(http_url).status_code == 200
    assert [r.name for r in caplog.records] == []


def test_the_stack_without_dsplib_would_have_logged(
    http_url: str, caplog: pytest.LogCaptureFixture
):
    """The check above can fail: with the levels reset, the same requests are traced."""
    import httpx2

    caplog.set_level(logging.DEBUG)
    dsplib.quiet_transport_loggers(logging.NOTSET)
    try:
        with httpx2.Client() as client:
            client.get(http_url)
    finally:
        dsplib.quiet_transport_loggers()
    assert {r.name.split(".")[0] for r in caplog.records} >= {"httpx2", "httpcore2"}


def test_warnings_of_the_stack_and_the_charms_own_records_stay(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    for name in TRANSPORT_LOGGERS:
        logging.getLogger(f"{name}.sub").warning("%s trouble", name)
    logging.getLogger("charm").debug("reconciled")
    assert len(caplog.records) == len(TRANSPORT_LOGGERS) + 1
