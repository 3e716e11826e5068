"""tools/packing.py on small workspaces: a charm that packs right, and each mistake it must find.

The fixture charms have no dependencies, so `uv lock` and `uv sync` run offline; they need
`uv` on PATH, as `./dev tox -e packing` provides.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import packing  # noqa: E402

PYTHON = getattr(sys, "_base_executable", sys.executable)
GIT = shutil.which("git") or "git"
UV = shutil.which("uv") or "uv"
GOOD = """\
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
"""


def charm(root: Path, name: str, code: str, part: dict | None = None) -> Path:
    """A charm in charms/<name> of the workspace at `root`, with src/templates/a.j2."""
    directory = root / "charms" / name
    (directory / "src" / "templates").mkdir(parents=True)
    (directory / "src" / "templates" / "a.j2").write_text("{{ a }}\n")
    (directory / "src" / "charm.py").write_text(code)
    (directory / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        "dependencies = []\n"
    )
    part = part or {"plugin": "uv", "source": "../..", "source-subdir": f"charms/{name}"}
    meta = {"name": name, "type": "charm", "parts": {name: part}}
    (directory / "charmcraft.yaml").write_text(yaml.safe_dump(meta))
    return directory


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty uv workspace in a git repository (monorepo mode packs from the git root)."""
    assert shutil.which("uv"), "uv must be on PATH: run ./dev tox -e packing"
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run([GIT, "init", "-q"], cwd=root, check=True)  # noqa: S603 (fixed arguments)
    (root / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["charms/*"]\n')
    return root


def check(root: Path, name: str) -> list[str]:
    """Lock the workspace, copy it as monorepo mode does, and check one charm."""
    subprocess.run([UV, "lock", "--quiet", "--offline"], cwd=root, check=True)  # noqa: S603 (fixed)
    work = root.parent / "work"
    work.mkdir()
    packing.copy_workspace(root, work / "workspace")
    problems, _ = packing.check(root / "charms" / name, root, work, PYTHON)
    return problems


def test_a_charm_that_packs_right_passes(workspace: Path):
    charm(workspace, "good", GOOD)
    assert check(workspace, "good") == []


def test_a_module_only_the_development_tree_has_fails(workspace: Path):
    directory = charm(workspace, "devonly", "import helper\n")
    (directory / "tests" / "unit").mkdir(parents=True)
    (directory / "tests" / "unit" / "helper.py").write_text("X = 1\n")
    (problem,) = check(workspace, "devonly")
    assert "does not import from the packed charm" in problem
    assert "No module named 'helper'" in problem


def test_a_template_directory_outside_src_fails(workspace: Path):
    code = "from pathlib import Path\n\nTEMPLATES = Path(__file__).parent.parent / 'templates'\n"
    directory = charm(workspace, "outside", code)
    (directory / "templates").mkdir()
    (directory / "templates" / "b.j2").write_text("b\n")
    (problem,) = check(workspace, "outside")
    assert "charm.TEMPLATES" in problem
    assert problem.endswith("is not in the packed charm")


def test_a_path_above_the_packed_charm_fails(workspace: Path):
    code = "from pathlib import Path\n\nSHARED = Path(__file__).parents[2] / 'shared'\n"
    charm(workspace, "above", code)
    (problem,) = check(workspace, "above")
    assert "charm.SHARED" in problem
    assert "is outside the packed charm" in problem


def test_a_module_read_from_the_repository_fails(workspace: Path):
    (workspace / "shared").mkdir()
    (workspace / "shared" / "sharedmod.py").write_text("Y = 2\n")
    code = f"import sys\nsys.path.insert(0, {str(workspace / 'shared')!r})\nimport sharedmod\n"
    charm(workspace, "reaches", code)
    problems = check(workspace, "reaches")
    assert any("sys.path entry" in p and "shared" in p for p in problems)
    assert any("module sharedmod comes from" in p for p in problems)


def test_parts_the_emulation_does_not_model_fail(workspace: Path):
    charm(workspace, "local", GOOD, {"plugin": "uv", "source": "."})
    charm(workspace, "dump", GOOD, {"plugin": "dump", "source": "."})
    charm(workspace, "primed", GOOD, {
        "plugin": "uv", "source": "../..", "source-subdir": "charms/primed", "prime": ["src"],
    })  # fmt: skip
    (local,) = packing.part_problems(workspace / "charms" / "local", workspace)
    assert "source . is" in local
    (dump,) = packing.part_problems(workspace / "charms" / "dump", workspace)
    assert "only uv is modelled" in dump
    (primed,) = packing.part_problems(workspace / "charms" / "primed", workspace)
    assert "prime not modelled" in primed


def test_dsplib_asset_directories_must_be_packed_and_not_empty(tmp_path: Path):
    report = {
        "names": ["GrafanaDashboardProvider", "MetricsEndpointProvider", "ops"],
        "charm_classes": {"MyCharm": str(tmp_path / "src")},
    }
    (tmp_path / "src" / "grafana_dashboards").mkdir(parents=True)
    problems = packing.asset_problems("c", report, tmp_path)
    assert len(problems) == 2
    assert "src/grafana_dashboards/ is empty" in problems[0]
    (tmp_path / "src" / "grafana_dashboards" / "d.json").write_text("{}")
    (tmp_path / "src" / "prometheus_alert_rules").mkdir()
    (tmp_path / "src" / "prometheus_alert_rules" / "r.rules").write_text("groups: []\n")
    assert packing.asset_problems("c", report, tmp_path) == []
    assert packing.asset_problems("c", {**report, "names": ["ops"]}, tmp_path / "x") == []


def test_every_charm_of_the_repository_has_parts_the_emulation_models():
    for directory in packing.charm_dirs(ROOT):
        assert packing.part_problems(directory, ROOT) == []
