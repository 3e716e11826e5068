"""The workload module on its own: settings, connectors, hashing, the Pebble layer."""

import base64

import bcrypt
import pytest

import dex
from conftest import CONFIG_DEFAULTS
from dsplib.validation import InvalidConfig


def settings(**config) -> dex.Settings:
    return dex.Settings.from_config({**CONFIG_DEFAULTS, **config})


def directory(**changes) -> dex.Directory:
    fields = {
        "app": "ldap-integrator",
        "urls": ("ldap://[2001:db8::7]", "ldap://ldap.example.com:10389"),
        "ldaps_urls": (),
        "base_dn": "dc=example,dc=com",
        "bind_dn": "cn=dex,dc=example,dc=com",
        "starttls": True,
        "bind_password": "pw",
    }
    fields.update(changes)
    return dex.Directory(**fields)


def test_hosts_always_carry_a_port_and_ipv6_keeps_its_brackets():
    connectors = dex.ldap_connectors(directory(), settings())
    assert [c["config"]["host"] for c in connectors] == ["[2001:db8::7]:389"]
    ldaps = dex.ldap_connectors(directory(ldaps_urls=("ldaps://ad.example.com",)), settings())
    assert [c["config"]["host"] for c in ldaps] == ["ad.example.com:636"]


def test_one_directory_is_one_connector_and_the_other_urls_are_named():
    """Dex 2.41's connector has one `host`; a connector per URL is a button per server."""
    d = directory(ldaps_urls=("ldaps://corp.example.com", "ldaps://dc2.corp.example.com"))
    [connector] = dex.ldap_connectors(d, settings(**{"ldap-display-name": "Corp"}))
    assert (connector["id"], connector["name"]) == ("ldap", "Corp")
    assert connector["config"]["host"] == "corp.example.com:636"
    assert dex.unused_urls(d) == ["ldaps://dc2.corp.example.com"]
    assert dex.unused_urls(directory(urls=("ldap://one",))) == []
    same = directory(urls=("ldap://one", "ldap://one:389", "ldap://two"))
    assert dex.unused_urls(same) == ["ldap://two"]


@pytest.mark.parametrize(
    ("membership", "pairs"),
    [
        ("DN:member", (("DN", "member"),)),
        (
            "DN:member:1.2.840.113556.1.4.1941:",
            (("DN", "member:1.2.840.113556.1.4.1941:"),),
        ),
        ("DN:member:dn:", (("DN", "member:dn:"),)),
        ("uid:memberUid, DN:uniqueMember", (("uid", "memberUid"), ("DN", "uniqueMember"))),
    ],
)
def test_group_membership_takes_attributes_and_extensible_matches(membership, pairs):
    """RFC 4515 section 3: extensible = attr [":dn"] [":" matchingrule] ":=" value."""
    search = settings(**{"ldap-group-membership": membership}).ldap_search
    assert search.membership == pairs


@pytest.mark.parametrize(
    "membership",
    [
        "memberUid",
        "DN:member:1.2.840.113556.1.4.1941",  # no closing ':' makes (member:1.2...=v) invalid
        "DN:member:1.2.840.113556.1.4.1941:=x",
        "DN:member:(x)",
        "DN:member::",
        "DN:1member",
        "D N:member",
    ],
)
def test_group_membership_refuses_what_is_not_a_filter_attribute(membership):
    with pytest.raises(InvalidConfig, match="ldap-group-membership"):
        settings(**{"ldap-group-membership": membership})


def test_nested_groups_match_the_dn_member_pair_through_the_in_chain_rule():
    search = settings(
        **{"ldap-schema": "active-directory", "ldap-nested-groups": True}
    ).ldap_search
    assert search.membership == (("DN", "member:1.2.840.113556.1.4.1941:"),)
    explicit = settings(
        **{
            "ldap-schema": "active-directory",
            "ldap-nested-groups": True,
            "ldap-group-membership": "DN:member:1.2.840.113556.1.4.1941:",
        }
    ).ldap_search
    assert explicit.membership == search.membership


