"""Hostile string literals and names never run a second statement (Postgres and DuckDB).

The Postgres database here has ``standard_conforming_strings = off``, where a
backslash escapes a quote: before the fix the literal ``a\\'; DROP TABLE
public.victim; --`` in a `.seg` file ended its string early and the
materialize statement (sent through the simple protocol) dropped the table.
Every statement segdsl sends runs against it; the victim must survive, and a
row holding exactly the literal must be matched.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from segdsl.compiler import Compiler
from segdsl.engines import Engine, EngineError, connect
from segdsl.engines.postgres_engine import _execute
from segdsl.execute import rows_sql
from segdsl.project import Project
from segdsl.settings import Settings
from tests.engines.conftest import POSTGRES_DSN
from tests.support.availability import require_postgres
from tests.support.demo_copies import DemoCopies

DROP = "a\\'; DROP TABLE public.victim; --"
AS_OF = dt.datetime(2025, 1, 1)

# pieces that break out of a literal, a comment or a statement in some engine setting
_PIECES = [
    "'",
    "''",
    "\\",
    "\\'",
    '"',
    ";",
    "--",
    "/*",
    "*/",
    "$$",
    "$tag$",
    "E'",
    "U&'",
    "%s",
    "%(x)s",
    "$1",
    "?",
    "{}",
    "\n",
    "\t",
    "\r",
    "é",
    "☃",
    "𝄞",
    "\u2028",
    "; DROP TABLE public.victim; --",
    "'); DROP TABLE victim; --",
    " OR 1=1 ",
]
HOSTILE = st.lists(
    st.sampled_from(_PIECES)
    | st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=4),
    min_size=1,
    max_size=8,
).map("".join)


def seg_literal(value: str) -> str:
    """``value`` as a .seg string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped.replace("\t", "\\t") + '"'


def members_sql(value: str, dialect: str) -> str:
    text = (
        "segdsl 1\n"
        "entity person from people {\n  key id\n  name: string\n}\n"
        f"segment hit = name = {seg_literal(value)}\n"
    )
    compiler = Compiler(Project.from_text(text, settings=Settings(dialect=dialect)))
    compiler.raise_for_errors()
    return rows_sql(compiler, ["hit"], dialect, AS_OF)


# ---------------------------------------------------------------- the legacy database


@pytest.fixture(scope="module")
def legacy_url() -> Iterator[str]:
    """A fresh database with ``standard_conforming_strings = off``, dropped afterwards."""
    require_postgres(POSTGRES_DSN)
    name = f"segdsl_legacy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(f'ALTER DATABASE "{name}" SET standard_conforming_strings = off')
    parts = conninfo_to_dict(make_conninfo(POSTGRES_DSN, dbname=name))
    user, host, port = parts.get("user", "postgres"), parts.get("host"), parts.get("port", 5432)
    url = f"postgresql://{user}@{host}:{port}/{name}"
    try:
        with psycopg.connect(make_conninfo(POSTGRES_DSN, dbname=name), autocommit=True) as conn:
            assert conn.execute("SHOW standard_conforming_strings").fetchone() == ("off",)
            conn.execute("CREATE TABLE public.victim (x integer)")
            conn.execute("INSERT INTO public.victim VALUES (1)")
            conn.execute("CREATE TABLE public.people (id integer, name text)")
        yield url
    finally:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg(legacy_url: str) -> Iterator[Engine]:
    with connect(legacy_url) as engine:
        yield engine
    assert victim_survives(legacy_url)


