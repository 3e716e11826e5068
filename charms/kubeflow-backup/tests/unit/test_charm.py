"""Scenario tests of kubeflow-backup's actions against a real Ceph RADOS Gateway."""

import base64
import json
import logging

import pytest
from ops import testing

import cluster
from conftest import (
    MODEL,
    SECRET_VALUE,
    empty_cluster,
    s3_relation,
    user_objects,
    user_secret,
)
from dsplib.s3 import S3Client
from dsplib.testing import FakeKubernetes, relation_event
from pytest_ceph_rgw import RGWEndpoint

ROOT = "platform/kubeflow-backups/"
SAVED = {
    (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in user_objects()
}


# The key the leader made on install, as every later hook and action of the unit sees it.
OWN_KEY = testing.Secret(
    {"key": base64.b64encode(b"o" * 32).decode()}, label="backup-encryption-key", owner="app"
)


def state(relations=(), *, leader=True, config=None, secrets=(OWN_KEY,), **kw) -> testing.State:
    return testing.State(
        leader=leader,
        model=MODEL,
        config=config or {},
        relations=set(relations),
        secrets=set(secrets),
        **kw,
    )


def act(ctx, name: str, st: testing.State, **params) -> testing.State:
    return ctx.run(ctx.on.action(name, params=params), st)


def fails(ctx, name: str, st: testing.State, **params) -> testing.ActionFailed:
    with pytest.raises(testing.ActionFailed) as info:
        ctx.run(ctx.on.action(name, params=params), st)
    return info.value


def keys(rgw: RGWEndpoint, bucket: str, prefix: str = "") -> list[str]:
    with S3Client(rgw.endpoint, rgw.access_key, rgw.secret_key) as s3:
        try:
            return [o.key for o in s3.list_objects(bucket, prefix)]
        except Exception:
            return []


def as_stored(fake: FakeKubernetes) -> dict[tuple, dict]:
    """Objects of the kinds backups hold, by (kind, namespace, name), as JSON round trips."""
    kinds = {k for k, _, _ in SAVED} | {"Secret"}
    return {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): json.loads(
            json.dumps(o)
        )
        for o in fake.objects.values()
        if o["kind"] in kinds
    }


# -- the round trip ---------------------------------------------------------------------------


def test_create_list_verify_restore_delete(ctx, kube, use_cluster, ceph_rgw, bucket):
    s3 = s3_relation(ceph_rgw, bucket)
    out = act(ctx, "create-backup", state([s3]), description="before the upgrade")
    results = ctx.action_results
    assert results is not None
    backup_id = results["backup-id"]
    assert results["namespaces"] == "alice,bob"
    assert int(results["objects"]) == len(SAVED)
    assert results["skipped-kinds"] == (
        "InferenceService.serving.kserve.io,"
        "ScheduledSparkApplication.sparkoperator.k8s.io,Experiment.kubeflow.org,"
        "ScheduledWorkflow.kubeflow.org,CronWorkflow.argoproj.io"
    )
    assert any("uploaded" in line for line in ctx.action_logs)
    stored = keys(ceph_rgw, bucket, f"{ROOT}{backup_id}/")
    assert (
        stored[-1]
        == f"{ROOT}{backup_id}/objects/bob/sparkapplication.sparkoperator.k8s.io/etl.json"
    )
    assert f"{ROOT}{backup_id}/manifest.json" in stored
    assert len(stored) == len(SAVED) + 1
    assert out.unit_status.name == "active"
    assert out.unit_status.message.startswith("last backup ")
    assert out.unit_status.message.endswith(f": {backup_id}, {len(SAVED)} objects")

    act(ctx, "list-backups", out, format="json")
    [row] = json.loads(ctx.action_results["backups"])  # type: ignore[index]
    assert row["id"] == backup_id
    assert row["namespaces"] == ["alice", "bob"]
    assert row["objects"] == len(SAVED)
    assert row["state"] == "done"
    assert row["description"] == "before the upgrade"
    assert row["bytes"] > 0
    act(ctx, "list-backups", out)
    table = ctx.action_results["backups"]  # type: ignore[index]
    assert table.splitlines()[0].split() == [
        "ID",
        "TIME",
        "(UTC)",
        "NAMESPACES",
        "OBJECTS",
        "SIZE",
        "STATE",
    ]
    assert table.splitlines()[1].startswith(f"{backup_id}  ")

    act(ctx, "verify-backup", out, **{"backup-id": backup_id})
    assert ctx.action_results == {
        "backup-id": backup_id,
        "objects-checked": str(len(SAVED)),
        "ok": "true",
        "signature": "valid",
        "volume-snapshots": "0 ready, 0 pending, 0 gone",
    }

    target = use_cluster(empty_cluster())
    act(ctx, "restore", out, **{"backup-id": backup_id})
    assert ctx.action_results["created"] == str(len(SAVED))  # type: ignore[index]
    assert ctx.action_results["failed"] == "0"  # type: ignore[index]
    restored = as_stored(target)
    expected = {k: cluster.strip(v) for k, v in as_stored(kube).items() if k in SAVED}
    assert restored == expected
    notebook = restored[("Notebook", "alice", "lab")]
    assert "status" not in notebook
    assert "uid" not in notebook["metadata"]
    assert (
        "volumeName" not in restored[("PersistentVolumeClaim", "alice", "lab-workspace")]["spec"]
    )

    act(ctx, "delete-backup", out, **{"backup-id": backup_id})
    assert ctx.action_results["deleted-keys"] == str(len(SAVED) + 1)  # type: ignore[index]
    assert keys(ceph_rgw, bucket, ROOT) == []
    act(ctx, "list-backups", out)
    assert ctx.action_results["backups"] == "no backups"  # type: ignore[index]


