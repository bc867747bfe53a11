"""BigQuery cost, shown and bounded (issue 22.5): the byte limit bounds a whole command
(the estimates of all its queries, summed before the first is sent), what the queries
processed and were billed for is counted, and large results come through the Storage
Read API when it is installed.

The decisions are tested with dry runs and jobs faked at the client's edge (the
emulator reports 0 bytes for everything); tests/engines/test_bigquery_warehouse.py
runs the commands on the emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pytest

from segdsl.engines import EngineError, connect
from segdsl.engines.bigquery_engine import BigQueryEngine

LOCAL = "bigquery://test-proj/ds?api_endpoint=http://127.0.0.1:9"


@dataclass
class FakeRows:
    """A RowIterator: one 5-row Arrow batch; records the Storage API client it got."""

    storage: list[object] = field(default_factory=list)

    def to_arrow_iterable(self, bqstorage_client: object = None) -> Iterator[pa.RecordBatch]:
        self.storage.append(bqstorage_client)
        yield pa.RecordBatch.from_pylist([{"n": i} for i in range(5)])


@dataclass
class FakeJob:
    sql: str
    dry_run: bool
    total_bytes_processed: int
    total_bytes_billed: int | None = None
    statement_type: str = "SELECT"
    job_id: str = "job"
    referenced_tables: tuple[object, ...] = ()
    schema: tuple[object, ...] = ()
    rows: FakeRows = field(default_factory=FakeRows)

    def result(self, **_: Any) -> FakeRows:
        return self.rows


@dataclass
class FakeClient:
    """Answers dry runs with the estimate named in the SQL (`SELECT 400 AS bytes`)."""

    jobs: list[FakeJob] = field(default_factory=list)

    def query(self, sql: str, job_config: Any, **_: Any) -> FakeJob:
        estimate = int(sql.split()[1])
        billed = None if job_config.dry_run else max(estimate, 10 * 2**20)
        job = FakeJob(sql, bool(job_config.dry_run), estimate, billed)
        self.jobs.append(job)
        return job

    @property
    def sent(self) -> list[str]:
        return [job.sql for job in self.jobs if not job.dry_run]


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[BigQueryEngine, FakeClient]]:
    with connect(LOCAL, maximum_bytes_billed=1000) as opened:
        assert isinstance(opened, BigQueryEngine)
        fake = FakeClient()
        monkeypatch.setattr(opened, "_client", fake)
        yield opened, fake
        monkeypatch.setattr(opened, "_client", None)


def test_the_estimates_of_a_commands_queries_are_summed_before_the_first_is_sent(
    engine: tuple[BigQueryEngine, FakeClient],
) -> None:
    bigquery, client = engine
    queries = ["SELECT 400 AS a", "SELECT 400 AS b", "SELECT 300 AS c"]  # each under 1000
    with pytest.raises(EngineError) as caught:
        bigquery.reserve(queries)
    assert caught.value.kind == "too_expensive"
    message = caught.value.message
    assert "the 3 queries of this command would process 1.1 KiB (1100 bytes)" in message
    assert client.sent == []


def test_reserved_queries_are_dry_run_once(engine: tuple[BigQueryEngine, FakeClient]) -> None:
    bigquery, client = engine
    queries = ["SELECT 400 AS a", "SELECT 500 AS b"]
    bigquery.reserve(queries)
    for sql in queries:
        bigquery.query(sql)
    assert [(job.sql, job.dry_run) for job in client.jobs] == [
        ("SELECT 400 AS a", True),
        ("SELECT 500 AS b", True),
        ("SELECT 400 AS a", False),
        ("SELECT 500 AS b", False),
    ]


def test_queries_sent_count_against_the_limit(engine: tuple[BigQueryEngine, FakeClient]) -> None:
    bigquery, client = engine
    bigquery.query("SELECT 600 AS a")
    with pytest.raises(EngineError) as caught:
        bigquery.query("SELECT 600 AS b")
    assert caught.value.kind == "too_expensive"
    assert "the 2 queries of this command would process 1.2 KiB (1200 bytes)" in (
        caught.value.message
    )
    assert client.sent == ["SELECT 600 AS a"]


def test_what_was_processed_and_billed_is_counted(
    engine: tuple[BigQueryEngine, FakeClient],
) -> None:
    bigquery, _ = engine
    bigquery.query("SELECT 600 AS a")
    bigquery.query("SELECT 300 AS b")
    spent = bigquery.spent
    assert (spent.bytes_processed, spent.bytes_billed, spent.queries) == (900, 2 * 10 * 2**20, 2)


def test_estimates_only_refuses_real_jobs(engine: tuple[BigQueryEngine, FakeClient]) -> None:
    bigquery, client = engine
    bigquery.estimates_only()
    assert "700 (700 B)" in bigquery.explain("SELECT 700 AS a")  # a dry run is fine
    with pytest.raises(EngineError) as caught:
        bigquery.query("SELECT 700 AS a")
    assert "dry runs only" in caught.value.message
    assert client.sent == []


def test_results_come_through_the_storage_api_in_pages(
    engine: tuple[BigQueryEngine, FakeClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    bigquery, client = engine
    storage = object()
    monkeypatch.setattr(bigquery, "_storage_client", lambda: storage)
    batches = list(bigquery.query_batches("SELECT 10 AS n", batch_rows=2))
    assert [batch.num_rows for batch in batches] == [2, 2, 1]  # ≤ batch_rows each
    assert client.jobs[-1].rows.storage == [storage]


def test_the_storage_client_is_made_for_google_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from google.auth import credentials as auth_credentials

    pytest.importorskip("google.cloud.bigquery_storage")
    anonymous = auth_credentials.AnonymousCredentials()  # type: ignore[no-untyped-call]
    monkeypatch.setattr("google.auth.default", lambda *a, **k: (anonymous, "test-proj"))
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    with connect("bigquery://test-proj/ds") as google:
        assert isinstance(google, BigQueryEngine)
        made = google._storage_client()
        assert type(made).__name__ == "BigQueryReadClient"
    with connect(LOCAL) as emulator:
        assert isinstance(emulator, BigQueryEngine)
        assert emulator._storage_client() is None
