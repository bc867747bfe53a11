"""`seg snapshot` and `seg changes` on BigQuery, through the client against the local
emulator (bqemulator).

What this proves: the snapshot's SQL (CREATE ... OPTIONS, CREATE TEMP TABLE, the
UPDATE/INSERT of the intervals, the lock's compare-and-set) is accepted and run by the
emulator, the session and script path of `BigQueryEngine.write_session` works, and the
history it leaves gives at every recorded time the members `seg run` gives, like on
DuckDB and Postgres (tests/test_history.py). A script that fails midway leaves every
table as it was, and a snapshot overtaken by another gets SEG562 and writes nothing.

What it cannot prove: the emulator runs every job on one DuckDB connection, one job at
a time, so two transactions never overlap there and BigQuery's own abort of a
concurrent transaction ("Transaction is aborted due to concurrent update") is not
exercised; its sessions share temporary tables (the writer names its own). BigQuery's
SQL semantics are proven on the GoogleSQL reference engine (tests/test_history_engines.py
for the history reads; test_bigquery_history_sql.py analyses the writes).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from typer.testing import CliRunner, Result

from segdsl.cli.main import app
from segdsl.engines import bigquery_engine
from tests.engines.bqemu import Emulator

pytestmark = pytest.mark.bigquery_emulator

TIMES = ["2025-05-01", "2025-06-01", "2025-06-15", "2025-07-01"]
NAMES = ["recent_buyers", "big_spenders", "activity"]
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
segment big_spenders = sum(amount) of orders during last 60d >= 100
classifier activity {
  hot when exists orders during last 14d
  warm when exists orders during last 45d
  else cold
}
"""
runner = CliRunner()


def _client(emulator: Emulator) -> bigquery.Client:
    return bigquery.Client(
        project=emulator.project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=emulator.endpoint),
    )


@pytest.fixture(scope="module")
def client(bq_emulator: Emulator) -> Iterator[bigquery.Client]:
    opened = _client(bq_emulator)
    yield opened
    opened.close()  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def dataset(client: bigquery.Client) -> Iterator[str]:
    """40 customers and about 240 orders between 2025-03-01 and 2025-07-01, seeded."""
    name = f"bqsnap_{uuid.uuid4().hex[:8]}"
    client.create_dataset(name)
    client.query(f"CREATE TABLE {name}.customers (id INT64, signed_up_at TIMESTAMP)").result()
    client.query(
        f"CREATE TABLE {name}.orders (customer_id INT64, ordered_at TIMESTAMP, amount NUMERIC)"
    ).result()
    rng = random.Random(20)
    start = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    customers = ", ".join(f"({i}, TIMESTAMP '2024-06-01 00:00:00+00')" for i in range(1, 41))
    orders = []
    for _ in range(240):
        when = start + dt.timedelta(minutes=rng.randrange(122 * 24 * 60))
        orders.append(
            f"({rng.randint(1, 40)}, TIMESTAMP '{when:%Y-%m-%d %H:%M:%S}+00', "
            f"{rng.choice([5, 20, 45, 80])})"
        )
    client.query(f"INSERT INTO {name}.customers (id, signed_up_at) VALUES {customers}").result()
    client.query(
        f"INSERT INTO {name}.orders (customer_id, ordered_at, amount) VALUES {', '.join(orders)}"
    ).result()
    try:
        yield name
    finally:
        client.delete_dataset(name, delete_contents=True, not_found_ok=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "seg.toml").write_text('dialect = "bigquery"\nas_of = "2025-07-01"\n')
    (folder / "shop.seg").write_text(MODEL)
    return folder


@dataclass
class Warehouse:
    client: bigquery.Client
    url: str
    schema: str  # the dataset the history goes to

    def rows(self, table: str) -> list[tuple[object, ...]]:
        """Every row of a history table, sorted (empty when it does not exist)."""
        found = {t.table_id for t in self.client.list_tables(self.schema)}
        if table not in found:
            return []
        result = self.client.query(f"SELECT * FROM `{self.schema}`.`{table}`").result()
        return sorted((tuple(row.values()) for row in result), key=repr)

    def state(self) -> tuple[list[tuple[object, ...]], ...]:
        return self.rows("segdsl_history"), self.rows("segdsl_runs"), self.rows("segdsl_lock")


