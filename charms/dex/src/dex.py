"""Dex 2.41: its settings, the configuration file it reads and the Pebble layer that runs it.

Nothing here imports ops: the charm gathers config and relation data, this module decides what
Dex's configuration looks like (issuer, Kubernetes storage, static clients, connectors, the
password database) and the unit tests check it directly.

Two properties of Dex shape the LDAP connector. Dex runs `os.ExpandEnv` over the raw JSON text
of each connector's configuration and only then parses it (cmd/dex/config.go,
`Connector.UnmarshalJSON`), so the bind password is handed over as `$LDAP_BIND_PW` and lives only
in the service environment, JSON-escaped, because it lands inside a JSON string; a literal `$`
elsewhere in a connector would be silently replaced (such values are refused). And `host`
without a port makes Dex dial 636 unless `insecureNoSSL` is set, so the port is always rendered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import yaml

from dsplib import validation as check

CONTAINER = "dex"
SERVICE = "dex"
CONFIG_PATH = "/etc/dex/config.docker.yaml"
COMMAND = f"/usr/local/bin/docker-entrypoint dex serve {CONFIG_PATH}"
METRICS_PORT = 5558
ISSUER_PATH = "/dex"
BIND_PASSWORD_ENV = "LDAP_BIND_PW"  # noqa: S105 - the name of a variable, not a password
CONFIG_HASH_ENV = "DEX_CONFIG_HASH"
NAMESPACE_ENV = "KUBERNETES_POD_NAMESPACE"  # Dex's Kubernetes storage reads its namespace here
# Every variable the charm puts in Dex's environment: a connector that names one would receive
# its value (the bind password, above all), so the `connectors` option may not.
OWN_ENVIRONMENT = (NAMESPACE_ENV, CONFIG_HASH_ENV, BIND_PASSWORD_ENV)
LDAP_CONNECTOR_ID = "ldap"
LOCAL_CONNECTOR_ID = "local"  # Dex's id for the password database
LOG_LEVELS = ("debug", "info", "error")
BCRYPT_COST = 10  # Go's bcrypt.DefaultCost, the lowest cost Dex accepts without complaint
BCRYPT_MAX_BYTES = 72
# Names user ids of the static user, so every unit derives the same one without shared state.
STATIC_USER_NAMESPACE = uuid.UUID("6f1d3c8e-2b0a-4c55-9a51-8a3f7d0e4b21")

_ATTRIBUTE = re.compile(r"^(DN|[A-Za-z][A-Za-z0-9-]*)$")
# A group attribute Dex puts in `(<groupAttr>=<value>)`: an attribute, or the left-hand side of an
# extensible match (RFC 4515 section 3: attr [":dn"] [":" matchingrule] ":"), which is how
# Active Directory's in-chain rule finds nested groups: `member:1.2.840.113556.1.4.1941:`.
_GROUP_ATTRIBUTE = re.compile(
    r"^[A-Za-z][A-Za-z0-9-]*"
    r"(?:(?::dn)?(?::(?:[0-9]+(?:\.[0-9]+)+|[A-Za-z][A-Za-z0-9-]*))?:)?$",
    re.IGNORECASE,
)
# LDAP_MATCHING_RULE_IN_CHAIN (MS-ADTS 3.1.1.3.4.4.3): walks nested groups on the server.
IN_CHAIN_RULE = "1.2.840.113556.1.4.1941"
# Active Directory keeps these as 16- or 28-byte binary values; Dex 2.41 copies the raw bytes
# into the identity and cannot issue a token for them (dexidp/dex#3128, fixed by #4978 only
# after 2.41: "string field contains invalid UTF-8").
BINARY_ATTRIBUTES = ("objectguid", "objectsid")
# The static user's login. Dex 2.41 takes `staticPasswords[].email` as any string
# (dexidp/dex cmd/dex/config.go, password.UnmarshalJSON checks only the hash) and compares it
# with what is typed in the `<input type="text" name="login">` of its password form
# (web/templates/password.html). A text input holds no line break (the HTML standard's value
# sanitization algorithm for input type=text strips them) and a keyboard types no control
# character, so only those are refused: Charmed Kubeflow's dex-auth takes any value, and
# `admin` is a common one.
_LOGIN = re.compile(r"[^\x00-\x1f\x7f-\x9f]+")


class LdapDataError(Exception):
    """What the ldap relation carries cannot make a working connector (message names the fix)."""


class NoLogin(Exception):
    """The settings leave nobody a way to log in (message names the fix)."""


@dataclass(frozen=True)
class LdapSearch:
    """How Dex finds a user and their groups in the directory."""

    user_filter: str
    username: str
    id_attr: str
    email_attr: str
    name_attr: str
    group_filter: str
    membership: tuple[tuple[str, str], ...]
    group_name_attr: str
    user_base_dn: str = ""
    group_base_dn: str = ""


PRESETS: dict[str, LdapSearch] = {
    # OpenLDAP, 389-ds and glauth: people are inetOrgPerson and/or posixAccount, groups are
    # posixGroup (memberUid holds user names) or groupOfNames (member holds user DNs).
    "openldap": LdapSearch(
        user_filter="(|(objectClass=person)(objectClass=posixAccount))",
        username="uid",
        id_attr="uid",
        email_attr="mail",
        name_attr="cn",
        group_filter="(|(objectClass=posixGroup)(objectClass=groupOfNames))",
        membership=(("uid", "memberUid"), ("DN", "member")),
        group_name_attr="cn",
    ),
    # Active Directory: people log in with their sAMAccountName; groups list member DNs. The id
    # is sAMAccountName because objectGUID, the only name AD never changes, is binary and Dex
    # 2.41 cannot use it (BINARY_ATTRIBUTES); cn, not displayName, because every account has a
    # cn while displayName is optional and Dex refuses a login whose nameAttr is missing.
    "active-directory": LdapSearch(
        user_filter="(&(objectCategory=person)(objectClass=user))",
        username="sAMAccountName",
        id_attr="sAMAccountName",
        email_attr="mail",
        name_attr="cn",
        group_filter="(objectClass=group)",
        membership=(("DN", "member"),),
        group_name_attr="cn",
    ),
}

_SEARCH_OPTIONS = {
    "ldap-user-filter": "user_filter",
    "ldap-username-attribute": "username",
    "ldap-id-attribute": "id_attr",
    "ldap-email-attribute": "email_attr",
    "ldap-name-attribute": "name_attr",
    "ldap-group-filter": "group_filter",
    "ldap-group-name-attribute": "group_name_attr",
    "ldap-user-base-dn": "user_base_dn",
    "ldap-group-base-dn": "group_base_dn",
}


@dataclass(frozen=True)
class Settings:
    """Validated charm config."""

    port: int
    issuer_url: str  # "" means the in-cluster default
    log_level: str
    connectors: tuple[dict[str, Any], ...]
    enable_password_db: bool
    static_username: str
    static_password: str = field(repr=False)
    ldap_search: LdapSearch
    ldap_display_name: str
    ldap_ca_cert: str
    ldap_insecure_skip_verify: bool
    ldap_allow_plaintext: bool

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Check every option; raises InvalidConfig naming the first bad one."""
        username = str(config.get("static-username") or "").strip()
        password = str(config.get("static-password") or "")
        if bool(username) != bool(password):
            missing = "static-password" if username else "static-username"
            raise check.InvalidConfig(
                missing, "a value (static-username and static-password go together)"
            )
        if username and not _LOGIN.fullmatch(username):
            raise check.InvalidConfig(
                "static-username", "a login on one line, e.g. admin@example.com"
            )
        if len(password.encode()) > BCRYPT_MAX_BYTES:
            raise check.InvalidConfig("static-password", "at most 72 bytes (the bcrypt limit)")
        display = str(config.get("ldap-display-name") or "").strip()
        if not display or "$" in display:
            raise check.InvalidConfig("ldap-display-name", "a non-empty name without '$'")
        return cls(
            port=check.port("port", config.get("port")),
            issuer_url=_issuer_option(config),
            log_level=check.choice("log-level", config.get("log-level", "info"), LOG_LEVELS),
            connectors=parse_connectors(str(config.get("connectors") or "")),
            enable_password_db=bool(config.get("enable-password-db", True)),
            static_username=username,
            static_password=password,
            ldap_search=ldap_search(config),
            ldap_display_name=display,
            ldap_ca_cert=_ca_certificates("ldap-ca-cert", str(config.get("ldap-ca-cert") or "")),
            ldap_insecure_skip_verify=bool(config.get("ldap-insecure-skip-verify", False)),
            ldap_allow_plaintext=bool(config.get("ldap-allow-plaintext", False)),
        )


