"""Keras mixed bfloat16 precision on CPUs with bfloat16 hardware, switched by INTEL_KERAS_BF16.

bfloat16 halves memory traffic, and CPUs with AVX512-BF16 or AMX compute matrix products in it
natively. It pays for convolution-heavy models (the benchmark's small CNN: 1.9x faster training and
2.7x faster inference than float32 on AVX512-BF16; 1.37x faster on a Xeon with AMX) and costs on
models dominated by depthwise convolutions (MobileNetV2: 2.3x slower training on AVX512-BF16, 1.5x
slower with AMX). Results also differ slightly from float32. Hence a default that follows the
hardware and a switch per notebook:

- `auto` or unset: the global policy becomes `mixed_bfloat16` on CPUs with AMX-BF16 or
  AVX512-BF16 (unless ONEDNN_MAX_CPU_ISA caps oneDNN below them, or TF_ENABLE_ONEDNN_OPTS=0
  leaves TensorFlow without oneDNN's bfloat16 kernels), and stays `float32` elsewhere;
- `on`: `mixed_bfloat16` whenever Keras loads (oneDNN emulates it on AVX-512 without BF16);
- `off`: Keras' default `float32`.

The policy is set as Keras is first imported, before any layer exists; a notebook can still
override it with keras.mixed_precision.set_global_policy().
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from intel_notebook import cpu

if TYPE_CHECKING:
    from types import ModuleType

ENV = "INTEL_KERAS_BF16"
POLICY = "mixed_bfloat16"


def wanted(setting: str | None, bf16_hardware: str | None) -> bool:
    """Whether INTEL_KERAS_BF16 asks for bfloat16 on a CPU with the given bf16 hardware."""
    value = (setting or "auto").strip().lower()
    if value in ("on", "1", "true", "yes"):
        return True
    if value in ("auto", ""):
        return bf16_hardware in ("amx", "avx512_bf16")
    return False


def onednn_enabled() -> bool:
    """Whether TensorFlow will use oneDNN, whose kernels are where bfloat16 is fast."""
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").strip().lower() not in ("0", "false")


def apply_from_environment(keras: ModuleType) -> bool:
    """Set the Keras global policy as INTEL_KERAS_BF16 asks; called right after `import keras`."""
    hardware = cpu.usable_bf16_hardware() if onednn_enabled() else None
    if not wanted(os.environ.get(ENV), hardware):
        return False
    keras.mixed_precision.set_global_policy(POLICY)
    return True
