"""Scenario tests of the migrate-artifacts action, copying between two users of a real RGW."""

from __future__ import annotations

import secrets

import ops
import pytest
from ops import testing
from scenario.mocking import _MockModelBackend

import migration
from ceph_rgw import S3User
from dsplib.s3 import S3Client
from pytest_ceph_rgw import RGWEndpoint
from test_charm import s3_data, s3_relation, state

APP = "kubeflow-object-storage"
ACTION = "migrate-artifacts"
OBJECTS = {
    "v2/artifacts/train/6f1c/model": (b"weights", "application/octet-stream"),
    "v2/artifacts/train/6f1c/metrics": (b'{"accuracy": 0.93}', "application/json"),
    "pipelines/0b7e8a52": (b"pipelineSpec: {}", "text/yaml"),
}


@pytest.fixture(scope="module")
def minio_user(ceph_cluster) -> S3User:
    """The old store's user, in its own RGW tenant: same bucket names, other keys."""
    return ceph_cluster.create_user(f"minio${secrets.token_hex(4)}")


@pytest.fixture
def bucket(ceph_rgw: RGWEndpoint, minio_user: S3User) -> str:
    """A bucket of that name in both stores: filled in the old one, empty in the served one."""
    name = f"mlpipeline-{secrets.token_hex(4)}"
    with S3Client(ceph_rgw.endpoint, minio_user.access_key, minio_user.secret_key) as old:
        old.create_bucket(name)
        for key, (content, content_type) in OBJECTS.items():
            old.put_object(name, key, content, content_type)
    with served(ceph_rgw) as new:
        new.create_bucket(name)
    return name


def served(rgw: RGWEndpoint) -> S3Client:
    return S3Client(rgw.endpoint, rgw.access_key, rgw.secret_key)


def served_keys(rgw: RGWEndpoint, bucket: str) -> list[str]:
    with served(rgw) as client:
        return [o.key for o in client.iter_objects(bucket)]


def credentials(user: S3User, **overrides: str) -> testing.Secret:
    content = {"access-key": user.access_key, "secret-key": user.secret_key, **overrides}
    return testing.Secret(content, owner=None)  # a user secret the application was granted


def action_state(
    rgw: RGWEndpoint, bucket: str, secret: testing.Secret | None, *, leader: bool = True
) -> testing.State:
    s3 = s3_relation(s3_data(rgw))
    return state(
        leader=leader,
        config={"bucket": bucket},
        relations=[s3],
        secrets=[secret] if secret else [],
    )


def params(rgw: RGWEndpoint, secret_id: str, bucket: str, **more) -> dict:
    return {
        "source-endpoint": rgw.endpoint,
        "source-credentials-secret": secret_id,
        "source-bucket": bucket,
        **more,
    }


def fails(ctx, st: testing.State, **action_params) -> str:
    with pytest.raises(testing.ActionFailed) as failed:
        ctx.run(ctx.on.action(ACTION, params=action_params), st)
    return failed.value.message


def test_the_action_copies_the_bucket_and_reports_a_summary(
    ctx, kube, ceph_rgw, minio_user, bucket
):
    secret = credentials(minio_user)
    st = action_state(ceph_rgw, bucket, secret)

    ctx.run(ctx.on.action(ACTION, params=params(ceph_rgw, secret.id, bucket)), st)

    results = ctx.action_results or {}
    size = sum(len(content) for content, _ in OBJECTS.values())
    assert {k: v for k, v in results.items() if k != "seconds"} == {
        "source": f"{ceph_rgw.endpoint} bucket '{bucket}'",
        "dry-run": "false",
        "objects": "3",
        "bytes": str(size),
        "already-present": "0",
        "to-copy": "3",
        "to-copy-bytes": str(size),
        "copied": "3",
        "copied-bytes": str(size),
        "failed": "0",
        "vanished": "0",
    }
    assert served_keys(ceph_rgw, bucket) == sorted(OBJECTS)
    assert ctx.action_logs[0].startswith(
        f"source {ceph_rgw.endpoint} bucket '{bucket}': 3 objects"
    )
    assert len(ctx.action_logs) <= 1 + migration.PROGRESS_STEPS
    for line in [*ctx.action_logs, *map(str, results.values())]:
        assert minio_user.secret_key not in line
        assert minio_user.access_key not in line

    ctx.run(
        ctx.on.action(ACTION, params=params(ceph_rgw, secret.id, bucket)), st
    )  # again: nothing to do
    assert (ctx.action_results or {})["copied"] == "0"
    assert (ctx.action_results or {})["already-present"] == "3"


def test_a_dry_run_counts_and_copies_nothing(ctx, kube, ceph_rgw, minio_user, bucket):
    secret = credentials(minio_user)
    st = action_state(ceph_rgw, bucket, secret)

    ctx.run(
        ctx.on.action(ACTION, params=params(ceph_rgw, secret.id, bucket, **{"dry-run": True})), st
    )

    results = ctx.action_results or {}
    assert (results["dry-run"], results["objects"], results["to-copy"]) == ("true", "3", "3")
    assert "copied" not in results
    assert served_keys(ceph_rgw, bucket) == []
    assert "would copy 3" in ctx.action_logs[0]


