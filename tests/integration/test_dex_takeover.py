"""Charmed Kubeflow's dex-auth taken over by our dex charm with `juju refresh` (adopt.md, step 2).

Deploys the login path of Charmed Kubeflow 1.11 with Charmhub's dex-auth 2.41/stable and a
static user, logs in through the Istio ingress gateway, then refreshes dex-auth to our charm
as docs/how-to/adopt.md says (a copy of build/dex.charm named dex-auth, tools/charm_rename.py)
and checks what the runbook promises: the unit active, the same issuer and oidc-gatekeeper
client in Dex's configuration, the static user logging in with the same password, and a
session opened before the refresh still valid after it.

The gateway must be reachable from the test machine: its LoadBalancer address, or
DSP_INGRESS_URL (e.g. http://10.64.140.43) when that is not the way in.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import time

import jubilant
import pytest
import yaml
from helpers import Browser, ingress_url
from juju_helpers import workload_file
from lightkube import Client

from conftest import BUILD, ROOT, packed

USER, PASSWORD = "admin", "takeover-pw-1"
DEX_IMAGE = "charmedkubeflow/dex:2.41.1-1d3fe19"
CHARMHUB = {
    "dex-auth": (
        "dex-auth",
        "2.41/stable",
        {"static-username": USER, "static-password": PASSWORD},
    ),
    "istio-pilot": ("istio-pilot", "1.28/stable", {"default-gateway": "kubeflow-gateway"}),
    "istio-ingressgateway": ("istio-gateway", "1.28/stable", {"kind": "ingress"}),
    "oidc-gatekeeper": ("oidc-gatekeeper", "ckf-1.10/stable", {}),
    "kubeflow-dashboard": ("kubeflow-dashboard", "1.10/stable", {}),
    "kubeflow-profiles": ("kubeflow-profiles", "1.10/stable", {}),
}
RELATIONS = [  # those of the Charmed Kubeflow 1.11 bundle between these applications
    ("istio-pilot:istio-pilot", "istio-ingressgateway:istio-pilot"),
    ("dex-auth:ingress", "istio-pilot:ingress"),
    ("dex-auth:oidc-client", "oidc-gatekeeper:oidc-client"),
    ("dex-auth:dex-oidc-config", "oidc-gatekeeper:dex-oidc-config"),
    ("oidc-gatekeeper:ingress", "istio-pilot:ingress"),
    ("oidc-gatekeeper:ingress-auth", "istio-pilot:ingress-auth"),
    ("kubeflow-dashboard:ingress", "istio-pilot:ingress"),
    ("kubeflow-dashboard:kubeflow-profiles", "kubeflow-profiles:kubeflow-profiles"),
]


@pytest.fixture(scope="module")
def charmed_kubeflow(juju: jubilant.Juju) -> jubilant.Juju:
    for app, (charm, channel, config) in CHARMHUB.items():
        juju.deploy(charm, app, channel=channel, config=config or None, trust=True)
    for first, second in RELATIONS:
        juju.integrate(first, second)
    juju.wait(jubilant.all_active, timeout=45 * 60)
    return juju


def dex_config(juju: jubilant.Juju) -> dict:
    text = workload_file(juju, "dex-auth/0", "dex", "/etc/dex/config.docker.yaml")
    return yaml.safe_load(text)


def log_in(browser: Browser) -> str:
    """Dashboard -> authservice -> Dex's password form -> back; returns the user Kubeflow sees."""
    deadline = time.monotonic() + 300
    url, page = browser.get("/")
    while "/dex/auth" not in url and time.monotonic() < deadline:
        time.sleep(10)  # the Istio routes and the authn filter take a while to appear
        url, page = browser.get("/")
    assert "/dex/auth" in url, f"no redirect to Dex: ended at {url}"
    if 'name="password"' not in page:
        links = re.findall(r'href="([^"]*/auth/local[^"]*)"', page)
        assert links, "Dex's login page offers no password login"
        url, page = browser.get(html.unescape(links[0]))
    action = re.search(r'<form[^>]*action="([^"]*)"', page)
    form = html.unescape(action.group(1)) if action and action.group(1) else url
    url, _ = browser.post(form, {"login": USER, "password": PASSWORD})
    assert "/dex/" not in url, f"login did not leave Dex: {url}"
    return whoami(browser)


def whoami(browser: Browser) -> str:
    _, body = browser.get("/api/workgroup/env-info")
    return json.loads(body)["user"]


def test_refresh_to_our_charm_keeps_issuer_client_and_logins(
    charmed_kubeflow: jubilant.Juju, kube: Client
):
    juju = charmed_kubeflow
    before = dex_config(juju)
    earlier = Browser(ingress_url(juju, kube))
    assert log_in(earlier) == USER

    renamed = BUILD / "dex-auth.charm"
    rename = [sys.executable, str(ROOT / "tools/charm_rename.py"), str(packed("dex"))]
    subprocess.run([*rename, "dex-auth", str(renamed)], check=True)  # noqa: S603
    juju.refresh("dex-auth", path=renamed, resources={"oci-image": DEX_IMAGE})
    juju.wait(
        lambda status: (
            jubilant.all_active(status) and status.apps["dex-auth"].charm_origin == "local"
        ),
        error=jubilant.any_error,
        timeout=20 * 60,
    )

    after = dex_config(juju)
    assert after["logger"]["level"] == "info"  # our charm's file, not dex-auth's (debug)
    assert after["issuer"] == before["issuer"]
    assert after["staticClients"] == before["staticClients"]
    assert [u["email"] for u in after["staticPasswords"]] == [USER]
    assert whoami(earlier) == USER  # the session of before the refresh
    assert log_in(Browser(ingress_url(juju, kube))) == USER
