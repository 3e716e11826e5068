"""Benchmark: the same workloads with stock and with Intel-optimized requirements, side by side.

Builds (or reuses) three environments under build/bench-venvs:

- stock-scipy: images/bench/requirements-stock.txt (scikit-learn and XGBoost as on PyPI);
- intel-scipy: jupyter-scipy-intel's requirements.txt plus intel_notebook, as in the image;
- tensorflow: jupyter-tensorflow-intel's requirements.txt plus intel_notebook. TensorFlow's
  x86-64 wheels carry oneDNN, so its stock baseline is the same wheel with oneDNN switched off
  (TF_ENABLE_ONEDNN_OPTS=0) and float32; the optimized runs switch oneDNN on, then bfloat16.

Suites: `price` (the price-optimization example: fast), `classical` (scikit-learn estimators and
XGBoost inference) and `tensorflow` (the dress-classification CNN: slow). Every suite run is a
fresh process; the runs alternate stock/optimized for --rounds rounds, the order flipped every
round, and each step keeps its best wall time and its best CPU time over repeats and rounds, so
that a busy neighbour on the machine slows both sides alike and a step timed once per process
(a training) still gets the best of the rounds. Rows where the optimized side runs exactly the
code stock runs (`same` in the table) are compared in CPU time: on a shared machine their wall
time measures the neighbours. Every run regenerates the same data from fixed seeds (the data
fingerprints must agree).

The result is a Markdown table on stdout, ready to paste: machine (CPU model), date, load
average, versions, settings, one table per suite and the geometric mean of the speedups with
the images' defaults. --json keeps the rounds done so far, --report prints their table.

Usage: python images/bench/bench.py [--only price|classical|tensorflow ...] [--rounds N]
       [--repeats N] [--omp-wait-policy passive|active|unset] [--json PATH [--report]]
This is a measurement, not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
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
# The image's default: SKLEARNEX_PATCH as its Dockerfile sets it.
IMAGE_DEFAULTS = {"SKLEARNEX_PATCH": "auto"}
# label -> (environment, suite, mode, environment variables)
RUNS = {
    "price: stock": ("stock-scipy", "price", "stock", {}),
    "price: intel": ("intel-scipy", "price", "intel", IMAGE_DEFAULTS),
    "classical: stock": ("stock-scipy", "classical", "stock", {}),
    "classical: intel": ("intel-scipy", "classical", "intel", IMAGE_DEFAULTS),
    "oneDNN off, fp32": ("tensorflow", "tensorflow", "stock", OFF_FP32),
    "oneDNN on, fp32": ("tensorflow", "tensorflow", "intel", ON_FP32),
    "oneDNN on, bf16": ("tensorflow", "tensorflow", "intel", ON_BF16),
}
SUITES = {
    "price": ["price: stock", "price: intel"],
    "classical": ["classical: stock", "classical: intel"],
    "tensorflow": ["oneDNN off, fp32", "oneDNN on, fp32", "oneDNN on, bf16"],
}
TITLES = {
    "price": "Price optimization (examples/price-optimization): stock requirements vs "
    "jupyter-scipy-intel",
    "classical": "Classical ML: stock requirements vs jupyter-scipy-intel (SKLEARNEX_PATCH=auto)",
    "tensorflow": "TensorFlow CNN: stock = oneDNN off, float32",
}


def main(argv: list[str]) -> int:
    """Build the environments, run every suite for the given rounds, print the table."""
    args = parse_args(argv)
    if args.report:
        return print_saved(args)
    labels = [label for suite in args.only for label in SUITES[suite]]
    needed = {RUNS[label][0] for label in labels}
    venvs = {name: prepare(name, args.venvs) for name in ENVIRONMENTS if name in needed}
    load_before = os.getloadavg()
    loads = [load_before[0]]
    started = time.monotonic()
    results: dict[str, dict] = {}
    for round_number in range(args.rounds):
        # Every run is a fresh process; the order flips each round (stock first, then Intel
        # first) so that neither side always runs first or while the machine warms up.
        for label in labels if round_number % 2 == 0 else labels[::-1]:
            print(f"--- round {round_number + 1}: {label}", file=sys.stderr, flush=True)
            merge(results, label, run(label, venvs, args.repeats, args.omp_wait_policy))
            loads.append(os.getloadavg()[0])
        if args.json:  # after every round, so that an interrupted run still leaves its figures
            saved = {
                "results": results,
                "rounds": round_number + 1,
                "load": load_before,
                "loads": loads,
                "minutes": (time.monotonic() - started) / 60,
                "settings": settings(args),
                "measured_at": now(),
            }
            args.json.write_text(json.dumps({**saved, "load_now": os.getloadavg()}, indent=1))
    check_same_data(results)
    measured = Measurement(
        load_before,
        os.getloadavg(),
        max(loads),
        args.rounds,
        (time.monotonic() - started) / 60,
        now(),
    )
    print(report(results, args.only, measured, settings(args)))
    return 0


def settings(args: argparse.Namespace) -> str:
    """The run's settings for the report."""
    policy = {
        "passive": "OMP_WAIT_POLICY=passive on both sides (as the intel-notebooks PodDefault)",
        "active": "OMP_WAIT_POLICY=active on both sides",
        "unset": "OMP_WAIT_POLICY unset (OpenMP's default)",
    }[args.omp_wait_policy]
    return f"{policy}; best of {args.repeats} repeats per process"