def _issuer_option(config: Mapping[str, Any]) -> str:
    """issuer-url, else the deprecated public-url + /dex; "" for the in-cluster default.

    The issuer is what every token carries, so a value dex-auth accepted gives the issuer it
    announced (canonical/dex-auth-operator src/charm.py `_issuer_url`): issuer-url as it is
    written (a trailing slash kept), and a public-url without a scheme read as http://.
    """
    issuer = str(config.get("issuer-url") or "").strip()
    public = str(config.get("public-url") or "").strip().rstrip("/")
    option = "issuer-url"
    if not issuer and public:
        if "://" not in public:
            public = f"http://{public}"
        if not _is_http_url(public):
            raise check.InvalidConfig("public-url", "an http(s):// URL or a host[:port]")
        issuer, option = public + ISSUER_PATH, "public-url"
    if issuer and not (
        _is_http_url(issuer) and urlsplit(issuer).path in (ISSUER_PATH, ISSUER_PATH + "/")
    ):
        raise check.InvalidConfig(option, "an http(s):// URL ending in /dex (the ingress path)")
    return issuer


def _is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def issuer_url(settings: Settings, app: str, model: str) -> str:
    """The issuer Dex announces and OIDC clients must use."""
    return settings.issuer_url or f"http://{app}.{model}.svc:{settings.port}{ISSUER_PATH}"


