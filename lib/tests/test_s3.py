"""The S3 client without a server.

SigV4 against AWS's published examples, addressing, and how failures become typed errors.
"""

import datetime
import hashlib
import subprocess
import sys

import httpx2
import pytest

from dsplib import s3

# The credentials, time and bucket of the examples in AWS's S3 API reference,
# "Signature Calculations for the Authorization Header: Transferring Payload in a Single Chunk".
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
WHEN = datetime.datetime(2013, 5, 24, tzinfo=datetime.timezone.utc)
HOST = "examplebucket.s3.amazonaws.com"
CREDENTIAL = f"Credential={ACCESS_KEY}/20130524/us-east-1/s3/aws4_request"


def sign(method: str, path: str, query: str, headers: dict[str, str], payload: bytes = b""):
    return s3.sign_request(
        method,
        path,
        query,
        {"Host": HOST, **headers},
        hashlib.sha256(payload).hexdigest(),
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region="us-east-1",
        now=WHEN,
    )


def test_signing_key_matches_the_published_derivation():
    # AWS's general SigV4 reference: deriving a signing key (IAM example).
    key = s3.signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam"
    )
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_get_object_with_range_matches_the_published_signature():
    headers = sign("GET", "/test.txt", "", {"Range": "bytes=0-9"})
    assert headers["authorization"] == (
        f"AWS4-HMAC-SHA256 {CREDENTIAL},"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )
    assert headers["x-amz-date"] == "20130524T000000Z"
    assert headers["x-amz-content-sha256"] == s3.EMPTY_SHA256


