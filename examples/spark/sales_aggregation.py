"""Weekly retail sales per product, summarised with Spark for price optimization.

Input: a CSV (header row) with one row per product and week and the columns
``product, week, price, promotion, units, revenue`` (promotion 1/0 or true/false).
Output: one row per product with the figures a pricing model starts from:

- weeks, units, revenue, mean price, promotion weeks;
- mean weekly units with and without promotion;
- price elasticity: the slope of log(units) on log(price) over weeks without promotion,
  so a promotion's boost is not mistaken for price sensitivity;
- promotion lift: how many times more units a promotion week sells than a regular week at
  the same price (the weeks' units are first brought to a common price with the elasticity,
  since promotion weeks and regular weeks rarely have the same prices).

The same file runs as the main application of a SparkApplication (see sparkapplication.yaml)
and in local mode on a laptop; only the input and output paths differ (file://, s3a://).

    spark-submit sales_aggregation.py --input s3a://bucket/sales.csv --output s3a://bucket/summary
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark convention
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

SALES_SCHEMA = StructType(
    [
        StructField("product", StringType(), nullable=False),
        StructField("week", StringType(), nullable=False),
        StructField("price", DoubleType(), nullable=False),
        StructField("promotion", StringType(), nullable=True),
        StructField("units", DoubleType(), nullable=False),
        StructField("revenue", DoubleType(), nullable=True),
    ]
)
SUMMARY_COLUMNS = (
    "product",
    "weeks",
    "units",
    "revenue",
    "mean_price",
    "promotion_weeks",
    "mean_units_promotion",
    "mean_units_regular",
    "promotion_lift",
    "price_elasticity",
)


def read_sales(spark: SparkSession, path: str) -> DataFrame:
    """The sales CSV with a fixed schema (no inference pass over the data)."""
    return spark.read.csv(path, header=True, schema=SALES_SCHEMA, mode="FAILFAST")


def _on_promotion(column: str = "promotion") -> Column:
    return F.lower(F.trim(F.col(column))).isin("1", "1.0", "true", "yes")


def weekly_product_summary(sales: DataFrame) -> DataFrame:
    """One row per product (see the module docstring); weeks with no units are ignored."""
    sold = (
        sales.where((F.col("units") > 0) & (F.col("price") > 0))
        .withColumn("on_promotion", _on_promotion())
        .withColumn("log_price", F.log("price"))
        .withColumn("log_units", F.log("units"))
    )
    regular = ~F.col("on_promotion")
    regular_log_price = F.when(regular, F.col("log_price"))
    totals = sold.groupBy("product").agg(
        F.countDistinct("week").alias("weeks"),
        F.sum("units").alias("units"),
        F.sum(F.coalesce(F.col("revenue"), F.col("price") * F.col("units"))).alias("revenue"),
        F.avg("price").alias("mean_price"),
        F.sum(F.col("on_promotion").cast("int")).alias("promotion_weeks"),
        F.avg(F.when(F.col("on_promotion"), F.col("units"))).alias("mean_units_promotion"),
        F.avg(F.when(regular, F.col("units"))).alias("mean_units_regular"),
        (
            F.covar_samp(regular_log_price, F.when(regular, F.col("log_units")))
            / F.var_samp(regular_log_price)
        ).alias("price_elasticity"),
    )
    # Units at a common price: log(units) - elasticity * log(price), compared across weeks.
    at_common_price = F.col("log_units") - F.col("price_elasticity") * F.col("log_price")
    lift = (
        sold.join(totals.select("product", "price_elasticity"), "product")
        .groupBy("product")
        .agg(
            F.exp(
                F.avg(F.when(F.col("on_promotion"), at_common_price))
                - F.avg(F.when(~F.col("on_promotion"), at_common_price))
            ).alias("promotion_lift")
        )
    )
    return totals.join(lift, "product").select(*SUMMARY_COLUMNS).orderBy("product")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Input and output locations; paths may be any Hadoop URI (file://, s3a://)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="sales CSV (file://, s3a://, ...)")
    parser.add_argument("--output", help="where to write the summary; printed when omitted")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Summarise the input; exit code 1 when it holds no sales at all."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    spark = SparkSession.builder.appName("weekly-product-summary").getOrCreate()
    summary = weekly_product_summary(read_sales(spark, args.input)).cache()
    products = summary.count()
    if products == 0:
        print(f"no sales in {args.input}", file=sys.stderr)
        return 1
    if args.output:
        writer = summary.coalesce(1).write.mode("overwrite")
        if args.format == "csv":
            writer.option("header", True).csv(args.output)
        else:
            writer.parquet(args.output)
    summary.show(n=50, truncate=False)
    print(f"summarised {products} products")
    return 0


if __name__ == "__main__":
    sys.exit(main())
