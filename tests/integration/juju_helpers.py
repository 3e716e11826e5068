"""How the integration tests use Juju: models, deploying the bundle, actions, workload files.

Each helper encodes a rule of Juju, jubilant, snapd or concierge that a fake would not show;
tests/fake_juju checks them against a strict fake `juju` installed where a snap would be.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jubilant
import pytest

# The Juju these tests, tools/deploy.sh and the docs are written for (snap channel 3.6/stable).
JUJU_SERIES = (3, 6)
# Deploys here pull images and settle many charms: no wait may use jubilant's 180 s default.
WAIT_TIMEOUT = 30 * 60
# concierge's presets set automatically-retry-hooks=false as a model default (concierge
# internal/config/presets.go, defaultJujuConfig); a real deployment retries failed hooks.
MODEL_CONFIG: dict[str, jubilant.ConfigValue] = {"automatically-retry-hooks": True}
# `juju run` gives up after 60 s unless told otherwise (juju cmd/juju/action,
# runCommandBase.Init); actions here may queue behind a unit's first hooks or copy data.
ACTION_WAIT = 10 * 60
# Seconds between two `juju status` reads while waiting for a unit.
POLL_DELAY = 5.0
# Juju mounts Pebble into every workload container here, not on PATH (juju
# caas/kubernetes/provider/application/application.go).
PEBBLE = "/charm/bin/pebble"


def module_model(
    required: str | None = None, env: Mapping[str, str] = os.environ
) -> Generator[jubilant.Juju]:
    """The model a test module deploys into.

    DSP_MODEL names an existing model (kept afterwards); otherwise a new one is created and
    destroyed at the end unless DSP_KEEP_MODELS=1. `required` is the name a module needs
    (Charmed Kubeflow needs `kubeflow`): it is created under that name, and DSP_MODEL must
    name it. Every model gets MODEL_CONFIG and a WAIT_TIMEOUT default wait.
    """
    existing = env.get("DSP_MODEL")
    keep = env.get("DSP_KEEP_MODELS") == "1"
    if existing:
        if required and existing != required:
            pytest.fail(f"this module needs the model {required!r}: set DSP_MODEL={required}")
        juju = jubilant.Juju(model=existing, wait_timeout=WAIT_TIMEOUT)
        juju.model_config(MODEL_CONFIG)
        yield juju
        return
    if required is None:
        with jubilant.temp_model(keep=keep, config=MODEL_CONFIG) as juju:
            juju.wait_timeout = WAIT_TIMEOUT
            yield juju
        return
    juju = jubilant.Juju(wait_timeout=WAIT_TIMEOUT)
    if model_exists(juju, required):
        pytest.fail(
            f"a model {required!r} exists: destroy it, or set DSP_MODEL={required} to use it"
        )
    juju.add_model(required, config=MODEL_CONFIG)
    try:
        yield juju
    finally:
        if not keep:
            juju.destroy_model(required, destroy_storage=True, force=True, timeout=20 * 60)


def check_juju_version(juju: jubilant.Juju) -> None:
    """Fail unless the client is Juju 3.6: Juju 4 changed the CLI these tests and docs use."""
    version = juju.version()
    if (version.major, version.minor) != JUJU_SERIES:
        pytest.fail(
            f"Juju {version}: these tests are written for Juju 3.6 "
            "(sudo snap refresh juju --channel 3.6/stable)"
        )


def check_one_module_per_model(modules: set[str], env: Mapping[str, str] = os.environ) -> None:
    """Refuse to run several test modules in the one model DSP_MODEL names.

    They deploy the same application names with different settings (istio-pilot, minio,
    kubeflow-profiles, ...), so a second module would find the first one's applications.
    """
    if env.get("DSP_MODEL") and len(modules) > 1:
        raise pytest.UsageError(
            f"DSP_MODEL={env['DSP_MODEL']} is one model, and these modules each need their own: "
            f"{', '.join(sorted(modules))}. Select one (e.g. `-- -k test_dex.py`) "
            "or unset DSP_MODEL."
        )


def model_exists(juju: jubilant.Juju, name: str) -> bool:
    """Whether the current controller has a model called `name`."""
    listing = json.loads(juju.cli("models", "--format", "json", include_model=False))
    return any(m.get("short-name") == name for m in listing.get("models") or [])


def juju_is_snap(juju: jubilant.Juju) -> bool:
    """Whether the client is the strictly confined snap (jubilant decides the same way)."""
    found = shutil.which(juju.cli_binary)
    return found is not None and "/snap/" in found


def snap_can_read(path: Path, home: Path | None = None) -> bool:
    """Whether Juju from snap can read `path`.

    The juju snap is strictly confined with the `home` plug (juju snap/snapcraft.yaml), which
    allows `owner @{HOME}/[^s.]**` and the snap's own `~/snap/juju`, not top-level hidden
    directories, other snaps' data or the host's /tmp (snapd interfaces/builtin/home.go).
    AppArmor checks the resolved path, so a symlink from $HOME does not help.
    """
    home = (home or Path.home()).resolve()
    try:
        parts = path.resolve().relative_to(home).parts
    except ValueError:
        return False
    if not parts:
        return False
    return not parts[0].startswith(".") and (parts[0] != "snap" or parts[1:2] == ("juju",))


def deploy_bundle(juju: jubilant.Juju, bundle: Path, overlays: Sequence[Path] = ()) -> None:
    """`juju deploy <bundle> --overlay <overlay> ... --trust` with the repository's own files.

    Not `jubilant.Juju.deploy`: with Juju from snap it copies the file it is given into
    `~/snap/juju/common/<tmp>/_temp.charm` (jubilant/_juju.py `_deploy_tempdir`), and Juju
    resolves a bundle's `./build/<name>.charm` against the directory of the bundle file it
    reads (internal/charm/bundledatasrc.go, cmd/juju/application/deployer/bundlehandler.go),
    where no charm is. Given by absolute path, bundle and overlays are read in place; overlays
    name charms relative to their own directory (juju PR 10487).
    """
    files = [bundle.resolve(), *(o.resolve() for o in overlays)]
    if juju_is_snap(juju):
        unreadable = [str(f) for f in files if not snap_can_read(f)]
        if unreadable:
            pytest.fail(
                f"Juju from snap cannot read {unreadable}: it reads files only under $HOME, "
                "outside hidden directories (snapd's home interface); clone the repository there"
            )
    args = ["deploy", str(files[0])]
    for overlay in files[1:]:
        args.extend(["--overlay", str(overlay)])
    args.append("--trust")
    juju.cli(*args)


def settled(status: jubilant.Status, app: str) -> bool:
    """The app is there and its charm has set active or blocked on it and every unit."""
    return app in status.apps and (
        jubilant.all_active(status, app) or jubilant.all_blocked(status, app)
    )


def run_when_ready(
    juju: jubilant.Juju,
    unit: str,
    action: str,
    params: Mapping[str, Any] | None = None,
    *,
    wait: float = ACTION_WAIT,
) -> jubilant.Task:
    """Run an action once its unit's charm has settled (active or blocked), with a wait.

    A fresh unit runs its install and start hooks first; an action sent before then waits in
    the queue, and `juju run` gives up after its default 60 s.
    """
    app = unit.split("/")[0]
    juju.wait(
        lambda status: settled(status, app),
        error=lambda status: jubilant.any_error(status, app),
        delay=POLL_DELAY,
    )
    return juju.run(unit, action, dict(params) if params is not None else None, wait=wait)


def workload_file(juju: jubilant.Juju, unit: str, container: str, path: str) -> str:
    """A file from a workload container, read through Pebble.

    `juju exec` and `juju ssh` without --container run in the charm container, which does not
    see the workload's filesystem; the workload image may have no `cat`, but Juju mounts
    Pebble into every workload container at /charm/bin/pebble, and `pebble pull` copies a file
    out through the workload's Pebble (canonical/pebble internals/cli/cmd_pull.go).
    """
    return juju.ssh(unit, PEBBLE, "pull", path, "/dev/stdout", container=container)
