"""Test helpers shared by the examples: skip-or-fail and free ports."""

from __future__ import annotations

import os
import socket

import pytest


def needs(what: str, reason: str) -> None:
    """Skip for a missing service, but fail in CI, where everything must be present."""
    message = f"{what} is not available: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
