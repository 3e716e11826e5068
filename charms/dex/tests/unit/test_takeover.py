r"""Taking over Charmed Kubeflow 1.11's dex-auth: `juju refresh` into this charm, then its hooks.

The starting state is what Charmed Kubeflow's charm (canonical/dex-auth-operator, branch
track/2.41, the dex-auth of the 1.11/stable bundle) leaves behind, written from its source:

- config: the options both charms have (port, issuer-url, public-url, connectors,
  enable-password-db, static-username, static-password) keep their values, because Juju keeps
  the settings a switched-to charm shares with the old one (juju/juju
  cmd/juju/application/refresh.go, the rules of `--switch`);
- src/charm.py `main` runs on the leader only and, through serialized-data-interface 0.7
  `get_interface`, writes `_supported_versions: "- v1\n"` in its application bag on
  oidc-client and ingress, plus on ingress `data` = the YAML of
  {prefix: /dex, rewrite: /dex, service: <app>, port: <port>} (`handle_ingress`);
  lib/charms/dex_auth/v0/dex_oidc_config.py writes `issuer-url` on dex-oidc-config;
- its StoredState `state` (class `Operator`): username, a random password, a bcrypt salt
  (bytes), user_id and last_static_password (`ensure_state`, `log_owasp_events`), plus the
  stored state of its libraries; Juju keeps the unit's state file and secrets across a refresh
  while the pod lives, and the charm must ignore what it does not know;
- the Dex configuration it generates (`_generate_dex_auth_config`, modelled by `ckf_dex_config`
  below) in the workload container, run by its Pebble layer `dex`, when the pod survives the
  refresh; an empty container and no state when the pod is replaced.

The other sides are what Charmed Kubeflow's charms send: oidc-gatekeeper registers its client on
oidc-client (SDI v1) and reads the issuer on dex-oidc-config; istio-pilot lists v1 and v2 on
ingress (canonical/oidc-gatekeeper-operator, canonical/istio-operators).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml
from ops import pebble, testing

import dex
from conftest import CHARMCRAFT, CONFIG_DEFAULTS, MODEL

APP = "dex-auth"
CONFIG_PATH = "/etc/dex/config.docker.yaml"
GATEKEEPER_CLIENT = {
    "id": "authservice-oidc",
    "name": "Ambassador Auth OIDC",
    "redirectURIs": ["/authservice/oidc/callback"],
    "secret": "K5b0rGZzNq1x8PpW",
}
LDAP_CONNECTOR = (
    "- type: ldap\n"
    "  id: ldap\n"
    "  name: Corporate LDAP\n"
    "  config:\n"
    "    host: ldap.corp.example.com:636\n"
    "    bindDN: cn=kubeflow,ou=svc,dc=corp,dc=example,dc=com\n"
    "    bindPW: bind-secret\n"
    "    userSearch: {baseDN: 'ou=people,dc=corp,dc=example,dc=com', username: uid,\n"
    "                 idAttr: uid, emailAttr: mail, nameAttr: cn}\n"
)

# What operators set on dex-auth (Charmed Kubeflow's documentation logs in as `admin`).
CKF_CONFIGS: dict[str, dict[str, Any]] = {
    "admin login": {"static-username": "admin", "static-password": "admin-pw-1"},
    "issuer-url": {
        "issuer-url": "https://kubeflow.example.com/dex",
        "static-username": "admin@example.com",
        "static-password": "pw-2",
    },
    "issuer-url with a trailing slash": {
        "issuer-url": "https://kubeflow.example.com/dex/",
        "static-username": "admin",
        "static-password": "pw-3",
    },
    "public-url host:port": {
        "public-url": "kubeflow.example.com:8443",
        "static-username": "admin",
        "static-password": "pw-4",
    },
    "public-url": {
        "public-url": "https://kubeflow.example.com",
        "static-username": "admin",
        "static-password": "pw-5",
    },
    "port 5557": {"port": 5557, "static-username": "admin", "static-password": "pw-6"},
    "ldap connector only": {"enable-password-db": False, "connectors": LDAP_CONNECTOR},
    "ldap connector and admin": {
        "connectors": LDAP_CONNECTOR,
        "static-username": "admin",
        "static-password": "pw-7",
    },
}

# -- a model of Charmed Kubeflow's dex-auth (canonical/dex-auth-operator src/charm.py) ------------


def ckf_issuer(config: dict[str, Any]) -> str:
    """`_issuer_url`: issuer-url; else public-url (http:// added without a scheme) + /dex."""
    if config.get("issuer-url"):
        return config["issuer-url"]
    if public := config.get("public-url"):
        if not public.startswith(("http://", "https://")):
            public = f"http://{public}"
        return f"{public}/dex"
    return f"http://{APP}.{MODEL.name}.svc:{config.get('port', 5556)}/dex"


CKF_SALT = b"$2b$12$T4A6H06j5ykPkY88iX0FMO"
CKF_USER_ID = "5d5f2a0e-3c0e-4d61-8a3b-0c5b7a9e4f12"


def ckf_stored(config: dict[str, Any]) -> testing.StoredState:
    """`ensure_state` and `log_owasp_events`: what dex-auth keeps in the unit's state."""
    return testing.StoredState(
        "state",
        owner_path="Operator",
        content={
            "username": "admin",
            "password": "qWfTbXyZkLmNoPaRsUvCdEgHiJ",
            "salt": CKF_SALT,
            "user_id": CKF_USER_ID,
            "last_static_password": config.get("static-password", ""),
        },
    )


# The grafana_dashboard library's own state under the old charm's handle (its set_default).
LIBRARY_STORED = testing.StoredState(
    "_stored",
    owner_path="Operator/GrafanaDashboardProvider[grafana-dashboard]",
    content={"dashboard_templates": {}},
)


def ckf_dex_config(config: dict[str, Any]) -> dict[str, Any]:
    """`_generate_dex_auth_config`: the file dex-auth wrote (static login from its state)."""
    enabled = config.get("enable-password-db", True)
    passwords = []
    if enabled:
        username = config.get("static-username") or "admin"
        password = config.get("static-password") or "qWfTbXyZkLmNoPaRsUvCdEgHiJ"
        digest = bcrypt.hashpw(password.encode(), CKF_SALT).decode()
        passwords = [
            {"email": username, "hash": digest, "username": username, "userID": CKF_USER_ID}
        ]
    return {
        "issuer": ckf_issuer(config),
        "storage": {"type": "kubernetes", "config": {"inCluster": True}},
        "web": {"http": f"0.0.0.0:{config.get('port', 5556)}"},
        "telemetry": {"http": "0.0.0.0:5558"},
        "logger": {"level": "debug", "format": "text"},
        "oauth2": {"skipApprovalScreen": True},
        "staticClients": [GATEKEEPER_CLIENT],
        "connectors": yaml.safe_load(config.get("connectors", "")),
        "enablePasswordDB": enabled,
        "staticPasswords": passwords,
    }


CKF_LAYER = pebble.Layer(
    {
        "summary": "dex-auth-operator layer",
        "services": {
            "dex": {
                "override": "replace",
                "summary": "entrypoint of the dex-auth-operator image",
                "command": "/usr/local/bin/docker-entrypoint dex serve " + CONFIG_PATH,
                "startup": "enabled",
                "user": "_daemon_",
                "environment": {"KUBERNETES_POD_NAMESPACE": MODEL.name},
            }
        },
    }
)


def ckf_relations(config: dict[str, Any]) -> list[testing.Relation]:
    """oidc-client, dex-oidc-config and ingress with both sides' bags as they are."""
    route = {"prefix": "/dex", "rewrite": "/dex", "service": APP, "port": config.get("port", 5556)}
    return [
        testing.Relation(
            "oidc-client",
            remote_app_name="oidc-gatekeeper",
            remote_app_data={
                "_supported_versions": "- v1\n",
                "data": yaml.safe_dump(GATEKEEPER_CLIENT),
            },
            local_app_data={"_supported_versions": "- v1\n"},
        ),
        testing.Relation(
            "dex-oidc-config",
            remote_app_name="oidc-gatekeeper",
            local_app_data={"issuer-url": ckf_issuer(config)},
        ),
        testing.Relation(
            "ingress",
            remote_app_name="istio-pilot",
            remote_app_data={"_supported_versions": "- v1\n- v2\n"},
            local_app_data={"_supported_versions": "- v1\n", "data": yaml.safe_dump(route)},
        ),
    ]


# A secret the application owns that this charm never created (dex-auth 2.41 owns none; any
# other leftover must be left alone).
LEFTOVER_SECRET = testing.Secret(
    {"token": "left-by-an-earlier-charm"}, owner="app", label="dex-auth-previous"
)


def ckf_state(config: dict[str, Any], tmp_path: Path, *, pod_kept: bool) -> testing.State:
    """The model right after `juju refresh`, before this charm's first hook."""
    if pod_kept:
        old_file = tmp_path / "config.docker.yaml"
        old_file.write_text(yaml.dump(ckf_dex_config(config)))
        workload = testing.Container(
            "dex",
            can_connect=True,
            layers={"dex": CKF_LAYER},
            service_statuses={"dex": pebble.ServiceStatus.ACTIVE},
            mounts={"config": testing.Mount(location=CONFIG_PATH, source=old_file)},
        )
        stored = {ckf_stored(config), LIBRARY_STORED}
    else:
        workload = testing.Container("dex", can_connect=True)
        stored = set()
    return testing.State(
        leader=True,
        model=MODEL,
        config=config,
        relations=set(ckf_relations(config)),
        secrets={LEFTOVER_SECRET},
        containers={workload},
        stored_states=stored,
    )


def dex_file(ctx: testing.Context, out: testing.State) -> dict[str, Any]:
    """The Dex configuration in the workload (through the mount when the pod was kept)."""
    workload = out.get_container("dex")
    mount = workload.mounts.get("config")
    if mount is not None:
        return yaml.safe_load(Path(mount.source).read_text())
    return yaml.safe_load((workload.get_filesystem(ctx) / CONFIG_PATH.lstrip("/")).read_text())


def take_over(ctx: testing.Context, before: testing.State) -> testing.State:
    """The hooks Juju runs after the refresh: upgrade-charm, config-changed, pebble-ready."""
    out = ctx.run(ctx.on.upgrade_charm(), before)
    out = ctx.run(ctx.on.config_changed(), out)
    return ctx.run(ctx.on.pebble_ready(out.get_container("dex")), out)


def local_bags(state: testing.State) -> dict[str, dict[str, str]]:
    return {r.endpoint: dict(r.local_app_data) for r in state.relations}


# -- the model of dex-auth against dex-auth's own test vectors ------------------------------------


@pytest.mark.parametrize(
    ("config", "issuer"),
    [
        # canonical/dex-auth-operator tests/unit/test_charm.py, test_issuer_url_property_*
        ({}, "http://dex-auth.kubeflow.svc:5556/dex"),
        ({"issuer-url": "http://my-dex.io:5557/dex"}, "http://my-dex.io:5557/dex"),
        ({"public-url": "http://my-dex.io:5557"}, "http://my-dex.io:5557/dex"),
        ({"public-url": "my-dex.io:5557"}, "http://my-dex.io:5557/dex"),
    ],
)
def test_the_model_of_dex_auth_gives_its_issuers(config, issuer):
    assert ckf_issuer(config) == issuer


def test_the_issuer_check_sees_a_changed_issuer():
    """Normalising the issuer (dropping its trailing slash) would change every token's `iss`."""
    written = CKF_CONFIGS["issuer-url with a trailing slash"]
    assert ckf_issuer(written) != ckf_issuer(written).rstrip("/")


# -- what Juju checks before it switches the charm ---------------------------------------------

# canonical/dex-auth-operator@track/2.41 metadata.yaml and config.yaml: endpoints (role,
# interface) and option types. The bundle relates oidc-client, dex-oidc-config and ingress; COS
# adds the three observability endpoints; the last four serve Istio's ambient mode only.
CKF_ENDPOINTS = {
    "oidc-client": ("requires", "oidc-client"),
    "ingress": ("requires", "ingress"),
    "dex-oidc-config": ("provides", "dex-oidc-config"),
    "metrics-endpoint": ("provides", "prometheus_scrape"),
    "grafana-dashboard": ("provides", "grafana_dashboard"),
    "logging": ("requires", "loki_push_api"),
    "istio-ingress-route-unauthenticated": ("requires", "istio_ingress_route"),
    "service-mesh": ("requires", "service_mesh"),
    "require-cmr-mesh": ("requires", "cross_model_mesh"),
    "provide-cmr-mesh": ("provides", "cross_model_mesh"),
}
CKF_OPTIONS = {
    "port": "int",
    "issuer-url": "string",
    "public-url": "string",
    "connectors": "string",
    "enable-password-db": "boolean",
    "static-username": "string",
    "static-password": "string",
}


def endpoints_juju_would_refuse(in_use: list[str]) -> list[str]:
    """Juju's rule for --switch: the new charm declares every relation the app takes part in."""
    ours = {
        name: (role, spec["interface"])
        for role in ("provides", "requires")
        for name, spec in CHARMCRAFT.get(role, {}).items()
    }
    return [e for e in in_use if ours.get(e) != CKF_ENDPOINTS[e]]


def test_juju_accepts_the_switch_for_the_bundle_and_cos_relations():
    bundle_and_cos = list(CKF_ENDPOINTS)[:6]
    assert endpoints_juju_would_refuse(bundle_and_cos) == []


def test_juju_refuses_the_switch_while_ambient_mode_relations_exist():
    """docs/how-to/adopt.md says to remove these relations first: Juju would refuse."""
    ambient = list(CKF_ENDPOINTS)[6:]
    assert endpoints_juju_would_refuse(ambient) == ambient


def test_shared_options_keep_their_types():
    """Juju's other rule: settings shared by both charms have the same type."""
    options = CHARMCRAFT["config"]["options"]
    assert {name: options[name]["type"] for name in CKF_OPTIONS} == CKF_OPTIONS


# -- upgrade-charm from dex-auth's state ---------------------------------------------------------


@pytest.mark.parametrize("pod_kept", [True, False], ids=["pod kept", "pod replaced"])
@pytest.mark.parametrize("name", list(CKF_CONFIGS))
def test_takeover_keeps_issuer_client_and_logins(ctx, kube, tmp_path, name, pod_kept):
    config = CKF_CONFIGS[name]
    before = ckf_state(config, tmp_path, pod_kept=pod_kept)
    old = ckf_dex_config(config)

    out = take_over(ctx, before)

    assert out.unit_status == testing.ActiveStatus()
    new = dex_file(ctx, out)
    # This charm wrote the file and the layer (dex-auth's ran Dex at debug, without the hash).
    assert new["logger"] == {"level": "info", "format": "text"}
    assert "DEX_CONFIG_HASH" in out.get_container("dex").plan.services["dex"].environment
    # The issuer oidc-gatekeeper knows and every token carries stays the same.
    assert new["issuer"] == old["issuer"] == ckf_issuer(config)
    assert dict(out.get_relations("dex-oidc-config")[0].local_app_data) == {
        "issuer-url": old["issuer"]
    }
    # oidc-gatekeeper's client (and its secret) is registered as it was.
    assert new["staticClients"] == old["staticClients"] == [GATEKEEPER_CLIENT]
    # The same logins: the static user with the same password, the same connectors.
    assert new["enablePasswordDB"] == old["enablePasswordDB"]
    assert (new["connectors"] or None) == old["connectors"]
    if config.get("static-username"):
        [user] = new["staticPasswords"]
        [was] = old["staticPasswords"]
        assert (user["email"], user["username"]) == (was["email"], was["username"])
        password = config["static-password"].encode()
        assert bcrypt.checkpw(password, user["hash"].encode())
        assert not bcrypt.checkpw(b"not-" + password, user["hash"].encode())
    else:
        assert new["staticPasswords"] == []
    # What istio-pilot and oidc-gatekeeper read is unchanged: no relation-changed for them.
    assert local_bags(out) == local_bags(before)
    # Dex runs with the new layer; leftovers are left as they were.
    assert out.get_container("dex").plan.services["dex"].command.endswith(CONFIG_PATH)
    assert out.stored_states >= before.stored_states
    assert out.get_secret(label="dex-auth-previous").tracked_content == {
        "token": "left-by-an-earlier-charm"
    }


def test_takeover_of_the_untouched_bundle_blocks_as_dex_auth_did_nobody_log_in(
    ctx, kube, tmp_path
):
    """dex-auth's defaults give `admin` a random password nobody knows: nobody can log in.

    After the takeover the charm says so and names the fix, and Dex still serves the issuer and
    the client, so setting a login is enough.
    """
    out = take_over(ctx, ckf_state({}, tmp_path, pod_kept=True))
    assert out.unit_status == testing.BlockedStatus(
        "nobody can log in: set static-username and static-password, integrate ldap, or set "
        "connectors"
    )
    new = dex_file(ctx, out)
    assert new["issuer"] == ckf_issuer({})
    assert new["staticClients"] == [GATEKEEPER_CLIENT]


def test_a_username_without_password_blocks_and_leaves_dex_auth_running(ctx, kube, tmp_path):
    """dex-auth filled a missing static-password from its state; this charm asks for one.

    Until then the workload keeps dex-auth's file and layer, so logins keep working.
    """
    config = {"static-username": "admin"}
    before = ckf_state(config, tmp_path, pod_kept=True)
    out = ctx.run(ctx.on.upgrade_charm(), before)
    assert out.unit_status == testing.BlockedStatus(
        "config static-password: expected a value "
        "(static-username and static-password go together)"
    )
    assert dex_file(ctx, out) == ckf_dex_config(config)
    assert out.get_container("dex").layers == {"dex": CKF_LAYER}


def test_nothing_changes_on_the_next_hooks(ctx, kube, tmp_path):
    out = take_over(ctx, ckf_state(CKF_CONFIGS["admin login"], tmp_path, pod_kept=True))
    plan, file = out.get_container("dex").plan.to_dict(), dex_file(ctx, out)
    kube.reset_calls()
    for event in (ctx.on.config_changed(), ctx.on.update_status()):
        out = ctx.run(event, out)
    assert kube.writes == []
    assert out.get_container("dex").plan.to_dict() == plan
    assert dex_file(ctx, out) == file


# -- LDAP afterwards, by relation ----------------------------------------------------------------


def bind_secret() -> testing.Secret:
    return testing.Secret({"password": "glauth-bind-pw"}, label="relation-9-bind-account-secret")


def glauth(secret: testing.Secret) -> testing.Relation:
    """glauth-k8s's app bag on ldap (see test_charm.py)."""
    return testing.Relation(
        "ldap",
        remote_app_name="glauth-k8s",
        remote_app_data={
            "urls": '["ldap://glauth-k8s.kubeflow.svc.cluster.local:3893"]',
            "ldaps_urls": "[]",
            "base_dn": "dc=glauth,dc=com",
            "bind_dn": "cn=dex-auth,ou=kubeflow,dc=glauth,dc=com",
            "bind_password_secret": secret.id,
            "auth_method": "simple",
            "starttls": "True",
        },
        id=9,
    )


def with_ldap(out: testing.State) -> tuple[testing.State, testing.Relation]:
    secret = bind_secret()
    relation = glauth(secret)
    state = testing.State(
        leader=out.leader,
        model=out.model,
        config=out.config,
        relations={*out.relations, relation},
        secrets={*out.secrets, secret},
        containers=out.containers,
        stored_states=out.stored_states,
        opened_ports=out.opened_ports,
    )
    return state, relation


def test_ldap_added_after_the_takeover_joins_the_static_user(ctx, kube, tmp_path):
    config = CKF_CONFIGS["admin login"]
    out = take_over(ctx, ckf_state(config, tmp_path, pod_kept=True))
    state, relation = with_ldap(out)

    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state)

    assert out.unit_status == testing.ActiveStatus()
    new = dex_file(ctx, out)
    [connector] = new["connectors"]
    assert (connector["id"], connector["type"]) == ("ldap", "ldap")
    assert connector["config"]["host"] == "glauth-k8s.kubeflow.svc.cluster.local:3893"
    assert [u["email"] for u in new["staticPasswords"]] == ["admin"]
    assert new["issuer"] == ckf_issuer(config)
    assert new["staticClients"] == [GATEKEEPER_CLIENT]
    env = out.get_container("dex").plan.services["dex"].environment
    assert env["LDAP_BIND_PW"] == "glauth-bind-pw"


