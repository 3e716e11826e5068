"""The life dex's upgrade fixtures record (tools/record_state.py, test_upgrade_states.py).

The leader as the bundle deploys it (app dex-auth) with a static user, oidc-gatekeeper's
client, istio-pilot's ingress, an LDAP directory (glauth-k8s) and COS.
"""

from __future__ import annotations

import bcrypt
import pytest
import yaml
from ops import testing

from charm import DexCharm
from dsplib import upgrade_states

CHARM = DexCharm
APP = "dex-auth"
# A bcrypt salt: 22 characters of bcrypt's base64 alphabet.
SALT = b"UpgradeStateRecording."


def deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    """The static password's bcrypt hash with a fixed salt instead of a random one."""
    monkeypatch.setattr(
        bcrypt, "gensalt", lambda rounds=12, prefix=b"2b": b"$2b$%02d$%s" % (rounds, SALT)
    )


def scenario() -> upgrade_states.Scenario:
    bind = testing.Secret(
        tracked_content={"password": "bind-password"}, label="relation-7-bind-account-secret"
    )
    client = {
        "id": "authservice-oidc",
        "name": "Ambassador Auth OIDC",
        "redirectURIs": ["/authservice/oidc/callback"],
        "secret": "gatekeeper-client-secret",
    }
    relations = {
        testing.Relation(
            "oidc-client",
            id=1,
            remote_app_name="oidc-gatekeeper",
            remote_app_data={"_supported_versions": "- v1\n", "data": yaml.safe_dump(client)},
        ),
        testing.Relation("dex-oidc-config", id=2, remote_app_name="oidc-gatekeeper"),
        testing.Relation(
            "ingress",
            id=3,
            remote_app_name="istio-pilot",
            remote_app_data={"_supported_versions": "- v1\n"},
        ),
        testing.Relation(
            "ldap",
            id=7,
            remote_app_name="glauth-k8s",
            remote_app_data={
                "urls": '["ldap://glauth-k8s.kubeflow.svc.cluster.local:3893"]',
                "ldaps_urls": "[]",
                "base_dn": "dc=glauth,dc=com",
                "bind_dn": "cn=dex-auth,ou=kubeflow,dc=glauth,dc=com",
                "bind_password_secret": bind.id,
                "auth_method": "simple",
                "starttls": "True",
            },
        ),
    } | upgrade_states.cos_relations(4)
    state = testing.State(
        leader=True,
        model=testing.Model(name="kubeflow", uuid=upgrade_states.MODEL_UUID),
        config={"static-username": "admin@example.com", "static-password": "admin-password"},
        relations=relations,
        secrets={bind},
        containers={testing.Container("dex", can_connect=True)},
    )
    return upgrade_states.Scenario(app=APP, state=state, events=upgrade_states.full_events(state))
