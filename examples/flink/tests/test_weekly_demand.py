"""The Flink job on the price-optimization sales, checked against pandas.

One end-to-end run on PyFlink's mini-cluster (file source, CSV sink, checkpoints on the local
filesystem) feeds the numeric checks; the Kafka source is checked up to where Flink needs the
Kafka connector jar, which PyPI's apache-flink does not ship.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sales_events
import weekly_demand

N_PRODUCTS, N_WEEKS = 4, 20
KAFKA_ENV = {
    "KAFKA_BOOTSTRAP_SERVERS": "kafka-k8s-0.kafka-k8s-endpoints.kubeflow.svc.cluster.local:9092",
    "KAFKA_TOPIC": "sales-events",
    "KAFKA_CONSUMER_GROUP_PREFIX": "relation-7-",
    "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_JAAS_CONFIG": (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="relation-7" password="it\'s;a=pass";'
    ),
}


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return sales_events.sales(N_PRODUCTS, N_WEEKS, seed=11)


@pytest.fixture(scope="module")
def run(java, events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory):
    """The job run once, as `python weekly_demand.py --input ... --output ... --checkpoint-dir`."""
    work = tmp_path_factory.mktemp("flink")
    source = sales_events.write_csv(events, work / "events" / "sales.csv")
    output, checkpoints = work / "weekly", work / "checkpoints"
    weekly_demand.main(
        ["--input", str(source), "--output", str(output), "--checkpoint-dir", str(checkpoints)]
    )
    files = [p for p in output.rglob("part-*") if not p.name.startswith(".")]
    frames = [pd.read_csv(p, header=None, names=weekly_demand.RESULT_COLUMNS) for p in files]
    result = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    for column in ("window_start", "window_end"):
        result[column] = pd.to_datetime(result[column])
    return result, checkpoints


def test_every_sale_counts_in_four_windows_and_no_row_is_lost(run, events):
    result, _ = run
    assert len(result) == N_PRODUCTS * (N_WEEKS + 3), "one window per week, plus 3 at the end"
    per_product = result.groupby("product")
    assert (per_product["weeks"].sum() == 4 * N_WEEKS).all()
    assert (
        per_product["units"].sum().to_dict()
        == (4 * events.groupby("product")["units"].sum()).to_dict()
    )
    assert ((result["window_end"] - result["window_start"]) == pd.Timedelta(days=28)).all()


def test_full_windows_equal_a_pandas_rolling_four_week_sum(run, events):
    result, _ = run
    frame = events.assign(revenue=events["price"] * events["units"]).sort_values(["product", "ts"])
    rolling = (
        frame.groupby("product")[["units", "revenue"]]
        .rolling(4)
        .sum()
        .reset_index(level=0)
        .join(frame[["ts"]])
        .dropna()
    )
    full = result[result["weeks"] == 4]
    assert len(full) == len(rolling) == N_PRODUCTS * (N_WEEKS - 3)
    # a window holding weeks w-3..w is the one whose last Monday is w's
    full = full.assign(ts=full["window_end"] - pd.Timedelta(days=3)).copy()
    full["ts"] = full["ts"] - pd.to_timedelta(full["ts"].dt.weekday, unit="D")
    merged = full.merge(rolling, on=["product", "ts"], suffixes=("_flink", "_pandas"))
    assert len(merged) == len(full)
    assert (merged["units_flink"] == merged["units_pandas"]).all()
    assert merged["revenue_flink"].to_numpy() == pytest.approx(merged["revenue_pandas"].to_numpy())


def test_partial_windows_at_both_ends_equal_pandas_sums_by_date(run, events):
    result, _ = run
    partial = result[result["weeks"] < 4]
    assert len(partial) == N_PRODUCTS * 6  # three filling up, three emptying out
    for row in partial.itertuples():
        inside = events[
            (events["product"] == row.product)
            & (events["ts"] >= row.window_start)
            & (events["ts"] < row.window_end)
        ]
        assert row.weeks == len(inside)
        assert row.units == inside["units"].sum()
        assert row.revenue == pytest.approx((inside["price"] * inside["units"]).sum())


def test_checkpoints_go_to_the_local_filesystem(run):
    _, checkpoints = run
    # Flink makes <dir>/<job id>/{shared,taskowned} when checkpointing is on; the CSV sink's
    # files above are committed only by completed checkpoints (the final one included).
    (job,) = [p for p in checkpoints.iterdir() if p.is_dir()]
    assert {p.name for p in job.iterdir()} >= {"shared", "taskowned"}


def test_the_same_query_plans_as_a_hopping_window_aggregate(java, tmp_path: Path, events):
    source = sales_events.write_csv(events, tmp_path / "sales.csv")
    t_env = weekly_demand.table_environment()
    weekly_demand.build(t_env, weekly_demand.file_source_ddl(source.as_uri()))
    plan = t_env.explain_sql(weekly_demand.weekly_demand_query())
    assert "HOP(" in plan.upper() and "WindowAggregate" in plan


def test_kafka_options_come_from_the_poddefault_variables():
    options = weekly_demand.kafka_options(KAFKA_ENV)
    assert options["properties.bootstrap.servers"] == KAFKA_ENV["KAFKA_BOOTSTRAP_SERVERS"]
    assert options["properties.group.id"] == "relation-7-weekly-demand"
    assert options["properties.sasl.jaas.config"] == KAFKA_ENV["KAFKA_SASL_JAAS_CONFIG"]
    assert "properties.ssl.truststore.location" not in options
    tls = weekly_demand.kafka_options(
        {**KAFKA_ENV, "KAFKA_SSL_CA_LOCATION": "/etc/kafka-client/ca.crt"}, bounded=True
    )
    assert tls["properties.ssl.truststore.type"] == "PEM"
    assert tls["scan.bounded.mode"] == "latest-offset"


def test_the_kafka_source_parses_and_stops_only_at_the_missing_connector(java):
    """Flink parses the DDL (quotes in the password survive), then needs the connector jar."""
    t_env = weekly_demand.table_environment()
    t_env.execute_sql(weekly_demand.kafka_source_ddl(KAFKA_ENV))
    shown = t_env.execute_sql("SHOW CREATE TABLE sales").collect()
    ddl = "".join(str(row[0]) for row in shown)
    assert "it''s;a=pass" in ddl, "the password round-trips through Flink's SQL parser"
    with pytest.raises(Exception, match="kafka"):
        t_env.explain_sql(weekly_demand.weekly_demand_query())


def test_a_quote_cannot_end_a_literal():
    assert weekly_demand.literal("a'b") == "'a''b'"


def test_topic_messages_carry_the_source_columns_in_sql_timestamp_form(events):
    """What a producer writes is what the Kafka table (format json, SQL timestamps) reads."""
    import json

    key, value = next(sales_events.json_records(events))
    record = json.loads(value)
    assert set(record) == set(sales_events.COLUMNS)
    assert key == record["product"]
    assert str(pd.Timestamp(record["ts"])) == record["ts"]
