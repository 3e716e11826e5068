"""Juju's rules for local charms (tests/local_charms.py) on our files, and on broken fixtures.

The first tests run the rules on every bundle and overlay of the repository and on every
`juju deploy` command the docs give; the rest build small broken repositories (a charm,
a bundle, an overlay) and check that each mistake is found.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bundles import ROOT, load, merge, resolve_charm
from local_charms import (
    bundle_files,
    command_problems,
    deployment_problems,
    documented_deploys,
    file_problems,
    parse_deploy,
)

OVERLAYS = sorted((ROOT / "overlays").glob("*.yaml"))
DEPLOYS = list(documented_deploys())


@pytest.mark.parametrize("path", bundle_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_local_charm_path_resolves_from_its_own_file_to_a_packed_charm(path: Path):
    assert file_problems(path) == []


def test_the_bundle_files_are_found():
    found = {str(p.relative_to(ROOT)) for p in bundle_files()}
    assert {"bundle.yaml", "overlays/ceph.yaml", "overlays/backup.yaml"} <= found


@pytest.mark.parametrize("overlay", [None, *OVERLAYS], ids=lambda p: p.name if p else "alone")
def test_the_bundle_with_each_overlay_gives_local_charms_their_oci_images(overlay: Path | None):
    files = [ROOT / "bundle.yaml", *([overlay] if overlay else [])]
    assert deployment_problems(files) == []


@pytest.mark.parametrize(
    ("source", "argv"), DEPLOYS, ids=[f"{s}:{' '.join(a[2:3])}" for s, a in DEPLOYS]
)
def test_every_documented_deploy_command_works_by_juju_rules(source: str, argv: list[str]):
    assert command_problems(argv) == [], source


def test_the_documented_commands_are_found():
    targets = {parse_deploy(argv)[0] for _, argv in DEPLOYS}
    assert {"./bundle.yaml", "./build/dex.charm", "./build/kubeflow-backup.charm"} <= targets
    combined = [a for _, a in DEPLOYS if a.count("--overlay") == 4]
    assert combined, "overlays/README.md deploys the bundle with all four site overlays"


def test_relative_paths_resolve_against_the_directory_of_their_file():
    """The example of juju/juju PR 10487: an overlay's ./ is the overlay's directory."""
    assert resolve_charm(Path("/r/overlays"), "./build/a.charm") == "/r/overlays/build/a.charm"
    assert resolve_charm(Path("/r/overlays"), "../build/a.charm") == "/r/build/a.charm"
    assert resolve_charm(Path("/r"), "/abs/a.charm") == "/abs/a.charm"
    assert resolve_charm(Path("/r"), "s3-integrator") == "s3-integrator"


def test_overlay_maps_merge_key_by_key_as_juju_merges_them():
    base = {"applications": {"a": {"charm": "x", "options": {"k": 1, "j": 2}, "resources": {}}}}
    change = {"applications": {"a": {"options": {"k": None, "m": 3}, "resources": {"r": "i"}}}}
    assert merge(base, change)["applications"]["a"] == {
        "charm": "x",
        "options": {"j": 2, "m": 3},
        "resources": {"r": "i"},
    }
    cleared = merge(base, {"applications": {"a": {"options": {}}}})
    assert cleared["applications"]["a"]["options"] == {}


# --- broken fixtures: each must be reported --------------------------------------------------


def write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with two charms (one with an OCI image) and a bundle that is right."""
    write(tmp_path / "charms" / "web" / "charmcraft.yaml", {
        "name": "web",
        "resources": {"oci-image": {"type": "oci-image"}, "notes": {"type": "file"}},
    })  # fmt: skip
    write(tmp_path / "charms" / "plain" / "charmcraft.yaml", {"name": "plain"})
    write(tmp_path / "bundle.yaml", {
        "bundle": "kubernetes",
        "applications": {"web": {"charm": "./build/web.charm", "resources": {"oci-image": "i"}}},
    })  # fmt: skip
    return tmp_path


def overlay(repo: Path, apps: dict) -> Path:
    return write(repo / "overlays" / "extra.yaml", {"applications": apps})


def test_fixture_repository_is_right(repo: Path):
    extra = overlay(repo, {"plain": {"charm": "../build/plain.charm"}, "web": {"scale": 2}})
    assert file_problems(repo / "bundle.yaml", repo) == []
    assert file_problems(extra, repo) == []
    assert deployment_problems([repo / "bundle.yaml", extra], repo) == []


def test_overlay_path_written_from_the_bundle_directory_fails(repo: Path):
    extra = overlay(repo, {"plain": {"charm": "./build/plain.charm"}})
    (problem,) = file_problems(extra, repo)
    assert f"to {repo}/overlays/build/plain.charm" in problem
    assert problem.endswith("write ../build/plain.charm")


