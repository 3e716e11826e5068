"""The S3 client against a real Ceph RADOS Gateway (started by the ceph_rgw fixtures)."""

import hashlib
import os
import secrets
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from ceph_rgw import self_signed_ca
from dsplib.s3 import (
    S3AuthError,
    S3Client,
    S3Error,
    S3NoAnswer,
    S3NotFound,
    S3TLSError,
    S3Unreachable,
)
from pytest_ceph_rgw import RGWEndpoint


def connect(rgw: RGWEndpoint, endpoint: str = "", secret_key: str = "", **kwargs) -> S3Client:
    kwargs.setdefault("ca_pem", rgw.ca_pem or "")
    endpoint, secret_key = endpoint or rgw.endpoint, secret_key or rgw.secret_key
    return S3Client(endpoint, rgw.access_key, secret_key, **kwargs)


@pytest.fixture
def s3(ceph_rgw: RGWEndpoint) -> Iterator[S3Client]:
    with connect(ceph_rgw) as client:
        yield client


@pytest.fixture
def bucket(s3: S3Client) -> str:
    name = f"test-{secrets.token_hex(4)}"
    s3.create_bucket(name)
    return name


KEYS = ["plain.txt", "dir/sub/a b+c=d&e?f#g%h~i.json", "ünïcødé/ключ", "x" * 300]


def test_objects_round_trip(s3: S3Client, bucket: str):
    data = {key: os.urandom(100 + i) for i, key in enumerate(KEYS)}
    for key, content in data.items():
        etag = s3.put_object(bucket, key, content)
        assert etag.strip('"') == hashlib.md5(content, usedforsecurity=False).hexdigest()
    for key, content in data.items():
        assert s3.get_object(bucket, key) == content
        assert s3.head_object(bucket, key).size == len(content)
    assert [o.key for o in s3.list_objects(bucket)] == sorted(KEYS)
    assert [o.key for o in s3.list_objects(bucket, prefix="dir/")] == [KEYS[1]]
    s3.delete_object(bucket, KEYS[0])
    s3.delete_object(bucket, KEYS[0])  # deleting twice is fine
    with pytest.raises(S3NotFound) as caught:
        s3.get_object(bucket, KEYS[0])
    assert caught.value.code == "NoSuchKey"
    assert caught.value.key == KEYS[0]


def test_large_object_round_trip(s3: S3Client, bucket: str):
    content = os.urandom(8 * 1024 * 1024)
    s3.put_object(bucket, "big.bin", content)
    assert hashlib.sha256(s3.get_object(bucket, "big.bin")).digest() == (
        hashlib.sha256(content).digest()
    )


def test_listing_pages_and_bulk_delete_past_a_thousand_keys(s3: S3Client, bucket: str):
    keys = [f"many/{i:05d}" for i in range(1010)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3.put_object(bucket, key, key.encode()), keys))
    s3.put_object(bucket, "other/one", b"1")
    assert [o.key for o in s3.list_objects(bucket, prefix="many/")] == keys
    assert [o.key for o in s3.list_objects(bucket, page_size=7)] == [*keys, "other/one"]
    assert s3.list_prefixes(bucket) == ["many/", "other/"]
    s3.delete_objects(bucket, keys)
    assert [o.key for o in s3.list_objects(bucket)] == ["other/one"]


def test_buckets_are_created_once_and_deleted_when_empty(s3: S3Client, bucket: str):
    s3.create_bucket(bucket)  # again: already ours
    s3.head_bucket(bucket)
    s3.put_object(bucket, "k", b"v")
    with pytest.raises(S3Error) as caught:
        s3.delete_bucket(bucket)
    assert caught.value.code == "BucketNotEmpty"
    s3.delete_object(bucket, "k")
    s3.delete_bucket(bucket)
    with pytest.raises(S3NotFound) as missing:
        s3.head_bucket(bucket)
    assert missing.value.code == "NoSuchBucket"


def test_unknown_bucket_is_not_found(s3: S3Client):
    for call in (s3.list_objects, s3.head_bucket, lambda b: s3.get_object(b, "k")):
        with pytest.raises(S3NotFound, match="bucket 'no-such-bucket' does not exist") as caught:
            call("no-such-bucket")
        assert caught.value.code == "NoSuchBucket"


def test_wrong_secret_key_is_an_auth_error(ceph_rgw: RGWEndpoint, bucket: str):
    wrong = "0" * 40
    with connect(ceph_rgw, secret_key=wrong) as client:
        with pytest.raises(S3AuthError) as caught:
            client.list_objects(bucket)
        assert caught.value.code == "SignatureDoesNotMatch"
        assert "secret key does not match" in str(caught.value)
        with pytest.raises(S3AuthError):
            client.head_bucket(bucket)
        with pytest.raises(S3AuthError):
            client.put_object(bucket, "k", b"v")
    assert wrong not in str(caught.value)
    assert ceph_rgw.secret_key not in str(caught.value)


