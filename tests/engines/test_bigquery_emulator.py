"""The BigQuery engine end to end through google-cloud-bigquery against the local emulator.

This proves the client path (jobs, dry runs, parameters, pages, labels), not
BigQuery's SQL semantics: the emulator runs the SQL on DuckDB.
"""

from __future__ import annotations

import datetime as dt
import decimal
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from segdsl.engines import EngineError, connect
from segdsl.engines.bigquery_engine import BigQueryEngine
from tests.engines.bqemu import Emulator

pytestmark = pytest.mark.bigquery_emulator

EVENTS = 3000


@pytest.fixture(scope="module")
def dataset(bq_emulator: Emulator) -> Iterator[str]:
    """A dataset with ``customers`` (3 rows) and ``events`` (3000 rows)."""
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
            bigquery.SchemaField("customer_id", "INT64"),
            bigquery.SchemaField("name", "STRING"),
            bigquery.SchemaField("signed_up", "TIMESTAMP"),
            bigquery.SchemaField("balance", "NUMERIC"),
        ],
    )
    client.create_table(customers)
    client.query(
        f"INSERT INTO {name}.customers (customer_id, name, signed_up, balance) VALUES "
        "(1, 'ada', TIMESTAMP '2024-01-05 10:00:00+00', 10.50), "
        "(2, 'bob', TIMESTAMP '2024-03-01 00:00:00+00', 0), "
        "(3, 'cy', TIMESTAMP '2024-06-30 23:59:59+00', 99.99)"
    ).result()
    client.query(
        f"CREATE TABLE {name}.events AS "
        f"SELECT x AS event_id, MOD(x, 3) + 1 AS customer_id "
        f"FROM UNNEST(GENERATE_ARRAY(1, {EVENTS})) AS x"
    ).result()
    try:
        yield name
    finally:
        client.delete_dataset(name, delete_contents=True, not_found_ok=True)
        client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def engine(bq_emulator: Emulator, dataset: str) -> Iterator[BigQueryEngine]:
    with connect(bq_emulator.url(dataset), connect_timeout=10) as opened:
        assert isinstance(opened, BigQueryEngine)
        yield opened


class JobSpy:
    """Records every job the engine's client submits."""

    def __init__(self, engine: BigQueryEngine, monkeypatch: pytest.MonkeyPatch) -> None:
        self.jobs: list[bigquery.QueryJob] = []
        original = engine.client.query

        def query(*args: Any, **kwargs: Any) -> bigquery.QueryJob:
            job = original(*args, **kwargs)
            self.jobs.append(job)
            return job

        monkeypatch.setattr(engine.client, "query", query)

    @property
    def real(self) -> list[bigquery.QueryJob]:
        return [job for job in self.jobs if not job.dry_run]


def test_parameterised_query(engine: BigQueryEngine) -> None:
    table = engine.query(
        "SELECT customer_id, name, balance FROM customers "
        "WHERE signed_up >= @since AND name != @skip AND balance >= @min_balance "
        "AND customer_id IN UNNEST(@ids) AND @flag ORDER BY customer_id",
        {
            "since": dt.datetime(2024, 2, 1, tzinfo=dt.UTC),
            "skip": "nobody",
            "min_balance": decimal.Decimal("0"),
            "ids": [1, 2, 3],
            "flag": True,
        },
    )
    assert table.to_pylist() == [
        {"customer_id": 2, "name": "bob", "balance": decimal.Decimal("0")},
        {"customer_id": 3, "name": "cy", "balance": decimal.Decimal("99.99")},
    ]


def test_pagination_streams_pages_as_batches(engine: BigQueryEngine) -> None:
    batches = list(
        engine.query_batches("SELECT event_id FROM events ORDER BY event_id", batch_rows=1000)
    )
    assert [b.num_rows for b in batches] == [1000, 1000, 1000]
    ids = [i for b in batches for i in b.column("event_id")]
    assert ids == list(range(1, EVENTS + 1))


