"""The connector the charm renders logs people in against a real OpenLDAP server.

slapd runs on loopback with StartTLS from a test CA (see slapd.py). The charm gets an ldap
relation shaped as glauth-k8s / ldap-integrator send it, pointing at that server, and renders
Dex's configuration; dex_ldap.py then has exactly the conversation with the directory that
this connector makes Dex have. In CI (env CI set) a missing slapd fails these tests.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ops import testing

import dex
import ldap_relation
import slapd
from dex_ldap import DexLoginError, Identity, login

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[slapd.Directory]:
    with slapd.running_slapd(tmp_path_factory.mktemp("slapd")) as running:
        yield running


def render(
    ctx: testing.Context,
    directory: slapd.Directory,
    config=None,
    password: str = slapd.BIND_PASSWORD,
    **data,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Dex's LDAP connector and service environment for a provider pointing at `directory`."""
    bag = {
        "urls": f'["{directory.url}"]',
        "ldaps_urls": "[]",
        "base_dn": slapd.SUFFIX,
        "bind_dn": slapd.BIND_DN,
        "starttls": "True",
        **data,
    }
    return ldap_relation.render(
        ctx, bag, {"ldap-ca-cert": directory.ca, **(config or {})}, password
    )


@pytest.fixture
def rendered(ctx, kube, directory):
    return render(ctx, directory)


def test_the_rendered_connector_speaks_starttls_to_the_port_of_the_url(rendered, directory):
    config, environment = rendered
    assert config["host"] == f"localhost:{directory.port}"
    assert config["startTLS"] is True
    assert base64.b64decode(config["rootCAData"]).decode() == directory.ca
    assert config["bindPW"] == "$LDAP_BIND_PW"
    assert environment["LDAP_BIND_PW"] == slapd.BIND_PASSWORD


@pytest.mark.parametrize("name", sorted(slapd.HARD_BIND_PASSWORDS))
def test_any_bind_password_reaches_the_directory_unchanged(ctx, kube, directory, name):
    """Dex expands $LDAP_BIND_PW inside the connector's JSON text, then parses it."""
    password = slapd.HARD_BIND_PASSWORDS[name]
    config, environment = render(
        ctx, directory, password=password, bind_dn=slapd.hard_bind_dn(name)
    )
    assert config["bindDN"] == slapd.hard_bind_dn(name)
    identity = login(config, environment, "alice", slapd.PASSWORDS["alice"])
    assert identity is not None
    assert identity.groups == ["data-scientists", "platform-admins"]


@pytest.mark.parametrize("name", ["quote", "backslash", "escape", "newline", "mixed"])
def test_the_raw_password_in_the_environment_would_break_dex(ctx, kube, directory, name):
    """What the charm used to send: Dex exits, or binds with a different password."""
    password = slapd.HARD_BIND_PASSWORDS[name]
    config, environment = render(
        ctx, directory, password=password, bind_dn=slapd.hard_bind_dn(name)
    )
    raw = {**environment, "LDAP_BIND_PW": password}
    with pytest.raises(DexLoginError, match=r"parse connector config|initial bind"):
        login(config, raw, "alice", slapd.PASSWORDS["alice"])


def test_a_directory_user_logs_in_with_both_kinds_of_group(rendered):
    identity = login(*rendered, "alice", slapd.PASSWORDS["alice"])
    assert identity == Identity(
        user_id="alice",
        email="alice@example.org",
        username="Alice Liddell",
        preferred_username="alice",
        groups=["data-scientists", "platform-admins"],
    )


def test_a_user_in_a_posix_group_only(rendered):
    identity = login(*rendered, "bob", slapd.PASSWORDS["bob"])
    assert identity is not None
    assert identity.email == "bob@example.org"
    assert identity.groups == ["data-scientists"]


def test_a_wrong_password_is_refused(rendered):
    assert login(*rendered, "alice", slapd.PASSWORDS["bob"]) is None
    assert login(*rendered, "alice", "") is None


def test_a_missing_user_is_refused(rendered):
    assert login(*rendered, "mallory", "anything") is None
    assert login(*rendered, "*", "anything") is None  # the name is escaped, not a wildcard


def test_a_user_without_email_cannot_log_in(rendered):
    with pytest.raises(DexLoginError, match="missing required attribute"):
        login(*rendered, "carol", slapd.PASSWORDS["carol"])


def test_overrides_change_the_searches_dex_runs(ctx, kube, directory):
    rendered = render(
        ctx,
        directory,
        config={
            "ldap-username-attribute": "mail",
            "ldap-id-attribute": "DN",
            "ldap-group-membership": "DN:member",
            "ldap-group-filter": "(objectClass=groupOfNames)",
        },
    )
    identity = login(*rendered, "alice@example.org", slapd.PASSWORDS["alice"])
    assert identity is not None
    assert identity.user_id == f"uid=alice,ou=people,{slapd.SUFFIX}"
    assert identity.groups == ["platform-admins"]


def test_openldap_silently_matches_nothing_with_ads_in_chain_rule(ctx, kube, directory):
    """Why ldap-nested-groups needs ldap-schema=active-directory: no error, no groups."""
    rendered = render(
        ctx,
        directory,
        config={
            "ldap-group-membership": f"DN:member:{dex.IN_CHAIN_RULE}:",
            "ldap-group-filter": "(objectClass=groupOfNames)",
        },
    )
    identity = login(*rendered, "alice", slapd.PASSWORDS["alice"])
    assert identity is not None
    assert identity.groups == []  # platform-admins lists alice's DN in member


def test_the_server_refuses_a_client_that_skips_starttls(rendered):
    config, environment = rendered
    with pytest.raises(DexLoginError, match="initial bind"):
        login({**config, "startTLS": False, "insecureNoSSL": True}, environment, "alice", "x")


def test_without_the_ca_the_server_certificate_is_not_trusted(ctx, kube, directory):
    config, environment = render(ctx, directory, config={"ldap-ca-cert": ""})
    assert "rootCAData" not in config
    with pytest.raises(DexLoginError, match=r"start TLS failed|failed to connect"):
        login(config, environment, "alice", slapd.PASSWORDS["alice"])


def test_a_wrong_bind_password_fails_the_initial_bind(ctx, kube, directory):
    config, environment = render(ctx, directory)
    with pytest.raises(DexLoginError, match="initial bind"):
        login(config, {**environment, "LDAP_BIND_PW": "wrong"}, "alice", slapd.PASSWORDS["alice"])


def test_slapd_log_is_kept_for_diagnosis(directory):
    assert Path(directory.log).exists()
