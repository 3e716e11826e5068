"""The Dex LDAP connector and service environment the charm renders for a provider's databag.

Shared by the tests against real directories (slapd, Samba AD): the charm runs one
relation-changed hook with an ldap relation shaped as glauth-k8s / ldap-integrator send it, and
the test reads back what Dex would read: the connector in its configuration file and the
environment of its Pebble service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from ops import testing

import dex
from conftest import MODEL


def render(
    ctx: testing.Context,
    bag: Mapping[str, str],
    config: Mapping[str, Any],
    password: str,
    relations: Iterable[testing.Relation] = (),
) -> tuple[dict[str, Any], dict[str, str]]:
    """The single LDAP connector's config and Dex's environment; `bag` lacks the secret id."""
    secret = testing.Secret(tracked_content={"password": password})
    data = {"auth_method": "simple", **bag, "bind_password_secret": secret.id}
    relation = testing.Relation("ldap", remote_app_name="ldap-integrator", remote_app_data=data)
    out = ctx.run(
        ctx.on.relation_changed(relation),
        testing.State(
            leader=True,
            model=MODEL,
            config=dict(config),
            relations={relation, *relations},
            secrets={secret},
            containers={testing.Container("dex", can_connect=True)},
        ),
    )
    fs = out.get_container("dex").get_filesystem(ctx)
    file = yaml.safe_load((fs / dex.CONFIG_PATH.lstrip("/")).read_text())
    [connector] = [c for c in file["connectors"] if c["type"] == "ldap"]
    environment = out.get_container("dex").plan.services["dex"].environment
    return connector["config"], environment
