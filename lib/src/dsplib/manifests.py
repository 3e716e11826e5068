"""The application's Kubernetes objects as a charm component: leader-only, stateful, quiet.

`KubernetesManifests` keeps the inventory of what was applied in charm state, so every hook
can call `reconcile()` unconditionally: when nothing changed it costs a hash and no API call.
The outcome of the last attempt is kept in charm state too, so the status stays true on hooks
that do not reconcile (actions, for instance) until an attempt succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import ops

from dsplib.kubernetes import (
    Inventory,
    KubernetesError,
    KubernetesObjects,
    RejectedError,
    TrustError,
    iter_kinds,
)

logger = logging.getLogger(__name__)


class KubernetesManifests(ops.Object):
    """Reconciles the objects a charm renders; the leader does the work for the application."""

    _stored = ops.StoredState()

    # Tests replace this to hand in a fake lightkube client.
    client_factory: Callable[[str], Any] | None = None

    def __init__(self, charm: ops.CharmBase, key: str = "kubernetes"):
        super().__init__(charm, key)
        self._stored.set_default(inventory="", error="", error_kind="")
        client = self.client_factory(charm.app.name) if self.client_factory else None
        self.engine = KubernetesObjects(charm.app.name, charm.model.name, client=client)

    @property
    def inventory(self) -> Inventory | None:
        """What this unit last applied (None before the first apply or after a state loss)."""
        return Inventory.loads(self._stored.inventory)

    def reconcile(
        self, objects: Iterable[Mapping[str, Any]], *, verify: bool = False, force: bool = False
    ) -> bool:
        """Make the cluster hold `objects`; True when the cluster now holds them.

        Non-leaders do nothing and return False. `verify` also reads back every object of the
        inventory and re-applies when one was deleted behind our back (for update-status);
        `force` does not trust the stored inventory (for upgrade-charm): it reads our labelled
        objects from the cluster, applies those missing or holding other content, and prunes
        the ones this revision no longer renders; when nothing changed it writes nothing.
        """
        if not self.model.unit.is_leader():
            return False
        previous = self.inventory
        try:
            if verify and previous is not None and not force:
                gone = self.engine.missing(previous)
                if gone:
                    logger.warning("re-creating deleted objects: %s", ", ".join(map(str, gone)))
                    force = True
            current = self.engine.apply(objects, previous, force=force)
        except KubernetesError as err:
            self._record(err)
            return False
        self._stored.inventory = current.dumps()
        self._stored.error = self._stored.error_kind = ""
        return True

    def remove(self, objects: Iterable[Mapping[str, Any]] = ()) -> None:
        """Delete every object of the application, when the application itself goes away.

        A unit removed by scaling down must not take the application's objects with it, so
        this only acts when Juju plans no units at all for the application.
        """
        if self.model.app.planned_units() > 0:
            logger.info("unit removed while the application stays: keeping its objects")
            return
        try:
            self.engine.remove(self.inventory, kinds=iter_kinds(objects))
        except KubernetesError as err:
            # The hook cannot be retried usefully once the unit is gone: say what is left.
            logger.error("could not delete all Kubernetes objects of %s: %s", self.app, err)
            return
        self._stored.inventory = ""

    @property
    def app(self) -> str:
        """Name of the owning application."""
        return self.model.app.name

    def status(self) -> ops.StatusBase | None:
        """Status of the leader's last attempt, None if it worked (or on other units)."""
        if not self.model.unit.is_leader():
            return None
        if self._stored.error_kind == "trust":
            return ops.BlockedStatus(self._stored.error)
        if self._stored.error_kind == "rejected":
            return ops.BlockedStatus(
                f"{self._stored.error}; check the config (juju config {self.app}) "
                "and what the relations send"
            )
        if self._stored.error:
            return ops.WaitingStatus(f"{self._stored.error}; retrying")
        return None

    def _record(self, err: KubernetesError) -> None:
        self._stored.error = str(err)
        self._stored.error_kind = (
            "trust"
            if isinstance(err, TrustError)
            else "rejected"
            if isinstance(err, RejectedError)
            else "transient"
        )
        if isinstance(err, TrustError):
            logger.error("Kubernetes API refused access (%s): %s", err.detail, err)
        elif isinstance(err, RejectedError):
            logger.error("Kubernetes API rejected an object: %s", err)
        else:
            logger.warning("Kubernetes API not available, will retry: %s", err)


def error_status(err: KubernetesError, doing: str) -> ops.StatusBase:
    """The status for a failed API call outside reconcile: what to run, or that we retry.

    403 blocks with the `juju trust` command, 400/422 block naming `juju config`; the rest
    (conflict, throttling, server errors, timeouts) waits and retries on a later hook.
    """
    if isinstance(err, TrustError):
        return ops.BlockedStatus(str(err))
    if isinstance(err, RejectedError):
        return ops.BlockedStatus(f"{doing}: {err}; check the config (juju config)")
    return ops.WaitingStatus(f"{doing}: {err}; retrying")
