import ops
import pytest
from ops import testing

from dsplib.status import Problems

META = {"name": "status-demo"}
CONFIG = {"options": {"ok": {"type": "boolean", "default": True}}}


class StatusCharm(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.problems = Problems(self)
        framework.observe(self.on.config_changed, self._reconcile)
        framework.observe(self.on.collect_unit_status, self._collect)

    def _reconcile(self, _: ops.EventBase) -> None:
        self.problems.start()
        if not self.config["ok"]:
            self.problems.add(ops.BlockedStatus("config ok: expected true"))
            self.problems.add(ops.WaitingStatus("and something else"))

    def _collect(self, event: ops.CollectStatusEvent) -> None:
        for status in self.problems.statuses():
            event.add_status(status)
        event.add_status(ops.ActiveStatus())


@pytest.fixture
def ctx() -> testing.Context:
    return testing.Context(StatusCharm, meta=META, config=CONFIG)


def test_problems_survive_hooks_that_do_not_reconcile(ctx):
    out = ctx.run(ctx.on.config_changed(), testing.State(config={"ok": False}))
    assert out.unit_status == testing.BlockedStatus("config ok: expected true")
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.BlockedStatus("config ok: expected true")


def test_a_clean_reconcile_clears_them(ctx):
    out = ctx.run(ctx.on.config_changed(), testing.State(config={"ok": False}))
    out = ctx.run(
        ctx.on.config_changed(),
        testing.State(config={"ok": True}, stored_states=out.stored_states),
    )
    assert out.unit_status == testing.ActiveStatus()
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus()
