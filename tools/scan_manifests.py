"""Security scan (checkov's Kubernetes checks) of every object our charms render.

Reads build/manifests/*.yaml, written by `tox -e static`. A failed check fails the scan unless
tests/static/checkov-allowlist.yaml lists it for that resource, with the reason. Allow-list
entries that no longer match anything fail too, so the list cannot rot.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "build" / "manifests"
ALLOWLIST = ROOT / "tests" / "static" / "checkov-allowlist.yaml"


def failed_checks() -> set[tuple[str, str]]:
    """(check id, resource) of every failed check."""
    proc = subprocess.run(
        ["checkov", "-d", str(MANIFESTS), "--framework", "kubernetes", "-o", "json", "--quiet"],
        capture_output=True,
        text=True,
    )
    if proc.returncode not in (0, 1):
        sys.exit(f"checkov failed: {proc.stderr[-2000:]}")
    reports = json.loads(proc.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    return {
        (check["check_id"], check["resource"])
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
    }


def main() -> int:
    """Compare the failures with the allow-list; print what is unexplained or stale."""
    if not sorted(MANIFESTS.glob("*.yaml")):
        print("no manifests in build/manifests: run ./dev tox -e static first", file=sys.stderr)
        return 2
    allowed = yaml.safe_load(ALLOWLIST.read_text()) or []
    failures = failed_checks()
    unexplained = sorted(
        f
        for f in failures
        if not any(a["check"] == f[0] and fnmatch.fnmatch(f[1], a["resource"]) for a in allowed)
    )
    stale = [
        a
        for a in allowed
        if not any(a["check"] == f[0] and fnmatch.fnmatch(f[1], a["resource"]) for f in failures)
    ]
    for check, resource in unexplained:
        print(f"FAILED {check} {resource}: fix it, or allow it with a reason in {ALLOWLIST.name}")
    for entry in stale:
        print(f"STALE allow-list entry {entry['check']} {entry['resource']}: remove it")
    print(
        f"{len(failures)} failed checks, {len(failures) - len(unexplained)} allowed with a reason"
    )
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    sys.exit(main())
