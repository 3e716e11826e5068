"""overlays/airgap.yaml is generated, complete and current; image names map as runtimes read them.

The mirror tests with real registries are in test_mirror.py; these need no program.
"""

from __future__ import annotations

import sys

import pytest
import yaml

from bundles import ROOT, load

sys.path.insert(0, str(ROOT / "tools"))
import airgap_overlay
from image_names import BadReference, ImageRef, mirror_name, mirror_names, parse
from images_list import MLSERVER_SUFFIXES, all_images, images_of

OVERLAY = ROOT / "overlays" / "airgap.yaml"
MIRROR = airgap_overlay.DEFAULT_MIRROR


def overlay_images(overlay: dict) -> set[str]:
    """Every image an overlay names, in resources, image options and image list options."""
    found = set()
    for spec in overlay["applications"].values():
        found |= set((spec.get("resources") or {}).values())
        for value in (spec.get("options") or {}).values():
            found |= set(yaml.safe_load(value)) if "\n" in value else {value}
    return found


def test_the_committed_overlay_is_what_the_generator_writes_for_the_default_mirror():
    assert OVERLAY.read_text() == airgap_overlay.render(load(ROOT / "bundle.yaml")), (
        "overlays/airgap.yaml is stale: run make airgap-overlay (./dev tox -e airgap-overlay)"
    )


def test_every_image_of_the_bundle_is_named_in_the_mirror_and_none_upstream():
    bundle = load(ROOT / "bundle.yaml")
    named = overlay_images(yaml.safe_load(OVERLAY.read_text()))
    assert all(image.startswith(f"{MIRROR}/") for image in named)
    # seldon-core's MLServer runtimes follow mlserver-image by suffix, so the overlay names
    # only the base image; every other image of the bundle is named one to one.
    wanted = {
        mirror_name(image, MIRROR)
        for spec in bundle["applications"].values()
        for image in images_of(spec)
        if not image.endswith(tuple(f"-{suffix}" for suffix in MLSERVER_SUFFIXES))
    }
    assert named == wanted


def test_the_overlay_keeps_local_charm_resources_and_adds_no_application():
    bundle = load(ROOT / "bundle.yaml")
    overlay = yaml.safe_load(OVERLAY.read_text())
    assert set(overlay["applications"]) <= set(bundle["applications"])
    assert not overlay.get("relations")
    assert overlay["applications"]["seldon-core"]["resources"]["oci-image"] == (
        f"{MIRROR}/seldonio/seldon-core-operator:1.17.1"
    )


def test_the_generator_writes_another_mirror(tmp_path):
    out = tmp_path / "site.yaml"
    assert airgap_overlay.main(["--mirror", "registry.corp:443", "--output", str(out)]) == 0
    named = overlay_images(yaml.safe_load(out.read_text()))
    assert named and all(image.startswith("registry.corp:443/") for image in named)
    with pytest.raises(SystemExit):
        airgap_overlay.main(["--mirror", "https://registry.corp", "--output", str(out)])


def test_images_list_leaves_out_the_airgap_overlay():
    assert not [image for image in all_images() if image.startswith(f"{MIRROR}/")]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        # distribution/reference normalize.go: Docker Hub, library/ for one component, latest
        ("busybox", ImageRef("docker.io", "library/busybox", "latest")),
        ("charmedkubeflow/dex:2.41.1", ImageRef("docker.io", "charmedkubeflow/dex", "2.41.1")),
        ("index.docker.io/seldonio/x:1", ImageRef("docker.io", "seldonio/x", "1")),
        ("registry.k8s.io/pause:3.10", ImageRef("registry.k8s.io", "pause", "3.10")),
        ("localhost/a/b:1", ImageRef("localhost", "a/b", "1")),
        ("127.0.0.1:5000/a:1", ImageRef("127.0.0.1:5000", "a", "1")),
        ("Registry/a:1", ImageRef("Registry", "a", "1")),
        ("ghcr.io/x/y@sha256:" + "a" * 64, ImageRef("ghcr.io", "x/y", None, "sha256:" + "a" * 64)),
    ],
)
def test_references_normalise_as_docker_reads_them(reference: str, expected: ImageRef):
    assert parse(reference) == expected


@pytest.mark.parametrize(
    "reference", ["docker.io/Upper/case:1", "a/b:bad tag", "x@sha256:short", "a//b"]
)
def test_malformed_references_are_refused(reference: str):
    with pytest.raises(BadReference):
        parse(reference)


def test_mirror_names_keep_the_repository_path_and_drop_the_registry():
    assert mirror_name("busybox", "m:5000") == "m:5000/library/busybox:latest"
    assert mirror_name("ghcr.io/a/b:1@sha256:" + "b" * 64, "m") == "m/a/b:1@sha256:" + "b" * 64
    assert mirror_name("registry.k8s.io/pause:3.10", "m:5000/") == "m:5000/pause:3.10"


def test_two_images_that_would_share_a_mirror_name_are_refused():
    assert len(mirror_names(["busybox:1", "docker.io/library/busybox:1"], "m")) == 2
    with pytest.raises(BadReference, match="would both be m/kubeflow/x:1"):
        mirror_names(["docker.io/kubeflow/x:1", "ghcr.io/kubeflow/x:1"], "m")


@pytest.mark.parametrize("mirror", ["https://m:5000", "", "m:port", "/path"])
def test_a_mirror_with_a_scheme_or_no_host_is_refused(mirror: str):
    with pytest.raises(BadReference):
        mirror_name("busybox", mirror)


def test_no_two_images_of_the_platform_share_a_mirror_name():
    images = all_images()
    assert len(mirror_names(images, MIRROR)) == len(images)
