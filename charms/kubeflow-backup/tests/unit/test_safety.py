"""Scenario tests against the real RGW: tampered backups, two writers, failed retention."""

import datetime
import json
import re

import pytest

import backup
import cluster
import jobs
import lease
import manifest_text
from conftest import MODEL, empty_cluster, s3_relation
from dsplib.kubernetes import KubernetesObjects
from dsplib.s3 import S3Client, S3Error
from dsplib.testing import FakeKubernetes
from test_charm import ROOT, act, fails, keys, state

OWNER = f"kubeflow-backup/0 in model kubeflow ({MODEL.uuid[:8]})"
OTHER = "kubeflow-backup/0 in model staging (5f3a9c1e)"


def in_cluster(fake: FakeKubernetes) -> cluster.Cluster:
    """The operations' view of a fake cluster, for a writer outside this charm."""
    return cluster.Cluster(KubernetesObjects("kubeflow-backup", "staging", client=fake))  # type: ignore[arg-type]


def s3(rgw) -> S3Client:
    return S3Client(rgw.endpoint, rgw.access_key, rgw.secret_key)


def edit_manifest(rgw, bucket: str, backup_id: str, change) -> None:
    key = f"{ROOT}{backup_id}/manifest.json"
    with s3(rgw) as client:
        data = manifest_text.as_dict(client.get_object(bucket, key))
        change(data)
        client.put_object(bucket, key, manifest_text.as_bytes(data))


def entry_of(data: dict, kind: str, name: str) -> dict:
    return next(e for e in data["objects"] if e["kind"] == kind and e["name"] == name)


# -- tampering --------------------------------------------------------------------------------


def test_an_edited_manifest_fails_verify_and_restore_refuses(
    ctx, kube, use_cluster, ceph_rgw, bucket
):
    """One entry's namespace changed, valid JSON: restore used to skip that object silently."""
    rel = s3_relation(ceph_rgw, bucket)
    act(ctx, "create-backup", state([rel]))
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    edit_manifest(
        ceph_rgw,
        bucket,
        backup_id,
        lambda d: entry_of(d, "ConfigMap", "settings").update(namespace="bob"),
    )
    failure = fails(ctx, "verify-backup", state([rel]), **{"backup-id": backup_id})
    assert failure.message == (
        f"the manifest of backup {backup_id} does not match its signature: it was changed "
        f"after the backup was written; backup {backup_id} is damaged: ConfigMap bob/settings "
        "(the object holds v1 ConfigMap alice/settings at "
        "objects/alice/configmap.core/settings.json)"
    )
    assert ctx.action_results["ok"] == "false"  # type: ignore[index]
    assert ctx.action_results["signature"] == "bad signature"  # type: ignore[index]

    act(ctx, "list-backups", state([rel]), format="json")
    [row] = json.loads(ctx.action_results["backups"])  # type: ignore[index]
    assert row["state"] == "bad signature"

    target = use_cluster(empty_cluster())
    for params in ({}, {"namespaces": "bob"}, {"dry-run": True}):
        failure = fails(ctx, "restore", state([rel]), **{"backup-id": backup_id, **params})
        assert failure.message == (
            f"the manifest of backup {backup_id} does not match its signature: it was changed "
            "after the backup was written; nothing restored"
        )
    assert target.writes == []


def test_a_manifest_copied_from_another_backup_is_refused(ctx, kube, ceph_rgw, bucket):
    rel = s3_relation(ceph_rgw, bucket)
    act(ctx, "create-backup", state([rel]), namespaces="alice")
    first = ctx.action_results["backup-id"]  # type: ignore[index]
    act(ctx, "create-backup", state([rel]), namespaces="bob")
    second = ctx.action_results["backup-id"]  # type: ignore[index]
    with s3(ceph_rgw) as client:
        manifest = client.get_object(bucket, f"{ROOT}{first}/manifest.json")
        client.put_object(bucket, f"{ROOT}{second}/manifest.json", manifest)
    failure = fails(ctx, "verify-backup", state([rel]), **{"backup-id": second})
    assert failure.message == (
        f"backup {second}: its manifest is that of backup {first} (copied from another backup)"
    )
    failure = fails(ctx, "restore", state([rel]), **{"backup-id": second})
    assert failure.message.endswith("(copied from another backup)")
    # with the id edited too, the signature (which binds the id) fails
    edit_manifest(ceph_rgw, bucket, second, lambda d: d.update(id=second))
    failure = fails(ctx, "verify-backup", state([rel]), **{"backup-id": second})
    assert failure.message.startswith(f"the manifest of backup {second} does not match")


