"""A fake `juju` client that records every call and answers from a JSON state file.

It is installed as `<tmp>/snap/bin/juju` (tests/fake_juju/conftest.py), where jubilant takes it
for the strict snap and tools/deploy.sh finds it first on PATH. It is strict where the real
client is, so that what passes here does not fail on a controller:

- Flags: each command accepts only the flags the real one defines; anything else is Juju's
  gnuflag error "option provided but not defined", exit 2. `wait-for` is gone in Juju 4
  (state "version" 4.x). Sources: `juju help <command>` of Juju 3.6; the Juju 4.0 release notes.
- Snap confinement: the juju snap is strictly confined with the `home` plug (juju
  snap/snapcraft.yaml), whose AppArmor rule is `owner @{HOME}/[^s.]** rwkl` plus
  `@{HOME}/snap/<snap>` for the snap's own data (snapd interfaces/builtin/home.go); /tmp is the
  snap's private one. Every file the client reads (bundle, overlays, local charms, --params)
  must be there after resolving symlinks, or the fake fails as Juju does.
- Local bundles: Juju reads the bundle file, takes its directory as the base path
  (internal/charm/bundledatasrc.go LocalBundleDataSource) and resolves a local charm path
  (one starting with "." or "/") against it (cmd/juju/application/deployer/bundlehandler.go
  addCharm). A relative charm path in an overlay resolves against the overlay's directory
  (juju PR 10487). A bundle application with `trust: true` needs `--trust` (deployer/bundle.go).
- Actions: `juju run` waits 60 s unless `--wait` says otherwise (cmd/juju/action,
  runCommandBase.Init). An action on a unit whose charm has not yet set its workload status
  (unknown, waiting, maintenance) is queued behind the unit's first hooks; the fake cannot
  advance time, so it answers what Juju answers when the wait runs out: a time-out.
- Workload containers: `juju ssh --container <name>` runs in that container, where Juju
  mounts Pebble at /charm/bin/pebble and does not put it on PATH (juju
  caas/kubernetes/provider/application/application.go); `juju exec` and `juju ssh` without
  --container run in the charm container, which does not hold the workload's files.

State file (FAKE_JUJU_STATE): version, controller, models {name: {config, apps, status_queue,
actions, files}}, model_defaults, endpoints {charm: [endpoint, ...]}, and what deploying a
bundle leaves (deploy_outcome {app: [workload status, ...]}). Calls go to calls.jsonl next to it.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bundles import merge

STATE = Path(os.environ["FAKE_JUJU_STATE"])
CALLS = STATE.with_name("calls.jsonl")
BOOL, VALUE, MULTI = "bool", "value", "multi"
MODEL_FLAGS = {"-m": VALUE, "--model": VALUE}
FORMAT = {"--format": VALUE, "-o": VALUE, "--output": VALUE}
# The flags each command defines in Juju 3.6 (the subset of commands this repository uses).
COMMANDS: dict[str, dict[str, str]] = {
    "version": {**FORMAT, "--all": BOOL},
    "show-controller": {**FORMAT, "--show-password": BOOL},
    "switch": {},
    "models": {**FORMAT, "-c": VALUE, "--controller": VALUE, "--all": BOOL, "--uuid": BOOL},
    "add-model": {
        "-c": VALUE,
        "--controller": VALUE,
        "--config": MULTI,
        "--credential": VALUE,
        "--no-switch": BOOL,
        "--owner": VALUE,
        "--target-controller": VALUE,
    },
    "model-config": {
        **MODEL_FLAGS,
        **FORMAT,
        "--reset": MULTI,
        "--file": VALUE,
        "--color": BOOL,
        "--no-color": BOOL,
        "--ignore-read-only-fields": BOOL,
    },
    "destroy-model": {
        "--no-prompt": BOOL,
        "--destroy-storage": BOOL,
        "--release-storage": BOOL,
        "--force": BOOL,
        "--no-wait": BOOL,
        "--timeout": VALUE,
        "-y": BOOL,
    },
    "deploy": {
        **MODEL_FLAGS,
        "--trust": BOOL,
        "--overlay": MULTI,
        "--channel": VALUE,
        "--config": MULTI,
        "--resource": MULTI,
        "-n": VALUE,
        "--num-units": VALUE,
        "--base": VALUE,
        "--revision": VALUE,
        "--constraints": MULTI,
        "--storage": MULTI,
        "--to": VALUE,
        "--force": BOOL,
        "--dry-run": BOOL,
        "--bind": VALUE,
        "--attach-storage": VALUE,
        "--map-machines": VALUE,
    },
    "config": {**MODEL_FLAGS, **FORMAT, "--reset": MULTI, "--file": VALUE, "--color": BOOL},
    "status": {
        **MODEL_FLAGS,
        **FORMAT,
        "--relations": BOOL,
        "--integrations": BOOL,
        "--storage": BOOL,
        "--color": BOOL,
        "--no-color": BOOL,
        "--watch": VALUE,
        "--utc": BOOL,
    },
    "run": {
        **MODEL_FLAGS,
        **FORMAT,
        "--wait": VALUE,
        "--params": VALUE,
        "--background": BOOL,
        "--string-args": BOOL,
        "--utc": BOOL,
        "--color": BOOL,
        "--no-color": BOOL,
    },
    "exec": {
        **MODEL_FLAGS,
        **FORMAT,
        "-u": MULTI,
        "--unit": MULTI,
        "--machine": MULTI,
        "-a": MULTI,
        "--application": MULTI,
        "--all": BOOL,
        "--wait": VALUE,
        "--background": BOOL,
        "--execution-group": VALUE,
        "--parallel": BOOL,
    },
    "ssh": {
        **MODEL_FLAGS,
        "--container": VALUE,
        "--no-host-key-checks": BOOL,
        "--proxy": BOOL,
        "--pty": VALUE,
    },
    "integrate": {**MODEL_FLAGS, "--via": VALUE},
    "wait-for": {},  # sub-commands parsed below; removed in Juju 4
}
WAIT_FOR = {"--query": VALUE, "--timeout": VALUE, "--summary": BOOL, "-m": VALUE}
NOT_READY = {"unknown", "waiting", "maintenance", ""}
PEBBLE = "/charm/bin/pebble"


class JujuError(Exception):
    """What the real client prints after "ERROR", with its exit code."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def main(argv: list[str]) -> int:
    """Record the call, then answer it like the client would."""
    state = json.loads(STATE.read_text())
    with CALLS.open("a") as calls:
        calls.write(json.dumps({"argv": argv, "cwd": os.getcwd()}) + "\n")
    try:
        out = dispatch(state, argv)
    except JujuError as err:
        sys.stderr.write(f"ERROR {err}\n")
        return err.code
    finally:
        STATE.write_text(json.dumps(state, indent=1))
    sys.stdout.write(out)
    return 0


