"""infrastructure/bundle.yaml: Charmed Kubernetes and Ceph placed on the reference servers.

The checks are functions that return what is wrong, so each is also run on a broken copy of
the bundle to show it notices.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from typing import Any

import pytest

from bundles import (
    CHARMHUB_ENDPOINTS,
    ROOT,
    charmhub_charms,
    constraint_values,
    endpoints_of,
    is_subordinate,
    load,
    machine_of,
)

BUNDLE_PATH = ROOT / "infrastructure" / "bundle.yaml"
BUNDLE = load(BUNDLE_PATH)
KNOWN = charmhub_charms()

# The reference hardware: MAAS tag -> how many servers carry it.
HARDWARE = {"r640": 3, "r740xd": 4, "r740xd2": 3}
# Which servers each principal application belongs on.
PLACEMENT = {
    "kubernetes-control-plane": "r640",
    "etcd": "r640",
    "easyrsa": "r640",
    "kubernetes-worker": "r740xd",
    "ceph-mon": "r740xd2",
    "ceph-osd": "r740xd2",
    "ceph-radosgw": "r740xd2",
    "ceph-fs": "r740xd2",
}
# Units the hardware calls for: one per server of the role.
UNITS = {"kubernetes-control-plane": 3, "etcd": 3, "kubernetes-worker": 4, "ceph-osd": 3}
# Quorum members and gateways: three, each on its own storage server.
SPREAD = {"ceph-mon": 3, "ceph-radosgw": 3, "ceph-fs": 3}
PINNED = re.compile(r"^(?P<track>[\w.-]+)/(?P<risk>stable|candidate|beta|edge)$")


def relation_problems(bundle: dict[str, Any]) -> list[str]:
    """Relations whose ends are missing, unnamed, of different interfaces or the same role."""
    problems = []
    apps = bundle["applications"]
    for relation in bundle.get("relations") or []:
        if len(relation) != 2:
            problems.append(f"{relation}: a relation has two ends")
            continue
        sides = []
        for end in relation:
            app, _, endpoint = end.partition(":")
            if not endpoint:
                problems.append(f"{end}: name the endpoint explicitly")
            elif app not in apps:
                problems.append(f"{end}: no application {app}")
            elif endpoint not in endpoints_of(apps[app]):
                problems.append(f"{end}: {apps[app]['charm']} has no endpoint {endpoint}")
            else:
                sides.append(endpoints_of(apps[app])[endpoint])
        if len(sides) == 2:
            (role_a, iface_a), (role_b, iface_b) = sides
            if iface_a != iface_b:
                problems.append(f"{relation}: {iface_a} vs {iface_b}")
            if {role_a, role_b} != {"provides", "requires"}:
                problems.append(f"{relation}: {role_a}/{role_b}")
    return problems


def hardware_of(bundle: dict[str, Any]) -> dict[str, str]:
    """Machine -> the one reference-hardware tag its constraints ask MAAS for."""
    out = {}
    for machine, spec in (bundle.get("machines") or {}).items():
        tags = constraint_values((spec or {}).get("constraints", ""), "tags")
        kinds = [t for t in tags if t in HARDWARE]
        out[str(machine)] = kinds[0] if len(kinds) == 1 else f"ambiguous:{','.join(tags)}"
    return out


def placement_problems(bundle: dict[str, Any]) -> list[str]:
    """Units on servers without their role tag, principals without a rule, placed subordinates."""
    problems = []
    hardware = hardware_of(bundle)
    for app, spec in bundle["applications"].items():
        targets = spec.get("to") or []
        if is_subordinate(spec):
            if targets or spec.get("num_units"):
                problems.append(f"{app}: a subordinate has no units or placement of its own")
            continue
        if app not in PLACEMENT:
            problems.append(f"{app}: no placement rule (add it to PLACEMENT)")
            continue
        if not targets:
            problems.append(f"{app}: place it with `to:`")
        for target in targets:
            machine = machine_of(str(target))
            if hardware.get(machine) != PLACEMENT[app]:
                problems.append(
                    f"{app}: {target} is a {hardware.get(machine, 'missing machine')}, "
                    f"not a {PLACEMENT[app]}"
                )
    return problems


def count_problems(bundle: dict[str, Any]) -> list[str]:
    """Unit counts that do not match the servers, or units sharing a server they should not."""
    problems = []
    apps = bundle["applications"]
    for app, wanted in {**UNITS, **SPREAD}.items():
        spec = apps.get(app) or {}
        targets = [machine_of(str(t)) for t in spec.get("to") or []]
        if spec.get("num_units") != wanted:
            problems.append(
                f"{app}: {spec.get('num_units')} units, the hardware calls for {wanted}"
            )
        if len(targets) != spec.get("num_units"):
            problems.append(f"{app}: num_units and `to:` disagree")
        if len(set(targets)) != len(targets):
            problems.append(f"{app}: two units on one server ({targets})")
    return problems


def offer_problems(bundle: dict[str, Any]) -> list[str]:
    """Offers naming endpoints that do not exist or are not provided; a missing S3 offer."""
    problems = []
    s3_offers = []
    for app, spec in bundle["applications"].items():
        endpoints = endpoints_of(spec)
        for name, offer in (spec.get("offers") or {}).items():
            for endpoint in offer.get("endpoints") or []:
                if endpoint not in endpoints:
                    problems.append(f"offer {name}: {app} has no endpoint {endpoint}")
                    continue
                role, interface = endpoints[endpoint]
                if role != "provides":
                    problems.append(f"offer {name}: {app}:{endpoint} is {role}, offer a provider")
                if interface == "s3" and spec["charm"] == "ceph-radosgw":
                    s3_offers.append(name)
    if not s3_offers:
        problems.append("no offer of ceph-radosgw's s3 endpoint (interface s3)")
    return problems


def channel_problems(bundle: dict[str, Any]) -> list[str]:
    """Channels that are not track/risk on a versioned track, or differ from the data file."""
    problems = []
    for app, spec in bundle["applications"].items():
        channel = str(spec.get("channel", ""))
        match = PINNED.match(channel)
        if not match or match["track"] == "latest":
            problems.append(f"{app}: pin a versioned track such as 1.35/stable, not {channel!r}")
        elif KNOWN[spec["charm"]].get("channel") != channel:
            problems.append(f"{app}: {channel} but the endpoints were read for another channel")
    return problems


def binding_problems(bundle: dict[str, Any]) -> list[str]:
    """Applications not bound, as a whole, to the one space of the hosts.

    Juju 4 has no default `alpha` space on MAAS: "set the default space using the
    default-space=<space> model config or bind endpoints explicitly before deploy" (Juju 4.0.0
    release notes, documentation.ubuntu.com/juju/latest/releasenotes/juju_4.0.x/juju_4.0.0/).
    The bundle does the latter, so it deploys the same on 3.6 and 4.
    """
    space = (bundle.get("variables") or {}).get("host-space")
    if not space:
        return ["variables: name the hosts' MAAS space in host-space"]
    problems = []
    for app, spec in bundle["applications"].items():
        bindings = spec.get("bindings") or {}
        if bindings.get("") != space:
            problems.append(
                f'{app}: bind all endpoints to the hosts\' space: bindings: {{"": *host-space}}'
            )
        problems += [
            f"{app}: {endpoint} bound to {bound!r}, not the hosts' space {space!r}"
            for endpoint, bound in bindings.items()
            if bound != space
        ]
    return problems


def test_bundle_parses_as_a_machine_bundle():
    assert BUNDLE.get("bundle", "machines") == "machines"
    assert BUNDLE["default-base"] == "ubuntu@24.04"
    assert len(BUNDLE["machines"]) == sum(HARDWARE.values())
    assert BUNDLE["applications"]
    assert BUNDLE["relations"]


def test_every_relation_joins_endpoints_that_exist_with_one_interface_and_opposite_roles():
    assert relation_problems(BUNDLE) == []


def test_every_charm_has_its_endpoints_and_their_source_in_the_data_file():
    for app, spec in BUNDLE["applications"].items():
        entry = KNOWN.get(spec["charm"])
        assert entry, f"{app}: add {spec['charm']} to {CHARMHUB_ENDPOINTS.name}"
        assert entry.get("source"), f"{spec['charm']}: say where the endpoints were read"
        assert entry.get("images") == {}, f"{spec['charm']}: a machine charm has no OCI images"


def test_the_servers_are_the_reference_hardware():
    hardware = hardware_of(BUNDLE)
    assert Counter(hardware.values()) == Counter(HARDWARE), hardware


def test_every_application_is_placed_only_on_servers_with_its_tag():
    assert placement_problems(BUNDLE) == []


def test_unit_counts_match_the_hardware():
    assert count_problems(BUNDLE) == []


def test_every_subordinate_is_related_to_a_principal():
    apps = BUNDLE["applications"]
    for app, spec in apps.items():
        if not is_subordinate(spec):
            continue
        partners = {
            end.partition(":")[0]
            for relation in BUNDLE["relations"]
            if app in {e.partition(":")[0] for e in relation}
            for end in relation
        } - {app}
        assert any(not is_subordinate(apps[p]) for p in partners), f"{app}: no principal"


def test_the_s3_offer_names_an_endpoint_with_interface_s3():
    assert offer_problems(BUNDLE) == []
    offer = BUNDLE["applications"]["ceph-radosgw"]["offers"]["ceph-radosgw"]
    assert offer["endpoints"] == ["s3"]


def test_every_application_is_bound_to_the_hosts_space():
    assert binding_problems(BUNDLE) == []


def test_every_channel_is_pinned():
    assert channel_problems(BUNDLE) == []


def test_kubernetes_snaps_follow_the_charm_track():
    for app in ("kubernetes-control-plane", "kubernetes-worker"):
        spec = BUNDLE["applications"][app]
        assert spec["options"]["channel"] == spec["channel"], app


def test_rbd_is_the_default_storage_class_and_cephfs_is_offered():
    options = BUNDLE["applications"]["ceph-csi"]["options"]
    assert options["default-storage"] == "ceph-xfs"
    assert options["cephfs-enable"] is True
    relations = {tuple(sorted(r)) for r in BUNDLE["relations"]}
    assert ("ceph-csi:ceph-client", "ceph-mon:client") in relations
    assert ("ceph-fs:ceph-mds", "ceph-mon:mds") in relations


def test_highly_available_applications_have_their_virtual_address():
    vip_option = {"kubernetes-control-plane": "ha-cluster-vip", "ceph-radosgw": "vip"}
    for app, option in vip_option.items():
        assert BUNDLE["applications"][app]["options"].get(option), f"{app}: set {option}"


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (lambda b: b["applications"]["ceph-osd"].update(to=["0", "1", "2"]), placement_problems),
        (lambda b: b["applications"]["ceph-mon"].pop("bindings"), binding_problems),
        (lambda b: b["applications"]["etcd"]["bindings"].update(db="other"), binding_problems),
        (lambda b: b["applications"]["etcd"].update(to=["lxd:7", "1", "2"]), placement_problems),
        (lambda b: b["applications"]["calico"].update(num_units=1), placement_problems),
        (lambda b: b["applications"]["kubernetes-worker"].update(num_units=3), count_problems),
        (
            lambda b: b["applications"]["ceph-mon"].update(to=["lxd:7", "lxd:7", "lxd:9"]),
            count_problems,
        ),
        (lambda b: b["relations"].append(["ceph-osd:mon", "ceph-mon:client"]), relation_problems),
        (lambda b: b["relations"].append(["ceph-csi", "ceph-mon:client"]), relation_problems),
        (
            lambda b: b["relations"].append(["calico:cni", "containerd:containerd"]),
            relation_problems,
        ),
        (
            lambda b: b["applications"]["ceph-radosgw"]["offers"]["ceph-radosgw"].update(
                endpoints=["gateway"]
            ),
            offer_problems,
        ),
        (
            lambda b: b["applications"]["ceph-radosgw"].update(channel="latest/stable"),
            channel_problems,
        ),
        (lambda b: b["applications"]["easyrsa"].update(channel="1.34/stable"), channel_problems),
        (lambda b: b["applications"]["ceph-fs"].update(channel="squid"), channel_problems),
    ],
    ids=[
        "osd-on-control-plane",
        "unbound-application",
        "endpoint-in-another-space",
        "etcd-in-storage-container",
        "placed-subordinate",
        "three-workers",
        "two-mons-on-one-server",
        "mismatched-interface",
        "unnamed-endpoint",
        "two-requirers",
        "offer-without-s3",
        "latest-track",
        "track-not-in-data-file",
        "no-risk",
    ],
)
def test_the_checks_notice_a_broken_bundle(change, check):
    broken = copy.deepcopy(BUNDLE)
    change(broken)
    assert check(broken) != []


def test_constraint_values_reads_tags_among_other_constraints():
    assert constraint_values("arch=amd64 tags=r640,gpu mem=64G", "tags") == ["r640", "gpu"]
    assert constraint_values("tags=r740xd2", "mem") == []
    assert machine_of("lxd:7") == "7"
    assert machine_of("3") == "3"


def test_the_how_to_names_the_bundle_variables_offer_and_tags():
    how_to = (ROOT / "docs" / "how-to" / "infrastructure.md").read_text()
    for variable in BUNDLE["variables"]:
        assert f"`{variable}`" in how_to, f"describe the variable {variable}"
    for spec in BUNDLE["applications"].values():
        for offer in spec.get("offers") or {}:
            assert f"admin/infra.{offer}" in how_to, f"give the URL of the offer {offer}"
    for tag in HARDWARE:
        assert f"tags create name={tag} " in how_to, f"show how to create the tag {tag}"
    assert "juju add-k8s" in how_to
    assert (
        "--storage " + BUNDLE["applications"]["ceph-csi"]["options"]["default-storage"] in how_to
    )