def parse_connectors(text: str) -> tuple[dict[str, Any], ...]:
    """The `connectors` option: a YAML list of Dex connectors with unique ids, none `local`."""
    if not text.strip():
        return ()
    try:
        data = check.load_yaml(text)
    except check.UnreadableYaml:
        raise check.InvalidConfig("connectors", "a YAML list of Dex connectors") from None
    if data is None:
        return ()
    if not isinstance(data, list) or not all(isinstance(c, dict) for c in data):
        raise check.InvalidConfig("connectors", "a YAML list of Dex connectors")
    seen: set[str] = set()
    for connector in data:
        kind, ident = connector.get("type"), connector.get("id")
        if not (
            isinstance(kind, str) and kind.strip() and isinstance(ident, str) and ident.strip()
        ):
            raise check.InvalidConfig("connectors", "every connector to have a type and an id")
        if ident == LOCAL_CONNECTOR_ID:
            raise check.InvalidConfig(
                "connectors", f"another id than {ident} (Dex's password database)"
            )
        if ident in seen:
            raise check.InvalidConfig("connectors", f"unique ids ({ident} appears twice)")
        if not isinstance(connector.get("config", {}), dict):
            raise check.InvalidConfig("connectors", f"the config of {ident} to be a mapping")
        _check_expansions(ident, connector.get("config", {}))
        seen.add(ident)
    return tuple(json.loads(json.dumps(data)))


def expanded_variables(text: str) -> list[str]:
    """Names Go's os.ExpandEnv would look up in `text` ("" for a malformed `${`, which it eats).

    The rules of getShellName in Go's src/os/env.go: `${NAME}` (any text up to `}`), `$` and one
    of `*#$@!?-0123456789`, or `$` and the longest run of letters, digits and `_`. A `$` before
    anything else is left as it is.
    """
    names: list[str] = []
    i = 0
    while i < len(text) - 1:
        if text[i] != "$":
            i += 1
            continue
        rest = text[i + 1 :]
        if rest[0] == "{":
            if len(rest) > 2 and rest[1] in _SHELL_SPECIAL and rest[2] == "}":
                names.append(rest[1])
                i += 4
                continue
            end = rest.find("}")
            names.append(rest[1:end] if end > 1 else "")
            i += 1 + (end + 1 if end > 0 else 1)
            continue
        if rest[0] in _SHELL_SPECIAL:
            names.append(rest[0])
            i += 2
            continue
        run = re.match(r"[A-Za-z0-9_]*", rest)
        length = run.end() if run else 0
        if length:
            names.append(rest[:length])
        i += 1 + length
    return names


