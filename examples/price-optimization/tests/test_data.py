import numpy as np
import pandas as pd
import pytest

from price_optimization.data import (
    expected_units,
    generate_sales,
    product_catalog,
    true_optimal_prices,
)


def test_same_seed_same_data_other_seed_other_data():
    first = generate_sales(3, 20, seed=1)
    pd.testing.assert_frame_equal(first, generate_sales(3, 20, seed=1))
    assert not first["units"].equals(generate_sales(3, 20, seed=2)["units"])


def test_one_row_per_product_and_week_with_prices_inside_bounds():
    sales = generate_sales(4, 30, seed=3)
    assert len(sales) == 4 * 30
    assert not sales.duplicated(["product", "week"]).any()
    assert (sales["price"] >= sales["min_price"]).all()
    assert (sales["price"] <= sales["max_price"]).all()
    assert set(sales["promo"]) <= {0, 1}
    assert (sales["units"] >= 0).all()


def test_documented_elasticity_is_what_the_data_show(catalog, sales):
    """Regressing log units on price, per product, recovers the documented curve."""
    for i, row in catalog.iterrows():
        rows = sales[(sales["product"] == row["product"]) & (sales["promo"] == 0)]
        season = expected_units(catalog, int(i), row["ref_price"], 0, rows["week"])  # type: ignore[arg-type]
        slope = np.polyfit(rows["price"], np.log(rows["units"] / season), 1)[0]
        measured_elasticity = slope * row["ref_price"]
        assert measured_elasticity == pytest.approx(row["elasticity"], abs=0.15)


@pytest.mark.parametrize("objective", ["margin", "revenue"])
def test_true_optimum_is_the_best_price_on_a_fine_grid(catalog, objective):
    truth = true_optimal_prices(catalog, objective)
    for i, row in catalog.iterrows():
        grid = np.linspace(row["min_price"], row["max_price"], 20001)
        cost = row["unit_cost"] if objective == "margin" else 0.0
        value = (grid - cost) * expected_units(catalog, int(i), grid, 0, 10)  # type: ignore[arg-type]
        assert truth[row["product"]] == pytest.approx(grid[np.argmax(value)], rel=1e-3)


def test_optimal_prices_lie_inside_bounds_and_some_are_interior(catalog):
    for objective in ("margin", "revenue"):
        truth = true_optimal_prices(catalog, objective).to_numpy()
        assert (truth >= catalog["min_price"].to_numpy()).all()
        assert (truth <= catalog["max_price"].to_numpy()).all()
    margin = true_optimal_prices(catalog, "margin").to_numpy()
    assert ((margin > catalog["min_price"]) & (margin < catalog["max_price"])).all()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="n_products"):
        product_catalog(0, 1)
    with pytest.raises(ValueError, match="n_weeks"):
        generate_sales(2, 0, 1)
    with pytest.raises(ValueError, match="objective"):
        true_optimal_prices(product_catalog(2, 1), "volume")
