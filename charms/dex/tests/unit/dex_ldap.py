"""The LDAP login of Dex 2.41 (connector/ldap/ldap.go), replayed with ldap3.

Given the connector configuration the charm renders and the environment of the Dex service,
this performs the same network conversation Dex has with the directory: dial (LDAPS, StartTLS
or plain, verifying the server with rootCAData), the initial bind as bindDN with the expanded
bindPW, the user search, the bind as the user, and one group search per userMatcher value on a
fresh service connection. It returns what Dex would put in the identity, or None where Dex
reports invalid credentials.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ldap3
from ldap3.utils.conv import escape_filter_chars

INVALID_CREDENTIALS = 49
CONSTRAINT_VIOLATION = 19
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


class DexLoginError(Exception):
    """Dex would fail the login with an error (not a plain wrong password)."""


@dataclass(frozen=True)
class Identity:
    """The parts of Dex's connector.Identity an LDAP login fills."""

    user_id: str
    email: str
    username: str
    preferred_username: str
    groups: list[str] = field(default_factory=list)


def expand(config: Mapping[str, Any], environment: Mapping[str, str]) -> dict[str, Any]:
    """Dex's os.ExpandEnv over the connector's JSON configuration."""

    def value(match: re.Match[str]) -> str:
        return json.dumps(environment.get(match.group(1) or match.group(2), ""))[1:-1]

    return json.loads(_VARIABLE.sub(value, json.dumps(config)))


def _connect(config: Mapping[str, Any]) -> ldap3.Connection:
    host, _, port = str(config["host"]).rpartition(":")
    host = host.strip("[]")
    plain = bool(config.get("insecureNoSSL"))
    tls = None
    if not plain:
        ca = config.get("rootCAData")
        tls = ldap3.Tls(
            validate=ssl.CERT_NONE if config.get("insecureSkipVerify") else ssl.CERT_REQUIRED,
            ca_certs_data=base64.b64decode(ca).decode() if ca else None,
            version=ssl.PROTOCOL_TLS_CLIENT,
        )
    server = ldap3.Server(
        host,
        port=int(port),
        use_ssl=not plain and not config.get("startTLS"),
        tls=tls,
        get_info=ldap3.NONE,
        connect_timeout=5,
    )
    conn = ldap3.Connection(server, raise_exceptions=False, receive_timeout=10)
    try:
        conn.open()
        if config.get("startTLS") and not plain and not conn.start_tls():
            raise DexLoginError(f"start TLS failed: {conn.result}")
    except ldap3.core.exceptions.LDAPException as err:
        raise DexLoginError(f"failed to connect: {err}") from err
    return conn


def _service_connection(config: Mapping[str, Any]) -> ldap3.Connection:
    """Dex's do(): a new connection with the initial bind as bindDN."""
    conn = _connect(config)
    if not conn.rebind(user=config.get("bindDN") or None, password=config.get("bindPW") or None):
        raise DexLoginError(
            f"initial bind for user {config.get('bindDN')!r} failed: {conn.result}"
        )
    return conn


def _values(entry: Mapping[str, Any], name: str) -> list[str]:
    """getAttrs: exact attribute name; the pseudo-attribute DN is the entry's DN."""
    raw = entry["raw_attributes"].get(name)
    if raw:
        return [v.decode() for v in raw]
    if name == "DN":
        return [entry["dn"]]
    return []


def _first(entry: Mapping[str, Any], name: str) -> str:
    values = _values(entry, name)
    return values[0] if values else ""


def _scope(value: str | None) -> Any:
    return ldap3.LEVEL if value == "one" else ldap3.SUBTREE


def _search(conn: ldap3.Connection, base: str, query: str, scope: Any, attributes: list[str]):
    wanted = sorted({a for a in attributes if a and a != "DN"}) or [ldap3.NO_ATTRIBUTES]
    found = conn.search(base, query, search_scope=scope, attributes=wanted)
    if not found and conn.result.get("result") not in (0, 32):  # 32: noSuchObject, no entries
        raise DexLoginError(f"search with filter {query!r} failed: {conn.result}")
    return [e for e in conn.response or [] if e.get("type") == "searchResEntry"]


def login(
    connector: Mapping[str, Any], environment: Mapping[str, str], username: str, password: str
) -> Identity | None:
    """Log `username` in as Dex would; None for a wrong password or an unknown user."""
    if not password:
        return None
    config = expand(connector, environment)
    users, groups = config["userSearch"], config["groupSearch"]
    query = f"({users['username']}={escape_filter_chars(username)})"
    if users.get("filter"):
        query = f"(&{users['filter']}{query})"
    matchers = groups.get("userMatchers") or []
    attributes = [
        users["idAttr"],
        users["emailAttr"],
        users.get("nameAttr", ""),
        users.get("preferredUsernameAttr", ""),
        *(m["userAttr"] for m in matchers),
    ]
    conn = _service_connection(config)
    try:
        found = _search(conn, users["baseDN"], query, _scope(users.get("scope")), attributes)
        if not found:
            return None
        if len(found) > 1:
            raise DexLoginError(f"filter returned multiple ({len(found)}) results: {query!r}")
        user = found[0]
        if not conn.rebind(user=user["dn"], password=password):
            if conn.result.get("result") in (INVALID_CREDENTIALS, CONSTRAINT_VIOLATION):
                return None
            raise DexLoginError(f"failed to bind as dn {user['dn']!r}: {conn.result}")
    finally:
        conn.unbind()
    identity = _identity(user, users)
    return Identity(**{**identity.__dict__, "groups": _groups(config, user)})


def _identity(user: Mapping[str, Any], users: Mapping[str, Any]) -> Identity:
    """identityFromEntry: id and email are required, and the name when one is configured."""
    wanted = {"idAttr": users["idAttr"], "emailAttr": users["emailAttr"]}
    if users.get("nameAttr"):
        wanted["nameAttr"] = users["nameAttr"]
    missing = [attr for attr in wanted.values() if not _first(user, attr)]
    if missing:
        raise DexLoginError(f"entry {user['dn']!r} missing required attribute(s): {missing}")
    return Identity(
        user_id=_first(user, users["idAttr"]),
        email=_first(user, users["emailAttr"]),
        username=_first(user, users.get("nameAttr", "")),
        preferred_username=_first(user, users.get("preferredUsernameAttr", "")),
    )


def _groups(config: Mapping[str, Any], user: Mapping[str, Any]) -> list[str]:
    groups = config["groupSearch"]
    if not groups.get("baseDN"):
        return []
    names = []
    for matcher in groups.get("userMatchers") or []:
        for value in _values(user, matcher["userAttr"]):
            query = f"({matcher['groupAttr']}={escape_filter_chars(value)})"
            if groups.get("filter"):
                query = f"(&{groups['filter']}{query})"
            conn = _service_connection(config)
            try:
                found = _search(
                    conn,
                    groups["baseDN"],
                    query,
                    _scope(groups.get("scope")),
                    [groups["nameAttr"]],
                )
            finally:
                conn.unbind()
            for group in found:
                name = _first(group, groups["nameAttr"])
                if not name:
                    raise DexLoginError(f"group {group['dn']!r} has no {groups['nameAttr']}")
                names.append(name)
    return names
