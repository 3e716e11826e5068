"""Scenario tests of the dex charm: events, relations, config errors, statuses, secrets."""

import base64
import dataclasses
import json
import logging

import ops
import pytest
import yaml
from lightkube.core.exceptions import httpx as lk_httpx  # pyright: ignore[reportPrivateImportUsage]
from ops import testing

import dex
from conftest import CONFIG_DEFAULTS, MODEL
from dsplib import certificates
from dsplib.observability import decode_dashboard
from dsplib.sdi import SCHEMAS, validate

CONFIG = "etc/dex/config.docker.yaml"
STATIC = {"static-username": "admin@example.com", "static-password": "static-pw-1"}
BIND_PASSWORD = "bind-pw-QXJ0"
TRUST = testing.BlockedStatus("run: juju trust dex-auth --scope=cluster")
GATEKEEPER = {
    "id": "authservice-oidc",
    "name": "Ambassador Auth OIDC",
    "redirectURIs": ["/authservice/oidc/callback"],
    "secret": "gatekeeper-client-secret",
}


def container(**kwargs) -> testing.Container:
    return testing.Container("dex", can_connect=True, **kwargs)


def state(*, leader=True, config=None, relations=(), secrets=(), containers=None, **kw):
    return testing.State(
        leader=leader,
        model=MODEL,
        config={**STATIC, **(config or {})},
        relations=set(relations),
        secrets=set(secrets),
        containers={container()} if containers is None else set(containers),
        **kw,
    )


def then(out: testing.State, **changes) -> testing.State:
    """The next state: the output of one run with some fields changed."""
    fields = {
        "leader": out.leader,
        "model": out.model,
        "config": out.config,
        "relations": out.relations,
        "secrets": out.secrets,
        "containers": out.containers,
        "stored_states": out.stored_states,
        "opened_ports": out.opened_ports,
    }
    fields.update(changes)
    return testing.State(**fields)


def dex_file(ctx: testing.Context, out: testing.State) -> dict:
    fs = out.get_container("dex").get_filesystem(ctx)
    return yaml.safe_load((fs / CONFIG).read_text())


def env_of(out: testing.State) -> dict[str, str]:
    return out.get_container("dex").plan.services["dex"].environment


# -- relations as the other charms write them -------------------------------------------------


def bind_secret(password=BIND_PASSWORD, new_password=None) -> testing.Secret:
    """The secret glauth-k8s / ldap-integrator create per relation and grant to it."""
    return testing.Secret(
        tracked_content={"password": password},
        latest_content={"password": new_password or password},
        label="relation-7-bind-account-secret",
    )


def glauth(secret: testing.Secret, **changes) -> testing.Relation:
    """glauth-k8s's app bag (LdapProviderData.model_dump through the lib, StartTLS default)."""
    data = {
        "urls": '["ldap://glauth-k8s.kubeflow.svc.cluster.local:3893"]',
        "ldaps_urls": "[]",
        "base_dn": "dc=glauth,dc=com",
        "bind_dn": "cn=dex-auth,ou=kubeflow,dc=glauth,dc=com",
        "bind_password_secret": secret.id,
        "auth_method": "simple",
        "starttls": "True",
    }
    data.update(changes)
    return testing.Relation("ldap", remote_app_name="glauth-k8s", remote_app_data=data, id=7)


def ldap_integrator(secret: testing.Secret) -> testing.Relation:
    """ldap-integrator configured for Active Directory with two LDAPS domain controllers."""
    data = {
        "urls": '["ldap://dc1.corp.example.com"]',
        "ldaps_urls": '["ldaps://dc1.corp.example.com", "ldaps://dc2.corp.example.com:3269"]',
        "base_dn": "dc=corp,dc=example,dc=com",
        "bind_dn": "cn=svc-kubeflow,ou=Service Accounts,dc=corp,dc=example,dc=com",
        "bind_password_secret": secret.id,
        "auth_method": "simple",
        "starttls": "False",
    }
    return testing.Relation("ldap", remote_app_name="ldap-integrator", remote_app_data=data, id=7)


def gatekeeper(data=None, versions="- v1\n") -> testing.Relation:
    bag = {"_supported_versions": versions}
    if data is not None:
        bag["data"] = yaml.safe_dump(data)
    return testing.Relation("oidc-client", remote_app_name="oidc-gatekeeper", remote_app_data=bag)


# -- lifecycle --------------------------------------------------------------------------------