def test_restore_skips_what_exists_unless_told_to_overwrite(ctx, kube, ceph_rgw, bucket):
    s3 = s3_relation(ceph_rgw, bucket)
    out = act(ctx, "create-backup", state([s3]))
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    settings = kube.get_object("ConfigMap", "settings", "alice")
    settings["data"]["region"] = "changed since"
    del kube.objects[("kubeflow.org/v1", "Notebook", "alice", "lab")]
    kube.reset_calls()

    act(ctx, "restore", out, **{"backup-id": backup_id, "dry-run": True})
    assert kube.writes == []
    assert ctx.action_results["dry-run"] == "true"  # type: ignore[index]
    assert ctx.action_results["created"] == "1"  # type: ignore[index]
    assert ctx.action_results["skipped"] == str(len(SAVED) - 1)  # type: ignore[index]

    act(ctx, "restore", out, **{"backup-id": backup_id})
    assert ctx.action_results["created"] == "1"  # type: ignore[index]
    assert kube.find("Notebook", "lab", "alice") is not None
    assert settings["data"]["region"] == "changed since"

    act(ctx, "restore", out, **{"backup-id": backup_id, "overwrite": True, "namespaces": "alice"})
    assert ctx.action_results["overwritten"] == str(  # type: ignore[index]
        len([k for k in SAVED if k[1] == "alice" or k[2] == "alice"])
    )
    assert kube.get_object("ConfigMap", "settings", "alice")["data"]["region"] == "emea"


def test_restore_waits_for_profile_namespaces_and_reports_those_that_never_come(
    ctx, kube, use_cluster, ceph_rgw, bucket, monkeypatch
):
    s3 = s3_relation(ceph_rgw, bucket)
    out = act(ctx, "create-backup", state([s3]))
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    monkeypatch.setattr(cluster, "NAMESPACE_WAIT", 0.2)
    monkeypatch.setattr(cluster, "WAIT_STEP", 0.05)
    target = empty_cluster()
    target._reactions.clear()  # no profile controller: namespaces never appear
    use_cluster(target)
    failure = fails(ctx, "restore", out, **{"backup-id": backup_id, "namespaces": "bob"})
    assert failure.message == "3 objects were not restored (see failures)"
    assert ctx.action_results["created"] == "1"  # type: ignore[index]  # the Profile
    assert "namespace bob did not appear" in ctx.action_results["failures"]  # type: ignore[index]
    assert any(line.startswith("waiting for namespaces: bob") for line in ctx.action_logs)


