"""A small S3 client (AWS Signature Version 4) for Ceph RADOS Gateway and other S3 servers.

boto3 and botocore alone are larger than a charm's whole dependency budget; the few operations
the charms need fit here on top of httpx2, which lightkube already brings (imported on first
request, so importing this module stays cheap).

Errors are typed so a charm can tell the operator what is wrong: `S3AuthError` (keys or
permissions), `S3NotFound` (bucket or key), `S3Unreachable` (connection, DNS, timeout; its
subclasses `S3NoAnswer` when the host is known but nothing answered, which may pass, and
`S3ProxyError` when the model's proxy refused or is down), `S3TLSError` (certificate
does not verify), `S3ConfigError` (endpoint is not a URL), `S3Error` for the rest. Their
messages name the endpoint, bucket and key, never a key or a signature.

The model's HTTP proxy (Juju's JUJU_CHARM_* variables, read by dsplib.proxy) is chosen once per
client from the endpoint and NO_PROXY: an in-datacentre gateway listed in `juju-no-proxy` is
reached directly, anything else through the proxy, and an error met on the way names the proxy.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import hmac
import ipaddress
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from dsplib.proxy import ProxySettings, shown

if TYPE_CHECKING:
    import ssl

    import httpx2


DEFAULT_REGION = "us-east-1"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# Signs a request without its body, which streams; the caller checks the ETag instead.
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
META_PREFIX = "x-amz-meta-"
S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
AUTH_REASONS = {
    "InvalidAccessKeyId": "the access key is unknown to the server",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "AccessDenied": "the keys have no permission for this",
    "RequestTimeTooSkewed": "the clock differs too much from the server's",
}
DNS_FAILURES = ("Name or service not known", "name resolution", "nodename nor servname")
# Bucket names usable as the first label of a host name, without dots (TLS wildcards).
_DNS_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
# Held while a client makes its connection pool, so threads sharing a client make one.
_POOL_LOCK = threading.Lock()


class S3Error(Exception):
    """An S3 request failed; `code` is the server's error code when it sent one."""

    def __init__(self, message: str, code: str = "", status: int = 0):
        super().__init__(message)
        self.code = code
        self.status = status


class S3ConfigError(S3Error, ValueError):
    """The endpoint, bucket or key cannot be used as given."""


class S3AuthError(S3Error):
    """The server refused the credentials or their permissions (HTTP 403)."""


class S3NotFound(S3Error):
    """The bucket (code NoSuchBucket) or the object (NoSuchKey) does not exist."""

    def __init__(self, message: str, code: str, bucket: str, key: str = ""):
        super().__init__(message, code, 404)
        self.bucket = bucket
        self.key = key


class S3Unreachable(S3Error):
    """No HTTP answer: connection refused, name does not resolve, or timeout."""


class S3NoAnswer(S3Unreachable):
    """The host is known but did not answer: refused, reset, no route, or timed out.

    A gateway that is restarting, a port not yet open or a network that drops packets
    looks like this, and it may pass by itself; a name that does not resolve or a port
    that speaks another protocol (plain `S3Unreachable`) will not.
    """


class S3ProxyError(S3Unreachable):
    """The model's HTTP proxy refused the request or could not be reached (message names it)."""


class S3TLSError(S3Error):
    """TLS failed: the certificate does not verify against the CA, or the port is not TLS."""


@dataclass(frozen=True)
class S3Object:
    """An object as listed or headed (the ETag keeps its quotes)."""

    key: str
    size: int
    etag: str
    last_modified: str


@dataclass(frozen=True)
class S3ObjectInfo:
    """An object's headers, as GET or HEAD return them: what a copy must carry over."""

    key: str
    size: int
    etag: str
    content_type: str
    metadata: Mapping[str, str] = field(default_factory=dict, hash=False)  # x-amz-meta-*

    @property
    def multipart(self) -> bool:
        """True when the ETag is not the content's MD5 but one of a multipart upload ("-N")."""
        return "-" in self.etag


