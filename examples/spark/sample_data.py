"""A small sales CSV with known answers, for tests of sales_aggregation (no dependencies).

Weekly units follow ``base * price**elasticity * lift**promotion`` with a little noise, so the
job's price elasticity and promotion lift can be checked against the numbers used here.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("product", "week", "price", "promotion", "units", "revenue")


@dataclass(frozen=True)
class Product:
    """Ground truth of one product's demand."""

    name: str
    base: float
    ref_price: float
    elasticity: float
    promotion_lift: float


PRODUCTS = (
    Product("P001", 40000.0, 10.0, -2.0, 1.3),
    Product("P002", 90000.0, 25.0, -1.2, 1.5),
    Product("P003", 15000.0, 4.0, -0.8, 1.1),
)


def sales_rows(n_weeks: int = 52, seed: int = 7) -> list[dict[str, object]]:
    """Rows of the CSV: one per product and week."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    rows = []
    for product in PRODUCTS:
        for week in range(1, n_weeks + 1):
            price = round(product.ref_price * rng.uniform(0.7, 1.3), 2)
            promotion = 1 if rng.random() < 0.3 else 0
            mean = product.base * price**product.elasticity * product.promotion_lift**promotion
            units = max(1, round(mean * rng.uniform(0.97, 1.03)))
            rows.append(
                {
                    "product": product.name,
                    "week": week,
                    "price": price,
                    "promotion": promotion,
                    "units": units,
                    "revenue": round(price * units, 2),
                }
            )
    return rows


def write_sales_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    """Write `rows` as the job's input CSV."""
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path
