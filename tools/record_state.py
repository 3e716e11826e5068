"""Record the state each charm leaves after a full set of events, as an upgrade fixture.

    .tox/unit/bin/python tools/record_state.py                 # every charm
    .tox/unit/bin/python tools/record_state.py seldon-core dex # some
    .tox/unit/bin/python tools/record_state.py --revision 2026-12-06 --check

Each charm's `tests/unit/upgrade_scenario.py` says what to run (a starting state, events and
users' objects); the run uses the charm's real code against `FakeKubernetes`, with random
keys and ids made deterministic, and `dsplib.upgrade_states.record` writes the result to
`charms/<name>/tests/unit/upgrade_states/<revision>.json` (revision: today's UTC date unless
given). An existing fixture is never rewritten with other content: a revision that changes
what the charm stores adds a fixture and keeps the old ones (see dsplib.upgrade_states).
`--check` records into memory only and fails when the newest fixture no longer matches.

Every charm has a module named `charm`, so each one runs in its own process with its own
src/ on the path, as in tools/unit.py.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def charms_with_scenarios() -> list[Path]:
    """Charm directories that define an upgrade scenario."""
    return sorted(
        p.parent.parent.parent for p in ROOT.glob("charms/*/tests/unit/upgrade_scenario.py")
    )


def record_one(charm_dir: Path, revision: str, *, check: bool) -> int:
    """Record (or check) one charm in a child process; its exit code."""
    tests = charm_dir / "tests" / "unit"
    path = [str(charm_dir / "src"), str(tests), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}
    cmd = [sys.executable, __file__, "--child", str(charm_dir), "--revision", revision]
    if check:
        cmd.append("--check")
    return subprocess.call(cmd, cwd=charm_dir, env=env)


def child(charm_dir: Path, revision: str, *, check: bool) -> int:
    """In the charm's process: run its scenario and write or compare the fixture."""
    import pytest
    from ops import testing

    import upgrade_scenario  # pyright: ignore[reportMissingImports] - from PYTHONPATH
    from dsplib import upgrade_states
    from dsplib.manifests import KubernetesManifests
    from dsplib.testing import FakeKubernetes

    kube = FakeKubernetes()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(KubernetesManifests, "client_factory", staticmethod(lambda app: kube))
        upgrade_scenario.deterministic(mp)
        scenario = upgrade_scenario.scenario()
        ctx = testing.Context(upgrade_scenario.CHARM, app_name=scenario.app)
        out = upgrade_states.run(ctx, scenario, kube)
    fixture = upgrade_states.record(out, kube, app=scenario.app, revision=revision)
    text = upgrade_states.dumps(fixture)
    recorded = upgrade_states.fixtures(charm_dir)
    name = charm_dir.name
    if check:
        if not recorded:
            print(f"{name}: no fixture yet", file=sys.stderr)
            return 1
        newest = upgrade_states.load(recorded[-1])
        if upgrade_states.shape(newest) != upgrade_states.shape(fixture):
            print(f"{name}: stores another shape than {recorded[-1].name}", file=sys.stderr)
            return 1
        print(f"{name}: {recorded[-1].name} matches")
        return 0
    target = charm_dir / upgrade_states.FIXTURE_DIR / f"{revision}.json"
    if target.exists() and target.read_text() != text:
        print(f"{name}: {target.name} exists with other content; pick another --revision")
        return 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    print(f"{name}: wrote {target.relative_to(ROOT)} ({len(text.encode())} bytes)")
    return 0


def main() -> int:
    """Record or check the charms named (all by default); non-zero if any failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("charms", nargs="*", help="charm names (default: every charm)")
    parser.add_argument(
        "--revision", default=f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d}"
    )
    parser.add_argument("--check", action="store_true", help="compare with the newest fixture")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.revision, check=args.check)
    dirs = [d for d in charms_with_scenarios() if not args.charms or d.name in args.charms]
    unknown = set(args.charms) - {d.name for d in dirs}
    if unknown:
        print(f"no upgrade scenario for: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    failed = [d.name for d in dirs if record_one(d, args.revision, check=args.check) != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