def test_pebble_ready_runs_dex_with_its_config_and_rbac(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())

    assert out.unit_status == testing.ActiveStatus()
    config = dex_file(ctx, out)
    assert config["issuer"] == "http://dex-auth.kubeflow.svc:5556/dex"
    assert config["storage"] == {"type": "kubernetes", "config": {"inCluster": True}}
    assert config["web"] == {"http": "0.0.0.0:5556"}
    assert config["telemetry"] == {"http": "0.0.0.0:5558"}
    assert config["enablePasswordDB"] is True
    [user] = config["staticPasswords"]
    assert user["email"] == user["username"] == "admin@example.com"
    assert user["hash"].startswith("$2b$10$")
    assert "static-pw-1" not in json.dumps(config)

    fs = out.get_container("dex").get_filesystem(ctx)
    assert (fs / CONFIG).stat().st_mode & 0o777 == 0o600
    service = out.get_container("dex").plan.services["dex"]
    assert (
        service.command == "/usr/local/bin/docker-entrypoint dex serve /etc/dex/config.docker.yaml"
    )
    assert service.environment["KUBERNETES_POD_NAMESPACE"] == "kubeflow"
    assert {p.port for p in out.opened_ports} == {5556, 5558}

    role = kube.get_object("Role", "dex-auth-storage", "kubeflow")
    assert role["rules"][0]["apiGroups"] == ["dex.coreos.com"]
    assert "signingkeies" in role["rules"][0]["resources"]
    crds = kube.get_object("ClusterRole", "dex-auth-kubeflow-crds")
    assert "create" in crds["rules"][0]["verbs"]
    binding = kube.get_object("RoleBinding", "dex-auth-storage", "kubeflow")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "dex-auth", "namespace": "kubeflow"}
    ]


def test_install_before_pebble_waits_and_applies_rbac(ctx, kube):
    out = ctx.run(ctx.on.install(), state(containers=[testing.Container("dex")]))
    assert out.unit_status == testing.WaitingStatus("waiting for Pebble in the workload container")
    assert kube.find("Role", "dex-auth-storage", "kubeflow")


