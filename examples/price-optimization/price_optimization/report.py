"""The optimization report: demand and profit curves per product, and the price table."""

from __future__ import annotations

import base64
import html
import io
import math

import pandas as pd


def curves_figure_png(curves: pd.DataFrame, prices: pd.DataFrame) -> bytes:
    """One panel per product: forecast demand (left axis) and revenue/margin (right axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(prices["product"])
    columns = min(4, len(names))
    rows = math.ceil(len(names) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    chosen = prices.set_index("product")
    for ax, name in zip(axes.flat, names, strict=False):
        curve = curves[curves["product"] == name]
        ax.step(curve["price"], curve["model_demand"], where="mid", color="#9ab", label="forecast")
        ax.plot(curve["price"], curve["demand"], color="#1f4e79", label="demand")
        ax.set_title(name)
        ax.set_xlabel("price")
        ax.set_ylabel("units / week")
        money = ax.twinx()
        money.plot(curve["price"], curve["revenue"], color="#c55a11", label="revenue")
        money.plot(curve["price"], curve["margin"], color="#548235", label="margin")
        money.axvline(chosen.loc[name, "optimal_price"], color="black", linestyle="--")
        if ax is axes.flat[0]:
            handles = ax.get_legend_handles_labels()[0] + money.get_legend_handles_labels()[0]
            ax.legend(handles=handles, fontsize="small", loc="upper right")
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


PRICE_COLUMNS = {
    "product": "product",
    "reference_price": "typical price",
    "optimal_price": "recommended price",
    "elasticity": "elasticity",
    "reference_margin": "margin / week now",
    "margin": "margin / week",
    "reference_revenue": "revenue / week now",
    "revenue": "revenue / week",
}


def render_html(
    curves: pd.DataFrame, prices: pd.DataFrame, metrics: dict[str, float] | None = None
) -> str:
    """A self-contained HTML page (the chart is embedded), as KFP's UI shows artifacts."""
    objective = str(prices["objective"].iloc[0]) if "objective" in prices else "margin"
    table = prices[[c for c in PRICE_COLUMNS if c in prices.columns]]
    table.columns = [PRICE_COLUMNS[c] for c in table.columns]
    chart = base64.b64encode(curves_figure_png(curves, prices)).decode()
    metric_rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{v:.4g}</td></tr>" for k, v in (metrics or {}).items()
    )
    uplift = _uplift(prices, objective)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Price optimization</title>
<style>body{{font-family:sans-serif;margin:1.5em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}</style></head>
<body>
<h1>Price optimization ({html.escape(objective)})</h1>
<p id="uplift">Expected weekly {html.escape(objective)} at the recommended prices:
{uplift:+.1%} against the typical prices.</p>
<h2>Recommended prices</h2>
{table.to_html(index=False, float_format=lambda v: f"{v:,.2f}", table_id="prices")}
<h2>Demand model on held-out weeks</h2>
<table id="metrics">{metric_rows}</table>
<h2>Demand and money curves</h2>
<p>Steps: the model's forecast; smooth line: the demand curve fitted to it; dashed: the
recommended price.</p>
<img alt="demand, revenue and margin curves per product" src="data:image/png;base64,{chart}">
</body></html>
"""


def _uplift(prices: pd.DataFrame, objective: str) -> float:
    """Relative change of the objective summed over products, recommended vs typical."""
    now = prices[f"reference_{objective}"].sum()
    return float(prices[objective].sum() / now - 1) if now else float("nan")