def test_unknown_access_key_is_an_auth_error(ceph_rgw: RGWEndpoint, bucket: str):
    client = S3Client(ceph_rgw.endpoint, "NOSUCHKEY00000000000", ceph_rgw.secret_key)
    with client, pytest.raises(S3AuthError) as caught:
        client.get_object(bucket, "k")
    assert caught.value.code == "InvalidAccessKeyId"


def test_another_user_cannot_use_the_bucket(ceph_rgw: RGWEndpoint, s3: S3Client, bucket: str):
    s3.put_object(bucket, "private", b"secret")
    with connect(ceph_rgw.with_new_user()) as other:
        with pytest.raises(S3AuthError) as caught:
            other.get_object(bucket, "private")
        assert caught.value.code == "AccessDenied"
        with pytest.raises(S3Error) as taken:
            other.create_bucket(bucket)
        assert taken.value.code == "BucketAlreadyExists"
        own = f"own-{secrets.token_hex(4)}"
        other.create_bucket(own)
        other.put_object(own, "k", b"v")
    assert [o.key for o in s3.list_objects(bucket)] == ["private"]


def test_any_region_signs_and_default_is_a_valid_location(ceph_rgw: RGWEndpoint):
    with connect(ceph_rgw, region="default") as client:
        name = f"region-{secrets.token_hex(4)}"
        client.create_bucket(name)
        client.put_object(name, "k", b"v")
        assert client.get_object(name, "k") == b"v"


def test_a_region_the_gateway_does_not_have_is_named(ceph_rgw: RGWEndpoint):
    client = connect(ceph_rgw, region="eu-west-9")
    with client, pytest.raises(S3Error, match="no region 'eu-west-9'") as caught:
        client.create_bucket(f"region-{secrets.token_hex(4)}")
    assert caught.value.code == "InvalidLocationConstraint"