def test_repeated_events_change_nothing(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    kube.reset_calls()
    plan_before = out.get_container("dex").plan.to_dict()
    file_before = dex_file(ctx, out)
    for event in (ctx.on.config_changed(), ctx.on.update_status(), ctx.on.config_changed()):
        out = ctx.run(event, out)
    assert kube.writes == []
    assert out.get_container("dex").plan.to_dict() == plan_before
    assert dex_file(ctx, out) == file_before  # the bcrypt hash (and its salt) is kept
    assert out.unit_status == testing.ActiveStatus()


def test_new_static_password_restarts_dex_with_a_new_hash(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    before = env_of(out)[dex.CONFIG_HASH_ENV]
    old_hash = dex_file(ctx, out)["staticPasswords"][0]["hash"]
    out = ctx.run(
        ctx.on.config_changed(), then(out, config={**STATIC, "static-password": "other-pw"})
    )
    import bcrypt

    new_hash = dex_file(ctx, out)["staticPasswords"][0]["hash"]
    assert new_hash != old_hash
    assert bcrypt.checkpw(b"other-pw", new_hash.encode())
    assert env_of(out)[dex.CONFIG_HASH_ENV] != before


def test_upgrade_writes_nothing_unless_the_cluster_lost_an_object(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    kube.reset_calls()
    out = ctx.run(ctx.on.upgrade_charm(), out)
    assert kube.writes == []
    kube.objects.pop(next(k for k in kube.objects if k[1] == "Role"))
    ctx.run(ctx.on.upgrade_charm(), out)
    assert kube.writes == [("apply", "Role/kubeflow/dex-auth-storage")]


def test_non_leader_runs_dex_without_touching_kubernetes_or_app_data(ctx, kube):
    route = testing.Relation("ingress", remote_app_data={"_supported_versions": "- v1\n"})
    oidc = testing.Relation("dex-oidc-config", remote_app_name="oidc-gatekeeper")
    out = ctx.run(ctx.on.pebble_ready(container()), state(leader=False, relations=[route, oidc]))
    assert kube.calls == []
    assert out.get_relation(route.id).local_app_data == {}
    assert out.get_relation(oidc.id).local_app_data == {}
    assert dex_file(ctx, out)["issuer"] == "http://dex-auth.kubeflow.svc:5556/dex"
    assert out.unit_status == testing.ActiveStatus()


def _with_status(out, service=ops.pebble.ServiceStatus.ACTIVE, check=ops.pebble.CheckStatus.UP):
    """The state after pebble-ready, with Pebble reporting the given service and check."""
    running = dataclasses.replace(
        out.get_container("dex"),
        service_statuses={"dex": service},
        check_infos={
            testing.CheckInfo("dex-ready", status=check, level=ops.pebble.CheckLevel.READY)
        },
    )
    return then(out, containers={running})


def test_waits_until_dex_answers(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    out = ctx.run(ctx.on.update_status(), _with_status(out, check=ops.pebble.CheckStatus.DOWN))
    assert out.unit_status == testing.WaitingStatus("waiting for Dex: dex-ready not up")


def test_stopped_service_is_waiting(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    stopped = _with_status(out, service=ops.pebble.ServiceStatus.INACTIVE)
    out = ctx.run(ctx.on.update_status(), stopped)
    assert out.unit_status == testing.WaitingStatus("waiting for the Dex service to start")


# -- config -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"issuer-url": "ftp://dex.example.com/dex"},
            "config issuer-url: expected an http(s):// URL ending in /dex (the ingress path)",
        ),
        (
            {"issuer-url": "https://dex.example.com/auth"},
            "config issuer-url: expected an http(s):// URL ending in /dex (the ingress path)",
        ),
        (
            {"public-url": "ftp://dex.example.com"},
            "config public-url: expected an http(s):// URL or a host[:port]",
        ),
        (
            {"connectors": "- type: saml\n  id: [unclosed"},
            "config connectors: expected a YAML list of Dex connectors",
        ),
        (
            {"connectors": "type: github"},
            "config connectors: expected a YAML list of Dex connectors",
        ),
        (
            {"connectors": "- name: GitHub\n  type: github"},
            "config connectors: expected every connector to have a type and an id",
        ),
        (
            {"connectors": "- {type: github, id: gh}\n- {type: gitlab, id: gh}"},
            "config connectors: expected unique ids (gh appears twice)",
        ),
        (
            {"connectors": "- {type: ldap, id: local}"},
            "config connectors: expected another id than local (Dex's password database)",
        ),
        (
            {"connectors": "- {type: github, id: gh, config: {clientSecret: $LDAP_BIND_PW}}"},
            "config connectors: expected no $LDAP_BIND_PW in the config of gh: it is the "
            "charm's own variable and Dex would put its value there",
        ),
        (
            {"connectors": "- {type: oidc, id: sso, config: {clientSecret: 'pa${X}ss'}}"},
            "config connectors: expected no '$' before a name or '{' in the config of sso: "
            "Dex expands $VARIABLES there and has no escape for '$'",
        ),
        (
            {"static-username": "admin\nroot@example.com"},
            "config static-username: expected a login on one line, e.g. admin@example.com",
        ),
        (
            {"static-username": "admin\troot"},
            "config static-username: expected a login on one line, e.g. admin@example.com",
        ),
        (
            {"static-password": ""},
            "config static-password: expected a value "
            "(static-username and static-password go together)",
        ),
        (
            {"static-password": "x" * 73},
            "config static-password: expected at most 72 bytes (the bcrypt limit)",
        ),
        ({"port": 80}, "config port: expected a port number between 1024 and 65535"),
        ({"log-level": "verbose"}, "config log-level: expected one of debug, info, error"),
        (
            {"ldap-schema": "novell"},
            "config ldap-schema: expected one of openldap, active-directory",
        ),
        (
            {"ldap-user-filter": "objectClass=person"},
            "config ldap-user-filter: expected an LDAP filter in parentheses, "
            "e.g. (objectClass=person)",
        ),
        (
            {"ldap-group-membership": "memberUid"},
            "config ldap-group-membership: expected userAttr:groupAttr pairs "
            "such as uid:memberUid,DN:member (or DN:member:1.2.840.113556.1.4.1941: for "
            "nested AD groups)",
        ),
        (
            {"ldap-nested-groups": True},
            "config ldap-nested-groups: expected false unless ldap-schema=active-directory "
            "(nested groups use a rule only Active Directory implements)",
        ),
        (
            {"ldap-schema": "active-directory", "ldap-id-attribute": "objectGUID"},
            "config ldap-id-attribute: expected a text attribute: Dex 2.41 cannot put the "
            "binary objectGUID in a token",
        ),
        (
            {"ldap-email-attribute": "$HOME"},
            "config ldap-email-attribute: expected a value without '$' (Dex expands $VARIABLES)",
        ),
        (
            {"ldap-ca-cert": "not a certificate"},
            "config ldap-ca-cert: expected PEM certificates (-----BEGIN CERTIFICATE-----)",
        ),
    ],
)
def test_bad_config_blocks_naming_the_option_and_changes_nothing(ctx, kube, config, message):
    out = ctx.run(ctx.on.config_changed(), state(config=config))
    assert out.unit_status == testing.BlockedStatus(message)
    assert kube.calls == []
    assert out.get_container("dex").plan.services == {}


def test_password_db_off_without_any_connector_blocks(ctx, kube):
    out = ctx.run(ctx.on.config_changed(), state(config={"enable-password-db": False}))
    assert out.unit_status == testing.BlockedStatus(
        "enable-password-db is false and there is no connector: integrate ldap or set connectors"
    )
    assert out.get_container("dex").plan.services == {}


def test_no_static_user_and_no_connector_blocks_but_runs(ctx, kube):
    out = ctx.run(
        ctx.on.config_changed(),
        state(config={"static-username": "", "static-password": ""}),
    )
    assert out.unit_status == testing.BlockedStatus(
        "nobody can log in: set static-username and static-password, integrate ldap, or set "
        "connectors"
    )
    assert dex_file(ctx, out)["staticPasswords"] == []


def test_extra_connectors_follow_the_ldap_one(ctx, kube):
    secret = bind_secret()
    github = "- type: github\n  id: github\n  name: GitHub\n  config: {clientID: kubeflow-app}\n"
    out = ctx.run(
        ctx.on.config_changed(),
        state(config={"connectors": github}, relations=[glauth(secret)], secrets=[secret]),
    )
    ids = [c["id"] for c in dex_file(ctx, out)["connectors"]]
    assert ids == ["ldap", "github"]


def test_issuer_url_and_deprecated_public_url(ctx, kube):
    relation = testing.Relation("dex-oidc-config", remote_app_name="oidc-gatekeeper")
    out = ctx.run(
        ctx.on.config_changed(),
        state(config={"public-url": "https://kubeflow.example.com"}, relations=[relation]),
    )
    assert out.get_relation(relation.id).local_app_data == {
        "issuer-url": "https://kubeflow.example.com/dex"
    }
    out = ctx.run(
        ctx.on.config_changed(),
        then(out, config={**STATIC, "issuer-url": "https://login.example.com/dex"}),
    )
    assert out.get_relation(relation.id).local_app_data["issuer-url"] == (
        "https://login.example.com/dex"
    )
    assert dex_file(ctx, out)["issuer"] == "https://login.example.com/dex"


# -- dex-oidc-config, oidc-client, ingress -----------------------------------------------------


def test_dex_oidc_config_carries_the_plain_issuer_url(ctx, kube):
    relation = testing.Relation("dex-oidc-config", remote_app_name="oidc-gatekeeper")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    assert out.get_relation(relation.id).local_app_data == {
        "issuer-url": "http://dex-auth.kubeflow.svc:5556/dex"
    }


def test_oidc_gatekeeper_client_becomes_a_static_client(ctx, kube):
    relation = gatekeeper(GATEKEEPER)
    assert validate(GATEKEEPER, SCHEMAS["oidc-client"]["v1"]["provides"]) == []
    out = ctx.run(ctx.on.relation_changed(relation), state(relations=[relation]))
    assert dex_file(ctx, out)["staticClients"] == [GATEKEEPER]
    assert out.get_relation(relation.id).local_app_data["_supported_versions"] == "- v1\n"
    assert out.unit_status == testing.ActiveStatus()

    gone = ctx.run(ctx.on.relation_broken(out.get_relation(relation.id)), out)
    assert dex_file(ctx, gone)["staticClients"] == []


def test_oidc_client_data_against_the_schema_blocks(ctx, kube):
    bad = {k: v for k, v in GATEKEEPER.items() if k != "secret"}
    relation = gatekeeper(bad)
    out = ctx.run(ctx.on.relation_changed(relation), state(relations=[relation]))
    assert out.unit_status == testing.BlockedStatus(
        "oidc-client: invalid data from oidc-gatekeeper: secret: required; fix oidc-gatekeeper "
        "or remove the relation"
    )
    assert dex_file(ctx, out)["staticClients"] == []


def test_oidc_client_before_gatekeeper_answers_waits(ctx, kube):
    relation = testing.Relation("oidc-client", remote_app_name="oidc-gatekeeper")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    assert out.unit_status == testing.WaitingStatus(
        "oidc-client: waiting for oidc-gatekeeper versions"
    )


def test_ingress_route_in_the_sdi_format_istio_pilot_reads(ctx, kube):
    relation = testing.Relation(
        "ingress",
        remote_app_name="istio-pilot",
        remote_app_data={"_supported_versions": "- v1\n- v2\n"},
    )
    out = ctx.run(ctx.on.relation_changed(relation), state(relations=[relation]))
    bag = out.get_relation(relation.id).local_app_data
    assert bag["_supported_versions"] == "- v1\n"
    route = yaml.safe_load(bag["data"])
    assert route == {"service": "dex-auth", "port": 5556, "prefix": "/dex", "rewrite": "/dex"}
    assert validate(route, SCHEMAS["ingress"]["v1"]["requires"]) == []


def test_ingress_without_a_common_version_blocks(ctx, kube):
    relation = testing.Relation(
        "ingress", remote_app_name="istio-pilot", remote_app_data={"_supported_versions": "- v3\n"}
    )
    out = ctx.run(ctx.on.relation_changed(relation), state(relations=[relation]))
    assert out.unit_status == testing.BlockedStatus(
        "ingress: no common version with istio-pilot; use istio-pilot's ingress"
    )


# -- ldap -------------------------------------------------------------------------------------


def test_relation_created_sends_our_user_and_group(ctx, kube):
    secret = bind_secret()
    relation = glauth(secret)
    out = ctx.run(ctx.on.relation_created(relation), state(relations=[relation], secrets=[secret]))
    assert out.get_relation(relation.id).local_app_data == {
        "user": "dex-auth",
        "group": "kubeflow",
    }


def test_glauth_data_makes_a_starttls_connector_with_the_password_in_the_environment(ctx, kube):
    secret = bind_secret()
    relation = glauth(secret)
    out = ctx.run(ctx.on.relation_changed(relation), state(relations=[relation], secrets=[secret]))

    assert out.unit_status == testing.ActiveStatus()
    [connector] = dex_file(ctx, out)["connectors"]
    assert connector["type"] == "ldap"
    assert connector["id"] == "ldap"
    assert connector["name"] == "LDAP"
    config = connector["config"]
    assert config["host"] == "glauth-k8s.kubeflow.svc.cluster.local:3893"
    assert config["startTLS"] is True
    assert config["insecureNoSSL"] is False
    assert config["insecureSkipVerify"] is False
    assert config["bindDN"] == "cn=dex-auth,ou=kubeflow,dc=glauth,dc=com"
    assert config["bindPW"] == "$LDAP_BIND_PW"
    assert config["userSearch"] == {
        "baseDN": "dc=glauth,dc=com",
        "filter": "(|(objectClass=person)(objectClass=posixAccount))",
        "username": "uid",
        "scope": "sub",
        "idAttr": "uid",
        "emailAttr": "mail",
        "nameAttr": "cn",
        "preferredUsernameAttr": "uid",
    }
    assert config["groupSearch"]["userMatchers"] == [
        {"userAttr": "uid", "groupAttr": "memberUid"},
        {"userAttr": "DN", "groupAttr": "member"},
    ]
    assert "rootCAData" not in config
    assert env_of(out)[dex.BIND_PASSWORD_ENV] == BIND_PASSWORD
    fs = out.get_container("dex").get_filesystem(ctx)
    assert BIND_PASSWORD not in (fs / CONFIG).read_text()


def test_ldap_integrator_active_directory_is_one_login_choice(ctx, kube):
    secret = bind_secret()
    out = ctx.run(
        ctx.on.relation_changed(ldap_integrator(secret)),
        state(
            config={"ldap-schema": "active-directory", "ldap-display-name": "Corp AD"},
            relations=[ldap_integrator(secret)],
            secrets=[secret],
        ),
    )
    connectors = dex_file(ctx, out)["connectors"]
    assert [(c["id"], c["name"]) for c in connectors] == [("ldap", "Corp AD")]
    warned = [log.message for log in ctx.juju_log if log.level == "WARNING"]
    assert any("ldaps://dc2.corp.example.com:3269 is not dialled" in m for m in warned)
    config = connectors[0]["config"]
    assert config["host"] == "dc1.corp.example.com:636"
    assert config["startTLS"] is False
    assert config["insecureNoSSL"] is False
    assert config["userSearch"]["username"] == "sAMAccountName"
    assert config["userSearch"]["filter"] == "(&(objectCategory=person)(objectClass=user))"
    assert config["groupSearch"]["userMatchers"] == [{"userAttr": "DN", "groupAttr": "member"}]
    assert config["groupSearch"]["filter"] == "(objectClass=group)"


def test_overrides_replace_single_preset_fields(ctx, kube):
    secret = bind_secret()
    config = {
        "ldap-user-base-dn": "ou=people,dc=glauth,dc=com",
        "ldap-username-attribute": "cn",
        "ldap-id-attribute": "DN",
        "ldap-email-attribute": "userPrincipalName",
        "ldap-group-membership": "cn:memberUid",
        "ldap-group-name-attribute": "ou",
    }
    out = ctx.run(
        ctx.on.config_changed(),
        state(config=config, relations=[glauth(secret)], secrets=[secret]),
    )
    ldap = dex_file(ctx, out)["connectors"][0]["config"]
    assert ldap["userSearch"]["baseDN"] == "ou=people,dc=glauth,dc=com"
    assert ldap["userSearch"]["username"] == "cn"
    assert ldap["userSearch"]["idAttr"] == "DN"
    assert ldap["userSearch"]["emailAttr"] == "userPrincipalName"
    assert ldap["userSearch"]["filter"] == dex.PRESETS["openldap"].user_filter
    assert ldap["groupSearch"]["baseDN"] == "dc=glauth,dc=com"
    assert ldap["groupSearch"]["userMatchers"] == [{"userAttr": "cn", "groupAttr": "memberUid"}]
    assert ldap["groupSearch"]["nameAttr"] == "ou"


def test_rotating_the_bind_password_changes_only_the_environment(ctx, kube):
    secret = bind_secret(new_password="rotated-pw-2")
    relation = glauth(secret)
    out = ctx.run(ctx.on.relation_changed(relation), state(relations=[relation], secrets=[secret]))
    file_before = dex_file(ctx, out)
    env_before = env_of(out)
    kube.reset_calls()

    out = ctx.run(ctx.on.secret_changed(out.get_secret(id=secret.id)), out)

    env_after = env_of(out)
    assert env_after[dex.BIND_PASSWORD_ENV] == "rotated-pw-2"
    assert {k: v for k, v in env_after.items() if k != dex.BIND_PASSWORD_ENV} == {
        k: v for k, v in env_before.items() if k != dex.BIND_PASSWORD_ENV
    }
    assert dex_file(ctx, out) == file_before
    assert kube.writes == []
    assert out.unit_status == testing.ActiveStatus()


def test_breaking_ldap_removes_the_connector_and_keeps_the_static_user(ctx, kube):
    secret = bind_secret()
    relation = glauth(secret)
    out = ctx.run(ctx.on.relation_changed(relation), state(relations=[relation], secrets=[secret]))
    out = ctx.run(ctx.on.relation_broken(out.get_relation(relation.id)), out)
    config = dex_file(ctx, out)
    assert config["connectors"] == []
    assert config["enablePasswordDB"] is True
    assert config["staticPasswords"][0]["email"] == "admin@example.com"
    assert dex.BIND_PASSWORD_ENV not in env_of(out)
    assert out.unit_status == testing.ActiveStatus()


def test_ldap_only_login_with_password_db_off(ctx, kube):
    secret = bind_secret()
    out = ctx.run(
        ctx.on.relation_changed(glauth(secret)),
        state(
            config={"enable-password-db": False, "static-username": "", "static-password": ""},
            relations=[glauth(secret)],
            secrets=[secret],
        ),
    )
    config = dex_file(ctx, out)
    assert config["enablePasswordDB"] is False
    assert config["staticPasswords"] == []
    assert [c["id"] for c in config["connectors"]] == ["ldap"]
    assert out.unit_status == testing.ActiveStatus()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"bind_dn": "", "base_dn": ""},
            "ldap: glauth-k8s sent no base_dn, bind_dn; configure glauth-k8s",
        ),
        (
            {"urls": "ldap://glauth:3893"},
            "ldap: urls from glauth-k8s is not a list of ldap:// URLs; fix glauth-k8s",
        ),
        (
            {"urls": '["http://glauth:3893"]'},
            "ldap: urls from glauth-k8s is not a list of ldap:// URLs; fix glauth-k8s",
        ),
        ({"starttls": "maybe"}, "ldap: starttls from glauth-k8s is neither True nor False"),
        (
            {"bind_dn": "cn=$USER,dc=glauth,dc=com"},
            "ldap: bind_dn from glauth-k8s contains '$', which Dex would expand; change it on "
            "glauth-k8s",
        ),
        (
            {"starttls": "False"},
            "ldap: glauth-k8s offers neither LDAPS nor StartTLS; enable one on glauth-k8s or set "
            "ldap-allow-plaintext=true",
        ),
        (
            {"auth_method": "sasl"},
            "ldap: the ldap library rejects the data of glauth-k8s; check its urls, ldaps_urls, "
            "starttls and auth_method",
        ),
    ],
)
def test_unusable_ldap_data_blocks_and_dex_keeps_the_static_user(ctx, kube, changes, message):
    secret = bind_secret()
    relation = glauth(secret, **changes)
    out = ctx.run(ctx.on.relation_changed(relation), state(relations=[relation], secrets=[secret]))
    assert out.unit_status == testing.BlockedStatus(message)
    config = dex_file(ctx, out)
    assert config["connectors"] == []
    assert config["staticPasswords"]


