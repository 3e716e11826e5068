import sys
from pathlib import Path

import pytest
from ops import testing

sys.path.insert(0, str(Path(__file__).parent))

from demo_charm import CONFIG, META, DemoCharm

# The real Ceph RADOS Gateway fixtures (ceph_rgw, ceph_rgw_https, ceph_cluster); pytester
# checks how they behave without Ceph.
pytest_plugins = ["dsplib.testing", "pytest_ceph_rgw", "pytest_tinyproxy", "pytester"]


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(DemoCharm, meta=META, config=CONFIG, app_name="demo")
