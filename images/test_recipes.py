"""Static checks of the image recipes: what can be verified without a container engine.

The Dockerfiles are parsed with Docker's own parser (the `dockerfile` package); the rules are
Kubeflow's notebook image contract, which the upstream base images already satisfy and which our
recipes must therefore not undo, and the link between each recipe and its pinned requirements.
"""

import re
import subprocess
from pathlib import Path

import dockerfile
import pytest

IMAGES_DIR = Path(__file__).resolve().parent
ROOT = IMAGES_DIR.parent
NAMES = ["jupyter-scipy-intel", "jupyter-tensorflow-intel", "jupyter-pytorch-intel"]
UPSTREAM = "ghcr.io/kubeflow/kubeflow/notebook-servers/{}:v1.10.0"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][^\s;#]*)$")


def instructions(name: str) -> list[dockerfile.Command]:
    """The parsed Dockerfile of an image."""
    return list(dockerfile.parse_file(str(IMAGES_DIR / name / "Dockerfile")))


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of a file, without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


@pytest.mark.parametrize("name", NAMES)
def test_built_from_the_upstream_kubeflow_image(name):
    commands = instructions(name)
    assert commands[0].cmd == "ARG"
    upstream = UPSTREAM.format(name.removesuffix("-intel"))
    assert commands[0].value == (f"BASE_IMAGE={upstream}",)
    bases = [c for c in commands if c.cmd == "FROM"]
    assert [c.value for c in bases] == [("${BASE_IMAGE}",)]


@pytest.mark.parametrize("name", NAMES)
def test_keeps_the_kubeflow_notebook_contract(name):
    commands = instructions(name)
    cmds = {c.cmd for c in commands}
    # s6's /init, JupyterLab on 8888 under NB_PREFIX and the home copy all come from the base.
    assert not cmds & {"ENTRYPOINT", "CMD", "EXPOSE", "VOLUME", "WORKDIR", "HEALTHCHECK"}
    users = [c.value[0] for c in commands if c.cmd == "USER"]
    assert users, "the recipe must state the user it installs as"
    assert all(user == "${NB_UID}" for user in users), users
    for command in commands:
        if command.cmd == "ENV":
            names = set(command.value[0::2])
            assert not names & {"HOME", "NB_USER", "NB_UID", "NB_GID", "NB_PREFIX", "HOME_TMP"}
        if command.cmd == "RUN":
            text = " ".join(command.value)
            for home in ("$HOME", "${HOME}", "/home/jovyan"):
                assert home not in text, text


@pytest.mark.parametrize("name", NAMES)
def test_copies_only_files_that_exist_in_the_build_context(name):
    ignored = {"bench", "smoke.py"}
    for command in instructions(name):
        if command.cmd == "COPY":
            *sources, _target = command.value
            for source in sources:
                assert (IMAGES_DIR / source).exists(), source
                assert source.split("/")[0] not in ignored, source


@pytest.mark.parametrize("name", NAMES)
def test_run_steps_are_valid_shell(name):
    for command in instructions(name):
        if command.cmd == "RUN":
            script = " ".join(command.value)
            result = subprocess.run(
                ["bash", "-n", "-c", script], capture_output=True, text=True, check=False
            )
            assert result.returncode == 0, (script, result.stderr)


@pytest.mark.parametrize("name", NAMES)
def test_installs_its_pinned_requirements_and_the_tuning_package(name):
    commands = instructions(name)
    copies = [c.value for c in commands if c.cmd == "COPY"]
    assert (f"{name}/requirements.txt", "/tmp/requirements.txt") in copies  # noqa: S108
    assert ("common/", "/tmp/intel-notebook/") in copies  # noqa: S108
    assert (f"{name}/smoke_test.py", "/opt/intel-notebook/smoke_test.py") in copies
    runs = " ".join(" ".join(c.value) for c in commands if c.cmd == "RUN")
    assert "-r /tmp/requirements.txt" in runs
    assert "intel-notebook.pth" in runs


@pytest.mark.parametrize("name", NAMES)
def test_requirements_are_fully_pinned(name):
    lines = requirement_lines(IMAGES_DIR / name / "requirements.txt")
    assert lines
    for line in lines:
        assert PIN.match(line), f"{name}: not pinned: {line}"


@pytest.mark.parametrize("name", ["jupyter-scipy-intel", "jupyter-tensorflow-intel"])
def test_compiled_requirements_match_their_source(name):
    compiled = {
        PIN.match(line).group(1).lower(): line
        for line in requirement_lines(IMAGES_DIR / name / "requirements.txt")
    }
    for line in requirement_lines(IMAGES_DIR / name / "requirements.in"):
        package = PIN.match(line).group(1).lower()
        assert compiled.get(package) == line, f"{name}: run make images-requirements"


def test_stock_benchmark_requirements_match_the_intel_versions():
    intel = set(requirement_lines(IMAGES_DIR / "jupyter-scipy-intel" / "requirements.txt"))
    stock = set(requirement_lines(IMAGES_DIR / "bench" / "requirements-stock.txt"))
    assert stock < intel
    assert {line.split("==")[0] for line in intel - stock} == {
        "daal",
        "scikit-learn-intelex",
        "tbb",
        "tcmlib",
    }


def test_the_pytorch_image_is_cpu_only():
    lines = requirement_lines(IMAGES_DIR / "jupyter-pytorch-intel" / "requirements.txt")
    assert "torch==2.13.0" in lines
    assert not [line for line in lines if line.startswith(("nvidia", "triton"))]
    runs = " ".join(
        " ".join(c.value) for c in instructions("jupyter-pytorch-intel") if c.cmd == "RUN"
    )
    assert '--index-url "${PYTORCH_INDEX}"' in runs
    args = [c.value[0] for c in instructions("jupyter-pytorch-intel") if c.cmd == "ARG"]
    assert "PYTORCH_INDEX=https://download.pytorch.org/whl/cpu" in args


def test_makefile_builds_every_image():
    makefile = (ROOT / "Makefile").read_text()
    listed = re.search(r"^NOTEBOOK_IMAGES := (.+)$", makefile, re.MULTILINE)
    assert listed
    assert listed.group(1).split() == NAMES
