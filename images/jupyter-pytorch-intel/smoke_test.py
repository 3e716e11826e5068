"""Smoke test of jupyter-pytorch-intel: the CPU build of PyTorch, on oneDNN, with bfloat16.

Runs under pytest in CI (a virtual environment built from requirements.txt, with intel_notebook
installed as in the image) and as `python smoke_test.py` inside the built image.
"""

import json
import sys

from intel_notebook import cpu, probe

KERNELS = """
import json
import torch
convolution = torch.nn.Conv2d(3, 8, 3)
linear = torch.nn.Linear(64, 64)
images, rows = torch.randn(8, 3, 32, 32), torch.randn(32, 64)
with torch.no_grad():
    convolution(images)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        product = linear(rows)
print(json.dumps({
    "version": torch.__version__,
    "cuda": torch.version.cuda,
    "mkldnn": torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
    "capability": torch.backends.cpu.get_cpu_capability(),
    "autocast": str(product.dtype),
}))
"""

AVX512_FOR_PYTORCH = frozenset({"avx512f", "avx512bw", "avx512vl", "avx512dq"})


def run_kernels(**env: str | None) -> tuple[dict, str]:
    """Run a convolution and a bfloat16 matrix product under oneDNN's verbose mode."""
    result = probe.python(KERNELS, env={"ONEDNN_VERBOSE": "1", **env})
    facts = json.loads(result.stdout.splitlines()[-1])
    return facts, result.stdout + result.stderr


def test_pytorch_is_the_cpu_build():
    facts, _ = run_kernels()
    assert facts["cuda"] is None
    assert facts["version"].startswith("2.13.0")
    result = probe.python(
        "import importlib.metadata as m; print([d.metadata['Name'] for d in m.distributions()])"
    )
    assert "nvidia" not in result.stdout.lower()
    assert "triton" not in result.stdout.lower()


def test_vector_kernels_match_the_cpu():
    facts, _ = run_kernels(ATEN_CPU_CAPABILITY=None)
    expected = "AVX512" if AVX512_FOR_PYTORCH.issubset(cpu.flags()) else "AVX2"
    assert facts["capability"] == expected


def test_onednn_executes_the_convolution_on_the_detected_instruction_set():
    facts, output = run_kernels(ONEDNN_MAX_CPU_ISA=None)
    assert facts["mkldnn"] is True
    assert probe.onednn_executions(output, "convolution"), "no oneDNN convolution ran"
    expected = cpu.ONEDNN_ISA_WORDS[cpu.onednn_isa()]
    assert expected in probe.onednn_isa_line(output)


def test_bf16_autocast_runs_onednn_bfloat16_kernels():
    facts, output = run_kernels(ONEDNN_MAX_CPU_ISA=None)
    assert facts["autocast"] == "torch.bfloat16"
    products = probe.onednn_executions(output, "matmul") + probe.onednn_executions(
        output, "inner_product"
    )
    assert any("src:bf16" in line for line in products), products
    hardware = cpu.bf16_hardware()
    if hardware:  # the implementation field names the bf16 kernel, not an emulation
        word = {"amx": "amx", "avx512_bf16": "avx512_core_bf16"}[hardware]
        assert any(word in line.split(",")[6] for line in products), products


def test_onednn_obeys_the_instruction_set_cap():
    _, output = run_kernels(ONEDNN_MAX_CPU_ISA="AVX2")
    assert "AVX2" in probe.onednn_isa_line(output)
    kernels = probe.onednn_executions(output, "convolution")
    assert kernels
    assert all("avx512" not in line for line in kernels), kernels


def test_the_report_shows_the_pytorch_build():
    result = probe.python("from intel_notebook.__main__ import main; main()")
    assert f"onednn isa: {cpu.effective_onednn_isa()}" in result.stdout
    assert "torch 2.13.0" in result.stdout
    assert "cuda none" in result.stdout


if __name__ == "__main__":
    sys.exit(probe.run_tests(globals()))
