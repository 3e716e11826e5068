"""The optimization report: a headline, the price table, and demand and money curves."""

from __future__ import annotations

import base64
import html
import io
import math
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# The chart is drawn at this many pixels or fewer, so it fits a 1280 px browser window with
# the page's margins and a scroll bar; the page also scales it down in narrower windows.
CHART_MAX_WIDTH_PX = 1200
CHART_DPI = 80
CHART_COLUMNS = 3

PRICE_COLUMNS = {
    "product": "product",
    "unit_cost": "unit cost",
    "reference_price": "typical price",
    "optimal_price": "recommended price",
    "elasticity": "elasticity at typical price",
    "reference_revenue": "revenue / week now",
    "revenue": "revenue / week",
    "reference_margin": "margin / week now",
    "margin": "margin / week",
}
# Metrics of the demand model in this order, with what each one means to a reader.
METRICS = {
    "mae": "mean absolute error (units / week)",
    "rmse": "root mean squared error (units / week)",
    "wape": "weighted absolute percentage error",
    "r2": "R² (share of the variation explained)",
    "rows": "held-out product-weeks",
}


def curves_figure_png(curves: pd.DataFrame, prices: pd.DataFrame) -> bytes:
    """One panel per product: demand (left axis) and weekly revenue and margin (right axis).

    Panels go in product order, three to a row, and the whole figure is at most
    `CHART_MAX_WIDTH_PX` wide. The margin curve is drawn only where the unit cost is known.
    """
    import matplotlib.pyplot as plt

    fig = curves_figure(curves, prices)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=CHART_DPI)
    plt.close(fig)
    return buffer.getvalue()


def curves_figure(curves: pd.DataFrame, prices: pd.DataFrame) -> Figure:
    """The figure behind `curves_figure_png` (close it with matplotlib.pyplot.close)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = prices.sort_values("product").set_index("product")
    names = list(chosen.index)
    columns = min(CHART_COLUMNS, len(names))
    rows = math.ceil(len(names) / columns)
    width = CHART_MAX_WIDTH_PX / CHART_DPI * columns / CHART_COLUMNS
    fig, axes = plt.subplots(
        rows, columns, figsize=(width, 3.4 * rows), squeeze=False, dpi=CHART_DPI
    )
    for ax, name in zip(axes.flat, names, strict=False):
        curve = curves[curves["product"] == name]
        ax.step(curve["price"], curve["model_demand"], where="mid", color="#9ab", label="forecast")
        ax.plot(curve["price"], curve["demand"], color="#1f4e79", label="demand")
        ax.set_title(str(name))
        ax.set_xlabel("price")
        ax.set_ylabel("units / week")
        money = ax.twinx()
        money.plot(curve["price"], curve["revenue"], color="#c55a11", label="revenue")
        if not pd.isna(chosen.loc[name].get("unit_cost", float("nan"))):
            money.plot(curve["price"], curve["margin"], color="#548235", label="margin")
        money.set_ylabel("revenue, margin / week")
        money.axvline(chosen.loc[name, "optimal_price"], color="black", linestyle="--")
        if ax is axes.flat[0]:
            handles = ax.get_legend_handles_labels()[0] + money.get_legend_handles_labels()[0]
            ax.legend(handles=handles, fontsize="small", loc="upper right")
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def change(prices: pd.DataFrame, figure: str) -> tuple[float, float, float]:
    """Weekly *figure* (revenue or margin) summed over products: (now, recommended, change).

    NaN when any product lacks the figure (margin without unit costs), so a partial sum is
    never shown as the total.
    """
    now = prices[f"reference_{figure}"]
    then = prices[figure]
    if now.isna().any() or then.isna().any():
        return math.nan, math.nan, math.nan
    total_now, total_then = float(now.sum()), float(then.sum())
    return total_now, total_then, (total_then / total_now - 1) if total_now else math.nan


def headline(prices: pd.DataFrame) -> str:
    """One sentence with both money figures, whatever the objective, in plain text.

    Optimizing one figure can cost the other (a revenue-optimal price is lower than the
    margin-optimal one and gives margin away): the reader must see both before acting.
    """
    objective = str(prices["objective"].iloc[0]) if "objective" in prices else "margin"
    parts = []
    for figure in ("revenue", "margin"):
        now, then, relative = change(prices, figure)
        if math.isnan(relative):
            parts.append(f"{figure} unknown (the data have no unit costs)")
        else:
            parts.append(f"{figure} {relative:+.1%} ({now:,.0f} → {then:,.0f})")
    text = (
        f"Optimized for {objective}: at the recommended prices weekly {parts[0]} and "
        f"{parts[1]}, against the typical prices."
    )
    other = "margin" if objective == "revenue" else "revenue"
    lost = change(prices, other)[2]
    if not math.isnan(lost) and lost < -0.005:
        gained = change(prices, objective)[2]
        text += f" This plan gives up {-lost:.1%} of {other} for {gained:.1%} more {objective}."
    return text


def render_html(
    curves: pd.DataFrame, prices: pd.DataFrame, metrics: dict[str, float] | None = None
) -> str:
    """A self-contained HTML page (the chart is embedded), as KFP's UI shows artifacts.

    Rows are in product order and metrics in `METRICS` order, so two reports of the same
    run read the same.
    """
    objective = str(prices["objective"].iloc[0]) if "objective" in prices else "margin"
    ordered = prices.sort_values("product")
    table = ordered[[c for c in PRICE_COLUMNS if c in ordered.columns]]
    table.columns = [PRICE_COLUMNS[c] for c in table.columns]
    chart = base64.b64encode(curves_figure_png(curves, ordered)).decode()
    known = metrics or {}
    metric_rows = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{known[key]:.4g}</td></tr>"
        for key, label in METRICS.items()
        if key in known
    )
    price_table = table.to_html(
        index=False, float_format=lambda v: f"{v:,.2f}", table_id="prices", na_rep="unknown"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Price optimization ({html.escape(objective)})</title>
<style>body{{font-family:sans-serif;margin:1.5em;max-width:1200px}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}
img{{max-width:100%;height:auto}}#headline{{font-size:1.15em}}</style></head>
<body>
<h1>Price optimization ({html.escape(objective)})</h1>
<p id="headline">{html.escape(headline(prices))}</p>
<h2>Recommended prices</h2>
{price_table}
<p>Elasticity: the percentage change of weekly units for a 1% price rise, read off the
fitted demand curve at the product's typical (median historical) price. Money columns are
per week, without promotion, averaged over a year.</p>
<h2>Demand model on held-out weeks</h2>
<table id="metrics">{metric_rows}</table>
<h2>Demand and money curves</h2>
<p>Steps: the model's forecast; smooth line: the demand curve fitted to it (left axis, units
per week); revenue and margin per week on the right axis; dashed: the recommended price.</p>
<img alt="demand, revenue and margin curves per product" src="data:image/png;base64,{chart}">
</body></html>
"""
