"""Synthetic weekly sales with a known demand curve per product.

Expected weekly units of product *i* in week *w* at price *p* are

    base_i * exp(-b_i * (p - ref_i)) * (1 + lift_i * promo)
           * (1 + amp_i * sin(2*pi*w/52 + phase_i))

so the price elasticity at price *p* is ``-b_i * p``; the catalogue documents it at the
reference price (``elasticity = -b_i * ref_i``). Observed units are Poisson draws around that
expectation. With this log-linear curve both objectives have a closed-form optimum, which is
what lets a test check the optimizer against the truth:

* revenue ``p * q(p)`` peaks at ``p = 1 / b_i``;
* margin ``(p - cost_i) * q(p)`` peaks at ``p = cost_i + 1 / b_i``;

each clipped to the product's allowed price range (both curves are unimodal in *p*).
Promotion and season scale demand without moving the optimal price.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FIRST_WEEK = pd.Timestamp("2023-01-02")
MIN_PRICE_FACTOR = 0.5
MAX_PRICE_FACTOR = 1.5


def product_catalog(n_products: int, seed: int) -> pd.DataFrame:
    """The ground truth behind `generate_sales` with the same seed: one row per product.

    Columns: product, ref_price, elasticity (at ref_price), unit_cost, base_units,
    promo_lift, season_amplitude, season_phase, min_price, max_price.
    """
    if n_products < 1:
        raise ValueError("n_products must be at least 1")
    rng = np.random.default_rng(seed)
    ref_price = np.round(rng.uniform(5.0, 50.0, n_products) * 2) / 2
    return pd.DataFrame(
        {
            "product": [f"P{i + 1:03d}" for i in range(n_products)],
            "ref_price": ref_price,
            "elasticity": np.round(rng.uniform(-2.2, -1.1, n_products), 3),
            "unit_cost": np.round(ref_price * rng.uniform(0.3, 0.55, n_products), 2),
            "base_units": np.round(rng.uniform(80.0, 400.0, n_products)),
            "promo_lift": np.round(rng.uniform(0.2, 0.6, n_products), 3),
            "season_amplitude": np.round(rng.uniform(0.1, 0.35, n_products), 3),
            "season_phase": rng.uniform(0.0, 2 * np.pi, n_products),
            "min_price": np.round(ref_price * MIN_PRICE_FACTOR, 2),
            "max_price": np.round(ref_price * MAX_PRICE_FACTOR, 2),
        }
    )


def price_sensitivity(catalog: pd.DataFrame) -> pd.Series:
    """The decay rate b of each product's demand curve, from its documented elasticity."""
    return -catalog["elasticity"] / catalog["ref_price"]


def expected_units(catalog: pd.DataFrame, product_index: int, price, promo, week):
    """Mean weekly units of one product under the documented demand curve."""
    row = catalog.iloc[product_index]
    b = -row["elasticity"] / row["ref_price"]
    season = 1 + row["season_amplitude"] * np.sin(
        2 * np.pi * np.asarray(week) / 52 + row["season_phase"]
    )
    return (
        row["base_units"]
        * np.exp(-b * (np.asarray(price) - row["ref_price"]))
        * (1 + row["promo_lift"] * np.asarray(promo))
        * season
    )


def true_optimal_prices(catalog: pd.DataFrame, objective: str = "margin") -> pd.Series:
    """The exact optimal price of every product (indexed by product) within its bounds."""
    inverse_b = 1 / price_sensitivity(catalog)
    if objective == "revenue":
        unconstrained = inverse_b
    elif objective == "margin":
        unconstrained = catalog["unit_cost"] + inverse_b
    else:
        raise ValueError(f"objective must be 'revenue' or 'margin', not {objective!r}")
    clipped = unconstrained.clip(catalog["min_price"], catalog["max_price"])
    return pd.Series(clipped.to_numpy(), index=catalog["product"], name="optimal_price")


def generate_sales(n_products: int, n_weeks: int, seed: int) -> pd.DataFrame:
    """Weekly sales of every product: one row per product and week.

    Prices are drawn uniformly within each product's allowed range every week and promotions
    run in about 15% of weeks, independently of price, so the data identify the price effect.
    Columns: week, date, product, price, promo, unit_cost, min_price, max_price, units.
    """
    if n_weeks < 1:
        raise ValueError("n_weeks must be at least 1")
    catalog = product_catalog(n_products, seed)
    rng = np.random.default_rng([seed, 1])
    weeks = np.arange(n_weeks)
    frames = []
    for i, row in catalog.iterrows():
        price = np.round(rng.uniform(row["min_price"], row["max_price"], n_weeks), 2)
        promo = (rng.random(n_weeks) < 0.15).astype(int)
        mean = expected_units(catalog, int(i), price, promo, weeks)  # type: ignore[arg-type]
        frames.append(
            pd.DataFrame(
                {
                    "week": weeks,
                    "date": FIRST_WEEK + pd.to_timedelta(weeks * 7, unit="D"),
                    "product": row["product"],
                    "price": price,
                    "promo": promo,
                    "unit_cost": row["unit_cost"],
                    "min_price": row["min_price"],
                    "max_price": row["max_price"],
                    "units": rng.poisson(mean),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
