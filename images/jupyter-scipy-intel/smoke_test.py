"""Smoke test of jupyter-scipy-intel: Intel's scikit-learn extension and oneDAL really serve.

Runs under pytest in CI (a virtual environment built from requirements.txt, with intel_notebook
installed as in the image) and as `python smoke_test.py` inside the built image.
"""

import functools
import json
import sys

from intel_notebook import cpu, probe, sklearn_patch

ESTIMATORS = {
    "SVC": "sklearn.svm",
    "KMeans": "sklearn.cluster",
    "LogisticRegression": "sklearn.linear_model",
    "KNeighborsClassifier": "sklearn.neighbors",
    "RandomForestClassifier": "sklearn.ensemble",
    "RandomForestRegressor": "sklearn.ensemble",
}

MODULES_OF_ESTIMATORS = f"""
import importlib, json
modules = {{}}
for name, module in {ESTIMATORS!r}.items():
    modules[name] = getattr(importlib.import_module(module), name).__module__
print(json.dumps(modules))
"""


def estimator_modules(setting: str | None) -> dict[str, str]:
    """Where each estimator class comes from after `import sklearn` under SKLEARNEX_PATCH."""
    result = probe.python(MODULES_OF_ESTIMATORS, env={sklearn_patch.ENV: setting})
    return json.loads(result.stdout.splitlines()[-1])


def test_default_patches_all_but_the_estimators_measured_slower():
    modules = estimator_modules(None)
    for name, module in modules.items():
        if f"{ESTIMATORS[name]}.{name}" in sklearn_patch.SLOWER_WHEN_PATCHED:
            assert module.startswith("sklearn."), (name, module)
        else:
            assert module.startswith("sklearnex."), (name, module)
    assert modules["RandomForestRegressor"].startswith("sklearn.")


def test_switch_off_gives_stock_scikit_learn():
    modules = estimator_modules("off")
    assert all(module.startswith("sklearn.") for module in modules.values()), modules


def test_all_patches_every_estimator():
    modules = estimator_modules("all")
    assert all(module.startswith("sklearnex.") for module in modules.values()), modules


def test_list_patches_only_the_named_estimators_and_reports_unknown_names():
    result = probe.python(
        MODULES_OF_ESTIMATORS, env={sklearn_patch.ENV: "sklearn.svm.SVC,sklearn.svm.Nonsense"}
    )
    modules = json.loads(result.stdout.splitlines()[-1])
    assert modules.pop("SVC").startswith("sklearnex.")
    assert all(module.startswith("sklearn.") for module in modules.values()), modules
    assert "sklearn.svm.Nonsense" in result.stderr


def test_importing_sklearnex_first_still_patches_without_a_warning():
    # Intel's documented start (`from sklearnex import patch_sklearn`) imports sklearnex first.
    result = probe.python(
        """
        import sklearnex
        from sklearn.cluster import KMeans
        print(KMeans.__module__)
        """,
        env={sklearn_patch.ENV: None},
    )
    assert result.stdout.splitlines()[-1].startswith("sklearnex."), result.stdout
    assert "intel_notebook" not in result.stderr, result.stderr


def test_onedal_computes_the_patched_estimators():
    result = probe.python(
        """
        import numpy as np
        from sklearn.cluster import KMeans
        from sklearn.linear_model import LogisticRegression
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.svm import SVC
        rng = np.random.default_rng(0)
        X = rng.normal(size=(400, 8))
        y = (X[:, 0] + X[:, 1] > 0).astype(int)
        for model in (SVC(), LogisticRegression(), KNeighborsClassifier()):
            assert (model.fit(X, y).predict(X) == y).mean() > 0.8
        KMeans(n_clusters=3, n_init=2, random_state=0).fit(X)
        """,
        env={sklearn_patch.ENV: None, "SKLEARNEX_VERBOSE": "INFO"},
    )
    for step in (
        "sklearn.svm.SVC.fit",
        "sklearn.svm.SVC.predict",
        "sklearn.linear_model.LogisticRegression.fit",
        "sklearn.neighbors.KNeighborsClassifier.predict",
        "sklearn.cluster.KMeans.fit",
    ):
        assert f"{step}: running accelerated version on CPU" in result.stderr, step


