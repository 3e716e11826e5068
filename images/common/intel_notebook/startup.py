"""Imported by intel-notebook.pth at every interpreter start: registers the import hooks.

It must stay cheap (standard library only) and must never stop Python from starting, so any
failure is reported on stderr and otherwise ignored.
"""

from __future__ import annotations

import sys


def install() -> None:
    """Hook scikit-learn's estimator modules and Keras so their first import applies the tuning."""
    from intel_notebook import hooks, keras_bf16, sklearn_patch

    sklearn_patch.install()
    hooks.after_import("keras", keras_bf16.apply_from_environment)


try:
    install()
except Exception as error:  # an interpreter must start even if tuning cannot
    print(f"intel_notebook: startup hooks not installed: {error}", file=sys.stderr)
