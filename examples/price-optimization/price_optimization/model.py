"""The demand model (XGBoost, Poisson) and the price optimizer built on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xgboost as xgb

from price_optimization.features import FEATURES, MONOTONE, build_features, reference_prices

OBJECTIVES = ("margin", "revenue")
PRICE_GRID_POINTS = 201


@dataclass
class DemandModel:
    """A fitted booster together with what it needs to build features for new rows."""

    booster: xgb.Booster
    references: pd.Series
    products: list[str] = field(default_factory=list)

    def save(self, path: str) -> None:
        """Write the model as one JSON file (booster, reference prices, products)."""
        import json

        raw = bytearray(self.booster.save_raw("json")).decode()
        document = {
            "booster": json.loads(raw),
            "references": {str(k): float(v) for k, v in self.references.items()},
            "products": self.products,
        }
        with open(path, "w", encoding="utf-8") as out:
            json.dump(document, out)

    @classmethod
    def load(cls, path: str) -> DemandModel:
        """Read a model written by `save`."""
        import json

        with open(path, encoding="utf-8") as src:
            document = json.load(src)
        booster = xgb.Booster()
        booster.load_model(bytearray(json.dumps(document["booster"]).encode()))
        references = pd.Series(document["references"], name="reference_price", dtype=float)
        return cls(booster=booster, references=references, products=document["products"])


def train_demand_model(df: pd.DataFrame, seed: int = 0, n_estimators: int = 400) -> DemandModel:
    """Fit weekly units on price, promotion, season and product.

    A Poisson objective (log link) matches how demand responds: effects multiply, and counts
    are never negative.
    """
    if "units" not in df.columns:
        raise ValueError("sales data lack the 'units' column to learn from")
    references = reference_prices(df)
    products = sorted(references.index)
    features = build_features(df, references, products)
    params = {
        "objective": "count:poisson",
        "learning_rate": 0.05,
        "max_depth": 4,
        "subsample": 0.9,
        "tree_method": "hist",
        "max_cat_to_onehot": 1,
        "monotone_constraints": "(" + ",".join(str(MONOTONE.get(n, 0)) for n in FEATURES) + ")",
        "seed": seed,
        "nthread": 2,
    }
    matrix = xgb.DMatrix(
        features, label=df["units"].to_numpy(dtype=float), enable_categorical=True
    )
    booster = xgb.train(params, matrix, num_boost_round=n_estimators)
    return DemandModel(booster=booster, references=references, products=products)


def predict_demand(model: DemandModel, df: pd.DataFrame) -> np.ndarray:
    """Expected weekly units for each row of *df* (week, product, price, promo)."""
    features = build_features(df, model.references, model.products)
    return model.booster.predict(xgb.DMatrix(features, enable_categorical=True))


def evaluate(model: DemandModel, df: pd.DataFrame) -> dict[str, float]:
    """Accuracy of the demand forecast on held-out rows."""
    actual = df["units"].to_numpy(dtype=float)
    predicted = predict_demand(model, df)
    error = predicted - actual
    total = np.abs(actual).sum()
    ss_res = float(np.sum(error**2))
    ss_tot = float(np.sum((actual - actual.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "wape": float(np.abs(error).sum() / total) if total else float("nan"),
        "r2": 1 - ss_res / ss_tot if ss_tot else float("nan"),
        "rows": float(len(df)),
    }


def _bounds_table(products: pd.DataFrame, bounds) -> pd.DataFrame:
    """Allowed (min_price, max_price) per product from any of the accepted forms."""
    names = products["product"].tolist()
    if isinstance(bounds, pd.DataFrame):
        table = (
            bounds.set_index("product")[["min_price", "max_price"]]
            if ("product" in bounds.columns)
            else bounds[["min_price", "max_price"]]
        )
    elif isinstance(bounds, Mapping):
        table = pd.DataFrame.from_dict(
            {k: tuple(v) for k, v in bounds.items()},
            orient="index",
            columns=["min_price", "max_price"],
        )
    else:
        low, high = bounds
        table = pd.DataFrame({"min_price": low, "max_price": high}, index=names)
    missing = set(names) - set(table.index)
    if missing:
        raise ValueError(f"no price bounds for products: {', '.join(sorted(missing))}")
    table = table.loc[names].astype(float)
    bad = table[~(table["min_price"] > 0) | ~(table["max_price"] >= table["min_price"])]
    if not bad.empty:
        raise ValueError(f"invalid price bounds for products: {', '.join(map(str, bad.index))}")
    return table


def demand_curves(
    model: DemandModel,
    products: pd.DataFrame,
    bounds,
    points: int = PRICE_GRID_POINTS,
) -> pd.DataFrame:
    """Expected weekly demand, revenue and margin over a price grid for each product.

    ``model_demand`` is the booster's forecast averaged over the 52 weeks of a year without
    promotion. Trees forecast in steps, and near its peak a revenue or margin curve is flat,
    so the argmax of a step function lands wherever a step happens to fall. The optimizer
    therefore works on ``demand``: a semi-log curve ``exp(a - b * price)`` fitted by least
    squares to the forecast over the whole allowed range, whose slope ``b`` is the product's
    price sensitivity as the model sees it. Revenue and margin are computed from it.
    """
    table = _bounds_table(products, bounds)
    costs = _unit_costs(products)
    weeks = np.arange(52)
    frames = []
    for name, (low, high) in table.iterrows():
        grid = np.linspace(low, high, points)
        rows = pd.DataFrame(
            {
                "week": np.tile(weeks, points),
                "product": name,
                "price": np.repeat(grid, len(weeks)),
                "promo": 0,
            }
        )
        forecast = predict_demand(model, rows).reshape(points, len(weeks)).mean(axis=1)
        intercept, sensitivity = fit_price_response(grid, forecast)
        demand = np.exp(intercept - sensitivity * grid)
        frames.append(
            pd.DataFrame(
                {
                    "product": name,
                    "price": grid,
                    "model_demand": forecast,
                    "demand": demand,
                    "revenue": grid * demand,
                    "margin": (grid - costs.get(str(name), 0.0)) * demand,
                    "sensitivity": sensitivity,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def fit_price_response(prices: np.ndarray, demand: np.ndarray) -> tuple[float, float]:
    """Least-squares fit of log demand = a - b * price; returns (a, b), b never negative.

    A flat forecast (no price effect learned) gives b = 0: then revenue grows with price and
    the optimizer goes to the upper bound, which is what the data support.
    """
    if len(prices) < 2 or np.ptp(prices) == 0:
        return float(np.log(max(float(np.mean(demand)), 1e-9))), 0.0
    logs = np.log(np.maximum(demand, 1e-9))
    slope, intercept = np.polyfit(prices, logs, 1)
    if slope > 0:
        return float(np.mean(logs)), 0.0
    return float(intercept), float(-slope)


def _unit_costs(products: pd.DataFrame) -> dict[str, float]:
    """Unit cost per product, where the data give one (callers decide what a missing one means)."""
    if "unit_cost" not in products.columns:
        return {}
    return {
        str(k): float(v) for k, v in zip(products["product"], products["unit_cost"], strict=True)
    }


def optimal_prices(
    model: DemandModel,
    products: pd.DataFrame,
    bounds,
    objective: str = "margin",
    points: int = PRICE_GRID_POINTS,
) -> pd.DataFrame:
    """The price that maximises *objective* for every product, within its bounds.

    Args:
        model: a model from `train_demand_model`.
        products: one row per product: column ``product`` and, for the margin objective,
            ``unit_cost``.
        bounds: allowed prices: a DataFrame with ``min_price``/``max_price`` (and
            ``product``, or indexed by product), a mapping product -> (min, max), or one
            (min, max) pair for all products.
        objective: ``"margin"`` (price minus unit cost, times demand) or ``"revenue"``.
        points: size of the price grid searched per product.

    Returns:
        One row per product, sorted by product: product, optimal_price, demand, revenue,
        margin (weekly, at that price), unit_cost, the fitted curve's sensitivity ``b`` and
        its elasticity ``-b * price`` at the typical price (``elasticity``, the figure a
        pricing team quotes, and the one the synthetic catalogue documents) and at the
        recommended price (``elasticity_at_optimum``), and demand, revenue and margin at
        the product's typical historical price for comparison. Margins are NaN where the
        unit cost is unknown (revenue objective only), rather than revenue passed off as
        margin.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, not {objective!r}")
    if objective == "margin" and (
        "unit_cost" not in products.columns or products["unit_cost"].isna().any()
    ):
        raise ValueError("the margin objective needs the unit_cost of every product")
    curves = demand_curves(model, products, bounds, points)
    best = curves.loc[curves.groupby("product", sort=False)[objective].idxmax()]
    best = best.rename(columns={"price": "optimal_price"}).set_index("product")
    best = best.drop(columns=["model_demand"])
    costs = _unit_costs(products)
    current = _at_reference_price(model, best, costs)
    result = best.join(current)
    result["unit_cost"] = [costs.get(str(name), np.nan) for name in result.index]
    result["elasticity"] = -result["sensitivity"] * result["reference_price"]
    result["elasticity_at_optimum"] = -result["sensitivity"] * result["optimal_price"]
    unknown_cost = result["unit_cost"].isna()
    result.loc[unknown_cost, ["margin", "reference_margin"]] = np.nan
    result = result.sort_index().reset_index()
    result["objective"] = objective
    return result


def _at_reference_price(model: DemandModel, best: pd.DataFrame, costs: dict[str, float]):
    """Demand, revenue and margin at each product's typical historical price.

    Read off the same fitted curve as the optimum, so the two rows compare like with like.
    """
    reference = model.references.reindex(best.index)
    demand = best["demand"] * np.exp(-best["sensitivity"] * (reference - best["optimal_price"]))
    cost = pd.Series([costs.get(str(n), 0.0) for n in best.index], index=best.index)
    return pd.DataFrame(
        {
            "reference_price": reference,
            "reference_demand": demand,
            "reference_revenue": reference * demand,
            "reference_margin": (reference - cost) * demand,
        }
    )
