"""The benchmark's workloads, run by bench.py inside one environment at a time.

`--suite price --mode stock|intel` times the price-optimization example as a notebook runs it
(its own imports only: nothing here imports a scikit-learn estimator module, so the image's
scikit-learn patch stays unloaded, as in the example's notebook). `--suite classical` times the
classical-ML workloads: in the stock environment (plain scikit-learn and XGBoost) and in
jupyter-scipy-intel's (scikit-learn patched at import as that image does, XGBoost inference
through daal4py). `--suite tensorflow` times a small CNN; the configuration (oneDNN on or off,
float32 or bfloat16) comes from the environment variables bench.py sets. Data is generated from
fixed seeds, and a fingerprint of it is reported so that bench.py can check every environment
worked on the same numbers.

Results go to the JSON file given by --out: one entry per timed step, with the best wall time
and the best CPU time (this process's and its children's) over --repeats runs, the quality
metric of the result, and whether the optimized side ran the same code as stock (`same_code`):
for those rows only the CPU time is a fair comparison on a shared machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
PRICE_EXAMPLE = ROOT / "examples" / "price-optimization"
DRESS_EXAMPLE = ROOT / "examples" / "dress-classification"


class Recorder:
    """Collects timed steps, their quality, and notes for the reader of the table."""

    def __init__(self, repeats: int):
        self.repeats = repeats
        self.entries: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.digest = hashlib.sha256()

    def data(self, *arrays: Any) -> None:
        """Add arrays to the fingerprint of this run's input data."""
        for array in arrays:
            values = np.ascontiguousarray(np.asarray(array, dtype=np.float64))
            self.digest.update(values.tobytes())

    def time(
        self,
        name: str,
        step: Callable[[], Any],
        repeats: int | None = None,
        same_code: bool = False,
    ) -> Any:
        """Best wall and best CPU time of `step` over the repeats; returns its last result.

        `same_code`: the optimized environment runs exactly the code stock runs for this step.
        """
        wall, cpu, result = float("inf"), float("inf"), None
        for _ in range(repeats or self.repeats):
            start, start_cpu = time.perf_counter(), cpu_seconds()
            result = step()
            wall = min(wall, time.perf_counter() - start)
            cpu = min(cpu, cpu_seconds() - start_cpu)
        entry = {"name": name, "seconds": wall, "cpu_seconds": cpu, "same_code": same_code}
        self.entries.append(entry)
        return result

    def quality(self, metric: str, value: float, baseline: str | None = None) -> None:
        """Attach a quality figure to the last timed step (and what it compares with)."""
        self.entries[-1].update(metric=metric, quality=float(value))
        if baseline:
            self.entries[-1]["baseline"] = baseline

    def note(self, text: str) -> None:
        """A remark printed under the table."""
        print(f"note: {text}", file=sys.stderr)
        self.notes.append(text)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (a new interpreter's import)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def accuracy(truth: Any, predicted: Any) -> float:
    """Share of correct labels."""
    return float(np.mean(np.asarray(truth) == np.asarray(predicted)))


def r2(truth: Any, predicted: Any) -> float:
    """Coefficient of determination."""
    truth, predicted = np.asarray(truth, dtype=float), np.asarray(predicted, dtype=float)
    return float(1 - ((truth - predicted) ** 2).sum() / ((truth - truth.mean()) ** 2).sum())


# --- classical machine learning -------------------------------------------------------------


def classical_suite(rec: Recorder, mode: str) -> None:
    """Every classical workload; `mode` says which environment this is."""
    import sklearn

    rec.note(f"{mode}: scikit-learn {sklearn.__version__}, {patch_state()}")
    random_forests(rec, mode)
    kmeans(rec)
    logistic_regression(rec)
    svc(rec)
    knn(rec)
    xgboost_inference(rec, mode)


def patch_state() -> str:
    """Which of the benchmarked estimators Intel's extension serves here."""
    from sklearn import cluster, ensemble, linear_model, neighbors, svm

    estimators = (
        ensemble.RandomForestClassifier,
        ensemble.RandomForestRegressor,
        cluster.KMeans,
        linear_model.LogisticRegression,
        svm.SVC,
        neighbors.KNeighborsClassifier,
    )
    served = [e.__name__ for e in estimators if e.__module__.startswith("sklearnex")]
    return f"served by sklearnex: {', '.join(served) or 'none'}"


def classification(n_train: int, n_test: int, n_features: int, seed: int, rec: Recorder):
    """A classification problem with a train and a test split."""
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=n_train + n_test,
        n_features=n_features,
        n_informative=n_features // 2,
        n_redundant=n_features // 4,
        flip_y=0.05,
        random_state=seed,
    )
    rec.data(x, y)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def random_forests(rec: Recorder, mode: str) -> None:
    """RandomForest classifier and regressor, fit and batch predict (fully grown trees)."""
    from sklearn.datasets import make_regression
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    x, y, x_test, y_test = classification(20_000, 100_000, 20, 1, rec)
    forest = rec.time(
        "RandomForestClassifier fit",
        lambda: RandomForestClassifier(n_estimators=50, n_jobs=-1, random_state=0).fit(x, y),
        repeats=1,
    )
    rec.quality("accuracy", forest.score(x_test, y_test))
    predicted = rec.time("RandomForestClassifier predict", lambda: forest.predict(x_test))
    rec.quality("accuracy", accuracy(y_test, predicted))

    x, y = make_regression(n_samples=120_000, n_features=20, noise=10.0, random_state=2)
    rec.data(x, y)
    x, y, x_test, y_test = x[:20_000], y[:20_000], x[20_000:], y[20_000:]
    regressors = [("RandomForestRegressor", RandomForestRegressor)]
    # Unpatched (SKLEARNEX_PATCH=auto leaves it alone), it is scikit-learn's code on both sides.
    same = mode == "intel" and not RandomForestRegressor.__module__.startswith("sklearnex")
    if mode == "intel":
        from sklearnex.ensemble import RandomForestRegressor as Patched

        if RandomForestRegressor is not Patched:
            regressors.append(("RandomForestRegressor [patched anyway]", Patched))
    for label, estimator in regressors:
        plain = same and estimator is RandomForestRegressor
        model = rec.time(
            f"{label} fit",
            lambda estimator=estimator: estimator(n_estimators=30, n_jobs=-1, random_state=0).fit(
                x, y
            ),
            repeats=1,
            same_code=plain,
        )
        rec.quality("R2", r2(y_test, model.predict(x_test)), "RandomForestRegressor fit")
        predicted = rec.time(
            f"{label} predict", lambda model=model: model.predict(x_test), same_code=plain
        )
        rec.quality("R2", r2(y_test, predicted), "RandomForestRegressor predict")
    if len(regressors) == 2:
        times = {e["name"]: e["seconds"] for e in rec.entries}
        rec.note(
            "RandomForestRegressor in one process, patched vs not: fit "
            f"{times['RandomForestRegressor fit'] / times[f'{regressors[1][0]} fit']:.2f}x, "
            "predict "
            f"{times['RandomForestRegressor predict'] / times[f'{regressors[1][0]} predict']:.2f}x"
            " (above 1 = patched faster)"
        )


