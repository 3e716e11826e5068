"""Local-mode Spark for the example's tests: pyspark from PyPI and a Java 17+ runtime."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(EXAMPLE))


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local Spark session (2 cores, no UI) for every test of the session."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        message = "Spark needs a Java runtime: apt-get install openjdk-17-jre-headless"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("sales-aggregation-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    yield session
    session.stop()
