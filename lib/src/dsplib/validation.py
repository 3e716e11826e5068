"""Checks for charm config values, each failing with a message that tells the operator the fix.

A charm never crashes on a config value: its workload module runs these checks, collects the
`InvalidConfig` errors and the charm blocks with the first one.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

# OCI image reference (distribution/reference grammar): [domain[:port]/]path[:tag][@digest]
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
# A first path element is a registry only if it has a dot, a port, or is localhost.
_DOMAIN = (
    rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})+(?::[0-9]+)?"
    rf"|{_DOMAIN_PART}:[0-9]+|localhost|\[[0-9a-fA-F:]+\](?::[0-9]+)?)"
)
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
OCI_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?$"
)
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


class UnreadableYaml(ValueError):
    """Text that PyYAML cannot turn into data."""


def load_yaml(text: str) -> Any:
    """YAML from config or a relation, parsed safely; UnreadableYaml if it cannot be read.

    PyYAML raises more than YAMLError on hostile text: ValueError for a scalar that matches a
    YAML 1.1 pattern but is out of range (`2024-13-45`, `!!float x`), RecursionError for very
    deep nesting (`[[[[...`).
    """
    import yaml

    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError) as err:
        raise UnreadableYaml(f"unreadable YAML: {type(err).__name__}") from err


class InvalidConfig(Exception):
    """A config option holds a value the charm cannot use."""

    def __init__(self, option: str, expected: str):
        self.option = option
        self.expected = expected
        super().__init__(f"config {option}: expected {expected}")


def oci_reference(option: str, value: Any) -> str:
    """An image reference such as `docker.io/org/image:1.2` (tag or digest recommended)."""
    text = str(value).strip()
    if not text or len(text) > 255 or not OCI_REFERENCE.match(text):
        raise InvalidConfig(option, "an OCI image reference like registry/org/image:tag")
    return text


def port(option: str, value: Any) -> int:
    """A TCP port that an unprivileged process may bind."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1024 <= value <= 65535:
        raise InvalidConfig(option, "a port number between 1024 and 65535")
    return value


def positive_int(option: str, value: Any, *, maximum: int | None = None) -> int:
    """A whole number of at least 1 (and at most `maximum`)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidConfig(option, "a whole number of at least 1")
    if maximum is not None and value > maximum:
        raise InvalidConfig(option, f"a whole number between 1 and {maximum}")
    return value


def choice(option: str, value: Any, choices: Iterable[str]) -> str:
    """One of a fixed set of words."""
    allowed = list(choices)
    text = str(value).strip()
    if text not in allowed:
        raise InvalidConfig(option, "one of " + ", ".join(allowed))
    return text


def dns_label(option: str, value: Any) -> str:
    """A Kubernetes object name of the DNS-1123 label kind (lowercase, digits, '-')."""
    text = str(value).strip()
    if not DNS_LABEL.match(text):
        raise InvalidConfig(option, "a lowercase name of letters, digits and '-' (max 63)")
    return text


def quantity(option: str, value: Any) -> str:
    """A Kubernetes resource quantity such as 500m, 1, 512Mi."""
    text = str(value).strip()
    if not QUANTITY.match(text):
        raise InvalidConfig(option, "a Kubernetes quantity such as 500m, 2 or 512Mi")
    return text


def comma_list(value: Any) -> list[str]:
    """Non-empty items of a comma-separated option, stripped, in order, without repeats."""
    items: list[str] = []
    for item in str(value or "").split(","):
        item = item.strip()
        if item and item not in items:
            items.append(item)
    return items


def networks(option: str, value: Any) -> tuple[str, ...]:
    """Comma-separated CIDRs such as `10.1.0.0/16,fd00::/64`, in their normal form.

    A CIDR with host bits set (`10.1.2.3/16`) is refused: it is usually a typo for another range.
    """
    if not isinstance(value, str):
        raise InvalidConfig(option, "comma-separated CIDRs such as 10.1.0.0/16")
    found: list[str] = []
    for item in comma_list(value):
        try:
            network = ipaddress.ip_network(item, strict=True)
        except ValueError:
            raise InvalidConfig(
                option, f"comma-separated CIDRs such as 10.1.0.0/16, not {item!r}"
            ) from None
        if str(network) not in found:
            found.append(str(network))
    return tuple(found)
