"""Every charm's charmcraft.yaml is valid for charmcraft and follows the charm checklist."""

import copy
import re
from pathlib import Path

import pytest
from charmcraft.models.config import JujuConfig
from charmcraft.models.project import CharmcraftProject

from conftest import CHARM_DIRS, load_yaml

NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PINNED_TAG = re.compile(r"[:@][^/]+$")
charm_ids = [d.name for d in CHARM_DIRS]


def metadata(charm_dir: Path) -> dict:
    return load_yaml(charm_dir / "charmcraft.yaml")


def test_there_are_charms():
    assert "kubeflow-seldon-core" in charm_ids


@pytest.mark.parametrize("charm_dir", CHARM_DIRS, ids=charm_ids)
def test_charmcraft_models_accept_the_project(charm_dir: Path):
    data = metadata(charm_dir)
    project = CharmcraftProject.unmarshal(copy.deepcopy(data))
    assert project.name == charm_dir.name
    if "config" in data:
        JujuConfig.model_validate(data["config"])
    # Actions are checked by the project model above and by the checklist test below:
    # charmcraft 4.5's separate JujuActions model fails on any action with pydantic 2.14.
    assert not (charm_dir / "metadata.yaml").exists(), "charmcraft.yaml is the only metadata file"
    assert not (charm_dir / "config.yaml").exists()
    assert not (charm_dir / "actions.yaml").exists()


def test_the_config_model_catches_a_type_typo():
    with pytest.raises(ValueError, match="strng"):
        JujuConfig.model_validate({"options": {"x": {"type": "strng", "description": "d"}}})


@pytest.mark.parametrize("charm_dir", CHARM_DIRS, ids=charm_ids)
def test_every_endpoint_states_whether_it_is_optional(charm_dir: Path):
    data = metadata(charm_dir)
    for role in ("provides", "requires"):
        for name, endpoint in (data.get(role) or {}).items():
            assert NAME.match(name), name
            assert "optional" in endpoint, f"{role} {name} does not say optional:"


@pytest.mark.parametrize("charm_dir", CHARM_DIRS, ids=charm_ids)
def test_options_and_actions_are_named_and_described(charm_dir: Path):
    data = metadata(charm_dir)
    for name, option in (data.get("config") or {}).get("options", {}).items():
        assert NAME.match(name), f"option {name}"
        assert len(option.get("description", "")) > 20, f"option {name} needs a description"
    for name, action in (data.get("actions") or {}).items():
        assert NAME.match(name), f"action {name}"
        assert action.get("additionalProperties") is False, f"action {name}"
        assert action.get("description"), f"action {name}"
        for param in action.get("params") or {}:
            assert NAME.match(param), f"action {name} param {param}"


@pytest.mark.parametrize("charm_dir", CHARM_DIRS, ids=charm_ids)
def test_images_are_pinned(charm_dir: Path):
    for name, resource in (metadata(charm_dir).get("resources") or {}).items():
        if resource.get("type") == "oci-image":
            source = resource.get("upstream-source", "")
            assert PINNED_TAG.search(source), f"{name}: {source!r} has no tag"
            assert not source.endswith(":latest"), f"{name}: {source!r}"


@pytest.mark.parametrize("charm_dir", CHARM_DIRS, ids=charm_ids)
def test_packing_includes_the_shared_library(charm_dir: Path):
    parts = metadata(charm_dir)["parts"]
    part = parts[charm_dir.name]
    assert part["plugin"] == "uv"
    assert part["source"] == "../.."
    assert part["source-subdir"] == f"charms/{charm_dir.name}"
    pyproject = (charm_dir / "pyproject.toml").read_text()
    assert "dsplib" in pyproject