_SHELL_SPECIAL = "*#$@!?-0123456789"


def _check_expansions(ident: str, config: Mapping[str, Any]) -> None:
    """Refuse a connector whose configuration Dex would change by expanding variables.

    Dex expands the JSON text of the configuration, and the charm sets no variable for other
    connectors: a reference to one of the charm's own would hand that value (the LDAP bind
    password) to another identity provider, and any other `$` is silently replaced.
    """
    names = expanded_variables(json.dumps(config))
    own = [n for n in names if n in OWN_ENVIRONMENT]
    if own:
        raise check.InvalidConfig(
            "connectors",
            f"no ${own[0]} in the config of {ident}: it is the charm's own variable and Dex "
            "would put its value there",
        )
    if names:
        raise check.InvalidConfig(
            "connectors",
            f"no '$' before a name or '{{' in the config of {ident}: Dex expands "
            "$VARIABLES there and has no escape for '$'",
        )


def bind_password_environment(password: str) -> str:
    r"""The value of $LDAP_BIND_PW that makes Dex's bindPW exactly `password`.

    Dex substitutes the variable into the raw JSON text inside the string `"$LDAP_BIND_PW"`
    and then parses that text, so the value must be the body of a JSON string: `"` and `\`
    would otherwise end the string or start an escape (Dex exits, or `\n` becomes a newline),
    and non-ASCII travels as `\uXXXX` escapes. A `$` in the value is safe: Go expands once.
    """
    return json.dumps(password)[1:-1]


def ldap_search(config: Mapping[str, Any]) -> LdapSearch:
    """The preset of `ldap-schema` with every non-empty ldap-* override applied."""
    preset = PRESETS[check.choice("ldap-schema", config.get("ldap-schema", "openldap"), PRESETS)]
    changes: dict[str, Any] = {}
    for option, name in _SEARCH_OPTIONS.items():
        value = str(config.get(option) or "").strip()
        if not value:
            continue
        if "$" in value:
            raise check.InvalidConfig(option, "a value without '$' (Dex expands $VARIABLES)")
        if option.endswith("-filter") and not _is_filter(value):
            raise check.InvalidConfig(
                option, "an LDAP filter in parentheses, e.g. (objectClass=person)"
            )
        if option.endswith("-attribute") and not _ATTRIBUTE.match(value):
            raise check.InvalidConfig(option, "an LDAP attribute name such as uid, or DN")
        if option.endswith("-attribute") and value.lower() in BINARY_ATTRIBUTES:
            raise check.InvalidConfig(
                option, f"a text attribute: Dex 2.41 cannot put the binary {value} in a token"
            )
        if option.endswith("-base-dn") and "=" not in value:
            raise check.InvalidConfig(option, "a DN such as ou=people,dc=example,dc=org")
        changes[name] = value
    membership = str(config.get("ldap-group-membership") or "").strip()
    if membership:
        changes["membership"] = _membership(membership)
    search = replace(preset, **changes)
    if bool(config.get("ldap-nested-groups", False)):
        search = _nested(search, preset is PRESETS["active-directory"])
    return search


def _membership(text: str) -> tuple[tuple[str, str], ...]:
    """userAttr:groupAttr pairs; the group side may be an extensible match such as AD's in-chain.

    Dex 2.41 builds each group search as `(<groupAttr>=<escaped userAttr value>)`, ANDed with
    the group filter (connector/ldap/ldap.go, ldapConnector.groups), so a groupAttr of
    `member:1.2.840.113556.1.4.1941:` yields the valid extensible filter
    `(member:1.2.840.113556.1.4.1941:=<user DN>)`. The first `:` splits the pair, so
    `DN:member:1.2.840.113556.1.4.1941:` is the user's DN matched by the in-chain rule.
    """
    pairs = []
    for item in check.comma_list(text):
        user_attr, sep, group_attr = (part.strip() for part in item.partition(":"))
        if not sep or not _ATTRIBUTE.match(user_attr) or not _GROUP_ATTRIBUTE.match(group_attr):
            raise check.InvalidConfig(
                "ldap-group-membership",
                "userAttr:groupAttr pairs such as uid:memberUid,DN:member "
                f"(or DN:member:{IN_CHAIN_RULE}: for nested AD groups)",
            )
        pairs.append((user_attr, group_attr))
    return tuple(pairs)