def test_added_renamed_and_deleted_objects_fail_verify_and_restore(
    ctx, kube, use_cluster, ceph_rgw, bucket
):
    rel = s3_relation(ceph_rgw, bucket)
    act(ctx, "create-backup", state([rel]))
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    prefix = f"{ROOT}{backup_id}/objects/"
    with s3(ceph_rgw) as client:
        notebook = client.get_object(bucket, f"{prefix}alice/notebook.kubeflow.org/lab.json")
        client.put_object(bucket, f"{prefix}alice/notebook.kubeflow.org/miner.json", notebook)
        settings = f"{prefix}alice/configmap.core/settings.json"
        client.put_object(
            bucket,
            f"{prefix}alice/configmap.core/renamed.json",
            client.get_object(bucket, settings),
        )
        client.delete_object(bucket, settings)
    failure = fails(ctx, "verify-backup", state([rel]), **{"backup-id": backup_id})
    assert failure.message == (
        f"backup {backup_id} is damaged: ConfigMap alice/settings (missing), "
        "objects/alice/configmap.core/renamed.json (not in the manifest), "
        "objects/alice/notebook.kubeflow.org/miner.json (not in the manifest)"
    )
    target = use_cluster(empty_cluster())
    failure = fails(ctx, "restore", state([rel]), **{"backup-id": backup_id, "namespaces": "bob"})
    assert failure.message.startswith(f"backup {backup_id} is damaged, nothing restored: ")
    assert "miner.json (not in the manifest)" in failure.message
    assert target.writes == []


def unsign(data: dict) -> None:
    """What a manifest written before signing looked like."""
    del data["hmac-sha256"], data["signed-by"]
    data["format"] = 1


def test_backups_written_before_signing_are_listed_as_unsigned_and_restored_on_request(
    ctx, kube, use_cluster, ceph_rgw, bucket
):
    rel = s3_relation(ceph_rgw, bucket)
    act(ctx, "create-backup", state([rel]), namespaces="bob")
    old = ctx.action_results["backup-id"]  # type: ignore[index]
    edit_manifest(ceph_rgw, bucket, old, unsign)

    act(ctx, "list-backups", state([rel]), format="json")
    [row] = json.loads(ctx.action_results["backups"])  # type: ignore[index]
    assert row["state"] == "unsigned"

    failure = fails(ctx, "verify-backup", state([rel]), **{"backup-id": old})
    assert failure.message == (
        f"backup {old} was written before kubeflow-backup signed its manifests, so a change "
        "to its manifest cannot be detected"
    )
    assert ctx.action_results["objects-checked"] == "4"  # type: ignore[index]
    assert ctx.action_results["signature"] == "unsigned"  # type: ignore[index]

    target = use_cluster(empty_cluster())
    failure = fails(ctx, "restore", state([rel]), **{"backup-id": old})
    assert failure.message.endswith(
        "; nothing restored: run verify-backup, then restore with allow-unsigned=true"
    )
    assert target.writes == []
    act(ctx, "restore", state([rel]), **{"backup-id": old, "allow-unsigned": True})
    assert ctx.action_results["created"] == "4"  # type: ignore[index]

    # an unsigned manifest is still checked against its objects
    edit_manifest(
        ceph_rgw,
        bucket,
        old,
        lambda d: entry_of(d, "Notebook", "bob-nb").update(namespace="alice"),
    )
    failure = fails(ctx, "restore", state([rel]), **{"backup-id": old, "allow-unsigned": True})
    assert "Notebook alice/bob-nb (the object holds kubeflow.org/v1 Notebook bob/bob-nb" in (
        failure.message
    )

    # retention: the unsigned one goes once enough signed backups are newer than it
    st = state([rel], config={"retention": 1})
    act(ctx, "create-backup", st, namespaces="bob")
    assert ctx.action_results["deleted-by-retention"] == old  # type: ignore[index]


