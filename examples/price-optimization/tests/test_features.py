import numpy as np
import pandas as pd
import pytest

from price_optimization.features import (
    build_features,
    clean_sales,
    product_table,
    reference_prices,
    split_by_time,
)


def test_weeks_are_counted_from_dates_and_bad_rows_dropped():
    raw = pd.DataFrame(
        {
            "date": ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"],
            "product": [101, 101, 101, 101],
            "price": [2.0, -1.0, 2.5, None],
            "units": [10, 11, 12, 13],
        }
    )
    cleaned = clean_sales(raw)
    assert cleaned["week"].tolist() == [0, 2]
    assert cleaned["product"].tolist() == ["101", "101"]
    assert cleaned["promo"].tolist() == [0, 0]


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="'week' or a 'date'"):
        clean_sales(pd.DataFrame({"product": ["a"], "price": [1.0], "units": [1]}))
    with pytest.raises(ValueError, match="units"):
        clean_sales(pd.DataFrame({"week": [0], "product": ["a"], "price": [1.0]}))


def test_split_keeps_the_last_weeks_for_testing(sales):
    train, test = split_by_time(sales, 26)
    assert train["week"].max() < test["week"].min()
    assert test["week"].nunique() == 26
    with pytest.raises(ValueError, match="holdout_weeks"):
        split_by_time(sales, 0)


def test_bounds_come_from_the_data_or_from_factors(sales):
    from_data = product_table(sales)
    first = sales[sales["product"] == "P001"].iloc[0]
    row = from_data.set_index("product").loc["P001"]
    assert row["min_price"] == first["min_price"]
    assert row["unit_cost"] == first["unit_cost"]
    by_factor = product_table(
        sales.drop(columns=["min_price", "max_price", "unit_cost"]), 0.8, 1.2
    )
    row = by_factor.set_index("product").loc["P001"]
    assert row["min_price"] == pytest.approx(0.8 * row["reference_price"], abs=0.01)
    assert row["max_price"] == pytest.approx(1.2 * row["reference_price"], abs=0.01)
    assert np.isnan(row["unit_cost"])


def test_features_know_unknown_products_and_wrap_seasons(sales):
    references = reference_prices(sales)
    rows = pd.DataFrame(
        {"week": [0, 52], "product": ["P001", "P001"], "price": [5.0, 5.0], "promo": [0, 0]}
    )
    features = build_features(rows, references)
    assert features.iloc[0]["season_sin"] == pytest.approx(features.iloc[1]["season_sin"])
    with pytest.raises(ValueError, match="no sales history"):
        build_features(rows.assign(product="X"), references)
