"""tools/mirror_images.py against real registries: Debian's docker-registry and skopeo.

Each test starts an "upstream" registry on loopback holding four small images built here
(tests/registries.py): an OCI image, a two-platform OCI index, a Docker schema 2 image and one
named by digest, at the repository paths the bundle uses for them. The tests mirror them to a
second registry and through a directory, and check digests, that a second run copies nothing,
that a missing image fails by name, and that overlays/airgap.yaml's names are where the
mirror puts the images. Without skopeo or docker-registry they skip, and fail when CI is set.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bundles import ROOT, load
from registries import manifest_digest, registry, skopeo, write_layout

sys.path.insert(0, str(ROOT / "tools"))
import airgap_overlay
import mirror_images
from image_names import parse
from images_list import image_settings

DOCKER_V2S2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def bundle_image(app: str, key: str) -> str:
    """The image the bundle gives an application through a resource or an option."""
    spec = load(ROOT / "bundle.yaml")["applications"][app]
    (image,) = next(s.images for s in image_settings(spec) if s.key == key)
    return image


def test_images() -> dict[str, tuple[str, tuple[str, ...], str | None]]:
    """Layout name -> (repository path:tag, platforms, skopeo --format) of the test images."""
    return {
        "dex": (_path(bundle_image("dex-auth", "oci-image")), ("amd64",), None),
        "mlserver": (
            _path(bundle_image("seldon-core", "mlserver-image")),
            ("amd64", "arm64"),
            None,
        ),
        "spark": (_path(bundle_image("spark-operator", "spark-image")), ("amd64",), "v2s2"),
        "mysql": ("canonical/charmed-mysql:8.0", ("amd64",), None),
    }


test_images.__test__ = False  # a helper, not a test


def _path(image: str) -> str:
    ref = parse(image)
    return f"{ref.path}:{ref.tag}"


@dataclass
class Upstream:
    """The upstream registry: host, the references to mirror, and their digests."""

    host: str
    digests: dict[str, str]  # reference -> manifest digest

    @property
    def references(self) -> list[str]:
        return list(self.digests)

    def write_list(self, path: Path, extra: tuple[str, ...] = ()) -> Path:
        path.write_text("\n".join([*self.references, *extra]) + "\n")
        return path


@pytest.fixture
def upstream(tmp_path: Path):
    """A registry holding the test images; the charmed-mysql image is referenced by digest."""
    write_layout(
        tmp_path / "layout", {name: archs for name, (_, archs, _) in test_images().items()}
    )
    with registry(tmp_path / "upstream") as host:
        digests = {}
        for name, (path, _, fmt) in test_images().items():
            args = ["copy", "--all", "--dest-tls-verify=false", "--quiet"]
            args += ["--format", fmt] if fmt else ["--preserve-digests"]
            skopeo(*args, f"oci:{tmp_path / 'layout'}:{name}", f"docker://{host}/{path}")
            digest = manifest_digest(f"{host}/{path}")
            reference = f"{host}/{path}"
            if name == "mysql":
                reference = f"{host}/{path.split(':')[0]}@{digest}"
            digests[reference] = digest
        yield Upstream(host, digests)


@pytest.fixture
def mirror(tmp_path: Path):
    with registry(tmp_path / "mirror") as host:
        yield host


def run(*argv: str) -> tuple[int, list[str]]:
    """The command in-process; its exit status and output lines."""
    lines: list[str] = []
    code = mirror_images.main(list(argv), out=lines.append)
    return code, "\n".join(lines).splitlines()


def mirrored(reference: str, host: str) -> str:
    return parse(reference).at(host)


def test_push_copies_every_image_with_its_path_and_digest(upstream, mirror, tmp_path):
    images = upstream.write_list(tmp_path / "images.txt")
    code, out = run(
        "push", mirror, "--images", str(images), "--insecure-source", "--insecure-mirror"
    )
    assert code == 0, out
    assert out[-1] == "4 copied, 0 already there, 0 failed"
    for reference, digest in upstream.digests.items():
        name = mirrored(reference, mirror)
        assert name.startswith(f"{mirror}/{parse(reference).path}")
        assert manifest_digest(name) == digest, name
    spark = next(r for r in upstream.references if "/spark:" in r)
    raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{mirrored(spark, mirror)}")
    assert json.loads(raw.stdout)["mediaType"] == DOCKER_V2S2
    mlserver = mirrored(next(r for r in upstream.references if "/mlserver:" in r), mirror)
    index = json.loads(
        skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{mlserver}").stdout
    )
    assert index["mediaType"] == OCI_INDEX
    repository = mlserver.rsplit(":", 1)[0]
    for platform in index["manifests"]:  # --all: every platform's manifest is in the mirror too
        assert manifest_digest(f"{repository}@{platform['digest']}") == platform["digest"]


def test_a_second_push_copies_nothing_and_a_changed_image_again(upstream, mirror, tmp_path):
    images = upstream.write_list(tmp_path / "images.txt")
    flags = ("--insecure-source", "--insecure-mirror")
    assert run("push", mirror, "--images", str(images), *flags)[0] == 0
    code, out = run("push", mirror, "--images", str(images), *flags)
    assert code == 0
    assert out[-1] == "0 copied, 4 already there, 0 failed"
    assert all(line.startswith("present ") for line in out[:-1])
    dex = next(r for r in upstream.references if "/dex:" in r)
    write_layout(tmp_path / "rebuilt", {"dex": ("arm64",)})
    skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--quiet",
        f"oci:{tmp_path / 'rebuilt'}:dex",
        f"docker://{dex}",
    )
    code, out = run("push", mirror, "--images", str(images), *flags)
    assert out[-1] == "1 copied, 3 already there, 0 failed"
    assert manifest_digest(mirrored(dex, mirror)) == manifest_digest(dex) != upstream.digests[dex]


def test_a_missing_image_fails_by_name_and_the_others_are_copied(upstream, mirror, tmp_path):
    missing = f"{upstream.host}/seldonio/no-such-image:1.0"
    images = upstream.write_list(tmp_path / "images.txt", (missing,))
    code, out = run(
        "push", mirror, "--images", str(images), "--insecure-source", "--insecure-mirror"
    )
    assert code == 1
    assert out[-2] == "4 copied, 0 already there, 1 failed"
    assert out[-1] == f"FAILED {missing}: {missing} is not in its registry (manifest unknown)"
    for reference, digest in upstream.digests.items():
        assert manifest_digest(mirrored(reference, mirror)) == digest


def test_a_digest_the_registry_does_not_serve_fails(upstream, mirror, tmp_path):
    dex = next(r for r in upstream.references if "/dex:" in r)
    wrong = f"{dex.rsplit(':', 1)[0]}@sha256:{'0' * 64}"
    images = tmp_path / "images.txt"
    images.write_text(wrong + "\n")
    code, out = run(
        "push", mirror, "--images", str(images), "--insecure-source", "--insecure-mirror"
    )
    assert code == 1
    assert out[-1].startswith(f"FAILED {wrong}: ")


def test_save_to_a_directory_and_load_into_the_mirror(upstream, mirror, tmp_path):
    images = upstream.write_list(tmp_path / "images.txt")
    carried = tmp_path / "carried"
    code, out = run("save", str(carried), "--images", str(images), "--insecure-source")
    assert code == 0, out
    index = json.loads((carried / "images.json").read_text())["images"]
    assert {e["image"]: e["digest"] for e in index} == upstream.digests
    assert run("save", str(carried), "--images", str(images), "--insecure-source")[1][-1] == (
        "0 copied, 4 already there, 0 failed"
    )
    code, out = run("load", str(carried), mirror, "--insecure-mirror")
    assert code == 0, out
    assert out[-1] == "4 copied, 0 already there, 0 failed"
    for reference, digest in upstream.digests.items():
        assert manifest_digest(mirrored(reference, mirror)) == digest
    assert run("load", str(carried), mirror, "--insecure-mirror")[1][-1] == (
        "0 copied, 4 already there, 0 failed"
    )


def test_load_refuses_a_layout_that_changed_on_the_way(upstream, mirror, tmp_path):
    images = upstream.write_list(tmp_path / "images.txt")
    carried = tmp_path / "carried"
    assert run("save", str(carried), "--images", str(images), "--insecure-source")[0] == 0
    entry = next(e for e in json.loads((carried / "images.json").read_text())["images"]
                 if "/dex:" in e["image"])  # fmt: skip
    manifest = carried / entry["directory"] / "manifest.json"
    manifest.write_bytes(manifest.read_bytes() + b"\n")
    code, out = run("load", str(carried), mirror, "--insecure-mirror")
    assert code == 1
    assert out[-2] == "3 copied, 0 already there, 1 failed"
    assert out[-1].startswith(f"FAILED {entry['image']}: ")
    assert "save it again" in out[-1]


def test_loading_an_image_that_was_not_saved_fails_by_name(upstream, mirror, tmp_path):
    images = upstream.write_list(tmp_path / "images.txt")
    carried = tmp_path / "carried"
    assert run("save", str(carried), "--images", str(images), "--insecure-source")[0] == 0
    missing = f"{upstream.host}/seldonio/never-saved:1.0"
    wanted = upstream.write_list(tmp_path / "wanted.txt", (missing,))
    code, out = run("load", str(carried), mirror, "--images", str(wanted), "--insecure-mirror")
    assert code == 1
    assert out[-1].startswith(f"FAILED {missing}: {missing} is not in ")


def test_the_airgap_overlay_names_the_images_where_push_puts_them(upstream, mirror, tmp_path):
    """Overlay and mirror agree: the names overlays/airgap.yaml gives resolve in the mirror.

    The test images sit at the repository paths the bundle gives dex-auth's resource and
    seldon-core's and spark-operator's image options, so the overlay rendered for this mirror
    must name exactly what `push` wrote there, with the upstream digests.
    """
    images = upstream.write_list(tmp_path / "images.txt")
    assert (
        run("push", mirror, "--images", str(images), "--insecure-source", "--insecure-mirror")[0]
        == 0
    )
    overlay = yaml.safe_load(airgap_overlay.render(load(ROOT / "bundle.yaml"), mirror))
    apps = overlay["applications"]
    named = {
        "dex": apps["dex-auth"]["resources"]["oci-image"],
        "mlserver": apps["seldon-core"]["options"]["mlserver-image"],
        "spark": apps["spark-operator"]["options"]["spark-image"],
    }
    for name, image in named.items():
        path = test_images()[name][0]
        assert image == f"{mirror}/{path}"
        assert manifest_digest(image) == upstream.digests[f"{upstream.host}/{path}"]


def test_without_skopeo_the_command_says_how_to_install_it():
    tool = mirror_images.Skopeo(binary="/nonexistent/skopeo")
    with pytest.raises(SystemExit, match="apt-get install skopeo"):
        tool.digest("docker://example.com/a:1")


def test_images_that_would_share_a_mirror_name_stop_the_command_before_any_copy(tmp_path):
    images = tmp_path / "images.txt"
    images.write_text("docker.io/kubeflow/x:1\nghcr.io/kubeflow/x:1\n")
    tool = tmp_path / "no-skopeo"  # never run: the names are refused first
    code, out = run("push", "m:5000", "--images", str(images), "--skopeo", str(tool))
    assert code == 2
    assert out == [
        "error: docker.io/kubeflow/x:1 and ghcr.io/kubeflow/x:1 would both be m:5000/kubeflow/x:1"
        " in the mirror"
    ]
