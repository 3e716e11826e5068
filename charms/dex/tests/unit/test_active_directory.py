"""The connector the charm renders logs people in against a real Active Directory DC.

A Samba AD DC (samba_ad.py) stands in for a customer's domain: LDAPS and StartTLS with a
certificate from an enterprise CA, simple binds refused without TLS, accounts with and
without mail or displayName, a disabled account, a DN with an escaped comma and groups nested
two deep (platform > admins > ops). The charm gets an ldap relation shaped as ldap-integrator
sends it and renders Dex's configuration with `ldap-schema=active-directory`; dex_ldap.py then
has the conversation with the DC that this connector makes Dex 2.41 have. Each test is one
behaviour docs/how-to/ldap.md's Active Directory section states. In CI (env CI set) a missing
Samba fails these tests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from ops import testing

import ldap_relation
import samba_ad as ad
from dex_ldap import DexLoginError, Identity, login, resolving
from dsplib.certificates import generate

pytestmark = pytest.mark.slow

NESTED = "member:1.2.840.113556.1.4.1941:"


def render(
    ctx: testing.Context,
    dc: ad.SambaDC,
    config: dict[str, Any] | None = None,
    relations=(),
    **data: str,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The connector and environment for ldap-integrator pointing at `dc` (LDAPS by default)."""
    bag = {
        "urls": json.dumps([dc.ldap_url]),
        "ldaps_urls": json.dumps([dc.ldaps_url]),
        "base_dn": ad.BASE_DN,
        "bind_dn": ad.BIND_DN,
        "starttls": "False",
        **data,
    }
    settings = {"ldap-schema": "active-directory", "ldap-ca-cert": dc.ca, **(config or {})}
    return ldap_relation.render(ctx, bag, settings, ad.BIND_PASSWORD, relations)


@pytest.fixture
def rendered(ctx, kube, samba_dc):
    return render(ctx, samba_dc)


def password(sam: str) -> str:
    return ad.PEOPLE[sam].password


def groups(identity: Identity | None) -> list[str]:
    assert identity is not None
    return sorted(identity.groups)


# -- transport and trust ------------------------------------------------------------------------


def test_ldaps_with_the_configured_ca(rendered):
    config, environment = rendered
    assert (config["host"], config["startTLS"], config["insecureNoSSL"]) == (
        "localhost:636",
        False,
        False,
    )
    identity = login(config, environment, "alice", password("alice"))
    assert identity is not None
    assert identity == Identity(
        user_id="alice",
        email="alice@example.org",
        username="Alice Liddell",
        preferred_username="alice",
        groups=identity.groups,
    )
    assert groups(identity) == ["data-scientists", "ops"]


def test_starttls_on_389_when_the_provider_offers_no_ldaps(ctx, kube, samba_dc):
    config, environment = render(ctx, samba_dc, ldaps_urls="[]", starttls="True")
    assert (config["host"], config["startTLS"]) == ("localhost:389", True)
    identity = login(config, environment, "bob", password("bob"))
    assert identity is not None
    assert identity.email == "bob@example.org"


def test_the_dc_refuses_a_simple_bind_without_tls(rendered):
    """AD's default (`ldap server require strong auth`): strongerAuthRequired on plain 389."""
    config, environment = rendered
    plain = {**config, "host": "localhost:389", "insecureNoSSL": True}
    with pytest.raises(DexLoginError, match=r"initial bind.*strongerAuthRequired"):
        login(plain, environment, "alice", password("alice"))


def test_the_ca_can_come_from_the_receive_ca_cert_relation(ctx, kube, samba_dc):
    transfer = testing.Relation(
        "receive-ca-cert",
        remote_app_name="enterprise-ca",
        remote_app_data={"certificates": json.dumps([samba_dc.ca]), "version": "1"},
    )
    config, environment = render(ctx, samba_dc, config={"ldap-ca-cert": ""}, relations=[transfer])
    assert login(config, environment, "alice", password("alice")) is not None


@pytest.mark.parametrize("trusted", ["foreign", "none"])
def test_a_certificate_from_another_ca_is_refused(ctx, kube, samba_dc, trusted):
    foreign = generate(("ad.other.test",)).ca if trusted == "foreign" else ""
    config, environment = render(ctx, samba_dc, config={"ldap-ca-cert": foreign})
    with pytest.raises(DexLoginError, match="failed to connect"):
        login(config, environment, "alice", password("alice"))


