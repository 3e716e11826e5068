"""The price-optimization pipeline for Kubeflow Pipelines v2, and its command line.

    python -m price_optimization.pipeline run      # locally, no cluster, no network;
                                                   # the last line gives report.html's path
    python -m price_optimization.pipeline compile --image REGISTRY/price-optimization:TAG

Every step is a lightweight Python component whose body calls this package, so the image a
step runs in must contain the package and its requirements (see the Dockerfile). Components
never pip-install at run time (``install_kfp_package=False``): runs work offline, locally and
in air-gapped clusters alike.
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kfp import compiler, dsl
from kfp.dsl import HTML, Dataset, Input, Metrics, Model, Output

PIPELINE_NAME = "price-optimization"
# The local runner executes components in this Python environment; it never pulls the image,
# but warns unless the name says the image has Python.
LOCAL_IMAGE = "python:3.11-slim"


def ingest(source: str, n_products: int, n_weeks: int, seed: int, sales: Output[Dataset]):
    """Weekly sales: from a CSV object in S3 (s3://bucket/key) or the synthetic generator."""
    import io

    import pandas as pd

    from price_optimization import data, storage

    if source == "synthetic":
        frame = data.generate_sales(n_products, n_weeks, seed)
    elif source.startswith("s3://"):
        frame = pd.read_csv(io.BytesIO(storage.read_bytes(source)))
    else:
        raise ValueError(f"source must be 'synthetic' or an s3:// URI, not {source!r}")
    frame.to_csv(sales.path, index=False)
    sales.metadata["rows"] = len(frame)
    sales.metadata["source"] = source


def features(
    sales: Input[Dataset],
    holdout_weeks: int,
    min_price_factor: float,
    max_price_factor: float,
    train: Output[Dataset],
    test: Output[Dataset],
    products: Output[Dataset],
):
    """Clean the sales, hold out the last weeks for testing, tabulate products and bounds."""
    import pandas as pd

    from price_optimization.features import clean_sales, product_table, split_by_time

    cleaned = clean_sales(pd.read_csv(sales.path))
    train_rows, test_rows = split_by_time(cleaned, holdout_weeks)
    train_rows.to_csv(train.path, index=False)
    test_rows.to_csv(test.path, index=False)
    table = product_table(train_rows, min_price_factor, max_price_factor)
    table.to_csv(products.path, index=False)
    train.metadata["rows"] = len(train_rows)
    test.metadata["rows"] = len(test_rows)
    products.metadata["products"] = len(table)


def train_model(train: Input[Dataset], seed: int, n_estimators: int, model: Output[Model]):
    """Fit the XGBoost demand model on the training weeks."""
    import pandas as pd

    from price_optimization.model import train_demand_model

    fitted = train_demand_model(pd.read_csv(train.path), seed=seed, n_estimators=n_estimators)
    fitted.save(model.path)
    model.metadata["framework"] = "xgboost"
    model.metadata["products"] = len(fitted.products)


def evaluate(model: Input[Model], test: Input[Dataset], metrics: Output[Metrics]):
    """Forecast accuracy on the held-out weeks, as KFP metrics."""
    import pandas as pd

    from price_optimization.model import DemandModel
    from price_optimization.model import evaluate as score

    for name, value in score(DemandModel.load(model.path), pd.read_csv(test.path)).items():
        metrics.log_metric(name, value)


def optimize(
    model: Input[Model],
    products: Input[Dataset],
    objective: str,
    prices: Output[Dataset],
    curves: Output[Dataset],
):
    """The revenue- or margin-optimal price of every product within its bounds."""
    import pandas as pd

    from price_optimization.model import DemandModel, demand_curves, optimal_prices

    fitted = DemandModel.load(model.path)
    table = pd.read_csv(products.path, dtype={"product": str})
    optimal_prices(fitted, table, table, objective=objective).to_csv(prices.path, index=False)
    demand_curves(fitted, table, table).to_csv(curves.path, index=False)
    prices.metadata["objective"] = objective


def report(
    prices: Input[Dataset],
    curves: Input[Dataset],
    metrics: Input[Metrics],
    report: Output[HTML],
):
    """An HTML page with the recommended prices and the curves behind them."""
    import pandas as pd

    from price_optimization.report import render_html

    page = render_html(
        pd.read_csv(curves.path, dtype={"product": str}),
        pd.read_csv(prices.path, dtype={"product": str}),
        {k: float(v) for k, v in metrics.metadata.items() if isinstance(v, (int, float))},
    )
    with open(report.path, "w", encoding="utf-8") as out:
        out.write(page)


STEPS = (ingest, features, train_model, evaluate, optimize, report)


def make_pipeline(image: str = LOCAL_IMAGE, s3_secret: str = "") -> Any:
    """The pipeline with every step running in *image*.

    *s3_secret* names a Kubernetes Secret (keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    AWS_ENDPOINT_URL) whose values the ingest step gets as environment variables on the
    platform, for reading sales from Ceph RGW.
    """
    # The KFP SDK's own type hints do not describe components' call signatures: Any.
    ops: dict[str, Any] = {
        step.__name__: dsl.component(step, base_image=image, install_kfp_package=False)
        for step in STEPS
    }

    @dsl.pipeline(
        name=PIPELINE_NAME,
        description="Demand model (XGBoost) and optimal prices per product, with a report.",
    )
    def price_optimization(
        source: str = "synthetic",
        n_products: int = 8,
        n_weeks: int = 156,
        seed: int = 7,
        holdout_weeks: int = 26,
        min_price_factor: float = 0.5,
        max_price_factor: float = 1.5,
        n_estimators: int = 400,
        objective: str = "margin",
    ) -> Dataset:
        ingested = ops["ingest"](
            source=source, n_products=n_products, n_weeks=n_weeks, seed=seed
        ).set_display_name("ingest")
        if s3_secret:
            from kfp import kubernetes

            kubernetes.use_secret_as_env(
                ingested,
                secret_name=s3_secret,
                secret_key_to_env={
                    key: key
                    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL")
                },
            )
        prepared = ops["features"](
            sales=ingested.outputs["sales"],
            holdout_weeks=holdout_weeks,
            min_price_factor=min_price_factor,
            max_price_factor=max_price_factor,
        ).set_display_name("features")
        trained = ops["train_model"](
            train=prepared.outputs["train"], seed=seed, n_estimators=n_estimators
        ).set_display_name("train demand model")
        scored = ops["evaluate"](
            model=trained.outputs["model"], test=prepared.outputs["test"]
        ).set_display_name("evaluate")
        optimized = ops["optimize"](
            model=trained.outputs["model"],
            products=prepared.outputs["products"],
            objective=objective,
        ).set_display_name("optimize prices")
        ops["report"](
            prices=optimized.outputs["prices"],
            curves=optimized.outputs["curves"],
            metrics=scored.outputs["metrics"],
        ).set_display_name("report")
        return optimized.outputs["prices"]  # pyright: ignore[reportReturnType]

    return price_optimization


def compile_pipeline(path: str, image: str, s3_secret: str = "") -> None:
    """Write the pipeline as KFP IR YAML for upload to Kubeflow Pipelines."""
    compiler.Compiler().compile(make_pipeline(image, s3_secret), package_path=path)


def run_locally(output: str, **arguments) -> Any:
    """Run the whole pipeline in this Python environment (kfp.local, subprocess runner).

    Returns the local artifact of the recommended prices; every step's outputs are under
    *output*.
    """
    from kfp import local

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=output)
    package_root = str(Path(__file__).resolve().parent.parent)
    paths = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return make_pipeline()(**arguments)


