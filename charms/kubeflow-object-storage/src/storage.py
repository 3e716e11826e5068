"""Object storage for Kubeflow Pipelines: how pods reach the gateway, and whether it works.

No ops here. The charm hands in its config and the `s3` relation's connection; this module
says which in-cluster Service stands for the gateway (an ExternalName for a host name, a
selector-less Service with an EndpointSlice for an IP address), what the `object-storage`
consumers are told, and checks with a real S3 request that the endpoint answers, the keys
work and the bucket exists (creating it when allowed).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dsplib import validation as check
from dsplib.proxy import ProxySettings
from dsplib.s3_credentials import S3Connection

if TYPE_CHECKING:
    from dsplib.s3 import S3Error

# S3 bucket naming rules: 3-63 of lowercase letters, digits, dots and hyphens, starting and
# ending with a letter or digit, not shaped like an IP address.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_LIKE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
ENDPOINTSLICE_MANAGER = "kubeflow-object-storage.juju.is"
CHECK_TIMEOUT = 10.0  # seconds for one S3 request
# A check that met an outage runs again on the next hook; update-status is the one that is
# sure to come (every 5 minutes by default, the model's update-status-hook-interval).
RETRY = "retrying on update-status"


class UnusableEndpoint(ValueError):
    """Pods cannot reach the endpoint as given; the message says why and what to change."""


def is_bucket_name(name: str) -> bool:
    """True for a name S3 accepts for a bucket."""
    return bool(_BUCKET.match(name)) and ".." not in name and not _IP_LIKE.match(name)


@dataclass(frozen=True)
class Settings:
    """Validated charm config."""

    bucket: str
    create_bucket: bool

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Check every option; raises InvalidConfig naming the first bad one."""
        bucket = str(config["bucket"]).strip()
        if not is_bucket_name(bucket):
            raise check.InvalidConfig(
                "bucket", "an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-'"
            )
        return cls(bucket=bucket, create_bucket=bool(config["create-bucket"]))


@dataclass(frozen=True)
class Target:
    """Where pods find the gateway: a host name, or an IP address of `family` IPv4/IPv6."""

    host: str
    port: int
    secure: bool
    family: str = ""

    @property
    def is_address(self) -> bool:
        """True when the gateway is given by IP address (Service + EndpointSlice)."""
        return bool(self.family)

    @classmethod
    def of(cls, connection: S3Connection) -> Target:
        """The target of an `s3` connection; UnusableEndpoint for addresses pods cannot use."""
        host = connection.host.lower()
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            if not check.DNS_SUBDOMAIN.match(host) or len(host) > 253:
                raise UnusableEndpoint(
                    f"s3-credentials: endpoint host '{host}' is not a DNS name pods can resolve"
                ) from None
            return cls(host, connection.port, connection.secure)
        if (
            address.is_loopback
            or address.is_link_local
            or address.is_unspecified
            or address.is_multicast
        ):
            raise UnusableEndpoint(
                f"s3-credentials: endpoint {host} is not reachable from pods: give s3-integrator "
                "the gateway's cluster-reachable address"
            )
        family = "IPv4" if address.version == 4 else "IPv6"
        return cls(str(address), connection.port, connection.secure, family)


@dataclass(frozen=True)
class Outcome:
    """Result of checking the gateway: fine, or a status kind and a message for the operator."""

    status: str  # "active", "blocked" or "waiting"
    message: str = ""
    created_bucket: bool = False

    @property
    def ok(self) -> bool:
        """True when consumers can be told about the storage."""
        return self.status == "active"


def service_name(app: str) -> str:
    """The Service consumers address; not the app name, which Juju's own Service has."""
    return f"{app}-s3"


def manifest_context(app: str, namespace: str, target: Target) -> dict[str, Any]:
    """Variables of the Service template."""
    return {
        "service": service_name(app),
        "namespace": namespace,
        "host": target.host,
        "port": target.port,
        "family": target.family,
        "manager": ENDPOINTSLICE_MANAGER,
    }


def consumer_data(app: str, namespace: str, target: Target, connection: S3Connection) -> dict:
    """What kfp-api, kfp-ui, kfp-profile-controller and argo-controller are told (SDI v1)."""
    return {
        "access-key": connection.access_key,
        "secret-key": connection.secret_key,
        "service": service_name(app),
        "namespace": namespace,
        "port": target.port,
        "secure": target.secure,
    }


def fingerprint(connection: S3Connection, settings: Settings) -> str:
    """A digest of everything a check depends on (the keys only as part of a hash).

    The proxy the model gives for the endpoint counts too: a check made before the model
    config changed says nothing about the way requests take now.
    """
    parts = [
        ProxySettings.from_juju().for_url(connection.endpoint),
        connection.endpoint,
        connection.access_key,
        connection.secret_key,
        connection.region,
        str(connection.path_style),
        connection.tls_ca,
        settings.bucket,
        str(settings.create_bucket),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def check_bucket(connection: S3Connection, settings: Settings) -> Outcome:
    """Ask the gateway whether the bucket exists for these keys; create it when allowed."""
    from dsplib.s3 import S3Error, S3NotFound  # only hooks that check pay for it

    bucket = settings.bucket
    try:
        client = connection.client(timeout=CHECK_TIMEOUT)
        with client:
            try:
                client.head_bucket(bucket)
            except S3NotFound:
                if not settings.create_bucket:
                    return Outcome(
                        "blocked",
                        f"bucket '{bucket}' does not exist: create it or set create-bucket=true",
                    )
                client.create_bucket(bucket)
                return Outcome("active", created_bucket=True)
    except S3Error as err:
        return _failure(err)
    return Outcome("active")


def _failure(err: S3Error) -> Outcome:
    """The status for a failed check, with the fix in the message."""
    from dsplib.s3 import (
        S3AuthError,
        S3ConfigError,
        S3NoAnswer,
        S3ProxyError,
        S3TLSError,
        S3Unreachable,
    )

    if isinstance(err, S3AuthError):
        return Outcome("blocked", f"{err}: fix the keys given to s3-integrator")
    if isinstance(err, S3TLSError):
        return Outcome("blocked", f"{err}: set s3-integrator's tls-ca-chain to the gateway's CA")
    if isinstance(err, S3ProxyError):  # names the proxy and the model key to change
        return Outcome("blocked", str(err))
    if isinstance(err, S3NoAnswer):  # a gateway restarting or a network hiccup: it may pass
        return Outcome("waiting", f"{err}; {RETRY}")
    if isinstance(err, S3Unreachable):  # a name that does not resolve, a port of another kind
        return Outcome("blocked", f"{err}: check s3-integrator's endpoint and the network")
    if isinstance(err, S3ConfigError):
        return Outcome("blocked", f"s3-credentials: {err}")
    if err.status >= 500:
        return Outcome("waiting", f"{err}; {RETRY}")
    if err.code == "BucketAlreadyExists":
        return Outcome("blocked", f"{err}: another owner has this name; set bucket to another")
    return Outcome(
        "blocked", f"{err}: check the gateway and the permissions of s3-integrator's keys"
    )