# -- damage, interruption, retention, wrong keys ----------------------------------------------


def test_a_flipped_byte_fails_verify_and_restore_names_the_object(
    ctx, kube, use_cluster, ceph_rgw, bucket
):
    s3 = s3_relation(ceph_rgw, bucket)
    out = act(ctx, "create-backup", state([s3]))
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    key = f"{ROOT}{backup_id}/objects/alice/configmap.core/settings.json"
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as client:
        data = bytearray(client.get_object(bucket, key))
        data[len(data) // 2] ^= 0x01
        client.put_object(bucket, key, bytes(data))

    failure = fails(ctx, "verify-backup", out, **{"backup-id": backup_id})
    assert failure.message == (
        f"backup {backup_id} is damaged: ConfigMap alice/settings (checksum mismatch)"
    )
    assert ctx.action_results["ok"] == "false"  # type: ignore[index]

    target = use_cluster(empty_cluster())
    target.reset_calls()
    failure = fails(ctx, "restore", out, **{"backup-id": backup_id})
    assert failure.message == (
        f"backup {backup_id} is damaged, nothing restored: "
        "ConfigMap alice/settings (checksum mismatch)"
    )
    assert target.writes == []
    # restoring only the namespace without damage works
    act(ctx, "restore", out, **{"backup-id": backup_id, "namespaces": "bob"})
    assert ctx.action_results["created"] == "4"  # type: ignore[index]


def test_a_missing_object_fails_verify(ctx, kube, ceph_rgw, bucket):
    s3 = s3_relation(ceph_rgw, bucket)
    out = act(ctx, "create-backup", state([s3]))
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as client:
        client.delete_object(
            bucket, f"{ROOT}{backup_id}/objects/bob/notebook.kubeflow.org/bob-nb.json"
        )
    failure = fails(ctx, "verify-backup", out, **{"backup-id": backup_id})
    assert failure.message.endswith("Notebook bob/bob-nb (missing)")


def test_an_interrupted_backup_is_not_listed_and_the_next_run_deletes_it(
    ctx, kube, ceph_rgw, bucket, monkeypatch
):
    s3 = s3_relation(ceph_rgw, bucket)
    uploads = []
    real_put = S3Client.put_object

    class Killed(BaseException):
        """The unit's pod going away in the middle of the action."""

    def dying_put(self, bucket_name, key, data, content_type="application/octet-stream"):
        if "/leases/" not in key:
            if len(uploads) == 5:
                raise Killed
            uploads.append(key)
        return real_put(self, bucket_name, key, data, content_type)

    monkeypatch.setattr(S3Client, "put_object", dying_put)
    with pytest.raises(Killed):
        act(ctx, "create-backup", state([s3]))
    monkeypatch.setattr(S3Client, "put_object", real_put)
    interrupted = uploads[0].split("/")[2]
    assert len(keys(ceph_rgw, bucket, f"{ROOT}{interrupted}/")) == 5

    out = act(ctx, "list-backups", state([s3]))
    assert ctx.action_results == {
        "backups": "no backups",
        "count": "0",
        "incomplete": "1 interrupted backups, deleted by the next create-backup",
    }
    failure = fails(ctx, "verify-backup", out, **{"backup-id": interrupted})
    assert failure.message == f"backup {interrupted} is incomplete (it has no manifest)"

    act(ctx, "create-backup", state([s3]))
    assert ctx.action_results["cleaned-up"] == interrupted  # type: ignore[index]
    assert keys(ceph_rgw, bucket, f"{ROOT}{interrupted}/") == []
    act(ctx, "list-backups", state([s3]))
    assert ctx.action_results["count"] == "1"  # type: ignore[index]
    assert "incomplete" not in ctx.action_results  # type: ignore[operator]


def test_retention_keeps_exactly_the_newest_n(ctx, kube, ceph_rgw, bucket):
    s3 = s3_relation(ceph_rgw, bucket)
    st = state([s3], config={"retention": 2})
    made = []
    for _ in range(4):
        act(ctx, "create-backup", st, namespaces="bob")
        made.append(ctx.action_results["backup-id"])  # type: ignore[index]
    assert ctx.action_results["deleted-by-retention"] == made[1]  # type: ignore[index]
    act(ctx, "list-backups", st, format="json")
    listed = [r["id"] for r in json.loads(ctx.action_results["backups"])]  # type: ignore[index]
    assert listed == [made[3], made[2]]  # newest first
    prefixes = {k.split("/")[2] for k in keys(ceph_rgw, bucket, ROOT)}
    assert prefixes == set(made[2:])


def test_wrong_credentials_fail_clearly_and_write_nothing(ctx, kube, ceph_rgw, bucket, caplog):
    caplog.set_level(logging.DEBUG)
    s3 = s3_relation(ceph_rgw, bucket, **{"secret-key": "WRONG-SECRET"})
    kube.add(
        {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshotClass",
            "metadata": {"name": "rbd"},
        }
    )
    kube.reset_calls()
    st = state([s3], config={"volume-snapshot-class": "rbd"})
    failure = fails(
        ctx, "create-backup", st, **{"volume-snapshots": True, "include-secrets": True}
    )
    assert failure.message == (
        f"S3 refused the request on bucket '{bucket}': the secret key does not match the "
        "access key (SignatureDoesNotMatch): fix the keys given to s3-integrator"
    )
    assert kube.writes == []
    assert keys(ceph_rgw, bucket) == []  # the bucket was not even created
    assert "WRONG-SECRET" not in caplog.text
    assert failure.state.unit_status.name == "blocked"
    assert failure.state.unit_status.message.startswith("last backup ")
    assert "failed: S3 refused the request" in failure.state.unit_status.message
    for name, params in (
        ("list-backups", {}),
        ("verify-backup", {"backup-id": "20260101-000000-abcd"}),
        ("restore", {"backup-id": "20260101-000000-abcd"}),
        ("delete-backup", {"backup-id": "20260101-000000-abcd"}),
    ):
        message = fails(ctx, name, st, **params).message
        assert message.startswith(f"S3 refused the request on bucket '{bucket}': ")
        assert message.endswith("fix the keys given to s3-integrator")
    assert kube.writes == []


def test_a_good_backup_after_a_failed_one_clears_the_status(ctx, kube, ceph_rgw, bucket):
    bad = s3_relation(ceph_rgw, bucket, **{"access-key": "NOSUCHKEY0000"})
    failure = fails(ctx, "create-backup", state([bad]))
    assert failure.state.unit_status.name == "blocked"
    good = s3_relation(ceph_rgw, bucket)
    out = act(ctx, "create-backup", state([good], stored_states=failure.state.stored_states))
    assert out.unit_status.name == "active"


# -- Secrets ----------------------------------------------------------------------------------


def test_secrets_are_encrypted_in_the_bucket_and_restored_in_clear(
    ctx, kube, use_cluster, ceph_rgw, bucket
):
    s3 = s3_relation(ceph_rgw, bucket)
    out = ctx.run(ctx.on.install(), state([s3]))
    [key_secret] = out.secrets
    assert key_secret.label == "backup-encryption-key"
    out = act(ctx, "create-backup", out, **{"include-secrets": True})
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    assert int(ctx.action_results["objects"]) == len(SAVED) + 1  # type: ignore[index]
    key = f"{ROOT}{backup_id}/objects/alice/secret.core/db-password.json.enc"
    with S3Client(ceph_rgw.endpoint, ceph_rgw.access_key, ceph_rgw.secret_key) as client:
        stored = client.get_object(bucket, key)
        manifest = client.get_object(bucket, f"{ROOT}{backup_id}/manifest.json")
    assert SECRET_VALUE.encode() not in stored
    assert b"db-password" not in stored
    assert SECRET_VALUE.encode() not in manifest
    assert not any(SECRET_VALUE in line for line in ctx.action_logs)

    target = use_cluster(empty_cluster())
    act(ctx, "restore", out, **{"backup-id": backup_id, "namespaces": "alice"})
    restored = target.get_object("Secret", "db-password", "alice")
    assert restored["data"] == {"pw": SECRET_VALUE}
    assert restored["metadata"] == cluster.strip(user_secret())["metadata"]
    assert SECRET_VALUE not in json.dumps(ctx.action_results)


def test_secrets_from_another_key_are_refused_before_anything_is_written(
    ctx, kube, use_cluster, ceph_rgw, bucket
):
    s3 = s3_relation(ceph_rgw, bucket)
    act(ctx, "create-backup", state([s3]), **{"include-secrets": True})
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    target = use_cluster(empty_cluster())
    target.reset_calls()
    fresh = ctx.run(ctx.on.install(), state([s3], secrets=()))  # another deployment, key
    failure = fails(ctx, "restore", fresh, **{"backup-id": backup_id})
    assert "is signed with key" in failure.message  # the manifest, checked before the Secrets
    assert "set encryption-key-secret to the key it was made with" in failure.message
    assert target.writes == []


def test_an_operator_key_restores_secrets_across_deployments(
    ctx, kube, use_cluster, ceph_rgw, bucket
):
    import base64

    key = testing.Secret(
        {"key": base64.b64encode(b"k" * 32).decode()}, owner=None, label="site-backup-key"
    )
    config = {"encryption-key-secret": key.id}
    s3 = s3_relation(ceph_rgw, bucket)
    act(
        ctx,
        "create-backup",
        state([s3], config=config, secrets={key}),
        **{"include-secrets": True},
    )
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    target = use_cluster(empty_cluster())
    act(ctx, "restore", state([s3], config=config, secrets={key}), **{"backup-id": backup_id})
    assert target.find("Secret", "db-password", "alice") is not None


def test_an_unreadable_operator_key_fails_the_action(ctx, kube, ceph_rgw, bucket):
    s3 = s3_relation(ceph_rgw, bucket)
    config = {"encryption-key-secret": "secret:d0a6jc7mp25c7bqbe3mg"}
    failure = fails(ctx, "create-backup", state([s3], config=config), **{"include-secrets": True})
    assert failure.message == (
        "config encryption-key-secret: cannot read the secret; "
        "grant it with 'juju grant-secret <name> kubeflow-backup'"
    )


# -- volume snapshots -------------------------------------------------------------------------


def test_volume_snapshots_are_taken_restored_from_and_deleted(
    ctx, kube, use_cluster, ceph_rgw, bucket
):
    s3 = s3_relation(ceph_rgw, bucket)
    st = state([s3], config={"volume-snapshot-class": "ceph-rbd-snapshots"})
    out = act(ctx, "create-backup", st, **{"volume-snapshots": True})
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    assert ctx.action_results["volume-snapshots"] == "1"  # type: ignore[index]  # bound only
    [snapshot] = kube.of_kind("VolumeSnapshot")
    assert snapshot["metadata"]["namespace"] == "alice"
    assert snapshot["spec"]["source"] == {"persistentVolumeClaimName": "lab-workspace"}
    assert snapshot["spec"]["volumeSnapshotClassName"] == "ceph-rbd-snapshots"

    act(ctx, "verify-backup", out, **{"backup-id": backup_id})
    assert ctx.action_results["volume-snapshots"] == "0 ready, 1 pending, 0 gone"  # type: ignore[index]
    snapshot["status"] = {"readyToUse": True}
    act(ctx, "verify-backup", out, **{"backup-id": backup_id})
    assert ctx.action_results["volume-snapshots"] == "1 ready, 0 pending, 0 gone"  # type: ignore[index]

    act(ctx, "restore", out, **{"backup-id": backup_id, "dry-run": True})
    assert ctx.action_results["from-snapshot"] == "0"  # type: ignore[index]  # the PVC exists

    # the user deleted the PVC: restore makes it again from the snapshot
    pvc_key = next(k for k in kube.objects if k[3] == "lab-workspace")
    del kube.objects[pvc_key]
    act(ctx, "restore", out, **{"backup-id": backup_id, "namespaces": "alice"})
    assert ctx.action_results["from-snapshot"] == "1"  # type: ignore[index]
    restored = kube.get_object("PersistentVolumeClaim", "lab-workspace", "alice")
    assert restored["spec"]["dataSource"]["name"] == snapshot["metadata"]["name"]

    # in a cluster where the snapshot is gone the volume comes back empty, and says so
    use_cluster(empty_cluster())
    act(ctx, "restore", out, **{"backup-id": backup_id, "namespaces": "alice"})
    assert "snapshot " in ctx.action_results["notes"]  # type: ignore[index]
    assert ctx.action_results["from-snapshot"] == "0"  # type: ignore[index]

    use_cluster(kube)
    act(ctx, "delete-backup", out, **{"backup-id": backup_id})
    assert ctx.action_results["deleted-volume-snapshots"] == "1"  # type: ignore[index]
    assert kube.of_kind("VolumeSnapshot") == []


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "set config volume-snapshot-class to take volume snapshots"),
        (
            {"volume-snapshot-class": "missing"},
            "config volume-snapshot-class: no VolumeSnapshotClass 'missing'",
        ),
    ],
)
def test_volume_snapshots_need_a_class(ctx, kube, ceph_rgw, bucket, config, message):
    s3 = s3_relation(ceph_rgw, bucket)
    kube.reset_calls()
    failure = fails(ctx, "create-backup", state([s3], config=config), **{"volume-snapshots": True})
    assert failure.message == message
    assert kube.writes == []
    assert keys(ceph_rgw, bucket, ROOT) == []


