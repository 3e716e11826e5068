"""Which scikit-learn estimators Intel's extension (sklearnex) replaces: SKLEARNEX_PATCH.

The patch is applied when a notebook first imports one of the estimator modules in TRIGGERS
(`from sklearn.svm import SVC`), not at `import sklearn`: XGBoost and other libraries import
scikit-learn's base classes, metrics and model selection, and loading sklearnex and oneDAL
there made every `import xgboost` about 0.6 s (20%) slower in CPU time without accelerating
anything (measured with images/bench on the price-optimization example).

Patching every estimator blindly is not a speed-up everywhere: the benchmark in images/bench
found estimators that are slower patched on some workloads. `auto` (the default) patches all
the others. Values of SKLEARNEX_PATCH:

- `auto`, `1` or unset: every supported estimator except those in SLOWER_WHEN_PATCHED
  (the intel-notebooks charm's PodDefault sets `1` or `0`);
- `all`: every supported estimator;
- `off` (or `0`, `false`, `no`, `none`): nothing, plain scikit-learn;
- a comma-separated list of sklearnex patch names, e.g. `sklearn.svm.SVC,sklearn.cluster.KMeans`.
"""

from __future__ import annotations

import os
import sys

# typing costs 6 ms at every interpreter start; type checkers treat this name as True.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from types import ModuleType

ENV = "SKLEARNEX_PATCH"
# The scikit-learn modules of the estimators sklearnex replaces (sklearnex.get_patch_names()),
# less those that XGBoost imports (sklearn, sklearn.metrics, sklearn.model_selection,
# sklearn.utils): the first import of any of these patches every selected name at once.
TRIGGERS = (
    "sklearn.cluster",
    "sklearn.covariance",
    "sklearn.decomposition",
    "sklearn.dummy",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.manifold",
    "sklearn.neighbors",
    "sklearn.svm",
)
# sklearnex itself imports those modules: a notebook that imports it first is patched once its
# import has completed.
EXTENSION = "sklearnex"
# daal4py (what intel_notebook.xgboost_daal converts XGBoost models with) imports
# sklearn.linear_model while it is itself half-imported, and sklearnex imports daal4py: patching
# at that inner import made sklearnex meet a partially initialized daal4py ("could not tune
# sklearn.linear_model"), and left scikit-learn unpatched. The patch waits for daal4py's import
# to complete instead.
DAAL4PY = "daal4py"
# Every scikit-learn module's import runs the hook until the patch is applied, so that the
# outermost import of a chain (sklearn.calibration -> sklearn.svm) applies it once complete.
PACKAGE_PREFIX = "sklearn."
OFF = frozenset({"off", "0", "false", "no", "none"})
AUTO = frozenset({"auto", "1", "on", "true", "yes"})

# Measured by images/bench on this project's machines; see docs/how-to/intel-notebooks.md.
SLOWER_WHEN_PATCHED = {
    "sklearn.ensemble.RandomForestRegressor": (
        "batch predict over fully grown trees is slower patched (0.9x to 0.55x of stock on "
        "the benchmark); fit is 2-3x faster, so SKLEARNEX_PATCH=all pays when training dominates"
    ),
}


class Selection:
    """The estimators to patch, and the names in the setting that sklearnex does not know."""

    def __init__(self, names: list[str], unknown: list[str]):
        self.names = names
        self.unknown = unknown

    def __repr__(self) -> str:
        return f"Selection(names={self.names!r}, unknown={self.unknown!r})"


def select(setting: str | None, supported: list[str]) -> Selection:
    """Turn the SKLEARNEX_PATCH value into the patch names to pass to sklearnex."""
    value = (setting or "auto").strip()
    keyword = value.lower()
    if keyword in OFF:
        return Selection([], [])
    if keyword == "all":
        return Selection(list(supported), [])
    if keyword in AUTO:
        return Selection([name for name in supported if name not in SLOWER_WHEN_PATCHED], [])
    wanted = [name.strip() for name in value.split(",") if name.strip()]
    known = set(supported)
    return Selection(
        [name for name in wanted if name in known], [name for name in wanted if name not in known]
    )


