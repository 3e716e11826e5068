import datetime
from pathlib import Path

import pytest
import yaml
from ops import testing

from charm import SeldonCoreCharm
from dsplib import certificates

pytest_plugins = ["dsplib.testing", "dsplib.fuzz", "pytest_ceph_rgw", "pytest_tinyproxy"]

MODEL = testing.Model(name="kubeflow", uuid="3a8e9a4d-6c4a-4b8f-9a3e-0d6c2f1e5b7a")
NOW = datetime.datetime.now(datetime.timezone.utc)
CHARMCRAFT = yaml.safe_load(Path("charmcraft.yaml").read_text())
CONFIG_DEFAULTS = {k: v["default"] for k, v in CHARMCRAFT["config"]["options"].items()}


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(SeldonCoreCharm, app_name="seldon-core")


@pytest.fixture(scope="session")
def webhook_cert() -> certificates.WebhookCertificate:
    names = certificates.service_dns_names("seldon-webhook-service", MODEL.name)
    return certificates.generate(names, NOW)


@pytest.fixture
def cert_secret(webhook_cert: certificates.WebhookCertificate) -> testing.Secret:
    return testing.Secret(webhook_cert.to_content(), label="webhook-certificate", owner="app")