def test_put_object_matches_the_published_signature():
    path = "/" + s3.uri_encode("test$file.text", keep_slash=True)
    assert path == "/test%24file.text"
    headers = {
        "Date": "Fri, 24 May 2013 00:00:00 GMT",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
    }
    signed = sign("PUT", path, "", headers, b"Welcome to Amazon S3.")
    assert signed["authorization"] == (
        f"AWS4-HMAC-SHA256 {CREDENTIAL},"
        "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
        "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    )


def test_get_bucket_lifecycle_matches_the_published_signature():
    signed = sign("GET", "/", s3.canonical_query([("lifecycle", "")]), {})
    assert signed["authorization"].endswith(
        "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
    )


def test_list_objects_matches_the_published_signature():
    query = s3.canonical_query([("prefix", "J"), ("max-keys", "2")])
    assert query == "max-keys=2&prefix=J"
    signed = sign("GET", "/", query, {})
    assert signed["authorization"].endswith(
        "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
    )


def test_canonical_query_encodes_everything_but_unreserved_characters():
    query = s3.canonical_query([("prefix", "a b/ü+=&"), ("continuation-token", "x~y_z.-")])
    assert query == "continuation-token=x~y_z.-&prefix=a%20b%2F%C3%BC%2B%3D%26"


def test_a_changed_header_changes_the_signature():
    assert sign("GET", "/k", "", {"Range": "bytes=0-9"}) != sign(
        "GET", "/k", "", {"Range": "bytes=0-8"}
    )


# -- requests as sent ------------------------------------------------------------------------


class Recorder:
    """A transport that records requests and answers with a canned response."""

    def __init__(self, status: int = 200, body: bytes = b"", headers: dict | None = None):
        self.requests: list[httpx2.Request] = []
        self.status, self.body, self.headers = status, body, headers or {}

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return httpx2.Response(self.status, content=self.body, headers=self.headers)


def client(handler, endpoint: str = "https://s3.example.com", **kwargs) -> s3.S3Client:
    transport = httpx2.MockTransport(handler)
    return s3.S3Client(endpoint, ACCESS_KEY, SECRET_KEY, transport=transport, **kwargs)


def test_path_style_puts_the_bucket_in_the_path_and_encodes_the_key():
    recorder = Recorder()
    client(recorder).put_object("bucket", "dir/a b+ü.json", b"{}")
    request = recorder.requests[0]
    assert request.url.raw_path == b"/bucket/dir/a%20b%2B%C3%BC.json"
    assert request.headers["host"] == "s3.example.com"
    assert request.headers["content-md5"] == "mZFLkyvTelC5g8XnyQrpOw=="
    assert request.headers["x-amz-content-sha256"] == hashlib.sha256(b"{}").hexdigest()
    assert "SignedHeaders=content-md5;content-type;host;" in request.headers["authorization"]


def test_virtual_host_style_puts_the_bucket_in_the_host_name():
    recorder = Recorder()
    client(recorder, virtual_host=True).get_object("bucket", "key")
    assert str(recorder.requests[0].url) == "https://bucket.s3.example.com/key"
    assert recorder.requests[0].headers["host"] == "bucket.s3.example.com"


@pytest.mark.parametrize(
    ("endpoint", "bucket"),
    [("http://10.1.2.3:7480", "bucket"), ("https://s3.example.com", "with.dots")],
)
def test_virtual_host_style_falls_back_to_path_style_where_it_cannot_work(endpoint, bucket):
    recorder = Recorder()
    client(recorder, endpoint, virtual_host=True).get_object(bucket, "key")
    assert recorder.requests[0].url.path == f"/{bucket}/key"


def test_list_objects_follows_continuation_tokens():
    pages = [
        b"<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t/1+</NextContinuationToken>"
        b"<Contents><Key>a</Key><Size>1</Size><ETag>&quot;e&quot;</ETag></Contents></ListBucketResult>",
        b"<ListBucketResult><IsTruncated>false</IsTruncated>"
        b"<Contents><Key>b</Key><Size>2</Size></Contents></ListBucketResult>",
    ]
    sent = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.url.query)
        return httpx2.Response(200, content=pages[len(sent) - 1])

    objects = client(handler).list_objects("bucket", prefix="p/", page_size=1)
    assert [(o.key, o.size, o.etag) for o in objects] == [("a", 1, '"e"'), ("b", 2, "")]
    assert sent[1] == b"continuation-token=t%2F1%2B&list-type=2&max-keys=1&prefix=p%2F"


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (
            403,
            b"<Error><Code>SignatureDoesNotMatch</Code></Error>",
            s3.S3AuthError,
            "SignatureDoesNotMatch",
        ),
        (
            403,
            b"<Error><Code>InvalidAccessKeyId</Code></Error>",
            s3.S3AuthError,
            "InvalidAccessKeyId",
        ),
        (403, b"", s3.S3AuthError, ""),
        (404, b"<Error><Code>NoSuchBucket</Code></Error>", s3.S3NotFound, "NoSuchBucket"),
        (404, b"", s3.S3NotFound, "NoSuchKey"),
        (409, b"<Error><Code>BucketNotEmpty</Code></Error>", s3.S3Error, "BucketNotEmpty"),
        (500, b"<html>proxy error</html", s3.S3Error, ""),
    ],
)
def test_http_errors_become_typed_errors_without_secrets(status, body, error, code):
    with pytest.raises(error) as caught:
        client(Recorder(status, body)).head_object("bucket", "key")
    assert type(caught.value) is error
    assert caught.value.code == code
    assert caught.value.status == status
    assert SECRET_KEY not in str(caught.value)


def test_not_found_names_the_missing_bucket_or_key():
    body = b"<Error><Code>NoSuchKey</Code></Error>"
    with pytest.raises(s3.S3NotFound, match="object 'k' does not exist in bucket 'b'") as caught:
        client(Recorder(404, body)).get_object("b", "k")
    assert (caught.value.bucket, caught.value.key) == ("b", "k")


def test_a_doctype_in_an_answer_is_refused():
    body = b'<!DOCTYPE x [<!ENTITY a "aaaa">]><ListBucketResult>&a;</ListBucketResult>'
    with pytest.raises(s3.S3Error, match="DOCTYPE"):
        client(Recorder(200, body)).list_objects("bucket")


