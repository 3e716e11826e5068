"""The example PySpark job on a generated sales CSV, in local mode, against known answers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import sales_aggregation
from sample_data import PRODUCTS, sales_rows, write_sales_csv


@pytest.fixture(scope="module")
def rows() -> list[dict[str, object]]:
    return sales_rows(n_weeks=52, seed=7)


@pytest.fixture(scope="module")
def sales_csv(tmp_path_factory: pytest.TempPathFactory, rows) -> Path:
    return write_sales_csv(tmp_path_factory.mktemp("sales") / "sales.csv", rows)


@pytest.fixture(scope="module")
def summary(spark, sales_csv) -> dict[str, dict]:
    frame = sales_aggregation.weekly_product_summary(
        sales_aggregation.read_sales(spark, str(sales_csv))
    )
    assert tuple(frame.columns) == sales_aggregation.SUMMARY_COLUMNS
    return {r["product"]: r.asDict() for r in frame.collect()}


def test_one_row_per_product_with_exact_totals(summary, rows):
    assert sorted(summary) == [p.name for p in PRODUCTS]
    for name, got in summary.items():
        mine = [r for r in rows if r["product"] == name]
        assert got["weeks"] == 52
        assert got["units"] == sum(r["units"] for r in mine)
        assert math.isclose(got["revenue"], sum(r["revenue"] for r in mine), rel_tol=1e-9)
        assert got["promotion_weeks"] == sum(r["promotion"] for r in mine)
        assert math.isclose(got["mean_price"], sum(r["price"] for r in mine) / 52, rel_tol=1e-9)


def test_recovers_each_products_price_elasticity_and_promotion_lift(summary):
    for product in PRODUCTS:
        got = summary[product.name]
        assert got["price_elasticity"] == pytest.approx(product.elasticity, abs=0.05)
        assert got["promotion_lift"] == pytest.approx(product.promotion_lift, rel=0.02)


def test_promotion_flags_may_be_booleans(spark, tmp_path, rows, summary):
    as_words = [{**r, "promotion": "true" if r["promotion"] else "false"} for r in rows]
    path = write_sales_csv(tmp_path / "words.csv", as_words)
    frame = sales_aggregation.weekly_product_summary(
        sales_aggregation.read_sales(spark, str(path))
    )
    for row in frame.collect():
        assert row["promotion_weeks"] == summary[row["product"]]["promotion_weeks"]
        assert row["promotion_lift"] == pytest.approx(summary[row["product"]]["promotion_lift"])


def test_weeks_without_sales_do_not_count(spark, tmp_path, rows):
    zero = [{**r, "units": 0, "revenue": 0.0} for r in rows if r["product"] == "P003"]
    path = write_sales_csv(tmp_path / "zero.csv", [*rows, *[{**z, "week": 99} for z in zero]])
    frame = sales_aggregation.weekly_product_summary(
        sales_aggregation.read_sales(spark, str(path))
    )
    assert {r["product"]: r["weeks"] for r in frame.collect()}["P003"] == 52


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_main_writes_the_summary_it_prints(spark, sales_csv, tmp_path, capsys, fmt):
    out = tmp_path / f"summary-{fmt}"
    code = sales_aggregation.main(
        ["--input", str(sales_csv), "--output", str(out), "--format", fmt]
    )
    assert code == 0
    assert "summarised 3 products" in capsys.readouterr().out
    reader = spark.read.option("header", True)
    written = reader.parquet(str(out)) if fmt == "parquet" else reader.csv(str(out))
    assert sorted(r["product"] for r in written.collect()) == ["P001", "P002", "P003"]


def test_main_fails_on_an_input_without_sales(spark, tmp_path):
    empty = write_sales_csv(tmp_path / "empty.csv", [])
    assert sales_aggregation.main(["--input", str(empty)]) == 1
