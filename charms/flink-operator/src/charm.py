#!/usr/bin/env python3
# Copyright 2026 The Data Science Platform authors
# See LICENSE file for licensing details.
"""Charm for the Apache Flink Kubernetes Operator 1.15.

One reconcile runs on every event and is idempotent: it validates config, finds the profile
namespaces, writes the operator's configuration (the watched namespaces among it, which the
operator re-reads without a restart), the webhook's keystore and the Pebble layer of the
operator and webhook, applies the Kubernetes objects (leader only; no API write when nothing
changed) and sends the per-profile objects to resource-dispatcher. What it found is reported
once, by collect-status.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ops
from object_storage import S3Requirer

import flink
from dsplib import kubernetes, validation
from dsplib.certificates import WebhookCertificate, WebhookCertificates
from dsplib.dispatch import ManifestSender
from dsplib.manifests import KubernetesManifests
from dsplib.observability import GrafanaDashboardProvider, LogForwarder, MetricsEndpointProvider
from dsplib.pebble import ensure_layer, push_if_changed, workload_status
from dsplib.reconcile import observe_reconcile
from dsplib.s3_credentials import InvalidS3Data, S3Connection
from dsplib.status import Problems, add_statuses

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
DISPATCH_ENDPOINTS = ("service-accounts", "roles", "role-bindings", "pod-defaults", "secrets")


class FlinkOperatorCharm(ops.CharmBase):
    """Runs the Flink operator and its webhook and owns their cluster objects."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.k8s = KubernetesManifests(self)
        self.certificates = WebhookCertificates(self, self.names.webhook_service)
        self.s3 = S3Requirer(self, "s3-credentials")
        self.senders = {
            endpoint: ManifestSender(self, endpoint, as_secret=endpoint == "secrets")
            for endpoint in DISPATCH_ENDPOINTS
        }
        self.metrics = MetricsEndpointProvider(self, jobs=self._scrape_jobs)
        self.dashboards = GrafanaDashboardProvider(self)
        self.logs = LogForwarder(self)
        self.problems = Problems(self)

        observe_reconcile(
            self,
            self._reconcile,
            self.s3.on.storage_connection_info_changed,
            self.s3.on.storage_connection_info_gone,
        )
        framework.observe(self.on.remove, self._on_remove)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    @property
    def names(self) -> flink.Names:
        """Names shared by the processes, the templates and the profile objects."""
        return flink.Names(self.app.name, self.model.name)

    # -- reconcile ---------------------------------------------------------------------------

    def _reconcile(self, event: ops.EventBase) -> None:
        self.problems.start()
        try:
            settings = flink.Settings.from_config(self.config)
        except validation.InvalidConfig as err:
            self.problems.add(ops.BlockedStatus(str(err)))
            return
        certificate = self.certificates.get()
        if certificate is None:
            self.problems.add(ops.WaitingStatus("waiting for the leader's webhook certificate"))
            return
        namespaces = self._watched_namespaces(settings)
        if namespaces is not None:
            self._configure_workload(settings, namespaces, certificate)
        self.k8s.reconcile(
            self._manifests(certificate.ca),
            verify=isinstance(event, ops.UpdateStatusEvent),
            force=isinstance(event, ops.UpgradeCharmEvent),
        )
        self._send_profile_objects(settings, leaving=_departing(event))

    def _watched_namespaces(self, settings: flink.Settings) -> list[str] | None:
        """The configured namespaces, or the profiles the cluster has (None when unreadable)."""
        if settings.job_namespaces:
            return flink.watched_namespaces(settings, (), self.model.name)
        try:
            profiles = self._profile_namespaces()
        except kubernetes.KubernetesError as err:
            self.problems.add(_status_of(err))
            return None
        return flink.watched_namespaces(settings, profiles, self.model.name)

    def _profile_namespaces(self) -> list[str]:
        key, value = flink.PROFILE_LABEL
        listing = self.k8s.engine.read_all("v1", "Namespace", labels={key: value})
        return [ns["metadata"]["name"] for ns in listing]

    def _configure_workload(
        self, settings: flink.Settings, namespaces: list[str], certificate: WebhookCertificate
    ) -> None:
        container = self.unit.get_container(flink.CONTAINER)
        if not container.can_connect():
            self.problems.add(ops.WaitingStatus("waiting for Pebble in the workload container"))
            return
        config = flink.operator_config(settings, self.names, namespaces)
        reread = push_if_changed(container, flink.CONFIG_FILE, config, mode=0o644)
        push_if_changed(container, flink.LOG4J_FILE, flink.log4j_config(settings), mode=0o644)
        password = flink.keystore_password(certificate.key)
        self._push_keystore(container, certificate, password)
        pod = self.unit.name.replace("/", "-")
        layer = flink.pebble_layer(self.names, pod, password)
        if ensure_layer(container, "flink-operator", layer):  # type: ignore[arg-type]
            logger.info("operator and webhook (re)started with new settings")
        elif reread:
            # Read again by the running operator (dynamic config): no restart.
            logger.info("operator configuration updated: %d watched namespaces", len(namespaces))

    def _push_keystore(
        self, container: ops.Container, certificate: WebhookCertificate, password: str
    ) -> None:
        """Write the keystore only when the one in place does not hold this certificate."""
        try:
            current = container.pull(flink.KEYSTORE, encoding=None).read()
        except (ops.pebble.PathError, ops.pebble.APIError):
            current = b""
        if current and flink.keystore_holds(current, certificate.cert, password):
            return
        data = flink.keystore(certificate.cert, certificate.key, certificate.ca, password)
        container.push(
            flink.KEYSTORE,
            data,
            make_dirs=True,
            permissions=0o600,
            user_id=flink.FLINK_UID,
            group_id=flink.FLINK_UID,
        )

    def _manifests(self, ca_cert: str) -> list[dict[str, Any]]:
        return kubernetes.render(TEMPLATES, flink.manifest_context(self.names, ca_cert))

    def _send_profile_objects(
        self, settings: flink.Settings, leaving: ops.Relation | None
    ) -> None:
        """Give every profile namespace the job account, the PodDefault and S3 settings."""
        connection = self._s3_connection(leaving)
        names = self.names
        payloads = {
            "service-accounts": [flink.job_service_account()],
            "roles": [flink.job_role()],
            "role-bindings": [flink.job_role_binding()],
            "pod-defaults": [flink.pod_default(names, settings, with_s3=connection is not None)],
            "secrets": [flink.s3_secret(names, connection)] if connection else [],
        }
        for endpoint, manifests in payloads.items():
            self.senders[endpoint].send(manifests)

    def _s3_connection(self, leaving: ops.Relation | None) -> S3Connection | None:
        """The S3 settings to deliver, or None (reporting why in the status)."""
        relation = self.model.get_relation("s3-credentials")
        if relation is None or relation is leaving:
            return None
        try:
            connection = S3Connection.from_info(self.s3.get_storage_connection_info())
        except InvalidS3Data as err:
            self.problems.add(ops.BlockedStatus(str(err)))
            return None
        if connection is None:
            self.problems.add(ops.WaitingStatus("waiting for S3 credentials"))
            return None
        missing = [e for e in ("secrets", "pod-defaults") if self.model.get_relation(e) is None]
        if missing:
            self.problems.add(
                ops.BlockedStatus(
                    f"integrate {' and '.join(missing)} with resource-dispatcher "
                    "for S3 access in profiles"
                )
            )
        return connection

    # -- observability -----------------------------------------------------------------------

    def _scrape_jobs(self) -> list[dict[str, Any]]:
        """The operator's metrics, and the JobManagers of running Flink clusters (leader)."""
        if not self.unit.is_leader():
            return flink.scrape_jobs()
        return flink.scrape_jobs(self._jobmanager_addresses())

    def _jobmanager_addresses(self) -> list[str]:
        """Pod IPs of Flink JobManagers the operator started (empty when unreadable)."""
        labels = {"component": "jobmanager", "type": "flink-native-kubernetes"}
        try:
            pods = self.k8s.engine.read_all("v1", "Pod", namespace="*", labels=labels)
        except kubernetes.KubernetesError:
            return []
        return [ip for p in pods if (ip := (p.get("status") or {}).get("podIP"))]

    # -- removal and status ------------------------------------------------------------------

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        """Delete the cluster objects when the application goes (the lib checks that).

        Objects are deleted by name, so a missing or damaged certificate (no CA to render
        into the webhook configurations) does not keep them behind.
        """
        certificate = self.certificates.current()
        self.k8s.remove(self._manifests(certificate.ca if certificate else ""))

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        workload = workload_status(
            self.unit.get_container(flink.CONTAINER),
            flink.SERVICES,
            flink.CHECKS.values(),
            starting="waiting for the operator and webhook services to start",
            checking="waiting for {}",
        )
        add_statuses(event, *self.problems.statuses(), self.k8s.status(), workload)


def _status_of(err: kubernetes.KubernetesError) -> ops.StatusBase:
    if isinstance(err, kubernetes.TrustError):
        return ops.BlockedStatus(str(err))
    return ops.WaitingStatus(f"cannot list profile namespaces ({err}); retrying")


def _departing(event: ops.EventBase) -> ops.Relation | None:
    """The relation a relation-broken event is about (its data is still readable)."""
    return event.relation if isinstance(event, ops.RelationBrokenEvent) else None


if __name__ == "__main__":  # pragma: nocover
    ops.main(FlinkOperatorCharm)
