#!/usr/bin/env python3
# Copyright 2026 The Data Science Platform authors
# See LICENSE file for licensing details.
"""Charm for the Seldon Core 1.17 operator.

One reconcile runs on every event and is idempotent: it validates config, makes sure the
webhook certificate exists, sets the Pebble layer, applies the Kubernetes objects (leader
only; no API write when nothing changed) and sends model credentials to profile namespaces.
What it found is reported once, by collect-status.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ops
from object_storage import S3Requirer

import seldon
from dsplib import kubernetes, validation
from dsplib.certificates import WebhookCertificate, WebhookCertificates
from dsplib.dispatch import ManifestSender
from dsplib.manifests import KubernetesManifests
from dsplib.observability import GrafanaDashboardProvider, LogForwarder, MetricsEndpointProvider
from dsplib.pebble import ensure_layer, push_if_changed, workload_status
from dsplib.proxy import ProxySettings
from dsplib.reconcile import observe_reconcile
from dsplib.s3_credentials import InvalidS3Data, S3Connection
from dsplib.status import add_statuses

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Inputs:
    """What config and relations say, and what is wrong with them."""

    settings: seldon.Settings | None = None
    gateway: seldon.Gateway | None = None
    s3: S3Connection | None = None
    problems: list[ops.StatusBase] = field(default_factory=list)


class SeldonCoreCharm(ops.CharmBase):
    """Runs the Seldon Core operator and owns its cluster objects."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.k8s = KubernetesManifests(self)
        self.certificates = WebhookCertificates(self, seldon.WEBHOOK_SERVICE)
        self.s3 = S3Requirer(self, "s3-credentials")
        self.model_secrets = ManifestSender(self, "secrets", as_secret=True)
        self.model_accounts = ManifestSender(self, "service-accounts")
        self.metrics = MetricsEndpointProvider(self, jobs=self._scrape_jobs)
        self.dashboards = GrafanaDashboardProvider(self)
        self.logs = LogForwarder(self)

        observe_reconcile(
            self,
            self._reconcile,
            self.s3.on.storage_connection_info_changed,
            self.s3.on.storage_connection_info_gone,
        )
        framework.observe(self.on.remove, self._on_remove)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    # -- reconcile ---------------------------------------------------------------------------

    def _inputs(self) -> Inputs:
        """Config and relation data, checked; problems found are statuses for collect-status.

        Pure: reads only, so collect-status can call it on every hook.
        """
        inputs = Inputs()
        try:
            inputs.settings = seldon.Settings.from_config(self.config)
        except validation.InvalidConfig as err:
            inputs.problems.append(ops.BlockedStatus(str(err)))
            return inputs
        if proxy_problem := ProxySettings.from_juju().problem:
            inputs.problems.append(ops.BlockedStatus(proxy_problem))
        inputs.gateway = seldon.effective_gateway(inputs.settings, self._related_gateway(inputs))
        if self.model.get_relation("s3-credentials") is not None:
            try:
                inputs.s3 = S3Connection.from_info(self.s3.get_storage_connection_info())
            except InvalidS3Data as err:
                inputs.problems.append(ops.BlockedStatus(str(err)))
            else:
                if inputs.s3 is None:
                    inputs.problems.append(ops.WaitingStatus("waiting for S3 credentials"))
                elif self.model.get_relation("secrets") is None:
                    inputs.problems.append(
                        ops.BlockedStatus(
                            "integrate secrets with resource-dispatcher to deliver S3 credentials"
                        )
                    )
        return inputs

    def _related_gateway(self, inputs: Inputs) -> seldon.Gateway | None:
        relation = self.model.get_relation("gateway-info")
        if relation is None or relation.app is None:
            return None
        try:
            return seldon.gateway_from_relation(relation.data[relation.app])
        except ValueError as err:
            inputs.problems.append(ops.BlockedStatus(str(err)))
            return None

    def _reconcile(self, event: ops.EventBase) -> None:
        inputs = self._inputs()
        if inputs.settings is None:
            return
        certificate = self.certificates.get()
        self._configure_workload(inputs.settings, inputs.gateway, certificate)
        if certificate is not None:
            self.k8s.reconcile(
                self._manifests(inputs.settings, certificate),
                verify=isinstance(event, ops.UpdateStatusEvent),
                force=isinstance(event, ops.UpgradeCharmEvent),
            )
        self._send_model_credentials(inputs.settings, inputs.s3)

    def _send_model_credentials(self, settings: seldon.Settings, s3: S3Connection | None) -> None:
        """The rclone Secret for every profile and, for a private CA, the CA and its account.

        The CA goes only where the ServiceAccount can go too: RCLONE_CA_CERT naming a file
        that no pod mounts would stop every model from loading.
        """
        name = settings.model_secret_name
        proxy_env = ProxySettings.from_juju().pod_env(settings.cluster_networks)
        with_ca = (
            bool(s3 and s3.tls_ca) and self.model.get_relation("service-accounts") is not None
        )
        objects: list[dict] = []
        accounts: list[dict] = []
        if s3 and with_ca:
            ca_file = seldon.SA_SECRET_MOUNT + seldon.CA_KEY
            objects = [
                seldon.rclone_secret(name, s3, proxy_env, ca_file=ca_file),
                seldon.ca_secret(name, s3.tls_ca),
            ]
            accounts = [seldon.models_service_account(name)]
        elif s3:
            objects = [seldon.rclone_secret(name, s3, proxy_env)]
        self.model_secrets.send(objects)
        self.model_accounts.send(accounts)

    def _configure_workload(
        self,
        settings: seldon.Settings,
        gateway: seldon.Gateway | None,
        certificate: WebhookCertificate | None,
    ) -> None:
        container = self.unit.get_container(seldon.CONTAINER)
        if not container.can_connect():
            return
        if certificate is not None:
            self._push_certificate(container, certificate)
        layer = seldon.pebble_layer(settings, self.model.name, gateway)
        if ensure_layer(container, seldon.SERVICE, layer):
            logger.info("operator (re)started with new settings")

    def _push_certificate(self, container: ops.Container, certificate: WebhookCertificate) -> None:
        """Write the serving certificate where controller-runtime watches for it."""
        files = {"tls.crt": certificate.cert, "tls.key": certificate.key, "ca.crt": certificate.ca}
        for name, content in files.items():
            push_if_changed(container, f"{seldon.CERT_DIR}/{name}", content)

    def _manifests(
        self, settings: seldon.Settings, certificate: WebhookCertificate
    ) -> list[dict[str, Any]]:
        context = seldon.manifest_context(
            app=self.app.name, namespace=self.model.name, settings=settings, ca_cert=certificate.ca
        )
        return kubernetes.render(TEMPLATES, context)

    # -- observability -----------------------------------------------------------------------

    def _scrape_jobs(self) -> list[dict[str, Any]]:
        """The operator's metrics, and the executors of served models when enabled."""
        port = self.config.get("metrics-port")
        jobs: list[dict[str, Any]] = [
            {
                "job_name": "manager",
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [f"*:{port}"]}],
            }
        ]
        if self.config.get("scrape-models") and self.unit.is_leader():
            targets = seldon.model_scrape_targets(self._predictor_services())
            if targets:
                jobs.append(
                    {
                        "job_name": "models",
                        "metrics_path": seldon.EXECUTOR_METRICS_PATH,
                        "static_configs": targets,
                    }
                )
        return jobs

    def _predictor_services(self) -> list[dict[str, Any]]:
        """Services of served models in every namespace (empty when the API is unreachable)."""
        from lightkube import operators
        from lightkube.resources.core_v1 import Service

        try:
            listing = self.k8s.engine.client.list(
                Service, namespace="*", labels={"seldon-deployment-id": operators.exists()}
            )
            return [
                {
                    "name": svc.metadata.name,
                    "namespace": svc.metadata.namespace,
                    "deployment": (svc.metadata.labels or {}).get("seldon-deployment-id", ""),
                    "ports": [p.port for p in (svc.spec.ports or [])] if svc.spec else [],
                }
                for svc in listing
                if svc.metadata
            ]
        except Exception as err:
            logger.warning("cannot list model services for scraping: %s", type(err).__name__)
            return []

    # -- removal and status ------------------------------------------------------------------

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        """Delete the cluster objects when the application goes (the lib checks that)."""
        objects: list[dict[str, Any]] = []
        try:
            settings = seldon.Settings.from_config(self.config)
            objects = kubernetes.render(
                TEMPLATES,
                seldon.manifest_context(
                    app=self.app.name, namespace=self.model.name, settings=settings, ca_cert=""
                ),
            )
        except validation.InvalidConfig:
            logger.warning("config invalid at removal: deleting what the inventory lists")
        self.k8s.remove(objects)

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        no_certificate = (
            ops.WaitingStatus("waiting for the leader to create the webhook certificate")
            if self.certificates.current() is None
            else None
        )
        add_statuses(
            event,
            *self._inputs().problems,
            self.k8s.status(),
            no_certificate,
            self._workload_status(),
        )

    def _workload_status(self) -> ops.StatusBase:
        container = self.unit.get_container(seldon.CONTAINER)
        if not container.can_connect():
            return ops.WaitingStatus("waiting for Pebble in the workload container")
        return workload_status(
            container,
            [seldon.SERVICE],
            ["manager-metrics", "webhook-listening"],
            starting="waiting for the operator service to start",
            checking="waiting for the operator: {} not up",
        )


if __name__ == "__main__":  # pragma: nocover
    ops.main(SeldonCoreCharm)
