"""PyFlink's local mini-cluster for the example's tests: apache-flink from PyPI and Java 17."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(EXAMPLE))


@pytest.fixture(scope="session")
def java() -> None:
    """Flink 2.x runs on Java 11 or newer (17 is its default); CI must have one."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        message = "PyFlink needs a Java runtime: apt-get install openjdk-17-jre-headless"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
