"""Real container registries on loopback and small OCI images built here, for the mirror tests.

A registry is Debian's `docker-registry` (the CNCF Distribution registry 2.8) started from its
own configuration file (docs: distribution/distribution docs/configuration.md: `storage.
filesystem.rootdirectory`, `http.addr`) on 127.0.0.1 with a free port and a temporary
directory, stopped by its PID. Plain HTTP on loopback: skopeo needs `--tls-verify=false`.

Images are OCI image layouts written by hand (opencontainers/image-spec image-layout.md:
`oci-layout`, `index.json`, `blobs/sha256/<hex>`; manifest.md, config.md), each with one
gzip-compressed layer holding one file, so nothing is fetched from a remote registry.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

INSTALL_HINT = "`sudo .ci/run` installs it (Debian packages skopeo and docker-registry)"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def binary_or_skip(name: str) -> str:
    """The path of a program the tests need; skip without it, or fail when CI is set."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the registry mirror tests", pytrace=False)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A TCP port nothing listens on now (the registry binds it right after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def registry(workdir: Path) -> Iterator[str]:
    """A running registry; yields its `127.0.0.1:port`, stops it by PID on exit."""
    binary = binary_or_skip("docker-registry")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error}\n"
        f"storage: {{filesystem: {{rootdirectory: {workdir / 'storage'}}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
    )
    log = (workdir / "registry.log").open("wb")
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=log)  # noqa: S603
    try:
        wait_ready(port, proc, workdir / "registry.log")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def wait_ready(port: int, proc: subprocess.Popen, log: Path, timeout: float = 20) -> None:
    """Until GET /v2/ answers 200 (the registry's API version check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError(f"docker-registry did not answer on port {port}: {log.read_text()}")


def _blob(layout: Path, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (blobs / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _image(layout: Path, content: str, arch: str) -> dict:
    """One image manifest (config and one layer) in the layout; returns its descriptor."""
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        data = content.encode()
        info = tarfile.TarInfo("content.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    raw = tar.getvalue()
    layer = _blob(layout, gzip.compress(raw, mtime=0))
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    config = {
        "architecture": arch,
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "config": {},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            **_blob(layout, json.dumps(config).encode()),
        },
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
    }
    descriptor = _blob(layout, json.dumps(manifest).encode())
    return {
        "mediaType": OCI_MANIFEST,
        **descriptor,
        "platform": {"architecture": arch, "os": "linux"},
    }


def write_layout(layout: Path, images: dict[str, tuple[str, ...]]) -> None:
    """An OCI layout with one entry per name: one architecture is an image, more an index."""
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    entries = []
    for name, archs in images.items():
        manifests = [_image(layout, f"{name} for {arch}", arch) for arch in archs]
        if len(manifests) == 1:
            entry = {k: v for k, v in manifests[0].items() if k != "platform"}
        else:
            index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
            entry = {"mediaType": OCI_INDEX, **_blob(layout, json.dumps(index).encode())}
        entry["annotations"] = {"org.opencontainers.image.ref.name": name}
        entries.append(entry)
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": entries}))


def skopeo(*args: str) -> subprocess.CompletedProcess:
    """Run skopeo, failing the test with its error output."""
    done = subprocess.run(  # noqa: S603
        [binary_or_skip("skopeo"), *args], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"skopeo {' '.join(args)}: {done.stderr.decode()}", pytrace=False)
    return done


def manifest_digest(reference: str) -> str:
    """sha256 of the raw manifest a plain-HTTP registry serves for `host/path:tag`."""
    raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reference}").stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest()
