"""The rendered Dex workload against the upstream facts the charm depends on (Dex 2.41).

Each fact names its file in dexidp/dex (tag v2.41.1), the Go standard library or the rock the
charm runs. The models here follow Dex's processing exactly: a connector's config is raw JSON
text that `os.ExpandEnv` rewrites before `json.Unmarshal` reads it, so the bind password must
survive being pasted into a JSON string, and the `connectors` option must not reach the
charm's variables.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

import dex
import slapd
from conftest import CONFIG_DEFAULTS
from dex_ldap import DexLoginError, expand, go_expand
from dsplib.validation import InvalidConfig

DEX = "dexidp/dex@v2.41.1"

# fact -> (value, source)
UPSTREAM: dict[str, tuple[Any, str]] = {
    "expansion": (
        "os.ExpandEnv over the raw JSON of each connector's config, then json.Unmarshal",
        f"{DEX} cmd/dex/config.go Connector.UnmarshalJSON "
        "(error: parse connector config); Go src/os/env.go Expand/getShellName",
    ),
    "expansion switch": (
        ("DEX_EXPAND_ENV", True),
        f'{DEX} pkg/featureflags/set.go ExpandEnv = newFlag("expand_env", true)',
    ),
    "log levels": (("debug", "info", "error"), f"{DEX} cmd/dex/serve.go newLogger"),
    "storage namespace variable": (
        "KUBERNETES_POD_NAMESPACE",
        f"{DEX} storage/kubernetes/client.go (in-cluster namespace)",
    ),
    "command": (
        "/usr/local/bin/docker-entrypoint dex serve /etc/dex/config.docker.yaml",
        "canonical/dex-auth-operator@track/2.41 src/charm.py; "
        "charmedkubeflow/dex:2.41.1 rock (docker-entrypoint from dexidp/dex Dockerfile)",
    ),
    "ports": ({"web": 5556, "telemetry": 5558}, f"{DEX} config.docker.yaml examples; charm"),
    "health path": ("/healthz", f'{DEX} server/server.go handlePrefix("/healthz")'),
    "static user login": (
        "email",
        f"{DEX} cmd/dex/config.go password (email, hash, username, userID; only the hash is "
        'checked); web/templates/password.html <input type="text" name="login">',
    ),
}


def fact(name: str) -> Any:
    return UPSTREAM[name][0]


def settings(**config) -> dex.Settings:
    return dex.Settings.from_config({**CONFIG_DEFAULTS, **config})


def connector_and_environment(password: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The LDAP connector and the Dex environment the charm renders for `password`."""
    directory = dex.Directory(
        app="ldap-integrator",
        urls=("ldap://ldap.example.com",),
        ldaps_urls=(),
        base_dn="dc=example,dc=org",
        bind_dn="cn=dex,dc=example,dc=org",
        starttls=True,
        bind_password=password,
    )
    s = settings()
    [connector] = dex.ldap_connectors(directory, s)
    layer = dex.pebble_layer(namespace="kf", config_text="x", settings=s, bind_password=password)
    return connector["config"], layer["services"]["dex"]["environment"]


PASSWORDS = [
    *slapd.HARD_BIND_PASSWORDS.values(),
    "plain",
    "\\",
    '"',
    "$",
    "\\u00e9",
    "\u2028\u2029",
    "tab\there",
    "\x00nul",
    "}{][,:",
    "😀" * 20,
]


def test_every_fact_names_its_source():
    for name, (_value, source) in UPSTREAM.items():
        assert source.strip(), name


@pytest.mark.parametrize("password", PASSWORDS)
def test_dex_reads_back_exactly_the_bind_password(password):
    config, environment = connector_and_environment(password)
    assert config["bindPW"] == f"${dex.BIND_PASSWORD_ENV}"
    assert expand(config, environment)["bindPW"] == password


@pytest.mark.parametrize(
    ("password", "effect"),
    [
        ('pa"ss', "parse connector config"),
        ("ends-in\\", "parse connector config"),
        ("two\nlines", "parse connector config"),
        ("a\\nb", "a\nb"),
        ("\\u0041", "A"),
    ],
)
def test_the_raw_password_would_make_dex_exit_or_change_it(password, effect):
    """The model's case that must fail: what an unescaped value does in Dex."""
    config, _ = connector_and_environment(password)
    raw = {dex.BIND_PASSWORD_ENV: password}
    if effect == "parse connector config":
        with pytest.raises(DexLoginError, match=effect):
            expand(config, raw)
    else:
        assert expand(config, raw)["bindPW"] == effect


