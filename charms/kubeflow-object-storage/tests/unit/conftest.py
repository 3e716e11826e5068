import socket
from pathlib import Path

import pytest
import yaml
from ops import testing

from charm import KubeflowObjectStorageCharm

# The real Ceph RADOS Gateway (ceph_rgw, ceph_rgw_https, ceph_cluster): see tests/ceph/README.md;
# a real HTTP proxy (tinyproxy, refusing_tinyproxy): see tests/proxy/pytest_tinyproxy.py.
pytest_plugins = ["dsplib.testing", "dsplib.fuzz", "pytest_ceph_rgw", "pytest_tinyproxy"]

MODEL = testing.Model(name="kubeflow")
CHARMCRAFT = yaml.safe_load(Path("charmcraft.yaml").read_text())
CONFIG_DEFAULTS = {k: v["default"] for k, v in CHARMCRAFT["config"]["options"].items()}
# Names the tests give the loopback gateway, as a site would give its RGW a DNS name or an IP.
GATEWAY_NAME = "localhost"  # radosgw answers path-style requests for its dns name only
GATEWAY_ADDRESS = "192.0.2.10"


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(KubeflowObjectStorageCharm, app_name="kubeflow-object-storage")


@pytest.fixture
def gateway_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolve GATEWAY_ADDRESS (a documentation address) to the test gateway on 127.0.0.1."""
    resolve = socket.getaddrinfo

    def to_loopback(host, *args, **kwargs):
        if host == GATEWAY_ADDRESS:
            host = "127.0.0.1"
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", to_loopback)