def print_saved(args: argparse.Namespace) -> int:
    """The report of the rounds a run saved with --json."""
    if not args.json:
        sys.exit("--report needs --json PATH")
    saved = json.loads(args.json.read_text())
    results = saved["results"]
    check_same_data(results)
    suites = [suite for suite in args.only if all(label in results for label in SUITES[suite])]
    loads = saved.get("loads", [saved["load"][0]])
    measured = Measurement(
        saved["load"],
        saved["load_now"],
        max(loads),
        saved["rounds"],
        saved.get("minutes", 0),
        saved.get("measured_at", "(date not saved)"),
    )
    print(report(results, suites, measured, saved.get("settings", settings(args))))
    return 0


@dataclasses.dataclass
class Measurement:
    """When and under which load the figures were taken."""

    load_before: tuple[float, ...]
    load_after: tuple[float, ...]
    load_max: float
    rounds: int
    minutes: float
    finished: str


def now() -> str:
    """The time of day the figures were taken, for the report."""
    return f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Rounds, repeats, suites, where the environments live."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternations of stock/optimized (fresh processes)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timings per step (best kept)")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(SUITES),
        help="suite to run (repeatable; default: all): price is fast, tensorflow slow",
    )
    parser.add_argument("--venvs", type=Path, default=ROOT / "build" / "bench-venvs")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--omp-wait-policy",
        choices=["passive", "active", "unset"],
        default="passive",
        help="OMP_WAIT_POLICY on both sides (default passive, as the intel-notebooks "
        "PodDefault sets it: on a machine shared with other work, OpenMP threads spinning "
        "for busy cores make XGBoost and scikit-learn timings erratic)",
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


def run(label: str, venvs: dict[str, Path], repeats: int, omp_wait_policy: str) -> dict:
    """One run of a suite in its environment; the workload script's JSON."""
    environment, suite, mode, variables = RUNS[label]
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("SKLEARNEX_PATCH", None)  # the stock side has no extension; the image sets its own
    if omp_wait_policy != "unset":
        env["OMP_WAIT_POLICY"] = omp_wait_policy
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
        kept = best[entry["name"]]
        for measure in ("seconds", "cpu_seconds"):
            kept[measure] = min(kept[measure], entry[measure])
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


def measure(optimized: dict) -> str:
    """Which time compares a row: CPU where both sides run the same code, wall otherwise.

    With the same code, the CPU time is the work done whatever the neighbours do; the wall time
    of such a row on a shared machine mostly measures the neighbours. Where the image runs
    other code (oneDAL, oneDNN), the wall time is what a notebook waits for.
    """
    return "cpu_seconds" if optimized.get("same_code") else "seconds"


def speedup(stock: dict, optimized: dict) -> float:
    """Stock time over optimized time, in the row's measure."""
    key = measure(optimized)
    return stock[key] / optimized[key]


def row(name: str, stock: dict, optimized: dict) -> str:
    """One Markdown table row."""
    key = measure(optimized)
    code, timed = ("same", "CPU") if key == "cpu_seconds" else ("optimized", "wall")
    return (
        f"| {name} | {code} | {timed} | {stock[key]:.3f} | {optimized[key]:.3f} "
        f"| {speedup(stock, optimized):.2f}x | {quality(stock)} | {quality(optimized)} |"
    )