def test_unreadable_bind_secret_blocks(ctx, kube):
    secret = bind_secret()
    relation = glauth(secret)
    out = ctx.run(ctx.on.relation_changed(relation), state(relations=[relation]))
    assert out.unit_status == testing.BlockedStatus(
        "ldap: cannot read the bind password secret of glauth-k8s; it must grant it to this "
        "relation (re-integrate glauth-k8s)"
    )


def test_bind_secret_without_password_blocks(ctx, kube):
    secret = testing.Secret(tracked_content={"pass": "x"})
    relation = glauth(secret)
    out = ctx.run(ctx.on.relation_changed(relation), state(relations=[relation], secrets=[secret]))
    assert out.unit_status == testing.BlockedStatus(
        "ldap: the bind password secret of glauth-k8s has no password; fix glauth-k8s"
    )


def test_ldap_relation_without_data_yet_waits(ctx, kube):
    relation = testing.Relation("ldap", remote_app_name="glauth-k8s")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    assert out.unit_status == testing.WaitingStatus("ldap: waiting for data from glauth-k8s")


def test_plaintext_directory_only_with_explicit_consent(ctx, kube):
    secret = bind_secret()
    relation = glauth(secret, starttls="False")
    out = ctx.run(
        ctx.on.relation_changed(relation),
        state(config={"ldap-allow-plaintext": True}, relations=[relation], secrets=[secret]),
    )
    config = dex_file(ctx, out)["connectors"][0]["config"]
    assert config["insecureNoSSL"] is True
    assert config["startTLS"] is False
    assert config["host"] == "glauth-k8s.kubeflow.svc.cluster.local:3893"