def test_volume_snapshots_need_the_snapshot_api(ctx, kube, ceph_rgw, bucket):
    for key in [k for k in kube.objects if k[3].endswith("snapshot.storage.k8s.io")]:
        del kube.objects[key]
    s3 = s3_relation(ceph_rgw, bucket)
    failure = fails(
        ctx,
        "create-backup",
        state([s3], config={"volume-snapshot-class": "x"}),
        **{"volume-snapshots": True},
    )
    assert failure.message.startswith("the cluster has no VolumeSnapshot API")


# -- parameters, leadership, relation and config ----------------------------------------------


def test_named_namespaces_may_be_plain_ones(ctx, kube, use_cluster, ceph_rgw, bucket):
    from conftest import namespace, obj

    kube.add(
        namespace("shared-data", {"team": "data"}),
        obj("v1", "ConfigMap", "paths", "shared-data", data={"raw": "s3://raw"}),
    )
    s3 = s3_relation(ceph_rgw, bucket)
    out = act(ctx, "create-backup", state([s3]), namespaces="shared-data")
    assert ctx.action_results["objects"] == "2"  # type: ignore[index]
    target = use_cluster(empty_cluster())
    act(ctx, "restore", out, **{"backup-id": ctx.action_results["backup-id"]})  # type: ignore[index]
    assert target.get_object("Namespace", "shared-data")["metadata"]["labels"] == {"team": "data"}
    assert target.find("ConfigMap", "paths", "shared-data") is not None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"namespaces": "nobody"}, "namespace nobody does not exist"),
        ({"namespaces": "Bad_Name"}, "namespaces: 'Bad_Name' is not a namespace name"),
    ],
)
def test_bad_namespaces_fail_create_backup(ctx, kube, ceph_rgw, bucket, params, message):
    failure = fails(ctx, "create-backup", state([s3_relation(ceph_rgw, bucket)]), **params)
    assert failure.message == message