def test_a_backup_signed_with_another_key_names_the_fix(ctx, kube, use_cluster, ceph_rgw, bucket):
    rel = s3_relation(ceph_rgw, bucket)
    act(ctx, "create-backup", state([rel]), namespaces="bob")
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    other_deployment = ctx.run(ctx.on.install(), state([rel], secrets=()))
    failure = fails(ctx, "verify-backup", other_deployment, **{"backup-id": backup_id})
    assert re.fullmatch(
        f"the manifest of backup {backup_id} is signed with key [0-9a-f]{{16}}, not this "
        "application's key [0-9a-f]{16}: set encryption-key-secret to the key it was made with",
        failure.message,
    )
    act(ctx, "list-backups", other_deployment, format="json")
    [row] = json.loads(ctx.action_results["backups"])  # type: ignore[index]
    assert row["state"] == "signed with another key"
    failure = fails(ctx, "restore", other_deployment, **{"backup-id": backup_id})
    assert failure.message.endswith(
        "; nothing restored (if that key is lost: run verify-backup, then restore with "
        "allow-unsigned=true)"
    )
    # the key is lost: the operator restores anyway, every entry checked against its object
    target = use_cluster(empty_cluster())
    act(ctx, "restore", other_deployment, **{"backup-id": backup_id, "allow-unsigned": True})
    assert ctx.action_results["created"] == "4"  # type: ignore[index]
    assert target.find("Notebook", "bob-nb", "bob") is not None
    # a signature that fails with our own key is never taken
    edit_manifest(ceph_rgw, bucket, backup_id, lambda d: d.update(description="x"))
    failure = fails(
        ctx, "restore", state([rel]), **{"backup-id": backup_id, "allow-unsigned": True}
    )
    assert "does not match its signature" in failure.message


def test_without_a_key_listing_still_works_and_says_signatures_are_unchecked(
    ctx, kube, ceph_rgw, bucket
):
    rel = s3_relation(ceph_rgw, bucket)
    act(ctx, "create-backup", state([rel]), namespaces="bob")
    config = {"encryption-key-secret": "secret:d0a6jc7mp25c7bqbe3mg"}  # not granted
    act(ctx, "list-backups", state([rel], config=config, leader=False), format="json")
    results = ctx.action_results
    assert results is not None
    assert json.loads(results["backups"])[0]["state"] == "signature not checked"
    assert results["signatures"].startswith(
        "not checked: config encryption-key-secret: cannot read the secret"
    )
    failure = fails(
        ctx,
        "verify-backup",
        state([rel], config=config, leader=False),
        **{"backup-id": json.loads(results["backups"])[0]["id"]},
    )
    assert failure.message.startswith("config encryption-key-secret: cannot read the secret")


# -- two writers ------------------------------------------------------------------------------


def other_writer(rgw, bucket: str, clock=lease.utc_now, owner: str = OTHER) -> lease.Lease:
    client = s3(rgw)
    client.create_bucket(bucket)
    store = backup.Store(client, bucket, "platform")
    return lease.Lease(store, owner, backup.new_id(clock()), clock)


