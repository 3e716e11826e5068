"""Hooks never crash, whatever the config, relation data and Kubernetes API faults (dsplib.fuzz)."""

import json
from pathlib import Path

from hypothesis import strategies as st

from charm import DexCharm
from dsplib import certificates, fuzz

CA = certificates.generate(certificates.service_dns_names("ldap", "directory")).ca
OIDC_CLIENT = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["authservice-oidc", "kfp"]),
        "name": st.sampled_from(["Ambassador Auth OIDC", "x"]),
        "redirectURIs": st.sampled_from([["/authservice/oidc/callback"], []]),
        "secret": fuzz.secret_token(),
    }
)
LDAP = fuzz.Contract(
    app={
        "urls": fuzz.json_of(st.sampled_from([["ldap://ldap.example:389"], []])),
        "ldaps_urls": fuzz.json_of(st.sampled_from([["ldaps://ldap.example:636"], []])),
        "base_dn": st.sampled_from(["dc=example,dc=org", "ou=people,dc=corp"]),
        "bind_dn": st.sampled_from(["cn=dex,ou=svc,dc=example,dc=org"]),
        "bind_password_secret": st.builds(
            fuzz.JujuSecret, st.fixed_dictionaries({"password": fuzz.secret_token()})
        ),
        "auth_method": st.sampled_from(["simple"]),
        "starttls": st.sampled_from(["True", "False", "true"]),
    }
)
CA_TRANSFER = fuzz.Contract(
    app={"certificates": fuzz.json_of(st.sampled_from([[CA], []]))},
    unit={"ca": st.just(CA), "certificate": st.just(CA), "chain": fuzz.json_of(st.just([CA]))},
)

SPEC = fuzz.CharmSpec(
    DexCharm,
    app="dex-auth",
    charm_dir=Path(__file__).parents[2],
    relations={
        "oidc-client": fuzz.sdi(OIDC_CLIENT),
        "ingress": fuzz.sdi(),
        "ldap": LDAP,
        "receive-ca-cert": CA_TRANSFER,
        "logging": fuzz.LOKI,
    },
    config={
        "issuer-url": st.sampled_from(["https://kubeflow.example.com/dex", "http://10.0.0.1/dex"]),
        "public-url": st.sampled_from(["https://kubeflow.example.com"]),
        "log-level": st.sampled_from(["debug", "info", "error"]),
        "connectors": st.sampled_from(
            [
                json.dumps([{"type": "github", "id": "gh", "name": "GitHub", "config": {}}]),
                "- type: mockCallback\n  id: mock\n  name: Mock\n",
            ]
        ),
        "static-username": st.sampled_from(["admin", "user@example.com"]),
        "static-password": fuzz.secret_token(),
        "ldap-schema": st.sampled_from(["openldap", "active-directory"]),
        "ldap-user-base-dn": st.sampled_from(["ou=people,dc=example,dc=org"]),
        "ldap-user-filter": st.sampled_from(["(objectClass=person)"]),
        "ldap-group-base-dn": st.sampled_from(["ou=groups,dc=example,dc=org"]),
        "ldap-ca-cert": st.just(CA),
    },
)


def test_hooks_hold_their_properties():
    fuzz.check_hooks(SPEC)

