"""Overlays that are generated stay in step with the bundle; documented overlays exist."""

import sys

from bundles import ROOT, load

sys.path.insert(0, str(ROOT / "tools"))
import cos_overlay
import diagram


def test_cos_overlay_covers_every_metrics_dashboard_and_logging_endpoint():
    current = (ROOT / "overlays" / "cos.yaml").read_text()
    assert current == cos_overlay.render(load(ROOT / "bundle.yaml")), (
        "overlays/cos.yaml is out of date: run make cos-overlay (./dev tox -e cos-overlay)"
    )


def test_cos_overlay_includes_our_charms():
    text = (ROOT / "overlays" / "cos.yaml").read_text()
    assert "[seldon-core:metrics-endpoint, grafana-agent-k8s:metrics-endpoint]" in text
    assert "[seldon-core:grafana-dashboard, grafana-agent-k8s:grafana-dashboards-consumer]" in text
    assert "[seldon-core:logging, grafana-agent-k8s:logging-provider]" in text


def test_every_overlay_is_described_in_the_readme():
    readme = (ROOT / "overlays" / "README.md").read_text()
    for overlay in (ROOT / "overlays").glob("*.yaml"):
        assert f"`{overlay.name}`" in readme, overlay.name


def test_the_architecture_diagram_matches_the_bundle():

    current = (ROOT / "docs" / "architecture" / "platform.dot").read_text()
    assert current == diagram.dot(), "run `make diagram` and commit docs/architecture"


def test_reference_pages_match_the_charm_metadata():
    import reference_docs

    for path, text in reference_docs.pages().items():
        assert path.exists(), f"{path.name} missing: run make reference"
        assert path.read_text() == text, f"{path.name} is stale: run make reference"
