"""Image references as container runtimes read them, and the name each has in a mirror.

A reference `[domain/]path[:tag][@digest]` is read by Docker's normalisation rules
(github.com/distribution/reference, normalize.go `splitDockerDomain`): the first component is
a registry only when it contains "." or ":", is `localhost`, or has upper-case letters;
otherwise the image is on Docker Hub (`docker.io`), where a one-component path gets the
`library/` prefix (`busybox` is `docker.io/library/busybox`). `index.docker.io` is Docker Hub.

The mirror keeps the repository path and drops the registry: `ghcr.io/kubeflow/x:1` becomes
`<mirror>/kubeflow/x:1`. That is the path containerd asks a mirror for when its registry
configuration sends a registry's pulls to it (`registry.mirrors` / hosts.toml `[host]`), so
the same mirror serves rewritten names (overlays/airgap.yaml) and untouched ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
LEGACY_DOCKER_HUB = "index.docker.io"
# distribution/reference regexp.go: a tag is [\w][\w.-]{0,127}, a digest algorithm:hex.
TAG = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")
PATH = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)


class BadReference(ValueError):
    """A string that is no image reference."""


@dataclass(frozen=True)
class ImageRef:
    """One image reference, normalised: registry, repository path, tag and/or digest."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        return self.at(self.domain)

    @property
    def repository(self) -> str:
        """registry/path, without tag or digest."""
        return f"{self.domain}/{self.path}"

    def at(self, host: str) -> str:
        """This image's reference under another registry (or registry/prefix)."""
        text = f"{host.rstrip('/')}/{self.path}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse(reference: str) -> ImageRef:
    """Normalise a reference as Docker and containerd do; no tag and no digest means latest."""
    text = reference.strip()
    name, _, digest = text.partition("@")
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    first, sep, rest = name.partition("/")
    if sep and (any(c in first for c in ".:") or first == "localhost" or first != first.lower()):
        domain, path = first, rest
    else:
        domain, path = DOCKER_HUB, name
    if domain == LEGACY_DOCKER_HUB:
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not PATH.match(path):
        raise BadReference(f"{reference!r}: {path!r} is no repository path")
    if tag is not None and not TAG.match(tag):
        raise BadReference(f"{reference!r}: {tag!r} is no tag")
    if digest and not DIGEST.match(digest):
        raise BadReference(f"{reference!r}: {digest!r} is no digest")
    if tag is None and not digest:
        tag = "latest"
    return ImageRef(domain, path, tag, digest or None)


def mirror_name(reference: str, mirror: str) -> str:
    """The name the mirror gives an image: the mirror host, then the repository path."""
    check_mirror(mirror)
    return parse(reference).at(mirror)


def check_mirror(mirror: str) -> None:
    """A mirror is `host[:port][/prefix]`, no scheme: what an image reference starts with."""
    host = mirror.split("/", 1)[0]
    if "://" in mirror or not host or not re.match(r"^[A-Za-z0-9.-]+(:\d+)?$", host):
        raise BadReference(f"{mirror!r}: give the mirror as host[:port], without a scheme")


def mirror_names(references: list[str], mirror: str) -> dict[str, str]:
    """Upstream reference -> mirror name, refusing two images that would share a mirror name.

    Dropping the registry can make two images one (`docker.io/kubeflow/x:1` and
    `ghcr.io/kubeflow/x:1`); the mirror cannot hold both under one name.
    """
    names: dict[str, str] = {}
    taken: dict[str, str] = {}
    for reference in references:
        name = mirror_name(reference, mirror)
        other = taken.get(name)
        if other is not None and parse(other) != parse(reference):
            raise BadReference(f"{other} and {reference} would both be {name} in the mirror")
        taken[name] = reference
        names[reference] = name
    return names