def kmeans(rec: Recorder) -> None:
    """KMeans fit on 200k points."""
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(3)
    centers = rng.normal(scale=6.0, size=(12, 16))
    x = centers[rng.integers(0, 12, size=200_000)] + rng.normal(size=(200_000, 16))
    rec.data(x)
    model = rec.time(
        "KMeans fit",
        lambda: KMeans(n_clusters=12, n_init=3, random_state=0).fit(x),
        repeats=2,
    )
    rec.quality("inertia/point", model.inertia_ / len(x))


def logistic_regression(rec: Recorder) -> None:
    """LogisticRegression fit on 100k x 50."""
    from sklearn.linear_model import LogisticRegression

    x, y, x_test, y_test = classification(100_000, 20_000, 50, 4, rec)
    model = rec.time(
        "LogisticRegression fit", lambda: LogisticRegression(max_iter=500).fit(x, y), repeats=2
    )
    rec.quality("accuracy", model.score(x_test, y_test))


def svc(rec: Recorder) -> None:
    """RBF SVC fit and predict."""
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    x, y, x_test, y_test = classification(10_000, 10_000, 20, 5, rec)
    scaler = StandardScaler().fit(x)
    x, x_test = scaler.transform(x), scaler.transform(x_test)
    model = rec.time("SVC fit", lambda: SVC().fit(x, y), repeats=1)
    rec.quality("accuracy", model.score(x_test, y_test))
    predicted = rec.time("SVC predict", lambda: model.predict(x_test))
    rec.quality("accuracy", accuracy(y_test, predicted))


