"""Benchmark: the same workloads with stock and with Intel-optimized requirements, side by side.

Builds (or reuses) three environments under build/bench-venvs:

- stock-scipy: images/bench/requirements-stock.txt (scikit-learn and XGBoost as on PyPI);
- intel-scipy: jupyter-scipy-intel's requirements.txt plus intel_notebook, as in the image;
- tensorflow: jupyter-tensorflow-intel's requirements.txt plus intel_notebook. TensorFlow's
  x86-64 wheels carry oneDNN, so its stock baseline is the same wheel with oneDNN switched off
  (TF_ENABLE_ONEDNN_OPTS=0) and float32; the optimized runs switch oneDNN on, then bfloat16.

Every run regenerates the same data from fixed seeds (the data fingerprints must agree), and the
runs alternate stock/optimized for --rounds rounds, each a fresh process, the order flipped every
round, keeping each step's best time, so that a busy neighbour on the machine slows both sides
alike and a step timed once per process (a training) still gets the best of the rounds. The
result is a Markdown table on stdout (stock s, optimized s, speedup, quality of each) with the
machine it was measured on; --json keeps the rounds done so far, --report prints their table.

Usage: python images/bench/bench.py [--rounds N] [--repeats N] [--only sklearn|tensorflow]
This is a measurement, not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
IMAGES_DIR = BENCH.parent
ROOT = IMAGES_DIR.parent
sys.path.insert(0, str(IMAGES_DIR))

from smoke import ensure_venv, install_intel_notebook, python_of  # noqa: E402

ENVIRONMENTS = {
    "stock-scipy": (BENCH / "requirements-stock.txt", False),
    "intel-scipy": (IMAGES_DIR / "jupyter-scipy-intel" / "requirements.txt", True),
    "tensorflow": (IMAGES_DIR / "jupyter-tensorflow-intel" / "requirements.txt", True),
}
# What the examples' workloads need beyond an image's requirements (the dress example draws
# its synthetic photos with Pillow), pinned as the example pins them.
BENCH_EXTRAS = {"tensorflow": ["pillow==13.0.0"]}
OFF_FP32 = {"TF_ENABLE_ONEDNN_OPTS": "0", "INTEL_KERAS_BF16": "off"}
ON_FP32 = {"TF_ENABLE_ONEDNN_OPTS": "1", "INTEL_KERAS_BF16": "off"}
ON_BF16 = {"TF_ENABLE_ONEDNN_OPTS": "1", "INTEL_KERAS_BF16": "on"}
# label -> (environment, suite, mode, environment variables)
RUNS = {
    "stock": ("stock-scipy", "sklearn", "stock", {}),
    "intel": ("intel-scipy", "sklearn", "intel", {"SKLEARNEX_PATCH": None}),
    "oneDNN off, fp32": ("tensorflow", "tensorflow", "stock", OFF_FP32),
    "oneDNN on, fp32": ("tensorflow", "tensorflow", "intel", ON_FP32),
    "oneDNN on, bf16": ("tensorflow", "tensorflow", "intel", ON_BF16),
}
SUITES = {"sklearn": ["stock", "intel"], "tensorflow": list(RUNS)[2:]}


def main(argv: list[str]) -> int:
    """Build the environments, run every suite for the given rounds, print the table."""
    args = parse_args(argv)
    if args.report:
        return print_saved(args)
    labels = [label for suite in args.only for label in SUITES[suite]]
    needed = {RUNS[label][0] for label in labels}
    venvs = {name: prepare(name, args.venvs) for name in ENVIRONMENTS if name in needed}
    load_before = os.getloadavg()
    results: dict[str, dict] = {}
    for round_number in range(args.rounds):
        # Every run is a fresh process; the order flips each round (stock first, then Intel
        # first) so that neither side always runs first or while the machine warms up.
        for label in labels if round_number % 2 == 0 else labels[::-1]:
            print(f"--- round {round_number + 1}: {label}", file=sys.stderr, flush=True)
            merge(results, label, run(label, venvs, args.repeats, args.passive_openmp))
        if args.json:  # after every round, so that an interrupted run still leaves its figures
            saved = {"results": results, "rounds": round_number + 1, "load": load_before}
            args.json.write_text(json.dumps({**saved, "load_now": os.getloadavg()}, indent=1))
    check_same_data(results)
    settings = "OMP_WAIT_POLICY=passive on both sides" if args.passive_openmp else ""
    print(report(results, args.only, load_before, os.getloadavg(), settings))
    return 0


def print_saved(args: argparse.Namespace) -> int:
    """The report of the rounds a run saved with --json."""
    if not args.json:
        sys.exit("--report needs --json PATH")
    saved = json.loads(args.json.read_text())
    results = saved["results"]
    check_same_data(results)
    suites = [suite for suite in args.only if all(label in results for label in SUITES[suite])]
    settings = "OMP_WAIT_POLICY=passive on both sides" if args.passive_openmp else ""
    settings = "; ".join(filter(None, [settings, f"{saved['rounds']} round(s)"]))
    print(report(results, suites, saved["load"], saved["load_now"], settings))
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Rounds, repeats, suites, where the environments live."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternations of stock/optimized")
    parser.add_argument("--repeats", type=int, default=3, help="timings per step (best kept)")
    parser.add_argument("--only", action="append", choices=list(SUITES), help="suite(s) to run")
    parser.add_argument("--venvs", type=Path, default=ROOT / "build" / "bench-venvs")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--passive-openmp",
        action="store_true",
        help="OMP_WAIT_POLICY=passive on both sides: on a machine shared with other work, "
        "OpenMP threads spinning for busy cores make XGBoost and scikit-learn timings erratic",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="print the table of the rounds saved in --json (an interrupted run's) and exit",
    )
    args = parser.parse_args(argv)
    args.only = args.only or list(SUITES)
    return args


def prepare(name: str, venvs: Path) -> Path:
    """An environment of the benchmark, with intel_notebook where the image has it."""
    requirements, intel = ENVIRONMENTS[name]
    venv = ensure_venv(venvs / name, requirements, "uv", BENCH_EXTRAS.get(name, []))
    if intel:
        install_intel_notebook(venv)
    return venv


def run(label: str, venvs: dict[str, Path], repeats: int, passive_openmp: bool) -> dict:
    """One run of a suite in its environment; the workload script's JSON."""
    environment, suite, mode, variables = RUNS[label]
    env = dict(os.environ)
    if passive_openmp:
        env["OMP_WAIT_POLICY"] = "passive"
    for name in ("PYTHONPATH", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(name, None)  # both sides run NumPy's OpenBLAS on its own detected kernel
    for name, value in variables.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [str(python_of(venvs[environment])), str(BENCH / "workloads.py")]
        command += ["--suite", suite, "--mode", mode, "--repeats", str(repeats), "--out", str(out)]
        subprocess.check_call(command, env=env, cwd=tmp)
        return json.loads(out.read_text())


def merge(results: dict[str, dict], label: str, result: dict) -> None:
    """Keep each step's best time over the rounds."""
    previous = results.get(label)
    if previous is None:
        results[label] = result
        return
    best = {entry["name"]: entry for entry in previous["entries"]}
    for entry in result["entries"]:
        if entry["seconds"] < best[entry["name"]]["seconds"]:
            best[entry["name"]]["seconds"] = entry["seconds"]
    previous["data_rounds"] = [*previous.get("data_rounds", []), result["data"]]


def check_same_data(results: dict[str, dict]) -> None:
    """Every run of a suite must have generated the same data."""
    for labels in SUITES.values():
        seen = set()
        for label in labels:
            if label in results:
                seen.add(results[label]["data"])
                seen.update(results[label].get("data_rounds", []))
        if len(seen) > 1:
            sys.exit(f"runs of {labels} worked on different data: {sorted(seen)}")


def by_name(result: dict) -> dict[str, dict]:
    """A run's entries by step name."""
    return {entry["name"]: entry for entry in result["entries"]}


def quality(entry: dict) -> str:
    """An entry's quality figure with its metric."""
    if "quality" not in entry:
        return ""
    return f"{entry['metric']} {entry['quality']:.4g}"


def row(name: str, stock: dict, optimized: dict) -> str:
    """One Markdown table row."""
    speedup = stock["seconds"] / optimized["seconds"]
    return (
        f"| {name} | {stock['seconds']:.3f} | {optimized['seconds']:.3f} | {speedup:.2f}x "
        f"| {quality(stock)} | {quality(optimized)} |"
    )


def sklearn_rows(results: dict[str, dict]) -> list[str]:
    """Stock scikit-learn/XGBoost against jupyter-scipy-intel."""
    stock = by_name(results["stock"])
    rows = []
    for entry in results["intel"]["entries"]:
        rows.append(row(entry["name"], stock[entry.get("baseline", entry["name"])], entry))
    return rows


def tensorflow_rows(results: dict[str, dict]) -> list[str]:
    """The CNN with oneDNN on, in fp32 and in bf16, against oneDNN off in fp32."""
    baseline = by_name(results["oneDNN off, fp32"])
    rows = []
    for label in ("oneDNN on, fp32", "oneDNN on, bf16"):
        for entry in results[label]["entries"]:
            rows.append(row(f"{entry['name']} [{label}]", baseline[entry["name"]], entry))
    return rows


def report(
    results: dict[str, dict], suites: list[str], load_before, load_after, settings: str
) -> str:
    """The Markdown report: machine, tables, notes."""
    header = "| workload | stock s | optimized s | speedup | stock quality | optimized quality |"
    rule = "|---|---:|---:|---:|---|---|"
    lines = machine_lines(load_before, load_after)
    if settings:
        lines.append(f"Settings: {settings}.")
    if "sklearn" in suites:
        lines += ["", "Classical ML: stock requirements vs jupyter-scipy-intel", "", header, rule]
        lines += sklearn_rows(results)
    if "tensorflow" in suites:
        lines += ["", "TensorFlow CNN: stock = oneDNN off, float32", "", header, rule]
        lines += tensorflow_rows(results)
    speedups = default_speedups(results, suites)
    if speedups:
        lines += [
            "",
            f"Geometric mean of the speedups with the images' defaults ({len(speedups)} rows: "
            f"no [patched anyway], no bf16): {geometric_mean(speedups):.2f}x",
        ]
    notes = sorted({note for result in results.values() for note in result["notes"]})
    lines += ["", *[f"- {note}" for note in notes]]
    return "\n".join(lines)


def default_speedups(results: dict[str, dict], suites: list[str]) -> list[float]:
    """Stock time over optimized time for every row a notebook gets without setting anything."""
    pairs = []
    if "sklearn" in suites:
        stock = by_name(results["stock"])
        pairs += [
            (stock[e.get("baseline", e["name"])], e)
            for e in results["intel"]["entries"]
            if "[patched anyway]" not in e["name"]
        ]
    if "tensorflow" in suites:
        baseline = by_name(results["oneDNN off, fp32"])
        pairs += [(baseline[e["name"]], e) for e in results["oneDNN on, fp32"]["entries"]]
    return [stock["seconds"] / optimized["seconds"] for stock, optimized in pairs]


def geometric_mean(values: list[float]) -> float:
    """The n-th root of the product: the mean of ratios."""
    return math.exp(sum(math.log(v) for v in values) / len(values))


def machine_lines(load_before, load_after) -> list[str]:
    """Where and when the figures were measured."""
    sys.path.insert(0, str(IMAGES_DIR / "common"))
    from intel_notebook import cpu

    info = cpu.summary()
    memory = next(
        (line.split(":")[1].strip() for line in open_lines("/proc/meminfo") if "MemTotal" in line),
        "unknown",
    )
    versions = pinned_versions()
    return [
        f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on "
        f"{info['model']}, {info['cores']} cores, {memory} memory, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}.",
        f"CPU flags of interest: {' '.join(info['flags'])}; oneDNN ISA {info['onednn_isa']}; "
        f"bf16 hardware: {info['bf16_hardware'] or 'none'}.",
        f"Versions: {versions}.",
        f"Load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f}. "
        "Times are the best of the repeats and rounds, in seconds.",
    ]


def open_lines(path: str) -> list[str]:
    """The lines of a text file, or none if it cannot be read."""
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def pinned_versions() -> str:
    """Versions of the packages that matter, from the pinned requirements."""
    wanted = (
        "scikit-learn",
        "scikit-learn-intelex",
        "xgboost-cpu",
        "numpy",
        "pandas",
        "tensorflow-cpu",
        "keras",
    )
    found = {}
    for requirements, _ in ENVIRONMENTS.values():
        for line in requirements.read_text().splitlines():
            name, _, version = line.partition("==")
            if name.strip() in wanted and version:
                found.setdefault(name.strip(), set()).add(version.strip())
    return ", ".join(f"{name} {'/'.join(sorted(found[name]))}" for name in wanted if name in found)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
