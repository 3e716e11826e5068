"""Copy every image the platform uses to a registry mirror, or through a directory, with skopeo.

    mirror_images.py push REGISTRY     upstream registries -> REGISTRY
    mirror_images.py save DIR          upstream registries -> DIR (carry it across the gap)
    mirror_images.py load DIR REGISTRY DIR -> REGISTRY

The images are those `make images-list` prints (tools/images_list.py), or one per line from
`--images FILE`. Each keeps its repository path in the mirror (tools/image_names.py:
`docker.io/seldonio/x:1` becomes `REGISTRY/seldonio/x:1`), where overlays/airgap.yaml and
containerd's mirror configuration both look for it.

Every copy is `skopeo copy --all --preserve-digests`: all platforms of a multi-platform
image, and the very manifests upstream serves, so digest references (`image@sha256:...`)
stay valid and a digest proves the copy. Before copying, the manifest digest (sha256 of the
raw manifest, `skopeo inspect --raw`) upstream is compared with the mirror's: an image the
mirror already holds with that digest is skipped. After copying, the mirror's manifest is
read back and must have the same digest.

The directory holds one `dir:` layout per image (skopeo's transport that stores manifests
and blobs as they are, whatever their media type) and `images.json`, which records each
image's reference, directory and digest; `load` checks every layout against it before
pushing. An OCI layout would share blobs, but skopeo 1.9 (Debian 12) stores a Docker
schema 2 manifest in it without reading it back, and docker-archive rewrites manifests.

Images that cannot be copied (absent upstream, refused) are reported by name with skopeo's
reason; the others are still copied, and the exit status is 1.
Registry credentials are skopeo's (`skopeo login REGISTRY`). `--insecure-source` and
`--insecure-mirror` allow plain HTTP or unverified TLS on that side (skopeo's
`--src-tls-verify=false` / `--dest-tls-verify=false`), for a mirror without a certificate.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from image_names import BadReference, check_mirror, mirror_names, parse  # noqa: E402

INDEX = "images.json"
# What a registry answers for a manifest or repository it does not have (distribution's
# registry/api/errcode: MANIFEST_UNKNOWN, NAME_UNKNOWN), as skopeo prints it.
ABSENT = re.compile(r"manifest unknown|name unknown|repository name not known", re.IGNORECASE)
INSPECT_TIMEOUT = 300


class CopyFailed(Exception):
    """skopeo could not read or write one image; the message names it and says why."""


def skopeo_reason(stderr: str) -> str:
    """The message of skopeo's last error line (it logs `level=fatal msg="..."`)."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "skopeo failed without a message"
    found = re.search(r'msg="((?:[^"\\]|\\.)*)"', last)
    return found[1].replace('\\"', '"') if found else last


