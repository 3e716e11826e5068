"""Which events run a charm's reconcile.

Our charms have one idempotent reconcile; it must run whenever something it reads may have
changed: the lifecycle events, Pebble becoming ready, and any relation joining, changing or
leaving. Listing those by hand in every charm is how one gets forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ops

RELATION_EVENTS = ("relation_joined", "relation_changed", "relation_broken")


def observe_reconcile(
    charm: ops.CharmBase, handler: Callable[[Any], None], *extra: ops.BoundEvent
) -> None:
    """Observe `handler` on lifecycle, pebble-ready and every relation event, plus `extra`."""
    on = charm.on
    events: list[ops.BoundEvent] = [
        on.install,
        on.config_changed,
        on.upgrade_charm,
        on.leader_elected,
        on.update_status,
    ]
    events += [on[container].pebble_ready for container in charm.meta.containers]
    events += [
        getattr(on[endpoint], kind)
        for endpoint in charm.meta.relations
        for kind in RELATION_EVENTS
    ]
    seen: set[str] = set()
    for event in [*events, *extra]:
        key = f"{event.emitter.handle.path}/{event.event_kind}"
        if key not in seen:
            seen.add(key)
            charm.framework.observe(event, handler)
