#!/usr/bin/env python3
# Copyright 2026 The Data Science Platform authors
# See LICENSE file for licensing details.
"""Charm with backup and restore actions for the platform's user state, stored in Ceph RGW.

It has no workload container and keeps no Kubernetes objects of its own: its work is done by
the actions create-backup, list-backups, verify-backup, restore and delete-backup, which read
and write users' objects through the Kubernetes API and the backups through the `s3` relation.
The one thing it reconciles is the key that encrypts Secrets, kept in a Juju secret. Status is
computed on every hook from config, the relation and the outcome of the last backup.
"""

from __future__ import annotations

import base64
import datetime
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ops
from object_storage import S3Requirer

import backup
import cluster as k8s
import jobs
import lease
from dsplib import validation
from dsplib.kubernetes import KubernetesError
from dsplib.manifests import KubernetesManifests
from dsplib.proxy import ProxySettings
from dsplib.s3_credentials import InvalidS3Data, S3Connection

if TYPE_CHECKING:
    from dsplib.s3 import S3Client

logger = logging.getLogger(__name__)

S3_RELATION = "s3-credentials"
KEY_LABEL = "backup-encryption-key"
S3_TIMEOUT = 30.0
MAX_LISTED_FAILURES = 20
CREATE_KEY, READ_KEY, OPTIONAL_KEY = "create", "read", "optional"
SIGNATURE_RESULT = {backup.SIGNED: "valid"}


@dataclass
class Inputs:
    """What config and the relation say, and what is wrong with them."""

    settings: jobs.Settings | None = None
    s3: S3Connection | None = None
    problems: list[ops.StatusBase] = field(default_factory=list)


