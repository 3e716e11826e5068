#!/usr/bin/env python3
# Copyright 2026 The Data Science Platform authors
# See LICENSE file for licensing details.
"""Charm that offers Intel-optimized notebook images to Kubeflow profiles.

It has no workload container: it sends the `intel-optimizations` PodDefault to
resource-dispatcher, keeps a pre-pull DaemonSet in step with the `images` option and reports
pull progress and node CPU features.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import ops

import notebooks
from dsplib import kubernetes, validation
from dsplib.dispatch import ManifestSender
from dsplib.manifests import KubernetesManifests, error_status
from dsplib.reconcile import observe_reconcile
from dsplib.status import add_statuses

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"


class IntelNotebooksCharm(ops.CharmBase):
    """Keeps PodDefault and pre-pull DaemonSet in line with config."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.k8s = KubernetesManifests(self)
        self.pod_defaults = ManifestSender(self, "pod-defaults")
        observe_reconcile(self, self._reconcile)
        framework.observe(self.on.image_report_action, self._on_image_report)
        framework.observe(self.on.remove, self._on_remove)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _check(self) -> tuple[notebooks.Settings | None, list[ops.StatusBase]]:
        """Config and relations, checked (reads only, so collect-status can call it)."""
        try:
            settings = notebooks.Settings.from_config(self.config)
        except validation.InvalidConfig as err:
            return None, [ops.BlockedStatus(str(err))]
        problems: list[ops.StatusBase] = []
        if self.model.get_relation("pod-defaults") is None:
            problems.append(
                ops.BlockedStatus(
                    "integrate pod-defaults with resource-dispatcher to reach profiles"
                )
            )
        return settings, problems

    def _reconcile(self, event: ops.EventBase) -> None:
        settings, _ = self._check()
        if settings is None:
            return
        self.pod_defaults.send([notebooks.poddefault(settings)])
        self.k8s.reconcile(
            self._manifests(settings),
            verify=isinstance(event, ops.UpdateStatusEvent),
            force=isinstance(event, ops.UpgradeCharmEvent),
        )

    def _manifests(self, settings: notebooks.Settings) -> list[dict[str, Any]]:
        context = notebooks.manifest_context(self.app.name, self.model.name, settings)
        return kubernetes.render(TEMPLATES, context)

    def _prepull_status(self, settings: notebooks.Settings) -> ops.StatusBase | None:
        """Maintenance until every selected node has the images; None when done or off."""
        if not settings.prepull or not self.unit.is_leader():
            return None
        ref = kubernetes.ObjectRef(
            "apps/v1", "DaemonSet", f"{self.app.name}-prepull", self.model.name
        )
        try:
            missing = self._missing_pull_secrets(settings)
            progress = notebooks.prepull_progress(self.k8s.engine.read(ref), settings.images)
            if progress is not None:
                nodes = self.k8s.engine.read_all("v1", "Node")
                skipped = tuple(notebooks.skipped_nodes(nodes, settings))
                progress = dataclasses.replace(progress, skipped=skipped)
        except kubernetes.KubernetesError as err:
            return error_status(err, "cannot read pre-pull progress")
        if missing:
            return ops.BlockedStatus(
                f"prepull-image-pull-secrets: no Secret {missing[0]} in namespace "
                f"{self.model.name}; create it or fix the option"
            )
        if progress is None:
            return ops.MaintenanceStatus("starting to pre-pull images")
        if progress.desired == 0 and progress.skipped:
            return ops.BlockedStatus(
                f"pre-pull runs on no node: {len(progress.skipped)} selected nodes have taints "
                "it does not tolerate; set prepull-tolerations"
            )
        if progress.desired == 0:
            return ops.BlockedStatus("node-selector matches no node: fix it or leave it empty")
        if not progress.done:
            return ops.MaintenanceStatus(str(progress))
        if progress.skipped:
            # Complete where the pods run; the tainted nodes have no images, and say so.
            return ops.ActiveStatus(str(progress))
        return None

    def _missing_pull_secrets(self, settings: notebooks.Settings) -> list[str]:
        """The configured pull Secrets that do not exist (their pods would never pull)."""
        return [
            name
            for name in settings.pull_secrets
            if self.k8s.engine.read(kubernetes.ObjectRef("v1", "Secret", name, self.model.name))
            is None
        ]

    def _on_image_report(self, event: ops.ActionEvent) -> None:
        try:
            settings = notebooks.Settings.from_config(self.config)
            nodes = self.k8s.engine.read_all("v1", "Node")
        except validation.InvalidConfig as err:
            event.fail(str(err))
            return
        except kubernetes.KubernetesError as err:
            event.fail(f"cannot read nodes: {err}")
            return
        report = notebooks.node_report(nodes, settings.images)
        if event.params.get("format") == "json":
            event.set_results({"report": json.dumps(report)})
        else:
            event.set_results({"report": notebooks.report_table(report)})

    def _on_remove(self, _: ops.RemoveEvent) -> None:
        objects: list[dict[str, Any]] = []
        try:
            objects = self._manifests(notebooks.Settings.from_config(self.config))
        except validation.InvalidConfig:
            logger.warning("config invalid at removal: deleting what the inventory lists")
        self.k8s.remove(objects)

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        settings, problems = self._check()
        k8s_status = self.k8s.status()
        prepull = None
        if k8s_status is None and settings is not None:
            prepull = self._prepull_status(settings)
        add_statuses(event, *problems, k8s_status, prepull, ops.ActiveStatus())


if __name__ == "__main__":  # pragma: nocover
    ops.main(IntelNotebooksCharm)