def test_without_profiles_namespaces_must_be_named(ctx, use_cluster, ceph_rgw, bucket):
    use_cluster(empty_cluster())
    failure = fails(ctx, "create-backup", state([s3_relation(ceph_rgw, bucket)]))
    assert failure.message == "no Kubeflow profiles found: name the namespaces to back up"


@pytest.mark.parametrize(
    ("action", "params", "message"),
    [
        ("verify-backup", {"backup-id": "latest"}, "'latest' is not a backup id"),
        ("restore", {"backup-id": "20260101-000000-abcd"}, "no backup 20260101-000000-abcd in"),
        ("delete-backup", {"backup-id": "20260101-000000-abcd"}, "no backup 20260101-000000-abcd"),
    ],
)
def test_unknown_backups(ctx, kube, ceph_rgw, bucket, action, params, message):
    s3 = s3_relation(ceph_rgw, bucket)
    act(ctx, "create-backup", state([s3]), namespaces="bob")
    assert fails(ctx, action, state([s3]), **params).message.startswith(message)


def test_restore_of_a_namespace_not_in_the_backup_is_refused(ctx, kube, ceph_rgw, bucket):
    s3 = s3_relation(ceph_rgw, bucket)
    act(ctx, "create-backup", state([s3]), namespaces="bob")
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    failure = fails(ctx, "restore", state([s3]), **{"backup-id": backup_id, "namespaces": "alice"})
    assert failure.message == f"backup {backup_id} has no namespace alice"