def main(argv: list[str] | None = None) -> int:
    """Command line: run locally, or compile for the platform."""
    parser = argparse.ArgumentParser(prog="python -m price_optimization.pipeline")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline locally")
    run.add_argument("--output", default="local_outputs", help="where artifacts go")
    run.add_argument("--source", default="synthetic")
    run.add_argument("--n-products", type=int, default=8)
    run.add_argument("--n-weeks", type=int, default=156)
    run.add_argument("--seed", type=int, default=7)
    run.add_argument("--objective", choices=("margin", "revenue"), default="margin")
    build = commands.add_parser("compile", help="write the pipeline YAML for Kubeflow")
    build.add_argument("--image", required=True, help="image with this package installed")
    build.add_argument("--s3-secret", default="", help="Secret with S3 credentials")
    build.add_argument("--output", default="price-optimization.yaml")
    args = parser.parse_args(argv)
    if args.command == "compile":
        compile_pipeline(args.output, args.image, args.s3_secret)
        print(f"wrote {args.output}")
        return 0
    result = run_locally(
        args.output,
        source=args.source,
        n_products=args.n_products,
        n_weeks=args.n_weeks,
        seed=args.seed,
        objective=args.objective,
    )
    import pandas as pd

    from price_optimization.report import headline

    prices = Path(result.outputs["Output"].path)
    page = publish_report(prices.parent.parent)
    print(headline(pd.read_csv(prices, dtype={"product": str})))
    print(f"recommended prices: {prices}")
    print(f"report: {page}")
    return 0


def publish_report(run_dir: Path) -> Path:
    """Copy the report step's artifact to ``<run>/report.html`` and return that path.

    KFP names an output artifact's file after the output (``report/report``), and a browser
    picks the type of a local file from its extension: without one, the page shows as its
    HTML source. On the platform the Kubeflow UI renders the HTML artifact itself.
    """
    page = run_dir / "report.html"
    page.write_bytes((run_dir / "report" / "report").read_bytes())
    return page.resolve()


if __name__ == "__main__":
    sys.exit(main())
