"""The report: both money figures in the headline, a chart that fits, a stable page."""

from __future__ import annotations

import re
import struct

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from price_optimization.model import demand_curves, optimal_prices
from price_optimization.report import (
    CHART_MAX_WIDTH_PX,
    curves_figure,
    curves_figure_png,
    headline,
    render_html,
)

METRICS = {"wape": 0.08, "rows": 312.0, "mae": 19.7, "r2": 0.97, "rmse": 26.6}


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (PNG specification, section 11.2.2)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


@pytest.fixture(scope="module")
def planned(model, catalog):
    """Recommended prices and curves of both objectives for the 8 products of the fixture."""
    return {
        objective: (
            optimal_prices(model, catalog, catalog, objective=objective),
            demand_curves(model, catalog, catalog),
        )
        for objective in ("margin", "revenue")
    }


def relative(prices: pd.DataFrame, figure: str) -> float:
    return prices[figure].sum() / prices[f"reference_{figure}"].sum() - 1


@pytest.mark.parametrize("objective", ["margin", "revenue"])
def test_headline_gives_revenue_and_margin_change_whatever_the_objective(planned, objective):
    prices, _ = planned[objective]
    text = headline(prices)
    assert text.startswith(f"Optimized for {objective}:")
    for figure in ("revenue", "margin"):
        assert f"{figure} {relative(prices, figure):+.1%} (" in text


def test_a_revenue_plan_that_costs_margin_says_so(planned):
    prices, _ = planned["revenue"]
    lost = relative(prices, "margin")
    # the synthetic products' revenue optimum lies far below their margin optimum
    assert lost < -0.1
    assert f"This plan gives up {-lost:.1%} of margin for" in headline(prices)
    margin_plan, _ = planned["margin"]
    costs_revenue = relative(margin_plan, "revenue") < -0.005
    assert ("gives up" in headline(margin_plan)) == costs_revenue


def test_margin_is_unknown_rather_than_revenue_without_unit_costs(model, catalog):
    no_costs = catalog.drop(columns=["unit_cost"])
    prices = optimal_prices(model, no_costs, catalog, objective="revenue")
    assert prices["margin"].isna().all()
    text = headline(prices)
    assert "margin unknown (the data have no unit costs)" in text
    assert "gives up" not in text


def test_elasticity_is_read_at_the_typical_price(planned, catalog):
    """The catalogue documents each product's elasticity at its reference price."""
    prices, _ = planned["margin"]
    found = prices.set_index("product")
    documented = catalog.set_index("product")["elasticity"]
    assert (found["elasticity"] / documented - 1).abs().max() < 0.15
    at_optimum = found["elasticity_at_optimum"]
    ratio = found["optimal_price"] / found["reference_price"]
    pd.testing.assert_series_equal(at_optimum, found["elasticity"] * ratio, check_names=False)


def test_chart_fits_a_1280_px_window_and_labels_the_money_axis(planned):
    prices, curves = planned["margin"]
    width, _ = png_size(curves_figure_png(curves, prices))
    assert width <= CHART_MAX_WIDTH_PX < 1280
    fig = curves_figure(curves, prices)
    try:
        labels = {ax.get_ylabel() for ax in fig.axes if ax.get_visible()}
    finally:
        plt.close(fig)
    assert labels == {"units / week", "revenue, margin / week"}


def test_page_is_the_same_whatever_order_products_and_metrics_come_in(planned):
    prices, curves = planned["revenue"]
    page = render_html(curves, prices, METRICS)
    shuffled = prices.sample(frac=1, random_state=3)
    assert list(shuffled["product"]) != sorted(shuffled["product"])
    reordered = dict(reversed(METRICS.items()))
    assert render_html(curves, shuffled, reordered) == page
    rows = re.findall(r"<tr>\s*<td>(P\d+)</td>", page)
    assert rows == sorted(prices["product"])
    metric_order = re.findall(r"<tr><th>([^<]+)</th>", page)
    assert metric_order[0].startswith("mean absolute error")
    assert metric_order[-1] == "held-out product-weeks"


def test_page_shows_the_headline_and_explains_the_elasticity(planned):
    prices, curves = planned["revenue"]
    page = render_html(curves, prices, METRICS)
    assert '<p id="headline">Optimized for revenue:' in page
    assert "gives up" in page
    assert "<th>elasticity at typical price</th>" in page
    assert "fitted demand curve at the product's typical" in page
    assert "img{max-width:100%" in page