def test_list_before_the_bucket_exists(ctx, kube, ceph_rgw, bucket):
    act(ctx, "list-backups", state([s3_relation(ceph_rgw, bucket)]))
    assert ctx.action_results == {"backups": "no backups", "count": "0"}


@pytest.mark.parametrize("action", ["create-backup", "restore", "delete-backup"])
def test_writing_actions_run_on_the_leader_only(ctx, kube, ceph_rgw, bucket, action):
    params = {} if action == "create-backup" else {"backup-id": "20260101-000000-abcd"}
    failure = fails(ctx, action, state([s3_relation(ceph_rgw, bucket)], leader=False), **params)
    assert failure.message == "run this action on the leader: juju run kubeflow-backup/leader ..."


def test_reading_actions_work_on_any_unit(ctx, kube, ceph_rgw, bucket):
    s3 = s3_relation(ceph_rgw, bucket)
    act(ctx, "create-backup", state([s3]), namespaces="bob")
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    act(ctx, "list-backups", state([s3], leader=False))
    assert ctx.action_results["count"] == "1"  # type: ignore[index]
    act(ctx, "verify-backup", state([s3], leader=False), **{"backup-id": backup_id})
    assert ctx.action_results["ok"] == "true"  # type: ignore[index]


def test_without_s3_status_and_actions_say_what_to_integrate(ctx, kube):
    out = ctx.run(ctx.on.install(), state())
    message = "integrate s3-credentials with an s3-integrator for backups"
    assert out.unit_status == testing.BlockedStatus(message)
    assert fails(ctx, "create-backup", state()).message == message
    assert fails(ctx, "list-backups", state()).message == message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"endpoint": ""}, "s3-credentials: the provider sent no endpoint (set its endpoint)"),
        ({"bucket": ""}, "s3-credentials: the provider sent no bucket (set its bucket)"),
        ({"s3-uri-style": "diagonal"}, "s3-credentials: s3-uri-style must be path or host"),
    ],
)
def test_unusable_s3_data_blocks_and_fails_actions(ctx, kube, ceph_rgw, bucket, data, message):
    data = {"bucket": bucket, **data}
    s3 = s3_relation(ceph_rgw, data.pop("bucket"), **data)
    out = ctx.run(ctx.on.relation_changed(s3), state([s3]))
    assert out.unit_status == testing.BlockedStatus(message)
    assert fails(ctx, "create-backup", state([s3])).message == message


