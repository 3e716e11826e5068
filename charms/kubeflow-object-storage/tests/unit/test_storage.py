"""The workload module: config, targets, consumer data; checks against the real gateway."""

import secrets
import socket

import jsonschema
import pytest

import storage
from ceph_rgw import self_signed_ca
from dsplib import validation
from dsplib.s3 import S3Client
from dsplib.s3_credentials import S3Connection
from dsplib.sdi import SCHEMAS
from pytest_ceph_rgw import RGWEndpoint

OBJECT_STORAGE_SCHEMA = SCHEMAS["object-storage"]["v1"]["provides"]


def connection(endpoint: str, **kw) -> S3Connection:
    return S3Connection(
        endpoint=endpoint,
        access_key=kw.pop("access_key", "AK"),
        secret_key=kw.pop("secret_key", "SK"),
        bucket="ignored",
        **kw,
    )


def of(rgw: RGWEndpoint, **kw) -> S3Connection:
    kw.setdefault("tls_ca", rgw.ca_pem or "")
    kw.setdefault("access_key", rgw.access_key)
    kw.setdefault("secret_key", rgw.secret_key)
    return connection(rgw.endpoint, **kw)


def bucket_name() -> str:
    return f"kfp-{secrets.token_hex(4)}"


@pytest.mark.parametrize(
    "bucket", ["ab", "Upper", "-dash", "dash-", "a" * 64, "a..b", "192.168.1.1", "a_b"]
)
def test_bad_bucket_names_are_refused(bucket):
    with pytest.raises(validation.InvalidConfig, match="config bucket: expected"):
        storage.Settings.from_config({"bucket": bucket, "create-bucket": True})


def test_good_settings():
    settings = storage.Settings.from_config({"bucket": " ml.pipe-1 ", "create-bucket": False})
    assert settings == storage.Settings("ml.pipe-1", False)


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("https://RGW.ceph.example:443", storage.Target("rgw.ceph.example", 443, True)),
        ("http://rgw", storage.Target("rgw", 80, False)),
        ("http://10.1.2.3:7480", storage.Target("10.1.2.3", 7480, False, "IPv4")),
        ("https://[fd00::5]", storage.Target("fd00::5", 443, True, "IPv6")),
    ],
)
def test_targets(endpoint, expected):
    assert storage.Target.of(connection(endpoint)) == expected


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:7480", "http://[::1]", "http://169.254.1.1", "http://0.0.0.0"],
)
def test_addresses_pods_cannot_reach_are_refused(endpoint):
    with pytest.raises(storage.UnusableEndpoint, match="not reachable from pods"):
        storage.Target.of(connection(endpoint))


def test_host_names_that_are_not_dns_names_are_refused():
    with pytest.raises(storage.UnusableEndpoint, match="not a DNS name"):
        storage.Target.of(connection("http://under_score.example"))


def test_consumer_data_follows_the_schema():
    target = storage.Target("rgw.example", 443, True)
    data = storage.consumer_data("osi", "kubeflow", target, connection("https://rgw.example"))
    jsonschema.validate(data, OBJECT_STORAGE_SCHEMA)
    assert data == {
        "access-key": "AK",
        "secret-key": "SK",
        "service": "osi-s3",
        "namespace": "kubeflow",
        "port": 443,
        "secure": True,
    }


def test_fingerprint_changes_with_every_input_and_hides_the_keys():
    settings = storage.Settings("b", True)
    base = connection("http://rgw", secret_key="very-secret")
    digest = storage.fingerprint(base, settings)
    assert "very-secret" not in digest
    variants = [
        storage.fingerprint(connection("http://rgw", secret_key="other"), settings),
        storage.fingerprint(connection("http://rgw2", secret_key="very-secret"), settings),
        storage.fingerprint(base, storage.Settings("b", False)),
        storage.fingerprint(base, storage.Settings("c", True)),
    ]
    assert digest not in variants
    assert len(set(variants)) == len(variants)


# -- against the real gateway -----------------------------------------------------------------


def test_check_creates_a_missing_bucket(ceph_rgw: RGWEndpoint):
    bucket = bucket_name()
    outcome = storage.check_bucket(of(ceph_rgw), storage.Settings(bucket, True))
    assert outcome == storage.Outcome("active", created_bucket=True)
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as s3:
        s3.head_bucket(bucket)
    assert storage.check_bucket(of(ceph_rgw), storage.Settings(bucket, True)) == storage.Outcome(
        "active"
    )


