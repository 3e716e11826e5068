"""Unit tests of intel_notebook's decisions, for every CPU, not only the one running them.

The smoke tests prove the optimizations run on this machine; these cover the branches this
machine cannot reach (AMX, no AVX-512, caps) and the import hook's contract.
"""

import sys
import textwrap
import types

import pytest
from intel_notebook import cpu, hooks, keras_bf16, probe, sklearn_patch

HASWELL = frozenset({"sse4_1", "avx2", "fma"})
CASCADE_LAKE = HASWELL | {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"}
GENOA = CASCADE_LAKE | {"avx512_bf16"}
SAPPHIRE_RAPIDS = GENOA | {"avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"}
SUPPORTED = [
    "sklearn.svm.SVC",
    "sklearn.cluster.KMeans",
    "sklearn.ensemble.RandomForestClassifier",
    "sklearn.ensemble.RandomForestRegressor",
]


def test_flags_are_read_from_the_first_processor():
    text = "processor\t: 0\nmodel name\t: Xeon\nflags\t\t: fpu avx2 amx_tile\n\nflags : sse\n"
    assert cpu.parse_flags(text) == {"fpu", "avx2", "amx_tile"}
    assert cpu.model_name(text) == "Xeon"
    assert cpu.parse_flags("processor : 0\n") == frozenset()


@pytest.mark.parametrize(
    ("flags", "level", "bf16"),
    [
        (SAPPHIRE_RAPIDS, "AVX512_CORE_AMX", "amx"),
        (GENOA, "AVX512_CORE_BF16", "avx512_bf16"),
        (CASCADE_LAKE, "AVX512_CORE_VNNI", None),
        (HASWELL, "AVX2", None),
        (frozenset(), "DEFAULT", None),
    ],
)
def test_instruction_set_and_bf16_hardware_follow_the_flags(flags, level, bf16):
    assert cpu.onednn_isa(flags) == level
    assert cpu.bf16_hardware(flags) == bf16


def test_the_onednn_cap_only_lowers_the_level(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "avx2")
    assert cpu.effective_onednn_isa(SAPPHIRE_RAPIDS) == "AVX2"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")
    assert cpu.effective_onednn_isa(HASWELL) == "AVX2"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "NONSENSE")
    assert cpu.effective_onednn_isa(GENOA) == "AVX512_CORE_BF16"


@pytest.mark.parametrize(
    ("cap", "flags", "usable"),
    [
        (None, SAPPHIRE_RAPIDS, "amx"),
        ("ALL", SAPPHIRE_RAPIDS, "amx"),
        ("AVX512_CORE_BF16", SAPPHIRE_RAPIDS, "avx512_bf16"),
        ("AVX512_CORE_VNNI", SAPPHIRE_RAPIDS, None),
        (None, GENOA, "avx512_bf16"),
        ("AVX2", GENOA, None),
        (None, CASCADE_LAKE, None),
    ],
)
def test_bf16_is_usable_only_within_the_onednn_cap(monkeypatch, cap, flags, usable):
    if cap is None:
        monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    else:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    assert cpu.usable_bf16_hardware(flags) == usable


@pytest.mark.parametrize(
    ("setting", "names", "unknown"),
    [
        (None, SUPPORTED[:3], []),
        (" Auto ", SUPPORTED[:3], []),
        ("1", SUPPORTED[:3], []),
        ("all", SUPPORTED, []),
        ("off", [], []),
        ("0", [], []),
        ("sklearn.svm.SVC, sklearn.svm.Nope", ["sklearn.svm.SVC"], ["sklearn.svm.Nope"]),
    ],
)
def test_sklearnex_selection(setting, names, unknown):
    selection = sklearn_patch.select(setting, SUPPORTED)
    assert selection.names == names
    assert selection.unknown == unknown


def test_auto_skips_exactly_the_estimators_measured_slower():
    skipped = set(SUPPORTED) - set(sklearn_patch.select("auto", SUPPORTED).names)
    assert skipped == set(sklearn_patch.SLOWER_WHEN_PATCHED)


@pytest.mark.parametrize(
    ("setting", "wanted"),
    [
        (None, False),  # the default keeps float32 whatever the CPU
        ("", False),
        ("auto", False),  # no automatic mode: it cost the dress model most of its accuracy
        ("off", False),
        ("bogus", False),
        ("on", True),
        ("ON", True),
        (" yes ", True),
        ("1", True),
    ],
)
def test_keras_bf16_only_when_switched_on(setting, wanted):
    assert keras_bf16.wanted(setting) is wanted


