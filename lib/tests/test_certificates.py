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


def test_generated_expiry_is_the_certificates_to_the_second():
    made = certs.generate(NAMES, NOW.replace(microsecond=123456))
    cert = x509.load_pem_x509_certificate(made.cert.encode())
    assert made.not_after == cert.not_valid_after_utc
    assert made.problem() is None


def _damaged(made: certs.WebhookCertificate) -> dict[str, dict[str, str]]:
    """Secret contents a hand edit, a truncation or a mix-up of revisions may leave."""
    other = certs.generate(NAMES, NOW)
    good = made.to_content()
    return {
        "bad PEM": {**good, "tls-cert": "-----BEGIN CERTIFICATE-----\nnot base64\n"},
        "truncated key": {**good, "tls-key": good["tls-key"][:60]},
        "empty CA": {**good, "ca-cert": ""},
        "key of another certificate": {**good, "tls-key": other.key},
        "CA that did not sign it": {**good, "ca-cert": other.ca},
        "cert and key swapped": {**good, "tls-cert": good["tls-key"], "tls-key": good["tls-cert"]},
        "naive expiry": {**good, "not-after": made.not_after.replace(tzinfo=None).isoformat()},
        "expiry not the certificate's": {
            **good,
            "not-after": (made.not_after + datetime.timedelta(days=400)).isoformat(),
        },
        "names not the certificate's": {**good, "dns-names": "elsewhere.example"},
        "missing key": {k: v for k, v in good.items() if k != "tls-key"},
        "unparsable expiry": {**good, "not-after": "next year"},
    }


def test_damaged_content_reads_as_no_certificate():
    made = certs.generate(NAMES, NOW)
    assert certs.WebhookCertificate.from_content(made.to_content()) == made
    for name, content in _damaged(made).items():
        assert certs.WebhookCertificate.from_content(content) is None, name


def test_leader_replaces_a_damaged_certificate_and_others_wait(ctx, kube):
    made = certs.generate(certs.service_dns_names("demo-webhook", "demo-model"), NOW)
    for name, content in _damaged(made).items():
        secret = testing.Secret(content, label="webhook-certificate", owner="app")
        state = testing.State(leader=True, model=MODEL, secrets={secret})
        with ctx(ctx.on.update_status(), state) as mgr:
            fresh = mgr.charm.certs.get(NOW)
            out = mgr.run()
        assert fresh is not None and fresh.problem() is None, name
        assert _cert_secret(out).latest_content == fresh.to_content(), name
        follower = testing.State(model=MODEL, secrets={secret})
        with ctx(ctx.on.update_status(), follower) as mgr:
            assert mgr.charm.certs.get(NOW) is None, name