@pytest.fixture
def warehouse(bq_emulator: Emulator, client: bigquery.Client, dataset: str) -> Iterator[Warehouse]:
    schema = f"bqsnap_hist_{uuid.uuid4().hex[:8]}"
    yield Warehouse(client, bq_emulator.url(dataset), schema)
    client.delete_dataset(schema, delete_contents=True, not_found_ok=True)


def seg(*args: object) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def snapshot(wh: Warehouse, project: Path, as_of: str, *extra: str) -> Result:
    names = [arg for name in NAMES for arg in ("-s", name)]
    return seg(
        "snapshot", project, "--db", wh.url, "--into", wh.schema, "--as-of", as_of, *names, *extra
    )


def members(wh: Warehouse, project: Path, name: str, as_of: str) -> dict[object, object]:
    """key → label (True for a segment) from `seg run` at `as_of`."""
    result = seg(
        "run", project, "--db", wh.url, "-s", name, "--members", "--as-of", as_of,
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    if name == "activity":
        return {row["id"]: row[name] for row in rows if row[name] is not None}
    return {row["id"]: True for row in rows}


def from_history(wh: Warehouse, name: str, as_of: str) -> dict[object, object]:
    found = {}
    moment = dt.datetime.fromisoformat(as_of)
    for key, definition, label, _, start, end in wh.rows("segdsl_history"):
        assert isinstance(start, dt.datetime)
        if definition == name and start <= moment and (end is None or end > moment):
            assert key not in found, (name, key, as_of)
            found[key] = label if name == "activity" else True
    return found


def expected_changes(
    before: dict[object, object], after: dict[object, object], labelled: bool
) -> set[tuple[object, ...]]:
    found: set[tuple[object, ...]] = set()
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        change = "entered" if old is None else "left" if new is None else "moved"
        found.add((key, change, old, new) if labelled else (key, change))
    return found


def changes(
    wh: Warehouse, project: Path, name: str, since: str, until: str, *extra: str
) -> tuple[set[tuple[object, ...]], str]:
    result = seg(
        "changes", project, "--db", wh.url, "-s", name, "--since", since, "--until", until,
        "--format", "json", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return {tuple(json.loads(line).values()) for line in result.stdout.splitlines()}, result.stderr


# ---------------------------------------------------------------- the history


def test_history_gives_the_membership_of_every_recorded_time(
    warehouse: Warehouse, project: Path
) -> None:
    for as_of in (TIMES[1], TIMES[3]):
        result = snapshot(warehouse, project, as_of)
        assert result.exit_code == 0, result.stderr
    for as_of in (TIMES[0], TIMES[2]):
        result = snapshot(warehouse, project, as_of, "--backfill")
        assert result.exit_code == 0, result.stderr
    for as_of in TIMES:
        for name in NAMES:
            expected = members(warehouse, project, name, as_of)
            assert from_history(warehouse, name, as_of) == expected, (name, as_of)
    runs = warehouse.rows("segdsl_runs")
    assert len(runs) == len(TIMES) * len(NAMES)
    assert {row[0] for row in runs} == {1, 2, 3, 4}
    assert warehouse.rows("segdsl_lock")[0][0] == 4
    # the members do change over these weeks, so the intervals are not trivial
    assert any(row[5] is not None for row in warehouse.rows("segdsl_history"))


def test_the_tables_are_marked_as_segdsl_s(warehouse: Warehouse, project: Path) -> None:
    assert snapshot(warehouse, project, TIMES[1]).exit_code == 0
    for table in ("segdsl_history", "segdsl_runs", "segdsl_lock"):
        description = warehouse.client.get_table(f"{warehouse.schema}.{table}").description
        assert description is not None and description.startswith("segdsl: history: ")


def test_the_same_as_of_twice_changes_nothing(warehouse: Warehouse, project: Path) -> None:
    assert snapshot(warehouse, project, TIMES[1]).exit_code == 0
    before = warehouse.state()
    again = snapshot(warehouse, project, TIMES[1])
    assert again.exit_code == 0 and "nothing changed" in again.stderr
    assert warehouse.state() == before


def test_an_earlier_as_of_is_refused_without_backfill(warehouse: Warehouse, project: Path) -> None:
    assert snapshot(warehouse, project, TIMES[2]).exit_code == 0
    before = warehouse.state()
    earlier = snapshot(warehouse, project, TIMES[1])
    assert earlier.exit_code == 1 and "SEG564" in earlier.stderr and "--backfill" in earlier.stderr
    assert warehouse.state() == before


def test_a_changed_definition_starts_a_new_history(
    warehouse: Warehouse, project: Path, tmp_path: Path
) -> None:
    assert snapshot(warehouse, project, TIMES[1]).exit_code == 0
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "seg.toml").write_text((project / "seg.toml").read_text())
    text = MODEL.replace("last 60d >= 100", "last 60d >= 50")
    assert text != MODEL
    (changed / "shop.seg").write_text(text)
    result = snapshot(warehouse, changed, TIMES[3], "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = {run["name"]: run for run in json.loads(result.stdout)["definitions"]}
    assert report["big_spenders"]["definition_changed"] is True
    assert report["big_spenders"]["entered"] is None
    assert report["recent_buyers"]["definition_changed"] is False
    hashes = {row[4] for row in warehouse.rows("segdsl_runs") if row[2] == "big_spenders"}
    assert len(hashes) == 2
    history = [row for row in warehouse.rows("segdsl_history") if row[1] == "big_spenders"]
    new_hash = report["big_spenders"]["hash"]
    old = [row for row in history if row[3] != new_hash]
    new = [row for row in history if row[3] == new_hash]
    assert old and all(row[5] == dt.datetime.fromisoformat(TIMES[3]) for row in old)
    assert len(new) == report["big_spenders"]["members"]
    assert {row[0] for row in new} == set(members(warehouse, changed, "big_spenders", TIMES[3]))
    rows, note = changes(
        warehouse, changed, "big_spenders", TIMES[1], TIMES[3], "--history", warehouse.schema
    )
    assert "by evaluating both times" in note and "another definition" in note
    before = members(warehouse, changed, "big_spenders", TIMES[1])
    after = members(warehouse, changed, "big_spenders", TIMES[3])
    assert rows == expected_changes(before, after, labelled=False)


def test_tables_that_are_not_segdsl_s_are_never_touched(
    warehouse: Warehouse, project: Path
) -> None:
    client = warehouse.client
    client.create_dataset(warehouse.schema)
    client.query(f"CREATE TABLE `{warehouse.schema}`.segdsl_runs (x INT64)").result()
    client.query(f"INSERT INTO `{warehouse.schema}`.segdsl_runs (x) VALUES (7)").result()
    result = snapshot(warehouse, project, TIMES[1])
    assert result.exit_code == 1 and "SEG561" in result.stderr, result.stderr
    assert warehouse.rows("segdsl_runs") == [(7,)]
    assert {t.table_id for t in client.list_tables(warehouse.schema)} == {"segdsl_runs"}


# ---------------------------------------------------------------- changes


@pytest.mark.parametrize("name", ["recent_buyers", "activity"])
def test_changes_agree_from_history_evaluation_and_two_runs(
    warehouse: Warehouse, project: Path, name: str
) -> None:
    for as_of in TIMES:
        assert snapshot(warehouse, project, as_of).exit_code == 0
    labelled = name == "activity"
    for since, until in [(TIMES[0], TIMES[1]), (TIMES[1], TIMES[3])]:
        before = members(warehouse, project, name, since)
        after = members(warehouse, project, name, until)
        expected = expected_changes(before, after, labelled)
        assert expected
        history, note = changes(
            warehouse, project, name, since, until, "--history", warehouse.schema
        )
        assert "from the history" in note
        evaluated, note = changes(warehouse, project, name, since, until)
        assert "by evaluating both times" in note
        assert history == evaluated == expected


# ---------------------------------------------------------------- crashes and locks


def _start(
    wh: Warehouse, project: Path, as_of: str, stage: str, fifo: Path
) -> subprocess.Popen[bytes]:
    names = [arg for name in NAMES for arg in ("-s", name)]
    env = {**os.environ, "SEGDSL_TEST_PAUSE": f"{stage}:{fifo}"}
    command = [
        sys.executable, "-m", "segdsl", "snapshot", str(project), "--db", wh.url,
        "--into", wh.schema, "--as-of", as_of, *names,
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with open(fifo) as announced:  # returns when the writer has reached the stage
        assert announced.read() == f"{stage}\n"
    return process


@pytest.mark.parametrize(
    ("stage", "signum"),
    [("locked", signal.SIGKILL), ("written", signal.SIGKILL), ("written", signal.SIGINT)],
)
def test_a_snapshot_stopped_midway_leaves_the_history_as_it_was(
    warehouse: Warehouse, project: Path, tmp_path: Path, stage: str, signum: int
) -> None:
    assert snapshot(warehouse, project, TIMES[1]).exit_code == 0
    before = warehouse.state()
    fifo = tmp_path / "pause"
    os.mkfifo(fifo)
    process = _start(warehouse, project, TIMES[2], stage, fifo)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0, stderr
    assert warehouse.state() == before
    # no lock is left behind: the next snapshot records the time
    assert snapshot(warehouse, project, TIMES[2]).exit_code == 0
    assert warehouse.state() != before


def test_a_transaction_failing_midway_leaves_the_history_as_it_was(
    warehouse: Warehouse, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script whose writes are half done when a statement fails commits nothing."""
    assert snapshot(warehouse, project, TIMES[1]).exit_code == 0
    before = warehouse.state()
    sent: list[list[str]] = []
    commit = bigquery_engine._BigQuerySession.commit

    def failing(self: Any) -> None:
        middle = len(self.writes) // 2
        failure = (
            f"UPDATE `{warehouse.schema}`.`segdsl_lock` SET `taken_at` = ERROR('boom') WHERE TRUE"
        )
        self.writes.insert(middle, failure)
        sent.append(list(self.writes))
        commit(self)

    monkeypatch.setattr(bigquery_engine._BigQuerySession, "commit", failing)
    result = snapshot(warehouse, project, TIMES[2])
    assert result.exit_code == 1 and "boom" in result.stderr, result.stderr
    writes = sent[0]
    failed_at = next(i for i, sql in enumerate(writes) if "boom" in sql)
    assert any("segdsl_history" in sql for sql in writes[:failed_at])  # history half written
    assert warehouse.state() == before


def test_a_snapshot_overtaken_by_another_writes_nothing(
    warehouse: Warehouse, project: Path, tmp_path: Path
) -> None:
    """BigQuery has no lock to wait on: the first to commit wins, the other gets SEG562."""
    assert snapshot(warehouse, project, TIMES[1]).exit_code == 0
    fifo = tmp_path / "pause"
    os.mkfifo(fifo)
    first = _start(warehouse, project, TIMES[2], "written", fifo)
    try:
        second = snapshot(warehouse, project, TIMES[3])
        assert second.exit_code == 0, second.stderr
    finally:
        with open(fifo, "w"):  # let the first one go on
            pass
    after_second = warehouse.state()
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 1, stderr
    assert b"SEG562" in stderr and b"another snapshot" in stderr, stderr
    assert warehouse.state() == after_second
    recorded = {row[1] for row in warehouse.rows("segdsl_runs")}
    assert recorded == {dt.datetime.fromisoformat(t) for t in (TIMES[1], TIMES[3])}


def test_a_project_qualified_history_and_changes_written_out(
    warehouse: Warehouse, project: Path, tmp_path: Path
) -> None:
    """`--into project.dataset`; `seg changes` from it to CSV and to a table."""
    qualified = Warehouse(
        warehouse.client, warehouse.url, f"{warehouse.client.project}.{warehouse.schema}"
    )
    for as_of in (TIMES[1], TIMES[2]):
        result = snapshot(qualified, project, as_of)
        assert result.exit_code == 0, result.stderr
    assert from_history(warehouse, "activity", TIMES[2]) == members(
        warehouse, project, "activity", TIMES[2]
    )
    expected = expected_changes(
        members(warehouse, project, "activity", TIMES[1]),
        members(warehouse, project, "activity", TIMES[2]),
        labelled=True,
    )
    assert expected
    common = ["--db", warehouse.url, "-s", "activity", "--since", "LAST"]
    target = tmp_path / "moves.csv"
    result = seg("changes", project, *common, "--history", qualified.schema, "-o", target)
    assert result.exit_code == 0 and "from the history" in result.stderr, result.stderr
    lines = target.read_text().splitlines()
    assert lines[0] == '"key","change","label_before","label_after"'
    assert len(lines) == len(expected) + 1
    table = f"{warehouse.schema}.activity_moves"
    result = seg("changes", project, *common, "--history", qualified.schema, "--materialize", table)
    assert result.exit_code == 0, result.stderr
    stored = warehouse.client.query(f"SELECT * FROM `{warehouse.schema}`.activity_moves").result()
    assert {tuple(row.values()) for row in stored} == expected
