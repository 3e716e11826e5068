"""bundle.yaml and overlays: they parse, merge, and every relation joins compatible endpoints."""

from pathlib import Path

import pytest
import yaml

from bundles import ROOT, endpoints_of, load, merge, our_charm
from conftest import CHARM_DIRS

BUNDLE = ROOT / "bundle.yaml"
OVERLAYS = sorted((ROOT / "overlays").glob("*.yaml"))
# Channels that follow a moving track, each with the reason.
UNVERSIONED_CHANNELS = {
    "resource-dispatcher": "only latest/edge (main) accepts manifests in Juju secrets",
    "ldap-integrator": "published on the latest track only",
}


def deployments() -> dict[str, dict]:
    """The bundle alone and with each overlay."""
    out = {"bundle": load(BUNDLE)}
    for overlay in OVERLAYS:
        out[overlay.stem] = merge(load(BUNDLE), load(overlay))
    return out


DEPLOYMENTS = deployments()


def test_bundle_is_a_kubernetes_bundle():
    bundle = load(BUNDLE)
    assert bundle["bundle"] == "kubernetes"
    assert bundle["applications"]


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_every_relation_joins_endpoints_that_exist_with_one_interface(name: str):
    deployment = DEPLOYMENTS[name]
    apps = deployment["applications"]
    saas = deployment.get("saas") or {}
    for relation in deployment["relations"]:
        assert len(relation) == 2, relation
        sides = []
        for end in relation:
            app, _, endpoint = end.partition(":")
            assert endpoint, f"{end}: name the endpoint explicitly"
            if app in saas:
                sides.append(None)
                continue
            assert app in apps, f"{end}: no application {app}"
            known = endpoints_of(apps[app])
            assert endpoint in known, f"{end}: {apps[app]['charm']} has no endpoint {endpoint}"
            sides.append(known[endpoint])
        if None in sides:
            continue
        (role_a, iface_a), (role_b, iface_b) = sides
        assert iface_a == iface_b, f"{relation}: {iface_a} vs {iface_b}"
        assert {role_a, role_b} == {"provides", "requires"}, f"{relation}: {role_a}/{role_b}"


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_every_charmhub_charm_is_pinned_and_every_local_one_is_ours(name: str):
    for app, spec in DEPLOYMENTS[name]["applications"].items():
        if our_charm(spec) is not None:
            continue  # Juju's rules for local charms: test_local_charms.py
        channel = spec.get("channel", "")
        assert "/" in channel, f"{app}: pin a channel such as 1.28/stable"
        if channel.startswith("latest/"):
            assert app in UNVERSIONED_CHANNELS, f"{app}: {channel} is not a pinned track"


def test_every_charm_of_ours_is_in_the_bundle():
    deployed = {our_charm(s) for d in DEPLOYMENTS.values() for s in d["applications"].values()}
    for charm_dir in CHARM_DIRS:
        assert charm_dir.name in deployed, f"{charm_dir.name} is in no bundle or overlay"


def uses_kubernetes_api(charm: str) -> bool:
    """A charm that talks to the Kubernetes API says so with `assumes: [k8s-api]`."""
    meta = yaml.safe_load((ROOT / "charms" / charm / "charmcraft.yaml").read_text())
    return "k8s-api" in (meta.get("assumes") or [])


def test_a_charm_that_does_not_assume_k8s_api_has_no_kubernetes_client():
    """Without trust a charm's API calls get 403: only charms assuming k8s-api may call it."""
    for charm_dir in CHARM_DIRS:
        if uses_kubernetes_api(charm_dir.name):
            continue
        for source in (charm_dir / "src").rglob("*.py"):
            text = source.read_text()
            for client in ("lightkube", "dsplib.kubernetes", "dsplib.manifests"):
                assert client not in text, f"{source}: add k8s-api to assumes and deploy trusted"


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_charms_that_use_the_kubernetes_api_are_trusted(name: str):
    for app, spec in DEPLOYMENTS[name]["applications"].items():
        charm = our_charm(spec)
        if charm is not None and uses_kubernetes_api(charm):
            assert spec.get("trust") is True, f"{app}: deploy with trust: true"


def test_overlay_semantics_remove_applications_with_their_relations():
    base = {
        "applications": {"a": {"charm": "x"}, "b": {"charm": "y"}},
        "relations": [["a:r", "b:r"]],
    }
    merged = merge(base, {"applications": {"b": None, "a": {"options": {"k": 1}}}})
    assert merged["applications"] == {"a": {"charm": "x", "options": {"k": 1}}}
    assert merged["relations"] == []


def test_overlays_exist():
    assert {p.stem for p in OVERLAYS} >= {"local", "ldap", "ceph", "backup", "cos"}
    for overlay in OVERLAYS:
        assert isinstance(load(overlay).get("applications", {}), dict), Path(overlay).name
