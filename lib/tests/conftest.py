import sys
from pathlib import Path

import pytest
from ops import testing

from dsplib.manifests import KubernetesManifests
from dsplib.testing import FakeKubernetes

sys.path.insert(0, str(Path(__file__).parent))

from demo_charm import CONFIG, META, DemoCharm


@pytest.fixture
def kube(monkeypatch: pytest.MonkeyPatch) -> FakeKubernetes:
    fake = FakeKubernetes()
    monkeypatch.setattr(KubernetesManifests, "client_factory", staticmethod(lambda app: fake))
    return fake


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(DemoCharm, meta=META, config=CONFIG, app_name="demo")