def test_every_query_is_dry_run_first_and_labelled(
    engine: BigQueryEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = JobSpy(engine, monkeypatch)
    assert engine.query("SELECT COUNT(*) AS n FROM events").column("n")[0] == EVENTS
    assert [job.dry_run for job in spy.jobs] == [True, False]
    # the insert response echoes the labels the job was created with (the emulator
    # leaves them out of dry-run responses and of jobs.get)
    assert spy.real[0].labels == {"tool": "segdsl"}
    assert spy.real[0].maximum_bytes_billed is None  # no limit in this URL


def test_dry_run_estimate_and_explain(engine: BigQueryEngine) -> None:
    assert engine.estimate_bytes("SELECT * FROM events") == 0  # the emulator reports 0 bytes
    plan = engine.explain("SELECT * FROM events")
    assert "statement type: SELECT" in plan
    assert "bytes processed (estimate): 0" in plan


def test_the_guard_refuses_before_running(
    bq_emulator: Emulator, dataset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with connect(bq_emulator.url(dataset, maximum_bytes_billed=1_000_000)) as opened:
        assert isinstance(opened, BigQueryEngine)
        spy = JobSpy(opened, monkeypatch)
        opened.query("SELECT 1 AS one")  # 0 estimated bytes: allowed
        assert spy.real[0].maximum_bytes_billed == 1_000_000

        original = opened.dry_run

        def expensive(*args: Any, **kwargs: Any) -> bigquery.QueryJob:
            job = original(*args, **kwargs)
            job._properties.setdefault("statistics", {}).setdefault("query", {})[
                "totalBytesProcessed"
            ] = str(5 * 2**40)
            return job

        monkeypatch.setattr(opened, "dry_run", expensive)
        with pytest.raises(EngineError) as caught:
            list(opened.query_batches("SELECT * FROM events"))
        assert caught.value.kind == "too_expensive"
        assert "5.0 TiB" in str(caught.value)
        assert len(spy.real) == 1  # the expensive query never ran


@pytest.mark.parametrize(
    "sql",
    ["DELETE FROM events WHERE TRUE", "CREATE TABLE sneaky AS SELECT 1 AS a", "SELECT 1; SELECT 2"],
)
def test_writes_are_refused(
    engine: BigQueryEngine, sql: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = JobSpy(engine, monkeypatch)
    with pytest.raises(EngineError) as caught:
        list(engine.query_batches(sql))
    assert caught.value.kind == "permission"
    assert spy.real == []
    assert engine.query("SELECT COUNT(*) AS n FROM events").column("n")[0] == EVENTS


@pytest.mark.parametrize(
    ("sql", "kind"),
    [("SELECT * FROM no_such_table", "not_found"), ("SELEC 1", "invalid_query")],
)
def test_errors_have_kinds(engine: BigQueryEngine, sql: str, kind: str) -> None:
    with pytest.raises(EngineError) as caught:
        list(engine.query_batches(sql))
    assert caught.value.kind == kind
    assert "\n" not in str(caught.value)


def test_materialize_table_and_view(engine: BigQueryEngine, dataset: str) -> None:
    engine.materialize(
        "SELECT customer_id, COUNT(*) AS events FROM events GROUP BY customer_id", "event_counts"
    )
    engine.materialize(
        "SELECT * FROM event_counts WHERE events > 0", f"{dataset}.busy", kind="view"
    )
    assert engine.query("SELECT SUM(events) AS n FROM busy").column("n")[0] == EVENTS
    assert {"event_counts", "busy"} <= set(engine.list_tables())
    with pytest.raises(EngineError) as caught:
        engine.materialize("DELETE FROM events WHERE TRUE", "nope")
    assert caught.value.kind == "permission"


def test_describe_and_list_tables(engine: BigQueryEngine, dataset: str) -> None:
    described = engine.describe_tables([("customers",), (dataset, "events")])
    assert described == {
        "customers": {
            "customer_id": "INT64",
            "name": "STRING",
            "signed_up": "TIMESTAMP",
            "balance": "NUMERIC",
        },
        f"{dataset}.events": {"event_id": "INT64", "customer_id": "INT64"},
    }
    assert {"customers", "events"} <= set(engine.list_tables(dataset))
    with pytest.raises(EngineError) as caught:
        engine.describe_tables([("no_such_table",)])
    assert caught.value.kind == "not_found"


def test_unreachable_endpoint() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"bigquery://test-proj/ds?api_endpoint=http://127.0.0.1:{port}"
    with connect(url, connect_timeout=2) as engine, pytest.raises(EngineError) as caught:
        list(engine.query_batches("SELECT 1"))
    assert caught.value.kind == "unreachable"
