"""The fake refuses what the real client refuses; each rule's source is in fake_juju.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from fake_support import FakeJuju, make_checkout


def juju(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["juju", *args], capture_output=True, text=True, cwd=cwd)  # noqa: S603, S607


@pytest.fixture
def model(fake_juju: FakeJuju) -> str:
    assert juju("add-model", "kubeflow").returncode == 0
    return "kubeflow"


def test_is_found_first_on_path_where_a_snap_would_be(fake_juju: FakeJuju):
    found = subprocess.run(["sh", "-c", "command -v juju"], capture_output=True, text=True)  # noqa: S607
    assert found.stdout.strip() == str(fake_juju.bin / "juju")
    assert "/snap/" in found.stdout


def test_unknown_flag_is_gnuflags_error(fake_juju: FakeJuju, model: str):
    wrong = juju("status", "--formatt", "json")
    assert wrong.returncode == 2
    assert "option provided but not defined: --formatt" in wrong.stderr
    assert juju("status", "--format", "json").returncode == 0


def test_wait_for_exists_in_36_only(fake_juju: FakeJuju, model: str):
    query = "--query=forEach(applications, app => app.status == 'active')"
    assert juju("wait-for", "model", "kubeflow", query).returncode == 0
    fake_juju.update(version="4.0.1")
    gone = juju("wait-for", "model", "kubeflow", query)
    assert gone.returncode == 2
    assert '"wait-for" is not a juju command' in gone.stderr


def test_models_inherit_concierges_model_defaults(fake_juju: FakeJuju, model: str):
    assert fake_juju.model("kubeflow")["config"]["automatically-retry-hooks"] == "false"
    juju("add-model", "other", "--config", "automatically-retry-hooks=true")
    assert fake_juju.model("other")["config"]["automatically-retry-hooks"] == "true"


def test_local_bundle_charms_resolve_against_the_bundles_directory(
    fake_juju: FakeJuju, model: str, checkout: Path
):
    ok = juju("deploy", str(checkout / "bundle.yaml"), "--trust", cwd=fake_juju.root)
    assert ok.returncode == 0, ok.stderr
    assert "dex-auth" in fake_juju.model("kubeflow")["apps"]
    # The same bundle copied elsewhere under $HOME no longer finds ./build/dex.charm.
    copy = fake_juju.home / "snap" / "juju" / "common" / "tmp1" / "_temp.charm"
    copy.parent.mkdir(parents=True)
    copy.write_text((checkout / "bundle.yaml").read_text())
    missing = juju("deploy", str(copy), "--trust")
    assert missing.returncode == 1
    assert "tmp1/build/" in missing.stderr


def test_relative_bundle_path_resolves_against_the_working_directory(
    fake_juju: FakeJuju, model: str, checkout: Path
):
    assert juju("deploy", "./bundle.yaml", "--trust", cwd=checkout).returncode == 0
    elsewhere = make_checkout(fake_juju.root / "work" / "dsp")
    refused = juju("deploy", "./bundle.yaml", "--trust", cwd=elsewhere)
    assert refused.returncode == 1
    assert "permission denied" in refused.stderr


def test_bundle_that_trusts_applications_needs_trust(
    fake_juju: FakeJuju, model: str, checkout: Path
):
    refused = juju("deploy", str(checkout / "bundle.yaml"))
    assert refused.returncode == 1
    assert "without trusting" in refused.stderr


def test_overlay_charm_paths_resolve_against_the_overlays_directory(
    fake_juju: FakeJuju, model: str, checkout: Path
):
    (checkout / "build" / "kubeflow-backup.charm").write_text("packed\n")
    wrong = checkout / "overlays" / "wrong.yaml"
    wrong.write_text(
        "applications:\n  kubeflow-backup:\n    charm: ./build/kubeflow-backup.charm\n"
    )
    right = checkout / "overlays" / "right.yaml"
    right.write_text(
        "applications:\n  kubeflow-backup:\n    charm: ../build/kubeflow-backup.charm\n"
    )
    bundle = str(checkout / "bundle.yaml")
    failed = juju("deploy", bundle, "--trust", "--overlay", str(wrong))
    assert failed.returncode == 1
    assert "overlays/build/kubeflow-backup.charm" in failed.stderr
    assert juju("deploy", bundle, "--trust", "--overlay", str(right)).returncode == 0


@pytest.mark.parametrize(
    "where",
    [
        "outside-home",  # the host's /tmp or a shared checkout: not the snap's to read
        "hidden",  # a top-level dot directory of $HOME
        "other-snap",  # another snap's data
        "symlink",  # a link from $HOME to elsewhere: AppArmor checks the resolved path
    ],
)
def test_strict_confinement_hides_files_outside_home(fake_juju: FakeJuju, model: str, where: str):
    home = fake_juju.home
    places = {
        "outside-home": fake_juju.root / "work" / "dsp",
        "hidden": home / ".cache" / "dsp",
        "other-snap": home / "snap" / "lxd" / "dsp",
        "symlink": fake_juju.root / "elsewhere" / "dsp",
    }
    checkout = make_checkout(places[where])
    bundle = checkout / "bundle.yaml"
    if where == "symlink":
        os.symlink(checkout, home / "dsp")
        bundle = home / "dsp" / "bundle.yaml"
    refused = juju("deploy", str(bundle), "--trust")
    assert refused.returncode == 1
    assert "permission denied" in refused.stderr


def test_action_on_a_unit_still_starting_times_out(fake_juju: FakeJuju, model: str):
    fake_juju.update(deploy_outcome={"backup-s3": ["waiting", "blocked"]})
    juju("deploy", "s3-integrator", "backup-s3")
    state = fake_juju.state()
    state["models"]["kubeflow"]["actions"] = {
        "backup-s3/0": {"sync-s3-credentials": {"ok": "true"}}
    }
    fake_juju.write(state)
    assert juju("status", "--format", "json").returncode == 0  # waiting
    early = juju("run", "backup-s3/0", "sync-s3-credentials")
    assert early.returncode == 1
    assert "timed out waiting for results" in early.stderr
    juju("status", "--format", "json")  # blocked: the charm has run its hooks
    assert juju("run", "backup-s3/0", "sync-s3-credentials", "--wait", "600s").returncode == 0


def test_workload_files_are_only_in_the_workload_container(fake_juju: FakeJuju, model: str):
    juju("deploy", "dex-auth")
    state = fake_juju.state()
    state["models"]["kubeflow"]["files"] = {"dex-auth/0": {"dex": {"/etc/dex/c.yaml": "x: 1\n"}}}
    fake_juju.write(state)
    bare = juju("ssh", "--container", "dex", "dex-auth/0", "pebble", "logs", "dex")
    assert bare.returncode == 1
    assert "pebble: not found" in bare.stderr
    pulled = juju(
        "ssh", "--container", "dex", "dex-auth/0",
        "/charm/bin/pebble", "pull", "/etc/dex/c.yaml", "/dev/stdout",
    )  # fmt: skip
    assert pulled.stdout == "x: 1\n"
    in_charm = juju("ssh", "dex-auth/0", "cat", "/etc/dex/c.yaml")
    assert in_charm.returncode == 1