def test_ca_from_config_and_from_receive_ca_cert(ctx, kube):
    ours = certificates.generate(("ldap.corp.example.com",)).ca
    theirs = certificates.generate(("glauth-k8s.kubeflow.svc.cluster.local",)).ca
    secret = bind_secret()
    transfer = testing.Relation(
        "receive-ca-cert",
        remote_app_name="glauth-k8s",
        remote_app_data={"certificates": json.dumps([theirs]), "version": "1"},
    )
    out = ctx.run(
        ctx.on.relation_changed(transfer),
        state(
            config={"ldap-ca-cert": ours}, relations=[glauth(secret), transfer], secrets=[secret]
        ),
    )
    config = dex_file(ctx, out)["connectors"][0]["config"]
    bundle = base64.b64decode(config["rootCAData"]).decode()
    assert ours.strip() in bundle
    assert theirs.strip() in bundle
    assert config["insecureSkipVerify"] is False


def test_ca_from_a_v0_certificate_transfer_provider(ctx, kube):
    theirs = certificates.generate(("glauth-k8s.kubeflow.svc.cluster.local",)).ca
    secret = bind_secret()
    transfer = testing.Relation(
        "receive-ca-cert",
        remote_app_name="glauth-k8s",
        remote_units_data={
            0: {
                "ca": json.dumps(theirs),
                "certificate": json.dumps(theirs),
                "chain": json.dumps([theirs]),
            }
        },
    )
    out = ctx.run(
        ctx.on.relation_changed(transfer, remote_unit=0),
        state(relations=[glauth(secret), transfer], secrets=[secret]),
    )
    config = dex_file(ctx, out)["connectors"][0]["config"]
    assert theirs.strip() in base64.b64decode(config["rootCAData"]).decode()


