#!/usr/bin/env python3
# Copyright 2026 The Data Science Platform authors
# See LICENSE file for licensing details.
"""Charm that turns an `s3` relation (Ceph RGW) into Kubeflow's `object-storage` relation.

It has no workload container. The leader checks with a real S3 request that the gateway
answers, the keys work and the pipeline bucket exists (creating it when allowed), then keeps a
Service in the model's namespace that stands for the gateway and tells every consumer
(kfp-api, kfp-ui, kfp-profile-controller, argo-controller) `<service>.<namespace>:<port>` and
the keys. The check runs again on every hook, update-status included; its outcome is kept so
that the status stays true on hooks that do not check (actions, collect-status itself).
Through resource-dispatcher it also gives every profile the `kfp-launcher` ConfigMap that
pipeline steps read, and the Secret with the keys it names (launcher.py).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ops
from object_storage import S3Requirer

import launcher
import migration
import storage
from dsplib import kubernetes, validation
from dsplib.dispatch import ManifestSender
from dsplib.manifests import KubernetesManifests
from dsplib.proxy import ProxySettings
from dsplib.reconcile import observe_reconcile
from dsplib.s3_credentials import InvalidS3Data, S3Connection
from dsplib.sdi import SdiEndpoint, SdiError, SdiNotReady
from dsplib.status import add_statuses

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
S3_RELATION = "s3-credentials"
CONSUMERS = "object-storage"
MIGRATION_TIMEOUT = 60.0  # seconds one S3 request of the migration may wait for an answer


@dataclass
class Inputs:
    """What config and relations say, and what is wrong with them."""

    settings: storage.Settings | None = None
    s3: S3Connection | None = None
    target: storage.Target | None = None
    problems: list[ops.StatusBase] = field(default_factory=list)

    def ready(self) -> tuple[storage.Settings, S3Connection, storage.Target] | None:
        """Everything a check needs, or None while something is missing or wrong."""
        if self.settings is None or self.s3 is None or self.target is None:
            return None
        return self.settings, self.s3, self.target


class KubeflowObjectStorageCharm(ops.CharmBase):
    """Checks the gateway, owns the Service that stands for it, tells consumers about it."""

    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self._stored.set_default(check="")
        self.k8s = KubernetesManifests(self)
        self.s3 = S3Requirer(self, S3_RELATION, bucket=str(self.config.get("bucket", "")))
        self.consumers = SdiEndpoint(self, CONSUMERS, "object-storage", role="provides")
        self.profiles = {
            endpoint: ManifestSender(self, endpoint, as_secret=endpoint == "secrets")
            for endpoint in launcher.ENDPOINTS
        }
        observe_reconcile(
            self,
            self._reconcile,
            self.s3.on.storage_connection_info_changed,
            self.s3.on.storage_connection_info_gone,
        )
        framework.observe(self.on.remove, self._on_remove)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)
        framework.observe(self.on.migrate_artifacts_action, self._on_migrate_artifacts)

    # -- inputs ------------------------------------------------------------------------------

    def _inputs(self) -> Inputs:
        """Config and relation data, checked (reads only, so collect-status can call it)."""
        inputs = Inputs()
        try:
            inputs.settings = storage.Settings.from_config(self.config)
        except validation.InvalidConfig as err:
            inputs.problems.append(ops.BlockedStatus(str(err)))
        if proxy_problem := ProxySettings.from_juju().problem:
            inputs.problems.append(ops.BlockedStatus(proxy_problem))
        inputs.problems.extend(self._consumer_problems())
        inputs.problems.extend(self._dispatch_problems())
        if self.model.get_relation(S3_RELATION) is None:
            inputs.problems.append(
                ops.BlockedStatus(f"integrate {S3_RELATION} with s3-integrator (Ceph RGW)")
            )
            return inputs
        try:
            inputs.s3 = S3Connection.from_info(self.s3.get_storage_connection_info())
            inputs.target = storage.Target.of(inputs.s3) if inputs.s3 else None
        except (InvalidS3Data, storage.UnusableEndpoint) as err:
            inputs.s3 = None
            inputs.problems.append(ops.BlockedStatus(str(err)))
            return inputs
        if inputs.s3 is None:
            inputs.problems.append(ops.WaitingStatus("waiting for S3 credentials"))
        return inputs

    def _consumer_problems(self) -> list[ops.StatusBase]:
        problems: list[ops.StatusBase] = []
        for relation in self.consumers.relations:
            try:
                self.consumers.version(relation)
            except SdiNotReady:
                continue  # the consumer has not spoken yet; its first words bring us back
            except SdiError as err:
                problems.append(ops.BlockedStatus(str(err)))
        return problems

    def _dispatch_problems(self) -> list[ops.StatusBase]:
        """The ConfigMap names the Secret: one without the other would break pipeline steps."""
        related = [e for e in launcher.ENDPOINTS if self.model.get_relation(e) is not None]
        if len(related) != 1:
            return []
        missing = next(e for e in launcher.ENDPOINTS if e not in related)
        return [
            ops.BlockedStatus(
                f"integrate {missing} with resource-dispatcher: profiles need both the "
                "kfp-launcher ConfigMap and the Secret with its keys"
            )
        ]

    # -- reconcile ---------------------------------------------------------------------------

    def _reconcile(self, event: ops.EventBase) -> None:
        self.consumers.publish_versions()
        if not self.unit.is_leader():
            return
        inputs = self._inputs()
        if inputs.settings is None:
            return
        if self.model.get_relation(S3_RELATION) is None:
            self._withdraw()
            return
        ready = inputs.ready()
        if ready is None:
            return
        settings, connection, target = ready
        outcome = storage.check_bucket(connection, settings)
        self._record(storage.fingerprint(connection, settings), outcome)
        if not outcome.ok:
            logger.warning("S3 check failed: %s", outcome.message)
            return
        if outcome.created_bucket:
            logger.info("created bucket %s", settings.bucket)
        applied = self.k8s.reconcile(
            self._manifests(target),
            verify=isinstance(event, ops.UpdateStatusEvent),
            force=isinstance(event, ops.UpgradeCharmEvent),
        )
        if applied:
            data = storage.consumer_data(self.app.name, self.model.name, target, connection)
            self._publish(data)
            self._send_to_profiles(target, connection, settings)

    def _send_to_profiles(
        self, target: storage.Target, connection: S3Connection, settings: storage.Settings
    ) -> None:
        """kfp-launcher and its Secret for every profile, when both endpoints are related."""
        if self._dispatch_problems():
            self._take_back_from_profiles()
            return
        app = self.app.name
        self.profiles["secrets"].send([launcher.keys_secret(app, connection)])
        self.profiles["config-maps"].send(
            [launcher.config_map(app, target.host, target.port, connection, settings.bucket)]
        )

    def _take_back_from_profiles(self) -> None:
        for sender in self.profiles.values():
            sender.send([])

    def _manifests(self, target: storage.Target) -> list[dict[str, Any]]:
        context = storage.manifest_context(self.app.name, self.model.name, target)
        return kubernetes.render(TEMPLATES, context)

    def _publish(self, data: dict[str, Any]) -> None:
        for relation in self.consumers.relations:
            try:
                self.consumers.send(relation, data)
            except SdiError as err:
                logger.info("not telling %s yet: %s", relation.app, err)

    def _withdraw(self) -> None:
        """The storage is gone: delete the Service and take the consumers' data back."""
        self.k8s.reconcile([])
        for relation in self.consumers.relations:
            self.consumers.withdraw(relation)
        self._take_back_from_profiles()
        self._stored.check = ""

    def _record(self, fingerprint: str, outcome: storage.Outcome) -> None:
        record = {"for": fingerprint, "status": outcome.status, "message": outcome.message}
        self._stored.check = json.dumps(record, sort_keys=True)

    # -- migrate-artifacts -------------------------------------------------------------------

    def _on_migrate_artifacts(self, event: ops.ActionEvent) -> None:
        """Copy the old artifacts bucket (MinIO) into the served bucket; see migration.py."""
        report = migration.Report()
        try:
            request, connection = self._migration_inputs(event.params)
            keys = self._source_keys(request.secret_id)
            source = migration.source_client(request, keys, MIGRATION_TIMEOUT)
            with source, connection.client(timeout=MIGRATION_TIMEOUT) as target:
                buckets = migration.Buckets(source, request.bucket, target, request.bucket)
                migration.migrate(buckets, report, dry_run=request.dry_run, log=event.log)
        except migration.MigrationError as err:
            if report.objects:
                event.set_results(report.results(dry_run=bool(event.params.get("dry-run"))))
            event.fail(str(err))
            logger.error("migrate-artifacts failed: %s", err)
            return
        event.set_results({"source": request.describe(), **report.results(request.dry_run)})
        if report.failed:
            event.fail(
                f"{len(report.failed)} objects were not copied (see failures): run the action "
                "again to retry them"
            )
        logger.info(
            "migrate-artifacts from %s: %d objects, %d copied, %d failed%s",
            request.describe(), report.objects, report.copied, len(report.failed),
            " (dry run)" if request.dry_run else "",
        )  # fmt: skip

    def _migration_inputs(self, params: dict[str, Any]) -> tuple[migration.Request, S3Connection]:
        """The checked request and the served bucket's connection; MigrationError says why not."""
        if not self.unit.is_leader():
            raise migration.MigrationError(
                f"run this action on the leader: juju run {self.app.name}/leader "
                "migrate-artifacts ..."
            )
        inputs = self._inputs()
        ready = inputs.ready()
        if ready is None:
            problem = inputs.problems[0].message if inputs.problems else "not ready"
            raise migration.MigrationError(f"the target is not ready: {problem}")
        settings, connection, _ = ready
        return migration.Request.from_params(params, settings.bucket), connection

    def _source_keys(self, secret_id: str) -> tuple[str, str, str]:
        """The old endpoint's keys (and CA) from the operator's secret.

        ops raises SecretNotFoundError when secret-get's error says "not found", ModelError
        for any other refusal, such as Juju's "permission denied" for a secret that was not
        granted (ops/model.py, `_ModelBackend`, the secret-* branch of its command runner).
        """
        grant = f"juju grant-secret {secret_id} {self.app.name}"
        try:
            content = self.model.get_secret(id=secret_id).get_content(refresh=True)
        except ops.SecretNotFoundError:
            raise migration.MigrationError(
                f"source-credentials-secret {secret_id} not found: check the id with "
                f"'juju secrets', and that it was granted: {grant}"
            ) from None
        except ops.ModelError:
            raise migration.MigrationError(
                f"source-credentials-secret {secret_id} cannot be read by {self.app.name}: "
                f"grant it with {grant}"
            ) from None
        return migration.source_keys(content, secret_id)

    # -- removal and status ------------------------------------------------------------------

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        sample = storage.Target("192.0.2.1", 443, True, "IPv4")  # every kind the charm makes
        self.k8s.remove(self._manifests(sample))

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        inputs = self._inputs()
        ready = inputs.ready()
        checked = self._check_status(*ready) if self.unit.is_leader() and ready else None
        add_statuses(event, *inputs.problems, self.k8s.status(), checked, ops.ActiveStatus())

    def _check_status(
        self, settings: storage.Settings, connection: S3Connection, target: storage.Target
    ) -> ops.StatusBase:
        """The outcome of the last check, if it was made for these inputs."""
        try:
            record = json.loads(self._stored.check or "{}")
        except ValueError:
            record = {}
        if record.get("for") != storage.fingerprint(connection, settings):
            return ops.WaitingStatus("waiting to check the S3 endpoint")
        if record.get("status") == "blocked":
            return ops.BlockedStatus(record.get("message", ""))
        if record.get("status") == "waiting":
            return ops.WaitingStatus(record.get("message", ""))
        service = f"{storage.service_name(self.app.name)}.{self.model.name}:{target.port}"
        return ops.ActiveStatus(
            f"bucket {settings.bucket} at {target.host}:{target.port} as {service}"
        )


if __name__ == "__main__":  # pragma: nocover
    ops.main(KubeflowObjectStorageCharm)
