#!/usr/bin/env python3
# Copyright 2026 The Data Science Platform authors
# See LICENSE file for licensing details.
"""Kafka credentials for every Kubeflow profile, from Charmed Apache Kafka's `kafka_client`.

No workload: one idempotent reconcile asks Kafka for a user and topic (leader only), reads
what Kafka granted, rewrites its short broker names to fully qualified ones and sends a Secret
and the `access-kafka` PodDefault to resource-dispatcher, which copies them into every profile
namespace. What it found is reported once, by collect-status.
"""

from __future__ import annotations

import logging
from typing import Any

import ops

import kafka
from dsplib import validation
from dsplib.dispatch import ManifestSender
from dsplib.reconcile import observe_reconcile
from dsplib.status import Problems, add_statuses

logger = logging.getLogger(__name__)

KAFKA = "kafka"
DISPATCH_ENDPOINTS = ("secrets", "pod-defaults")
SECRET_FIELDS = ("secret-user", "secret-tls")


class KafkaProfilesCharm(ops.CharmBase):
    """Turns one kafka_client relation into Kafka access in every profile namespace."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.senders = {
            endpoint: ManifestSender(self, endpoint, as_secret=endpoint == "secrets")
            for endpoint in DISPATCH_ENDPOINTS
        }
        self.problems = Problems(self)
        observe_reconcile(self, self._reconcile, self.on.secret_changed)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _reconcile(self, event: ops.EventBase) -> None:
        self.problems.start()
        try:
            settings = kafka.Settings.from_config(self.config, self.model.name)
        except validation.InvalidConfig as err:
            self.problems.add(ops.BlockedStatus(str(err)))
            return
        relation = self.model.get_relation(KAFKA)
        if relation is None or relation is _departing(event):
            self.problems.add(
                ops.BlockedStatus(
                    f"integrate with Kafka: juju integrate {self.app.name} kafka-k8s"
                )
            )
            self._send([])
            return
        if self.unit.is_leader():
            _update(relation.data[self.app], settings.request())
        creds = self._credentials(relation, settings)
        missing = [e for e in DISPATCH_ENDPOINTS if self.model.get_relation(e) is None]
        if missing:
            self.problems.add(
                ops.BlockedStatus(
                    f"integrate {' and '.join(missing)} with resource-dispatcher "
                    "for Kafka access in profiles"
                )
            )
        if creds is None:
            self._send([])
            return
        self._send(
            [kafka.secret(self.app.name, creds)],
            [kafka.pod_default(self.app.name, with_tls=bool(creds.tls_ca))],
        )

    def _credentials(
        self, relation: ops.Relation, settings: kafka.Settings
    ) -> kafka.Credentials | None:
        """Kafka's grant, or None with the reason in the status."""
        if relation.app is None:
            self.problems.add(ops.WaitingStatus("waiting for Kafka to answer"))
            return None
        bag = dict(relation.data[relation.app])
        try:
            creds = kafka.credentials(bag, self._secret_fields(bag), settings)
        except kafka.InvalidKafkaData as err:
            # Name the application really related: the operator may have called it anything.
            self.problems.add(
                ops.BlockedStatus(f"{err}; check the {relation.app.name} application (kafka)")
            )
            return None
        if creds is None:
            self.problems.add(ops.WaitingStatus("waiting for Kafka to grant a user and topic"))
        return creds

    def _secret_fields(self, bag: dict[str, str]) -> dict[str, str]:
        """The content of the secrets Kafka's databag points to (those we can read)."""
        fields: dict[str, str] = {}
        for key in SECRET_FIELDS:
            uri = bag.get(key)
            if not uri:
                continue
            try:
                content = self.model.get_secret(id=uri).get_content(refresh=True)
            except (ops.SecretNotFoundError, ops.ModelError, ValueError):
                raise_text = f"Kafka's {key} secret cannot be read"
                self.problems.add(ops.WaitingStatus(f"{raise_text}; waiting for Kafka's grant"))
                continue
            fields.update(content)
        return fields

    def _send(self, secrets: list[dict[str, Any]], pod_defaults: list[Any] | None = None) -> None:
        self.senders["secrets"].send(secrets)
        self.senders["pod-defaults"].send(pod_defaults or [])

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        add_statuses(event, *self.problems.statuses(), ops.ActiveStatus())


def _update(bag: ops.RelationDataContent, values: dict[str, str]) -> None:
    """Write only what changed: a no-op hook writes nothing."""
    for key, value in values.items():
        if bag.get(key) != value:
            bag[key] = value


def _departing(event: ops.EventBase) -> ops.Relation | None:
    """The relation a relation-broken event is about (its data is still readable)."""
    return event.relation if isinstance(event, ops.RelationBrokenEvent) else None


if __name__ == "__main__":  # pragma: nocover
    ops.main(KafkaProfilesCharm)
