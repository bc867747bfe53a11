"""User names never collide in SQL (issue 18.6–18.8): measures, segments and
classifiers named like twins in case (`n`, `N`: DuckDB and BigQuery fold case), like
the query's own columns (`population`), or alike in their first 63 bytes (Postgres
truncates) get the same members, sizes, label counts and overlaps on DuckDB, Postgres
and GoogleSQL as the reference evaluator gives; a member table whose columns would
share a name on the engine is refused (SEG410), never silently wrong. Warehouse tables
named like the query's own relations (`population`, `steps`, …) are read as themselves.

SEGDSL_NAME_EXAMPLES sets the number of generated projects (default 40).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segdsl import execute
from segdsl.compiler import Compiler
from segdsl.diagnostics import CompileError
from segdsl.project import Project, load_project
from segdsl.sql.dialects import get_dialect
from segdsl.trend import sizes_trend_sql, steps
from tests.corpus.fixture import TABLES as CORPUS_TABLES
from tests.generators import AS_OF_CHOICES, MODEL, datasets, named_projects, shop_tables
from tests.support.availability import require_postgres
from tests.support.reference import evaluate_members, evaluate_values, population_keys
from tests.support.runner_engine import RunnerEngine
from tests.support.runners import (
    DEFAULT_POSTGRES_DSN,
    DuckDBRunner,
    PostgresRunner,
    Runner,
    ZetaSQLRunner,
    all_runners,
    close_all,
    normalize_value,
)
from tests.support.tables import TableSpec

EXAMPLES = int(os.environ.get("SEGDSL_NAME_EXAMPLES", "40"))


def check_project(
    text: str,
    segments: Sequence[str],
    classifiers: Sequence[str],
    tables: tuple[TableSpec, ...],
    as_of: dt.datetime,
) -> None:
    """Members, sizes, label counts, overlaps and the member table of every engine
    against the reference evaluator."""
    require_postgres()
    compiler = Compiler(Project.from_text(text))
    assert compiler.analysis.ok, [d.message for d in compiler.diagnostics]
    moment = compiler.as_of(as_of)
    population = population_keys(compiler, tables, moment)
    expected = {
        name: evaluate_members(compiler, compiler.definition(name).expr, tables, moment)
        for name in segments
    }
    labels = {
        name: evaluate_values(compiler, compiler.definition(name).expr, tables, moment)
        for name in classifiers
    }
    runners: list[Runner] = []
    try:
        runners = [DuckDBRunner(tables), PostgresRunner(tables), ZetaSQLRunner(tables)]
        for runner in runners:
            engine: Any = RunnerEngine(runner)
            where = runner.name
            for name in segments:
                sql = compiler.members_sql(name, dialect=runner.name, as_of=as_of)
                assert {row[0] for row in runner.query(sql)} == expected[name], (where, name)
            names = [*segments, *classifiers]
            sizes = execute.run_sizes(compiler, engine, names, moment)
            assert sizes.population == len(population), where
            assert sizes.segments == {n: len(expected[n]) for n in segments}, where
            for name in classifiers:
                assert sizes.labels[name] == dict(Counter(labels[name].values())), (where, name)
            _, matrix = execute.run_overlap(compiler, engine, segments, moment)
            assert matrix == {
                a: {b: len(expected[a] & expected[b]) for b in segments} for a in segments
            }, where
            check_member_table(compiler, engine, names, expected, labels, moment)
    finally:
        close_all(runners)


def check_member_table(
    compiler: Compiler,
    engine: Any,
    names: list[str],
    expected: dict[str, set[object]],
    labels: dict[str, dict[object, object]],
    moment: object,
) -> None:
    """The membership table (`seg run --all --output`): refused where two columns would
    share a name on the engine, otherwise one correct row per member."""
    dialect = get_dialect(engine.dialect)
    columns = ["id", *names]
    collide = len({dialect.column_key(c) for c in columns}) < len(columns)
    try:
        sql = execute.rows_sql(compiler, names, engine.dialect, moment)  # type: ignore[arg-type]
    except CompileError as error:
        assert collide, (engine.dialect, error)
        assert {d.code for d in error.diagnostics} == {"SEG410"}
        return
    assert not collide, (engine.dialect, columns)
    rows = engine.query(sql).to_pylist()
    for row in rows:
        key = row["id"]
        for name in names:
            if name in labels:
                assert row[name] == labels[name][key], (engine.dialect, name, key)
            else:
                assert row[name] == (key in expected[name]), (engine.dialect, name, key)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_adversarial_names_agree_with_the_reference(data: st.DataObject) -> None:
    text, segments, _, classifier = data.draw(named_projects())
    as_of = data.draw(st.sampled_from(AS_OF_CHOICES))
    check_project(text, segments, [classifier], data.draw(datasets(as_of)), as_of)


LONG = "a" * 63


@pytest.mark.parametrize(
    ("definitions", "segments"),
    [
        # 18.6: DuckDB read `n` for `N` (no members); BigQuery: "Name n is ambiguous"
        (
            "measure n = count orders\nmeasure N = sum(amount) of orders\n"
            "segment big = N > 100\nsegment many = n > 1",
            ["big", "many"],
        ),
        # 18.7: two result columns named population
        (
            "segment population = orders_n > 0\nsegment other = orders_n > 1",
            ["population", "other"],
        ),
        # 18.8: Postgres cut both names to the same 63 bytes
        (
            f"segment {LONG}x = orders_n > 0\nsegment {LONG}y = orders_n > 1\n"
            f"measure {LONG}m = count orders\nsegment z = {LONG}m > 2",
            [f"{LONG}x", f"{LONG}y", "z"],
        ),
    ],
    ids=["case_twins", "population", "long_names"],
)
def test_reported_name_collisions(definitions: str, segments: list[str]) -> None:
    as_of = dt.datetime(2025, 7, 1)
    tables = _shop(as_of)
    check_project(f"{MODEL}\n{definitions}\n", segments, [], tables, as_of)


def _shop(as_of: dt.datetime) -> tuple[TableSpec, ...]:
    """Customers 1–3 with 0, 2 and 3 paid orders of 60 each (sizes 2/1 for `> 0`/`> 1`,
    revenue over 100 for customers 2 and 3)."""
    signed = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    customers = [(key, signed, "A", None, 1.0) for key in (1, 2, 3)]
    when = as_of - dt.timedelta(days=3)
    orders = [(key, when, 10 * key + i, Decimal(60), "paid") for key in (2, 3) for i in range(key)]
    return shop_tables(customers, orders)


def test_member_table_with_case_twins_is_refused_where_they_collide() -> None:
    """`n` and `N` as columns: one name on DuckDB and BigQuery (SEG410 at the second
    definition; Spark too), two on Postgres."""
    text = f"{MODEL}\nsegment n = orders_n > 0\nsegment N = orders_n > 1\n"
    compiler = Compiler(Project.from_text(text))
    for dialect in ("duckdb", "bigquery", "spark"):
        with pytest.raises(CompileError) as raised:
            execute.rows_sql(compiler, ["n", "N"], dialect, "2025-07-01")
        (diagnostic,) = raised.value.diagnostics
        assert diagnostic.code == "SEG410" and "`n` and `N`" in diagnostic.message
        assert diagnostic.span.line == text.count("\n", 0, text.index("segment N")) + 1
    assert "N" in execute.rows_sql(compiler, ["n", "N"], "postgres", "2025-07-01")


# the corpus's tables under the names of the query's own CTEs (one-part names, as a
# warehouse's default schema gives them), beside the tables under their own names
OWN_RELATION_NAMES = {
    "customers": "population",
    "orders": "candidates",
    "order_items": "ranked_1",
    "events": "steps",
    "visits": "intervals",
}
CORPUS = Path(__file__).parent / "corpus"


def test_tables_named_like_the_querys_own_relations() -> None:
    """Every corpus definition's member table (on every engine), each segment's members
    and the trend over four month ends are the same whether the warehouse's tables have
    their names or the names of the query's own CTEs, which shadowed them (the CTE
    `candidates` was read for the table: every engine refused `composite`; DuckDB refused
    the trend, `steps` being both the table and the spine)."""
    require_postgres()
    plain = Compiler(load_project(CORPUS))
    renamed_sources = [
        dataclasses.replace(source, text=_renamed_tables(source.text))
        for source in plain.project.sources
    ]
    assert renamed_sources != plain.project.sources
    renamed = Compiler(Project.from_sources(renamed_sources, plain.project.settings, []))
    assert renamed.analysis.ok, renamed.diagnostics
    names = list(plain.analysis.definitions)
    segments = [n for n in names if plain.definition(n).kind == "segment"]
    tables = [
        *CORPUS_TABLES,
        *(dataclasses.replace(t, name=OWN_RELATION_NAMES[t.name]) for t in CORPUS_TABLES),
    ]
    at = steps(plain, "2024-10-31", "2025-01-31", "1mo")
    compilers = {"plain": plain, "renamed": renamed}
    runners = all_runners(tables)
    try:
        for runner in runners:
            rows = {
                label: sorted(
                    repr(_normalized(row))
                    for row in runner.query(execute.rows_sql(compiler, names, runner.name, at[-1]))
                )
                for label, compiler in compilers.items()
            }
            assert rows["plain"] == rows["renamed"], runner.name
            assert len(rows["plain"]) >= 5
            if runner.name not in ("duckdb", "postgres"):
                continue  # the same renaming in every dialect; their queries take seconds
            for name in segments:
                members = [
                    {
                        row[0]
                        for row in runner.query(
                            compiler.members_sql(name, dialect=runner.name, as_of=at[-1])
                        )
                    }
                    for compiler in compilers.values()
                ]
                assert members[0] == members[1], (runner.name, name)
            sizes = {
                label: runner.query(
                    sizes_trend_sql(compiler, segments, runner.name, at, distinct=False)
                )
                for label, compiler in compilers.items()
            }
            assert sizes["plain"] == sizes["renamed"], runner.name
    finally:
        close_all(runners)


def _renamed_tables(text: str) -> str:
    for name, own in OWN_RELATION_NAMES.items():
        text = text.replace(f" from {name} {{", f" from {own} {{")
    return text


def _normalized(row: Sequence[object]) -> tuple[object, ...]:
    return tuple(normalize_value(value) for value in row)


def test_a_renamed_cte_takes_no_declared_tables_alias() -> None:
    """`table events from steps` renames the spine `steps`; a declared table `steps_2`
    keeps that alias, so the spine takes another name (Postgres refuses a name twice in
    one FROM)."""
    text = (
        "segdsl 1\nentity customer from customers {\n  key id\n}\n"
        "table events from steps {\n  link customer_id to customer\n  time t: timestamp\n}\n"
        "table steps_2 from orders {\n  link customer_id to customer\n  time t: timestamp\n}\n"
        "segment a = count events during last 30d > 0\n"
        "segment b = count steps_2 during last 30d > 0\n"
    )
    compiler = Compiler(Project.from_text(text))
    at = steps(compiler, "2025-01-31", "2025-03-31", "1mo")
    require_postgres()
    con = psycopg.connect(DEFAULT_POSTGRES_DSN, autocommit=True)
    schema = f"names_{os.getpid()}"
    try:
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(f"SET search_path TO {schema}")
        con.execute("CREATE TABLE customers (id int)")
        con.execute("INSERT INTO customers VALUES (1), (2)")
        con.execute("CREATE TABLE steps (customer_id int, t timestamp)")
        con.execute("INSERT INTO steps VALUES (1, '2025-03-20')")
        con.execute("CREATE TABLE orders (customer_id int, t timestamp)")
        con.execute("INSERT INTO orders VALUES (2, '2025-03-20'), (2, '2025-03-21')")
        sql = sizes_trend_sql(compiler, ["a", "b"], "postgres", at, distinct=False)
        rows = con.execute(sql).fetchall()
        assert [row[-2:] for row in rows] == [(0, 0), (0, 0), (1, 1)]
    finally:
        con.execute(f"DROP SCHEMA {schema} CASCADE")
        con.close()