class _Policy:
    """Records set_global_policy calls like keras.mixed_precision would take them."""

    def __init__(self):
        self.calls = []

    def set_global_policy(self, name):
        self.calls.append(name)


@pytest.mark.parametrize(
    ("setting", "calls"), [(None, []), ("auto", []), ("on", ["mixed_bfloat16"])]
)
def test_keras_policy_is_left_alone_unless_switched_on(monkeypatch, setting, calls):
    if setting is None:
        monkeypatch.delenv(keras_bf16.ENV, raising=False)
    else:
        monkeypatch.setenv(keras_bf16.ENV, setting)
    keras = types.SimpleNamespace(mixed_precision=_Policy())
    assert keras_bf16.apply_from_environment(keras) is bool(calls)
    assert keras.mixed_precision.calls == calls


def test_onednn_verbose_output_is_parsed():
    output = textwrap.dedent(
        """\
        onednn_verbose,v1,info,cpu,isa:Intel AVX-512 with Intel DL Boost and bfloat16 support
        onednn_verbose,v1,primitive,info,template:operation,engine,primitive,implementation
        onednn_verbose,v1,primitive,exec,cpu,reorder,jit:uni,undef,src:f32
        onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,forward
        unrelated line
        """
    )
    assert "bfloat16" in probe.onednn_isa_line(output)
    assert len(probe.onednn_executions(output)) == 2
    assert probe.onednn_executions(output, "convolution") == [output.splitlines()[3]]
    assert probe.onednn_isa_line("nothing") == ""


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throwaway top-level package, importable and forgotten after the test."""
    name = f"hooked_{tmp_path.name.replace('-', '_')}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("VALUE = 41\n")
    (tmp_path / name / "data.txt").write_text("resource")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)
    for finder in sys.meta_path:
        if isinstance(finder, hooks.AfterImportFinder):
            finder.forget(name)


def test_hook_runs_once_after_the_module_is_complete(package):
    import importlib
    import importlib.resources
    import importlib.util

    calls = []
    hooks.after_import(package, lambda module: calls.append(module.VALUE))
    assert importlib.util.find_spec(package) is not None  # a probe does not use the hook up
    assert calls == []
    module = importlib.import_module(package)
    assert calls == [41]
    importlib.reload(module)
    assert calls == [41]
    # The real loader is back in place: resources still load.
    assert (importlib.resources.files(package) / "data.txt").read_text() == "resource"


def test_hook_of_an_imported_module_runs_at_once(package):
    import importlib

    module = importlib.import_module(package)
    calls = []
    hooks.after_import(package, lambda m: calls.append(m))
    assert calls == [module]


def test_a_failing_hook_does_not_break_the_import(package):
    import importlib

    def broken(_module):
        raise RuntimeError("boom")

    hooks.after_import(package, broken)
    with pytest.warns(RuntimeWarning, match="boom"):
        module = importlib.import_module(package)
    assert module.VALUE == 41


def test_a_hooked_module_runs_at_the_same_stack_depth(package):
    # A loader wrapper kept its own frame under the module and all it imports: on CPython 3.11
    # that moved `import xgboost` onto a frame-stack chunk boundary, 0.1-0.2 s more CPU.
    import importlib

    root = importlib.import_module(package).__path__[0]
    with open(f"{root}/deep.py", "w") as out:
        out.write("import sys\nDEPTH = len(__import__('traceback').extract_stack())\n")
    plain = importlib.import_module(f"{package}.deep").DEPTH
    del sys.modules[f"{package}.deep"]
    calls = []
    hooks.after_import(f"{package}.deep", lambda module: calls.append(module.DEPTH))
    try:
        assert plain == importlib.import_module(f"{package}.deep").DEPTH
    finally:
        sys.modules.pop(f"{package}.deep", None)
    assert calls == [plain]


def test_a_failed_import_keeps_the_hook_for_the_next_attempt(package):
    import importlib

    root = importlib.import_module(package).__path__[0]
    with open(f"{root}/flaky.py", "w") as out:
        out.write("raise ImportError('not yet')\n")
    calls = []
    hooks.after_import(f"{package}.flaky", lambda module: calls.append(module.VALUE))
    with pytest.raises(ImportError, match="not yet"):
        importlib.import_module(f"{package}.flaky")
    assert calls == []
    with open(f"{root}/flaky.py", "w") as out:
        out.write("VALUE = 2\n")
    importlib.invalidate_caches()
    try:
        assert importlib.import_module(f"{package}.flaky").VALUE == 2
    finally:
        sys.modules.pop(f"{package}.flaky", None)
    assert calls == [2]


class _FakeExtension(types.ModuleType):
    """Stands in for sklearnex: records patches; importing it re-enters the hook."""

    def __init__(self, reenter):
        super().__init__("sklearnex")
        self.patched = []
        self._reenter = reenter

    def get_patch_names(self):
        self._reenter()  # as sklearnex's own imports of sklearn.svm etc. would
        return SUPPORTED

    def patch_sklearn(self, name, verbose):
        self.patched.append(list(name))


@pytest.fixture
def fresh_patch_state(monkeypatch):
    """sklearn_patch as in a new interpreter, with a fake sklearnex."""
    monkeypatch.setattr(sklearn_patch, "_applied", [])
    monkeypatch.delenv(sklearn_patch.ENV, raising=False)
    extension = _FakeExtension(lambda: sklearn_patch.apply_from_environment())
    monkeypatch.setitem(sys.modules, "sklearnex", extension)
    return extension


def test_the_patch_is_applied_once_although_sklearnex_re_enters(fresh_patch_state):
    first = sklearn_patch.apply_from_environment(fresh_patch_state)
    again = sklearn_patch.apply_from_environment(fresh_patch_state)
    assert fresh_patch_state.patched == [SUPPORTED[:3]]
    assert first.names == again.names == SUPPORTED[:3]


def test_the_patch_waits_while_the_notebook_imports_sklearnex(fresh_patch_state, monkeypatch):
    svm = types.ModuleType("sklearn.svm")
    monkeypatch.setitem(sys.modules, "sklearn.svm", svm)
    fresh_patch_state.__spec__ = types.SimpleNamespace(_initializing=True)
    assert sklearn_patch.apply_from_environment(svm).names == []
    assert fresh_patch_state.patched == []
    fresh_patch_state.__spec__ = types.SimpleNamespace(_initializing=False)
    assert sklearn_patch.apply_from_environment(fresh_patch_state).names == SUPPORTED[:3]


def test_the_patch_waits_for_daal4py_that_imports_an_estimator_module(
    fresh_patch_state, monkeypatch
):
    # daal4py/mb imports sklearn.linear_model while daal4py is half-imported (daal4py 2026.2);
    # patching then made sklearnex import that half-made daal4py.
    linear_model = types.ModuleType("sklearn.linear_model")
    monkeypatch.setitem(sys.modules, "sklearn.linear_model", linear_model)
    daal4py = types.ModuleType("daal4py")
    daal4py.__spec__ = types.SimpleNamespace(_initializing=True)  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "daal4py", daal4py)
    assert sklearn_patch.apply_from_environment(linear_model).names == []
    assert fresh_patch_state.patched == []
    daal4py.__spec__ = types.SimpleNamespace(_initializing=False)  # type: ignore[assignment]
    assert sklearn_patch.apply_from_environment(daal4py).names == SUPPORTED[:3]


def test_modules_other_than_estimator_modules_do_not_apply_the_patch(fresh_patch_state):
    # xgboost 3.2 (xgboost/compat.py, sklearn.py) imports only these: patching there cost its
    # import without accelerating anything.
    for name in ("sklearn.base", "sklearn.metrics", "sklearn.model_selection", "sklearn.utils"):
        assert name not in sklearn_patch.TRIGGERS
        assert sklearn_patch.apply_from_environment(types.ModuleType(name)).names == []
    assert fresh_patch_state.patched == []
    assert "sklearn.svm" in sklearn_patch.TRIGGERS


def test_prefix_hook_runs_for_every_submodule_outermost_last(package):
    import importlib

    root = importlib.import_module(package).__path__[0]
    with open(f"{root}/inner.py", "w") as out:
        out.write("X = 1\n")
    with open(f"{root}/outer.py", "w") as out:
        out.write(f"from {package} import inner\n")
    seen = []
    hooks.after_imports_under(f"{package}.", lambda module: seen.append(module.__name__))
    try:
        importlib.import_module(f"{package}.outer")
    finally:
        hooks.stop_after_imports_under(f"{package}.")
    importlib.import_module(f"{package}.inner")  # already there: no hook
    assert seen == [f"{package}.inner", f"{package}.outer"]
    for name in ("outer", "inner"):
        sys.modules.pop(f"{package}.{name}", None)
