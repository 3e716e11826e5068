"""The integration tests' use of Juju (tests/integration/juju_helpers.py) against the fake."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jubilant
import pytest
from fake_support import ROOT, FakeJuju, make_checkout
from juju_helpers import (
    WAIT_TIMEOUT,
    check_juju_version,
    check_one_module_per_model,
    deploy_bundle,
    module_model,
    run_when_ready,
    snap_can_read,
    workload_file,
)
from s3_server import S3Server, deploy_s3_integrator


@pytest.fixture
def model(fake_juju: FakeJuju) -> Iterator[jubilant.Juju]:
    """A temporary model, as the integration modules get one."""
    yield from module_model(env={})


@pytest.fixture
def kubeflow(fake_juju: FakeJuju) -> Iterator[jubilant.Juju]:
    """The platform module's model."""
    yield from module_model("kubeflow", env={})


def add_model_calls(fake: FakeJuju) -> list[list[str]]:
    return [argv for argv in fake.calls() if argv[0] == "add-model"]


def test_temporary_model_retries_hooks_and_waits_long(fake_juju: FakeJuju):
    models = module_model(env={})
    juju = next(models)
    [call] = add_model_calls(fake_juju)
    assert "automatically-retry-hooks=true" in call
    assert fake_juju.model(juju.model or "")["config"]["automatically-retry-hooks"] == "true"
    assert juju.wait_timeout == WAIT_TIMEOUT > 180
    models.close()
    assert fake_juju.state()["models"] == {}  # destroyed


def test_existing_model_from_dsp_model_is_set_to_retry_hooks(fake_juju: FakeJuju):
    subprocess.run(["juju", "add-model", "mine"], check=True)  # noqa: S607
    juju = next(module_model(env={"DSP_MODEL": "mine"}))
    assert juju.model == "mine"
    assert juju.wait_timeout == WAIT_TIMEOUT
    assert [
        "model-config",
        "--model",
        "mine",
        "automatically-retry-hooks=true",
    ] in fake_juju.calls()
    assert fake_juju.model("mine")["config"]["automatically-retry-hooks"] == "true"


def test_platform_model_is_named_kubeflow_and_destroyed(fake_juju: FakeJuju):
    models = module_model("kubeflow", env={})
    juju = next(models)
    assert juju.model == "kubeflow"
    [call] = add_model_calls(fake_juju)
    assert call[:3] == ["add-model", "--no-switch", "kubeflow"]
    assert "automatically-retry-hooks=true" in call
    assert juju.wait_timeout == WAIT_TIMEOUT
    models.close()
    assert "kubeflow" not in fake_juju.state()["models"]


def test_platform_model_is_kept_with_dsp_keep_models(fake_juju: FakeJuju):
    models = module_model("kubeflow", env={"DSP_KEEP_MODELS": "1"})
    next(models)
    models.close()
    assert "kubeflow" in fake_juju.state()["models"]


def test_platform_refuses_another_model_or_an_existing_kubeflow(fake_juju: FakeJuju):
    with pytest.raises(pytest.fail.Exception, match="DSP_MODEL=kubeflow"):
        next(module_model("kubeflow", env={"DSP_MODEL": "other"}))
    subprocess.run(["juju", "add-model", "kubeflow"], check=True)  # noqa: S607
    with pytest.raises(pytest.fail.Exception, match="exists"):
        next(module_model("kubeflow", env={}))
    assert next(module_model("kubeflow", env={"DSP_MODEL": "kubeflow"})).model == "kubeflow"


def test_one_module_per_model_with_dsp_model():
    modules = {"test_dex.py", "test_seldon_core.py"}
    check_one_module_per_model(modules, {})
    check_one_module_per_model({"test_dex.py"}, {"DSP_MODEL": "m"})
    with pytest.raises(pytest.UsageError, match=r"test_dex\.py, test_seldon_core\.py"):
        check_one_module_per_model(modules, {"DSP_MODEL": "m"})


def collect(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", *args]
    return subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}
    )


def test_integration_collection_refuses_several_modules_in_one_model():
    suite = str(ROOT / "tests" / "integration")
    refused = collect(suite, env={"DSP_MODEL": "kubeflow"})
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "each need their own" in refused.stderr
    one = collect(suite, "-k", "test_dex.py", env={"DSP_MODEL": "kubeflow"})
    assert one.returncode == 0, one.stdout + one.stderr
    assert "test_dex.py" in one.stdout


def test_juju_version_must_be_36(fake_juju: FakeJuju):
    check_juju_version(jubilant.Juju())
    fake_juju.update(version="4.0.1")
    with pytest.raises(pytest.fail.Exception, match=r"3\.6/stable"):
        check_juju_version(jubilant.Juju())