def knn(rec: Recorder) -> None:
    """k-nearest-neighbours predict: 10k queries against 100k points."""
    from sklearn.neighbors import KNeighborsClassifier

    x, y, x_test, y_test = classification(100_000, 10_000, 16, 6, rec)
    model = KNeighborsClassifier(n_neighbors=5).fit(x, y)
    predicted = rec.time("kNN predict", lambda: model.predict(x_test), repeats=2)
    rec.quality("accuracy", accuracy(y_test, predicted))


def xgboost_inference(rec: Recorder, mode: str) -> None:
    """XGBoost classifier inference on 200k rows: XGBoost itself, or daal4py's conversion."""
    import xgboost as xgb

    x, y, x_test, y_test = classification(30_000, 200_000, 30, 7, rec)
    model = xgb.XGBClassifier(n_estimators=300, max_depth=8, tree_method="hist").fit(x, y)
    x_test32 = x_test.astype(np.float32)
    if mode == "intel":
        from intel_notebook import xgboost_daal

        fast = xgboost_daal.convert(model)
        predicted = rec.time("XGBoost predict_proba", lambda: fast.predict_proba(x_test32))
        reference = model.predict_proba(x_test32)
        rec.note(
            "XGBoost via daal4py: max |probability difference| to XGBoost "
            f"{np.abs(predicted - reference).max():.2e}"
        )
    else:
        predicted = rec.time("XGBoost predict_proba", lambda: model.predict_proba(x_test32))
    rec.quality("accuracy", accuracy(y_test, predicted.argmax(axis=1)))


# --- price optimization ---------------------------------------------------------------------


def price_suite(rec: Recorder, mode: str) -> None:
    """The price-optimization case: its imports, demand model training, scoring a price grid.

    The new interpreter's `import xgboost` runs the image's startup hook on the Intel side:
    the same library code plus that hook, which is what this row watches.
    """
    rec.time(
        "price optimization: import xgboost (new interpreter)", import_xgboost, same_code=True
    )
    example = load_price_example(rec)
    generate_sales, train, predict = example or local_price_functions()
    sales = generate_sales(300, 156, 11)
    rec.data(sales.select_dtypes("number").to_numpy())
    holdout = sales.sample(frac=0.2, random_state=0)
    training = sales.drop(holdout.index)
    model = rec.time(
        "price optimization: train", lambda: train(training), repeats=1, same_code=True
    )
    target = next(
        (name for name in ("units", "demand", "quantity", "sales") if name in holdout),
        holdout.select_dtypes("number").columns[-1],
    )
    rec.quality("R2 holdout", r2(holdout[target], predict(model, holdout)))

    grid = price_grid(sales, 25)
    rec.data(grid.select_dtypes("number").to_numpy())
    # One untimed scoring on both sides: the reference a conversion must reproduce, and the
    # same warm-up for stock and Intel.
    reference = np.asarray(predict(model, grid), dtype=float)
    scorer = predict
    if mode == "intel":
        scorer = daal4py_scorer(rec, model, predict, grid, reference) or predict
    demand = rec.time(
        "price optimization: batch scoring",
        lambda: scorer(model, grid),
        same_code=scorer is predict,
    )
    rec.quality("mean demand", float(np.mean(demand)))
    loaded = "loaded" if "sklearnex" in sys.modules else "not loaded"
    rec.note(f"price optimization, {mode}: scikit-learn's extension {loaded} in its process")


def import_xgboost() -> None:
    """A new interpreter of this environment imports XGBoost, as the example's first line does.

    With the image's startup hooks in place (the .pth file), this is where a patch applied at
    `import sklearn` would cost: XGBoost imports scikit-learn.
    """
    import subprocess

    subprocess.run([sys.executable, "-c", "import xgboost"], check=True)


def load_price_example(rec: Recorder):
    """The example's functions, or None (with a note) while the example is not there."""
    sys.path.insert(0, str(PRICE_EXAMPLE))
    try:
        from price_optimization.data import generate_sales
        from price_optimization.model import predict_demand, train_demand_model
    except ImportError as error:
        rec.note(
            "price optimization: examples/price-optimization not importable "
            f"({error}); timed the equivalent local workload instead"
        )
        return None
    return generate_sales, train_demand_model, predict_demand


def price_grid(sales: Any, n_prices: int, n_weeks: int = 26) -> Any:
    """Each product's last week, at n_prices candidate prices (-30%..+30%), for n_weeks ahead."""
    import pandas as pd

    product_key = "product" if "product" in sales else sales.columns[0]
    if "week" not in sales:
        return pd.concat([sales] * n_prices, ignore_index=True)
    last = sales.sort_values("week").groupby(product_key).tail(1)
    frames = []
    for ahead in range(1, n_weeks + 1):
        for factor in np.linspace(0.7, 1.3, n_prices):
            candidate = last.copy()
            candidate["week"] = candidate["week"] + ahead
            if "price" in candidate:
                candidate["price"] = candidate["price"] * factor
            frames.append(candidate)
    return pd.concat(frames, ignore_index=True)


