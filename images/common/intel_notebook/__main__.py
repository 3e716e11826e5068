"""`python -m intel_notebook`: what this image optimizes, as seen from the current environment.

Imports only the frameworks that are installed, and prints one line per fact so that a notebook
user (or a support engineer) can paste it into a question.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from intel_notebook import cpu, keras_bf16, sklearn_patch

SETTINGS = (
    sklearn_patch.ENV,
    keras_bf16.ENV,
    "TF_ENABLE_ONEDNN_OPTS",
    "ONEDNN_MAX_CPU_ISA",
    "OMP_NUM_THREADS",
    "KMP_AFFINITY",
    "KMP_BLOCKTIME",
)


def installed(name: str) -> bool:
    """Whether a top-level module can be imported here."""
    return importlib.util.find_spec(name) is not None


def cpu_lines() -> list[str]:
    """The CPU as the kernel describes it."""
    info = cpu.summary()
    return [
        f"cpu: {info['model']} ({info['cores']} cores available)",
        f"cpu flags: {' '.join(info['flags']) or 'none of interest'}",
        f"onednn isa: {cpu.effective_onednn_isa()} (hardware: {info['onednn_isa']})",
        f"bf16 hardware: {info['bf16_hardware'] or 'none'}",
    ]


def sklearn_lines() -> list[str]:
    """Which estimators Intel's extension serves."""
    if not (installed("sklearn") and installed("sklearnex")):
        return []
    import sklearn.svm  # noqa: F401 (importing an estimator module applies the patch)

    state = sklearn_patch.patched_estimators()
    patched = sorted(name for name, on in state.items() if on and name.count(".") >= 2)
    skipped = sorted(name for name, on in state.items() if not on and name.count(".") >= 2)
    return [
        f"sklearnex patched ({len(patched)}): {', '.join(patched) or 'none'}",
        f"sklearnex not patched: {', '.join(skipped) or 'none'}",
    ]


def tensorflow_lines() -> list[str]:
    """Whether TensorFlow runs on oneDNN, and the Keras precision policy."""
    if not installed("tensorflow"):
        return []
    import keras
    import tensorflow as tf
    from tensorflow.python.util import _pywrap_util_port

    onednn = "on" if _pywrap_util_port.IsMklEnabled() else "off"
    return [
        f"tensorflow {tf.__version__}: oneDNN {onednn}",
        f"keras {keras.__version__}: policy {keras.mixed_precision.global_policy().name}",
    ]


def torch_lines() -> list[str]:
    """PyTorch's build and CPU kernels."""
    if not installed("torch"):
        return []
    import torch

    return [
        f"torch {torch.__version__}: cuda {torch.version.cuda or 'none'}, "
        f"oneDNN {'available' if torch.backends.mkldnn.is_available() else 'missing'}, "
        f"kernels {torch.backends.cpu.get_cpu_capability()}",
    ]


def main() -> int:
    """Print the report."""
    lines = cpu_lines()
    lines += [f"{name}={os.environ[name]}" for name in SETTINGS if name in os.environ]
    for section in (sklearn_lines, tensorflow_lines, torch_lines):
        lines += section()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
