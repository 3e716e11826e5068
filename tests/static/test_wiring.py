"""Every relation of our charms in the bundle and overlays, exercised on the wire.

For each relation that involves one of our charms, the charm runs (Scenario, Kubernetes
faked) with the other side's databag as its wire contract describes it
(data/databags.yaml), and then:
- it must reach the status the relation should give (not blocked or waiting, unless listed);
- what it writes must satisfy the contract the other side reads (SDI schemas, manifests that
  validate, scrape jobs, dashboards, issuer URL).
Where both sides are ours, the provider's databag from its run is what the requirer reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bundles import ROOT, endpoints_of, load, merge, our_charm
from dsplib import sdi
from dsplib.observability import decode_dashboard
from dsplib.testing import validate_manifests

DATABAGS = load(Path(__file__).parent / "data" / "databags.yaml")
CRDS = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "tests" / "crds").glob("*.yaml"))]
# Charms that check their S3 endpoint with a real request before doing anything: they get the
# real Ceph RGW of the test suite.
CHECKS_S3 = {"kubeflow-object-storage"}
# Statuses a charm rightly shows with only this one relation.
EXPECTED = {
    ("kubeflow-seldon-core", "s3-credentials"): (
        "blocked",
        "integrate secrets with resource-dispatcher to deliver S3 credentials",
    ),
    ("kafka-profiles", "secrets"): (
        "blocked",
        "integrate with Kafka: juju integrate kafka-profiles kafka-k8s",
    ),
    ("kafka-profiles", "pod-defaults"): (
        "blocked",
        "integrate with Kafka: juju integrate kafka-profiles kafka-k8s",
    ),
    ("kafka-profiles", "kafka"): (
        "blocked",
        "integrate secrets and pod-defaults with resource-dispatcher for Kafka access in profiles",
    ),
    ("spark-operator", "s3-credentials"): (
        "blocked",
        "integrate secrets and pod-defaults with resource-dispatcher for S3 access in profiles",
    ),
    ("flink-operator", "s3-credentials"): (
        "blocked",
        "integrate secrets and pod-defaults with resource-dispatcher for S3 access in profiles",
    ),
    # kfp-launcher names the Secret with the keys: one without the other fails pipeline steps.
    ("kubeflow-object-storage", "config-maps"): (
        "blocked",
        "integrate secrets with resource-dispatcher: profiles need both the kfp-launcher "
        "ConfigMap and the Secret with its keys",
    ),
    ("kubeflow-object-storage", "secrets"): (
        "blocked",
        "integrate config-maps with resource-dispatcher: profiles need both the kfp-launcher "
        "ConfigMap and the Secret with its keys",
    ),
}


def deployment() -> dict[str, Any]:
    merged = load(ROOT / "bundle.yaml")
    for overlay in sorted((ROOT / "overlays").glob("*.yaml")):
        if overlay.stem != "local":
            merged = merge(merged, load(overlay))
    return merged


def our_ends() -> list[tuple[str, str, str, str, str]]:
    """(app, charm, endpoint, role, interface, other app) for relations with one of ours."""
    deployed = deployment()
    apps = deployed["applications"]
    ends = []
    for relation in deployed["relations"]:
        for here, there in (relation, relation[::-1]):
            app, _, endpoint = here.partition(":")
            charm = our_charm(apps.get(app, {})) if app in apps else None
            if charm is None:
                continue
            role, interface = endpoints_of(apps[app])[endpoint]
            ends.append((charm, endpoint, role, interface, there.partition(":")[0]))
    return sorted(set(ends))


ENDS = our_ends()


def run_charm(charm: str, spec: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    charm_dir = ROOT / "charms" / charm
    spec_file = tmp_path / f"{charm}-{spec['endpoint']}.json"
    spec_file.write_text(json.dumps(spec))
    env = {**os.environ, "PYTHONPATH": str(charm_dir / "src")}
    out = subprocess.run(  # noqa: S603 - our own interpreter and tool
        [sys.executable, str(ROOT / "tools" / "wiring.py"), str(charm_dir), str(spec_file)],
        env=env,
        capture_output=True,
        text=True,
        cwd=charm_dir,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def other_side(interface: str, other_app: str, tmp_path: Path) -> dict[str, Any]:
    """The databag the other application writes: from its own run when it is ours."""
    apps = deployment()["applications"]
    other_charm = our_charm(apps.get(other_app, {})) if other_app in apps else None
    if other_charm is None:
        assert interface in DATABAGS, f"add the {interface} contract to data/databags.yaml"
        return DATABAGS[interface]
    endpoint = next(e for e, (_, i) in endpoints_of(apps[other_app]).items() if i == interface)
    produced = run_charm(other_charm, {"endpoint": endpoint, "remote_app": "peer"}, tmp_path)
    return {
        "remote_app": other_app,
        "remote_app_data": produced["app_data"],
        "remote_unit_data": produced["unit_data"],
    }


def test_our_charms_have_relations_in_the_bundle():
    assert {e[0] for e in ENDS} >= {"kubeflow-seldon-core", "dex", "intel-notebooks"}


def real_s3(request: pytest.FixtureRequest) -> dict[str, Any]:
    """s3-integrator's databag pointing at the real Ceph RGW of the test suite."""
    rgw = request.getfixturevalue("ceph_rgw")
    return {
        **DATABAGS["s3"],
        "remote_app_data": {
            **DATABAGS["s3"]["remote_app_data"],
            # a name, as sites give their gateway (a loopback IP is rightly refused)
            "endpoint": rgw.endpoint.replace("127.0.0.1", "localhost"),
            "access-key": rgw.access_key,
            "secret-key": rgw.secret_key,
            "region": rgw.region,
        },
    }