@pytest.mark.parametrize(
    ("failure", "message", "passing"),
    [
        (
            httpx2.ConnectError("[Errno -2] Name or service not known"),
            "host name does not resolve",
            False,
        ),
        (httpx2.ConnectError("[Errno 111] Connection refused"), "refused the connection", True),
        (httpx2.ConnectError("[Errno 113] No route to host"), "No route to host", True),
        (httpx2.ReadError("[Errno 104] Connection reset by peer"), "reset by peer", True),
        (httpx2.ConnectTimeout("timed out"), "did not answer in time", True),
        (httpx2.ReadTimeout("timed out"), "did not answer in time", True),
        (httpx2.RemoteProtocolError("illegal status line"), "illegal status line", False),
    ],
)
def test_transport_failures_become_unreachable(failure, message, passing):
    """S3NoAnswer for what may pass by itself, plain S3Unreachable for a wrong endpoint."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        raise failure

    with pytest.raises(s3.S3Unreachable, match=message) as caught:
        client(handler).head_bucket("bucket")
    assert isinstance(caught.value, s3.S3NoAnswer) is passing


def test_existing_own_bucket_is_not_an_error():
    body = b"<Error><Code>BucketAlreadyOwnedByYou</Code></Error>"
    client(Recorder(409, body)).create_bucket("bucket")
    with pytest.raises(s3.S3Error, match="HTTP 409 BucketAlreadyExists"):
        client(Recorder(409, body.replace(b"OwnedByYou", b"Exists"))).create_bucket("bucket")


def test_a_region_other_than_us_east_1_asks_for_that_location():
    recorder = Recorder()
    client(recorder, region="default").create_bucket("bucket")
    request = recorder.requests[0]
    assert b"<LocationConstraint>default</LocationConstraint>" in request.content
    assert "/default/s3/aws4_request" in request.headers["authorization"]


def test_delete_objects_sends_escaped_keys_and_reports_failures():
    body = (
        b"<DeleteResult><Error><Key>a&amp;b</Key><Code>AccessDenied</Code></Error></DeleteResult>"
    )
    recorder = Recorder(200, body)
    with pytest.raises(s3.S3Error, match=r"1 objects in 'bucket' not deleted: \['a&b'\]"):
        client(recorder).delete_objects("bucket", ["a&b", "c<d"])
    sent = recorder.requests[0]
    assert sent.url.query == b"delete="
    assert b"<Key>a&amp;b</Key>" in sent.content
    assert b"<Key>c&lt;d</Key>" in sent.content
    assert "content-md5" in sent.headers


@pytest.mark.parametrize(
    "endpoint",
    ["s3.example.com", "ftp://s3.example.com", "https://user:pw@s3.example.com", "https://h/p"],
)
def test_endpoints_must_be_plain_http_urls(endpoint):
    with pytest.raises(s3.S3ConfigError, match="S3 endpoint"):
        s3.S3Client(endpoint, ACCESS_KEY, SECRET_KEY)


@pytest.mark.parametrize("key", ["", "a/../b", "./a", "a/."])
def test_keys_that_http_would_rewrite_are_refused(key):
    with pytest.raises(s3.S3ConfigError, match="invalid S3 object key"):
        client(Recorder()).get_object("bucket", key)


def test_a_ca_that_is_not_pem_is_a_tls_error():
    with pytest.raises(s3.S3TLSError, match="not a valid PEM"):
        s3.S3Client("https://s3.example.com", ACCESS_KEY, SECRET_KEY, ca_pem="not a certificate")


def test_repr_shows_the_endpoint_only():
    text = repr(s3.S3Client("https://s3.example.com", ACCESS_KEY, SECRET_KEY))
    assert text == "S3Client('https://s3.example.com')"


def test_importing_the_module_does_not_import_httpx():
    code = "import sys, dsplib.s3; print('httpx2' in sys.modules)"
    command = [sys.executable, "-c", code]
    out = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    assert out.stdout.strip() == "False"
