"""Every object any charm renders validates, and is written to build/manifests for the scan.

Each charm's tests/unit/render.py returns everything the charm can render; it runs in a
subprocess with the charm's src/ on the path (charm modules share names across charms).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import CHARM_DIRS, ROOT
from dsplib.testing import unquoted_expressions, validate_manifests

OUT = ROOT / "build" / "manifests"
CRDS = [yaml.safe_load(p.read_text()) for p in sorted((ROOT / "tests" / "crds").glob("*.yaml"))]
RENDERING = [d for d in CHARM_DIRS if (d / "tests" / "unit" / "render.py").exists()]
DUMP = "import render, yaml, sys; yaml.safe_dump_all(render.rendered_manifests(), sys.stdout)"


def rendered(charm_dir: Path) -> list[dict]:
    paths = [charm_dir / "src", charm_dir / "tests" / "unit", ROOT / "tests" / "ceph"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths))}
    proc = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", DUMP], cwd=charm_dir, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [o for o in yaml.safe_load_all(proc.stdout) if o]


def test_every_charm_can_render_its_objects():
    missing = [d.name for d in CHARM_DIRS if d not in RENDERING]
    assert not missing, f"add tests/unit/render.py to: {missing}"


@pytest.mark.parametrize("charm_dir", RENDERING, ids=[d.name for d in RENDERING])
def test_rendered_objects_validate_and_are_kept_for_the_scan(charm_dir: Path):
    objects = rendered(charm_dir)
    assert objects
    validate_manifests(objects, CRDS)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{charm_dir.name}.yaml").write_text(yaml.safe_dump_all(objects))


TEMPLATED = [d for d in CHARM_DIRS if (d / "src" / "templates").is_dir()]
CHECK_NAMES = (
    "import render; from dsplib.testing import check_values_stay_strings as check; "
    "check(render.rendered_with)"
)


@pytest.mark.parametrize("charm_dir", TEMPLATED, ids=[d.name for d in TEMPLATED])
def test_every_templated_scalar_goes_through_to_json(charm_dir: Path):
    """A bare `{{ namespace }}` makes the model `null` a YAML null and `123` a number."""
    assert unquoted_expressions(charm_dir / "src" / "templates") == []


@pytest.mark.parametrize("charm_dir", TEMPLATED, ids=[d.name for d in TEMPLATED])
def test_names_yaml_reads_as_other_types_render_as_strings(charm_dir: Path):
    """Names YAML would read as numbers, booleans, dates or null stay strings.

    Every template, rendered with `123`, `yes`, `null`, `0x1f`, `2024-01-01`, ... as the
    application, model and configured names, holds exactly those strings.
    """
    paths = [charm_dir / "src", charm_dir / "tests" / "unit", ROOT / "tests" / "ceph"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths))}
    proc = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", CHECK_NAMES], cwd=charm_dir, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