def pairs_of(results: dict[str, dict], suite: str) -> list[tuple[str, dict, dict, bool]]:
    """(row name, stock entry, optimized entry, image default?) for every row of a suite."""
    if suite == "tensorflow":
        baseline = by_name(results["oneDNN off, fp32"])
        return [
            (f"{entry['name']} [{label}]", baseline[entry["name"]], entry, label.endswith("fp32"))
            for label in ("oneDNN on, fp32", "oneDNN on, bf16")
            for entry in results[label]["entries"]
        ]
    stock_label, intel_label = SUITES[suite]
    stock = by_name(results[stock_label])
    return [
        (
            entry["name"],
            stock[entry.get("baseline", entry["name"])],
            entry,
            "[patched anyway]" not in entry["name"],
        )
        for entry in results[intel_label]["entries"]
    ]


def report(
    results: dict[str, dict], suites: list[str], measured: Measurement, run_settings: str
) -> str:
    """The Markdown report, ready to paste: machine, tables, geometric mean, notes."""
    header = (
        "| workload | code | timed | stock s | optimized s | speedup "
        "| stock quality | optimized quality |"
    )
    rule = "|---|---|---|---:|---:|---:|---|---|"
    lines = machine_lines(measured)
    lines.append(f"Settings: {run_settings}; {measured.rounds} round(s).")
    defaults, optimized_code = [], []
    for suite in suites:
        lines += ["", TITLES[suite], "", header, rule]
        for name, stock, optimized, default in pairs_of(results, suite):
            lines.append(row(name, stock, optimized))
            if default:
                defaults.append(speedup(stock, optimized))
                if not optimized.get("same_code"):
                    optimized_code.append(speedup(stock, optimized))
    lines += [
        "",
        "code `same`: the optimized side runs exactly the code stock runs (same library, same "
        "call), so the row is compared in CPU time and its speedup should read 1.00x: a "
        "departure is the measurement's noise, except in a row that starts a new interpreter, "
        "where the image also runs its startup hook (its cost shows there). "
        "code `optimized`: the image runs other code (oneDAL, daal4py, oneDNN), compared in "
        "wall time.",
    ]
    if defaults:
        lines += [
            "",
            f"Geometric mean of the speedups with the images' defaults ({len(defaults)} rows: "
            f"no [patched anyway], no bf16): {geometric_mean(defaults):.2f}x"
            + (
                f"; over the {len(optimized_code)} rows where the image runs other code: "
                f"{geometric_mean(optimized_code):.2f}x"
                if optimized_code and len(optimized_code) != len(defaults)
                else ""
            )
            + ".",
        ]
    notes = sorted(
        {note for suite in suites for label in SUITES[suite] for note in results[label]["notes"]}
    )
    lines += ["", *[f"- {note}" for note in notes]]
    return "\n".join(lines)


def geometric_mean(values: list[float]) -> float:
    """The n-th root of the product: the mean of ratios."""
    return math.exp(sum(math.log(v) for v in values) / len(values))


def machine_lines(measured: Measurement) -> list[str]:
    """Where and when the figures were measured, and how busy the machine was."""
    sys.path.insert(0, str(IMAGES_DIR / "common"))
    from intel_notebook import cpu

    info = cpu.summary()
    memory = next(
        (line.split(":")[1].strip() for line in open_lines("/proc/meminfo") if "MemTotal" in line),
        "unknown",
    )
    versions = pinned_versions()
    return [
        f"Measured until {measured.finished} ({measured.minutes:.0f} min) on {info['model']}, "
        f"{info['cores']} cores, "
        f"{memory} memory, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}.",
        f"CPU flags of interest: {' '.join(info['flags'])}; oneDNN ISA {info['onednn_isa']}; "
        f"bf16 hardware: {info['bf16_hardware'] or 'none'}.",
        f"Versions: {versions}.",
        f"Load average (1 min) before / highest between runs / after: "
        f"{measured.load_before[0]:.2f} / {measured.load_max:.2f} / "
        f"{measured.load_after[0]:.2f} on {info['cores']} cores. "
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