def test_a_second_create_backup_is_refused_and_leaves_the_first_one_intact(
    ctx, kube, ceph_rgw, bucket, monkeypatch
):
    """The second writer used to delete the first one's upload as "interrupted"."""
    rel = s3_relation(ceph_rgw, bucket)
    real_put = S3Client.put_object
    second: list[BaseException] = []

    def put(self, bucket_name, key, data, content_type="application/octet-stream"):
        result = real_put(self, bucket_name, key, data, content_type)
        if "/objects/" in key and not second:  # the first writer is uploading
            store = backup.Store(
                s3(ceph_rgw), bucket, "platform", backup.Cipher(b"x" * 32).signer()
            )
            request = jobs.BackupRequest(namespaces=("bob",), owner=OTHER)
            with pytest.raises(lease.LeaseHeld) as info:
                jobs.create_backup(
                    store, in_cluster(kube), request, None, lambda _: None, lease.utc_now()
                )
            second.append(info.value)
        return result

    monkeypatch.setattr(S3Client, "put_object", put)
    out = act(ctx, "create-backup", state([rel]))
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    assert re.fullmatch(
        "another create-backup is writing to this bucket and path: "
        f"{re.escape(OWNER)} \\(backup {backup_id}\\) until "
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC holds the lease; run create-backup again once it "
        "has finished or its lease has expired",
        str(second[0]),
    )
    monkeypatch.setattr(S3Client, "put_object", real_put)
    act(ctx, "verify-backup", out, **{"backup-id": backup_id})
    assert ctx.action_results["ok"] == "true"  # type: ignore[index]
    assert keys(ceph_rgw, bucket, f"{ROOT}leases/") == []  # released


def test_a_live_lease_of_another_deployment_refuses_create_and_delete(ctx, kube, ceph_rgw, bucket):
    rel = s3_relation(ceph_rgw, bucket)
    writer = other_writer(ceph_rgw, bucket)
    writer.acquire()
    writer.store.put(writer.backup_id, "objects/x/configmap.core/a.json", b"{}")
    before = keys(ceph_rgw, bucket, ROOT)

    failure = fails(ctx, "create-backup", state([rel]))
    assert failure.message.startswith(
        "another create-backup is writing to this bucket and path: "
        f"{OTHER} (backup {writer.backup_id}) until "
    )
    assert failure.message.endswith(
        "holds the lease; run create-backup again once it has finished or its lease has expired"
    )
    failure = fails(ctx, "delete-backup", state([rel]), **{"backup-id": writer.backup_id})
    assert failure.message.startswith(f"backup {writer.backup_id} is being written: {OTHER}")
    act(ctx, "list-backups", state([rel]))
    assert ctx.action_results["in-progress"].startswith(f"{OTHER} (backup {writer.backup_id})")  # type: ignore[index]
    assert "incomplete" not in ctx.action_results  # type: ignore[operator]
    assert keys(ceph_rgw, bucket, ROOT) == before  # nothing touched
    writer.check()


def test_an_expired_lease_is_taken_over_and_its_upload_cleaned_up(ctx, kube, ceph_rgw, bucket):
    rel = s3_relation(ceph_rgw, bucket)
    long_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    writer = other_writer(ceph_rgw, bucket, clock=lambda: long_ago)
    writer.acquire()
    writer.store.put(writer.backup_id, "objects/x/configmap.core/a.json", b"{}")

    act(ctx, "create-backup", state([rel]), namespaces="bob")
    results = ctx.action_results
    assert results is not None
    assert results["cleaned-up"] == writer.backup_id
    assert any(line.startswith(f"took over the lease of {OTHER}") for line in ctx.action_logs)
    assert keys(ceph_rgw, bucket, f"{ROOT}{writer.backup_id}/") == []
    with pytest.raises(lease.LeaseLost):
        writer.check()


def test_a_claim_left_by_a_killed_run_of_this_unit_does_not_block_it(ctx, kube, ceph_rgw, bucket):
    rel = s3_relation(ceph_rgw, bucket)
    other_writer(ceph_rgw, bucket, owner=OWNER).acquire()  # live, but ours: Juju ran nothing else
    act(ctx, "create-backup", state([rel]), namespaces="bob")
    assert any(line.startswith(f"took over the lease of {OWNER}") for line in ctx.action_logs)


def take_over(rgw, bucket: str, fake: FakeKubernetes) -> lease.Lease:
    """What another writer does once our lease looks expired to it: claim and clean up."""
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=lease.TTL_SECONDS + 5
    )
    taker = other_writer(rgw, bucket, clock=lambda: later)
    taker.acquire()
    jobs.clean_incomplete(taker.store, in_cluster(fake), lambda _: None)
    return taker


