import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from ops import testing

from dsplib import certificates as certs

NOW = datetime.datetime(2026, 11, 26, tzinfo=datetime.timezone.utc)
NAMES = certs.service_dns_names("hook", "ns")
MODEL = testing.Model(name="demo-model")


def test_server_certificate_is_signed_by_the_ca_for_every_service_name():
    made = certs.generate(NAMES, NOW)
    ca = x509.load_pem_x509_certificate(made.ca.encode())
    cert = x509.load_pem_x509_certificate(made.cert.encode())
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == list(NAMES)
    assert "hook.ns.svc" in NAMES
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_after_utc == made.not_after
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert "PRIVATE KEY" in made.key


def test_content_round_trip_and_renewal_window():
    made = certs.generate(NAMES, NOW)
    again = certs.WebhookCertificate.from_content(made.to_content())
    assert again == made
    assert not made.needs_renewal(NAMES, NOW)
    assert made.needs_renewal(NAMES, made.not_after - datetime.timedelta(days=29))
    assert made.needs_renewal(certs.service_dns_names("other", "ns"), NOW)
    assert certs.WebhookCertificate.from_content({"ca-cert": "x"}) is None


def _cert_secret(out: testing.State) -> testing.Secret:
    return next(s for s in out.secrets if s.label == "webhook-certificate")


def test_leader_creates_the_certificate_once_and_reuses_it(ctx, kube):
    out = ctx.run(ctx.on.config_changed(), testing.State(leader=True, model=MODEL))
    assert not any(s.label == "webhook-certificate" for s in out.secrets)

    with ctx(ctx.on.config_changed(), testing.State(leader=True, model=MODEL)) as mgr:
        first = mgr.charm.certs.get(NOW)
        out = mgr.run()
    secret = _cert_secret(out)
    assert secret.owner == "app"
    with ctx(ctx.on.config_changed(), out) as mgr:
        second = mgr.charm.certs.get(NOW)
        mgr.run()
    assert first is not None and second == first
    assert "demo-webhook.demo-model.svc" in first.dns_names


def test_non_leader_reads_what_the_leader_made_and_waits_before(ctx, kube):
    made = certs.generate(certs.service_dns_names("demo-webhook", "demo-model"), NOW)
    with ctx(ctx.on.config_changed(), testing.State(model=MODEL)) as mgr:
        assert mgr.charm.certs.get(NOW) is None
    secret = testing.Secret(made.to_content(), label="webhook-certificate", owner="app")
    with ctx(ctx.on.config_changed(), testing.State(model=MODEL, secrets={secret})) as mgr:
        assert mgr.charm.certs.get(NOW) == made


def test_leader_renews_before_expiry(ctx, kube):
    made = certs.generate(certs.service_dns_names("demo-webhook", "demo-model"), NOW)
    secret = testing.Secret(made.to_content(), label="webhook-certificate", owner="app")
    later = made.not_after - datetime.timedelta(days=10)
    with ctx(
        ctx.on.update_status(), testing.State(leader=True, model=MODEL, secrets={secret})
    ) as mgr:
        renewed = mgr.charm.certs.get(later)
        out = mgr.run()
    assert renewed is not None and renewed.not_after > made.not_after
    assert _cert_secret(out).latest_content == renewed.to_content()


def test_ip_addresses_become_ip_entries():
    made = certs.generate(("localhost", "127.0.0.1"), NOW)
    cert = x509.load_pem_x509_certificate(made.cert.encode())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
