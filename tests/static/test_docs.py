"""Every link, path, command, action, parameter and option the Markdown files name exists.

The rules are written down in tests/static/docs_check.py. Each rule is tested on a page of
tests/static/data/docs-fixtures/ that breaks it, so the check is known to fail when a page
names something that is not there.
"""

from __future__ import annotations

from pathlib import Path

import docs_check
import pytest
import yaml
from docs_check import CHARMHUB_APPS, Page, Repo, check_page, commands_in, markdown_files

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / docs_check.FIXTURES


@pytest.fixture(scope="module")
def repo() -> Repo:
    return Repo.read(ROOT)


def test_the_repository_docs(repo: Repo) -> None:
    pages = markdown_files(ROOT)
    assert ROOT / "README.md" in pages
    assert ROOT / "docs" / "how-to" / "deploy.md" in pages
    findings = [str(f) for page in pages for f in check_page(page, repo)]
    assert not findings, "\n".join(findings)


def test_the_fixtures_are_not_part_of_the_repository_check() -> None:
    assert not [p for p in markdown_files(ROOT) if p.is_relative_to(FIXTURES)]


def test_every_allowed_form_passes(repo: Repo) -> None:
    assert [str(f) for f in check_page(FIXTURES / "good.md", repo)] == []


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("broken-link.md", "broken link: ../../../../docs/how-to/no-such-page.md"),
        ("broken-path.md", "no such path: tools/no_such_tool.py"),
        ("broken-command-path.md", "no such path: overlays/no-such-overlay.yaml"),
        ("broken-tox-env.md", "no tox environment 'no-such-env' in tox.ini"),
        ("broken-make-target.md", "no make target 'no-such-target' in the Makefile"),
        ("broken-dev-command.md", "./dev has no sub-command 'no-such-command'"),
        ("broken-action.md", "kubeflow-backup declares no action 'no-such-action'"),
        (
            "broken-action-parameter.md",
            "action 'create-backup' of kubeflow-backup declares no parameter 'no-such-param'",
        ),
        ("broken-config-option.md", "dex has no config option 'no-such-option'"),
        (
            "broken-application.md",
            "application 'no-such-app' is neither ours nor listed in CHARMHUB_APPS",
        ),
        ("broken-juju-option.md", "unknown option --no-such-option"),
    ],
)
def test_each_broken_page_fails_with_its_reason(repo: Repo, fixture: str, expected: str) -> None:
    findings = [f.message for f in check_page(FIXTURES / fixture, repo)]
    assert len(findings) == 1, findings
    assert findings[0].startswith(expected), findings


def test_every_broken_fixture_is_tested() -> None:
    source = Path(__file__).read_text()
    for fixture in FIXTURES.glob("broken-*.md"):
        assert f'"{fixture.name}"' in source, fixture.name


def test_a_broken_fixture_line_is_reported(repo: Repo) -> None:
    (finding,) = check_page(FIXTURES / "broken-action-parameter.md", repo)
    assert finding.line == 4  # where the continued command starts


def test_charmhub_apps_are_not_ours_and_are_used(repo: Repo) -> None:
    """The skip list holds only Charmhub applications that some page drives."""
    assert not set(CHARMHUB_APPS) & set(repo.apps)
    used = set()
    for page in map(Page.read, markdown_files(ROOT)):
        for _, text in [*page.spans, *page.code]:
            for words in commands_in(text):
                if words[:2] in (["juju", "run"], ["juju", "config"]):
                    used |= {w.split("/")[0] for w in words[2:]} & set(CHARMHUB_APPS)
    assert used == set(CHARMHUB_APPS), "unused entries: drop them from CHARMHUB_APPS"


def test_charmhub_apps_deploy_charmhub_charms() -> None:
    """Each listed application is deployed from Charmhub by the bundle or an overlay.

    Or consumed from another model (an overlay's `saas`, such as COS's grafana), or named as
    the charm's default application, or a shell loop's variable.
    """
    charms: dict[str, str] = {}
    offers: set[str] = set()
    for path in [ROOT / "bundle.yaml", *sorted((ROOT / "overlays").glob("*.yaml"))]:
        data = yaml.safe_load(path.read_text())
        offers |= set(data.get("saas") or {})
        for app, spec in (data.get("applications") or {}).items():
            if spec and "charm" in spec:
                charms[app] = str(spec["charm"])
    for app, charm in CHARMHUB_APPS.items():
        if app.startswith("$") or app == charm or app in offers:
            continue
        assert charms.get(app) == charm, app


def test_our_apps_come_from_the_bundle_and_overlays(repo: Repo) -> None:
    assert repo.apps["dex-auth"].name == "dex"
    assert "create-backup" in repo.apps["kubeflow-backup"].actions
    assert "retention" in repo.apps["kubeflow-backup"].options