def test_a_writer_that_lost_its_lease_fails_and_does_not_report_success(
    ctx, kube, ceph_rgw, bucket, monkeypatch
):
    rel = s3_relation(ceph_rgw, bucket)
    monkeypatch.setattr(lease, "RENEW_SECONDS", 0)
    real_put = S3Client.put_object
    uploaded: list[str] = []
    takers: list[lease.Lease] = []

    def put(self, bucket_name, key, data, content_type="application/octet-stream"):
        result = real_put(self, bucket_name, key, data, content_type)
        if "/objects/" in key:
            uploaded.append(key)
            if len(uploaded) == 3:  # we stalled for longer than the lease here
                takers.append(take_over(ceph_rgw, bucket, kube))
        return result

    monkeypatch.setattr(S3Client, "put_object", put)
    failure = fails(ctx, "create-backup", state([rel]))
    backup_id = uploaded[0].split("/")[2]
    assert failure.message.startswith(
        f"lost the backup lease to {OTHER} (backup {takers[0].backup_id}) until "
    )
    assert f"backup {backup_id} was not completed" in failure.message
    assert "backup-id" not in (ctx.action_results or {})
    status = failure.state.unit_status  # type: ignore[union-attr]
    assert status.name == "blocked"
    assert "failed: lost the backup lease" in status.message
    assert f"{ROOT}{backup_id}/manifest.json" not in keys(ceph_rgw, bucket, ROOT)
    takers[0].check()  # the new holder keeps its lease


def test_a_lease_lost_as_the_manifest_is_written_withdraws_it(
    ctx, kube, ceph_rgw, bucket, monkeypatch
):
    rel = s3_relation(ceph_rgw, bucket)

    real_put = S3Client.put_object_stream  # the manifest streams in one PUT

    def put(self, bucket_name, key, *args, **kwargs):
        result = real_put(self, bucket_name, key, *args, **kwargs)
        if key.endswith("/manifest.json"):
            take_over(ceph_rgw, bucket, kube)
        return result

    monkeypatch.setattr(S3Client, "put_object_stream", put)
    failure = fails(ctx, "create-backup", state([rel]), namespaces="bob")
    assert failure.message.startswith(f"lost the backup lease to {OTHER}")
    manifests = [k for k in keys(ceph_rgw, bucket, ROOT) if k.endswith("manifest.json")]
    assert manifests == []


# -- retention --------------------------------------------------------------------------------


def test_a_failed_retention_reports_the_new_backup_and_why_cleanup_failed(
    ctx, kube, ceph_rgw, bucket, monkeypatch
):
    rel = s3_relation(ceph_rgw, bucket)
    st = state([rel], config={"retention": 1, "volume-snapshot-class": "ceph-rbd-snapshots"})
    act(ctx, "create-backup", st, namespaces="alice", **{"volume-snapshots": True})
    old = ctx.action_results["backup-id"]  # type: ignore[index]

    def refuse(self, bucket_name, object_keys):
        raise S3Error(f"S3 request for '{bucket_name}' failed: HTTP 503 SlowDown", "SlowDown", 503)

    real_delete = S3Client.delete_objects
    monkeypatch.setattr(S3Client, "delete_objects", refuse)
    out = act(ctx, "create-backup", st, namespaces="alice", **{"volume-snapshots": True})
    results = ctx.action_results
    assert results is not None
    new = results["backup-id"]
    assert new != old
    assert results["deleted-by-retention"] == "none"
    assert results["cleanup-failed"] == (
        f"{old}: S3 request for '{bucket}' failed: HTTP 503 SlowDown"
    )
    assert any(
        line.startswith(f"retention: could not delete backup {old}") for line in ctx.action_logs
    )
    assert out.unit_status.name == "active"
    assert out.unit_status.message.endswith(
        f": {new}, 9 objects; cleanup failed for 1 old backups"
    )

    # a Kubernetes failure (the snapshots) is reported the same way
    monkeypatch.setattr(S3Client, "delete_objects", real_delete)
    kube.fail(403, verb="delete", kind="VolumeSnapshot")
    act(ctx, "create-backup", st, namespaces="bob")
    results = ctx.action_results
    assert results is not None
    assert results["cleanup-failed"] == "\n".join(
        f"{b}: Kubernetes: run: juju trust kubeflow-backup --scope=cluster" for b in (old, new)
    )


