"""tools/juju_helper.py: what deploy.sh and `./dev wait` read from Juju's JSON."""

from __future__ import annotations

import subprocess

import pytest
from fake_support import FakeJuju

from juju_helper import has_model, main, related

UNRELATED = {
    "applications": {
        "dex-auth": {
            "relations": {"ingress": [{"related-application": "istio-pilot"}]},
            "endpoint-bindings": {"": "alpha", "ldap": "alpha", "ingress": "alpha"},
        }
    }
}


def test_endpoint_bindings_do_not_count_as_a_relation():
    assert not related(UNRELATED, "dex-auth", "ldap")
    assert related(UNRELATED, "dex-auth", "ingress")


@pytest.mark.parametrize(
    "entry",
    [
        {"related-application": "ldap-integrator", "interface": "ldap", "scope": "global"},
        "ldap-integrator",  # Juju 2.9's form
    ],
)
def test_a_related_directory_counts_in_either_format(entry):
    status = {"applications": {"dex-auth": {"relations": {"ldap": [entry]}}}}
    assert related(status, "dex-auth", "ldap")
    assert not related(status, "oidc-gatekeeper", "ldap")


def test_has_model_matches_the_name_not_a_prefix():
    listing = {"models": [{"name": "admin/kubeflow-dev", "short-name": "kubeflow-dev"}]}
    assert has_model(listing, "kubeflow-dev")
    assert not has_model(listing, "kubeflow")


def test_wait_reports_a_time_out(fake_juju: FakeJuju, capsys: pytest.CaptureFixture[str]):
    subprocess.run(["juju", "add-model", "kubeflow"], check=True)  # noqa: S607
    fake_juju.update(deploy_outcome={"kfp-api": ["waiting"]})
    subprocess.run(["juju", "deploy", "kfp-api", "-m", "kubeflow"], check=True)  # noqa: S607
    code = main(["wait", "--model", "kubeflow", "--timeout", "0.3", "--delay", "0.05"])
    assert code == 1
    assert "not active within" in capsys.readouterr().err
    assert ["status", "--model", "kubeflow", "--format", "json"] in fake_juju.calls()
