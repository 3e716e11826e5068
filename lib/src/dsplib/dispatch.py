"""Send per-profile objects to resource-dispatcher (interface `kubernetes_manifest`).

resource-dispatcher copies the manifests it receives into every Kubeflow profile namespace.
We are the requirer and write our application databag (leader only). Two encodings exist:
plaintext (`kubernetes_manifests` = JSON list) and, for anything holding credentials, a Juju
secret (content key `manifests`) whose URI goes into `kubernetes_manifests` with
`is_secret: "true"`, so keys never sit in relation data in clear.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import ops

logger = logging.getLogger(__name__)

MANIFESTS_KEY = "kubernetes_manifests"
IS_SECRET_KEY = "is_secret"  # noqa: S105 - a databag key, not a password


def secret_label(relation: ops.Relation) -> str:
    """The label resource-dispatcher parses to match a secret to its relation."""
    return f"manifest.{relation.name}.{relation.id}"


class ManifestSender(ops.Object):
    """Leader-side writer of one `kubernetes_manifest` requirer endpoint."""

    def __init__(self, charm: ops.CharmBase, relation_name: str, *, as_secret: bool = False):
        super().__init__(charm, f"{relation_name}-sender")
        self._charm = charm
        self.relation_name = relation_name
        self.as_secret = as_secret
        if as_secret:
            self.framework.observe(charm.on[relation_name].relation_broken, self._on_broken)
            self.framework.observe(charm.on.secret_remove, self._on_secret_remove)

    def send(self, manifests: Sequence[Mapping[str, Any]]) -> None:
        """Publish `manifests` on every relation of the endpoint (no write when unchanged)."""
        if not self._charm.unit.is_leader():
            return
        payload = json.dumps([dict(m) for m in manifests], sort_keys=True)
        for relation in self._charm.model.relations[self.relation_name]:
            if self.as_secret:
                self._send_secret(relation, payload)
            else:
                _set(relation.data[self._charm.app], MANIFESTS_KEY, payload)

    def _send_secret(self, relation: ops.Relation, payload: str) -> None:
        label = secret_label(relation)
        content = {"manifests": payload}
        try:
            secret = self._charm.model.get_secret(label=label)
            if secret.get_content(refresh=True) != content:
                secret.set_content(content)
        except ops.SecretNotFoundError:
            secret = self._charm.app.add_secret(content, label=label)
            secret.grant(relation)
            logger.info("shared manifests of %s through a Juju secret", relation.name)
        bag = relation.data[self._charm.app]
        # A secret looked up by label has no id; its owner can ask Juju for it.
        _set(bag, MANIFESTS_KEY, secret.id or secret.get_info().id)
        _set(bag, IS_SECRET_KEY, "true")

    def _on_broken(self, event: ops.RelationBrokenEvent) -> None:
        """The relation is gone: so is the secret that served it."""
        if not self._charm.unit.is_leader():
            return
        with contextlib.suppress(ops.SecretNotFoundError):
            self._charm.model.get_secret(label=secret_label(event.relation)).remove_all_revisions()

    def _on_secret_remove(self, event: ops.SecretRemoveEvent) -> None:
        """resource-dispatcher no longer tracks an old revision: drop it."""
        prefix = f"manifest.{self.relation_name}."
        if event.secret.label and event.secret.label.startswith(prefix):
            event.remove_revision()


def _set(bag: ops.RelationDataContent, key: str, value: str) -> None:
    if bag.get(key) != value:
        bag[key] = value
