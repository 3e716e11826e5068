"""The README's commands, run exactly as written, the run with the network cut off.

The README promises that after one online install (its `--notest` command) the local run
works without network, and that the run and the tests never re-install each other's
environment. This test runs the install command, then the run command inside a new network
namespace (`unshare -n`: only a loopback interface, and that one down), and checks what the
run prints: the headline with both money figures, and the report's path on the last line.
It also checks that the environment running this test was not recreated meanwhile.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from examples_support import needs

EXAMPLE = Path(__file__).resolve().parent.parent
ROOT = EXAMPLE.parent.parent
README = EXAMPLE / "README.md"
# What the run prints, as the README shows it (numbers vary with the model's platform).
MONEY = r"[+-]\d+\.\d% \([\d,]+ → [\d,]+\)"
HEADLINE = re.compile(
    rf"^Optimized for (?P<objective>margin|revenue): at the recommended prices weekly "
    rf"revenue (?P<revenue>{MONEY}) and margin (?P<margin>{MONEY}), against the typical "
    r"prices\.( This plan gives up \d+\.\d% of (margin|revenue) for \d+\.\d% more "
    r"(margin|revenue)\.)?$"
)
# A connection that must fail inside the namespace (a public resolver's address).
PROBE = "import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)"


def readme_blocks() -> list[str]:
    """The README's fenced code blocks, in order."""
    return re.findall(r"^```\n(.*?)^```$", README.read_text(), flags=re.MULTILINE | re.DOTALL)


def readme_command(*words: str) -> str:
    """The one-line `./dev tox` block of the README that contains every word given."""
    (found,) = [
        block.strip()
        for block in readme_blocks()
        if block.startswith("./dev tox") and block.count("\n") == 1
        if all(word in block.split() for word in words)
    ]
    return found


def outside_this_environment() -> dict[str, str]:
    """The environment a user's shell has: without this tox environment's variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOX_")}
    for key in ("VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(key, None)
    own_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != own_bin)
    return env


def without_network() -> list[str]:
    """The prefix that runs a command in a new network namespace, checked to cut it off."""
    prefix = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-r", "-n"]
    try:
        usable = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    except FileNotFoundError:
        needs("unshare", "util-linux is not installed")
        raise
    if usable.returncode != 0:
        needs("a network namespace", usable.stderr.decode(errors="replace").strip())
    cut = subprocess.run([*prefix, sys.executable, "-c", PROBE], capture_output=True, check=False)
    assert cut.returncode != 0, "the namespace can still reach the Internet"
    assert b"Network is unreachable" in cut.stderr, cut.stderr
    return prefix


def test_readme_sample_output_has_the_shape_the_run_prints():
    samples = [
        line
        for block in readme_blocks()
        for line in block.splitlines()
        if line.startswith("Optimized for")
    ]
    assert {HEADLINE.match(line)["objective"] for line in samples} == {"margin", "revenue"}  # type: ignore[index]
    assert "gives up" in next(line for line in samples if "for revenue" in line)


def test_readme_run_works_offline_after_the_install_and_ends_with_the_report(tmp_path):
    install = readme_command("--notest")
    run = readme_command("examples-pricing-run")
    assert "-qq" in run.split()
    cut = without_network()
    env = outside_this_environment()
    mine = Path(sys.prefix, "pyvenv.cfg").stat()

    subprocess.run(shlex.split(install), cwd=ROOT, env=env, check=True, timeout=900)
    done = subprocess.run(
        [*cut, *shlex.split(run)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    lines = done.stdout.strip().splitlines()
    assert lines[-1].startswith("report: "), lines[-5:]
    page = Path(lines[-1].removeprefix("report: "))
    assert page.name == "report.html"
    assert page.is_relative_to(EXAMPLE / "local_outputs")
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    (headline,) = [line for line in lines if line.startswith("Optimized for")]
    match = HEADLINE.match(headline)
    assert match, headline
    assert match["objective"] == "margin"
    # the margin-optimal prices never earn less margin than the typical ones
    assert match["margin"].startswith("+")
    assert f'<p id="headline">{headline}</p>' in text
    after = Path(sys.prefix, "pyvenv.cfg").stat()
    assert (after.st_ino, after.st_mtime_ns) == (mine.st_ino, mine.st_mtime_ns), (
        "running the README's commands recreated the test environment"
    )
