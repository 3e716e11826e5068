"""Every OCI image the bundle and its overlays deploy, one per line, for air-gapped mirrors.

Sources: the oci-image resources of the Charmhub charms (tests/static/data, read at the branch
each channel is built from, so check a release for exact tags), the resources of our charms,
the image options of our charms (defaults, or what the bundle/overlays set) and image lists
such as jupyter-ui's `jupyter-images`. Images that workloads start on their own (for example
the Spark image a SparkApplication names) are included where a charm option sets them.

    python tools/images_list.py [--overlay overlays/x.yaml ...]   (default: all overlays)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bundles import CHARMHUB_ENDPOINTS, load, merge, our_charm  # noqa: E402

LIST_OPTIONS = {"images", "jupyter-images", "vscode-images", "rstudio-images"}


def deployment(overlays: list[Path]) -> dict[str, Any]:
    """bundle.yaml with the overlays applied in order."""
    merged = load(ROOT / "bundle.yaml")
    for overlay in overlays:
        merged = merge(merged, load(overlay))
    return merged


def images_of(app: dict[str, Any]) -> Iterator[str]:
    """Images an application deploys or is configured to start."""
    local = our_charm(app)
    options = dict(app.get("options") or {})
    if local is None:
        known = load(CHARMHUB_ENDPOINTS)["charms"].get(app["charm"], {})
        yield from (known.get("images") or {}).values()
    else:
        meta = load(ROOT / "charms" / local / "charmcraft.yaml")
        for resource in (meta.get("resources") or {}).values():
            if resource.get("upstream-source"):
                yield resource["upstream-source"]
        defaults = {
            k: v.get("default") for k, v in meta.get("config", {}).get("options", {}).items()
        }
        options = {**defaults, **options}
        yield from _mlserver_runtimes(options)
    for name, value in options.items():
        if name.endswith("-image") and isinstance(value, str) and value:
            yield value
        elif name in LIST_OPTIONS and isinstance(value, str) and value.strip():
            items = yaml.safe_load(value)
            if isinstance(items, list):
                yield from (str(i) for i in items)


def _mlserver_runtimes(options: dict[str, Any]) -> Iterator[str]:
    """MLServer runtime images seldon-core derives from `mlserver-image` (see its seldon.py)."""
    base = options.get("mlserver-image")
    if base:
        for suffix in ("sklearn", "xgboost", "mlflow", "huggingface", "slim", "alibi-explain"):
            yield f"{base}-{suffix}"


def main() -> int:
    """Print the sorted list."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--overlay", action="append", type=Path)
    args = parser.parse_args()
    overlays = args.overlay or sorted((ROOT / "overlays").glob("*.yaml"))
    merged = deployment([o for o in overlays if o.stem != "local"])
    images = sorted({image for app in merged["applications"].values() for image in images_of(app)})
    print("\n".join(images))
    return 0


if __name__ == "__main__":
    sys.exit(main())
