"""tools/deploy.sh (`./dev deploy`) run against the fake juju, concierge, snap and ./dev.

The script runs from a checkout under the fake $HOME, with every function but the
machine checks (Ubuntu, CPUs, memory: this is not the target machine) as written.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fake_support import FakeJuju, executable, make_checkout

# Stand-ins for the other programs deploy.sh runs: each records its arguments.
RECORDER = '#!/bin/sh\nprintf "%s\\n" "$(basename "$0") $*" >> "{log}"\n'
# concierge provisions a controller: in the fake's state, the controller appears.
CONCIERGE = """#!{python}
import json, os, sys
with open("{log}", "a") as log:
    log.write("concierge " + " ".join(sys.argv[1:]) + "\\n")
state_file = os.environ["FAKE_JUJU_STATE"]
state = json.load(open(state_file))
state["controller"] = "concierge-k8s"
json.dump(state, open(state_file, "w"))
"""
# ./dev: `tox -e pack` is recorded; `wait` runs the real helper with short polls.
DEV = """#!/bin/sh
printf "%s\\n" "dev $*" >> "{log}"
if [ "$1" = wait ]; then
    shift
    exec "{python}" "{tools}/juju_helper.py" wait "$@" --delay 0.01
fi
"""


@pytest.fixture
def others(fake_juju: FakeJuju) -> Path:
    """concierge, snap, sudo and charmcraft on PATH; returns the log of their calls."""
    log = fake_juju.root / "others.log"
    log.touch()
    for name in ("snap", "sudo", "charmcraft"):
        executable(fake_juju.bin / name, RECORDER.format(log=log))
    executable(fake_juju.bin / "concierge", CONCIERGE.format(python=sys.executable, log=log))
    return log


def with_dev(checkout: Path, log: Path) -> Path:
    executable(
        checkout / "dev", DEV.format(log=log, python=sys.executable, tools=checkout / "tools")
    )
    return checkout


def deploy_sh(
    checkout: Path, *overlays: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The script as `./dev deploy` runs it, minus check_prerequisites."""
    script = 'source "$1"; check_prerequisites() { :; }; shift; main "$@"'
    return subprocess.run(  # noqa: S603
        ["bash", "-c", script, "deploy", str(checkout / "tools" / "deploy.sh"), *overlays],  # noqa: S607
        capture_output=True,
        text=True,
        cwd=cwd or checkout,
        timeout=120,
    )


def juju_calls(fake: FakeJuju, command: str) -> list[list[str]]:
    return [argv for argv in fake.calls() if argv[0] == command]


def test_fresh_deploy_runs_these_juju_commands(fake_juju: FakeJuju, checkout: Path, others: Path):
    with_dev(checkout, others)
    fake_juju.update(deploy_outcome={"kfp-api": ["waiting", "maintenance", "active"]})
    done = deploy_sh(checkout)
    assert done.returncode == 0, done.stderr
    bundle, local = str(checkout / "bundle.yaml"), str(checkout / "overlays" / "local.yaml")
    assert juju_calls(fake_juju, "add-model") == [
        ["add-model", "kubeflow", "--config", "automatically-retry-hooks=true"]
    ]
    assert fake_juju.model("kubeflow")["config"]["automatically-retry-hooks"] == "true"
    assert juju_calls(fake_juju, "deploy") == [
        ["deploy", "-m", "kubeflow", bundle, "--trust", "--overlay", local]
    ]
    assert "wait-for" not in fake_juju.commands()
    dev = [line for line in others.read_text().splitlines() if line.startswith("dev")]
    assert dev == ["dev tox -e pack", "dev wait --model kubeflow --timeout 3600"]
    # jubilant read the status until everything was active, in the model deployed to
    statuses = juju_calls(fake_juju, "status")
    assert ["status", "--model", "kubeflow", "--format", "json"] in statuses
    assert fake_juju.model("kubeflow")["apps"]["kfp-api"]["statuses"] == ["active"]


def test_without_a_directory_dex_gets_an_admin(fake_juju: FakeJuju, checkout: Path, others: Path):
    """Status lists `ldap` under endpoint-bindings even unrelated: only relations count."""
    done = deploy_sh(with_dev(checkout, others))
    assert done.returncode == 0, done.stderr
    assert "ldap" in json.dumps(fake_juju.model("kubeflow")["last_status"])
    config = fake_juju.model("kubeflow")["apps"]["dex-auth"]["config"]
    assert config["static-username"] == "admin@example.com"
    saved = fake_juju.home / ".local/share/data-science-platform/dex-admin-password"
    assert saved.read_text().strip() == config["static-password"]
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600


def test_with_a_directory_related_dex_gets_no_admin(
    fake_juju: FakeJuju, checkout: Path, others: Path
):
    ldap = checkout / "overlays" / "my-ldap.yaml"
    ldap.write_text(
        "applications:\n  ldap-integrator:\n    charm: ldap-integrator\n"
        "relations:\n- [dex-auth:ldap, ldap-integrator:ldap]\n"
    )
    done = deploy_sh(with_dev(checkout, others), "overlays/my-ldap.yaml")
    assert done.returncode == 0, done.stderr
    [deploy] = juju_calls(fake_juju, "deploy")
    assert deploy[-2:] == ["--overlay", str(ldap)]  # made absolute
    assert "static-username" not in fake_juju.model("kubeflow")["apps"]["dex-auth"]["config"]


def test_existing_model_is_reused_and_set_to_retry_hooks(
    fake_juju: FakeJuju, checkout: Path, others: Path
):
    subprocess.run(["juju", "add-model", "kubeflow"], check=True)  # noqa: S607
    done = deploy_sh(with_dev(checkout, others))
    assert done.returncode == 0, done.stderr
    assert len(juju_calls(fake_juju, "add-model")) == 1  # ours, above
    assert [
        "model-config",
        "-m",
        "kubeflow",
        "automatically-retry-hooks=true",
    ] in fake_juju.calls()


def test_without_a_controller_concierge_installs_juju_36(
    fake_juju: FakeJuju, checkout: Path, others: Path
):
    fake_juju.update(controller=None)
    done = deploy_sh(with_dev(checkout, others))
    assert done.returncode == 0, done.stderr
    assert "concierge prepare -p k8s --juju-channel 3.6/stable" in others.read_text()


def test_juju_4_is_refused_before_anything_is_deployed(
    fake_juju: FakeJuju, checkout: Path, others: Path
):
    fake_juju.update(version="4.0.1")
    done = deploy_sh(with_dev(checkout, others))
    assert done.returncode == 1
    assert "snap refresh juju --channel 3.6/stable" in done.stderr
    assert "deploy" not in fake_juju.commands()


def test_checkout_juju_cannot_read_is_refused(fake_juju: FakeJuju, others: Path):
    checkout = with_dev(make_checkout(fake_juju.root / "srv" / "dsp"), others)
    done = deploy_sh(checkout)
    assert done.returncode == 1
    assert "cannot read" in done.stderr
    assert "deploy" not in fake_juju.commands()


def test_relative_overlay_from_another_directory(
    fake_juju: FakeJuju, checkout: Path, others: Path
):
    """An overlay named relative to where the user stands reaches Juju as an absolute path."""
    (fake_juju.home / "site.yaml").write_text(
        "applications:\n  kfp-db:\n    constraints: mem=2G\n"
    )
    done = deploy_sh(with_dev(checkout, others), "site.yaml", cwd=fake_juju.home)
    assert done.returncode == 0, done.stderr
    [deploy] = juju_calls(fake_juju, "deploy")
    assert deploy[-1] == str(fake_juju.home / "site.yaml")