def test_check_without_creation_blocks_on_a_missing_bucket(ceph_rgw: RGWEndpoint):
    bucket = bucket_name()
    outcome = storage.check_bucket(of(ceph_rgw), storage.Settings(bucket, False))
    assert outcome.status == "blocked"
    assert (
        outcome.message == f"bucket '{bucket}' does not exist: create it or set create-bucket=true"
    )
    with (
        S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as s3,
        pytest.raises(Exception, match="does not exist"),
    ):
        s3.head_bucket(bucket)


def test_check_names_wrong_keys(ceph_rgw: RGWEndpoint):
    wrong = of(ceph_rgw, secret_key="not-the-secret")
    outcome = storage.check_bucket(wrong, storage.Settings(bucket_name(), True))
    assert outcome.status == "blocked"
    assert "S3 refused the request" in outcome.message
    assert outcome.message.endswith("fix the keys given to s3-integrator")
    assert "not-the-secret" not in outcome.message


def test_a_stopped_gateway_is_an_outage_to_wait_for(ceph_rgw: RGWEndpoint):
    settings = storage.Settings(bucket_name(), True)
    with ceph_rgw.cluster.gateway_stopped():
        outcome = storage.check_bucket(of(ceph_rgw), settings)
    assert outcome.status == "waiting"
    assert outcome.message == (
        f"S3 endpoint {ceph_rgw.endpoint} refused the connection; retrying on update-status"
    )
    assert ceph_rgw.secret_key not in outcome.message
    assert storage.check_bucket(of(ceph_rgw), settings).ok  # the gateway is back


def test_a_silent_endpoint_is_an_outage_to_wait_for(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(storage, "CHECK_TIMEOUT", 0.3)
    with socket.create_server(("127.0.0.1", 0)) as server:  # accepts, never answers
        endpoint = f"http://127.0.0.1:{server.getsockname()[1]}"
        outcome = storage.check_bucket(connection(endpoint), storage.Settings(bucket_name(), True))
    assert outcome == storage.Outcome(
        "waiting", f"S3 endpoint {endpoint} did not answer in time; retrying on update-status"
    )


def test_a_name_that_does_not_resolve_blocks():
    # RFC 2606 reserves .invalid: it never resolves, so the endpoint is spelled wrong.
    endpoint = "http://rgw.example.invalid:7480"
    outcome = storage.check_bucket(connection(endpoint), storage.Settings(bucket_name(), True))
    assert outcome == storage.Outcome(
        "blocked",
        f"S3 endpoint {endpoint}: host name does not resolve: check s3-integrator's endpoint "
        "and the network",
    )


def test_plain_http_to_the_tls_port_blocks(ceph_rgw_https: RGWEndpoint):
    endpoint = ceph_rgw_https.endpoint.replace("https://", "http://")
    outcome = storage.check_bucket(connection(endpoint), storage.Settings(bucket_name(), True))
    assert outcome.status == "blocked"
    assert "is it an HTTPS port?" in outcome.message
    assert outcome.message.endswith("check s3-integrator's endpoint and the network")


def test_check_over_tls_needs_the_right_ca(ceph_rgw_https: RGWEndpoint):
    bucket = bucket_name()
    assert storage.check_bucket(of(ceph_rgw_https), storage.Settings(bucket, True)).ok
    other_ca = self_signed_ca("not the gateway's CA")
    outcome = storage.check_bucket(
        of(ceph_rgw_https, tls_ca=other_ca), storage.Settings(bucket, True)
    )
    assert outcome.status == "blocked"
    assert "does not verify" in outcome.message
    assert outcome.message.endswith("set s3-integrator's tls-ca-chain to the gateway's CA")


def test_server_errors_wait_and_other_refusals_block():
    from dsplib.s3 import S3Error

    assert storage._failure(S3Error("S3 request for 'b' failed: HTTP 503", status=503)) == (
        storage.Outcome(
            "waiting", "S3 request for 'b' failed: HTTP 503; retrying on update-status"
        )
    )
    outcome = storage._failure(S3Error("S3 request for 'b' failed: HTTP 400 InvalidBucketName"))
    assert outcome.status == "blocked"
    assert outcome.message.endswith("the permissions of s3-integrator's keys")