class KubeflowBackupCharm(ops.CharmBase):
    """Backs up and restores Kubeflow profiles and users' objects to S3."""

    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self._stored.set_default(last_backup="")
        self._key_problem = ""
        self.k8s = KubernetesManifests(self)
        self.s3 = S3Requirer(self, S3_RELATION)
        for event in (
            self.on.install,
            self.on.leader_elected,
            self.on.upgrade_charm,
            self.on.config_changed,
        ):
            framework.observe(event, self._reconcile)
        framework.observe(self.on.create_backup_action, self._on_create_backup)
        framework.observe(self.on.list_backups_action, self._on_list_backups)
        framework.observe(self.on.verify_backup_action, self._on_verify_backup)
        framework.observe(self.on.restore_action, self._on_restore)
        framework.observe(self.on.delete_backup_action, self._on_delete_backup)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    # -- inputs and the encryption key -------------------------------------------------------

    def _inputs(self) -> Inputs:
        """Config and relation data, checked (reads only, so collect-status can call it)."""
        inputs = Inputs()
        try:
            inputs.settings = jobs.Settings.from_config(self.config)
        except validation.InvalidConfig as err:
            inputs.problems.append(ops.BlockedStatus(str(err)))
        if proxy_problem := ProxySettings.from_juju().problem:
            inputs.problems.append(ops.BlockedStatus(proxy_problem))
        if self.model.get_relation(S3_RELATION) is None:
            inputs.problems.append(
                ops.BlockedStatus(f"integrate {S3_RELATION} with an s3-integrator for backups")
            )
            return inputs
        try:
            inputs.s3 = S3Connection.from_info(self.s3.get_storage_connection_info())
        except InvalidS3Data as err:
            inputs.problems.append(ops.BlockedStatus(str(err)))
            return inputs
        if inputs.s3 is None:
            inputs.problems.append(ops.WaitingStatus("waiting for S3 credentials"))
        return inputs

    def _reconcile(self, _: ops.EventBase) -> None:
        """Make sure the leader has an encryption key before the first backup needs it."""
        inputs = self._inputs()
        if self.unit.is_leader() and inputs.settings and not inputs.settings.key_secret:
            try:
                self._own_cipher(create=True)
            except backup.BackupError as err:
                logger.error("the backup encryption key is unusable: %s", err)

    def _cipher(self, settings: jobs.Settings, *, create: bool) -> backup.Cipher | None:
        """The key for Secrets: the operator's secret if configured, else the charm's own."""
        if not settings.key_secret:
            return self._own_cipher(create=create)
        try:
            content = self.model.get_secret(id=settings.key_secret).get_content(refresh=True)
        except (ops.SecretNotFoundError, ops.ModelError) as err:
            raise backup.BackupError(
                "config encryption-key-secret: cannot read the secret; grant it with "
                f"'juju grant-secret <name> {self.app.name}'"
            ) from err
        if "key" not in content:
            raise backup.BackupError("config encryption-key-secret: the secret has no field key")
        return backup.Cipher.from_text(content["key"])

    def _own_cipher(self, *, create: bool) -> backup.Cipher | None:
        try:
            content = self.model.get_secret(label=KEY_LABEL).get_content(refresh=True)
        except ops.SecretNotFoundError:
            if not create or not self.unit.is_leader():
                return None
        else:
            if "key" not in content:
                raise backup.BackupError(f"the Juju secret {KEY_LABEL} has no field key")
            return backup.Cipher.from_text(content["key"])
        key = base64.b64encode(backup.Cipher.generate_key()).decode()
        self.app.add_secret(
            {"key": key},
            label=KEY_LABEL,
            description="key that encrypts Kubernetes Secrets in kubeflow backups",
        )
        logger.info("created the backup encryption key (Juju secret %s)", KEY_LABEL)
        return backup.Cipher.from_text(key)

    # -- actions -----------------------------------------------------------------------------

    def _on_create_backup(self, event: ops.ActionEvent) -> None:
        params = event.params
        started = datetime.datetime.now(datetime.timezone.utc)

        def work(store: backup.Store, cluster: k8s.Cluster, settings: jobs.Settings) -> None:
            request = jobs.BackupRequest(
                namespaces=jobs.parse_namespaces(params.get("namespaces", "")),
                include_secrets=bool(params.get("include-secrets")),
                volume_snapshots=bool(params.get("volume-snapshots")),
                description=str(params.get("description", "")),
                snapshot_class=settings.snapshot_class,
                retention=settings.retention,
                app=self.app.name,
                owner=self._lease_owner(),
            )
            cipher = self._cipher(settings, create=True) if request.include_secrets else None
            result = jobs.create_backup(store, cluster, request, cipher, event.log, started)
            manifest = result.manifest
            results = {
                "backup-id": manifest.id,
                "namespaces": ",".join(manifest.namespaces),
                "objects": str(manifest.objects),
                "size": backup.human_bytes(manifest.size),
                "volume-snapshots": str(len(manifest.snapshots)),
                "skipped-kinds": ",".join(manifest.skipped_kinds) or "none",
                "cleaned-up": ",".join(result.cleaned_up) or "none",
                "deleted-by-retention": ",".join(result.expired) or "none",
            }
            what = f"{manifest.objects} objects"
            if result.cleanup_failed:
                results["cleanup-failed"] = "\n".join(result.cleanup_failed)
                what += f"; cleanup failed for {len(result.cleanup_failed)} old backups"
            event.set_results(results)
            self._remember_backup(started, manifest.id, what, True)

        failure = self._run(event, work, leader=True, key=CREATE_KEY)
        if failure is not None:
            self._remember_backup(started, "", failure, False)

    def _on_list_backups(self, event: ops.ActionEvent) -> None:
        def work(store: backup.Store, _: k8s.Cluster, __: jobs.Settings) -> None:
            from dsplib.s3 import S3NotFound

            live: dict[str, lease.Claim] = {}
            try:
                rows, incomplete = store.summaries()
            except S3NotFound:
                rows, incomplete = [], []
            else:
                live = lease.live_backup_ids(store)
            if event.params.get("format") == "json":
                listing = json.dumps([r.to_dict() for r in rows], indent=1)
            else:
                listing = backup.table(rows) if rows else "no backups"
            results = {"backups": listing, "count": str(len(rows))}
            interrupted = [i for i in incomplete if i not in live]
            if interrupted:
                results["incomplete"] = (
                    f"{len(interrupted)} interrupted backups, deleted by the next create-backup"
                )
            if live:
                results["in-progress"] = "\n".join(str(c) for c in live.values())
            if store.signer is None:
                results["signatures"] = "not checked: " + (
                    self._key_problem or "this application has no backup key yet"
                )
            event.set_results(results)

        self._run(event, work, key=OPTIONAL_KEY)

    def _on_verify_backup(self, event: ops.ActionEvent) -> None:
        def work(store: backup.Store, cluster: k8s.Cluster, _: jobs.Settings) -> None:
            backup_id = str(event.params["backup-id"])
            manifest, check, snapshots = jobs.verify_backup(store, cluster, backup_id, event.log)
            untrusted = manifest.seal_problem(store.signer)
            event.set_results(
                {
                    "backup-id": manifest.id,
                    "objects-checked": str(check.checked),
                    "ok": str(check.ok and untrusted is None).lower(),
                    "signature": SIGNATURE_RESULT.get(manifest.seal, manifest.seal),
                    "volume-snapshots": ", ".join(f"{v} {k}" for k, v in snapshots.items()),
                }
            )
            problems = [untrusted] if untrusted else []
            if not check.ok:
                problems.append(f"backup {manifest.id} is damaged: {check.problems()}")
            if problems:
                raise backup.BackupError("; ".join(problems))

        self._run(event, work)

    def _on_restore(self, event: ops.ActionEvent) -> None:
        def work(store: backup.Store, cluster: k8s.Cluster, settings: jobs.Settings) -> None:
            params = event.params
            options = k8s.RestoreOptions(
                overwrite=bool(params.get("overwrite")), dry_run=bool(params.get("dry-run"))
            )
            report = jobs.restore_backup(
                store,
                cluster,
                str(params["backup-id"]),
                jobs.parse_namespaces(params.get("namespaces", "")),
                options,
                self._cipher(settings, create=False),
                event.log,
                allow_unsigned=bool(params.get("allow-unsigned")),
            )
            event.set_results(_restore_results(report))
            if report.failed:
                raise backup.BackupError(
                    f"{report.failed} objects were not restored (see failures)"
                )

        self._run(event, work, leader=True)

    def _on_delete_backup(self, event: ops.ActionEvent) -> None:
        def work(store: backup.Store, cluster: k8s.Cluster, _: jobs.Settings) -> None:
            keys, snapshots = jobs.delete_backup(store, cluster, str(event.params["backup-id"]))
            event.set_results(
                {"deleted-keys": str(keys), "deleted-volume-snapshots": str(snapshots)}
            )

        self._run(event, work, leader=True)

    def _run(
        self,
        event: ops.ActionEvent,
        work: Callable[[backup.Store, k8s.Cluster, jobs.Settings], None],
        *,
        leader: bool = False,
        key: str = READ_KEY,
    ) -> str | None:
        """Run an action's work with the bucket and the cluster; the failure, None if it worked.

        A failure fails the action with a message that says what is wrong and how to fix it.
        `key` says how the store gets the key that signs and checks manifests: CREATE_KEY
        makes the charm's own key if missing, READ_KEY fails when the configured key cannot be
        read, OPTIONAL_KEY goes on without one (manifests are then not checked).
        """
        ready = self._ready(leader)
        if isinstance(ready, str):
            message: str | None = ready
        else:
            connection, settings = ready

            def with_store() -> None:
                signer = self._signer(settings, key)
                with _client(connection) as client:
                    store = backup.Store(
                        client, connection.bucket, connection.path, signer, settings.transfers
                    )
                    work(store, k8s.Cluster(self.k8s.engine), settings)

            message = _failure_message(with_store)
        if message is not None:
            logger.error("%s failed: %s", event.handle.kind.removesuffix("_action"), message)
            event.fail(message)
        return message

    def _signer(self, settings: jobs.Settings, key: str) -> backup.Signer | None:
        """The manifest signer, derived from the key that also encrypts Secrets.

        Non-leader units read the application's own key by its label too, so reading actions
        work on any unit (Juju 3.1+: juju/juju pull requests 14952 and 16997).
        """
        self._key_problem = ""
        try:
            cipher = self._cipher(settings, create=key == CREATE_KEY)
        except backup.BackupError as err:
            if key != OPTIONAL_KEY:
                raise
            self._key_problem = str(err)
            return None
        return cipher.signer() if cipher else None

    def _lease_owner(self) -> str:
        """Who holds the backup lease: unique per unit of every deployment."""
        return f"{self.unit.name} in model {self.model.name} ({self.model.uuid[:8]})"

    def _ready(self, leader: bool) -> tuple[S3Connection, jobs.Settings] | str:
        """The connection and settings an action needs, or why it cannot start."""
        if leader and not self.unit.is_leader():
            return f"run this action on the leader: juju run {self.app.name}/leader ..."
        inputs = self._inputs()
        if inputs.problems or inputs.s3 is None or inputs.settings is None:
            return inputs.problems[0].message if inputs.problems else "not ready"
        return inputs.s3, inputs.settings

    # -- status ------------------------------------------------------------------------------

    def _remember_backup(
        self, when: datetime.datetime, backup_id: str, what: str, ok: bool
    ) -> None:
        record = {"time": f"{when:%Y-%m-%d %H:%M} UTC", "id": backup_id, "what": what, "ok": ok}
        self._stored.last_backup = json.dumps(record)

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        for status in self._inputs().problems:
            event.add_status(status)
        event.add_status(self._last_backup_status())

    def _last_backup_status(self) -> ops.StatusBase:
        try:
            record = json.loads(self._stored.last_backup or "{}")
        except ValueError:
            record = {}
        if not record:
            return ops.ActiveStatus("no backup yet: run create-backup")
        if record.get("ok"):
            return ops.ActiveStatus(
                f"last backup {record['time']}: {record['id']}, {record['what']}"
            )
        reason = str(record.get("what", ""))
        if len(reason) > 120:
            reason = reason[:117] + "..."
        return ops.BlockedStatus(
            f"last backup {record.get('time')} failed: {reason}; fix it and run create-backup"
        )


