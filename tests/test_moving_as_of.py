"""A moving as-of time (`seg compile --as-of now|param`) gives, at any instant, the rows
the literal-as-of SQL gives at that instant: on DuckDB, Postgres and GoogleSQL (ZetaSQL).

The moving query's one clock expression (or parameter) is replaced by each instant
(`clock.pin`) and its rows compared with those of the query compiled at that instant,
for the corpus's every definition in one membership table and for segments' member
queries, in UTC and in a zone whose clocks change. On DuckDB and Postgres the real
engines also bind the `as_of` parameter, and run the `now` query.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest
from typer.testing import CliRunner

from segdsl import ir
from segdsl.cli.main import app
from segdsl.compiler import Compiler
from segdsl.demo.warehouse import copy_to_postgres
from segdsl.engines import connect
from segdsl.project import load_project
from segdsl.settings import Settings
from segdsl.sql.clock import MovingAsOf, pin
from tests.corpus.fixture import TABLES
from tests.support.availability import require_postgres
from tests.support.demo_copies import DemoCopies
from tests.support.runners import (
    DEFAULT_POSTGRES_DSN,
    Runner,
    all_runners,
    close_all,
    sorted_rows,
)

CORPUS = Path(__file__).parent / "corpus"
EXAMPLES = Path(__file__).parents[1] / "examples"
INSTANTS = [
    dt.datetime(2025, 7, 1),
    dt.datetime(2025, 6, 14, 13, 45, 10),
    dt.datetime(2025, 3, 9, 2, 30),  # New York's clocks skip 02:00-03:00
    dt.datetime(2024, 11, 3, 1, 30),  # New York's 01:00-02:00 happens twice
    dt.datetime(2025, 2, 28, 23, 59, 59),
    dt.datetime(2024, 2, 29, 12, 0),
    dt.datetime(2024, 12, 31, 0, 0),
]
MEMBERS = [
    "loyal",
    "sleeping",
    "new_customers",
    "reminder_2h",
    "discount_3d",
    "women_35_45",
    "recent_signups",
    "replenishment",
    "december_buyers",
    "unengaged_90d",
    "active_monthly",
]


MOVING_ENGINES = ("duckdb", "postgres", "bigquery")


@pytest.fixture(scope="module")
def runners() -> Iterator[list[Runner]]:
    # the moving as-of is built for DuckDB, Postgres and BigQuery (SEG568 elsewhere)
    every = all_runners(TABLES)
    close_all([r for r in every if r.name not in MOVING_ENGINES])
    started = [r for r in every if r.name in MOVING_ENGINES]
    yield started
    close_all(started)


def _compiler(zone: str) -> Compiler:
    project = load_project(CORPUS)
    project = dataclasses.replace(project, settings=Settings(time_zone=zone))
    compiler = Compiler(project)
    assert compiler.analysis.ok, compiler.diagnostics
    return compiler


def _outputs(compiler: Compiler) -> list[tuple[str, ir.Expr]]:
    return [(name, d.expr) for name, d in compiler.analysis.definitions.items()]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("parameter", [None, "as_of"])
def test_moving_table_matches_the_literal_as_of(
    runners: list[Runner], zone: str, parameter: str | None
) -> None:
    compiler = _compiler(zone)
    outputs = _outputs(compiler)
    moving = MovingAsOf(compiler.project.settings.zone, parameter)
    differing = 0
    for runner in runners:
        builder = compiler.builder(outputs, runner.name, moving)
        assert builder.clock is not None
        tree = builder.table(outputs)
        rendered = builder.dialect.render(tree)
        assert ("@as_of" in rendered or "$as_of" in rendered or "%(as_of)s" in rendered) == (
            parameter is not None
        )
        seen = set()
        for instant in INSTANTS:
            fixed = compiler.builder(outputs, runner.name, instant)
            expected = sorted_rows(runner.query(fixed.dialect.render(fixed.table(outputs))))
            pinned = pin(tree, builder.clock, instant)
            got = sorted_rows(runner.query(builder.dialect.render(pinned)))
            assert got == expected, (runner.name, zone, instant)
            seen.add(repr(expected))
        differing = max(differing, len(seen))
    assert differing >= 4  # the instants do give different answers


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_moving_members_match_the_literal_as_of(runners: list[Runner], zone: str) -> None:
    compiler = _compiler(zone)
    moving = MovingAsOf(compiler.project.settings.zone)
    for runner in runners:
        for name in MEMBERS:
            condition = compiler.definition(name).expr
            builder = compiler.builder(
                [(name, condition)], runner.name, moving, members_of=condition
            )
            assert builder.clock is not None
            tree = builder.members(condition)
            for instant in INSTANTS:
                expected = runner.query(
                    compiler.members_sql(name, dialect=runner.name, as_of=instant)
                )
                pinned = builder.dialect.render(pin(tree, builder.clock, instant))
                assert sorted_rows(runner.query(pinned)) == sorted_rows(expected), (
                    runner.name,
                    zone,
                    name,
                    instant,
                )


def test_the_clock_is_one_expression(runners: list[Runner]) -> None:
    """Pinning leaves no clock behind: the pinned SQL reads no current time."""
    compiler = _compiler("America/New_York")
    outputs = _outputs(compiler)
    for runner in runners:
        builder = compiler.builder(outputs, runner.name, MovingAsOf(compiler.project.settings.zone))
        assert builder.clock is not None
        rendered = builder.dialect.render(builder.table(outputs))
        assert "CURRENT_TIMESTAMP" in rendered
        pinned = builder.dialect.render(pin(builder.table(outputs), builder.clock, INSTANTS[0]))
        assert "CURRENT_TIMESTAMP" not in pinned


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_copies: DemoCopies) -> Path:
    return demo_copies.copy(tmp_path_factory.mktemp("demo") / "demo.duckdb", scale=0.02).path


@pytest.fixture(scope="module")
def pg_demo(demo: Path) -> Iterator[str]:
    require_postgres(DEFAULT_POSTGRES_DSN)
    name = f"moving_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(DEFAULT_POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = psycopg.conninfo.make_conninfo(DEFAULT_POSTGRES_DSN, dbname=name)
        copy_to_postgres(demo, url)
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(DEFAULT_POSTGRES_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("engine_name", ["duckdb", "postgres"])
def test_engines_bind_the_parameter_and_read_the_clock(
    request: pytest.FixtureRequest, demo: Path, engine_name: str
) -> None:
    url = f"duckdb:///{demo}" if engine_name == "duckdb" else request.getfixturevalue("pg_demo")
    compiler = Compiler(load_project(EXAMPLES))
    names = ["loyal", "sleeping", "lifecycle", "new_customers"]
    param = compiler.moving_as_of("param")
    now = compiler.moving_as_of("now")
    assert param is not None and now is not None
    with connect(url) as engine:
        moving = compiler.table_sql(names, dialect=engine_name, as_of=param)
        for instant in INSTANTS[:3]:
            expected = engine.query(compiler.table_sql(names, dialect=engine_name, as_of=instant))
            got = engine.query(moving, params={"as_of": instant})
            assert sorted(map(repr, got.to_pylist())) == sorted(map(repr, expected.to_pylist()))
        # `now` runs (the demo ends in 2025: nobody is new now)
        rows = engine.query(compiler.table_sql(names, dialect=engine_name, as_of=now)).to_pylist()
        assert rows and not any(row["new_customers"] for row in rows)


def test_a_view_as_of_now_moves(demo: Path, tmp_path: Path) -> None:
    """`seg run --materialize --view --as-of now` stores SQL that reads the clock, not
    a time: the demo's data ends in 2025, so now every buyer is sleeping."""
    copy = tmp_path / "demo.duckdb"
    shutil.copy(demo, copy)
    url = f"duckdb:///{copy}"
    result = CliRunner().invoke(
        app,
        [
            "run",
            str(EXAMPLES),
            "--db",
            url,
            "-s",
            "sleeping",
            "--materialize",
            "main.sleeping_now",
            "--view",
            "--as-of",
            "now",
        ],
    )
    assert result.exit_code == 0, result.stderr
    with duckdb.connect(str(copy), read_only=True) as con:
        definition = con.execute(
            "SELECT sql FROM duckdb_views() WHERE view_name = 'sleeping_now'"
        ).fetchall()[0][0]
        assert "current_timestamp" in definition.lower() and "2025-07-01" not in definition
        in_view = {row[0] for row in con.execute("SELECT * FROM main.sleeping_now").fetchall()}
    # everyone who bought and then not for 6 months: since the data ends in 2025, every buyer
    compiler = Compiler(load_project(EXAMPLES))
    with connect(url) as engine:
        buyers = {
            r["id"]
            for r in engine.query(
                compiler.members_sql("buyers", dialect="duckdb", as_of="2030-01-01")
            ).to_pylist()
        }
    assert in_view == buyers and buyers


@pytest.mark.parametrize("dialect", ["spark", "clickhouse"])
@pytest.mark.parametrize("as_of", ["now", "param"])
def test_engines_without_a_moving_as_of_refuse_it(dialect: str, as_of: str) -> None:
    """SQL computing its as-of time is built for DuckDB, Postgres and BigQuery only: the
    other dialects get SEG568, never SQL whose time does not move."""
    result = CliRunner().invoke(
        app, ["compile", str(EXAMPLES), "-s", "loyal", "--dialect", dialect, "--as-of", as_of]
    )
    assert result.exit_code == 1
    assert "SEG568" in result.stderr and not result.stdout