def test_cleanup_leaves_a_backup_being_written_alone(kube, ceph_rgw, bucket):
    writer = other_writer(ceph_rgw, bucket)
    writer.acquire()
    writer.store.put(writer.backup_id, "objects/x/configmap.core/a.json", b"{}")
    abandoned = "20200101-000000-dead"
    writer.store.put(abandoned, "objects/x/configmap.core/a.json", b"{}")
    lines: list[str] = []
    cleaned, failed = jobs.clean_incomplete(writer.store, in_cluster(kube), lines.append)
    assert (cleaned, failed) == ([abandoned], [])
    assert lines[0].startswith(f"deleted incomplete backup {abandoned} (1 keys, 0 snapshots)")
    assert re.fullmatch(
        f"left backup {writer.backup_id} alone: {re.escape(OTHER)} \\(backup {writer.backup_id}"
        r"\) until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC is writing it",
        lines[1],
    )
    assert keys(ceph_rgw, bucket, f"{ROOT}{writer.backup_id}/")
    assert keys(ceph_rgw, bucket, f"{ROOT}{abandoned}/") == []


def test_retention_that_cannot_even_list_reports_it(kube, ceph_rgw, bucket, monkeypatch):
    store = other_writer(ceph_rgw, bucket).store

    def unlisted(*_):
        raise S3Error(f"S3 request for '{bucket}' failed: HTTP 500 InternalError", "x", 500)

    monkeypatch.setattr(store, "summaries", unlisted)
    lines: list[str] = []
    assert jobs.apply_retention(store, in_cluster(kube), 1, lines.append) == (
        [],
        [f"listing the backups: S3 request for '{bucket}' failed: HTTP 500 InternalError"],
    )
    assert lines == [
        f"retention: could not list the backups: S3 request for '{bucket}' failed: HTTP 500 "
        "InternalError"
    ]


def test_a_lost_key_restore_still_needs_the_key_of_the_secrets(
    ctx, kube, use_cluster, ceph_rgw, bucket
):
    rel = s3_relation(ceph_rgw, bucket)
    act(ctx, "create-backup", state([rel]), **{"include-secrets": True})
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]
    other_deployment = ctx.run(ctx.on.install(), state([rel], secrets=()))
    target = use_cluster(empty_cluster())
    failure = fails(
        ctx, "restore", other_deployment, **{"backup-id": backup_id, "allow-unsigned": True}
    )
    assert "holds Secrets encrypted with key" in failure.message
    assert target.writes == []


def test_an_unsigned_entry_that_misnames_a_secret_is_refused(
    ctx, kube, use_cluster, ceph_rgw, bucket
):
    """Secrets are checked against their entry after decryption (their bytes are opaque)."""
    rel = s3_relation(ceph_rgw, bucket)
    act(ctx, "create-backup", state([rel]), **{"include-secrets": True, "namespaces": "alice"})
    backup_id = ctx.action_results["backup-id"]  # type: ignore[index]

    def misname(data: dict) -> None:
        unsign(data)
        entry_of(data, "Secret", "db-password").update(name="api-token")

    edit_manifest(ceph_rgw, bucket, backup_id, misname)
    target = use_cluster(empty_cluster())
    failure = fails(
        ctx, "restore", state([rel]), **{"backup-id": backup_id, "allow-unsigned": True}
    )
    assert failure.message == (
        "backup damaged, nothing restored: Secret alice/api-token (the object holds v1 Secret "
        "alice/db-password at objects/alice/secret.core/db-password.json.enc)"
    )
    assert target.writes == []
