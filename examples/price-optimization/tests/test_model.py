import numpy as np
import pandas as pd
import pytest

from price_optimization.data import expected_units, true_optimal_prices
from price_optimization.model import (
    DemandModel,
    evaluate,
    optimal_prices,
    predict_demand,
    train_demand_model,
)

# The optimizer must land within this fraction of the true optimal price for every product.
PRICE_TOLERANCE = 0.10


def bounds_of(catalog):
    return catalog[["product", "min_price", "max_price"]]


@pytest.mark.parametrize("objective", ["margin", "revenue"])
def test_optimizer_recovers_the_true_optimal_price(model, catalog, objective):
    found = optimal_prices(model, catalog, bounds_of(catalog), objective=objective)
    found = found.set_index("product")["optimal_price"]
    truth = true_optimal_prices(catalog, objective)
    error = (found - truth).abs() / truth
    assert error.max() < PRICE_TOLERANCE, error.to_dict()


def test_recommended_prices_earn_nearly_the_best_possible_margin(model, catalog):
    found = optimal_prices(model, catalog, bounds_of(catalog)).set_index("product")
    truth = true_optimal_prices(catalog, "margin")
    weeks = np.arange(52)
    for i, row in catalog.iterrows():

        def margin(price, i=int(i), cost=row["unit_cost"]):
            return (price - cost) * expected_units(catalog, i, price, 0, weeks).mean()

        achieved = margin(found.loc[row["product"], "optimal_price"])
        assert achieved >= 0.99 * margin(truth[row["product"]])


def test_prices_stay_within_the_given_bounds(model, catalog):
    tight = dict.fromkeys(catalog["product"], (10.0, 10.5))
    found = optimal_prices(model, catalog, tight, objective="revenue")
    assert found["optimal_price"].between(10.0, 10.5).all()
    one_pair = optimal_prices(model, catalog, (12.0, 12.0))
    assert (one_pair["optimal_price"] == 12.0).all()


def test_estimated_elasticity_is_close_to_the_documented_one(model, catalog):
    found = optimal_prices(model, catalog, bounds_of(catalog)).set_index("product")
    sensitivity = (
        -catalog.set_index("product")["elasticity"] / catalog.set_index("product")["ref_price"]
    )
    assert (found["sensitivity"] / sensitivity - 1).abs().max() < 0.15


def test_bad_requests_are_refused(model, catalog):
    with pytest.raises(ValueError, match="objective"):
        optimal_prices(model, catalog, bounds_of(catalog), objective="volume")
    with pytest.raises(ValueError, match="unit_cost"):
        optimal_prices(model, catalog.drop(columns=["unit_cost"]), bounds_of(catalog))
    with pytest.raises(ValueError, match="no price bounds"):
        optimal_prices(model, catalog, {"P001": (1.0, 2.0)})
    with pytest.raises(ValueError, match="invalid price bounds"):
        optimal_prices(model, catalog, (5.0, 4.0))
    with pytest.raises(ValueError, match="units"):
        train_demand_model(
            pd.DataFrame({"week": [0], "product": ["a"], "price": [1.0], "promo": [0]})
        )


def test_forecast_is_accurate_on_held_out_weeks(sales):
    model = train_demand_model(sales[sales["week"] < 130])
    metrics = evaluate(model, sales[sales["week"] >= 130])
    assert metrics["r2"] > 0.9
    assert metrics["wape"] < 0.15


def test_demand_falls_with_price_promotion_lifts_it(model):
    rows = pd.DataFrame(
        {"week": 10, "product": "P001", "price": [10.0, 20.0, 20.0], "promo": [0, 0, 1]}
    )
    cheap, dear, promoted = predict_demand(model, rows)
    assert cheap > dear
    assert promoted > dear


def test_saved_model_predicts_the_same(model, sales, tmp_path):
    path = tmp_path / "model.json"
    model.save(str(path))
    loaded = DemandModel.load(str(path))
    np.testing.assert_allclose(predict_demand(loaded, sales), predict_demand(model, sales))
    assert loaded.products == model.products
