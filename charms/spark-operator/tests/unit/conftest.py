from pathlib import Path

import pytest
import yaml
from ops import testing

from charm import SparkOperatorCharm

pytest_plugins = ["dsplib.testing", "dsplib.fuzz", "pytest_tinyproxy"]

MODEL = testing.Model(name="kubeflow", uuid="6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e")
CHARMCRAFT = yaml.safe_load(Path("charmcraft.yaml").read_text())
CONFIG_DEFAULTS = {k: v["default"] for k, v in CHARMCRAFT["config"]["options"].items()}


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(SparkOperatorCharm, app_name="spark-operator")
