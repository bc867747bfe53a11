"""`seg run` / `explain` on the BigQuery emulator with the column types BigQuery tables
usually have (issue 22.4, 22.5): TIMESTAMP event times declared without a type, a table
partitioned by its time. The emulator answers the INFORMATION_SCHEMA.COLUMNS query (types
and the partitioning column) and runs the SQL on DuckDB; BigQuery's own semantics for
these queries are proven on GoogleSQL in tests/test_warehouse_types.py.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from segdsl.cli.main import app
from segdsl.engines import connect
from segdsl.engines.bigquery_engine import BigQueryEngine
from tests.engines.bqemu import Emulator

pytestmark = pytest.mark.bigquery_emulator
ROOT = Path(__file__).resolve().parents[2]
MODEL = """segdsl 1
entity customer from customers {
  key id
  time signed_up_at
}
table orders from orders {
  link customer_id to customer
  time ordered_at
  amount: money
}
segment recent_buyers = exists orders during last 30d
segment big_spenders = sum(amount) of orders during last 90d >= 100
"""


@pytest.fixture(scope="module")
def dataset(bq_emulator: Emulator) -> Iterator[str]:
    """customers (TIMESTAMP signed_up_at) and orders (TIMESTAMP ordered_at, partitioned
    by it): customer 1 ordered 10 days and customer 2 60 days before 2025-07-01."""
    client = bigquery.Client(
        project=bq_emulator.project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=bq_emulator.endpoint),
    )
    name = f"segdsl_{uuid.uuid4().hex[:8]}"
    client.create_dataset(name)
    customers = bigquery.Table(
        f"{bq_emulator.project}.{name}.customers",
        schema=[
            bigquery.SchemaField("id", "INT64"),
            bigquery.SchemaField("signed_up_at", "TIMESTAMP"),
        ],
    )
    client.create_table(customers)
    orders = bigquery.Table(
        f"{bq_emulator.project}.{name}.orders",
        schema=[
            bigquery.SchemaField("customer_id", "INT64"),
            bigquery.SchemaField("ordered_at", "TIMESTAMP"),
            bigquery.SchemaField("amount", "NUMERIC"),
        ],
    )
    orders.time_partitioning = bigquery.TimePartitioning(field="ordered_at")
    client.create_table(orders)
    client.query(
        f"INSERT INTO {name}.customers (id, signed_up_at) VALUES "
        "(1, TIMESTAMP '2024-01-01 00:00:00+00'), (2, TIMESTAMP '2024-01-01 00:00:00+00'), "
        "(3, TIMESTAMP '2024-01-01 00:00:00+00')"
    ).result()
    client.query(
        f"INSERT INTO {name}.orders (customer_id, ordered_at, amount) VALUES "
        "(1, TIMESTAMP '2025-06-21 12:00:00+00', 20), "
        "(2, TIMESTAMP '2025-05-02 12:00:00+00', 150)"
    ).result()
    try:
        yield name
    finally:
        client.delete_dataset(name, delete_contents=True, not_found_ok=True)
        client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "seg.toml").write_text('dialect = "bigquery"\nas_of = "2025-07-01"\n')
    (tmp_path / "shop.seg").write_text(MODEL)
    return tmp_path


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, str]]:
    """(dry run?, SQL) of every query job any BigQuery client sends."""
    sent: list[tuple[bool, str]] = []
    original = bigquery.Client.query

    def query(self: bigquery.Client, sql: str, *args: Any, **kwargs: Any) -> Any:
        config = kwargs.get("job_config")
        sent.append((bool(config is not None and config.dry_run), sql))
        return original(self, sql, *args, **kwargs)

    monkeypatch.setattr(bigquery.Client, "query", query)
    return sent


def test_the_catalog_query_reads_types_and_partitioning(
    bq_emulator: Emulator, dataset: str
) -> None:
    with connect(bq_emulator.url(dataset)) as engine:
        assert isinstance(engine, BigQueryEngine)
        described = engine.describe_tables([("customers",), ("orders",)])
        again = engine.describe_tables([("orders",)])  # kept: no second query
        assert engine.spent.queries == 1
        assert engine.partitioning == {"orders": "ordered_at"}
    assert described["orders"] == {
        "customer_id": "INT64",
        "ordered_at": "TIMESTAMP",
        "amount": "NUMERIC",
    }
    assert again == {"orders": described["orders"]}


def test_run_on_timestamp_columns_shows_what_it_cost(
    bq_emulator: Emulator, dataset: str, project: Path, jobs: list[tuple[bool, str]]
) -> None:
    result = CliRunner().invoke(
        app, ["run", str(project), "--db", bq_emulator.url(dataset), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    schema = json.loads((ROOT / "docs" / "schemas" / "run-sizes.schema.json").read_text())
    Draft202012Validator(schema).validate(payload)
    assert payload["segments"] == {"recent_buyers": 1, "big_spenders": 1}
    real = [sql for dry, sql in jobs if not dry]
    assert payload["cost"]["queries"] == len(real) == 2  # the catalog, then the sizes
    assert "INFORMATION_SCHEMA.COLUMNS" in real[0]
    # the sizes query compares the TIMESTAMP column with TIMESTAMP bounds
    assert "CAST('2025-06-01 00:00:00+00:00' AS TIMESTAMP)" in real[1]

    text = CliRunner().invoke(app, ["run", str(project), "--db", bq_emulator.url(dataset)])
    assert text.exit_code == 0, text.output
    assert "bigquery: 0 B processed, 0 B billed (2 queries)" in text.stderr


def test_explain_plan_sends_dry_runs_only(
    bq_emulator: Emulator, dataset: str, project: Path, jobs: list[tuple[bool, str]]
) -> None:
    args = ["explain", str(project), "-s", "recent_buyers", "--db", bq_emulator.url(dataset)]
    result = CliRunner().invoke(app, [*args, "--plan", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert jobs and all(dry for dry, _ in jobs)
    payload = json.loads(result.stdout)
    assert payload["funnel"] == [] and "bytes processed (estimate)" in payload["plan"]
    assert payload["cost"]["queries"] == 0

    jobs.clear()
    counted = CliRunner().invoke(app, [*args, "--plan", "--funnel", "--format", "json"])
    assert counted.exit_code == 0, counted.output
    assert [step["members"] for step in json.loads(counted.stdout)["funnel"]][:1] == [3]
    assert any(not dry for dry, _ in jobs)


def test_a_declared_type_bigquery_contradicts_stops_before_any_query(
    bq_emulator: Emulator, dataset: str, project: Path, jobs: list[tuple[bool, str]]
) -> None:
    declared = MODEL.replace("time ordered_at", "time ordered_at: timestamp")
    (project / "shop.seg").write_text(declared)
    result = CliRunner().invoke(app, ["run", str(project), "--db", bq_emulator.url(dataset)])
    assert result.exit_code != 0
    assert "SEG403" in result.output and "declare it as `timestamptz`" in result.output
    real = [sql for dry, sql in jobs if not dry]
    assert len(real) == 1 and "INFORMATION_SCHEMA" in real[0]  # only the catalog query