def _nested(search: LdapSearch, active_directory: bool) -> LdapSearch:
    """The searches with every DN:member pair matched through AD's in-chain rule.

    OpenLDAP, 389-ds and glauth do not implement the rule: a filter naming it matches nothing
    there, so every group would silently disappear; only the AD preset accepts the option.
    """
    if not active_directory:
        raise check.InvalidConfig(
            "ldap-nested-groups",
            "false unless ldap-schema=active-directory (nested groups use a rule only Active "
            "Directory implements)",
        )
    chained = f"member:{IN_CHAIN_RULE}:"
    pairs = tuple(
        (u, chained) if u == "DN" and g.lower() == "member" else (u, g)
        for u, g in search.membership
    )
    if chained not in (g for _, g in pairs):
        raise check.InvalidConfig(
            "ldap-nested-groups", "false, or ldap-group-membership with a DN:member pair"
        )
    return replace(search, membership=pairs)


def _is_filter(text: str) -> bool:
    """Parenthesised and balanced: enough to catch a missing pair before Dex rejects it."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _ca_certificates(option: str, text: str) -> str:
    """The PEM certificates of an option, one per block; "" when empty."""
    if not text.strip():
        return ""
    blocks = re.findall(
        r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----", text
    )
    if not blocks:
        raise check.InvalidConfig(option, "PEM certificates (-----BEGIN CERTIFICATE-----)")
    for block in blocks:
        body = block.removeprefix("-----BEGIN CERTIFICATE-----")
        body = body.removesuffix("-----END CERTIFICATE-----")
        try:
            base64.b64decode("".join(body.split()), validate=True)
        except binascii.Error:
            raise check.InvalidConfig(option, "PEM certificates with valid base64") from None
    return "".join(f"{block}\n" for block in blocks)


# -- the ldap relation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Directory:
    """What an ldap provider (glauth-k8s, ldap-integrator) tells us about its directory."""

    app: str
    urls: tuple[str, ...]
    ldaps_urls: tuple[str, ...]
    base_dn: str
    bind_dn: str
    starttls: bool
    bind_password: str = field(repr=False)


REQUIRED_LDAP_FIELDS = ("urls", "base_dn", "bind_dn", "bind_password_secret")


def check_ldap_data(app: str, data: Mapping[str, str]) -> None:
    """Raise LdapDataError naming the first problem of a provider's databag, if any."""
    missing = [key for key in REQUIRED_LDAP_FIELDS if not str(data.get(key) or "").strip()]
    if missing:
        raise LdapDataError(f"ldap: {app} sent no {', '.join(missing)}; configure {app}")
    _url_list(app, "urls", data["urls"], "ldap")
    _url_list(app, "ldaps_urls", data.get("ldaps_urls") or "[]", "ldaps")
    starttls = str(data.get("starttls") or "false").strip().lower()
    if starttls not in ("true", "false"):
        raise LdapDataError(f"ldap: starttls from {app} is neither True nor False")
    for key in ("base_dn", "bind_dn"):
        if "$" in data[key]:
            raise LdapDataError(
                f"ldap: {key} from {app} contains '$', which Dex would expand; change it on {app}"
            )


def _url_list(app: str, key: str, raw: str, scheme: str) -> list[str]:
    try:
        urls = json.loads(raw) if raw.strip() else []
    except ValueError:
        urls = None
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not all(
        isinstance(u, str) and _endpoint(u, scheme) for u in urls
    ):
        raise LdapDataError(f"ldap: {key} from {app} is not a list of {scheme}:// URLs; fix {app}")
    return urls