def test_several_domain_controllers_are_one_login_choice_through_the_domain_name(
    ctx, kube, samba_dc
):
    """The domain's DNS name resolves to every DC; the first address here answers nothing."""
    urls = [f"ldaps://{ad.DOMAIN}", f"ldaps://{ad.DC_FQDN}"]
    config, environment = render(
        ctx,
        samba_dc,
        config={"ldap-display-name": "Corp account"},
        ldaps_urls=json.dumps(urls),
    )
    assert config["host"] == f"{ad.DOMAIN}:636"
    with resolving({ad.DOMAIN: ["127.0.0.2"]}), pytest.raises(DexLoginError, match="connect"):
        login(config, environment, "alice", password("alice"))  # nothing listens there
    with resolving({ad.DOMAIN: ["127.0.0.2", "127.0.0.1"]}):
        identity = login(config, environment, "alice", password("alice"))
    assert identity is not None
    assert identity.user_id == "alice"


# -- who can log in, and as whom ----------------------------------------------------------------


@pytest.mark.parametrize("typed", ["alice", "ALICE", "Alice"])
def test_the_account_name_is_case_insensitive_and_the_id_is_as_stored(rendered, typed):
    identity = login(*rendered, typed, password("alice"))
    assert identity is not None
    assert (identity.user_id, identity.preferred_username) == ("alice", "alice")


def test_wrong_passwords_and_unknown_accounts_are_refused(rendered):
    assert login(*rendered, "alice", password("bob")) is None
    assert login(*rendered, "mallory", "Anything-1!") is None
    assert login(*rendered, "*", "Anything-1!") is None


def test_the_service_account_is_a_person_to_ad_but_has_no_mail(rendered):
    with pytest.raises(DexLoginError, match=r"missing required attribute.*mail"):
        login(*rendered, "svc-dex", ad.BIND_PASSWORD)


def test_a_disabled_account_is_refused_with_its_right_password(rendered):
    """The DC answers invalidCredentials (data 533), which Dex reports as a wrong password."""
    assert ad.PEOPLE["dave"].disabled
    assert login(*rendered, "dave", password("dave")) is None


def test_a_user_without_mail_is_refused(rendered):
    with pytest.raises(DexLoginError, match=r"missing required attribute.*mail"):
        login(*rendered, "carol", password("carol"))


def test_a_user_without_mail_logs_in_with_the_upn_as_email(ctx, kube, samba_dc):
    config, environment = render(
        ctx, samba_dc, config={"ldap-email-attribute": "userPrincipalName"}
    )
    identity = login(config, environment, "carol", password("carol"))
    assert identity is not None
    assert (identity.email, identity.user_id) == (f"carol@{ad.DOMAIN}", "carol")
    assert groups(identity) == ["auditors"]


def test_upn_login_replaces_the_account_name_and_keeps_the_id(ctx, kube, samba_dc):
    """Dex matches one attribute: the UPN or the account name, not both."""
    default = render(ctx, samba_dc)
    assert login(*default, f"alice@{ad.DOMAIN}", password("alice")) is None

    by_upn = render(ctx, samba_dc, config={"ldap-username-attribute": "userPrincipalName"})
    identity = login(*by_upn, f"Alice@{ad.DOMAIN.upper()}", password("alice"))
    assert identity is not None
    assert (identity.user_id, identity.preferred_username) == ("alice", f"alice@{ad.DOMAIN}")
    assert login(*by_upn, "alice", password("alice")) is None


def test_attribute_names_must_be_spelt_as_the_schema_does(ctx, kube, samba_dc):
    """AD answers `sAMAccountName` however it was asked; Dex compares names exactly."""
    config, environment = render(
        ctx, samba_dc, config={"ldap-username-attribute": "samaccountname"}
    )
    with pytest.raises(DexLoginError, match=r"missing required attribute.*samaccountname"):
        login(config, environment, "alice", password("alice"))


# -- names and ids ------------------------------------------------------------------------------


def test_the_name_is_cn_which_every_account_has(rendered):
    identity = login(*rendered, "bob", password("bob"))  # bob has no displayName
    assert identity is not None
    assert identity.username == "Bob Builder"


def test_display_name_as_the_name_refuses_accounts_without_one(ctx, kube, samba_dc):
    config, environment = render(ctx, samba_dc, config={"ldap-name-attribute": "displayName"})
    identity = login(config, environment, "alice", password("alice"))
    assert identity is not None
    assert identity.username == "Alice L."
    with pytest.raises(DexLoginError, match=r"missing required attribute.*displayName"):
        login(config, environment, "bob", password("bob"))


