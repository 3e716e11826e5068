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
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import ldap3
from ldap3.utils.conv import escape_filter_chars

INVALID_CREDENTIALS = 49
CONSTRAINT_VIOLATION = 19


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


_SPECIAL = "*#$@!?-0123456789"


def _shell_name(rest: str) -> tuple[str, int]:
    """Go's getShellName (src/os/env.go): the variable name after a `$`, and its width."""
    if rest[0] == "{":
        if len(rest) > 2 and rest[1] in _SPECIAL and rest[2] == "}":
            return rest[1], 3
        for index in range(1, len(rest)):
            if rest[index] == "}":
                return ("", 2) if index == 1 else (rest[1:index], index + 1)
        return "", 1
    if rest[0] in _SPECIAL:
        return rest[0], 1
    width = 0
    while width < len(rest) and (
        rest[width] == "_" or (rest[width].isascii() and rest[width].isalnum())
    ):
        width += 1
    return rest[:width], width


def go_expand(text: str, mapping: Callable[[str], str]) -> str:
    """Go's os.Expand: one pass, values are not expanded again, bad `${` syntax is eaten."""
    out: list[str] = []
    start = 0
    index = 0
    while index < len(text):
        if text[index] == "$" and index + 1 < len(text):
            out.append(text[start:index])
            name, width = _shell_name(text[index + 1 :])
            if name == "" and width > 0:
                pass
            elif name == "":
                out.append("$")
            else:
                out.append(mapping(name))
            index += width
            start = index + 1
        index += 1
    return "".join(out) + text[start:]


def expand(config: Mapping[str, Any], environment: Mapping[str, str]) -> dict[str, Any]:
    """What Dex 2.41 makes of a connector's config (cmd/dex/config.go, Connector.UnmarshalJSON).

    It takes the config's raw JSON text, runs os.ExpandEnv over it (raw values, no quoting) and
    only then parses the result; a parse error makes Dex exit with "parse connector config".
    """
    raw = json.dumps(config)
    expanded = go_expand(raw, lambda name: environment.get(name, ""))
    try:
        return json.loads(expanded)
    except ValueError as err:
        raise DexLoginError(f"parse connector config: {err}") from err


@contextmanager
def resolving(names: Mapping[str, Sequence[str]]) -> Iterator[None]:
    """Resolve each name to its addresses, in order, inside the block (as DNS would).

    A domain's DNS name resolves to every domain controller; Go's dialer (src/net/dial.go,
    Dialer.DialContext: "tries each IP address in order until one succeeds") and ldap3 alike
    move on to the next address when one refuses the connection.
    """
    original = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return [
                (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))
                for address in names[host]
            ]
        return original(host, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = original


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
    password = _octets(config.get("bindPW"))
    if not conn.rebind(user=config.get("bindDN") or None, password=password):
        raise DexLoginError(
            f"initial bind for user {config.get('bindDN')!r} failed: {conn.result}"
        )
    return conn


def _octets(password: str | None) -> bytes | None:
    """The password as go-ldap sends it: the string's UTF-8 bytes, unchanged.

    ldap3 would run SASLprep over a str (and refuse control characters); Dex does not.
    """
    return password.encode() if password else None


def _values(entry: Mapping[str, Any], name: str) -> list[str]:
    """getAttrs: the attribute spelt exactly as configured; the pseudo-attribute DN is the DN.

    Dex compares names case-sensitively (`a.Name != name`) while ldap3's dictionary does not,
    and Active Directory answers with its schema's spelling (sAMAccountName, whatever was
    asked), so the lookup walks the names itself. Go strings hold any bytes: a binary value
    such as objectGUID is kept byte for byte (surrogate escapes) until something encodes it.
    """
    raw = next((v for k, v in entry["raw_attributes"].items() if k == name), None)
    if raw:
        return [v.decode("utf-8", "surrogateescape") for v in raw]
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
        if not conn.rebind(user=user["dn"], password=_octets(password)):
            if conn.result.get("result") in (INVALID_CREDENTIALS, CONSTRAINT_VIOLATION):
                return None
            raise DexLoginError(f"failed to bind as dn {user['dn']!r}: {conn.result}")
    finally:
        conn.unbind()
    identity = _identity(user, users)
    return Identity(**{**identity.__dict__, "groups": _groups(config, user)})


def _identity(user: Mapping[str, Any], users: Mapping[str, Any]) -> Identity:
    """identityFromEntry: id and email are required, name and preferred username if set.

    The charm always sets preferredUsernameAttr to the login attribute, so a misspelt one
    fails every login.
    """
    wanted = {"idAttr": users["idAttr"], "emailAttr": users["emailAttr"]}
    for optional in ("nameAttr", "preferredUsernameAttr"):
        if users.get(optional):
            wanted[optional] = users[optional]
    missing = [attr for attr in wanted.values() if not _first(user, attr)]
    if missing:
        raise DexLoginError(f"entry {user['dn']!r} missing required attribute(s): {missing}")
    identity = Identity(
        user_id=_first(user, users["idAttr"]),
        email=_first(user, users["emailAttr"]),
        username=_first(user, users.get("nameAttr", "")),
        preferred_username=_first(user, users.get("preferredUsernameAttr", "")),
    )
    _check_utf8(identity)
    return identity


def _check_utf8(identity: Identity) -> None:
    """Refuse what Dex cannot serialise: identity strings that are not UTF-8.

    Dex serialises the identity with protobuf (server/internal/codec.go Marshal of the
    proto3 IDTokenSubject), which refuses strings that are not UTF-8: the login then fails
    with "failed to marshal offline session ID: string field contains invalid UTF-8"
    (dexidp/dex#3128, objectGUID as idAttr).
    """
    for value in (identity.user_id, identity.email, identity.username):
        try:
            value.encode()
        except UnicodeEncodeError:
            raise DexLoginError(
                "failed to marshal offline session ID: string field contains invalid UTF-8"
            ) from None


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