def _client(connection: S3Connection) -> S3Client:
    return connection.client(timeout=S3_TIMEOUT)


def _failure_message(work: Callable[[], None]) -> str | None:
    """Run `work`; None when it succeeded, else what went wrong in the operator's words."""
    from dsplib.s3 import S3AuthError, S3Error, S3TLSError

    try:
        work()
    except backup.BackupError as err:
        return str(err)
    except S3AuthError as err:
        return f"{err}: fix the keys given to s3-integrator"
    except S3TLSError as err:
        return f"{err}: set s3-integrator's tls-ca-chain to the gateway's CA"
    except S3Error as err:
        return str(err)
    except KubernetesError as err:
        return f"Kubernetes: {err}"
    return None


def _restore_results(report: k8s.RestoreReport) -> dict[str, Any]:
    results: dict[str, Any] = {
        "dry-run": str(report.dry_run).lower(),
        "created": str(report.created),
        "overwritten": str(report.overwritten),
        "skipped": str(report.skipped),
        "failed": str(report.failed),
        "from-snapshot": str(report.from_snapshot),
    }
    if report.failures:
        shown = report.failures[:MAX_LISTED_FAILURES]
        more = len(report.failures) - len(shown)
        results["failures"] = "\n".join(shown) + (f"\n... and {more} more" if more else "")
    if report.notes:
        results["notes"] = "\n".join(report.notes)
    return results


if __name__ == "__main__":  # pragma: nocover
    ops.main(KubeflowBackupCharm)
