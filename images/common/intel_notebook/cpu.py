"""What the CPU offers, read from the kernel's flags rather than from any one library.

The frameworks detect the instruction set themselves; reading /proc/cpuinfo independently lets
the smoke tests check that what oneDNN or PyTorch report matches the hardware, and lets the
bfloat16 policy decide before TensorFlow is even imported.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")

# oneDNN's instruction-set levels (the values ONEDNN_MAX_CPU_ISA accepts), best first, with the
# kernel flags each one needs.
_AVX512_CORE = frozenset({"avx512f", "avx512bw", "avx512vl", "avx512dq"})
ONEDNN_ISA_LEVELS: tuple[tuple[str, frozenset[str]], ...] = (
    ("AVX512_CORE_AMX", _AVX512_CORE | {"avx512_bf16", "amx_tile", "amx_bf16"}),
    ("AVX512_CORE_BF16", _AVX512_CORE | {"avx512_bf16"}),
    ("AVX512_CORE_VNNI", _AVX512_CORE | {"avx512_vnni"}),
    ("AVX512_CORE", _AVX512_CORE),
    ("AVX2", frozenset({"avx2", "fma"})),
    ("SSE41", frozenset({"sse4_1"})),
)

# Words that appear in oneDNN's verbose "isa:" line for each level.
ONEDNN_ISA_WORDS = {
    "AVX512_CORE_AMX": "AMX",
    "AVX512_CORE_BF16": "bfloat16",
    "AVX512_CORE_VNNI": "DL Boost",
    "AVX512_CORE": "AVX-512",
    "AVX2": "AVX2",
    "SSE41": "SSE4.1",
}

# Flags worth showing to a data scientist deciding between fp32 and bf16.
REPORTED_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)


def parse_flags(cpuinfo: str) -> frozenset[str]:
    """The flags of the first processor listed in a /proc/cpuinfo text."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


@lru_cache(maxsize=1)
def flags() -> frozenset[str]:
    """This machine's CPU flags (empty where /proc/cpuinfo is missing)."""
    try:
        return parse_flags(CPUINFO.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return frozenset()


def model_name(cpuinfo: str | None = None) -> str:
    """The CPU model as the kernel names it."""
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "unknown"
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return "unknown"


def onednn_isa(cpu_flags: frozenset[str] | None = None) -> str:
    """The best oneDNN instruction-set level these flags allow."""
    cpu_flags = flags() if cpu_flags is None else cpu_flags
    for level, needed in ONEDNN_ISA_LEVELS:
        if needed <= cpu_flags:
            return level
    return "DEFAULT"


def effective_onednn_isa(cpu_flags: frozenset[str] | None = None) -> str:
    """The level oneDNN will use: the hardware's, lowered by ONEDNN_MAX_CPU_ISA when set."""
    hardware = onednn_isa(cpu_flags)
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    names = [level for level, _ in ONEDNN_ISA_LEVELS]
    if cap in names and hardware in names and names.index(cap) > names.index(hardware):
        return cap
    return hardware


def bf16_hardware(cpu_flags: frozenset[str] | None = None) -> str | None:
    """Which bfloat16 matrix hardware the CPU has: "amx", "avx512_bf16" or None."""
    cpu_flags = flags() if cpu_flags is None else cpu_flags
    if {"amx_tile", "amx_bf16"} <= cpu_flags:
        return "amx"
    if "avx512_bf16" in cpu_flags:
        return "avx512_bf16"
    return None


def usable_bf16_hardware(cpu_flags: frozenset[str] | None = None) -> str | None:
    """bf16_hardware() as far as ONEDNN_MAX_CPU_ISA lets oneDNN use it.

    A cap below AVX512_CORE_BF16 leaves oneDNN without bfloat16 kernels: TensorFlow's bfloat16
    convolutions then fail, so bfloat16 must not be chosen automatically.
    """
    hardware = bf16_hardware(cpu_flags)
    level = effective_onednn_isa(cpu_flags)
    if hardware == "amx" and level == "AVX512_CORE_AMX":
        return "amx"
    if hardware and level in ("AVX512_CORE_AMX", "AVX512_CORE_BF16"):
        return "avx512_bf16"
    return None


def summary() -> dict[str, object]:
    """A dictionary for reports: model, cores, selected flags, oneDNN level, bf16 hardware."""
    cpu_flags = flags()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "model": model_name(),
        "cores": cores,
        "flags": [flag for flag in REPORTED_FLAGS if flag in cpu_flags],
        "onednn_isa": onednn_isa(cpu_flags),
        "bf16_hardware": bf16_hardware(cpu_flags),
    }
