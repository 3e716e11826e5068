"""Smoke test of jupyter-tensorflow-intel: TensorFlow runs on oneDNN, float32 unless bf16 is asked.

Runs under pytest in CI (a virtual environment built from requirements.txt, with intel_notebook
installed as in the image) and as `python smoke_test.py` inside the built image.
"""

import functools
import json
import sys

from intel_notebook import cpu, keras_bf16, probe

CONVOLUTION = """
import json
import numpy as np
import keras
import tensorflow as tf
from tensorflow.python.util import _pywrap_util_port
model = keras.Sequential(
    [keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3), keras.layers.Flatten(),
     keras.layers.Dense(2)]
)
model.compile(optimizer="adam", loss="mse")
out = model.predict(np.ones((4, 16, 16, 3), "float32"), verbose=0)
print(json.dumps({
    "onednn": bool(_pywrap_util_port.IsMklEnabled()),
    "policy": keras.mixed_precision.global_policy().name,
    "compute": model.layers[0].compute_dtype,
    "jit": bool(model.jit_compile),
}))
"""


# Runs start from the image's defaults (TF_ENABLE_ONEDNN_OPTS as the image sets it), without the
# per-pod tuning a PodDefault may add.
DEFAULTS = {"ONEDNN_MAX_CPU_ISA": None, keras_bf16.ENV: None}


def run_convolution(**env: str | None) -> tuple[dict, str]:
    """Run a Keras convolution under oneDNN's verbose mode; its facts and oneDNN's output."""
    return _run_convolution(tuple(sorted({**DEFAULTS, **env}.items())))


@functools.cache
def _run_convolution(env: tuple[tuple[str, str | None], ...]) -> tuple[dict, str]:
    """One TensorFlow start per distinct environment: each takes seconds."""
    result = probe.python(CONVOLUTION, env={"ONEDNN_VERBOSE": "1", **dict(env)})
    facts = json.loads(result.stdout.splitlines()[-1])
    return facts, result.stdout + result.stderr


def test_onednn_executes_the_convolution_on_the_detected_instruction_set_by_default():
    facts, output = run_convolution()
    assert facts["onednn"] is True
    assert probe.onednn_executions(output, "convolution"), "no oneDNN convolution ran"
    expected = cpu.ONEDNN_ISA_WORDS[cpu.onednn_isa()]
    assert expected in probe.onednn_isa_line(output), (expected, probe.onednn_isa_line(output))


def test_onednn_switched_off_runs_no_onednn_convolution():
    facts, output = run_convolution(TF_ENABLE_ONEDNN_OPTS="0")
    assert facts["onednn"] is False
    assert facts["policy"] == "float32"  # bfloat16 pays only on oneDNN's kernels
    assert not probe.onednn_executions(output, "convolution")


def test_onednn_obeys_the_instruction_set_cap():
    facts, output = run_convolution(ONEDNN_MAX_CPU_ISA="AVX2")
    assert facts["policy"] == "float32"
    assert "AVX2" in probe.onednn_isa_line(output)
    assert "AVX-512" not in probe.onednn_isa_line(output)
    kernels = probe.onednn_executions(output, "convolution")
    assert kernels
    assert all("avx512" not in line for line in kernels), kernels


def test_the_default_keeps_float32_even_with_bf16_hardware():
    # bfloat16 changed the dress example's accuracy: it is a switch, never a default.
    facts, output = run_convolution()
    assert facts["policy"] == "float32"
    assert facts["compute"] == "float32"
    assert all("src:f32" in line for line in probe.onednn_executions(output, "convolution"))


def test_bf16_on_runs_bfloat16_kernels():
    facts, output = run_convolution(**{keras_bf16.ENV: "on"})
    assert facts["policy"] == "mixed_bfloat16"
    assert facts["compute"] == "bfloat16"
    kernels = probe.onednn_executions(output, "convolution")
    assert kernels
    assert all("src:bf16" in line for line in kernels), kernels


def test_bf16_off_keeps_float32():
    facts, output = run_convolution(**{keras_bf16.ENV: "off"})
    assert facts["policy"] == "float32"
    assert all("src:f32" in line for line in probe.onednn_executions(output, "convolution"))


def test_keras_does_not_jit_compile_on_cpu():
    # XLA on CPU halves bfloat16 inference speed; Keras' "auto" must leave it off here.
    facts, _ = run_convolution(**{keras_bf16.ENV: "on"})
    assert facts["jit"] is False


def test_the_report_shows_onednn_and_the_policy():
    result = probe.python(
        "from intel_notebook.__main__ import main; main()", env={keras_bf16.ENV: "off"}
    )
    assert "tensorflow 2.21.0: oneDNN on" in result.stdout
    assert "policy float32" in result.stdout


if __name__ == "__main__":
    sys.exit(probe.run_tests(globals()))
