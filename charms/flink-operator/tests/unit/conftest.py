from pathlib import Path

import pytest
import yaml
from ops import testing

from charm import FlinkOperatorCharm

pytest_plugins = ["dsplib.testing", "dsplib.fuzz"]

MODEL = testing.Model(name="kubeflow", uuid="7a2c3d4e-5b6c-4d7e-8f90-a1b2c3d4e5f6")
CHARMCRAFT = yaml.safe_load(Path("charmcraft.yaml").read_text())
CONFIG_DEFAULTS = {k: v["default"] for k, v in CHARMCRAFT["config"]["options"].items()}


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(FlinkOperatorCharm, app_name="flink-operator")
