"""Keras mixed bfloat16 precision as an explicit switch: INTEL_KERAS_BF16=on.

bfloat16 halves memory traffic, and CPUs with AVX512-BF16 or AMX compute matrix products in it
natively, so convolution-heavy models train and infer faster. It also changes what a model
learns: mixed bfloat16 keeps the weights in float32 but computes in bfloat16, and the
dress-classification example's CNN lost most of its accuracy that way after a short training
(see docs/how-to/intel-notebooks.md for the measured speed and quality of both examples).
Models dominated by depthwise convolutions even run slower in it (MobileNetV2: 2.3x slower
training on AVX512-BF16). Precision is therefore never changed behind the user's back:

- unset, `off` or any other value: Keras' default `float32`;
- `on` (or `1`, `true`, `yes`): the global policy becomes `mixed_bfloat16` when Keras loads
  (oneDNN emulates it on AVX-512 without BF16; under ONEDNN_MAX_CPU_ISA below
  AVX512_CORE_BF16 TensorFlow has no bfloat16 convolution and fails).

The policy is set as Keras is first imported, before any layer exists; a notebook can still
override it with keras.mixed_precision.set_global_policy().
"""

from __future__ import annotations

import os

# typing costs 6 ms at every interpreter start; type checkers treat this name as True.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from types import ModuleType

ENV = "INTEL_KERAS_BF16"
POLICY = "mixed_bfloat16"
ON = frozenset({"on", "1", "true", "yes"})


def wanted(setting: str | None) -> bool:
    """Whether INTEL_KERAS_BF16 asks for bfloat16: only an explicit `on` does."""
    return (setting or "").strip().lower() in ON


def apply_from_environment(keras: ModuleType) -> bool:
    """Set the Keras global policy as INTEL_KERAS_BF16 asks; called right after `import keras`."""
    if not wanted(os.environ.get(ENV)):
        return False
    keras.mixed_precision.set_global_policy(POLICY)
    return True
