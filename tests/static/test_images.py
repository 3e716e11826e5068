"""The image list for mirrors is complete and pinned; notebook image lists agree."""

import subprocess
import sys

import yaml

from bundles import load
from conftest import ROOT


def image_list() -> list[str]:
    out = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "tools" / "images_list.py")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.split()


def test_every_image_is_pinned_to_a_tag_or_digest():
    images = image_list()
    assert len(images) > 40
    for image in images:
        last = image.rsplit("/", 1)[-1]
        assert ":" in last or "@" in image, image
        assert not image.endswith(":latest"), image


def test_our_operator_images_are_listed():
    images = set(image_list())
    for charm in ("kubeflow-seldon-core",):
        meta = load(ROOT / "charms" / charm / "charmcraft.yaml")
        for resource in meta["resources"].values():
            assert resource["upstream-source"] in images


def test_jupyter_ui_offers_the_intel_images_first():
    bundle = load(ROOT / "bundle.yaml")
    offered = yaml.safe_load(bundle["applications"]["jupyter-ui"]["options"]["jupyter-images"])
    intel = bundle["applications"]["intel-notebooks"].get("options", {}).get("images")
    if intel is None:
        meta = load(ROOT / "charms" / "intel-notebooks" / "charmcraft.yaml")
        intel = meta["config"]["options"]["images"]["default"]
    intel = yaml.safe_load(intel)
    assert offered[: len(intel)] == intel