def test_secrets_never_reach_logs_status_or_relation_data(ctx, kube, caplog):
    caplog.set_level(logging.DEBUG)
    secret = bind_secret(new_password="rotated-secret-3")
    relation = glauth(secret)
    gate = gatekeeper(GATEKEEPER)
    out = ctx.run(
        ctx.on.relation_changed(relation),
        state(config={"log-level": "debug"}, relations=[relation, gate], secrets=[secret]),
    )
    out = ctx.run(ctx.on.secret_changed(out.get_secret(id=secret.id)), out)
    out = ctx.run(ctx.on.update_status(), out)
    logged = caplog.text + "\n".join(log.message for log in ctx.juju_log)
    for value in (BIND_PASSWORD, "rotated-secret-3", "static-pw-1"):
        assert value not in logged
        assert value not in out.unit_status.message
        for rel in out.relations:
            assert value not in json.dumps(dict(rel.local_app_data))
            assert value not in json.dumps(dict(rel.local_unit_data))


# -- Kubernetes API failures ------------------------------------------------------------------


def test_forbidden_blocks_with_the_trust_command(ctx, kube):
    kube.fail(403)
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert out.unit_status == TRUST


def test_conflicts_and_timeouts_wait_and_retry(ctx, kube):
    kube.fail(409, verb="apply", times=1)
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    assert isinstance(out.unit_status, testing.WaitingStatus)
    assert "409" in out.unit_status.message
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus()

    kube.fail(error=lk_httpx.ConnectError("refused"))
    out = ctx.run(ctx.on.upgrade_charm(), out)
    assert out.unit_status == testing.WaitingStatus(
        "Kubernetes API unreachable: ConnectError; retrying"
    )


