"""Commands the docs and tools tell people to run exist where they are run.

- `juju wait-for` is gone in Juju 4 (Juju 4.0 release notes); the docs pin Juju 3.6 but wait
  with `./dev wait` (jubilant), which works on both.
- In a Kubernetes workload container Juju mounts Pebble at /charm/bin/pebble and does not put
  it on PATH (juju caas/kubernetes/provider/application/application.go): `pebble logs` there
  is "not found".
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bundles import ROOT

TEXTS = sorted(
    [
        *ROOT.glob("docs/**/*.md"),
        ROOT / "README.md",
        *ROOT.glob("charms/*/README.md"),
        *ROOT.glob("tools/*.sh"),
    ]
)
WAIT_FOR = re.compile(r"\bjuju\s+wait-for\b")
# A Pebble sub-command called by the bare name (not /charm/bin/pebble).
BARE_PEBBLE = re.compile(
    r"(?<![\w/.-])pebble\s+(logs|services|plan|changes|tasks|checks|start|stop|restart|replan"
    r"|exec|pull|push|ls|health|notices|warnings|version)\b"
)


def offending(pattern: re.Pattern[str], text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if pattern.search(line)]


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_juju_wait_for(path: Path):
    assert not offending(WAIT_FOR, path.read_text())


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_pebble_is_called_where_juju_puts_it(path: Path):
    assert not offending(BARE_PEBBLE, path.read_text())


def test_the_patterns_catch_what_they_are_for():
    assert offending(WAIT_FOR, "   juju wait-for model kubeflow --query='...'")
    assert offending(BARE_PEBBLE, "`juju ssh --container dex dex-auth/0 pebble logs dex`")
    assert offending(BARE_PEBBLE, "see `pebble logs controller`")
    assert not offending(
        BARE_PEBBLE, "`juju ssh --container dex dex-auth/0 /charm/bin/pebble logs dex`"
    )
    assert not offending(BARE_PEBBLE, "Pebble logs show it")