def daal4py_scorer(
    rec: Recorder, model: Any, predict: Callable, grid: Any, reference: Any
) -> Callable | None:
    """predict_demand with the XGBoost model swapped for its daal4py conversion, if possible.

    Used only when its predictions on the whole grid agree with XGBoost's `reference` within
    1e-5 (relative to the largest); otherwise None, and scoring stays on XGBoost.
    """
    try:
        scorer = _example_daal_scorer(model) or _wrapped_daal_scorer(model, predict)
        converted = np.asarray(scorer(model, grid), dtype=float)
    except Exception as error:
        rec.note(f"price optimization: scoring kept on XGBoost ({type(error).__name__}: {error})")
        return None
    difference = np.abs(reference - converted).max() / max(np.abs(reference).max(), 1e-12)
    if difference > 1e-5:
        rec.note(
            f"price optimization: scoring kept on XGBoost (daal4py differs by {difference:.1e})"
        )
        return None
    rec.note(f"price optimization: daal4py scoring, max relative difference {difference:.1e}")
    return scorer


def _example_daal_scorer(model: Any) -> Callable | None:
    """The example's DemandModel keeps its Booster and feature builder: convert the Booster."""
    if not hasattr(model, "booster") or not hasattr(model, "references"):
        return None
    from intel_notebook import xgboost_daal

    from price_optimization.features import build_features

    fast = xgboost_daal.convert(model.booster)

    def score(demand_model: Any, frame: Any) -> Any:
        features = build_features(frame, demand_model.references, demand_model.products)
        return fast.predict(features)

    return score


def _wrapped_daal_scorer(model: Any, predict: Callable) -> Callable:
    """A model with an XGBoost-style predict (the local stand-in): its daal4py conversion."""
    from intel_notebook import xgboost_daal

    fast = FastModel(model, xgboost_daal.convert(model))
    return lambda _model, frame: predict(fast, frame)


class FastModel:
    """An XGBoost model whose predict goes through daal4py; other attributes are the model's."""

    def __init__(self, model: Any, fast: Any):
        self._model = model
        self._fast = fast

    def predict(self, features: Any, *_args: Any, **_kwargs: Any) -> Any:
        """daal4py's prediction."""
        return self._fast.predict(features)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def local_price_functions():
    """A demand model like the example's: weekly sales per product, XGBoost on price and season."""

    def generate_sales(n_products: int, n_weeks: int, seed: int):
        import pandas as pd

        rng = np.random.default_rng(seed)
        product = np.repeat(np.arange(n_products), n_weeks)
        week = np.tile(np.arange(n_weeks), n_products)
        base_price = rng.uniform(5, 50, n_products)[product]
        elasticity = rng.uniform(-2.5, -0.8, n_products)[product]
        price = base_price * rng.uniform(0.75, 1.25, len(product))
        promo = rng.random(len(product)) < 0.1
        season = 1 + 0.3 * np.sin(2 * np.pi * week / 52)
        base_units = rng.uniform(50, 500, n_products)[product]
        expected = base_units * season * (price / base_price) ** elasticity * (1 + 0.4 * promo)
        units = rng.poisson(expected)
        return pd.DataFrame(
            {
                "product": product,
                "week": week,
                "price": price,
                "base_price": base_price,
                "promo": promo.astype(int),
                "units": units,
            }
        )

    def features(frame):
        return np.column_stack(
            [
                frame["product"],
                frame["price"],
                frame["price"] / frame["base_price"],
                frame["promo"],
                np.sin(2 * np.pi * frame["week"] / 52),
                np.cos(2 * np.pi * frame["week"] / 52),
            ]
        ).astype(np.float32)

    def train(frame):
        import xgboost as xgb

        return xgb.XGBRegressor(n_estimators=300, max_depth=6, learning_rate=0.05).fit(
            features(frame), frame["units"]
        )

    def predict(model, frame):
        return model.predict(features(frame))

    return generate_sales, train, predict


# --- TensorFlow ------------------------------------------------------------------------------