# -- observability ----------------------------------------------------------------------------


def test_metrics_endpoint_scrapes_the_telemetry_port(ctx, kube):
    relation = testing.Relation("metrics-endpoint", remote_app_name="prometheus")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    bag = out.get_relation(relation.id).local_app_data
    assert json.loads(bag["scrape_jobs"]) == [
        {"metrics_path": "/metrics", "static_configs": [{"targets": ["*:5558"]}]}
    ]
    rules = json.loads(bag["alert_rules"])
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert {"DexDown", "DexServerErrors"} <= alerts
    assert all("%%" not in r["expr"] for g in rules["groups"] for r in g["rules"])


def test_grafana_gets_the_dashboard(ctx, kube):
    relation = testing.Relation("grafana-dashboard", remote_app_name="grafana")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relations=[relation]))
    templates = json.loads(out.get_relation(relation.id).local_app_data["dashboards"])["templates"]
    dashboard = json.loads(decode_dashboard(templates["file:dex"]["content"]))
    assert dashboard["title"] == "Dex"
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert any("http_requests_total" in e for e in exprs)
    assert all("$juju_application" in e for e in exprs)


def test_logs_are_forwarded_to_loki(ctx, kube):
    relation = testing.Relation(
        "logging",
        remote_app_name="loki",
        remote_units_data={
            0: {"endpoint": json.dumps({"url": "http://loki-0.loki:3100/loki/api/v1/push"})}
        },
    )
    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state(relations=[relation]))
    targets = out.get_container("dex").plan.to_dict()["log-targets"]
    assert targets["loki/0"]["location"] == "http://loki-0.loki:3100/loki/api/v1/push"


# -- removal ----------------------------------------------------------------------------------


def test_removing_the_application_deletes_its_rbac(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    ctx.run(ctx.on.remove(), then(out, planned_units=0))
    assert kube.objects == {}


def test_scaling_down_keeps_the_rbac(ctx, kube):
    out = ctx.run(ctx.on.pebble_ready(container()), state())
    ctx.run(ctx.on.remove(), then(out, leader=False, planned_units=2))
    assert kube.find("Role", "dex-auth-storage", "kubeflow")


def test_defaults_in_charmcraft_match_the_settings():
    settings = dex.Settings.from_config(CONFIG_DEFAULTS)
    assert settings.port == 5556
    assert settings.ldap_search == dex.PRESETS["openldap"]
    assert settings.enable_password_db is True


def test_status_stays_true_on_hooks_that_do_not_reconcile(ctx, kube):
    out = ctx.run(ctx.on.config_changed(), state(config={"port": 80}))
    blocked = out.unit_status
    assert blocked.name == "blocked"
    out = ctx.run(ctx.on.start(), out)
    assert out.unit_status == blocked
