import json

from ops import testing

from demo_charm import HERE
from dsplib import observability as obs

MODEL = testing.Model(name="demo-model", uuid="12345678-aaaa-bbbb-cccc-1234567890ab")
TOPOLOGY = obs.Topology("demo-model", MODEL.uuid, "demo", "demo/0", "demo")


def state(*relations, leader=True, containers=()) -> testing.State:
    return testing.State(
        model=MODEL,
        leader=leader,
        relations=set(relations),
        containers=set(containers) or {testing.Container("workload")},
    )


def test_alert_rules_are_scoped_to_the_application():
    rules = obs.load_alert_rules(HERE / "prometheus_alert_rules", TOPOLOGY)
    names = [g["name"] for g in rules["groups"]]
    assert names == [
        "demo-model_12345678_demo_demo_alerts",
        "demo-model_12345678_demo_single_alerts",
    ]
    down = rules["groups"][0]["rules"][0]
    assert down["expr"] == (
        'up{juju_model="demo-model",juju_model_uuid="12345678-aaaa-bbbb-cccc-1234567890ab",'
        'juju_application="demo"} < 1'
    )
    assert down["labels"]["severity"] == "critical"
    assert down["labels"]["juju_application"] == "demo"
    assert down["labels"]["juju_charm"] == "demo"
    assert "%%" not in json.dumps(rules)


def test_no_rules_is_an_empty_object(tmp_path):
    assert obs.load_alert_rules(tmp_path, TOPOLOGY) == {}
    assert obs.load_alert_rules(tmp_path / "absent", TOPOLOGY) == {}


def test_metrics_provider_publishes_jobs_topology_rules_and_address(ctx):
    relation = testing.Relation("metrics-endpoint", remote_app_name="prometheus")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relation))
    rel = out.get_relation(relation.id)
    assert json.loads(rel.local_app_data["scrape_jobs"]) == [
        {"static_configs": [{"targets": ["*:8080"]}]}
    ]
    meta = json.loads(rel.local_app_data["scrape_metadata"])
    assert meta == {
        "model": "demo-model",
        "model_uuid": MODEL.uuid,
        "application": "demo",
        "unit": "demo/0",
        "charm_name": "demo",
    }
    assert len(json.loads(rel.local_app_data["alert_rules"])["groups"]) == 2
    assert rel.local_unit_data["prometheus_scrape_unit_name"] == "demo/0"
    assert rel.local_unit_data["prometheus_scrape_unit_address"]


def test_metrics_provider_non_leader_writes_only_its_unit(ctx):
    relation = testing.Relation("metrics-endpoint")
    out = ctx.run(ctx.on.relation_joined(relation, remote_unit=0), state(relation, leader=False))
    rel = out.get_relation(relation.id)
    assert "scrape_jobs" not in rel.local_app_data
    assert rel.local_unit_data["prometheus_scrape_unit_name"] == "demo/0"


def test_dashboards_are_encoded_tagged_and_not_rewritten(ctx):
    relation = testing.Relation("grafana-dashboard", remote_app_name="grafana")
    out = ctx.run(ctx.on.relation_created(relation), state(relation))
    payload = json.loads(out.get_relation(relation.id).local_app_data["dashboards"])
    template = payload["templates"]["file:demo"]
    dashboard = json.loads(obs.decode_dashboard(template["content"]))
    assert dashboard["title"] == "Demo"
    assert "charm: demo" in dashboard["tags"]
    assert dashboard["uid"] != "original" and len(dashboard["uid"]) <= 40
    assert template["charm"] == "demo"
    assert template["juju_topology"]["application"] == "demo"
    assert len(template["dashboard_alt_uid"]) == 16

    again = ctx.run(ctx.on.leader_elected(), out)
    payload2 = json.loads(again.get_relation(relation.id).local_app_data["dashboards"])
    assert payload2["uuid"] == payload["uuid"]  # unchanged content: no write, no wake-up


def test_log_forwarding_targets_every_loki_unit(ctx):
    relation = testing.Relation(
        "logging",
        remote_units_data={
            0: {"endpoint": json.dumps({"url": "http://loki-0:3100/loki/api/v1/push"})},
            1: {"endpoint": "not json"},
        },
    )
    container = testing.Container("workload", can_connect=True)
    out = ctx.run(
        ctx.on.relation_changed(relation, remote_unit=0), state(relation, containers=[container])
    )
    plan = out.get_container("workload").plan.to_dict()
    target = plan["log-targets"]["remote/0"]
    assert target["location"] == "http://loki-0:3100/loki/api/v1/push"
    assert target["services"] == ["all"]
    assert target["labels"]["juju_application"] == "demo"
    assert "remote/1" not in plan["log-targets"]

    gone = ctx.run(ctx.on.relation_broken(relation), out)
    target = gone.get_container("workload").plan.to_dict()["log-targets"]["remote/0"]
    assert target["services"] == ["-all"]
