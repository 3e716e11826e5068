"""Keras mixed bfloat16 precision where it pays, switched by INTEL_KERAS_BF16.

bfloat16 halves memory traffic and, on CPUs with AMX tiles, runs matrix products on them. Whether
it pays depends on the model more than on the CPU: on a Xeon with AMX a small CNN ran 1.37x
faster and a MobileNetV2 1.5x slower; on AVX512-BF16 without AMX the benchmark's small CNN
trained faster and a MobileNetV2 trained 2.3x slower. It also changes results slightly. So it is
turned on by default only where the hardware makes it most likely to pay, and never forced:

- `auto` or unset: the global policy becomes `mixed_bfloat16` only on CPUs with AMX-BF16;
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
        return bf16_hardware == "amx"
    return False


def apply_from_environment(keras: ModuleType) -> bool:
    """Set the Keras global policy as INTEL_KERAS_BF16 asks; called right after `import keras`."""
    if not wanted(os.environ.get(ENV), cpu.bf16_hardware()):
        return False
    keras.mixed_precision.set_global_policy(POLICY)
    return True
