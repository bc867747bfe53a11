"""`BigQueryEngine.write_session` without a server: which statements go as jobs and when,
the session they run in, the one-script transaction, and how its failures are reported.

The failures BigQuery gives and the emulator cannot (it runs one job at a time), such
as the abort of a transaction that overlapped another, are given here by a stand-in
client; the end-to-end path is tests/engines/test_bigquery_history.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from google.api_core import exceptions as google_errors
from google.cloud import bigquery

from segdsl.engines import EngineError, connect
from segdsl.engines.base import BUSY_MARKER, BusyError
from segdsl.engines.bigquery_engine import BigQueryEngine

LOCAL = "bigquery://test-proj/shop?api_endpoint=http://127.0.0.1:9"


@dataclass
class _Row:
    data: tuple[object, ...]

    def values(self) -> tuple[object, ...]:
        return self.data


@dataclass
class FakeJob:
    sql: str
    config: bigquery.QueryJobConfig
    outcome: Any = None  # rows, or an exception to raise
    done_error: dict[str, str] | None = None  # the job's error once it ended
    cancelled: bool = False
    job_id: str = "job-1"
    total_bytes_processed: int = 0
    total_bytes_billed: int = 0
    state: str = "RUNNING"
    error_result: dict[str, str] | None = None

    @property
    def session_info(self) -> Any:
        return type("Info", (), {"session_id": "session-1"})()

    def result(self, **_: Any) -> list[_Row]:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return [_Row(row) for row in self.outcome or []]

    def cancel(self, **_: Any) -> None:
        self.cancelled = True

    def reload(self, **_: Any) -> None:
        self.state, self.error_result = "DONE", self.done_error


@dataclass
class FakeClient:
    """Answers each job in turn from `outcomes` (by the SQL's first word)."""

    outcomes: dict[str, Any] = field(default_factory=dict)
    jobs: list[FakeJob] = field(default_factory=list)
    done_error: dict[str, str] | None = None

    def query(self, sql: str, job_config: bigquery.QueryJobConfig, **_: Any) -> FakeJob:
        word = sql.split(None, 1)[0].upper()
        job = FakeJob(sql, job_config, self.outcomes.get(word), self.done_error)
        self.jobs.append(job)
        return job

    def close(self) -> None:
        pass


@pytest.fixture
def engine() -> Iterator[BigQueryEngine]:
    opened = connect(LOCAL)
    assert isinstance(opened, BigQueryEngine)
    yield opened
    opened.close()


def _use(engine: BigQueryEngine, client: FakeClient) -> FakeClient:
    engine._client = client  # type: ignore[assignment]
    return client


def _session_id(job: FakeJob) -> str | None:
    for prop in job.config.connection_properties or []:
        if prop.key == "session_id":
            return str(prop.value)
    return None


def test_reads_run_in_a_session_and_writes_go_as_one_script(engine: BigQueryEngine) -> None:
    client = _use(engine, FakeClient({"SELECT": [(1, "a")]}))
    with engine.write_session("history") as session:
        assert session.execute("CREATE SCHEMA IF NOT EXISTS `h`") == []
        assert session.execute("SELECT 1, 'a'") == [(1, "a")]
        assert session.execute("INSERT INTO `h`.`t` (`a`) VALUES (1)") == []
        assert session.execute("UPDATE `h`.`t` SET `a` = 2 WHERE TRUE") == []
        assert [job.sql.split()[0] for job in client.jobs] == ["CREATE", "SELECT"]
    sent = [job.sql for job in client.jobs]
    assert sent[2] == (
        "BEGIN TRANSACTION;\nINSERT INTO `h`.`t` (`a`) VALUES (1);\n"
        "UPDATE `h`.`t` SET `a` = 2 WHERE TRUE;\nCOMMIT TRANSACTION;"
    )
    assert sent[3] == "CALL BQ.ABORT_SESSION()"
    first, *rest = client.jobs
    assert first.config.create_session and _session_id(first) is None
    assert all(_session_id(job) == "session-1" for job in rest)
    assert all(job.config.default_dataset is None for job in client.jobs)
    assert all(job.config.labels == {"tool": "segdsl"} for job in client.jobs)


def test_an_error_in_the_block_sends_no_writes(engine: BigQueryEngine) -> None:
    client = _use(engine, FakeClient({"SELECT": [(1,)]}))
    with pytest.raises(RuntimeError), engine.write_session("history") as session:
        session.execute("SELECT 1")
        session.execute("INSERT INTO `h`.`t` (`a`) VALUES (1)")
        raise RuntimeError("stop")
    assert [job.sql.split()[0] for job in client.jobs] == ["SELECT", "CALL"]


@pytest.mark.parametrize(
    "message",
    [
        "Transaction is aborted due to concurrent update against table test-proj:h.segdsl_lock.",
        "Could not serialize access to table test-proj:h.segdsl_lock due to concurrent update",
        f"Query error: {BUSY_MARKER} another snapshot recorded a run since this one read run 3",
    ],
)
def test_a_script_that_lost_to_another_writer_is_busy(engine: BigQueryEngine, message: str) -> None:
    _use(engine, FakeClient({"SELECT": [], "BEGIN": google_errors.BadRequest(message)}))
    with pytest.raises(BusyError) as caught, engine.write_session("history `h`") as session:
        session.execute("SELECT 1")
        session.execute("UPDATE `h`.`segdsl_lock` SET `last_run_id` = 4 WHERE TRUE")
    assert "another snapshot wrote history `h` first" in caught.value.message


def test_another_script_error_is_reported_as_it_is(engine: BigQueryEngine) -> None:
    error = google_errors.BadRequest("Query error: Division by zero at [3:1]")
    _use(engine, FakeClient({"SELECT": [], "BEGIN": error}))
    with pytest.raises(EngineError) as caught, engine.write_session("h") as session:
        session.execute("SELECT 1")
        session.execute("INSERT INTO `h`.`t` (`a`) VALUES (1)")
    assert not isinstance(caught.value, BusyError)
    assert caught.value.kind == "invalid_query" and "Division by zero" in caught.value.message


@pytest.mark.parametrize("committed", [True, False])
def test_ctrl_c_during_the_script_cancels_it(engine: BigQueryEngine, committed: bool) -> None:
    """The job is cancelled; if it had committed already, the snapshot stands."""
    failed = None if committed else {"reason": "stopped", "message": "Job cancelled"}
    client = _use(
        engine, FakeClient({"SELECT": [], "BEGIN": KeyboardInterrupt()}, done_error=failed)
    )

    def run() -> None:
        with engine.write_session("h") as session:
            session.execute("SELECT 1")
            session.execute("INSERT INTO `h`.`t` (`a`) VALUES (1)")

    if committed:
        run()
    else:
        with pytest.raises(EngineError) as caught:
            run()
        assert caught.value.kind == "cancelled"
    script = next(job for job in client.jobs if job.sql.startswith("BEGIN"))
    assert script.cancelled