# -- Signature Version 4 -----------------------------------------------------------------------


def uri_encode(value: str, keep_slash: bool = False) -> str:
    """Percent-encode all but RFC 3986 unreserved characters (and '/' in paths), as SigV4 does."""
    return quote(value, safe="/" if keep_slash else "")


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """The query string in SigV4's canonical form, which is also the form sent."""
    pairs = sorted((uri_encode(k), uri_encode(v)) for k, v in params)
    return "&".join(f"{k}={v}" for k, v in pairs)


def signing_key(secret_key: str, date: str, region: str, service: str = "s3") -> bytes:
    """The key derived for one day, region and service."""
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign_request(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    payload_sha256: str,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    now: datetime.datetime,
) -> dict[str, str]:
    """Add x-amz-date, x-amz-content-sha256 and an Authorization signing all of `headers`.

    `headers` must hold the host; `path` and `query` are already URI-encoded.
    """
    amz_date = now.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    signed = {k.lower(): " ".join(v.split()) for k, v in headers.items()}
    signed.update({"x-amz-date": amz_date, "x-amz-content-sha256": payload_sha256})
    names = sorted(signed)
    header_lines = "".join(f"{name}:{signed[name]}\n" for name in names)
    canonical = f"{method}\n{path}\n{query}\n{header_lines}\n{';'.join(names)}\n{payload_sha256}"
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{digest}"
    key = signing_key(secret_key, amz_date[:8], region)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    signed["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope},"
        f"SignedHeaders={';'.join(names)},Signature={signature}"
    )
    return signed


# -- the client --------------------------------------------------------------------------------