@pytest.mark.parametrize(
    "config",
    [
        {"ldap-nested-groups": True},  # openldap preset: the rule matches nothing there
        {
            "ldap-schema": "active-directory",
            "ldap-nested-groups": True,
            "ldap-group-membership": "uid:memberUid",
        },
    ],
)
def test_nested_groups_need_active_directory_and_a_dn_member_pair(config):
    with pytest.raises(InvalidConfig, match="ldap-nested-groups"):
        settings(**config)


@pytest.mark.parametrize("option", ["ldap-id-attribute", "ldap-username-attribute"])
@pytest.mark.parametrize("value", ["objectGUID", "objectsid"])
def test_binary_active_directory_attributes_are_refused(option, value):
    with pytest.raises(InvalidConfig, match="binary"):
        settings(**{"ldap-schema": "active-directory", option: value})


def test_the_bind_password_is_never_part_of_a_connector_or_a_repr():
    d = directory(bind_password="very-secret-value")
    rendered = repr(dex.ldap_connectors(d, settings())) + repr(d)
    assert "very-secret-value" not in rendered
    assert (
        repr(settings(**{"static-username": "a@b.c", "static-password": "s3cr3t!"})).count(
            "s3cr3t!"
        )
        == 0
    )


def test_no_ca_is_sent_on_a_plaintext_connection():
    ca = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    plain = dex.ldap_connectors(
        directory(starttls=False), settings(**{"ldap-allow-plaintext": True}), [ca]
    )
    assert "rootCAData" not in plain[0]["config"]
    tls = dex.ldap_connectors(directory(), settings(), [ca])
    assert base64.b64decode(tls[0]["config"]["rootCAData"]).decode() == ca


def test_the_skip_verify_switch_is_explicit():
    assert dex.ldap_connectors(directory(), settings())[0]["config"]["insecureSkipVerify"] is False
    loose = settings(**{"ldap-insecure-skip-verify": True})
    assert dex.ldap_connectors(directory(), loose)[0]["config"]["insecureSkipVerify"] is True


def test_password_hash_is_reused_while_the_password_is_the_same():
    first = dex.password_hash("pw-1")
    assert bcrypt.checkpw(b"pw-1", first.encode())
    assert dex.password_hash("pw-1", first) == first
    assert dex.password_hash("pw-2", first) != first
    assert dex.password_hash("pw-1", "not-a-hash") != "not-a-hash"


def test_static_user_id_is_the_same_everywhere():
    a = dex.static_user_id("model-uuid", "admin@example.com")
    assert a == dex.static_user_id("model-uuid", "admin@example.com")
    assert a != dex.static_user_id("model-uuid", "other@example.com")


def test_connectors_option_keeps_the_connectors_as_given():
    text = "- type: oidc\n  id: corp-sso\n  name: Corp SSO\n  config: {issuer: https://sso}\n"
    assert dex.parse_connectors(text) == (
        {
            "type": "oidc",
            "id": "corp-sso",
            "name": "Corp SSO",
            "config": {"issuer": "https://sso"},
        },
    )
    assert dex.parse_connectors("") == ()
    with pytest.raises(InvalidConfig, match="the config of x to be a mapping"):
        dex.parse_connectors("- {type: oidc, id: x, config: [1]}")


def test_a_config_change_changes_the_layer_and_a_password_change_only_the_environment():
    s = settings()
    base = dex.pebble_layer(namespace="kf", config_text="a", settings=s, bind_password="p1")
    other_file = dex.pebble_layer(namespace="kf", config_text="b", settings=s, bind_password="p1")
    other_pw = dex.pebble_layer(namespace="kf", config_text="a", settings=s, bind_password="p2")
    env = base["services"]["dex"]["environment"]
    assert (
        other_file["services"]["dex"]["environment"][dex.CONFIG_HASH_ENV]
        != env[dex.CONFIG_HASH_ENV]
    )
    changed = {k for k, v in other_pw["services"]["dex"]["environment"].items() if env.get(k) != v}
    assert changed == {dex.BIND_PASSWORD_ENV}