def test_ldap_relation_over_a_configured_ldap_connector_blocks_and_keeps_it(ctx, kube, tmp_path):
    """Dex keys identities on the connector id: the old `ldap` connector is not replaced."""
    config = CKF_CONFIGS["ldap connector and admin"]
    out = take_over(ctx, ckf_state(config, tmp_path, pod_kept=False))
    state, relation = with_ldap(out)

    out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state)

    assert out.unit_status == testing.BlockedStatus(
        "ldap: connector id ldap is already in the connectors option; remove that connector "
        "(its users get new Dex identities) or the ldap relation"
    )
    assert dex_file(ctx, out)["connectors"] == yaml.safe_load(LDAP_CONNECTOR)
    assert "LDAP_BIND_PW" not in out.get_container("dex").plan.services["dex"].environment


def test_an_id_of_the_relation_in_the_option_is_found():
    relation = [{"type": "ldap", "id": "ldap"}, {"type": "ldap", "id": "ldap-2"}]
    options = dict(CONFIG_DEFAULTS)
    free = dex.Settings.from_config({**options, "connectors": "- {type: github, id: ldap-3}"})
    assert dex.taken_connector_id(relation, free) is None
    taken = dex.Settings.from_config({**options, "connectors": "- {type: ldap, id: ldap-2}"})
    assert dex.taken_connector_id(relation, taken) == "ldap-2"