class S3Client:
    """An S3 endpoint reached with one pair of keys.

    `virtual_host` puts the bucket in the host name (`<bucket>.<endpoint host>`) instead of the
    path; IP-address endpoints and bucket names that are not plain DNS labels stay path style.
    `ca_pem` is the CA bundle an HTTPS endpoint must verify against (the system's trust store
    when empty); verification is never turned off. `proxies` are the model's proxy settings
    (those Juju gives the hook when None); HTTP_PROXY, SSL_CERT_FILE and the like from the
    process environment are ignored. Use as a context manager, or call close(). Threads may
    share one client.
    """

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        *,
        region: str = "",
        virtual_host: bool = False,
        ca_pem: str = "",
        timeout: float = 10.0,
        transport: httpx2.BaseTransport | None = None,
        proxies: ProxySettings | None = None,
    ):
        parts = urlsplit(endpoint.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise S3ConfigError("the S3 endpoint must be an http:// or https:// URL")
        if parts.username or parts.password or parts.query or parts.path.strip("/"):
            raise S3ConfigError("the S3 endpoint must be scheme://host[:port], nothing more")
        self.endpoint = f"{parts.scheme}://{parts.netloc}"
        self.region = region or DEFAULT_REGION
        self._scheme, self._host = parts.scheme, parts.netloc
        self._virtual_host = virtual_host and not _is_ip_address(parts.hostname)
        self._access_key, self._secret_key = access_key, secret_key
        self._verify = _tls_context(ca_pem) if ca_pem and parts.scheme == "https" else True
        self._timeout, self._transport = timeout, transport
        self.proxy = (proxies or ProxySettings.from_juju()).for_url(self.endpoint)
        self._client: httpx2.Client | None = None

    def __repr__(self) -> str:
        return f"S3Client({self.endpoint!r})"

    def __enter__(self) -> S3Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def head_bucket(self, bucket: str) -> None:
        """Succeed when the bucket exists and the keys may use it."""
        self._request("HEAD", bucket)

    def create_bucket(self, bucket: str) -> None:
        """Create the bucket; one these keys already own is fine."""
        body = b""
        if self.region != DEFAULT_REGION:
            location = f"<LocationConstraint>{self.region}</LocationConstraint>"
            body = f'<CreateBucketConfiguration xmlns="{S3_XMLNS}">{location}'.encode()
            body += b"</CreateBucketConfiguration>"
        try:
            self._request("PUT", bucket, body=body)
        except S3Error as err:
            if err.code == "InvalidLocationConstraint":
                raise S3Error(f"the S3 server has no region '{self.region}'", err.code) from err
            if err.code != "BucketAlreadyOwnedByYou":
                raise

    def delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket."""
        self._request("DELETE", bucket)

    def list_objects(self, bucket: str, prefix: str = "", page_size: int = 1000) -> list[S3Object]:
        """Every object under `prefix`, in key order (ListObjectsV2, page by page)."""
        return [obj for page in self._pages(bucket, prefix, "", page_size) for obj in page[0]]

    def list_prefixes(self, bucket: str, prefix: str = "", delimiter: str = "/") -> list[str]:
        """The "directories" right below `prefix` (common prefixes up to `delimiter`)."""
        return [p for page in self._pages(bucket, prefix, delimiter, 1000) for p in page[1]]

    def put_object(
        self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        """Store `data`, which the server checks against its MD5 and SHA-256; return the ETag."""
        response = self._request(
            "PUT", bucket, key, body=data, headers={"content-type": content_type}
        )
        return response.headers.get("etag", "")

    def get_object(self, bucket: str, key: str) -> bytes:
        """The object's content."""
        return self._request("GET", bucket, key).content

    def head_object(self, bucket: str, key: str) -> S3Object:
        """The object's size, ETag and modification time."""
        headers = self._request("HEAD", bucket, key).headers
        size = int(headers.get("content-length", 0))
        return S3Object(key, size, headers.get("etag", ""), headers.get("last-modified", ""))

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete the object; a missing one is not an error."""
        self._request("DELETE", bucket, key)

    def delete_objects(self, bucket: str, keys: Iterable[str]) -> None:
        """Delete many objects, 1000 per request (DeleteObjects); raise if any failed."""
        keys = list(keys)
        for start in range(0, len(keys), 1000):
            root = ET.Element("Delete", xmlns=S3_XMLNS)
            ET.SubElement(root, "Quiet").text = "true"
            for key in keys[start : start + 1000]:
                ET.SubElement(ET.SubElement(root, "Object"), "Key").text = _check_key(key)
            body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
            answer = _parse(self._request("POST", bucket, query=[("delete", "")], body=body))
            failed = [e.findtext("{*}Key", "") for e in answer.iterfind("{*}Error")]
            if failed:
                raise S3Error(f"{len(failed)} objects in '{bucket}' not deleted: {failed[:3]}")

    # -- streaming: objects and listings larger than memory ------------------------------------

    def iter_objects(
        self, bucket: str, prefix: str = "", page_size: int = 1000
    ) -> Iterator[S3Object]:
        """Every object under `prefix` in key order, holding one listing page at a time."""
        for objects, _ in self._pages(bucket, prefix, "", page_size):
            yield from objects

    def object_info(self, bucket: str, key: str) -> S3ObjectInfo:
        """The object's size, ETag, content type and user metadata (HEAD)."""
        return _object_info(key, self._request("HEAD", bucket, key).headers)

    @contextlib.contextmanager
    def open_object(
        self, bucket: str, key: str, chunk_size: int = 1 << 20
    ) -> Iterator[tuple[S3ObjectInfo, Iterator[bytes]]]:
        """GET an object as its headers and its content in chunks of at most `chunk_size`."""
        import httpx2

        url, signed = self._sign("GET", bucket, key, (), {}, EMPTY_SHA256)
        with contextlib.ExitStack() as stack:
            try:
                response = stack.enter_context(self._pool().stream("GET", url, headers=signed))
            except httpx2.TransportError as err:
                raise _transport_error(err, self.endpoint) from err
            if response.status_code >= 300:
                response.read()
                raise _status_error(response, bucket, key)
            info = _object_info(key, response.headers)
            yield info, _received(response.iter_bytes(chunk_size), self.endpoint)

    def put_object_stream(
        self,
        bucket: str,
        key: str,
        chunks: Iterable[bytes],
        size: int,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """Store exactly `size` bytes from `chunks` in one PUT, never holding them all.

        The payload is not signed (it is not known before it is sent), so the caller checks
        the returned ETag, the MD5 of what the server stored, against the MD5 of what it sent.
        Chunks that add up to another size abort the upload: the server then keeps nothing.
        """
        import httpx2

        headers = {"content-type": content_type, "content-length": str(size)}
        headers.update({f"{META_PREFIX}{k}": v for k, v in (metadata or {}).items()})
        url, signed = self._sign("PUT", bucket, key, (), headers, UNSIGNED_PAYLOAD)
        body = _exactly(chunks, size, f"'{bucket}/{key}'")
        try:
            response = self._pool().request("PUT", url, content=body, headers=signed)
        except httpx2.TransportError as err:
            raise _transport_error(err, self.endpoint) from err
        if response.status_code >= 300:
            raise _status_error(response, bucket, key)
        return response.headers.get("etag", "")

    def _pages(
        self, bucket: str, prefix: str, delimiter: str, page_size: int
    ) -> Iterator[tuple[list[S3Object], list[str]]]:
        """ListObjectsV2 answers, following continuation tokens."""
        token = ""
        while True:
            query = [("list-type", "2"), ("max-keys", str(page_size)), ("prefix", prefix)]
            if delimiter:
                query.append(("delimiter", delimiter))
            if token:
                query.append(("continuation-token", token))
            root = _parse(self._request("GET", bucket, query=query))
            objects = [
                S3Object(
                    c.findtext("{*}Key", ""),
                    int(c.findtext("{*}Size", "0")),
                    c.findtext("{*}ETag", ""),
                    c.findtext("{*}LastModified", ""),
                )
                for c in root.iterfind("{*}Contents")
            ]
            prefixes = [p.findtext("{*}Prefix", "") for p in root.iterfind("{*}CommonPrefixes")]
            yield objects, prefixes
            token = root.findtext("{*}NextContinuationToken", "")
            if root.findtext("{*}IsTruncated") != "true" or not token:
                return

    def _request(
        self,
        method: str,
        bucket: str,
        key: str | None = None,
        *,
        query: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> httpx2.Response:
        """Sign and send one request; raise the typed error for any failure."""
        import httpx2

        unsigned = dict(headers or {})
        if body:
            md5 = hashlib.md5(body, usedforsecurity=False).digest()
            unsigned["content-md5"] = base64.b64encode(md5).decode()
        url, signed = self._sign(
            method, bucket, key, query, unsigned, hashlib.sha256(body).hexdigest()
        )
        try:
            response = self._pool().request(method, url, content=body, headers=signed)
        except httpx2.TransportError as err:
            raise _transport_error(err, self.endpoint, self.proxy) from err
        if response.status_code >= 300:
            if self.proxy and "x-amz-request-id" not in response.headers:
                raise _proxy_answer(response, self.endpoint, self.proxy)
            raise _status_error(response, bucket, key or "")
        return response

    def _sign(
        self,
        method: str,
        bucket: str,
        key: str | None,
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str],
        payload_sha256: str,
    ) -> tuple[str, dict[str, str]]:
        """The URL of a request and its headers, signed."""
        host, path = self._location(bucket, key)
        query_string = canonical_query(query)
        signed = sign_request(
            *(method, path, query_string, {"host": host, **headers}, payload_sha256),
            access_key=self._access_key,
            secret_key=self._secret_key,
            region=self.region,
            now=datetime.datetime.now(datetime.timezone.utc),
        )
        url = f"{self._scheme}://{host}{path}" + (f"?{query_string}" if query_string else "")
        return url, signed

    def _location(self, bucket: str, key: str | None) -> tuple[str, str]:
        """Host and encoded path of a bucket (key None) or an object."""
        if not bucket:
            raise S3ConfigError("the S3 bucket name is empty")
        key_path = "" if key is None else uri_encode(_check_key(key), keep_slash=True)
        if self._virtual_host and _DNS_BUCKET.fullmatch(bucket):
            return f"{bucket}.{self._host}", f"/{key_path}"
        return self._host, f"/{uri_encode(bucket)}" + ("" if key is None else f"/{key_path}")

    def _pool(self) -> httpx2.Client:
        """The connection pool, made once even when threads share this client.

        httpx2's Client "can be shared between threads" (httpx2/_client.py, Client's
        docstring; its pool locks around connections): only its making needs a lock.
        """
        if self._client is None:
            with _POOL_LOCK:
                return self._http()
        return self._client

    def _http(self) -> httpx2.Client:
        import httpx2

        if self._client is None:
            limits = httpx2.Limits()
            if self.proxy and self._scheme == "http":
                # A forwarding proxy may close the connection after each answer without saying
                # so (tinyproxy does); a reused one would then fail. Tunnels (https) stay open.
                limits = httpx2.Limits(max_keepalive_connections=0)
            self._client = httpx2.Client(
                verify=self._verify,
                timeout=self._timeout,
                trust_env=False,
                proxy=self.proxy or None,
                limits=limits,
                transport=self._transport,
            )
        return self._client


def _object_info(key: str, headers: Mapping[str, str]) -> S3ObjectInfo:
    metadata = {
        name[len(META_PREFIX) :]: value
        for name, value in headers.items()
        if name.lower().startswith(META_PREFIX)
    }
    return S3ObjectInfo(
        key,
        int(headers.get("content-length", 0)),
        headers.get("etag", ""),
        headers.get("content-type", ""),
        metadata,
    )


def _received(chunks: Iterator[bytes], endpoint: str) -> Iterator[bytes]:
    """The chunks of a response, a broken connection raised as S3Unreachable."""
    import httpx2

    try:
        yield from chunks
    except httpx2.TransportError as err:
        raise _transport_error(err, endpoint) from err


def _exactly(chunks: Iterable[bytes], size: int, what: str) -> Iterator[bytes]:
    """The chunks, checked to add up to `size`: raising aborts the request they feed."""
    sent = 0
    for chunk in chunks:
        sent += len(chunk)
        if sent > size:
            raise S3Error(f"upload of {what}: more than the announced {size} bytes")
        yield chunk
    if sent != size:
        raise S3Error(f"upload of {what}: {sent} bytes instead of the announced {size}")


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_key(key: str) -> str:
    """Refuse empty keys and "." or ".." segments, which HTTP clients rewrite."""
    if not key or any(part in (".", "..") for part in key.split("/")):
        raise S3ConfigError(f"invalid S3 object key {key!r}")
    return key


def _tls_context(ca_pem: str) -> ssl.SSLContext:
    import ssl

    try:
        return ssl.create_default_context(cadata=ca_pem)
    except (ssl.SSLError, ValueError) as err:
        raise S3TLSError("the S3 CA certificate is not a valid PEM certificate") from err


def _parse(response: httpx2.Response) -> ET.Element:
    """Parse an S3 XML answer; one with a DOCTYPE (entity expansion) is refused unread."""
    if b"<!DOCTYPE" in response.content:
        raise S3Error("the S3 server sent XML with a DOCTYPE; refusing to parse it")
    try:
        return ET.fromstring(response.content)  # noqa: S314 - no DOCTYPE, so no entities
    except ET.ParseError as err:
        raise S3Error(f"the S3 server sent malformed XML (HTTP {response.status_code})") from err


def _status_error(response: httpx2.Response, bucket: str, key: str) -> S3Error:
    """The typed error for an HTTP error answer (HEAD answers have no body, so no code)."""
    status, code = response.status_code, ""
    if response.content:
        with contextlib.suppress(S3Error):
            code = _parse(response).findtext("Code", "")
    if code in ("NoSuchBucket", "NoSuchKey") or (status == 404 and not code):
        if code == "NoSuchBucket" or (not code and not key):
            return S3NotFound(f"bucket '{bucket}' does not exist", "NoSuchBucket", bucket, key)
        message = f"object '{key}' does not exist in bucket '{bucket}'"
        return S3NotFound(message, "NoSuchKey", bucket, key)
    if status == 403 or code in AUTH_REASONS:
        reason = AUTH_REASONS.get(code, "wrong keys or no permission")
        message = f"S3 refused the request on bucket '{bucket}': {reason} ({code or status})"
        return S3AuthError(message, code, status)
    what = f"'{bucket}/{key}'" if key else f"'{bucket}'"
    return S3Error(f"S3 request for {what} failed: HTTP {status} {code}".strip(), code, status)


def _proxy_answer(response: httpx2.Response, endpoint: str, proxy: str) -> S3Error:
    """The proxy, not the gateway, answered (S3 servers always send x-amz-request-id)."""
    status = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    return S3ProxyError(
        f"HTTP proxy {shown(proxy)} answered {status} for S3 endpoint {endpoint}: "
        "allow it in the proxy, or add the endpoint's host to juju-no-proxy",
        status=response.status_code,
    )


def _transport_error(err: Exception, endpoint: str, proxy: str = "") -> S3Error:
    """Name the cause of a failed connection: certificate, DNS, refused, timeout, proxy."""
    import ssl

    import httpx2

    if proxy and not isinstance(err, httpx2.TimeoutException):
        unreachable = _proxy_failure(err, endpoint, proxy)
        if unreachable is not None:
            return unreachable

    cause: BaseException | None = err
    for _ in range(8):  # the SSL error sits a few exceptions down the chain
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or "certificate verify failed"
            return S3TLSError(f"TLS certificate of {endpoint} does not verify: {reason}")
        if isinstance(cause, ssl.SSLError):
            return S3TLSError(f"TLS handshake with {endpoint} failed: {cause.reason}")
        cause = cause and (cause.__cause__ or cause.__context__)
    text = str(err)
    if isinstance(err, httpx2.TimeoutException):
        via = f" through HTTP proxy {shown(proxy)}" if proxy else ""
        return S3NoAnswer(f"S3 endpoint {endpoint} did not answer in time{via}")
    if any(failure in text for failure in DNS_FAILURES):
        return S3Unreachable(f"S3 endpoint {endpoint}: host name does not resolve")
    if "Connection refused" in text:
        return S3NoAnswer(f"S3 endpoint {endpoint} refused the connection")
    if isinstance(err, httpx2.RemoteProtocolError):
        text += " (is it an HTTPS port?)" if endpoint.startswith("http:") else ""
        return S3Unreachable(f"cannot reach S3 endpoint {endpoint}: {text}")
    # ConnectError (no route, network down), ReadError/WriteError (reset): the network's
    # state, not the endpoint's spelling.
    kind = S3NoAnswer if isinstance(err, httpx2.NetworkError) else S3Unreachable
    return kind(f"cannot reach S3 endpoint {endpoint}: {text or type(err).__name__}")


def _proxy_failure(err: Exception, endpoint: str, proxy: str) -> S3ProxyError | None:
    """The proxy refused the tunnel, or could not be reached; None for other failures."""
    import httpx2

    text = str(err)
    prefix = f"HTTP proxy {shown(proxy)}"
    key = "juju-https-proxy" if endpoint.startswith("https:") else "juju-http-proxy"
    hint = f"check {key}, or add the endpoint's host to juju-no-proxy"
    if isinstance(err, httpx2.ProxyError):  # CONNECT answered with an error status
        return S3ProxyError(
            f"{prefix} refused the tunnel to S3 endpoint {endpoint} ({text}): allow it in the "
            "proxy, or add the endpoint's host to juju-no-proxy"
        )
    if "Connection refused" in text:
        return S3ProxyError(f"{prefix} refused the connection (for {endpoint}): {hint}")
    if any(failure in text for failure in DNS_FAILURES):
        return S3ProxyError(f"{prefix}: host name does not resolve (for {endpoint}): {hint}")
    return None
