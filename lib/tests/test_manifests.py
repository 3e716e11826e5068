from ops import testing

from dsplib.testing import FakeKubernetes

MODEL = testing.Model(name="demo-model")
WORKLOAD = testing.Container("workload")


def state(**kwargs) -> testing.State:
    kwargs.setdefault("leader", True)
    return testing.State(model=MODEL, containers={WORKLOAD}, **kwargs)


def test_leader_applies_and_repeated_events_write_nothing(ctx, kube: FakeKubernetes):
    out = ctx.run(ctx.on.config_changed(), state())
    assert kube.get_object("ConfigMap", "demo", "demo-model")["data"] == {"greeting": "hello"}
    assert out.unit_status == testing.ActiveStatus()
    kube.reset_calls()
    out = ctx.run(ctx.on.config_changed(), out)
    out = ctx.run(ctx.on.update_status(), out)
    assert kube.writes == []


def test_update_status_recreates_objects_deleted_behind_our_back(ctx, kube: FakeKubernetes):
    out = ctx.run(ctx.on.config_changed(), state())
    kube.objects.clear()
    ctx.run(ctx.on.update_status(), out)
    assert kube.find("ConfigMap", "demo", "demo-model") is not None


def test_changed_config_is_applied(ctx, kube: FakeKubernetes):
    out = ctx.run(ctx.on.config_changed(), state())
    ctx.run(
        ctx.on.config_changed(),
        state(
            config={"greeting": "bonjour"},
            stored_states=out.stored_states,
        ),
    )
    assert kube.get_object("ConfigMap", "demo")["data"] == {"greeting": "bonjour"}


def test_upgrade_checks_the_cluster_and_writes_only_what_differs(ctx, kube: FakeKubernetes):
    out = ctx.run(ctx.on.config_changed(), state())
    kube.reset_calls()
    out = ctx.run(ctx.on.upgrade_charm(), out)
    assert kube.writes == []
    kube.objects.clear()
    ctx.run(ctx.on.upgrade_charm(), out)
    assert kube.writes == [("apply", "ConfigMap/demo-model/demo")]


def test_upgrade_after_the_state_was_lost_writes_nothing_when_nothing_changed(ctx, kube):
    # Juju recreates a Kubernetes charm's container, and with it the charm's state, on refresh.
    ctx.run(ctx.on.config_changed(), state())
    kube.reset_calls()
    ctx.run(ctx.on.upgrade_charm(), state())
    assert kube.writes == []


def test_non_leader_never_touches_the_cluster(ctx, kube: FakeKubernetes):
    ctx.run(ctx.on.config_changed(), state(leader=False))
    assert kube.calls == []


def test_forbidden_blocks_with_the_trust_command_and_retries(ctx, kube: FakeKubernetes):
    kube.fail(403)
    out = ctx.run(ctx.on.config_changed(), state())
    assert out.unit_status == testing.BlockedStatus("run: juju trust demo --scope=cluster")
    kube.heal()
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus()
    assert kube.find("ConfigMap", "demo") is not None


def test_the_last_failure_shows_on_hooks_that_do_not_reconcile(ctx, kube: FakeKubernetes):
    kube.fail(403)
    out = ctx.run(ctx.on.config_changed(), state())
    out = ctx.run(ctx.on.start(), out)  # the demo charm does not reconcile on start
    assert out.unit_status == testing.BlockedStatus("run: juju trust demo --scope=cluster")


def test_an_object_the_api_rejects_blocks_naming_the_config_command(ctx, kube: FakeKubernetes):
    kube.fail(422, times=1)
    out = ctx.run(ctx.on.config_changed(), state())
    assert isinstance(out.unit_status, testing.BlockedStatus)
    assert "Kubernetes API 422" in out.unit_status.message
    assert "juju config demo" in out.unit_status.message
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus()


def test_server_errors_wait_and_retry(ctx, kube: FakeKubernetes):
    kube.fail(503, times=1)
    out = ctx.run(ctx.on.config_changed(), state())
    assert isinstance(out.unit_status, testing.WaitingStatus)
    assert "503" in out.unit_status.message
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.ActiveStatus()


def test_remove_of_the_application_deletes_objects(ctx, kube: FakeKubernetes):
    out = ctx.run(ctx.on.config_changed(), state())
    ctx.run(ctx.on.remove(), state(leader=True, planned_units=0, stored_states=out.stored_states))
    assert kube.objects == {}


def test_scaling_down_keeps_objects(ctx, kube: FakeKubernetes):
    out = ctx.run(ctx.on.config_changed(), state())
    ctx.run(ctx.on.remove(), state(leader=True, planned_units=1, stored_states=out.stored_states))
    assert kube.find("ConfigMap", "demo") is not None


def test_remove_survives_api_errors(ctx, kube: FakeKubernetes):
    out = ctx.run(ctx.on.config_changed(), state())
    kube.fail(503)
    ctx.run(ctx.on.remove(), state(leader=True, planned_units=0, stored_states=out.stored_states))
    assert kube.find("ConfigMap", "demo") is not None