def _endpoint(url: str, scheme: str) -> str | None:
    """`host:port` of an ldap(s) URL, with the scheme's default port; None if not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != scheme or not parts.hostname:
        return None
    host = parts.hostname
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return f"{host}:{port or (636 if scheme == 'ldaps' else 389)}"


def ldap_connectors(
    directory: Directory, settings: Settings, ca_certificates: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Dex's LDAP connector for the directory: one login choice, whatever the URL count.

    LDAPS is used when the provider offers it; otherwise its ldap:// URLs with StartTLS as it
    says; a directory with neither needs `ldap-allow-plaintext`. Dex 2.41's connector takes one
    `host` (connector/ldap/ldap.go Config.Host), and a connector per URL would put one button
    per server on the login page and give the same person a different subject on each (the
    subject includes the connector id). So the first URL is the host: for several domain
    controllers the provider gives the domain's DNS name, which AD's DNS resolves to every DC,
    and Go's dialer tries each address in turn (see docs/how-to/ldap.md).
    """
    if directory.ldaps_urls:
        scheme, mode, urls = "ldaps", "ldaps", directory.ldaps_urls
    elif directory.starttls:
        scheme, mode, urls = "ldap", "starttls", directory.urls
    elif settings.ldap_allow_plaintext:
        scheme, mode, urls = "ldap", "plain", directory.urls
    else:
        raise LdapDataError(
            f"ldap: {directory.app} offers neither LDAPS nor StartTLS; enable one on "
            f"{directory.app} or set ldap-allow-plaintext=true"
        )
    host = next((h for h in (_endpoint(u, scheme) for u in urls) if h), None)
    if host is None:
        raise LdapDataError(
            f"ldap: {directory.app} sent no usable {scheme}:// URL; fix {directory.app}"
        )
    ca = "".join(c if c.endswith("\n") else c + "\n" for c in ca_certificates if c.strip())
    return [
        {
            "type": "ldap",
            "id": LDAP_CONNECTOR_ID,
            "name": settings.ldap_display_name,
            "config": _ldap_config(directory, settings, host, mode, ca),
        }
    ]


def unused_urls(directory: Directory) -> list[str]:
    """The provider's URLs Dex does not dial: the others of the kind in use, not the first."""
    scheme, urls = (
        ("ldaps", directory.ldaps_urls) if directory.ldaps_urls else ("ldap", directory.urls)
    )
    endpoints = [_endpoint(u, scheme) for u in urls]
    return [u for u, e in zip(urls, endpoints, strict=True) if e and e != endpoints[0]]


def _ldap_config(
    directory: Directory, settings: Settings, host: str, mode: str, ca: str
) -> dict[str, Any]:
    search = settings.ldap_search
    config: dict[str, Any] = {
        "host": host,
        "insecureNoSSL": mode == "plain",
        "insecureSkipVerify": settings.ldap_insecure_skip_verify,
        "startTLS": mode == "starttls",
        "bindDN": directory.bind_dn,
        "bindPW": f"${BIND_PASSWORD_ENV}",
        "usernamePrompt": "Username",
        "userSearch": {
            "baseDN": search.user_base_dn or directory.base_dn,
            "filter": search.user_filter,
            "username": search.username,
            "scope": "sub",
            # Dex 2.41 has no defaults for these two: an absent one fails every login.
            "idAttr": search.id_attr,
            "emailAttr": search.email_attr,
            "nameAttr": search.name_attr,
            "preferredUsernameAttr": search.username,
        },
        "groupSearch": {
            "baseDN": search.group_base_dn or directory.base_dn,
            "filter": search.group_filter,
            "scope": "sub",
            "userMatchers": [{"userAttr": u, "groupAttr": g} for u, g in search.membership],
            "nameAttr": search.group_name_attr,
        },
    }
    if ca and mode != "plain":
        config["rootCAData"] = base64.b64encode(ca.encode()).decode()
    return config


# -- the configuration file -----------------------------------------------------------------------


def static_client(data: Mapping[str, Any]) -> dict[str, Any]:
    """A Dex static client from oidc-client data (SDI has checked its four fields)."""
    return {
        "id": data["id"],
        "name": data["name"],
        "redirectURIs": list(data["redirectURIs"]),
        "secret": data["secret"],
    }