def test_bundle_path_written_from_another_directory_fails(repo: Path):
    write(repo / "bundle.yaml", {"applications": {"web": {"charm": "../build/web.charm"}}})
    (problem,) = file_problems(repo / "bundle.yaml", repo)
    assert problem.endswith("write ./build/web.charm")


def test_unknown_charm_fails(repo: Path):
    extra = overlay(repo, {"nope": {"charm": "../build/nope.charm"}})
    (problem,) = file_problems(extra, repo)
    assert "no charm of charms/" in problem


def test_absolute_path_fails(repo: Path):
    extra = overlay(repo, {"plain": {"charm": str(repo / "build" / "plain.charm")}})
    (problem,) = file_problems(extra, repo)
    assert "is absolute" in problem


def test_packed_file_not_called_after_the_charm_name_fails(repo: Path):
    write(repo / "charms" / "plain" / "charmcraft.yaml", {"name": "plain-k8s"})
    extra = overlay(repo, {"plain": {"charm": "../build/plain.charm"}})
    (problem,) = file_problems(extra, repo)
    assert "holds the charm named 'plain-k8s'" in problem


def test_missing_oci_image_fails_and_a_file_resource_is_not_required(repo: Path):
    extra = overlay(repo, {"web2": {"charm": "../build/web.charm"}})
    (problem,) = deployment_problems([repo / "bundle.yaml", extra], repo)
    assert "web2 is a local charm and needs resources: oci-image: <image>" in problem


def test_overlay_takes_the_oci_image_from_the_bundle_application_it_extends(repo: Path):
    extra = overlay(repo, {"web": {"charm": "../build/web.charm", "options": {"a": 1}}})
    assert deployment_problems([repo / "bundle.yaml", extra], repo) == []
    cleared = overlay(repo, {"web": {"resources": {}}})
    assert deployment_problems([repo / "bundle.yaml", cleared], repo)


def test_overlay_that_names_a_local_charm_for_a_charmhub_application_needs_its_images(repo: Path):
    write(repo / "bundle.yaml", {"applications": {"web": {"charm": "web-k8s", "channel": "1/x"}}})
    extra = overlay(repo, {"web": {"charm": "../build/web.charm"}})
    assert load(extra)["applications"]["web"]["charm"] == f"{repo}/build/web.charm"
    assert deployment_problems([repo / "bundle.yaml", extra], repo)


def test_single_charm_command_without_its_oci_image_fails(repo: Path):
    command = ["juju", "deploy", "./build/web.charm", "--trust"]
    (problem,) = command_problems(command, repo)
    assert problem.endswith("add --resource oci-image=<image>")
    assert command_problems([*command, "--resource", "oci-image=i"], repo) == []
    assert command_problems([*command, "--resource=oci-image=i"], repo) == []


def test_single_charm_command_with_a_wrong_path_fails(repo: Path):
    (problem,) = command_problems(["juju", "deploy", "./other.charm", "--trust"], repo)
    assert "no charm of charms/" in problem


def test_a_charm_directory_fails_as_juju_4_deploys_only_packed_charms(repo: Path):
    (problem,) = command_problems(["juju", "deploy", "./charms/plain", "--trust"], repo)
    assert "Juju 4 deploys only packed charms" in problem
    extra = overlay(repo, {"plain": {"charm": "../charms/plain"}})
    (problem,) = file_problems(extra, repo)
    assert problem.endswith("name ./build/plain.charm")


def test_documented_bundle_command_with_a_missing_overlay_fails(repo: Path):
    command = ["juju", "deploy", "./bundle.yaml", "--overlay", "overlays/none.yaml"]
    (problem,) = command_problems(command, repo)
    assert "no file" in problem


def test_commands_are_read_from_code_blocks_comments_and_inline_code(repo: Path):
    (repo / "docs").mkdir()
    (repo / "docs" / "a.md").write_text(
        "Run `juju deploy ./build/web.charm --trust` or\n\n"
        "```\njuju deploy ./bundle.yaml \\\n    --overlay overlays/extra.yaml\n```\n"
    )
    write(repo / "overlays" / "extra.yaml", {"applications": {}})
    (repo / "overlays" / "extra.yaml").write_text(
        "#   juju deploy ./bundle.yaml --overlay overlays/extra.yaml\napplications: {}\n"
    )
    found = [argv for _, argv in documented_deploys(repo)]
    assert ["juju", "deploy", "./build/web.charm", "--trust"] in found
    assert ["juju", "deploy", "./bundle.yaml", "--overlay", "overlays/extra.yaml"] in found
    assert len(found) == 3