def test_object_guid_as_the_id_fails_in_dex(rendered, samba_dc):
    """Why the charm refuses ldap-id-attribute=objectGUID: the bytes are not UTF-8 text."""
    config, environment = rendered
    conn = ad.admin_connection(samba_dc)
    try:
        conn.search(ad.PEOPLE["alice"].dn, "(objectClass=user)", attributes=["objectGUID"])
        guid = conn.response[0]["raw_attributes"]["objectGUID"][0]
    finally:
        conn.unbind()
    guid_config = {**config, "userSearch": {**config["userSearch"], "idAttr": "objectGUID"}}
    try:
        text = guid.decode()
    except UnicodeDecodeError:
        with pytest.raises(DexLoginError, match="invalid UTF-8"):
            login(guid_config, environment, "alice", password("alice"))
    else:  # one GUID in a few thousand happens to be valid UTF-8: Dex then takes it as text
        identity = login(guid_config, environment, "alice", password("alice"))
        assert identity is not None
        assert identity.user_id == text


def test_renaming_an_account_changes_the_id_but_not_the_email(rendered, samba_dc):
    """The preset's id is sAMAccountName: a renamed account is a new Dex user id."""
    person = ad.Person("frank", "Frank Temp", "Frank-Temp-6!", "frank@example.org")
    conn = ad.admin_connection(samba_dc)
    try:
        ad.add_person(conn, person)
        before = login(*rendered, "frank", person.password)
        conn.modify(person.dn, {"sAMAccountName": [("MODIFY_REPLACE", ["frank.b"])]})
        after = login(*rendered, "frank.b", person.password)
        gone = login(*rendered, "frank", person.password)
    finally:
        conn.delete(person.dn)
        conn.unbind()
    assert before is not None and after is not None
    assert (before.user_id, after.user_id) == ("frank", "frank.b")
    assert before.email == after.email == "frank@example.org"
    assert gone is None


# -- groups -------------------------------------------------------------------------------------


def test_direct_groups_including_a_dn_with_an_escaped_comma(rendered):
    assert groups(login(*rendered, "bob", password("bob"))) == ["data-scientists"]
    assert ad.PEOPLE["erin"].dn.startswith("CN=Smith\\, Erin,")
    assert groups(login(*rendered, "erin", password("erin"))) == ["ops"]


def test_nested_groups_with_ldap_nested_groups(ctx, kube, samba_dc):
    config, environment = render(ctx, samba_dc, config={"ldap-nested-groups": True})
    assert config["groupSearch"]["userMatchers"] == [{"userAttr": "DN", "groupAttr": NESTED}]
    assert groups(login(config, environment, "alice", password("alice"))) == [
        "admins",
        "data-scientists",
        "ops",
        "platform",
    ]
    assert groups(login(config, environment, "erin", password("erin"))) == [
        "admins",
        "ops",
        "platform",
    ]
    assert groups(login(config, environment, "bob", password("bob"))) == ["data-scientists"]


def test_nested_groups_with_the_in_chain_rule_in_ldap_group_membership(ctx, kube, samba_dc):
    config, environment = render(ctx, samba_dc, config={"ldap-group-membership": f"DN:{NESTED}"})
    assert "admins" in groups(login(config, environment, "alice", password("alice")))


def test_a_narrowed_base_dn(ctx, kube, samba_dc):
    config, environment = render(
        ctx,
        samba_dc,
        config={"ldap-user-base-dn": ad.STAFF, "ldap-group-base-dn": f"CN=Users,{ad.BASE_DN}"},
    )
    identity = login(config, environment, "alice", password("alice"))
    assert identity is not None
    assert identity.groups == []  # no seeded group lives under CN=Users
    outside = render(ctx, samba_dc, config={"ldap-user-base-dn": f"CN=Users,{ad.BASE_DN}"})
    assert login(*outside, "alice", password("alice")) is None


def test_the_dc_stops_with_the_session_and_left_its_log(samba_dc):
    assert samba_dc.log.exists()
    assert samba_dc.provision_seconds > 0


# -- the fixture itself -------------------------------------------------------------------------


def test_a_second_dc_waits_for_the_ports_held_by_this_one(samba_dc):
    """Samba's ports are fixed: while this session's DC runs, another one cannot start."""
    with pytest.raises(ad.Unavailable, match="held"), ad.ports_lock(wait=0.3):
        pass


@pytest.mark.parametrize(
    ("ci", "outcome"), [("1", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_without_samba_ci_fails_and_a_workstation_skips(monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="no samba"):
        ad.unavailable("Samba AD DC is not installed (no samba)")
