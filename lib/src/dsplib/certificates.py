"""TLS for admission webhooks: a private CA and a server certificate for the webhook Service.

The Kubernetes API server calls webhooks over TLS and trusts the `caBundle` of the webhook
configuration. The leader generates the CA and the server certificate once and keeps them in
an application-owned Juju secret, so every unit serves the same certificate, a pod restart or
`upgrade-charm` keeps it, and the caBundle in the cluster does not churn. It renews both well
before the server certificate expires.

Key generation uses the `cryptography` package (imported only when a certificate is made).
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

import ops

logger = logging.getLogger(__name__)

CA_VALIDITY = datetime.timedelta(days=3650)
SERVER_VALIDITY = datetime.timedelta(days=365)
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class WebhookCertificate:
    """PEM texts of the CA certificate and of the server certificate and key."""

    ca: str
    cert: str
    key: str
    not_after: datetime.datetime
    dns_names: tuple[str, ...]

    def to_content(self) -> dict[str, str]:
        """Juju secret content (keys are lowercase with hyphens, as Juju requires)."""
        return {
            "ca-cert": self.ca,
            "tls-cert": self.cert,
            "tls-key": self.key,
            "not-after": self.not_after.isoformat(),
            "dns-names": ",".join(self.dns_names),
        }

    @classmethod
    def from_content(cls, content: dict[str, str]) -> WebhookCertificate | None:
        """Read `to_content` output back; None when anything is missing, malformed or amiss.

        None makes the leader generate a new certificate and other units wait for it, so a
        damaged secret (edited by hand, truncated, from an older revision) never reaches the
        workload, where a bad PEM or a key of another certificate would break TLS or a hook.
        """
        try:
            made = cls(
                ca=content["ca-cert"],
                cert=content["tls-cert"],
                key=content["tls-key"],
                not_after=datetime.datetime.fromisoformat(content["not-after"]),
                dns_names=tuple(filter(None, content["dns-names"].split(","))),
            )
        except (KeyError, ValueError, TypeError, AttributeError):
            return None
        return made if made.problem() is None else None

    def problem(self) -> str | None:
        """What makes this certificate unusable, or None when it is sound.

        The PEM texts must parse, the key must be the certificate's, the CA must have signed
        it, and the expiry and names recorded beside it must be the certificate's own (the
        renewal decision reads them).
        """
        from cryptography import x509
        from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization

        if not all(isinstance(v, str) for v in (self.ca, self.cert, self.key)):
            return "not text"
        try:
            ca = x509.load_pem_x509_certificate(self.ca.encode())
            cert = x509.load_pem_x509_certificate(self.cert.encode())
            key = serialization.load_pem_private_key(self.key.encode(), password=None)
            cert.verify_directly_issued_by(ca)
            names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            return "unreadable, or not signed by its CA"
        except x509.ExtensionNotFound:
            return "no subject alternative names"
        if key.public_key() != cert.public_key():
            return "the key is not the certificate's"
        # X.509 keeps whole seconds; secrets written before generate() dropped microseconds
        # record a fraction more.
        if self.not_after.tzinfo is None or abs(self.not_after - cert.not_valid_after_utc) >= (
            datetime.timedelta(seconds=1)
        ):
            return "the recorded expiry is not the certificate's"
        found = [str(n) for n in names.get_values_for_type(x509.DNSName)]
        found += [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]
        if set(found) != set(self.dns_names):
            return "the recorded names are not the certificate's"
        return None

    def needs_renewal(self, dns_names: tuple[str, ...], now: datetime.datetime) -> bool:
        """True when the certificate is close to expiry or names other hosts."""
        return self.not_after - now < RENEW_BEFORE or set(dns_names) != set(self.dns_names)


def service_dns_names(service: str, namespace: str) -> tuple[str, ...]:
    """The names the API server may use to reach `service` in `namespace`."""
    return (
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    )


def generate(
    dns_names: tuple[str, ...], now: datetime.datetime | None = None
) -> WebhookCertificate:
    """A new CA and a server certificate for `dns_names` signed by it (ECDSA P-256)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    # Whole seconds, as X.509 records them, so `not_after` is the certificate's own expiry.
    now = (now or datetime.datetime.now(datetime.timezone.utc)).replace(microsecond=0)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{dns_names[0]} webhook CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    not_after = now + SERVER_VALIDITY
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[-1])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(_alt_names(dns_names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return WebhookCertificate(
        ca=ca_cert.public_bytes(pem).decode(),
        cert=cert.public_bytes(pem).decode(),
        key=key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        not_after=not_after,
        dns_names=dns_names,
    )


def _alt_names(names: tuple[str, ...]) -> list:
    import ipaddress

    from cryptography import x509

    out: list[x509.GeneralName] = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


class WebhookCertificates(ops.Object):
    """The application's webhook certificate, shared by all units through a Juju secret."""

    def __init__(self, charm: ops.CharmBase, service: str, *, label: str = "webhook-certificate"):
        super().__init__(charm, label)
        self._charm = charm
        self._label = label
        self.dns_names = service_dns_names(service, charm.model.name)

    def get(self, now: datetime.datetime | None = None) -> WebhookCertificate | None:
        """The current certificate; the leader creates or renews it, others read it.

        Returns None on a non-leader before the leader has made one.
        """
        now = now or datetime.datetime.now(datetime.timezone.utc)
        secret, current = self._read()
        if not self._charm.unit.is_leader():
            return current
        if current is not None and not current.needs_renewal(self.dns_names, now):
            return current
        fresh = generate(self.dns_names, now)
        if secret is None:
            self._charm.app.add_secret(fresh.to_content(), label=self._label)
            logger.info("created webhook certificate for %s", self.dns_names[-1])
        else:
            secret.set_content(fresh.to_content())
            logger.info("renewed webhook certificate for %s", self.dns_names[-1])
        return fresh

    def current(self) -> WebhookCertificate | None:
        """The certificate as stored, without creating or renewing one (for status)."""
        return self._read()[1]

    def _read(self) -> tuple[ops.Secret | None, WebhookCertificate | None]:
        try:
            secret = self.model.get_secret(label=self._label)
        except ops.SecretNotFoundError:
            return None, None
        try:
            content = secret.get_content(refresh=True)
        except ops.ModelError:
            # The owner reads its own secret's latest revision; a non-owner may briefly lag.
            content = secret.get_content()
        return secret, WebhookCertificate.from_content(content)