@pytest.mark.parametrize("end", ENDS, ids=[f"{e[0]}:{e[1]}-{e[4]}" for e in ENDS])
def test_relation_works_on_the_wire(end, tmp_path: Path, request: pytest.FixtureRequest):
    charm, endpoint, role, interface, other_app = end
    remote = other_side(interface, other_app, tmp_path)
    extra = []
    if interface == "s3" and charm in CHECKS_S3:
        remote = real_s3(request)
    elif charm in CHECKS_S3:
        extra.append({"endpoint": "s3-credentials", **real_s3(request)})
    spec = {
        "endpoint": endpoint,
        "remote_app": remote["remote_app"],
        "remote_app_data": remote.get("remote_app_data", {}),
        "remote_unit_data": remote.get("remote_unit_data", {}),
        "secrets": remote.get("secrets", []),
        "config": DATABAGS.get("charm-config", {}).get(charm, {}),
        "extra_relations": extra,
    }
    result = run_charm(charm, spec, tmp_path)
    status, message = result["status"]
    expected = EXPECTED.get((charm, endpoint))
    if expected:
        assert [status, message] == list(expected)
    else:
        assert status in ("active", "maintenance"), f"{charm}:{endpoint}: {status} {message}"
    check_contract(interface, role, result)


def check_contract(interface: str, role: str, result: dict[str, Any]) -> None:
    """What our side wrote is what the other side's contract expects."""
    app = result["app_data"]
    if interface in sdi.SCHEMAS and role == _writer_role(interface):
        version = max(yaml.safe_load(app["_supported_versions"]), key=lambda v: int(v[1:]))
        schema = sdi.SCHEMAS[interface][version][role]
        assert sdi.validate(yaml.safe_load(app["data"]), schema) == []
    elif interface == "dex-oidc-config":
        assert app["issuer-url"].startswith(("http://", "https://"))
    elif interface == "kubernetes_manifest":
        if app.get("is_secret") == "true":
            manifests = json.loads(result["secrets"][app["kubernetes_manifests"]]["manifests"])
        else:
            manifests = json.loads(app["kubernetes_manifests"])
        for manifest in manifests:
            placed = {**manifest, "metadata": {**manifest["metadata"], "namespace": "profile"}}
            validate_manifests([placed], CRDS)
    elif interface == "prometheus_scrape":
        jobs = json.loads(app["scrape_jobs"])
        assert jobs
        assert all(job["static_configs"] for job in jobs)
        assert json.loads(app["alert_rules"])["groups"]
        assert result["unit_data"]["prometheus_scrape_unit_name"]
    elif interface == "grafana_dashboard":
        templates = json.loads(app["dashboards"])["templates"]
        assert templates
        for template in templates.values():
            assert json.loads(decode_dashboard(template["content"]))["panels"]


def _writer_role(interface: str) -> str:
    return next(iter(next(iter(sdi.SCHEMAS[interface].values()))))