@dataclass
class Skopeo:
    """The skopeo commands the mirror needs, with TLS checks chosen per side."""

    binary: str = "skopeo"
    source_tls: bool = True
    mirror_tls: bool = True

    def run(self, args: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
        """Run skopeo; a missing binary is an error with the install hint."""
        try:
            return subprocess.run(
                [self.binary, *args], capture_output=True, timeout=timeout, check=False
            )
        except FileNotFoundError:
            raise SystemExit("skopeo is not installed: apt-get install skopeo") from None

    def digest(self, location: str, tls: bool | None = None) -> str | None:
        """sha256 digest of the raw manifest at `transport:reference`, None if it is absent."""
        args = ["inspect", "--raw"]
        if tls is not None:
            args.append(f"--tls-verify={str(tls).lower()}")
        done = self.run([*args, location], timeout=INSPECT_TIMEOUT)
        if done.returncode != 0:
            reason = skopeo_reason(done.stderr.decode(errors="replace"))
            if ABSENT.search(reason):
                return None
            raise CopyFailed(reason)
        return "sha256:" + hashlib.sha256(done.stdout).hexdigest()

    def copy(self, source: str, dest: str, source_tls: bool | None, dest_tls: bool | None):
        """`skopeo copy --all --preserve-digests`, raising with skopeo's reason."""
        args = ["copy", "--all", "--preserve-digests", "--retry-times", "3", "--quiet"]
        if source_tls is not None:
            args.append(f"--src-tls-verify={str(source_tls).lower()}")
        if dest_tls is not None:
            args.append(f"--dest-tls-verify={str(dest_tls).lower()}")
        done = self.run([*args, source, dest])
        if done.returncode != 0:
            raise CopyFailed(skopeo_reason(done.stderr.decode(errors="replace")))


@dataclass
class Report:
    """What happened to each image: copied, already there, or failed (with the reason)."""

    copied: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One closing line, then the failures by name."""
        lines = [
            f"{len(self.copied)} copied, {len(self.present)} already there, "
            f"{len(self.failed)} failed"
        ]
        lines += [f"FAILED {image}: {reason}" for image, reason in self.failed.items()]
        return "\n".join(lines)


def upstream_digest(skopeo: Skopeo, image: str) -> str:
    """The digest upstream serves for an image; absent is an error naming the image."""
    digest = skopeo.digest(f"docker://{image}", skopeo.source_tls)
    if digest is None:
        raise CopyFailed(f"{image} is not in its registry (manifest unknown)")
    pinned = parse(image).digest
    if pinned and pinned != digest:
        raise CopyFailed(f"{image}: the registry serves {digest}, not the pinned digest")
    return digest


def copy_verified(
    skopeo: Skopeo, source: str, dest: str, digest: str, tls: tuple[bool | None, bool | None]
) -> None:
    """Copy, then read the destination's manifest back: it must have the source's digest."""
    skopeo.copy(source, dest, *tls)
    written = skopeo.digest(dest, tls[1])
    if written != digest:
        raise CopyFailed(f"{dest} has digest {written} after the copy, expected {digest}")


def push(images: list[str], registry: str, skopeo: Skopeo, out=print) -> Report:
    """Copy each image from its registry to the mirror, skipping those already there."""
    report = Report()
    for image, name in mirror_names(images, registry).items():
        try:
            digest = upstream_digest(skopeo, image)
            if skopeo.digest(f"docker://{name}", skopeo.mirror_tls) == digest:
                report.present.append(image)
                out(f"present {name} ({digest})")
                continue
            tls = (skopeo.source_tls, skopeo.mirror_tls)
            copy_verified(skopeo, f"docker://{image}", f"docker://{name}", digest, tls)
            report.copied.append(image)
            out(f"copied  {image} -> {name} ({digest})")
        except CopyFailed as error:
            report.failed[image] = str(error)
            out(f"FAILED  {image}: {error}")
    return report


def directory_name(image: str) -> str:
    """A file name for an image's layout: its normalised reference, other characters as _."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(parse(image)))


def read_index(directory: Path) -> dict[str, dict[str, str]]:
    """images.json of a directory: normalised reference -> {image, directory, digest}."""
    path = directory / INDEX
    if not path.exists():
        return {}
    entries = json.loads(path.read_text())["images"]
    return {str(parse(e["image"])): e for e in entries}


def write_index(directory: Path, index: dict[str, dict[str, str]]) -> None:
    """Write images.json, sorted, after every image so an interrupted save keeps its work."""
    entries = [index[key] for key in sorted(index)]
    (directory / INDEX).write_text(json.dumps({"images": entries}, indent=2) + "\n")


def save(images: list[str], directory: Path, skopeo: Skopeo, out=print) -> Report:
    """Copy each image from its registry into a `dir:` layout under the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    index = read_index(directory)
    report = Report()
    for image in images:
        key = str(parse(image))
        layout = directory / directory_name(image)
        try:
            digest = upstream_digest(skopeo, image)
            saved = index.get(key)
            if saved and saved["digest"] == digest and layout_digest(skopeo, layout) == digest:
                report.present.append(image)
                out(f"present {layout.name} ({digest})")
                continue
            tls = (skopeo.source_tls, None)
            copy_verified(skopeo, f"docker://{image}", f"dir:{layout}", digest, tls)
            index[key] = {"image": image, "directory": layout.name, "digest": digest}
            write_index(directory, index)
            report.copied.append(image)
            out(f"copied  {image} -> {layout} ({digest})")
        except CopyFailed as error:
            report.failed[image] = str(error)
            out(f"FAILED  {image}: {error}")
    return report


def layout_digest(skopeo: Skopeo, layout: Path) -> str | None:
    """The digest of the manifest saved in a `dir:` layout, None when there is none."""
    if not (layout / "manifest.json").exists():
        return None
    return skopeo.digest(f"dir:{layout}")


def load(directory: Path, registry: str, skopeo: Skopeo, images=None, out=print) -> Report:
    """Push the saved images (all, or those listed) to the mirror, checking each digest."""
    index = read_index(directory)
    if not index:
        raise SystemExit(f"{directory / INDEX} is missing or empty: run `save` first")
    wanted = [str(parse(i)) for i in images] if images else sorted(index)
    report = Report()
    names = mirror_names([index[k]["image"] if k in index else k for k in wanted], registry)
    for key in wanted:
        entry = index.get(key)
        image = entry["image"] if entry else key
        try:
            if entry is None:
                raise CopyFailed(f"{image} is not in {directory / INDEX}: save it first")
            layout = directory / entry["directory"]
            digest = entry["digest"]
            found = layout_digest(skopeo, layout)
            if found != digest:
                raise CopyFailed(f"{layout} holds {found}, {INDEX} says {digest}: save it again")
            name = names[image]
            if skopeo.digest(f"docker://{name}", skopeo.mirror_tls) == digest:
                report.present.append(image)
                out(f"present {name} ({digest})")
                continue
            tls = (None, skopeo.mirror_tls)
            copy_verified(skopeo, f"dir:{layout}", f"docker://{name}", digest, tls)
            report.copied.append(image)
            out(f"copied  {layout} -> {name} ({digest})")
        except CopyFailed as error:
            report.failed[image] = str(error)
            out(f"FAILED  {image}: {error}")
    return report


def read_images(path: str | None) -> list[str]:
    """Images from a file (`-` for stdin; `#` comments), else the platform's list."""
    if path is None:
        from images_list import all_images  # needs PyYAML: the tox environment has it

        return all_images()
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return list(dict.fromkeys(line for line in lines if line))


def parser() -> argparse.ArgumentParser:
    """The command line: push, save and load."""
    top = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    commands = top.add_subparsers(dest="command", required=True)
    push_cmd = commands.add_parser("push", help="upstream registries -> REGISTRY")
    push_cmd.add_argument("registry", help="the mirror, host[:port]")
    save_cmd = commands.add_parser("save", help="upstream registries -> DIR")
    save_cmd.add_argument("directory", type=Path)
    load_cmd = commands.add_parser("load", help="DIR -> REGISTRY")
    load_cmd.add_argument("directory", type=Path)
    load_cmd.add_argument("registry", help="the mirror, host[:port]")
    for command in (push_cmd, save_cmd, load_cmd):
        command.add_argument("--images", help="file with one image per line (- for stdin)")
        command.add_argument("--skopeo", default="skopeo", help="the skopeo binary")
    insecure = "plain HTTP or unverified TLS to the {}"
    for command in (push_cmd, save_cmd):
        command.add_argument(
            "--insecure-source", action="store_true", help=insecure.format("upstream registries")
        )
    for command in (push_cmd, load_cmd):
        command.add_argument(
            "--insecure-mirror", action="store_true", help=insecure.format("mirror")
        )
    return top


def main(argv: list[str] | None = None, out=print) -> int:
    """Run one command; 0 when every image is in place, 1 when any failed."""
    args = parser().parse_args(argv)
    skopeo = Skopeo(
        binary=args.skopeo,
        source_tls=not getattr(args, "insecure_source", False),
        mirror_tls=not getattr(args, "insecure_mirror", False),
    )
    try:
        if getattr(args, "registry", None):
            check_mirror(args.registry)
        if args.command == "load":
            images = read_images(args.images) if args.images else None
            report = load(args.directory, args.registry, skopeo, images, out)
        elif args.command == "save":
            report = save(read_images(args.images), args.directory, skopeo, out)
        else:
            report = push(read_images(args.images), args.registry, skopeo, out)
    except BadReference as error:
        out(f"error: {error}")
        return 2
    out(report.summary())
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