def tensorflow_suite(rec: Recorder, _mode: str) -> None:
    """The dress-classification CNN: a training run and batch inference."""
    import keras
    import tensorflow as tf
    from tensorflow.python.util import _pywrap_util_port

    precision = keras.mixed_precision.global_policy().name
    onednn = "on" if _pywrap_util_port.IsMklEnabled() else "off"
    rec.note(f"tensorflow {tf.__version__}: oneDNN {onednn}, Keras policy {precision}")
    make_dataset, build_model, train = load_dress_example(rec) or local_dress_functions()
    size, n = 64, 3000
    images, lengths, _colors = make_dataset(n, size, 21)
    rec.data(images, lengths)
    n_classes = int(np.max(lengths)) + 1
    split = int(n * 0.8)
    keras.utils.set_random_seed(0)
    # The example sets Keras's dtype policy itself (float32 unless asked): pass on the one the
    # image's switch chose, or the bf16 row would time float32.
    model = build_model(size, n_classes, precision=precision)
    rec.time(
        "CNN train (3 epochs)",
        lambda: train(model, images[:split], lengths[:split], 3),
        repeats=1,
    )
    held_out = images[split:]
    model.predict(held_out[:256], verbose=0)  # build the inference function once
    scores = rec.time(
        "CNN inference", lambda: model.predict(held_out, batch_size=128, verbose=0), repeats=3
    )
    held_out_accuracy = accuracy(lengths[split:], np.asarray(scores).argmax(axis=1))
    rec.quality("accuracy", held_out_accuracy)
    # The training run's quality is the accuracy of the model it produced.
    rec.entries[0].update(metric="accuracy", quality=held_out_accuracy)


def load_dress_example(rec: Recorder):
    """The example's functions, or None (with a note) while the example is not there."""
    sys.path.insert(0, str(DRESS_EXAMPLE))
    try:
        from dress_classification.data import make_dataset
        from dress_classification.model import build_model, train
    except ImportError as error:
        rec.note(
            "dress classification: examples/dress-classification not importable "
            f"({error}); timed the equivalent local workload instead"
        )
        return None
    return make_dataset, build_model, train


def local_dress_functions():
    """Synthetic dress pictures (length from the silhouette, colour from the hue) and a CNN."""

    def make_dataset(n: int, size: int, seed: int):
        rng = np.random.default_rng(seed)
        lengths = rng.integers(0, 3, n)
        colors = rng.integers(0, 4, n)
        palette = np.array([[0.8, 0.1, 0.1], [0.1, 0.6, 0.1], [0.1, 0.2, 0.8], [0.9, 0.8, 0.2]])
        images = rng.normal(0.5, 0.08, size=(n, size, size, 3)).astype(np.float32)
        rows = np.arange(size)[:, None]
        cols = np.arange(size)[None, :]
        for i in range(n):
            bottom = int(size * (0.45 + 0.2 * lengths[i])) + rng.integers(-2, 3)
            width = (rows - size * 0.15) * 0.35 + size * 0.12
            body = (rows > size * 0.15) & (rows < bottom) & (np.abs(cols - size / 2) < width)
            images[i][body] = palette[colors[i]] + rng.normal(0, 0.05, 3)
        return np.clip(images, 0, 1), lengths, colors

    def build_model(size: int, n_classes: int, precision: str):
        import keras

        keras.mixed_precision.set_global_policy(precision)

        return keras.Sequential(
            [
                keras.Input((size, size, 3)),
                keras.layers.Conv2D(32, 3, activation="relu"),
                keras.layers.MaxPooling2D(),
                keras.layers.Conv2D(64, 3, activation="relu"),
                keras.layers.MaxPooling2D(),
                keras.layers.Conv2D(64, 3, activation="relu"),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(n_classes, activation="softmax", dtype="float32"),
            ]
        )

    def train(model, images, labels, epochs):
        model.compile(
            optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        return model.fit(images, labels, epochs=epochs, batch_size=64, verbose=0)

    return make_dataset, build_model, train


SUITES: dict[str, Callable[[Recorder, str], None]] = {
    "price": price_suite,
    "classical": classical_suite,
    "tensorflow": tensorflow_suite,
}


def main() -> int:
    """Run one suite and write its entries, notes and data fingerprint as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=list(SUITES), required=True)
    parser.add_argument("--mode", choices=["stock", "intel"], default="stock")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rec = Recorder(args.repeats)
    SUITES[args.suite](rec, args.mode)
    args.out.write_text(
        json.dumps(
            {
                "entries": rec.entries,
                "notes": rec.notes,
                "data": rec.digest.hexdigest(),
                "pid": os.getpid(),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
