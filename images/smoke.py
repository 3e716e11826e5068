"""Smoke-test each notebook image without a container engine.

For every image, a virtual environment is built from the image's pinned requirements.txt, the
intel_notebook package and its .pth file are copied into its site-packages exactly as the
Dockerfile copies them, and the image's smoke_test.py runs there under pytest. Environments are
kept between runs and rebuilt only when the requirements change.

PyTorch is installed by pip, never by uv: pip takes the CPU wheel from the machine's local
wheels (PIP_FIND_LINKS), where uv would resolve the multi-GB CUDA build from PyPI.

Usage: python images/smoke.py [--venvs DIR] [IMAGE ...] [-- PYTEST ARGS]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

IMAGES_DIR = Path(__file__).resolve().parent
ROOT = IMAGES_DIR.parent
COMMON = IMAGES_DIR / "common"
# Image name -> installer of its requirements.
IMAGES = {
    "jupyter-scipy-intel": "uv",
    "jupyter-tensorflow-intel": "uv",
    "jupyter-pytorch-intel": "pip",
}
# Test runner added to each environment; not part of the images.
TEST_REQUIREMENTS = ["pytest==9.2.0"]


def main(argv: list[str]) -> int:
    """Build (or reuse) each image's environment and run its smoke test."""
    args = parse_args(argv)
    failures = []
    for image in args.images or list(IMAGES):
        start = time.perf_counter()
        requirements = IMAGES_DIR / image / "requirements.txt"
        venv = ensure_venv(args.venvs / image, requirements, IMAGES[image], TEST_REQUIREMENTS)
        install_intel_notebook(venv)
        built = time.perf_counter() - start
        code = run_smoke_test(image, venv, args.pytest_args)
        print(
            f"--- {image}: environment {built:.0f}s, smoke test "
            f"{time.perf_counter() - start - built:.0f}s, exit {code}",
            flush=True,
        )
        if code != 0:
            failures.append(image)
    if failures:
        print(f"smoke tests failed: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Images to test, where to keep environments, extra pytest arguments after `--`."""
    pytest_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, pytest_args = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", metavar="IMAGE", help=", ".join(IMAGES))
    parser.add_argument("--venvs", type=Path, default=ROOT / "build" / "images-venvs")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.images) - set(IMAGES))
    if unknown:
        parser.error(f"unknown image(s): {', '.join(unknown)}")
    args.pytest_args = pytest_args
    return args


def requirements_digest(requirements: Path, installer: str, extra: list[str]) -> str:
    """Fingerprint of what goes into an environment."""
    text = requirements.read_bytes()
    return hashlib.sha256(text + "\n".join([installer, *extra, sys.version]).encode()).hexdigest()


def ensure_venv(venv: Path, requirements: Path, installer: str, extra: list[str]) -> Path:
    """An environment with `requirements` (and `extra`), built when missing or changed.

    `installer` is "uv", or "pip" for requirements that include torch.
    """
    stamp = venv / ".requirements-sha256"
    digest = requirements_digest(requirements, installer, extra)
    if stamp.exists() and stamp.read_text() == digest:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    print(f"--- building {venv} from {requirements.relative_to(ROOT)}", flush=True)
    if installer == "uv":
        uv = shutil.which("uv") or sys.exit("uv is not on PATH (./dev puts it there)")
        subprocess.check_call([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
        install = [uv, "pip", "install", "--quiet", "--python", str(python_of(venv))]
        subprocess.check_call([*install, "-r", str(requirements), *extra])
    else:
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
        pip = [str(python_of(venv)), "-m", "pip", "install", "--quiet", "--no-input"]
        subprocess.check_call([*pip, *pip_local_wheels(), "-r", str(requirements), *extra])
    stamp.write_text(digest)
    return venv


def pip_local_wheels() -> list[str]:
    """Options that make pip see the machine's local CPU wheels (PIP_FIND_LINKS)."""
    links = os.environ.get("PIP_FIND_LINKS", "")
    return [option for link in links.split() for option in ("--find-links", link)]


def python_of(venv: Path) -> Path:
    """The interpreter of a virtual environment."""
    return venv / "bin" / "python"


def site_packages(venv: Path) -> Path:
    """Where the environment's interpreter loads .pth files from."""
    out = subprocess.check_output(
        [str(python_of(venv)), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        text=True,
    )
    return Path(out.strip())


def install_intel_notebook(venv: Path) -> None:
    """Copy intel_notebook and its .pth into site-packages, as the Dockerfiles do."""
    target = site_packages(venv)
    shutil.rmtree(target / "intel_notebook", ignore_errors=True)
    shutil.copytree(
        COMMON / "intel_notebook",
        target / "intel_notebook",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy2(COMMON / "intel-notebook.pth", target / "intel-notebook.pth")


def run_smoke_test(image: str, venv: Path, pytest_args: list[str]) -> int:
    """Run an image's smoke_test.py with the environment's own interpreter."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    command = [str(python_of(venv)), "-m", "pytest", "-v"]
    command += ["--rootdir", str(IMAGES_DIR / image), str(IMAGES_DIR / image / "smoke_test.py")]
    return subprocess.call([*command, *pytest_args], cwd=IMAGES_DIR / image, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