def test_s3_relation_without_keys_waits(ctx, kube):
    s3 = testing.Relation("s3-credentials", remote_app_data={"bucket": "b"})
    out = ctx.run(ctx.on.relation_changed(s3), state([s3]))
    assert out.unit_status == testing.WaitingStatus("waiting for S3 credentials")
    assert fails(ctx, "list-backups", state([s3])).message == "waiting for S3 credentials"


@pytest.mark.parametrize("kind", ["joined", "changed", "broken"])
def test_s3_relation_events(ctx, kube, ceph_rgw, bucket, kind):
    s3 = s3_relation(ceph_rgw, bucket)
    event = relation_event(ctx, s3, kind)
    out = ctx.run(event, state([s3]))
    expected = "blocked" if kind == "broken" else "active"
    assert out.unit_status.name == expected


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"retention": -1}, "config retention: expected a whole number from 0 to 1000"),
        ({"volume-snapshot-class": "Not A Class"}, "config volume-snapshot-class: expected"),
    ],
)
def test_bad_config_blocks_and_fails_actions(ctx, kube, ceph_rgw, bucket, config, message):
    s3 = s3_relation(ceph_rgw, bucket)
    out = ctx.run(ctx.on.config_changed(), state([s3], config=config))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith(message)
    assert fails(ctx, "create-backup", state([s3], config=config)).message.startswith(message)


