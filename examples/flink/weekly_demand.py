"""Rolling four-week demand and revenue per product, a PyFlink Table API job.

Every week, for each product, the units sold and the revenue (price x units) of the last four
weeks: a hopping event-time window of 28 days that advances by 7 days, so each sale counts in
four consecutive windows. The source is a CSV file or directory (local runs, tests, or an
s3:// path on the platform) or a Kafka topic (the platform's sales events, credentials from the
`access-kafka` PodDefault); the sink is the console or CSV files.

    python weekly_demand.py --input events/sales.csv --checkpoint-dir /tmp/flink-checkpoints
    python weekly_demand.py --source kafka --output s3://flink/weekly-demand/   # in the cluster

Checkpoints go to `--checkpoint-dir` (file:// locally, s3:// on the platform, where the
FlinkDeployment sets it), so a restarted job resumes from the last completed checkpoint.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

WINDOW_DAYS = 28
SLIDE_DAYS = 7
SOURCE_TABLE = "sales"
SINK_TABLE = "weekly_demand"
SCHEMA = """
    product STRING,
    ts TIMESTAMP(3),
    price DOUBLE,
    units BIGINT,
    -- one event per product and week, in order per product: a week's lateness is enough
    WATERMARK FOR ts AS ts - INTERVAL '7' DAY
"""
RESULT_COLUMNS = ("product", "window_start", "window_end", "weeks", "units", "revenue")


def literal(value: str) -> str:
    """A SQL string literal: single quotes doubled, so no value can end the literal."""
    return "'" + value.replace("'", "''") + "'"


def _with(options: Mapping[str, str]) -> str:
    return ",\n".join(f"    {literal(k)} = {literal(v)}" for k, v in options.items())


def file_source_ddl(path: str) -> str:
    """CSV events from a file or directory (file://, or s3:// with Flink's S3 plugin)."""
    options = {"connector": "filesystem", "path": path, "format": "csv"}
    return f"CREATE TABLE {SOURCE_TABLE} ({SCHEMA}) WITH (\n{_with(options)}\n)"


def kafka_options(env: Mapping[str, str], *, bounded: bool = False) -> dict[str, str]:
    """Flink's Kafka connector options from the variables of the `access-kafka` PodDefault.

    Option names: Flink's Kafka SQL connector (apache/flink-connector-kafka docs
    content/docs/connectors/table/kafka.md): `properties.*` go to the Kafka client as they are.
    """
    options = {
        "connector": "kafka",
        "topic": env["KAFKA_TOPIC"],
        "properties.bootstrap.servers": env["KAFKA_BOOTSTRAP_SERVERS"],
        "properties.group.id": env.get("KAFKA_CONSUMER_GROUP_PREFIX", "") + "weekly-demand",
        "properties.security.protocol": env.get("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
        "properties.sasl.mechanism": env.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
        "properties.sasl.jaas.config": env["KAFKA_SASL_JAAS_CONFIG"],
        "scan.startup.mode": "earliest-offset",
        "format": "json",
        "json.timestamp-format.standard": "SQL",
    }
    if env.get("KAFKA_SSL_CA_LOCATION"):
        options["properties.ssl.truststore.type"] = "PEM"
        options["properties.ssl.truststore.location"] = env["KAFKA_SSL_CA_LOCATION"]
    if bounded:
        # stop at the offsets the topic has when the job starts (a batch-like run)
        options["scan.bounded.mode"] = "latest-offset"
    return options


def kafka_source_ddl(env: Mapping[str, str], *, bounded: bool = False) -> str:
    """The same events from the profile's Kafka topic (JSON values)."""
    options = kafka_options(env, bounded=bounded)
    return f"CREATE TABLE {SOURCE_TABLE} ({SCHEMA}) WITH (\n{_with(options)}\n)"


def csv_sink_ddl(path: str) -> str:
    """The results as CSV files (one directory per run; rolled on checkpoints)."""
    columns = (
        "product STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3), "
        "`weeks` BIGINT, units BIGINT, revenue DOUBLE"
    )
    options = {"connector": "filesystem", "path": path, "format": "csv"}
    return f"CREATE TABLE {SINK_TABLE} ({columns}) WITH (\n{_with(options)}\n)"


def weekly_demand_query(source: str = SOURCE_TABLE) -> str:
    """Units and revenue per product over each 28-day window, every 7 days."""
    # `source` is a table name of this module, not input: no injection here
    return f"""
        SELECT product, window_start, window_end,
               COUNT(*) AS `weeks`,
               SUM(units) AS units,
               SUM(price * units) AS revenue
        FROM TABLE(HOP(TABLE {source}, DESCRIPTOR(ts),
                       INTERVAL '{SLIDE_DAYS}' DAY, INTERVAL '{WINDOW_DAYS}' DAY))
        GROUP BY product, window_start, window_end
    """  # noqa: S608


def table_environment(
    checkpoint_dir: str | None = None, *, parallelism: int = 1, interval_ms: int = 500
) -> Any:
    """A streaming TableEnvironment; checkpoints every `interval_ms` into `checkpoint_dir`.

    Keys: Flink 2.x CheckpointingOptions (execution.checkpointing.interval / .dir).
    """
    from pyflink.table import EnvironmentSettings, TableEnvironment

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = t_env.get_config()
    config.set("parallelism.default", str(parallelism))
    config.set("table.local-time-zone", "UTC")
    if checkpoint_dir:
        config.set("execution.checkpointing.interval", f"{interval_ms} ms")
        config.set("execution.checkpointing.dir", checkpoint_dir)
        config.set("execution.checkpointing.savepoint-dir", checkpoint_dir.rstrip("/") + "-sp")
    return t_env


def build(t_env: Any, source_ddl: str) -> Any:
    """Register the source and return the result table (nothing runs yet)."""
    t_env.execute_sql(f"DROP TABLE IF EXISTS {SOURCE_TABLE}")
    t_env.execute_sql(source_ddl)
    return t_env.sql_query(weekly_demand_query())


def file_uri(path: str) -> str:
    """Local paths as file:// URIs; URIs (s3://, file://) unchanged."""
    return path if "://" in path else Path(path).resolve().as_uri()


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; the FlinkDeployment's job args go through it too."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--source", choices=("file", "kafka"), default="file")
    parser.add_argument("--input", help="CSV file or directory (source file)")
    parser.add_argument("--bounded", action="store_true", help="Kafka: stop at today's end")
    parser.add_argument("--output", help="directory for CSV results (default: print them)")
    parser.add_argument("--checkpoint-dir", default=os.environ.get("CHECKPOINT_DIR"))
    parser.add_argument("--parallelism", type=int, default=1)
    args = parser.parse_args(argv)
    if args.source == "file" and not args.input:
        parser.error("--input is required with --source file")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Build the job from the arguments and run it until the source ends (or forever)."""
    args = parse(argv)
    checkpoints = file_uri(args.checkpoint_dir) if args.checkpoint_dir else None
    t_env = table_environment(checkpoints, parallelism=args.parallelism)
    if args.source == "kafka":
        ddl = kafka_source_ddl(os.environ, bounded=args.bounded)
    else:
        ddl = file_source_ddl(file_uri(args.input))
    result = build(t_env, ddl)
    if args.output:
        t_env.execute_sql(csv_sink_ddl(file_uri(args.output)))
        result.execute_insert(SINK_TABLE).wait()
    else:
        result.execute().print()


if __name__ == "__main__":
    main()
