"""The price-optimization case's weekly sales as events for the Flink job.

One event per product and week, as a till system would publish them: the product, the
event time (the Monday the week starts), the price and the units sold. The numbers are the
case's own synthetic data (examples/price-optimization, `price_optimization.data`), so the
Flink job's rolling figures can be checked against pandas on the same rows.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

PRICING = Path(__file__).resolve().parent.parent / "price-optimization"
COLUMNS = ("product", "ts", "price", "units")


def sales(n_products: int = 5, n_weeks: int = 30, seed: int = 7) -> pd.DataFrame:
    """The case's sales with the columns the job reads (ts as a pandas Timestamp)."""
    if str(PRICING) not in sys.path:
        sys.path.insert(0, str(PRICING))
    from price_optimization.data import generate_sales

    frame = generate_sales(n_products, n_weeks, seed)
    return pd.DataFrame(frame.rename(columns={"date": "ts"})[list(COLUMNS)])


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Events as the job's file source reads them: CSV without header, in time order.

    One file is one source split: its watermark follows the rows, so a week of one product
    after a later week of another would be late and dropped. A till system publishes in time
    order; on Kafka, each partition (products by key) keeps its own watermark.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = frame.sort_values(["ts", "product"], kind="stable")
    out = frame.assign(ts=frame["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    out.to_csv(path, header=False, index=False)
    return path


def json_records(frame: pd.DataFrame) -> Iterator[tuple[str, str]]:
    """(key, value) messages as a producer writes them to the Kafka topic (key: product)."""
    for row in frame.to_dict("records"):
        value = {
            "product": str(row["product"]),
            "ts": str(pd.Timestamp(row["ts"])),
            "price": float(row["price"]),
            "units": int(row["units"]),
        }
        yield value["product"], json.dumps(value)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "events/sales.csv")
    print(write_csv(sales(), target))