_applied: list[Selection] = []


def _initializing(name: str) -> bool:
    """Whether module `name` is being imported right now.

    CPython marks the module's spec meanwhile: Lib/importlib/_bootstrap.py, `_load_unlocked`
    sets `spec._initializing` before executing the module and clears it afterwards.
    """
    module = sys.modules.get(name)
    spec = getattr(module, "__spec__", None)
    return module is not None and bool(getattr(spec, "_initializing", False))


def _busy(hooked: str) -> bool:
    """Whether a scikit-learn module, sklearnex or daal4py is still being imported.

    `hooked` is left out: its hook runs at the end of its own import.
    sklearn.svm imports sklearn.linear_model before it defines SVC, sklearn.calibration imports
    sklearn.svm: patching when an inner import completes would make sklearnex import a half-made
    module. The hook of the outermost import applies the patch instead.
    """
    return any(
        _initializing(name)
        for name in list(sys.modules)
        if name != hooked and (name in (EXTENSION, DAAL4PY) or name.split(".", 1)[0] == "sklearn")
    )


def _wanted(module: ModuleType | None) -> bool:
    """Whether the notebook has started to use estimators (or sklearnex) yet."""
    if getattr(module, "__name__", None) == EXTENSION:
        return True
    return any(name in sys.modules for name in TRIGGERS)


def install() -> None:
    """Register the import hooks that apply the patch (intel_notebook.startup calls this)."""
    from intel_notebook import hooks

    hooks.after_imports_under(PACKAGE_PREFIX, apply_from_environment)
    hooks.after_import(EXTENSION, apply_from_environment)
    hooks.after_import(DAAL4PY, apply_from_environment)


def _done(selection: Selection) -> Selection:
    """Record the outcome and stop hooking scikit-learn's imports."""
    from intel_notebook import hooks

    _applied[:] = [selection]
    hooks.stop_after_imports_under(PACKAGE_PREFIX)
    return selection


def apply_from_environment(module: ModuleType | None = None) -> Selection:
    """Patch scikit-learn as SKLEARNEX_PATCH asks, once per interpreter.

    Called right after the first import of a module in TRIGGERS or of sklearnex. Importing
    sklearnex imports the trigger modules again: the first call marks the work as done so that
    those nested calls return at once, and a call made while an enclosing import of one of
    those modules (or the notebook's own `import sklearnex`) is still running waits for that
    import's hook.
    """
    if _applied:
        return _applied[0]
    setting = os.environ.get(ENV)
    if (setting or "auto").strip().lower() in OFF:
        return _done(Selection([], []))
    if not _wanted(module) or _busy(getattr(module, "__name__", "")):
        return Selection([], [])
    _applied.append(Selection([], []))  # sklearnex's own imports come back here: return at once
    try:
        import sklearnex  # heavy: imported only once scikit-learn is in use
    except ImportError:  # an image without the extension, or a user's own scikit-learn
        return _done(Selection([], []))

    selection = select(setting, sklearnex.get_patch_names())
    if selection.unknown:
        print(
            f"intel_notebook: {ENV} names estimators sklearnex cannot patch: "
            f"{', '.join(selection.unknown)} (see sklearnex.get_patch_names())",
            file=sys.stderr,
        )
    if selection.names:
        sklearnex.patch_sklearn(name=selection.names, verbose=False)
    return _done(selection)


def patched_estimators() -> dict[str, bool]:
    """Each sklearnex patch name and whether it is patched in this interpreter."""
    try:
        import sklearnex
    except ImportError:
        return {}
    state = sklearnex.sklearn_is_patched(return_map=True)
    return dict(state) if isinstance(state, dict) else {}