@functools.cache
def xgboost_facts() -> dict:
    """One interpreter that imports XGBoost first, as the price-optimization example does."""
    result = probe.python(
        """
        import importlib.metadata, json, sys, xgboost
        loaded = "sklearnex" in sys.modules
        from sklearn.svm import SVC
        import sklearnex
        names = [d.metadata["Name"] for d in importlib.metadata.distributions()]
        print(json.dumps({
            "cuda": xgboost.build_info().get("USE_CUDA"), "names": names,
            "sklearnex_loaded_by_xgboost": loaded, "svc": SVC.__module__,
            "patch_names": sklearnex.get_patch_names(),
        }))
        """,
        env={sklearn_patch.ENV: None},
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_xgboost_is_the_cpu_build():
    info = xgboost_facts()
    assert info["cuda"] is False
    assert "xgboost-cpu" in info["names"]
    assert not [name for name in info["names"] if name.lower().startswith("nvidia")]


def test_importing_xgboost_leaves_the_extension_unloaded_until_an_estimator_module():
    # XGBoost imports scikit-learn's base classes: loading oneDAL there only slowed its import.
    info = xgboost_facts()
    assert info["sklearnex_loaded_by_xgboost"] is False
    assert info["svc"] == "sklearnex.svm._classes"
    # Every estimator sklearnex can patch lives in a module whose import applies the patch.
    estimators = [n for n in info["patch_names"] if n.rsplit(".", 1)[1][:1].isupper()]
    triggers = tuple(f"{module}." for module in sklearn_patch.TRIGGERS)
    assert [n for n in estimators if not n.startswith(triggers)] == []


def test_daal4py_conversion_predicts_what_xgboost_predicts():
    result = probe.python(
        """
        import json
        import numpy as np
        import xgboost as xgb
        from intel_notebook import xgboost_daal
        rng = np.random.default_rng(0)
        X = rng.normal(size=(3000, 10))
        labels = np.where(X[:, 0] * X[:, 1] + X[:, 2] > 0, "buy", "skip")
        target = X[:, 0] * 3 + np.sin(X[:, 1]) + rng.normal(scale=0.1, size=len(X))
        classifier = xgb.XGBClassifier(n_estimators=50, max_depth=5).fit(X, labels == "buy")
        regressor = xgb.XGBRegressor(n_estimators=50, max_depth=5).fit(X, target)
        fast_classifier = xgboost_daal.convert(classifier)
        fast_regressor = xgboost_daal.convert(regressor)
        X32 = X.astype(np.float32)
        print(json.dumps({
            "model": type(fast_classifier.daal_model).__module__,
            "proba": float(np.abs(
                fast_classifier.predict_proba(X) - classifier.predict_proba(X32)).max()),
            "labels": bool((fast_classifier.predict(X) == classifier.predict(X32)).all()),
            "values": float(np.abs(fast_regressor.predict(X) - regressor.predict(X32)).max()),
        }))
        """
    )
    info = json.loads(result.stdout.splitlines()[-1])
    assert info["model"].startswith("daal4py.")
    assert info["proba"] < 1e-5
    assert info["labels"] is True
    assert info["values"] < 1e-3


def test_cpu_instruction_set_is_detected():
    assert cpu.flags(), "no CPU flags in /proc/cpuinfo"
    level = cpu.onednn_isa()
    assert level != "DEFAULT"
    result = probe.python(
        "from intel_notebook.__main__ import main; main()", env={sklearn_patch.ENV: None}
    )
    assert f"onednn isa: {level}" in result.stdout
    assert "sklearn.svm.SVC" in result.stdout


if __name__ == "__main__":
    sys.exit(probe.run_tests(globals()))
