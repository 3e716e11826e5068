"""Keep the HTTP stack's request tracing out of Juju's debug log.

Under Juju, ops hands every log record of a hook or action to a `juju-log` process. The HTTP
libraries under lightkube and our S3 client trace each request at DEBUG (about ten records per
request: connection, headers, body, close), so a hook that makes a few API calls, or a backup
of thousands of objects, would spawn thousands of processes for records nobody reads. Their
warnings and errors still come through; the charms' own records are untouched.
"""

from __future__ import annotations

import logging

# Loggers of the HTTP stack (httpx2/httpcore2 under lightkube 1.0 and dsplib.s3, their
# httpx/httpcore ancestors, the HTTP/2 and HTTP/1.1 codecs, and the websocket client
# that ops' Pebble client may use), found by importing them and listing
# logging.root.manager.loggerDict after a request.
TRANSPORT_LOGGERS = (
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
    "h11",
    "h2",
    "hpack",
    "websocket",
    "urllib3",
)


def quiet_transport_loggers(level: int = logging.WARNING) -> None:
    """Raise the HTTP stack's loggers to `level`; child loggers inherit it."""
    for name in TRANSPORT_LOGGERS:
        logging.getLogger(name).setLevel(level)
