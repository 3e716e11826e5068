"""Models load from the real Ceph RADOS Gateway through rclone, configured only by our Secret.

How Seldon Core 1.17 loads a model (SeldonIO/seldon-core):
- `operator/controllers/model_initializer_injector.go` (`InjectModelInitializer`) adds an init
  container running the storage initializer image with the arguments `[modelUri, /mnt/models]`
  and `envFrom: secretRef: <envSecretRefName>`, the Secret the charm sends to every profile.
- `components/rclone-storage-initializer/Dockerfile`: that image is rclone with
  `ENTRYPOINT ["rclone", "copy"]` and `ENV RCLONE_CONFIG_GS_TYPE`, `RCLONE_CONFIG_GS_ANONYMOUS`,
  `RCLONE_VERBOSE 1`; its `readme.md` configures remotes with `RCLONE_CONFIG_<REMOTE>_<KEY>`.
- rclone reads a remote from `RCLONE_CONFIG_<REMOTE>_<OPTION>` and every command-line option
  from `RCLONE_<OPTION>` (https://rclone.org/docs/#environment-variables, also `man rclone`),
  so `--ca-cert` is `RCLONE_CA_CERT`, a file path.

Here Debian's rclone runs exactly that command with exactly that environment: the Secret's
`stringData` as rendered by the charm in a Scenario run, the image's own variables, a HOME with
no rclone config, and nothing else. rclone comes from Debian's `rclone` package (`.ci/run`
installs it); without it these tests skip locally and fail in CI.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from ops import testing

from conftest import MODEL
from dsplib.s3 import S3Client

INSTALL_HINT = "apt-get install --no-install-recommends rclone"
# The storage initializer image's own environment (its Dockerfile, see above).
IMAGE_ENV = {
    "RCLONE_CONFIG_GS_TYPE": "google cloud storage",
    "RCLONE_CONFIG_GS_ANONYMOUS": "true",
    "RCLONE_VERBOSE": "1",
}
MODEL_FILES = {
    "model.joblib": secrets.token_bytes(4096),
    "metadata.yaml": b"name: iris\nversions: [iris/v1]\n",
    "settings/model-settings.json": b'{"implementation": "mlserver_sklearn.SKLearnModel"}',
}


@pytest.fixture(scope="module")
def rclone() -> str:
    path = shutil.which("rclone")
    if path is None:
        message = f"rclone is not installed: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the model loading tests", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def bucket(ceph_rgw) -> str:
    """A bucket holding one model directory, `iris/`."""
    name = f"models-{secrets.token_hex(4)}"
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as s3:
        s3.create_bucket(name)
        for key, content in MODEL_FILES.items():
            s3.put_object(name, f"iris/{key}", content)
    return name


def rendered_secret(ctx: testing.Context, s3_data: dict[str, str]) -> dict[str, str]:
    """The Secret's stringData, from the charm's own run with this s3-credentials data."""
    s3 = testing.Relation("s3-credentials", remote_app_name="s3", remote_app_data=s3_data)
    dispatcher = testing.Relation("secrets", remote_app_name="resource-dispatcher")
    state = testing.State(
        leader=True,
        model=MODEL,
        relations={s3, dispatcher},
        containers={testing.Container("seldon-core", can_connect=True)},
    )
    out = ctx.run(ctx.on.relation_changed(s3), state)
    secret = next(s for s in out.secrets if s.label == f"manifest.secrets.{dispatcher.id}")
    (manifest,) = json.loads(secret.tracked_content["manifests"])
    assert manifest["kind"] == "Secret"
    return manifest["stringData"]


def s3_data(endpoint: str, access_key: str, secret_key: str, **extra: str) -> dict[str, str]:
    return {
        "access-key": access_key,
        "secret-key": secret_key,
        "bucket": "unused-by-the-secret",
        "endpoint": endpoint,
        "region": "us-east-1",
        "s3-uri-style": "path",
        **extra,
    }


def run_rclone(
    rclone: str, home: Path, secret_env: dict[str, str], *args: str, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """Run rclone with the init container's environment only (no config file, no AWS_*)."""
    home.mkdir(exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), **IMAGE_ENV, **secret_env, **extra_env}
    return subprocess.run(  # noqa: S603 - rclone with arguments built here
        [rclone, *args, "--retries=1", "--low-level-retries=1", "--contimeout=10s"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def downloaded(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("model_uri", ["s3://{bucket}/iris", "s3:{bucket}/iris"])
def test_the_initializer_lists_and_downloads_a_model_over_http(
    ctx, kube, rclone, ceph_rgw, bucket, tmp_path, model_uri
):
    """Both URI forms: the documentation's `s3://bucket/path` and rclone's `s3:bucket/path`."""
    env = rendered_secret(
        ctx, s3_data(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key)
    )
    uri = model_uri.format(bucket=bucket)
    listing = run_rclone(rclone, tmp_path / "home", env, "lsf", "-R", uri)
    assert listing.returncode == 0, listing.stderr
    assert set(listing.stdout.split()) >= set(MODEL_FILES)
    mnt = tmp_path / "mnt" / "models"
    copy = run_rclone(rclone, tmp_path / "home", env, "copy", uri, str(mnt))
    assert copy.returncode == 0, copy.stderr
    assert downloaded(mnt) == MODEL_FILES


def test_over_https_rclone_needs_the_ca_which_the_secret_cannot_carry(
    ctx, kube, rclone, ceph_rgw_https, bucket, tmp_path
):
    """The Secret works over HTTPS once rclone trusts the gateway's CA (`RCLONE_CA_CERT`).

    The CA reaches the charm (`tls-ca-chain`), but rclone takes it only as a file path, which
    the rclone Secret (environment only) cannot carry: without the `service-accounts` relation
    (next tests) the initializer must already trust it (its image's trust store).
    """
    rgw = ceph_rgw_https
    data = s3_data(
        rgw.endpoint, rgw.access_key, rgw.secret_key, **{"tls-ca-chain": json.dumps([rgw.ca_pem])}
    )
    env = rendered_secret(ctx, data)
    assert env["RCLONE_CONFIG_S3_ENDPOINT"] == rgw.endpoint
    uri = f"s3://{bucket}/iris"
    untrusted = run_rclone(rclone, tmp_path / "home", env, "lsf", uri)
    assert untrusted.returncode != 0
    assert "certificate signed by unknown authority" in untrusted.stderr
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(rgw.ca_pem)
    mnt = tmp_path / "mnt" / "models"
    copy = run_rclone(
        rclone, tmp_path / "home", env, "copy", uri, str(mnt), RCLONE_CA_CERT=str(ca_file)
    )
    assert copy.returncode == 0, copy.stderr
    assert downloaded(mnt) == MODEL_FILES


def delivered(ctx: testing.Context, s3_data: dict[str, str]) -> dict[str, list[dict]]:
    """What the charm sends on `secrets` and `service-accounts`, both related."""
    s3 = testing.Relation("s3-credentials", remote_app_name="s3", remote_app_data=s3_data)
    secrets_rel = testing.Relation("secrets", remote_app_name="resource-dispatcher")
    accounts = testing.Relation("service-accounts", remote_app_name="resource-dispatcher")
    state = testing.State(
        leader=True,
        model=MODEL,
        relations={s3, secrets_rel, accounts},
        containers={testing.Container("seldon-core", can_connect=True)},
    )
    out = ctx.run(ctx.on.relation_changed(s3), state)
    secret = next(s for s in out.secrets if s.label == f"manifest.secrets.{secrets_rel.id}")
    bag = out.get_relation(accounts.id).local_app_data
    return {
        "secrets": json.loads(secret.tracked_content["manifests"]),
        "service-accounts": json.loads(bag["kubernetes_manifests"]),
    }


def test_with_the_service_account_the_initializer_gets_the_ca_as_a_file(
    ctx, kube, rclone, ceph_rgw_https, bucket, tmp_path
):
    """The CA as Seldon Core 1.17's injector would mount it (see seldon.py, `ca_secret`).

    The injector mounts every key of a ServiceAccount's Secret that holds the GCS credential
    file at /var/secrets/ (service_account_credentials.go, gcs/gcs_secret.go); here that
    directory is a temporary one, with the Secret's keys written into it as the kubelet would.
    """
    rgw = ceph_rgw_https
    data = s3_data(
        rgw.endpoint, rgw.access_key, rgw.secret_key, **{"tls-ca-chain": json.dumps([rgw.ca_pem])}
    )
    sent = delivered(ctx, data)
    rclone_env, ca = (m["stringData"] for m in sent["secrets"])
    [account] = sent["service-accounts"]
    ca_secret_name = sent["secrets"][1]["metadata"]["name"]
    assert account["secrets"] == [{"name": ca_secret_name}]
    # the injector mounts this Secret only because it holds the GCS credential key that the
    # charm's own seldon-config names
    assert "gcloud-application-credentials.json" in ca
    assert rclone_env["RCLONE_CA_CERT"] == "/var/secrets/ca.crt"
    mount = tmp_path / "var-secrets"
    mount.mkdir()
    for key, value in ca.items():
        (mount / key).write_text(value)
    env = {**rclone_env, "RCLONE_CA_CERT": str(mount / "ca.crt")}
    mnt = tmp_path / "mnt" / "models"
    copy = run_rclone(rclone, tmp_path / "home", env, "copy", f"s3://{bucket}/iris", str(mnt))
    assert copy.returncode == 0, copy.stderr
    assert downloaded(mnt) == MODEL_FILES
    # a pod without the ServiceAccount has no such file, and rclone stops at once: which is why
    # the charm sets RCLONE_CA_CERT only when it can deliver the ServiceAccount too
    missing = {**rclone_env, "RCLONE_CA_CERT": str(tmp_path / "absent" / "ca.crt")}
    failed = run_rclone(rclone, tmp_path / "home", missing, "lsf", f"s3://{bucket}/iris")
    assert failed.returncode != 0
    assert "ca-cert" in failed.stderr


def test_without_the_service_accounts_relation_no_ca_file_is_named(ctx, kube, ceph_rgw_https):
    rgw = ceph_rgw_https
    data = s3_data(
        rgw.endpoint, rgw.access_key, rgw.secret_key, **{"tls-ca-chain": json.dumps([rgw.ca_pem])}
    )
    env = rendered_secret(ctx, data)  # only `secrets` is related
    assert "RCLONE_CA_CERT" not in env


def test_wrong_keys_fail_clearly_and_download_nothing(
    ctx, kube, rclone, ceph_rgw, bucket, tmp_path
):
    wrong = "wrong-" + secrets.token_hex(16)
    env = rendered_secret(ctx, s3_data(ceph_rgw.endpoint, ceph_rgw.access_key, wrong))
    mnt = tmp_path / "mnt" / "models"
    copy = run_rclone(rclone, tmp_path / "home", env, "copy", f"s3://{bucket}/iris", str(mnt))
    assert copy.returncode != 0
    assert "SignatureDoesNotMatch" in copy.stderr
    assert wrong not in copy.stdout + copy.stderr
    assert not mnt.exists() or downloaded(mnt) == {}


def test_another_users_keys_cannot_read_the_bucket(ctx, kube, rclone, ceph_rgw, bucket, tmp_path):
    other = ceph_rgw.with_new_user()
    env = rendered_secret(ctx, s3_data(ceph_rgw.endpoint, other.access_key, other.secret_key))
    copy = run_rclone(
        rclone, tmp_path / "home", env, "copy", f"s3://{bucket}/iris", str(tmp_path / "mnt")
    )
    assert copy.returncode != 0
    assert "AccessDenied" in copy.stderr


# -- the model's HTTP proxy -------------------------------------------------------------------
# rclone is Go: it takes HTTP_PROXY/NO_PROXY through http.ProxyFromEnvironment, which never
# proxies `localhost` or a loopback IP literal (golang.org/x/net http/httpproxy/proxy.go,
# useProxy). The gateway is therefore named `127.1`, the short form of 127.0.0.1 that Go does
# not take for an IP (so the proxy applies) and that tinyproxy's resolver maps to 127.0.0.1.
# The test gateway serves its `rgw dns name` (localhost) and IP literals only, so it answers
# requests for `127.1` with 404: these tests look at the route the requests take, not at the
# download (which the tests above cover).


def proxied_secret(ctx, ceph_rgw, juju_proxy, proxy_url: str, no_proxy: str) -> dict[str, str]:
    juju_proxy(proxy_url, no_proxy)
    endpoint = ceph_rgw.endpoint.replace("127.0.0.1", "127.1")
    return rendered_secret(ctx, s3_data(endpoint, ceph_rgw.access_key, ceph_rgw.secret_key))


def test_with_a_model_proxy_the_initializer_goes_through_it(
    ctx, kube, rclone, ceph_rgw, bucket, tmp_path, tinyproxy, juju_proxy
):
    env = proxied_secret(ctx, ceph_rgw, juju_proxy, tinyproxy.url, "10.0.0.0/8")
    assert env["HTTP_PROXY"] == env["http_proxy"] == tinyproxy.url
    assert {".svc", ".cluster.local", "10.152.183.0/24", "10.0.0.0/8"} <= set(
        env["NO_PROXY"].split(",")
    )
    run_rclone(rclone, tmp_path / "home", env, "lsf", f"s3://{bucket}/iris")
    gateway = ceph_rgw.endpoint.replace("127.0.0.1", "127.1")
    routed = [url for _, url in tinyproxy.requests() if url.startswith(f"{gateway}/{bucket}")]
    assert routed, tinyproxy.log.read_text()


def test_a_refusing_proxy_stops_the_initializer(
    ctx, kube, rclone, ceph_rgw, bucket, tmp_path, refusing_tinyproxy, juju_proxy
):
    env = proxied_secret(ctx, ceph_rgw, juju_proxy, refusing_tinyproxy.url, "")
    listing = run_rclone(rclone, tmp_path / "home", env, "lsf", f"s3://{bucket}/iris")
    assert listing.returncode != 0
    assert "403" in listing.stderr
    assert refusing_tinyproxy.connections() > 0


def test_without_a_model_proxy_the_secret_has_no_proxy_variables(ctx, kube, ceph_rgw, juju_proxy):
    juju_proxy("", "127.0.0.1,localhost,::1")  # what Juju exports for a model without one
    env = rendered_secret(ctx, s3_data(ceph_rgw.endpoint, ceph_rgw.access_key, "k"))
    assert not {k for k in env if k.upper().endswith("_PROXY")}
