#!/usr/bin/env python3
# Copyright 2026 The Data Science Platform authors
# See LICENSE file for licensing details.
"""Charm for the Kubeflow Spark Operator 2.5.

One reconcile runs on every event and is idempotent: it validates config, sets the Pebble
layer of the controller and webhook processes, applies the Kubernetes objects (leader only; no
API write when nothing changed) and sends the per-profile objects to resource-dispatcher.
What it found is reported once, by collect-status.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ops
from object_storage import S3Requirer

import spark
from dsplib import kubernetes, validation
from dsplib.dispatch import ManifestSender
from dsplib.manifests import KubernetesManifests
from dsplib.observability import GrafanaDashboardProvider, LogForwarder, MetricsEndpointProvider
from dsplib.pebble import ensure_layer, push_if_changed, workload_status
from dsplib.proxy import ProxySettings
from dsplib.reconcile import observe_reconcile
from dsplib.s3_credentials import InvalidS3Data, S3Connection
from dsplib.status import Problems, add_statuses

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
DISPATCH_ENDPOINTS = ("service-accounts", "roles", "role-bindings", "pod-defaults", "secrets")


class SparkOperatorCharm(ops.CharmBase):
    """Runs the Spark operator's controller and webhook and owns their cluster objects."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.k8s = KubernetesManifests(self)
        self.s3 = S3Requirer(self, "s3-credentials")
        self.senders = {
            endpoint: ManifestSender(self, endpoint, as_secret=endpoint == "secrets")
            for endpoint in DISPATCH_ENDPOINTS
        }
        self.metrics = MetricsEndpointProvider(self, jobs=spark.scrape_jobs())
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
    def names(self) -> spark.Names:
        """Names shared by the processes, the templates and the profile objects."""
        return spark.Names(self.app.name, self.model.name)

    # -- reconcile ---------------------------------------------------------------------------

    def _reconcile(self, event: ops.EventBase) -> None:
        self.problems.start()
        try:
            settings = spark.Settings.from_config(self.config)
        except validation.InvalidConfig as err:
            self.problems.add(ops.BlockedStatus(str(err)))
            return
        if proxy_problem := ProxySettings.from_juju().problem:
            self.problems.add(ops.BlockedStatus(proxy_problem))
        self._configure_workload(settings)
        self.k8s.reconcile(
            self._manifests(settings),
            verify=isinstance(event, ops.UpdateStatusEvent),
            force=isinstance(event, ops.UpgradeCharmEvent),
        )
        self._send_profile_objects(settings, leaving=_departing(event))

    def _configure_workload(self, settings: spark.Settings) -> None:
        container = self.unit.get_container(spark.CONTAINER)
        if not container.can_connect():
            self.problems.add(ops.WaitingStatus("waiting for Pebble in the workload container"))
            return
        if not container.exists(spark.CERT_DIR):
            # The webhook writes its generated certificate here and runs as the spark user.
            container.make_dir(
                spark.CERT_DIR,
                make_parents=True,
                user_id=spark.SPARK_UID,
                group_id=spark.SPARK_UID,
            )
        # Read by spark-submit at each submission: a change needs no restart.
        proxy = ProxySettings.from_juju()
        defaults = spark.spark_defaults(proxy, settings.cluster_networks)
        push_if_changed(container, spark.SPARK_DEFAULTS, defaults, mode=0o644)
        layer = ops.pebble.Layer(spark.pebble_layer(settings, self.names, proxy))  # type: ignore[arg-type]
        if ensure_layer(container, "spark-operator", layer.to_dict()):
            logger.info("controller and webhook (re)started with new settings")

    def _manifests(self, settings: spark.Settings) -> list[dict[str, Any]]:
        return kubernetes.render(TEMPLATES, spark.manifest_context(self.names, settings))

    def _send_profile_objects(
        self, settings: spark.Settings, leaving: ops.Relation | None
    ) -> None:
        """Give every profile namespace the driver account, the PodDefault and S3 access."""
        connection = self._s3_connection(leaving)
        names = self.names
        payloads = {
            "service-accounts": [spark.driver_service_account(names)],
            "roles": [spark.driver_role(names)],
            "role-bindings": [spark.driver_role_binding(names)],
            "pod-defaults": [
                spark.pod_default(
                    names,
                    settings,
                    with_s3=connection is not None,
                    proxy=ProxySettings.from_juju(),
                )
            ],
            "secrets": [spark.s3_secret(names, connection)] if connection else [],
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

    # -- removal and status ------------------------------------------------------------------

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        """Delete the cluster objects when the application goes (the lib checks that)."""
        objects: list[dict[str, Any]] = []
        try:
            objects = self._manifests(spark.Settings.from_config(self.config))
        except validation.InvalidConfig:
            logger.warning("config invalid at removal: deleting what the inventory lists")
        self.k8s.remove(objects)

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        workload = workload_status(
            self.unit.get_container(spark.CONTAINER),
            spark.SERVICES,
            spark.CHECKS.values(),
            starting="waiting for the controller and webhook services to start",
            checking="waiting for {}",
        )
        add_statuses(event, *self.problems.statuses(), self.k8s.status(), workload)


def _departing(event: ops.EventBase) -> ops.Relation | None:
    """The relation a relation-broken event is about (its data is still readable)."""
    return event.relation if isinstance(event, ops.RelationBrokenEvent) else None


if __name__ == "__main__":  # pragma: nocover
    ops.main(SparkOperatorCharm)