@pytest.mark.parametrize(
    "text",
    [
        "$A",
        "${A}",
        "${}",
        "${",
        "${unclosed",
        "$",
        "a$",
        "$$",
        "$1x",
        "${*}",
        "${ab}c$d_e-f",
        "$.x",
        "$ x",
        "$é",
        '"$LDAP_BIND_PW"',
        "x${LDAP_BIND_PW}y",
        "$-$?$!",
    ],
)
def test_the_charm_finds_the_variables_go_expands(text):
    """dex.expanded_variables against the Go model (two independent readings of env.go)."""
    looked_up: list[str] = []

    def mapping(name: str) -> str:
        looked_up.append(name)
        return ""

    expanded = go_expand(text, mapping)
    found = dex.expanded_variables(text)
    assert [n for n in found if n] == looked_up
    assert bool(found) == (expanded != text)


def test_the_go_model_expands_once_and_leaves_a_lone_dollar():
    env = {"A": "$B", "B": "no"}
    assert go_expand("x$A$ y$", env.__getitem__) == "x$B$ y$"
    assert go_expand("${A}${}", env.__getitem__) == "$B"


@pytest.mark.parametrize(
    "reference",
    ["$LDAP_BIND_PW", "${LDAP_BIND_PW}", "$KUBERNETES_POD_NAMESPACE", "x$DEX_CONFIG_HASH"],
)
def test_connectors_may_not_reach_the_charms_own_variables(reference):
    text = f"- type: oidc\n  id: sso\n  config:\n    clientSecret: '{reference}'\n"
    with pytest.raises(InvalidConfig, match="charm's own variable") as info:
        dex.parse_connectors(text)
    assert info.value.option == "connectors"


def test_the_charms_variables_are_exactly_those_it_sets():
    _, environment = connector_and_environment("pw")
    assert set(environment) == set(dex.OWN_ENVIRONMENT)
    assert fact("storage namespace variable") == dex.NAMESPACE_ENV


@pytest.mark.parametrize("value", ["$", "price: 5$", "$ sign", "a$.b"])
def test_a_dollar_dex_leaves_alone_is_accepted(value):
    text = f"- type: oidc\n  id: sso\n  config:\n    note: {json.dumps(value)}\n"
    assert dex.parse_connectors(text)[0]["config"]["note"] == value
    assert expand(dex.parse_connectors(text)[0]["config"], {})["note"] == value


@pytest.mark.parametrize(
    "username",
    [
        "admin@example.com",
        "first.last+kf@sub.example.org",
        "A_B@example-1.io",
        # Charmed Kubeflow's dex-auth takes any login, and Dex matches any string typed into
        # its text input: these worked there and must keep working after a takeover.
        "admin",
        "ad min@example.com",
        "{admin: x}",
        "ädmin",
        "a" * 250 + "@example.com",
    ],
)
def test_logins_dex_accepts_are_accepted(username):
    assert settings(**{"static-username": username, "static-password": "pw"}).static_username


@pytest.mark.parametrize(
    "username",
    [
        "admin@example.com\nroot@example.com",
        "ad\rmin",
        "ad\tmin",
        "admin\x00",
        "admin\x7f",
        "ad\x85min",
    ],
)
def test_logins_nobody_could_type_are_refused(username):
    """A text input holds no line break or control character (see dex._LOGIN)."""
    with pytest.raises(InvalidConfig) as info:
        settings(**{"static-username": username, "static-password": "pw"})
    assert info.value.option == "static-username"


def test_log_levels_and_ports_match_dex():
    assert fact("log levels") == dex.LOG_LEVELS
    assert fact("command") == dex.COMMAND
    assert settings().port == fact("ports")["web"]
    assert fact("ports")["telemetry"] == dex.METRICS_PORT
    layer = dex.pebble_layer(
        namespace="kf", config_text="x", settings=settings(), bind_password=None
    )
    url = layer["checks"]["dex-ready"]["http"]["url"]
    assert url.endswith(f":{fact('ports')['web']}{dex.ISSUER_PATH}{fact('health path')}")
    switch, default_on = fact("expansion switch")
    assert default_on
    assert switch not in layer["services"]["dex"]["environment"]


def test_random_passwords_survive_dex_processing():
    """500 passwords drawn (fixed seed) from the characters that matter to JSON and Go."""
    alphabet = '"\\$ {}[]:,\n\r\t\x00\x1f/u0aZ_é中🔑\u2028'
    rng = random.Random(2041)  # noqa: S311 - test data, not secrets
    for _ in range(500):
        password = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))
        config, environment = connector_and_environment(password)
        assert expand(config, environment)["bindPW"] == password, repr(password)
