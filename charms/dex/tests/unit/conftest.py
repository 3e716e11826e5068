import datetime
from pathlib import Path

import pytest
import yaml
from ops import testing

from charm import DexCharm

pytest_plugins = ["dsplib.testing", "dsplib.fuzz", "samba_ad"]

MODEL = testing.Model(name="kubeflow", uuid="7c1e4b2a-9d3f-4e8a-b6c5-2f0a1d9e8b7c")
NOW = datetime.datetime.now(datetime.timezone.utc)
CHARMCRAFT = yaml.safe_load(Path("charmcraft.yaml").read_text())
CONFIG_DEFAULTS = {k: v["default"] for k, v in CHARMCRAFT["config"]["options"].items()}


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(DexCharm, app_name="dex-auth")