def test_the_ca_can_come_from_the_secret(ctx, kube, ceph_rgw_https, minio_user, bucket):
    """An HTTPS source verified against a CA from the secret; a wrong one is refused."""
    good = credentials(minio_user, **{"ca-cert": ceph_rgw_https.ca_pem})
    st = action_state(ceph_rgw_https, bucket, good)
    ctx.run(
        ctx.on.action(ACTION, params=params(ceph_rgw_https, good.id, bucket, **{"dry-run": True})),
        st,
    )
    assert (ctx.action_results or {})["objects"] == "3"

    from ceph_rgw import self_signed_ca

    wrong = {"source-ca-cert": self_signed_ca("another CA"), "dry-run": True}
    message = fails(ctx, st, **params(ceph_rgw_https, good.id, bucket, **wrong))
    assert message.startswith(
        f"source {ceph_rgw_https.endpoint} bucket '{bucket}': TLS certificate of "
        f"{ceph_rgw_https.endpoint} does not verify"
    )


# -- failures that name their fix --------------------------------------------------------------


def test_a_missing_secret_fails_naming_the_fix(ctx, kube, ceph_rgw, bucket):
    st = action_state(ceph_rgw, bucket, None)
    message = fails(ctx, st, **params(ceph_rgw, "secret:d0a6jc7mp25c7bqbe3mg", bucket))
    assert message == (
        "source-credentials-secret secret:d0a6jc7mp25c7bqbe3mg not found: check the id with "
        "'juju secrets', and that it was granted: "
        f"juju grant-secret secret:d0a6jc7mp25c7bqbe3mg {APP}"
    )


def test_a_secret_not_granted_fails_naming_the_fix(
    ctx, kube, ceph_rgw, minio_user, bucket, monkeypatch
):
    # Juju refuses secret-get on a user secret the application was not granted with
    # "permission denied" (not "not found"), which ops raises as a plain ModelError.
    secret = credentials(minio_user)
    secret_get = _MockModelBackend.secret_get

    def refused(self, **kwargs):
        if kwargs.get("id") == secret.id:
            raise ops.ModelError("ERROR permission denied\n")
        return secret_get(self, **kwargs)

    monkeypatch.setattr(_MockModelBackend, "secret_get", refused)
    message = fails(
        ctx, action_state(ceph_rgw, bucket, secret), **params(ceph_rgw, secret.id, bucket)
    )
    assert message == (
        f"source-credentials-secret {secret.id} cannot be read by {APP}: "
        f"grant it with juju grant-secret {secret.id} {APP}"
    )


def test_wrong_keys_in_the_secret_fail_naming_the_source(ctx, kube, ceph_rgw, minio_user, bucket):
    secret = credentials(minio_user, **{"secret-key": "not-the-key"})
    message = fails(
        ctx, action_state(ceph_rgw, bucket, secret), **params(ceph_rgw, secret.id, bucket)
    )
    assert message == (
        f"source {ceph_rgw.endpoint} bucket '{bucket}': S3 refused the request on bucket "
        f"'{bucket}': wrong keys or no permission (403): fix access-key and secret-key in the "
        "source-credentials-secret (juju update-secret), or the keys' permissions"
    )
    assert served_keys(ceph_rgw, bucket) == []


def test_a_secret_without_a_secret_key_fails_naming_the_field(
    ctx, kube, ceph_rgw, minio_user, bucket
):
    secret = testing.Secret({"access-key": minio_user.access_key}, owner=None)
    message = fails(
        ctx, action_state(ceph_rgw, bucket, secret), **params(ceph_rgw, secret.id, bucket)
    )
    assert message == (
        f"source-credentials-secret {secret.id} has no secret-key: run juju update-secret "
        f"{secret.id} access-key=<key> secret-key=<key>"
    )


def test_a_non_leader_unit_refuses(ctx, kube, ceph_rgw, minio_user, bucket):
    secret = credentials(minio_user)
    st = action_state(ceph_rgw, bucket, secret, leader=False)
    message = fails(ctx, st, **params(ceph_rgw, secret.id, bucket))
    assert message == f"run this action on the leader: juju run {APP}/leader migrate-artifacts ..."


def test_another_bucket_name_than_the_served_one_is_refused(
    ctx, kube, ceph_rgw, minio_user, bucket
):
    secret = credentials(minio_user)
    st = action_state(ceph_rgw, bucket, secret)
    message = fails(ctx, st, **params(ceph_rgw, secret.id, "mlpipeline"))
    assert message.startswith(
        f"source-bucket 'mlpipeline' is not the bucket this charm serves ('{bucket}'): old runs "
        "recorded minio://mlpipeline/... URIs"
    )


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        ({"source-endpoint": "minio:9000"}, "source-endpoint: expected the old endpoint's URL"),
        ({"source-endpoint": "http://minio:9000/mlpipeline"}, "source-endpoint: expected"),
        ({"source-credentials-secret": "minio-keys"}, "source-credentials-secret: expected a"),
        ({"source-bucket": "Not_A_Bucket"}, "source-bucket: 'Not_A_Bucket' is not an S3 bucket"),
        ({"source-ca-cert": "not a PEM"}, "source-ca-cert: the S3 CA certificate is not a valid"),
    ],
)
def test_wrong_parameters_are_named(ctx, kube, ceph_rgw_https, minio_user, bucket, wrong, message):
    secret = credentials(minio_user)
    st = action_state(ceph_rgw_https, bucket, secret)
    assert fails(ctx, st, **{**params(ceph_rgw_https, secret.id, bucket), **wrong}).startswith(
        message
    )


def test_without_the_served_bucket_the_action_waits_for_it(ctx, kube, minio_user):
    secret = credentials(minio_user)
    st = state(config={"bucket": "mlpipeline"}, secrets=[secret])
    message = fails(ctx, st, **params_for("http://minio:9000", secret.id))
    assert message == (
        "the target is not ready: integrate s3-credentials with s3-integrator (Ceph RGW)"
    )


def params_for(endpoint: str, secret_id: str) -> dict:
    return {"source-endpoint": endpoint, "source-credentials-secret": secret_id}
