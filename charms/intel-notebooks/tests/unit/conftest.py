from pathlib import Path

import pytest
import yaml
from ops import testing

from charm import IntelNotebooksCharm

pytest_plugins = ["dsplib.testing", "dsplib.fuzz"]

MODEL = testing.Model(name="kubeflow")
CHARMCRAFT = yaml.safe_load(Path("charmcraft.yaml").read_text())
CONFIG_DEFAULTS = {k: v["default"] for k, v in CHARMCRAFT["config"]["options"].items()}
REPO = Path(__file__).resolve().parents[4]
PODDEFAULT_CRD = yaml.safe_load((REPO / "tests/crds/poddefaults.kubeflow.org.yaml").read_text())


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(IntelNotebooksCharm, app_name="intel-notebooks")