def victim_survives(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT to_regclass('public.victim') IS NOT NULL").fetchone()
        return found == (True,)


def set_people(url: str, value: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM public.people")
        conn.execute("INSERT INTO public.people VALUES (1, %s), (2, 'other')", [value])


# ---------------------------------------------------------------- each statement


def test_the_reported_literal_no_longer_drops_the_table(pg: Engine, legacy_url: str) -> None:
    set_people(legacy_url, DROP)
    sql = members_sql(DROP, "postgres")
    pg.materialize(sql, "public.hits")
    assert victim_survives(legacy_url)
    assert pg.query("SELECT id FROM public.hits").to_pylist() == [{"id": 1}]
    pg.materialize(sql, "public.hits_view", kind="view")
    assert pg.query("SELECT id FROM public.hits_view").to_pylist() == [{"id": 1}]


def test_query_and_explain_keep_the_victim(pg: Engine, legacy_url: str) -> None:
    set_people(legacy_url, DROP)
    sql = members_sql(DROP, "postgres")
    assert pg.query(sql).to_pylist() == [{"id": 1}]
    assert "people" in pg.explain(sql)
    assert victim_survives(legacy_url)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; DROP TABLE public.victim",
        "SELECT 1 AS a; DROP TABLE public.victim; --",
    ],
)
def test_two_statements_are_refused_everywhere(pg: Engine, legacy_url: str, sql: str) -> None:
    for call in (pg.query, pg.explain, lambda s: pg.materialize(s, "public.two")):
        with pytest.raises(EngineError):
            call(sql)
    assert victim_survives(legacy_url)


def test_the_protocol_runs_one_command_only(legacy_url: str) -> None:
    with psycopg.connect(legacy_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.SyntaxError):
            _execute(conn, "SELECT 1; DROP TABLE public.victim")
        assert conn.execute("SELECT 1; SELECT 2").fetchall()  # what the simple protocol does
    assert victim_survives(legacy_url)


@pytest.mark.parametrize(
    "name",
    [
        "x'; DROP TABLE public.victim; --",
        'x"; DROP TABLE public.victim; --',
        "x\\'; DROP TABLE public.victim; --",
    ],
)
def test_hostile_names_in_catalog_calls(pg: Engine, legacy_url: str, name: str) -> None:
    with pytest.raises(EngineError) as caught:
        pg.describe_tables([("public", name)])
    assert caught.value.kind == "not_found"
    assert pg.list_tables(name) == []
    pg.materialize("SELECT 1 AS a", ("public", name))
    assert name in pg.list_tables("public")
    assert victim_survives(legacy_url)


def test_the_demo_copy_keeps_the_victim(
    legacy_url: str, tmp_path: Path, demo_copies: DemoCopies
) -> None:
    from segdsl.demo import copy_to_postgres

    demo = tmp_path / "demo.duckdb"
    summary = demo_copies.copy(demo, scale=0.01)
    with psycopg.connect(legacy_url) as conn:
        dsn = conn.info.dsn
    assert copy_to_postgres(demo, dsn, "shop") == summary.row_counts
    assert victim_survives(legacy_url)


# ---------------------------------------------------------------- generated literals


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=HOSTILE)
def test_generated_literals_round_trip_on_postgres(pg: Engine, legacy_url: str, value: str) -> None:
    set_people(legacy_url, value)
    sql = members_sql(value, "postgres")
    assert pg.query(sql).to_pylist() == [{"id": 1}]
    pg.materialize(sql, "public.generated")
    assert pg.query("SELECT id FROM public.generated").to_pylist() == [{"id": 1}]
    assert victim_survives(legacy_url)


@settings(max_examples=100, deadline=None)
@given(value=HOSTILE)
def test_generated_literals_round_trip_on_duckdb(value: str) -> None:
    with connect("duckdb://") as engine:
        con = engine.connection  # type: ignore[attr-defined]
        con.execute("CREATE TABLE victim (x INTEGER)")
        con.execute("CREATE TABLE people (id INTEGER, name VARCHAR)")
        con.execute("INSERT INTO people VALUES (1, ?), (2, 'other')", [value])
        sql = members_sql(value, "duckdb")
        assert engine.query(sql).to_pylist() == [{"id": 1}]
        engine.materialize(sql, "generated")
        assert engine.query("SELECT id FROM generated").to_pylist() == [{"id": 1}]
        assert engine.list_tables() == ["generated", "people", "victim"]