def test_the_leader_makes_the_key_once_and_upgrades_keep_it(ctx, kube):
    out = ctx.run(ctx.on.leader_elected(), state(secrets=()))
    [secret] = out.secrets
    out = ctx.run(ctx.on.upgrade_charm(), out)
    assert [s.tracked_content for s in out.secrets] == [secret.tracked_content]
    follower = ctx.run(ctx.on.install(), state(leader=False, secrets=()))
    assert list(follower.secrets) == []
    assert kube.writes == []


def test_status_before_any_backup(ctx, kube, ceph_rgw, bucket):
    out = ctx.run(ctx.on.update_status(), state([s3_relation(ceph_rgw, bucket)]))
    assert out.unit_status == testing.ActiveStatus("no backup yet: run create-backup")


def test_forbidden_fails_with_the_trust_command(ctx, kube, ceph_rgw, bucket):
    kube.fail(403, verb="list")
    failure = fails(ctx, "create-backup", state([s3_relation(ceph_rgw, bucket)]))
    assert failure.message == "Kubernetes: run: juju trust kubeflow-backup --scope=cluster"


def test_remove_leaves_backups_and_snapshots_alone(ctx, kube, ceph_rgw, bucket):
    s3 = s3_relation(ceph_rgw, bucket)
    act(ctx, "create-backup", state([s3]), namespaces="bob")
    kube.reset_calls()
    ctx.run(ctx.on.remove(), state([s3], planned_units=0))
    assert kube.writes == []
    assert keys(ceph_rgw, bucket, ROOT)


def test_garbage_from_the_s3_provider_does_not_break_hooks_or_actions(ctx, kube):
    s3 = testing.Relation(
        "s3-credentials",
        remote_app_data={
            "access-key": "{",
            "secret-key": "[",
            "tls-ca-chain": "{[",
            "endpoint": "x",
        },
    )
    out = ctx.run(ctx.on.relation_changed(s3), state([s3]))
    assert out.unit_status.name == "blocked"
    assert fails(ctx, "list-backups", state([s3])).message.startswith("s3-credentials: ")


def test_a_damaged_key_secret_fails_backups_of_secrets_but_no_hook(ctx, kube, ceph_rgw, bucket):
    damaged = testing.Secret({"other": "x"}, label="backup-encryption-key", owner="app")
    s3 = s3_relation(ceph_rgw, bucket)
    out = ctx.run(ctx.on.config_changed(), state([s3], secrets={damaged}))
    assert out.unit_status.name == "active"
    failure = fails(
        ctx, "create-backup", state([s3], secrets={damaged}), **{"include-secrets": True}
    )
    assert failure.message == "the Juju secret backup-encryption-key has no field key"


def test_an_endpoint_the_client_refuses_fails_the_action(ctx, kube, ceph_rgw, bucket):
    s3 = s3_relation(ceph_rgw, bucket, endpoint=f"{ceph_rgw.endpoint}/s3")
    failure = fails(ctx, "list-backups", state([s3]))
    assert failure.message == "the S3 endpoint must be scheme://host[:port], nothing more"
