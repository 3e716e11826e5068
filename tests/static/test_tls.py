"""overlays/tls.yaml: the gateway's certificate, Dex's https issuer, and the company-CA variant.

test_bundle.py already checks that its relation joins endpoints of one interface and that its
channel is pinned; these check what HTTPS at the entrance needs on top: the certificate is
requested for the very host Dex's issuer names, and manual-tls-certificates (the company CA)
fits in place of self-signed-certificates.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from bundles import ROOT, endpoints_of, load, merge

BUNDLE = ROOT / "bundle.yaml"
OVERLAY = ROOT / "overlays" / "tls.yaml"
PROVIDERS = ("self-signed-certificates", "manual-tls-certificates")


def certificate_problems(deployment: dict) -> list[str]:
    """What stops the gateway from serving HTTPS for the name Dex announces."""
    apps = deployment["applications"]
    problems = []
    pilot_options = apps["istio-pilot"].get("options") or {}
    issuer = str((apps["dex-auth"].get("options") or {}).get("issuer-url", ""))
    url = urlsplit(issuer)
    if url.scheme != "https" or url.path != "/dex":
        problems.append(f"dex-auth issuer-url {issuer!r} is not https://<host>/dex")
    if url.hostname != pilot_options.get("csr-domain-name"):
        problems.append(
            f"istio-pilot csr-domain-name {pilot_options.get('csr-domain-name')!r} is not the "
            f"issuer's host {url.hostname!r}: the certificate would not match"
        )
    providers = [
        end
        for relation in deployment["relations"]
        if "istio-pilot:certificates" in relation
        for end in relation
        if end != "istio-pilot:certificates"
    ]
    if len(providers) != 1:
        problems.append(f"istio-pilot:certificates needs one provider, has {providers}")
    else:
        app, _, endpoint = providers[0].partition(":")
        role, interface = endpoints_of(apps[app]).get(endpoint, ("", ""))
        if (role, interface) != ("provides", "tls-certificates"):
            problems.append(f"{providers[0]} provides no tls-certificates")
    return problems


def with_provider(charm: str) -> dict:
    """The bundle with tls.yaml, with the certificate application deploying another charm."""
    deployment = merge(load(BUNDLE), load(OVERLAY))
    deployment["applications"]["self-signed-certificates"]["charm"] = charm
    return deployment


@pytest.mark.parametrize("charm", PROVIDERS)
def test_the_gateway_gets_a_certificate_for_the_issuers_host(charm: str):
    assert certificate_problems(with_provider(charm)) == []


def test_a_certificate_for_another_name_than_the_issuer_fails():
    deployment = with_provider("self-signed-certificates")
    deployment["applications"]["istio-pilot"]["options"]["csr-domain-name"] = "other.example.com"
    (problem,) = certificate_problems(deployment)
    assert "the certificate would not match" in problem


def test_an_http_issuer_fails():
    deployment = with_provider("self-signed-certificates")
    deployment["applications"]["dex-auth"]["options"]["issuer-url"] = (
        "http://kubeflow.example.com/dex"
    )
    assert any("is not https" in p for p in certificate_problems(deployment))


def test_a_provider_without_tls_certificates_fails():
    deployment = with_provider("s3-integrator")
    deployment["relations"] = [
        ["istio-pilot:certificates", "self-signed-certificates:s3-credentials"]
        if "istio-pilot:certificates" in r
        else r
        for r in deployment["relations"]
    ]
    (problem,) = certificate_problems(deployment)
    assert "provides no tls-certificates" in problem


def test_the_bundle_alone_serves_plain_http():
    """Without the overlay Dex keeps its in-cluster issuer: tls.yaml is what turns HTTPS on."""
    assert certificate_problems(load(BUNDLE))
