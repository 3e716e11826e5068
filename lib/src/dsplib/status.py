"""What the last reconcile found wrong, kept for hooks that do not reconcile.

collect-status runs at the end of every hook, including hooks where the charm does not look
at config and relations (actions, secret-remove, stop). A charm that only reports what this
hook's reconcile found would show Active there. `Problems` records the statuses a reconcile
adds and, on other hooks, hands back those of the last reconcile.
"""

from __future__ import annotations

import json

import ops

_KINDS = {
    "blocked": ops.BlockedStatus,
    "waiting": ops.WaitingStatus,
    "maintenance": ops.MaintenanceStatus,
}


class Problems(ops.Object):
    """Statuses found by the reconcile, persisted in charm state."""

    _stored = ops.StoredState()

    def __init__(self, charm: ops.CharmBase, key: str = "problems"):
        super().__init__(charm, key)
        self._stored.set_default(items="[]")
        self._current: list[ops.StatusBase] | None = None

    def start(self) -> None:
        """A reconcile begins: forget what the last one found."""
        self._current = []
        self._stored.items = "[]"

    def add(self, status: ops.StatusBase) -> None:
        """Record a problem of this reconcile."""
        if self._current is None:
            self.start()
        assert self._current is not None
        self._current.append(status)
        self._stored.items = json.dumps([[s.name, s.message] for s in self._current])

    def __bool__(self) -> bool:
        return bool(self.statuses())

    def statuses(self) -> list[ops.StatusBase]:
        """This hook's problems if it reconciled, else those the last reconcile recorded."""
        if self._current is not None:
            return list(self._current)
        return [_KINDS[name](message) for name, message in json.loads(self._stored.items)]


def add_statuses(event: ops.CollectStatusEvent, *statuses: ops.StatusBase | None) -> None:
    """Offer every status that is there to collect-status (which reports the most severe)."""
    for status in statuses:
        if status is not None:
            event.add_status(status)