def test_bundle_is_deployed_in_place_by_absolute_path(
    fake_juju: FakeJuju, checkout: Path, kubeflow: jubilant.Juju
):
    deploy_bundle(kubeflow, checkout / "bundle.yaml", [checkout / "overlays" / "local.yaml"])
    [call] = [argv for argv in fake_juju.calls() if argv[0] == "deploy"]
    assert call == [
        "deploy",
        "--model",
        "kubeflow",
        str(checkout / "bundle.yaml"),
        "--overlay",
        str(checkout / "overlays" / "local.yaml"),
        "--trust",
    ]
    assert "dex-auth" in fake_juju.model("kubeflow")["apps"]


def test_jubilants_deploy_copies_the_bundle_away_from_its_charms(
    checkout: Path, kubeflow: jubilant.Juju
):
    """Why deploy_bundle does not use jubilant.Juju.deploy: this is the failure it avoids."""
    with pytest.raises(jubilant.CLIError, match=r"build/dex\.charm"):
        kubeflow.deploy(checkout / "bundle.yaml", trust=True)


def test_checkout_outside_home_fails_before_deploying(
    fake_juju: FakeJuju, kubeflow: jubilant.Juju
):
    checkout = make_checkout(fake_juju.root / "work" / "dsp")
    with pytest.raises(pytest.fail.Exception, match="clone the repository"):
        deploy_bundle(kubeflow, checkout / "bundle.yaml")
    assert "deploy" not in fake_juju.commands()


def test_snap_can_read_only_non_hidden_files_under_home(tmp_path: Path):
    home = tmp_path / "home"
    assert snap_can_read(home / "src" / "bundle.yaml", home)
    assert snap_can_read(home / "snap" / "juju" / "common" / "x.yaml", home)
    assert not snap_can_read(home / ".local" / "bundle.yaml", home)
    assert not snap_can_read(home / "snap" / "lxd" / "x.yaml", home)
    assert not snap_can_read(tmp_path / "work" / "bundle.yaml", home)


def test_s3_keys_wait_for_the_unit_and_pass_a_wait(fake_juju: FakeJuju, model: jubilant.Juju):
    juju = model
    fake_juju.update(deploy_outcome={"backup-s3": ["waiting", "waiting", "blocked"]})
    state = fake_juju.state()
    state["models"][juju.model or ""]["actions"] = {
        "backup-s3/0": {"sync-s3-credentials": {"ok": "true"}}
    }
    fake_juju.write(state)
    server = S3Server("http://minio:9000", "minio", "secret-key-1")
    deploy_s3_integrator(juju, "backup-s3", server, bucket="backups")
    [run] = [argv for argv in fake_juju.calls() if argv[0] == "run"]
    assert run[run.index("--wait") + 1] == f"{10 * 60}s"
    assert run[5:7] == ["backup-s3/leader", "sync-s3-credentials"]
    [ran] = fake_juju.model(juju.model or "")["ran"]
    assert ran["params"] == {"access-key": "minio", "secret-key": "secret-key-1"}


def test_action_sent_before_the_unit_settles_times_out(fake_juju: FakeJuju, model: jubilant.Juju):
    """What run_when_ready avoids: the fake answers as Juju does when the wait runs out."""
    juju = model
    fake_juju.update(deploy_outcome={"backup-s3": ["waiting", "blocked"]})
    juju.deploy("s3-integrator", "backup-s3")
    juju.status()
    with pytest.raises(TimeoutError):
        juju.run("backup-s3/0", "sync-s3-credentials", {"access-key": "a", "secret-key": "b"})
    state = fake_juju.state()
    state["models"][juju.model or ""]["actions"] = {"backup-s3/0": {"sync-s3-credentials": {}}}
    fake_juju.write(state)
    task = run_when_ready(juju, "backup-s3/0", "sync-s3-credentials", {})
    assert task.success


def test_dex_config_is_read_from_the_workload_container(fake_juju: FakeJuju, model: jubilant.Juju):
    juju = model
    juju.deploy("dex-auth")
    config = "connectors:\n- type: ldap\n"
    state = fake_juju.state()
    state["models"][juju.model or ""]["files"] = {
        "dex-auth/0": {"dex": {"/etc/dex/config.docker.yaml": config}}
    }
    fake_juju.write(state)
    assert workload_file(juju, "dex-auth/0", "dex", "/etc/dex/config.docker.yaml") == config
    # `juju exec` runs in the charm container, where the file is not.
    with pytest.raises(jubilant.TaskError):
        juju.exec("cat", "/etc/dex/config.docker.yaml", unit="dex-auth/0")
