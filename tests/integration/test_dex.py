"""dex-auth on a real cluster: a glauth-k8s directory user logs in to the Kubeflow dashboard.

Deploys the login path of Kubeflow (istio, oidc-gatekeeper, kubeflow-dashboard and profiles)
with our dex-auth, and glauth-k8s (PostgreSQL, self-signed certificates, glauth-utils to add
users) related to dex-auth's `ldap` and `receive-ca-cert`. Then, through the Istio ingress
gateway, it follows the browser's way: dashboard -> authservice -> Dex -> "Log in with LDAP"
-> the directory user's password -> back to the dashboard, which names the user.

The gateway must be reachable from the test machine: its LoadBalancer address, or
DSP_INGRESS_URL (e.g. http://10.64.140.43) when that is not the way in.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import tempfile
import time
from pathlib import Path

import jubilant
import pytest
import yaml
from helpers import Browser, ingress_url
from juju_helpers import ACTION_WAIT, workload_file
from lightkube import Client

from conftest import ROOT, packed

USER, EMAIL, PASSWORD = "alice", "alice@example.org", "alice-wonderland-7"
GROUP = "data-scientists"
CHARMHUB = {
    "istio-pilot": ("istio-pilot", "1.28/stable", {"default-gateway": "kubeflow-gateway"}),
    "istio-ingressgateway": ("istio-gateway", "1.28/stable", {"kind": "ingress"}),
    "oidc-gatekeeper": ("oidc-gatekeeper", "ckf-1.10/stable", {}),
    "kubeflow-dashboard": ("kubeflow-dashboard", "1.10/stable", {}),
    "kubeflow-profiles": ("kubeflow-profiles", "1.10/stable", {}),
    "glauth-k8s": ("glauth-k8s", "latest/stable", {}),
    "glauth-utils": ("glauth-utils", "latest/stable", {}),
    "postgresql-k8s": ("postgresql-k8s", "14/stable", {}),
    "self-signed-certificates": ("self-signed-certificates", "latest/stable", {}),
}
RELATIONS = [
    ("istio-pilot:istio-pilot", "istio-ingressgateway:istio-pilot"),
    ("dex-auth:ingress", "istio-pilot:ingress"),
    ("dex-auth:oidc-client", "oidc-gatekeeper:oidc-client"),
    ("dex-auth:dex-oidc-config", "oidc-gatekeeper:dex-oidc-config"),
    ("oidc-gatekeeper:ingress", "istio-pilot:ingress"),
    ("oidc-gatekeeper:ingress-auth", "istio-pilot:ingress-auth"),
    ("kubeflow-dashboard:ingress", "istio-pilot:ingress"),
    ("kubeflow-dashboard:kubeflow-profiles", "kubeflow-profiles:kubeflow-profiles"),
    ("glauth-k8s:pg-database", "postgresql-k8s:database"),
    ("glauth-k8s:certificates", "self-signed-certificates:certificates"),
    ("glauth-utils:glauth-auxiliary", "glauth-k8s:glauth-auxiliary"),
    ("dex-auth:receive-ca-cert", "glauth-k8s:send-ca-cert"),
    ("dex-auth:ldap", "glauth-k8s:ldap"),
]


def users_ldif(base_dn: str = "dc=glauth,dc=com") -> str:
    """One group and one member with an email, in the form glauth-utils applies."""
    digest = hashlib.sha256(PASSWORD.encode()).hexdigest()
    return (
        f"dn: ou={GROUP},{base_dn}\nobjectClass: posixGroup\nou: {GROUP}\ngidNumber: 5601\n\n"
        f"dn: cn={USER},ou={GROUP},{base_dn}\nchangetype: add\nobjectClass: posixAccount\n"
        f"uidNumber: 5701\ngidNumber: 5601\ncn: {USER}\nsn: Liddell\nuid: {USER}\n"
        f"mail: {EMAIL}\nuserPassword: {{SHA256}}{digest}\n"
    )


@pytest.fixture(scope="module")
def deployed(juju: jubilant.Juju) -> jubilant.Juju:
    meta = yaml.safe_load((ROOT / "charms/dex/charmcraft.yaml").read_text())
    juju.deploy(
        packed("dex"),
        "dex-auth",
        resources={"oci-image": meta["resources"]["oci-image"]["upstream-source"]},
        trust=True,
    )
    for app, (charm, channel, config) in CHARMHUB.items():
        juju.deploy(charm, app, channel=channel, config=config or None, trust=True)
    for first, second in RELATIONS:
        juju.integrate(first, second)
    juju.wait(jubilant.all_active, timeout=45 * 60)
    add_directory_user(juju)
    return juju


def add_directory_user(juju: jubilant.Juju) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ldif = Path(tmp) / "users.ldif"
        ldif.write_text(users_ldif())
        juju.scp(ldif, "glauth-utils/0:/tmp/users.ldif")
    juju.run("glauth-utils/0", "apply-ldif", {"path": "/tmp/users.ldif"}, wait=ACTION_WAIT)


def open_ldap_login_form(browser: Browser) -> str:
    """From the dashboard to Dex's LDAP login form; returns the form's URL."""
    deadline = time.monotonic() + 300
    url, page = browser.get("/")
    while "/dex/auth" not in url and time.monotonic() < deadline:
        time.sleep(10)  # the Istio routes and the authn filter take a while to appear
        url, page = browser.get("/")
    assert "/dex/auth" in url, f"no redirect to Dex: ended at {url}"
    if "/dex/auth/ldap" not in url:
        links = re.findall(r'href="([^"]*/auth/ldap[^"]*)"', page)
        assert links, "Dex's login page offers no LDAP login"
        url, page = browser.get(html.unescape(links[0]))
    assert 'name="password"' in page, f"not a login form: {url}"
    action = re.search(r'<form[^>]*action="([^"]*)"', page)
    return html.unescape(action.group(1)) if action and action.group(1) else url


def test_everything_is_active_and_dex_has_the_ldap_connector(deployed: jubilant.Juju):
    status = deployed.status()
    assert status.apps["dex-auth"].app_status.current == "active"
    # The charm writes the config into the dex workload container, not its own.
    config = yaml.safe_load(
        workload_file(deployed, "dex-auth/0", "dex", "/etc/dex/config.docker.yaml")
    )
    [ldap] = [c for c in config["connectors"] if c["type"] == "ldap"]
    assert ldap["config"]["startTLS"] is True
    assert ldap["config"]["bindPW"] == "$LDAP_BIND_PW"
    assert ldap["config"]["host"].endswith(":3893")
    assert config["staticClients"][0]["redirectURIs"]


def test_a_wrong_password_stays_on_the_login_page(deployed: jubilant.Juju, kube: Client):
    browser = Browser(ingress_url(deployed, kube))
    form = open_ldap_login_form(browser)
    url, page = browser.post(form, {"login": USER, "password": "not-" + PASSWORD})
    assert "/dex/auth/ldap" in url
    assert "Invalid" in page


def test_a_directory_user_logs_in_through_the_dashboard(deployed: jubilant.Juju, kube: Client):
    browser = Browser(ingress_url(deployed, kube))
    form = open_ldap_login_form(browser)
    url, _ = browser.post(form, {"login": USER, "password": PASSWORD})
    assert "/dex/" not in url, f"login did not leave Dex: {url}"
    _, body = browser.get("/api/workgroup/env-info")
    info = json.loads(body)
    assert info["user"] == EMAIL
