"""What tools/deploy.sh and the docs ask of Juju beyond plain commands, read from its JSON.

    juju status dex-auth --format=json | python3 tools/juju_helper.py related dex-auth ldap
    juju models --format=json | python3 tools/juju_helper.py has-model kubeflow
    ./dev wait [--model kubeflow] [--timeout 3600]      (runs `wait` with jubilant)

`related` and `has-model` need only Python's standard library (deploy.sh runs them with the
system python3); `wait` needs jubilant, so `./dev wait` runs it in the `juju-wait` tox
environment. Exit status 0 means yes, 1 no, 2 unreadable input.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

# The Juju the docs and tools/deploy.sh support: Juju 4 removed `juju wait-for`, among others.
JUJU_CHANNEL = "3.6/stable"


def related(status: dict[str, Any], app: str, endpoint: str) -> bool:
    """Whether `app` has at least one relation on `endpoint`.

    Status lists every endpoint of the charm under `endpoint-bindings`, related or not, so only
    `relations` says whether one is in use. Juju 3 gives each related application as an object
    (`related-application`, jubilant/statustypes.py AppStatusRelation), Juju 2.9 as a string.
    """
    application = (status.get("applications") or {}).get(app) or {}
    entries = (application.get("relations") or {}).get(endpoint) or []
    return any((e.get("related-application") if isinstance(e, dict) else e) for e in entries)


def has_model(listing: dict[str, Any], name: str) -> bool:
    """Whether `juju models --format=json` lists a model called `name` (owner aside)."""
    return any(
        m.get("short-name") == name or str(m.get("name", "")).split("/")[-1] == name
        for m in listing.get("models") or []
    )


def wait(model: str, timeout: float, delay: float) -> None:
    """Wait until every application and unit is active (three status reads in a row).

    Uses jubilant's polling of `juju status` rather than `juju wait-for`, which Juju 4 removed.
    A hook error does not end the wait: the models have `automatically-retry-hooks` on, so
    Juju retries it, as on a real deployment.
    """
    import jubilant

    juju = jubilant.Juju(model=model)
    juju.wait(jubilant.all_active, timeout=timeout, delay=delay)


def main(argv: list[str]) -> int:
    """Parse the sub-command and answer it through the exit status."""
    parser = argparse.ArgumentParser(prog="juju_helper.py", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("related", help="is APP related on ENDPOINT (status JSON on stdin)")
    rel.add_argument("app")
    rel.add_argument("endpoint")
    mod = sub.add_parser("has-model", help="does the model exist (models JSON on stdin)")
    mod.add_argument("name")
    wai = sub.add_parser("wait", help="wait until every application is active")
    wai.add_argument("--model", default="kubeflow")
    wai.add_argument("--timeout", type=float, default=3600)
    wai.add_argument("--delay", type=float, default=10)
    args = parser.parse_args(argv)
    if args.command == "wait":
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        try:
            wait(args.model, args.timeout, args.delay)
        except TimeoutError as err:
            print(f"not active within {args.timeout:.0f} s: {err}", file=sys.stderr)
            return 1
        return 0
    try:
        document = json.load(sys.stdin)
    except ValueError as err:
        print(f"not JSON from juju: {err}", file=sys.stderr)
        return 2
    if args.command == "related":
        return 0 if related(document, args.app, args.endpoint) else 1
    return 0 if has_model(document, args.name) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
