"""Every OCI image the bundle and its overlays deploy, one per line, for air-gapped mirrors.

Sources: the oci-image resources of the Charmhub charms (tests/static/data, read at the branch
each channel is built from, so check a release for exact tags), the resources of our charms,
the image options of our charms (defaults, or what the bundle/overlays set) and image lists
such as jupyter-ui's `jupyter-images`. Images that workloads start on their own (for example
the Spark image a SparkApplication names) are included where a charm option sets them.

overlays/airgap.yaml is left out: it renames these images to the mirror's names
(tools/airgap_overlay.py), and local.yaml deploys nothing new.

    python tools/images_list.py [--overlay overlays/x.yaml ...]   (default: all overlays)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bundles import CHARMHUB_ENDPOINTS, load, merge, our_charm  # noqa: E402

LIST_OPTIONS = {"images", "jupyter-images", "vscode-images", "rstudio-images"}
# Overlays that add no image of their own to the list.
NOT_LISTED = {"local", "airgap"}
# seldon-core derives one MLServer runtime image per suffix from `mlserver-image` (seldon.py).
MLSERVER_SUFFIXES = ("sklearn", "xgboost", "mlflow", "huggingface", "slim", "alibi-explain")


@dataclass(frozen=True)
class ImageSetting:
    """Where an application takes images from: a resource, an image option or a list option."""

    kind: str  # "resource", "option" or "list-option"
    key: str
    images: tuple[str, ...]


def deployment(overlays: list[Path]) -> dict[str, Any]:
    """bundle.yaml with the overlays applied in order."""
    merged = load(ROOT / "bundle.yaml")
    for overlay in overlays:
        merged = merge(merged, load(overlay))
    return merged


def default_overlays() -> list[Path]:
    """Every overlay that deploys images of its own."""
    return [p for p in sorted((ROOT / "overlays").glob("*.yaml")) if p.stem not in NOT_LISTED]


def image_settings(app: dict[str, Any]) -> Iterator[ImageSetting]:
    """The resources and options through which an application deploys or starts images."""
    local = our_charm(app)
    options = dict(app.get("options") or {})
    if local is None:
        known = load(CHARMHUB_ENDPOINTS)["charms"].get(app["charm"], {})
        for name, image in sorted((known.get("images") or {}).items()):
            yield ImageSetting("resource", name, (image,))
    else:
        meta = load(ROOT / "charms" / local / "charmcraft.yaml")
        for name, resource in sorted((meta.get("resources") or {}).items()):
            if resource.get("type") == "oci-image" and resource.get("upstream-source"):
                yield ImageSetting("resource", name, (resource["upstream-source"],))
        defaults = {
            k: v.get("default") for k, v in meta.get("config", {}).get("options", {}).items()
        }
        options = {**defaults, **options}
    for name, value in sorted(options.items()):
        if name.endswith("-image") and isinstance(value, str) and value:
            yield ImageSetting("option", name, (value,))
        elif name in LIST_OPTIONS and isinstance(value, str) and value.strip():
            items = yaml.safe_load(value)
            if isinstance(items, list):
                yield ImageSetting("list-option", name, tuple(str(i) for i in items))


def images_of(app: dict[str, Any]) -> Iterator[str]:
    """Images an application deploys or is configured to start."""
    for setting in image_settings(app):
        yield from setting.images
        if setting.key == "mlserver-image" and our_charm(app) is not None:
            yield from (f"{setting.images[0]}-{suffix}" for suffix in MLSERVER_SUFFIXES)


def all_images(overlays: list[Path] | None = None) -> list[str]:
    """The sorted list of every image the bundle with these overlays (default: all) uses."""
    merged = deployment(default_overlays() if overlays is None else overlays)
    return sorted({image for app in merged["applications"].values() for image in images_of(app)})


def main() -> int:
    """Print the sorted list."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--overlay", action="append", type=Path)
    args = parser.parse_args()
    print("\n".join(all_images(args.overlay)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
