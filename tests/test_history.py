"""`seg snapshot` and `seg changes` on the demo warehouse, on DuckDB and Postgres.

The history is checked against evaluation: the membership the intervals give at each
recorded as-of time is what `seg run` gives at that time, and the changes between
two times are the same from the history, from the two-as-of query and from a set
difference in Python of two `seg run` results. Crash tests stop a real `seg snapshot`
process inside its transaction (it waits on a fifo there: `SEGDSL_TEST_PAUSE`) and
check the history did not change.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner, Result

from segdsl.cli.main import app
from segdsl.demo.warehouse import copy_to_postgres
from segdsl.engines import connect
from tests.support.availability import require_postgres
from tests.support.demo_copies import DemoCopies
from tests.support.runners import DEFAULT_POSTGRES_DSN

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TIMES = ["2025-05-01", "2025-06-01", "2025-06-15", "2025-07-01"]
NAMES = ["loyal", "sleeping", "lifecycle"]
runner = CliRunner()


@dataclass
class Warehouse:
    url: str
    schema: str  # where the history goes

    def rows(self, table: str) -> list[tuple[object, ...]]:
        """Every row of a history table, sorted (an empty list when it does not exist)."""
        with connect(self.url) as engine:
            if table not in engine.list_tables(self.schema):
                return []
            result = engine.query(f'SELECT * FROM "{self.schema}"."{table}"').to_pylist()
        return sorted((tuple(row.values()) for row in result), key=repr)

    def state(self) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        return self.rows("segdsl_history"), self.rows("segdsl_runs")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_copies: DemoCopies) -> Path:
    return demo_copies.copy(tmp_path_factory.mktemp("demo") / "demo.duckdb", scale=0.03).path


@pytest.fixture(scope="module")
def pg_database(demo: Path) -> Iterator[str]:
    require_postgres(DEFAULT_POSTGRES_DSN)
    name = f"history_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(DEFAULT_POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = psycopg.conninfo.make_conninfo(DEFAULT_POSTGRES_DSN, dbname=name)
        copy_to_postgres(demo, url)
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(DEFAULT_POSTGRES_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, demo: Path, tmp_path: Path) -> Warehouse:
    schema = f"hist_{uuid.uuid4().hex[:8]}"
    if request.param == "duckdb":
        copy = tmp_path / "demo.duckdb"
        shutil.copy(demo, copy)
        return Warehouse(f"duckdb:///{copy}", schema)
    return Warehouse(request.getfixturevalue("pg_database"), schema)


def seg(*args: str) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def snapshot(wh: Warehouse, as_of: str, *extra: str, project: Path = EXAMPLES) -> Result:
    names = [arg for name in NAMES for arg in ("-s", name)]
    return seg(
        "snapshot", project, "--db", wh.url, "--into", wh.schema, "--as-of", as_of, *names, *extra
    )


def members(wh: Warehouse, name: str, as_of: str) -> dict[object, object]:
    """key → label (True for a segment) from `seg run` at `as_of`."""
    result = seg(
        "run",
        EXAMPLES,
        "--db",
        wh.url,
        "-s",
        name,
        "--members",
        "--as-of",
        as_of,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    if name == "lifecycle":
        return {row["id"]: row[name] for row in rows if row[name] is not None}
    return {row["id"]: True for row in rows}


def from_history(wh: Warehouse, name: str, as_of: str) -> dict[object, object]:
    found = {}
    for key, definition, label, _, start, end in wh.rows("segdsl_history"):
        moment = start.fromisoformat(as_of)  # type: ignore[attr-defined]
        if definition == name and start <= moment and (end is None or end > moment):
            assert key not in found, (name, key, as_of)
            found[key] = label if name == "lifecycle" else True
    return found


def changes(
    wh: Warehouse, name: str, since: str, until: str, *extra: str
) -> tuple[set[tuple[object, ...]], str]:
    result = seg(
        "changes",
        EXAMPLES,
        "--db",
        wh.url,
        "-s",
        name,
        "--since",
        since,
        "--until",
        until,
        "--format",
        "json",
        *extra,
    )
    assert result.exit_code == 0, result.stderr
    rows = {tuple(json.loads(line).values()) for line in result.stdout.splitlines()}
    return rows, result.stderr


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


# ---------------------------------------------------------------- the history


def test_history_gives_the_membership_of_every_recorded_time(warehouse: Warehouse) -> None:
    # forward, then two backfills: before the first and between two recorded times
    for as_of in (TIMES[1], TIMES[3]):
        assert snapshot(warehouse, as_of).exit_code == 0
    assert snapshot(warehouse, TIMES[0], "--backfill").exit_code == 0
    assert snapshot(warehouse, TIMES[2], "--backfill").exit_code == 0
    for as_of in TIMES:
        for name in NAMES:
            assert from_history(warehouse, name, as_of) == members(warehouse, name, as_of), (
                name,
                as_of,
            )
    runs = warehouse.rows("segdsl_runs")
    assert len(runs) == len(TIMES) * len(NAMES)
    assert {row[0] for row in runs} == {1, 2, 3, 4}


def test_the_same_as_of_twice_changes_nothing(warehouse: Warehouse) -> None:
    assert snapshot(warehouse, TIMES[1]).exit_code == 0
    before = warehouse.state()
    again = snapshot(warehouse, TIMES[1])
    assert again.exit_code == 0 and "nothing changed" in again.stderr
    assert warehouse.state() == before


def test_an_earlier_as_of_is_refused_without_backfill(warehouse: Warehouse) -> None:
    assert snapshot(warehouse, TIMES[2]).exit_code == 0
    before = warehouse.state()
    earlier = snapshot(warehouse, TIMES[1])
    assert earlier.exit_code == 1 and "SEG564" in earlier.stderr and "--backfill" in earlier.stderr
    assert warehouse.state() == before


def test_a_changed_definition_starts_a_new_history(warehouse: Warehouse, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(EXAMPLES, changed)
    lifecycle = changed / "lifecycle.seg"
    text = lifecycle.read_text()
    assert "segment loyal = orders_count >= 5" in text
    lifecycle.write_text(
        text.replace("segment loyal = orders_count >= 5", "segment loyal = orders_count >= 3")
    )
    assert snapshot(warehouse, TIMES[1]).exit_code == 0
    result = snapshot(warehouse, TIMES[3], "--format", "json", project=changed)
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    schema = json.loads((ROOT / "docs" / "schemas" / "snapshot.schema.json").read_text())
    Draft202012Validator(schema).validate(payload)
    report = {run["name"]: run for run in payload["definitions"]}
    assert report["loyal"]["definition_changed"] is True
    assert report["loyal"]["entered"] is None and report["loyal"]["left"] is None
    assert report["sleeping"]["definition_changed"] is False
    hashes = {row[4] for row in warehouse.rows("segdsl_runs") if row[2] == "loyal"}
    assert len(hashes) == 2
    history = [row for row in warehouse.rows("segdsl_history") if row[1] == "loyal"]
    old = [row for row in history if row[3] != report["loyal"]["hash"]]
    new = [row for row in history if row[3] == report["loyal"]["hash"]]
    # every interval of the old meaning ends where the new one begins
    assert old and all(row[5] == row[4].fromisoformat(TIMES[3]) for row in old)  # type: ignore[attr-defined]
    assert len(new) == report["loyal"]["members"]
    # changes across the change are evaluated, not read from the mixed history
    rows, note = changes(warehouse, "loyal", TIMES[1], TIMES[3], "--history", warehouse.schema)
    assert "by evaluating both times" in note and "another definition" in note
    before, after = members(warehouse, "loyal", TIMES[1]), members(warehouse, "loyal", TIMES[3])
    assert rows == expected_changes(before, after, labelled=False)


def test_tables_that_are_not_segdsl_s_are_never_touched(warehouse: Warehouse) -> None:
    schema = warehouse.schema
    direct_sql = [
        f'CREATE SCHEMA "{schema}"',
        f'CREATE TABLE "{schema}".segdsl_runs (x INTEGER)',
        f'INSERT INTO "{schema}".segdsl_runs VALUES (7)',
    ]
    _direct(warehouse.url, direct_sql)
    result = snapshot(warehouse, TIMES[1])
    assert result.exit_code == 1 and "SEG561" in result.stderr
    assert warehouse.rows("segdsl_runs") == [(7,)]
    assert "segdsl_history" not in _tables(warehouse)


def test_materialize_does_not_replace_the_history(warehouse: Warehouse) -> None:
    assert snapshot(warehouse, TIMES[1]).exit_code == 0
    before = warehouse.state()
    target = f"{warehouse.schema}.segdsl_history"
    result = seg("run", EXAMPLES, "--db", warehouse.url, "-s", "loyal", "--materialize", target)
    assert result.exit_code == 1 and "segdsl did not create it" in result.stderr
    assert warehouse.state() == before


def _direct(url: str, statements: list[str]) -> None:
    if url.startswith("duckdb"):
        import duckdb

        with duckdb.connect(url.removeprefix("duckdb:///")) as con:
            for statement in statements:
                con.execute(statement)
        return
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def _tables(wh: Warehouse) -> list[str]:
    with connect(wh.url) as engine:
        return engine.list_tables(wh.schema)


# ---------------------------------------------------------------- changes


@pytest.mark.parametrize("name", ["loyal", "lifecycle"])
def test_changes_agree_from_history_evaluation_and_two_runs(
    warehouse: Warehouse, name: str
) -> None:
    for as_of in TIMES:
        assert snapshot(warehouse, as_of).exit_code == 0
    labelled = name == "lifecycle"
    for since, until in [(TIMES[0], TIMES[1]), (TIMES[1], TIMES[3]), (TIMES[0], TIMES[3])]:
        expected = expected_changes(
            members(warehouse, name, since), members(warehouse, name, until), labelled
        )
        assert expected  # the demo's members do change over these weeks
        history, note = changes(warehouse, name, since, until, "--history", warehouse.schema)
        assert "from the history" in note
        evaluated, note = changes(warehouse, name, since, until)
        assert "by evaluating both times" in note
        assert history == evaluated == expected


def test_since_last_is_the_snapshot_before_the_last(warehouse: Warehouse) -> None:
    for as_of in TIMES[:3]:
        assert snapshot(warehouse, as_of).exit_code == 0
    result = seg(
        "changes",
        EXAMPLES,
        "--db",
        warehouse.url,
        "-s",
        "loyal",
        "--since",
        "LAST",
        "--history",
        warehouse.schema,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    assert f"from {TIMES[1]} 00:00:00 UTC to {TIMES[2]} 00:00:00 UTC" in result.stderr
    rows = {tuple(json.loads(line).values()) for line in result.stdout.splitlines()}
    assert rows == expected_changes(
        members(warehouse, "loyal", TIMES[1]), members(warehouse, "loyal", TIMES[2]), False
    )
    missing = seg("changes", EXAMPLES, "--db", warehouse.url, "-s", "loyal", "--since", "LAST")
    assert missing.exit_code == 2 and "SEG566" in missing.stderr


def test_changes_export_and_materialize(warehouse: Warehouse, tmp_path: Path) -> None:
    target = tmp_path / "entered.csv"
    result = seg(
        "changes",
        EXAMPLES,
        "--db",
        warehouse.url,
        "-s",
        "lifecycle",
        "--since",
        TIMES[1],
        "--until",
        TIMES[2],
        "-o",
        target,
    )
    assert result.exit_code == 0, result.stderr
    lines = target.read_text().splitlines()
    assert lines[0] == '"key","change","label_before","label_after"'
    expected = expected_changes(
        members(warehouse, "lifecycle", TIMES[1]), members(warehouse, "lifecycle", TIMES[2]), True
    )
    assert len(lines) == len(expected) + 1
    table = f"{warehouse.schema}_sync"
    _direct(warehouse.url, [f'CREATE SCHEMA IF NOT EXISTS "{table}"'])
    result = seg(
        "changes",
        EXAMPLES,
        "--db",
        warehouse.url,
        "-s",
        "lifecycle",
        "--since",
        TIMES[1],
        "--until",
        TIMES[2],
        "--materialize",
        f"{table}.lifecycle_moves",
    )
    assert result.exit_code == 0, result.stderr
    with connect(warehouse.url) as engine:
        stored = engine.query(f'SELECT * FROM "{table}"."lifecycle_moves"').to_pylist()
    assert {tuple(row.values()) for row in stored} == expected


# ---------------------------------------------------------------- crashes and locks


def _start(wh: Warehouse, as_of: str, stage: str, fifo: Path) -> subprocess.Popen[bytes]:
    names = [arg for name in NAMES for arg in ("-s", name)]
    env = {**os.environ, "SEGDSL_TEST_PAUSE": f"{stage}:{fifo}"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "segdsl",
            "snapshot",
            str(EXAMPLES),
            "--db",
            wh.url,
            "--into",
            wh.schema,
            "--as-of",
            as_of,
            *names,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    with open(fifo) as announced:  # returns when the writer has reached the stage
        assert announced.read() == f"{stage}\n"
    return process


@pytest.mark.parametrize(
    ("stage", "signum"),
    [("locked", signal.SIGKILL), ("written", signal.SIGKILL), ("written", signal.SIGINT)],
)
def test_a_snapshot_stopped_midway_leaves_the_history_as_it_was(
    warehouse: Warehouse, tmp_path: Path, stage: str, signum: int
) -> None:
    assert snapshot(warehouse, TIMES[1]).exit_code == 0
    before = warehouse.state()
    fifo = tmp_path / "pause"
    os.mkfifo(fifo)
    process = _start(warehouse, TIMES[2], stage, fifo)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0, stderr
    assert warehouse.state() == before
    # and the lock went with it: the next snapshot records the time
    assert snapshot(warehouse, TIMES[2]).exit_code == 0
    assert warehouse.state() != before


def test_a_second_snapshot_at_the_same_time_is_refused(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    assert snapshot(warehouse, TIMES[1]).exit_code == 0
    fifo = tmp_path / "pause"
    os.mkfifo(fifo)
    first = _start(warehouse, TIMES[2], "locked", fifo)
    try:
        second = snapshot(warehouse, TIMES[3])
        assert second.exit_code == 1 and "SEG562" in second.stderr, second.stderr
    finally:
        with open(fifo, "w"):  # let the first one go on
            pass
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    recorded = {row[1] for row in warehouse.rows("segdsl_runs")}
    assert len(recorded) == 2  # TIMES[1] and TIMES[2]; the refused one wrote nothing


def test_refusals_of_the_inputs(warehouse: Warehouse, tmp_path: Path) -> None:
    measure = seg(
        "snapshot",
        EXAMPLES,
        "--db",
        warehouse.url,
        "--into",
        warehouse.schema,
        "-s",
        "orders_count",
    )
    assert measure.exit_code == 2 and "SEG560" in measure.stderr
    backwards = seg(
        "changes",
        EXAMPLES,
        "--db",
        warehouse.url,
        "-s",
        "loyal",
        "--since",
        TIMES[3],
        "--until",
        TIMES[1],
    )
    assert backwards.exit_code == 2 and "SEG567" in backwards.stderr
    # a backfill before a run that recorded another definition of `loyal`
    changed = tmp_path / "changed"
    shutil.copytree(EXAMPLES, changed)
    lifecycle = changed / "lifecycle.seg"
    lifecycle.write_text(lifecycle.read_text().replace("orders_count >= 5", "orders_count >= 3"))
    assert snapshot(warehouse, TIMES[1]).exit_code == 0
    assert snapshot(warehouse, TIMES[3], project=changed).exit_code == 0
    before = warehouse.state()
    mixed = snapshot(warehouse, TIMES[2], "--backfill")
    assert mixed.exit_code == 1 and "SEG565" in mixed.stderr
    assert warehouse.state() == before


@pytest.mark.parametrize("dialect", ["spark", "clickhouse"])
def test_spark_and_clickhouse_keep_no_history(dialect: str) -> None:
    from segdsl.compiler import Compiler
    from segdsl.diagnostics import CompileError
    from segdsl.history.snapshot import snapshot as record
    from segdsl.project import load_project

    class StandIn:
        pass

    engine = StandIn()
    engine.dialect = dialect  # type: ignore[attr-defined]

    compiler = Compiler(load_project(EXAMPLES))
    with pytest.raises(CompileError) as refused:
        record(compiler, engine, ["loyal"], "hist", compiler.as_of(TIMES[0]))  # type: ignore[arg-type]
    assert [d.code for d in refused.value.diagnostics] == ["SEG563"]


def test_every_dialect_keeping_a_history_reads_its_tables_comments() -> None:
    """`keeps_history` goes with a catalogue query (the base Dialect has none)."""
    from segdsl.history import tables
    from segdsl.sql.dialects import DIALECTS

    keeping = sorted(name for name, d in DIALECTS.items() if d.keeps_history)
    assert keeping == ["bigquery", "duckdb", "postgres"]
    for name in keeping:
        sql = tables.comments_query("hist", name)  # type: ignore[arg-type]
        assert "'segdsl_history'" in sql and "'segdsl_runs'" in sql
        assert ("'segdsl_lock'" in sql) == DIALECTS[name].history_lock_table


def test_a_schema_named_like_the_duckdb_file(demo: Path, tmp_path: Path) -> None:
    """`history.duckdb` is the database `history`: `history.segdsl_runs` would be ambiguous."""
    copy = tmp_path / "history.duckdb"
    shutil.copy(demo, copy)
    wh = Warehouse(f"duckdb:///{copy}", "history")
    for as_of in TIMES[1:3]:
        assert snapshot(wh, as_of).exit_code == 0
    rows, note = changes(wh, "loyal", TIMES[1], TIMES[2], "--history", "history")
    assert "from the history" in note
    assert rows == expected_changes(
        members(wh, "loyal", TIMES[1]), members(wh, "loyal", TIMES[2]), False
    )
