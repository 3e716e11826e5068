"""Pebble helpers: change the workload only when its definition changed."""

from __future__ import annotations

from collections.abc import Iterable

import ops


def ensure_layer(container: ops.Container, label: str, layer: ops.pebble.LayerDict) -> bool:
    """Add `layer` and replan only if it changes a service or check of the current plan.

    Replanning restarts changed services; doing it on every hook would restart nothing but
    still costs a Pebble round trip and log noise, so unchanged layers are left alone.
    Returns True when the plan was changed.
    """
    new = ops.pebble.Layer(layer)
    plan = container.get_plan()
    unchanged = all(
        name in plan.services and plan.services[name].to_dict() == service.to_dict()
        for name, service in new.services.items()
    ) and all(
        name in plan.checks and plan.checks[name].to_dict() == check.to_dict()
        for name, check in new.checks.items()
    )
    if unchanged:
        return False
    container.add_layer(label, new, combine=True)
    container.replan()
    return True


def services_running(container: ops.Container, names: Iterable[str]) -> bool:
    """True when Pebble reports every named service as running."""
    if not container.can_connect():
        return False
    wanted = list(names)
    services = container.get_services(*wanted)
    return all(name in services and services[name].is_running() for name in wanted)


def failing_checks(container: ops.Container, names: Iterable[str]) -> list[str]:
    """Names of the given Pebble checks that are not up (all of them if Pebble is away)."""
    wanted = list(names)
    if not container.can_connect():
        return wanted
    checks = container.get_checks(*wanted)
    return [
        name
        for name in wanted
        if name not in checks or checks[name].status != ops.pebble.CheckStatus.UP
    ]


def push_if_changed(
    container: ops.Container, path: str, content: str, *, mode: int = 0o600
) -> bool:
    """Write a file only when its content differs; True when it was written.

    Secrets and configuration files are private to the workload user by default (0600).
    """
    try:
        current = container.pull(path).read()
    except (ops.pebble.PathError, ops.pebble.APIError):
        current = None
    if current == content:
        return False
    container.push(path, content, make_dirs=True, permissions=mode)
    return True


def workload_status(
    container: ops.Container,
    services: Iterable[str],
    checks: Iterable[str],
    *,
    starting: str,
    checking: str,
) -> ops.StatusBase:
    """Waiting until Pebble runs every service and every check is up, then Active.

    `checking` is formatted with the names of the checks that are not up.
    """
    if not services_running(container, services):
        return ops.WaitingStatus(starting)
    failing = failing_checks(container, checks)
    if failing:
        return ops.WaitingStatus(checking.format(", ".join(failing)))
    return ops.ActiveStatus()
