"""A run without a pinned as-of time says it uses now, and warns when the data it reads
ends long before (DuckDB and Postgres)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest
from typer.testing import CliRunner, Result

from segdsl.cli.main import app
from segdsl.sql.freshness import timed_tables
from segdsl.timeline import AsOf
from tests.support.availability import require_postgres
from tests.support.runners import DEFAULT_POSTGRES_DSN

runner = CliRunner()
NOW = dt.datetime(2026, 12, 7, 5, 40)
NOTE = (
    "note: as-of time not pinned: using now, 2026-12-07T05:40:00+00:00; "
    "pin it with --as-of or as_of in seg.toml"
)
OLD = dt.datetime(2025, 7, 1, 0, 0)  # 524 days before NOW
FRESH = dt.datetime(2026, 12, 1, 9, 0)

PROJECT = """segdsl 1
entity customer from {schema}.customers {{
  key id
}}
table orders from {schema}.orders {{
  link customer_id to customer
  time ordered_at: {storage}
}}
table visits from {schema}.visits {{
  link customer_id to customer
  time seen_at: timestamp
}}
segment buyers = exists orders
segment visitors = exists visits
segment everyone = true
"""


@pytest.fixture(autouse=True)
def _now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AsOf, "now", classmethod(lambda cls, zone: cls(NOW, zone)))


def project(tmp_path: Path, schema: str, storage: str = "timestamp", toml: str = "") -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "seg.toml").write_text(toml)
    (folder / "model.seg").write_text(PROJECT.format(schema=schema, storage=storage))
    return folder


def invoke(*args: str) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


Load = Callable[[dt.datetime, dt.datetime], str]


@pytest.fixture
def duckdb_data(tmp_path: Path) -> Load:
    def load(orders: dt.datetime, visits: dt.datetime) -> str:
        path = tmp_path / f"shop-{uuid.uuid4().hex[:6]}.duckdb"
        with duckdb.connect(str(path)) as con:
            con.execute("CREATE SCHEMA shop")
            con.execute("CREATE TABLE shop.customers AS SELECT * FROM range(3) AS t(id)")
            con.execute(
                "CREATE TABLE shop.orders AS SELECT 1 AS customer_id, ? AS ordered_at "
                "UNION ALL SELECT 2, ? - INTERVAL 400 DAY",
                [orders, orders],
            )
            con.execute(
                "CREATE TABLE shop.visits AS SELECT 1 AS customer_id, ? AS seen_at", [visits]
            )
        return f"duckdb:///{path}"

    return load


def test_unpinned_run_says_so_and_warns_about_old_data(tmp_path: Path, duckdb_data: Load) -> None:
    db = duckdb_data(OLD, FRESH)
    folder = project(tmp_path, "shop")
    result = invoke("run", str(folder), "--db", db, "--format", "json")
    assert json.loads(result.stdout)["as_of"] == "2026-12-07T05:40:00+00:00"
    assert result.stderr.splitlines() == [
        NOTE,
        "warning: newest row of `orders` is 2025-07-01, 524 days before the as-of time",
    ]  # visits is 5 days old: fresh


def test_only_the_tables_the_selected_definitions_read_are_checked(
    tmp_path: Path, duckdb_data: Load
) -> None:
    db = duckdb_data(OLD, FRESH)
    folder = project(tmp_path, "shop")
    assert invoke("run", str(folder), "--db", db, "-s", "visitors").stderr.splitlines() == [NOTE]
    assert invoke("run", str(folder), "--db", db, "-s", "everyone").stderr.splitlines() == [NOTE]


def test_fresh_data_gets_the_note_only(tmp_path: Path, duckdb_data: Load) -> None:
    db = duckdb_data(FRESH, FRESH)
    folder = project(tmp_path, "shop")
    for command in (
        ["run", str(folder), "--db", db],
        ["overlap", str(folder), "--db", db, "-s", "buyers", "-s", "visitors"],
        ["explain", str(folder), "--db", db, "-s", "buyers"],
        ["why", "1", str(folder), "--db", db, "-s", "buyers"],
    ):
        assert invoke(*command).stderr.splitlines()[0] == NOTE, command


def test_every_command_that_runs_warns(tmp_path: Path, duckdb_data: Load) -> None:
    db = duckdb_data(OLD, OLD)
    folder = project(tmp_path, "shop")
    for command in (
        ["overlap", str(folder), "--db", db, "-s", "buyers", "-s", "visitors"],
        ["explain", str(folder), "--db", db, "-s", "buyers", "--format", "json"],
        ["why", "1", str(folder), "--db", db, "-s", "buyers"],
        ["run", str(folder), "--db", db, "-s", "buyers", "--members"],
    ):
        lines = invoke(*command).stderr.splitlines()
        assert lines[0] == NOTE and "newest row of `orders` is 2025-07-01" in lines[1], command


def test_a_pinned_as_of_gets_neither(tmp_path: Path, duckdb_data: Load) -> None:
    db = duckdb_data(OLD, OLD)
    flag = invoke("run", str(project(tmp_path, "shop")), "--db", db, "--as-of", "2026-12-01")
    assert flag.stderr == ""
    (tmp_path / "project").rename(tmp_path / "flagged")
    pinned = project(tmp_path, "shop", toml='as_of = "2026-12-01"\n')
    assert invoke("run", str(pinned), "--db", db).stderr == ""


def test_timestamptz_and_date_columns(tmp_path: Path) -> None:
    path = tmp_path / "tz.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA shop")
        con.execute("CREATE TABLE shop.customers AS SELECT * FROM range(3) AS t(id)")
        # 23:30 in New York on 2025-06-30 is 2025-07-01 03:30 UTC
        con.execute(
            "CREATE TABLE shop.orders AS SELECT 1 AS customer_id, "
            "TIMESTAMPTZ '2025-06-30 23:30:00-04:00' AS ordered_at"
        )
        con.execute(
            "CREATE TABLE shop.visits AS SELECT 1 AS customer_id, DATE '2025-07-01' AS seen_at"
        )
    folder = project(tmp_path, "shop", storage="timestamptz")
    result = invoke("run", str(folder), "--db", f"duckdb:///{path}")
    assert result.stderr.splitlines()[1:] == [
        "warning: newest row of `orders` is 2025-07-01, 524 days before the as-of time",
        "warning: newest row of `visits` is 2025-07-01, 524 days before the as-of time",
    ]


def test_timed_tables_follow_derived_tables_and_measures() -> None:
    from segdsl.compiler import Compiler
    from segdsl.project import load_project

    compiler = Compiler(load_project(Path(__file__).resolve().parents[1] / "examples"))
    loyal = timed_tables([compiler.definition("loyal").expr])  # via paid_orders, a measure
    assert [(t.name, t.source, t.column) for t in loyal] == [
        ("orders", ("shop", "orders"), "ordered_at")
    ]


@pytest.fixture
def postgres_data() -> Iterator[tuple[str, Load]]:
    require_postgres(DEFAULT_POSTGRES_DSN)
    schema = f"segdsl_fresh_{uuid.uuid4().hex[:10]}"

    def load(orders: dt.datetime, visits: dt.datetime) -> str:
        with psycopg.connect(DEFAULT_POSTGRES_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')
            conn.execute(f'CREATE TABLE "{schema}".customers AS SELECT generate_series(0, 2) AS id')
            conn.execute(f'CREATE TABLE "{schema}".orders (customer_id int, ordered_at timestamp)')
            conn.execute(f'INSERT INTO "{schema}".orders VALUES (1, %s)', [orders])
            conn.execute(f'CREATE TABLE "{schema}".visits (customer_id int, seen_at timestamp)')
            conn.execute(f'INSERT INTO "{schema}".visits VALUES (1, %s)', [visits])
        return DEFAULT_POSTGRES_DSN

    try:
        yield schema, load
    finally:
        with psycopg.connect(DEFAULT_POSTGRES_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_postgres_old_and_fresh(tmp_path: Path, postgres_data: tuple[str, Load]) -> None:
    schema, load = postgres_data
    folder = project(tmp_path, schema)
    old = invoke("run", str(folder), "--db", load(OLD, FRESH))
    assert old.stderr.splitlines() == [
        NOTE,
        "warning: newest row of `orders` is 2025-07-01, 524 days before the as-of time",
    ]
    fresh = invoke("run", str(folder), "--db", load(FRESH, FRESH))
    assert fresh.stderr.splitlines() == [NOTE]