def dispatch(state: dict[str, Any], argv: list[str]) -> str:
    """Parse the command line strictly and run the command."""
    if not argv:
        raise JujuError("no command given", 2)
    command, rest = argv[0], argv[1:]
    juju4 = str(state.get("version", "3.6.12")).startswith("4.")
    if command not in COMMANDS or (command == "wait-for" and juju4):
        raise JujuError(f'juju: "{command}" is not a juju command. See "juju --help".', 2)
    if command == "wait-for":
        return wait_for(state, rest)
    flags, args = parse(rest, COMMANDS[command], stop_at_command=command in ("ssh", "exec"))
    handler = HANDLERS[command]
    return handler(state, flags, args)


def parse(
    argv: list[str], spec: dict[str, str], stop_at_command: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """Parse by gnuflag's rules: flags before `--`, `--x=v` or `--x v`, unknown flags fatal."""
    flags: dict[str, Any] = {}
    args: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            args.extend(argv[i + 1 :])
            break
        if stop_at_command and len(args) >= 1 and not arg.startswith("-"):
            args.extend(argv[i:])  # ssh: everything after the target is the remote command
            break
        if arg.startswith("-") and arg != "-":
            name, _, inline = arg.partition("=")
            kind = spec.get(name)
            if kind is None:
                raise JujuError(f"option provided but not defined: {name}", 2)
            if kind == BOOL:
                flags[name] = True
            else:
                if not inline:
                    if i + 1 >= len(argv):
                        raise JujuError(f"flag needs an argument: {name}", 2)
                    i += 1
                    inline = argv[i]
                if kind == MULTI:
                    flags.setdefault(name, []).append(inline)
                else:
                    flags[name] = inline
        else:
            args.append(arg)
        i += 1
    return flags, args


def model_of(state: dict[str, Any], flags: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The model a command acts on: -m/--model, else the current one."""
    require_controller(state)
    name = flags.get("-m") or flags.get("--model") or state.get("current_model")
    if not name:
        raise JujuError("no current model")
    name = str(name).split(":")[-1].split("/")[-1]
    if name not in state["models"]:
        raise JujuError(f'model "{name}" not found (not found)')
    return name, state["models"][name]


def require_controller(state: dict[str, Any]) -> None:
    if not state.get("controller"):
        raise JujuError("No controllers registered.")


def confined_read(state: dict[str, Any], path: str) -> str:
    """Read a file as the strictly confined snap can (see the module docstring)."""
    real = os.path.realpath(os.path.abspath(path))
    home = os.path.realpath(os.environ["HOME"])
    rel = os.path.relpath(real, home)
    first = rel.split(os.sep)[0]
    readable = not rel.startswith("..") and (
        (not first.startswith(".") and first != "snap") or rel.startswith("snap/juju/")
    )
    if not readable:
        raise JujuError(f"open {real}: permission denied")
    if not os.path.isfile(real):
        raise JujuError(f"no such file or directory: {real} (not found)")
    return Path(real).read_text(errors="replace")


def version(state: dict[str, Any], flags: dict[str, Any], args: list[str]) -> str:
    number = f"{state.get('version', '3.6.12')}-genericlinux-amd64"
    if flags.get("--format") == "json":
        return json.dumps({"version": number, "git-commit": "0" * 40}) + "\n"
    return number + "\n"


def show_controller(state: dict[str, Any], flags: dict[str, Any], args: list[str]) -> str:
    require_controller(state)
    return f"{state['controller']}:\n  details: {{}}\n"


def switch(state: dict[str, Any], flags: dict[str, Any], args: list[str]) -> str:
    require_controller(state)
    if args:
        name = args[0].split(":")[-1]
        if name not in state["models"]:
            raise JujuError(f'"{name}" is not the name of a model or controller')
        state["current_model"] = name
        return ""
    return f"{state['controller']}:admin/{state.get('current_model') or ''}\n"


def models(state: dict[str, Any], flags: dict[str, Any], args: list[str]) -> str:
    require_controller(state)
    listed = [
        {"name": f"admin/{name}", "short-name": name, "type": "caas", "owner": "admin"}
        for name in state["models"]
    ]
    if flags.get("--format") != "json":
        return "\n".join(m["short-name"] for m in listed) + "\n"
    current = state.get("current_model")
    return json.dumps({"models": listed, "current-model": current}, separators=(",", ":")) + "\n"


def add_model(state: dict[str, Any], flags: dict[str, Any], args: list[str]) -> str:
    require_controller(state)
    if len(args) not in (1, 2):
        raise JujuError("model name is required", 2)
    name = args[0]
    if name in state["models"]:
        raise JujuError(f'model "{name}" already exists (already exists)')
    config = dict(state.get("model_defaults") or {})
    for item in flags.get("--config", []):
        key, _, value = item.partition("=")
        config[key] = value
    state["models"][name] = {"config": config, "apps": {}, "status_queue": []}
    if not flags.get("--no-switch"):
        state["current_model"] = name
    return ""


def model_config(state: dict[str, Any], flags: dict[str, Any], args: list[str]) -> str:
    _, model = model_of(state, flags)
    settings = [a for a in args if "=" in a]
    for item in settings:
        key, _, value = item.partition("=")
        model["config"][key] = value
    if settings or flags.get("--reset"):
        return ""
    if args:
        return f"{model['config'].get(args[0], '')}\n"
    shown = {k: {"Value": _typed(v), "Source": "model"} for k, v in model["config"].items()}
    return json.dumps(shown) + "\n"


def _typed(value: Any) -> Any:
    """Model config as Juju shows it: booleans are booleans."""
    return {"true": True, "false": False}.get(str(value).lower(), value)


def destroy_model(state: dict[str, Any], flags: dict[str, Any], args: list[str]) -> str:
    require_controller(state)
    if len(args) != 1 or not flags.get("--no-prompt"):
        raise JujuError("destroying a model needs its name and --no-prompt here", 2)
    name = args[0].split(":")[-1].split("/")[-1]
    if state["models"].pop(name, None) is None:
        raise JujuError(f'model "{name}" not found (not found)')
    if state.get("current_model") == name:
        state["current_model"] = None
    return ""


def deploy(state: dict[str, Any], flags: dict[str, Any], args: list[str]) -> str:
    _, model = model_of(state, flags)
    if not args:
        raise JujuError("no charm name specified", 2)
    target = args[0]
    if not target.startswith((".", "/")):
        if os.path.exists(target):
            raise JujuError(f'The charm or bundle "{target}" is ambiguous.')
        app = args[1] if len(args) > 1 else target
        return _add_app(state, model, app, target, [])
    text = confined_read(state, target)
    try:  # Juju tries the file as bundle YAML first, whatever its name (bundledatasrc.go)
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        document = None
    if not isinstance(document, dict) or "applications" not in document:  # a charm archive
        app = args[1] if len(args) > 1 else Path(target).stem
        return _add_app(state, model, app, target, [])
    return _deploy_bundle(state, model, _resolved(document, target), flags)


def _deploy_bundle(
    state: dict[str, Any], model: dict[str, Any], bundle: dict[str, Any], flags: dict[str, Any]
) -> str:
    """Overlays merged in, trust and local charms checked, applications added."""
    for overlay in flags.get("--overlay", []):
        bundle = merge(bundle, _resolved(yaml.safe_load(confined_read(state, overlay)), overlay))
    trusting = [a for a, spec in bundle["applications"].items() if (spec or {}).get("trust")]
    if trusting and not flags.get("--trust"):
        raise JujuError(
            "Bundle cannot be deployed without trusting applications: " + ", ".join(trusting)
        )
    for app, spec in bundle["applications"].items():
        charm = str(spec.get("charm") or "")
        if not charm:
            raise JujuError(f'the provided bundle has errors: application "{app}" has no charm')
        if charm.startswith("/"):
            confined_read(state, charm)
    for app, spec in bundle["applications"].items():
        related = [_other_end(r, app) for r in bundle.get("relations") or []]
        _add_app(state, model, app, str(spec["charm"]), [r for r in related if r])
    return "Deploy of bundle completed.\n"


def _resolved(document: dict[str, Any], path: str) -> dict[str, Any]:
    """Local charm paths made absolute against the directory of the file that names them."""
    base = os.path.dirname(os.path.abspath(path))
    for spec in (document.get("applications") or {}).values():
        charm = str((spec or {}).get("charm") or "")
        if charm.startswith("."):
            spec["charm"] = os.path.normpath(os.path.join(base, charm))
    return document


def _other_end(relation: list[str], app: str) -> tuple[str, str] | None:
    """(endpoint of app, other application) when the relation names app."""
    ends = [e.split(":") for e in relation]
    for i, end in enumerate(ends):
        if end[0] == app:
            other = ends[1 - i]
            return (end[1] if len(end) > 1 else other[-1], other[0])
    return None


def _add_app(
    state: dict[str, Any],
    model: dict[str, Any],
    app: str,
    charm: str,
    relations: list[tuple[str, str]],
) -> str:
    name = Path(charm).stem if charm.startswith((".", "/")) else charm
    outcome = (state.get("deploy_outcome") or {}).get(app) or ["active"]
    model["apps"][app] = {
        "charm": name,
        "relations": relations,
        "statuses": list(outcome),
        "config": {},
    }
    return f"Deployed {app!r} from {charm}\n"


def status(state: dict[str, Any], flags: dict[str, Any], args: list[str]) -> str:
    name, model = model_of(state, flags)
    queue = model.get("status_queue") or []
    if queue:
        current = queue.pop(0) if len(queue) > 1 else queue[0]
    else:
        current = _synthesized(state, name, model)
    model["last_status"] = current
    if args:
        current = {
            **current,
            "applications": {a: s for a, s in current["applications"].items() if a in args},
        }
    if flags.get("--format") != "json":
        return "\n".join(current["applications"]) + "\n"
    return json.dumps(current, separators=(",", ":")) + "\n"


def _synthesized(state: dict[str, Any], name: str, model: dict[str, Any]) -> dict[str, Any]:
    """Status as Juju 3.6 formats it (cmd/juju/status/formatted.go), apps advancing per call."""
    apps = {}
    for app, info in model["apps"].items():
        statuses = info["statuses"]
        current = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        apps[app] = app_status(
            app,
            info["charm"],
            current,
            relations=info["relations"],
            endpoints=(state.get("endpoints") or {}).get(info["charm"], []),
        )
    return model_status(name, apps)


def model_status(name: str, apps: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": {
            "name": name,
            "type": "caas",
            "controller": "concierge-k8s",
            "cloud": "k8s",
            "version": "3.6.12",
            "model-status": {"current": "available"},
        },
        "machines": {},
        "applications": apps,
    }


def app_status(
    app: str,
    charm: str,
    workload: str,
    relations: list[tuple[str, str]] = (),  # type: ignore[assignment]
    endpoints: list[str] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    """One application with one unit, in Juju 3.6's JSON shape."""
    juju_status = "allocating" if workload in ("unknown", "waiting") else "idle"
    grouped: dict[str, list[dict[str, str]]] = {}
    for endpoint, other in relations:
        grouped.setdefault(endpoint, []).append(
            {"related-application": other, "interface": endpoint, "scope": "global"}
        )
    return {
        "charm": charm,
        "charm-origin": "local",
        "charm-name": charm,
        "charm-rev": 0,
        "exposed": False,
        "application-status": {"current": workload},
        "relations": grouped,
        "units": {
            f"{app}/0": {
                "workload-status": {"current": workload},
                "juju-status": {"current": juju_status},
                "leader": True,
            }
        },
        # Every endpoint of the charm, related or not (what a grep for a name always finds).
        "endpoint-bindings": {"": "alpha", **dict.fromkeys(endpoints, "alpha")},
    }


def config(state: dict[str, Any], flags: dict[str, Any], args: list[str]) -> str:
    _, model = model_of(state, flags)
    if not args or args[0] not in model["apps"]:
        raise JujuError(f'application "{args[0] if args else ""}" not found (not found)')
    values = model["apps"][args[0]]["config"]
    settings = [a for a in args[1:] if "=" in a]
    for item in settings:
        key, _, value = item.partition("=")
        values[key] = value
    if settings:
        return ""
    if len(args) == 2:
        return f"{values.get(args[1], '')}\n"
    return json.dumps({"settings": {k: {"value": v} for k, v in values.items()}}) + "\n"


def _unit(state: dict[str, Any], name: str, unit: str) -> tuple[str, dict[str, Any]]:
    """The unit's entry in the model's current status (leader syntax resolved)."""
    model = state["models"][name]
    current = model.get("last_status") or _synthesized(state, name, model)
    app, _, number = unit.partition("/")
    shown = current["applications"].get(app)
    if shown is None:
        raise JujuError(f'unit "{unit}" not found (not found)')
    units = shown.get("units") or {}
    if number == "leader":
        unit = next((u for u, s in units.items() if s.get("leader")), f"{app}/0")
    if unit not in units:
        raise JujuError(f'unit "{unit}" not found (not found)')
    return unit, units[unit]


def run(state: dict[str, Any], flags: dict[str, Any], args: list[str]) -> str:
    name, model = model_of(state, flags)
    if len(args) < 2:
        raise JujuError("no action specified", 2)
    unit, info = _unit(state, name, args[0])
    wait = flags.get("--wait", "60s")
    if not re.fullmatch(r"\d+(\.\d+)?(ms|s|m|h)", wait):
        raise JujuError(f'invalid value "{wait}" for flag --wait: time: invalid duration', 2)
    params = {}
    if "--params" in flags:
        params = yaml.safe_load(confined_read(state, flags["--params"])) or {}
    if info["workload-status"]["current"] in NOT_READY:
        raise JujuError(f"timed out waiting for results from: unit {unit}")
    canned = (model.get("actions") or {}).get(unit, {}).get(args[1])
    if canned is None:
        raise JujuError(f'action "{args[1]}" not defined for unit "{unit}" (not found)')
    model.setdefault("ran", []).append({"unit": unit, "action": args[1], "params": params})
    task = {"id": "1", "status": "completed", "results": canned}
    return json.dumps({unit: task}) + "\n"


def _container_file(model: dict[str, Any], unit: str, container: str, path: str) -> str:
    files = (model.get("files") or {}).get(unit, {}).get(container, {})
    if path not in files:
        raise JujuError(f"{path}: No such file or directory (exit status 1)")
    return files[path]


def ssh(state: dict[str, Any], flags: dict[str, Any], args: list[str]) -> str:
    name, model = model_of(state, flags)
    if len(args) < 2:
        raise JujuError("no command given", 2)
    unit, _ = _unit(state, name, args[0])
    container = flags.get("--container", "charm")
    command = args[1:]
    if len(command) == 1:
        command = command[0].split()
    if command[0] == "pebble" and container != "charm":
        raise JujuError("sh: 1: pebble: not found (exit status 127)")
    if command[:2] == [PEBBLE, "pull"] and len(command) == 4 and command[3] == "/dev/stdout":
        return _container_file(model, unit, container, command[2])
    if command[0] == "cat" and len(command) == 2:
        return _container_file(model, unit, container, command[1])
    raise JujuError(f"the fake runs no {command[0]!r} (exit status 127)")


def exec_(state: dict[str, Any], flags: dict[str, Any], args: list[str]) -> str:
    name, model = model_of(state, flags)
    units = flags.get("--unit", []) + flags.get("-u", [])
    if len(units) != 1 or not args:
        raise JujuError("exec needs one --unit and a command here", 2)
    unit, _ = _unit(state, name, units[0])
    command = " ".join(args).split()
    stdout, code = "", 0
    if command[0] == "cat" and len(command) == 2:
        try:
            stdout = _container_file(model, unit, "charm", command[1])
        except JujuError:
            code = 1
    results = {"return-code": code, "stdout": stdout, "stderr": "" if not code else "no such file"}
    status = "completed" if code == 0 else "failed"
    return json.dumps({unit: {"id": "2", "status": status, "results": results}}) + "\n"


def integrate(state: dict[str, Any], flags: dict[str, Any], args: list[str]) -> str:
    _, model = model_of(state, flags)
    if len(args) != 2:
        raise JujuError("an integration must involve two applications", 2)
    first, second = (a.split(":") for a in args)
    for app, other in ((first, second), (second, first)):
        if app[0] in model["apps"]:
            endpoint = app[1] if len(app) > 1 else other[0]
            model["apps"][app[0]]["relations"].append((endpoint, other[0]))
    return ""


def wait_for(state: dict[str, Any], argv: list[str]) -> str:
    _, args = parse(argv, WAIT_FOR)
    if len(args) != 2 or args[0] not in ("model", "application", "unit", "machine"):
        raise JujuError("wait-for needs an entity kind and name", 2)
    return ""


HANDLERS = {
    "version": version,
    "show-controller": show_controller,
    "switch": switch,
    "models": models,
    "add-model": add_model,
    "model-config": model_config,
    "destroy-model": destroy_model,
    "deploy": deploy,
    "config": config,
    "status": status,
    "run": run,
    "exec": exec_,
    "ssh": ssh,
    "integrate": integrate,
}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
