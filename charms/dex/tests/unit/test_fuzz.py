"""Hooks never crash, whatever the config, relation data and API faults (dsplib.fuzz)."""

import json
from pathlib import Path

import pytest
from hypothesis import strategies as st
from ops import testing

import dex
from charm import DexCharm
from dsplib import certificates, fuzz
from dsplib.validation import InvalidConfig

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


# -- failing examples the fuzzing found, kept as regression tests ---------------------------

BIND = fuzz.Sensitive("ZbindPasswordNeverShown1")


def ldap_relation(**changes: str) -> tuple[testing.Relation, testing.Secret]:
    secret = testing.Secret(tracked_content={"password": BIND.value})
    data = {
        "urls": '["ldap://glauth-k8s.kubeflow.svc.cluster.local:3893"]',
        "ldaps_urls": "[]",
        "base_dn": "dc=glauth,dc=com",
        "bind_dn": "cn=dex-auth,ou=kubeflow,dc=glauth,dc=com",
        "bind_password_secret": secret.id,
        "auth_method": "simple",
        "starttls": "True",
        **changes,
    }
    return testing.Relation("ldap", remote_app_name="glauth-k8s", remote_app_data=data), secret


@pytest.mark.parametrize(
    "changes", [{"urls": "[1]"}, {"ldaps_urls": '[{"url": 1}]'}, {"urls": '[null, "ldap://x"]'}]
)
def test_ldap_url_lists_holding_non_strings_block_instead_of_crashing_the_library(kube, changes):
    """Charmlibs' ldap library called `startswith` on every item in its own handler."""
    relation, secret = ldap_relation(**changes)
    ctx = testing.Context(DexCharm, app_name="dex-auth")
    state = testing.State(
        leader=True,
        relations={relation},
        secrets={secret},
        containers={testing.Container("dex", can_connect=True)},
    )
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state)
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith("ldap: ")
    assert BIND.value not in out.unit_status.message


@pytest.mark.parametrize("versions", ["yes", "1", "1.5"])
def test_oidc_client_versions_that_are_a_yaml_scalar_block_naming_the_relation(kube, versions):
    """A scalar `_supported_versions` raised TypeError in dsplib.sdi and the hook failed."""
    relation = testing.Relation(
        "oidc-client",
        remote_app_name="oidc-gatekeeper",
        remote_app_data={"_supported_versions": versions, "data": "id: x\n"},
    )
    ctx = testing.Context(DexCharm, app_name="dex-auth")
    state = testing.State(
        leader=True, relations={relation}, containers={testing.Container("dex", can_connect=True)}
    )
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state)
    assert out.unit_status.name == "blocked"
    assert "oidc-client" in out.unit_status.message


@pytest.mark.parametrize("connectors", ["2024-13-45", "- !!float x\n", "[" * 3000])
def test_connectors_pyyaml_cannot_construct_are_invalid_config(connectors):
    """`2024-13-45` raised ValueError from PyYAML's date constructor in config-changed."""
    with pytest.raises(InvalidConfig, match="config connectors"):
        dex.parse_connectors(connectors)
