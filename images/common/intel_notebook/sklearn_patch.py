"""Which scikit-learn estimators Intel's extension (sklearnex) replaces: SKLEARNEX_PATCH.

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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

ENV = "SKLEARNEX_PATCH"
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


def apply_from_environment(_sklearn: ModuleType | None = None) -> Selection:
    """Patch scikit-learn as SKLEARNEX_PATCH asks; called right after `import sklearn`."""
    setting = os.environ.get(ENV)
    if (setting or "auto").strip().lower() in OFF:
        return Selection([], [])
    try:
        import sklearnex  # heavy: imported only once scikit-learn is in use
    except ImportError:  # an image without the extension, or a user's own scikit-learn
        return Selection([], [])

    selection = select(setting, sklearnex.get_patch_names())
    if selection.unknown:
        print(
            f"intel_notebook: {ENV} names estimators sklearnex cannot patch: "
            f"{', '.join(selection.unknown)} (see sklearnex.get_patch_names())",
            file=sys.stderr,
        )
    if selection.names:
        sklearnex.patch_sklearn(name=selection.names, verbose=False)
    return selection


def patched_estimators() -> dict[str, bool]:
    """Each sklearnex patch name and whether it is patched in this interpreter."""
    try:
        import sklearnex
    except ImportError:
        return {}
    state = sklearnex.sklearn_is_patched(return_map=True)
    return dict(state) if isinstance(state, dict) else {}
