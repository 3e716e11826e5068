import ops
import pytest
from ops import testing

from dsplib.pebble import ensure_layer, failing_checks, services_running

META = {"name": "pebbly", "containers": {"app": {}}}
LAYER: ops.pebble.LayerDict = {
    "services": {
        "app": {"override": "replace", "command": "/bin/app --port 1", "startup": "enabled"}
    },
    "checks": {
        "up": {"override": "replace", "level": "ready", "http": {"url": "http://localhost:1/"}}
    },
}


class PebbleCharm(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.changed: bool | None = None
        framework.observe(self.on.app_pebble_ready, self._ready)

    def _ready(self, _: ops.EventBase) -> None:
        self.changed = ensure_layer(self.unit.get_container("app"), "app", LAYER)


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(PebbleCharm, meta=META)


def test_layer_is_added_once_and_replanned_only_on_change(ctx):
    container = testing.Container("app", can_connect=True)
    with ctx(ctx.on.pebble_ready(container), testing.State(containers={container})) as mgr:
        out = mgr.run()
        assert mgr.charm.changed is True
    assert out.get_container("app").plan.services["app"].command == "/bin/app --port 1"
    with ctx(ctx.on.pebble_ready(out.get_container("app")), out) as mgr:
        mgr.run()
        assert mgr.charm.changed is False


def test_service_and_check_state():
    ctx = testing.Context(PebbleCharm, meta=META)
    container = testing.Container(
        "app",
        can_connect=True,
        layers={"app": ops.pebble.Layer(LAYER)},
        service_statuses={"app": ops.pebble.ServiceStatus.ACTIVE},
        check_infos={
            testing.CheckInfo(
                "up", status=ops.pebble.CheckStatus.DOWN, level=ops.pebble.CheckLevel.READY
            )
        },
    )
    with ctx(ctx.on.update_status(), testing.State(containers={container})) as mgr:
        c = mgr.charm.unit.get_container("app")
        assert services_running(c, ["app"])
        assert failing_checks(c, ["up"]) == ["up"]
    offline = testing.Container("app", can_connect=False)
    with ctx(ctx.on.update_status(), testing.State(containers={offline})) as mgr:
        c = mgr.charm.unit.get_container("app")
        assert not services_running(c, ["app"])
        assert failing_checks(c, ["up"]) == ["up"]


def test_workload_status_names_what_is_not_up():
    from dsplib.pebble import workload_status

    ctx = testing.Context(PebbleCharm, meta=META)
    down = testing.Container(
        "app",
        can_connect=True,
        layers={"app": ops.pebble.Layer(LAYER)},
        service_statuses={"app": ops.pebble.ServiceStatus.ACTIVE},
        check_infos={
            testing.CheckInfo(
                "up", status=ops.pebble.CheckStatus.DOWN, level=ops.pebble.CheckLevel.READY
            )
        },
    )
    with ctx(ctx.on.update_status(), testing.State(containers={down})) as mgr:
        c = mgr.charm.unit.get_container("app")
        status = workload_status(c, ["app"], ["up"], starting="starting", checking="waiting: {}")
        assert status == ops.WaitingStatus("waiting: up")
    offline = testing.Container("app", can_connect=False)
    with ctx(ctx.on.update_status(), testing.State(containers={offline})) as mgr:
        c = mgr.charm.unit.get_container("app")
        status = workload_status(c, ["app"], ["up"], starting="starting", checking="waiting: {}")
        assert status == ops.WaitingStatus("starting")