def test_virtual_host_style(ceph_rgw: RGWEndpoint, s3: S3Client, bucket: str, monkeypatch):
    """Use <bucket>.localhost, which the gateway serves; the test resolves it to 127.0.0.1."""
    resolve = socket.getaddrinfo

    def localhost_names(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", localhost_names)
    endpoint = ceph_rgw.endpoint.replace("127.0.0.1", "localhost")
    with S3Client(endpoint, ceph_rgw.access_key, ceph_rgw.secret_key, virtual_host=True) as vhost:
        vhost.put_object(bucket, "dir/v", b"virtual")
        assert [o.key for o in vhost.list_objects(bucket)] == ["dir/v"]
    assert s3.get_object(bucket, "dir/v") == b"virtual"


def test_stopped_gateway_is_unreachable(ceph_rgw: RGWEndpoint, bucket: str):
    with connect(ceph_rgw, timeout=2) as client:
        client.head_bucket(bucket)
        with (
            ceph_rgw.cluster.gateway_stopped(),
            pytest.raises(S3NoAnswer, match="refused the connection") as caught,
        ):
            client.head_bucket(bucket)
        client.head_bucket(bucket)
    assert ceph_rgw.endpoint in str(caught.value)


def test_silent_endpoint_times_out(ceph_rgw: RGWEndpoint):
    with socket.create_server(("127.0.0.1", 0)) as server:  # accepts, never answers
        port = server.getsockname()[1]
        client = S3Client(f"http://127.0.0.1:{port}", "a", "b", timeout=0.3)
        with client, pytest.raises(S3NoAnswer, match="did not answer in time"):
            client.head_bucket("bucket")


def test_https_with_the_right_ca(ceph_rgw_https: RGWEndpoint):
    assert ceph_rgw_https.endpoint.startswith("https://")
    by_name = ceph_rgw_https.endpoint.replace("127.0.0.1", "localhost")
    for endpoint in (ceph_rgw_https.endpoint, by_name):
        with connect(ceph_rgw_https, endpoint) as client:
            name = f"tls-{secrets.token_hex(4)}"
            client.create_bucket(name)
            content = os.urandom(3 * 1024 * 1024)
            client.put_object(name, "over/tls", content)
            assert client.get_object(name, "over/tls") == content
            assert [o.key for o in client.list_objects(name)] == ["over/tls"]


def test_https_with_another_ca_is_a_tls_error(ceph_rgw_https: RGWEndpoint):
    other_ca = self_signed_ca("some other CA")
    client = connect(ceph_rgw_https, ca_pem=other_ca)
    with client, pytest.raises(S3TLSError, match="does not verify") as caught:
        client.head_bucket("bucket")
    assert ceph_rgw_https.endpoint in str(caught.value)


def test_https_without_a_ca_uses_the_system_trust_and_fails(ceph_rgw_https: RGWEndpoint):
    client = connect(ceph_rgw_https, ca_pem="")
    with client, pytest.raises(S3TLSError, match="does not verify"):
        client.head_bucket("bucket")


def test_plain_http_to_the_https_port_suggests_https(ceph_rgw_https: RGWEndpoint):
    endpoint = ceph_rgw_https.endpoint.replace("https://", "http://")
    client = S3Client(endpoint, "a", "b", timeout=2)
    with client, pytest.raises(S3Unreachable, match="is it an HTTPS port"):
        client.head_bucket("bucket")


def test_https_to_a_plain_http_port_is_a_tls_error(ceph_rgw: RGWEndpoint, ceph_rgw_https):
    endpoint = ceph_rgw.endpoint.replace("http://", "https://")
    client = S3Client(endpoint, "a", "b", ca_pem=ceph_rgw_https.ca_pem, timeout=2)
    with client, pytest.raises(S3TLSError, match="TLS handshake"):
        client.head_bucket("bucket")


def test_a_connection_from_relation_data_gives_a_working_client(ceph_rgw):
    from dsplib.s3_credentials import S3Connection

    connection = S3Connection.from_info(
        {
            "endpoint": ceph_rgw.endpoint,
            "access-key": ceph_rgw.access_key,
            "secret-key": ceph_rgw.secret_key,
            "bucket": "from-relation",
            "s3-uri-style": "path",
        }
    )
    assert connection is not None
    with connection.client(timeout=10) as s3:
        s3.create_bucket("from-relation")
        s3.put_object("from-relation", "k", b"v")
        assert s3.get_object("from-relation", "k") == b"v"


def test_requests_leave_no_log_records(
    s3: S3Client, bucket: str, caplog: pytest.LogCaptureFixture
):
    """Under Juju every record is a `juju-log` process: a backup of N objects must not make N."""
    caplog.set_level("DEBUG")  # what ops sets on the root logger under Juju
    for i in range(20):
        s3.put_object(bucket, f"k{i}", b"x")
        assert s3.get_object(bucket, f"k{i}") == b"x"
    assert [(r.name, r.getMessage()) for r in caplog.records] == []


# -- streaming ---------------------------------------------------------------------------------


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_objects_stream_in_and_out_in_chunks(s3: S3Client, bucket: str):
    content = os.urandom(3 * 1024 * 1024 + 17)
    etag = s3.put_object_stream(
        bucket, "model/weights.bin", chunked(content, 65536), len(content),
        content_type="application/x-weights", metadata={"source-etag": "abc-2"},
    )  # fmt: skip
    assert etag.strip('"') == hashlib.md5(content, usedforsecurity=False).hexdigest()
    with s3.open_object(bucket, "model/weights.bin", chunk_size=100_000) as (info, chunks):
        received = list(chunks)
    assert b"".join(received) == content
    assert max(len(c) for c in received) <= 100_000
    assert (info.size, info.etag, info.content_type) == (
        len(content),
        etag,
        "application/x-weights",
    )
    assert info.metadata == {"source-etag": "abc-2"}
    assert not info.multipart
    assert s3.object_info(bucket, "model/weights.bin") == info


def test_a_stream_of_another_size_than_announced_stores_nothing(s3: S3Client, bucket: str):
    with pytest.raises(S3Error, match="90 bytes instead of the announced 100"):
        s3.put_object_stream(bucket, "short", chunked(b"x" * 90, 30), 100)
    with pytest.raises(S3Error, match="more than the announced 100 bytes"):
        s3.put_object_stream(bucket, "long", chunked(b"x" * 120, 30), 100)
    assert s3.list_objects(bucket) == []


def test_a_missing_object_cannot_be_opened(s3: S3Client, bucket: str):
    with pytest.raises(S3NotFound) as caught, s3.open_object(bucket, "nothing"):
        pass  # pragma: no cover - open_object raises first
    assert caught.value.code == "NoSuchKey"


def test_objects_are_iterated_page_by_page(s3: S3Client, bucket: str):
    keys = [f"k/{i:02d}" for i in range(11)]
    for key in keys:
        s3.put_object(bucket, key, b"1")
    pages = s3.iter_objects(bucket, page_size=4)
    assert next(pages).key == "k/00"  # a generator: the first page is enough to start
    assert [o.key for o in pages] == keys[1:]