def password_hash(password: str, previous: str = "") -> str:
    """A bcrypt hash of `password`, reusing `previous` when it matches.

    A fresh salt on every hook would change Dex's configuration, and so restart it, each time.
    """
    import bcrypt

    secret = password.encode()
    if previous:
        try:
            if bcrypt.checkpw(secret, previous.encode()):
                return previous
        except ValueError:
            pass
    return bcrypt.hashpw(secret, bcrypt.gensalt(BCRYPT_COST)).decode()


def static_user_id(model_uuid: str, username: str) -> str:
    """The same user id on every unit and every hook for the static user."""
    return str(uuid.uuid5(STATIC_USER_NAMESPACE, f"{model_uuid}/{username}"))


def dex_config(
    *,
    settings: Settings,
    issuer: str,
    clients: Iterable[Mapping[str, Any]],
    ldap: Sequence[Mapping[str, Any]],
    static_hash: str = "",
    static_user_id: str = "",
) -> dict[str, Any]:
    """Dex's configuration; NoLogin when nobody could log in with it."""
    connectors = [*ldap, *settings.connectors]
    static = bool(settings.enable_password_db and settings.static_username and static_hash)
    if not settings.enable_password_db and not connectors:
        raise NoLogin(
            "enable-password-db is false and there is no connector: integrate ldap or set "
            "connectors"
        )
    return {
        "issuer": issuer,
        "storage": {"type": "kubernetes", "config": {"inCluster": True}},
        "web": {"http": f"0.0.0.0:{settings.port}"},
        "telemetry": {"http": f"0.0.0.0:{METRICS_PORT}"},
        "logger": {"level": settings.log_level, "format": "text"},
        "oauth2": {"skipApprovalScreen": True},
        "staticClients": sorted((dict(c) for c in clients), key=lambda c: c["id"]),
        "connectors": connectors,
        "enablePasswordDB": settings.enable_password_db,
        "staticPasswords": (
            [
                {
                    "email": settings.static_username,
                    "hash": static_hash,
                    "username": settings.static_username,
                    "userID": static_user_id,
                }
            ]
            if static
            else []
        ),
    }


def nobody_can_log_in(config: Mapping[str, Any]) -> bool:
    """True when Dex runs but offers no connector and no static user."""
    return not config["connectors"] and not config["staticPasswords"]


def taken_connector_id(ldap: Sequence[Mapping[str, Any]], settings: Settings) -> str | None:
    """An id of the ldap relation's connectors that the `connectors` option already uses.

    A Charmed Kubeflow deployment may log in through an LDAP connector with id `ldap` in
    `connectors`; Dex keys a user's identity on the connector id, so that connector keeps its
    id and the relation waits until the operator chooses.
    """
    taken = {c["id"] for c in settings.connectors}
    return next((c["id"] for c in ldap if c["id"] in taken), None)


def render(config: Mapping[str, Any]) -> str:
    """The YAML text of the configuration file (stable for equal configurations)."""
    return yaml.safe_dump(dict(config), sort_keys=True, default_flow_style=False)


def pebble_layer(
    *, namespace: str, config_text: str, settings: Settings, bind_password: str | None
) -> dict[str, Any]:
    """The Dex service; it restarts exactly when the file or the bind password changes.

    The hash of the configuration file in the environment makes a new file a new plan, so
    replanning restarts Dex; the bind password reaches Dex only here, as `$LDAP_BIND_PW`
    (JSON-escaped: see bind_password_environment).
    """
    environment = {
        NAMESPACE_ENV: namespace,
        CONFIG_HASH_ENV: hashlib.sha256(config_text.encode()).hexdigest(),
    }
    if bind_password is not None:
        environment[BIND_PASSWORD_ENV] = bind_password_environment(bind_password)
    return {
        "summary": "Dex identity provider",
        "services": {
            SERVICE: {
                "override": "replace",
                "summary": "dex serve",
                "command": COMMAND,
                "startup": "enabled",
                "environment": environment,
            }
        },
        "checks": {
            "dex-ready": {
                "override": "replace",
                "level": "ready",
                "period": "10s",
                "threshold": 3,
                "http": {"url": f"http://localhost:{settings.port}{ISSUER_PATH}/healthz"},
            }
        },
    }


def manifest_context(*, app: str, namespace: str) -> dict[str, Any]:
    """Variables of the templates in src/templates."""
    return {"app": app, "namespace": namespace}
