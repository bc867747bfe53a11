"""An entity table with rows without a key or repeating one (issue 18.11): members are
the distinct non-NULL keys — sizes, label counts, overlaps and member lists count each
once on DuckDB, Postgres and GoogleSQL (a repeated key is a member when one of its rows
qualifies) — and `seg validate --check-data` reports the rows (SEG411, a warning).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from segdsl import execute
from segdsl.cli.main import app
from segdsl.compiler import Compiler
from segdsl.project import Project
from tests.generators import AS_OF_CHOICES, MODEL, conditions, datasets, shop_tables
from tests.support.availability import require_postgres
from tests.support.reference import evaluate_members, population_keys
from tests.support.runner_engine import RunnerEngine
from tests.support.runners import DuckDBRunner, PostgresRunner, Runner, ZetaSQLRunner, close_all
from tests.support.tables import TableSpec

EXAMPLES = int(os.environ.get("SEGDSL_KEY_EXAMPLES", "30"))


def with_bad_keys(
    tables: tuple[TableSpec, ...], copies: list[int], without_key: int
) -> tuple[TableSpec, ...]:
    """The tables with the customers at positions `copies` repeated (exact copies) and
    `without_key` rows added that have no key."""
    customers = next(spec for spec in tables if spec.name == "customers")
    rows = list(customers.rows)
    repeated = [rows[i % len(rows)] for i in copies]
    nameless = [(None, *rows[i % len(rows)][1:]) for i in range(without_key)]
    bad = dataclasses.replace(customers, rows=tuple(rows + repeated + nameless))
    return tuple(bad if spec.name == "customers" else spec for spec in tables)


def check(clean: tuple[TableSpec, ...], bad: tuple[TableSpec, ...], segments: list[str]) -> None:
    """On the bad tables every engine gives what the reference gives on the clean ones:
    member lists without repeats, sizes and overlaps of distinct keys."""
    require_postgres()
    text = MODEL + "".join(f"segment s{i} = {c}\n" for i, c in enumerate(segments))
    compiler = Compiler(Project.from_text(text))
    as_of = compiler.as_of("2025-07-01")
    names = [f"s{i}" for i in range(len(segments))]
    expected = {
        n: evaluate_members(compiler, compiler.definition(n).expr, clean, as_of) for n in names
    }
    population = population_keys(compiler, clean, as_of)
    runners: list[Runner] = []
    try:
        runners = [DuckDBRunner(bad), PostgresRunner(bad), ZetaSQLRunner(bad)]
        for runner in runners:
            engine: Any = RunnerEngine(runner)
            for name in names:
                sql = compiler.members_sql(name, dialect=runner.name, as_of=as_of)
                keys = [row[0] for row in runner.query(sql)]
                assert len(keys) == len(set(keys)), (runner.name, name, "repeated members")
                assert set(keys) == expected[name], (runner.name, name)
                rows = execute.rows_sql(compiler, [name], runner.name, as_of)
                listed = [row[0] for row in runner.query(rows)]
                assert sorted(listed) == sorted(expected[name]), (runner.name, name, "rows")
            sizes = execute.run_sizes(compiler, engine, names, as_of)
            assert sizes.population == len(population), runner.name
            assert sizes.segments == {n: len(expected[n]) for n in names}, runner.name
            _, matrix = execute.run_overlap(compiler, engine, names, as_of)
            assert matrix == {
                a: {b: len(expected[a] & expected[b]) for b in names} for a in names
            }, runner.name
    finally:
        close_all(runners)


def test_null_and_repeated_keys_count_once() -> None:
    """The reported case: 7 rows for 5 keys gave a population of 7."""
    signed = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    customers = [(key, signed, "A", None, 1.0) for key in range(1, 6)]
    when = dt.datetime(2025, 6, 1)
    orders = [(2, when, 1, Decimal(5), "paid"), (3, when, 2, Decimal(5), "paid")]
    clean = shop_tables(customers, orders)
    bad = with_bad_keys(clean, copies=[1], without_key=1)  # customer 2 twice, one NULL
    assert len(next(s for s in bad if s.name == "customers").rows) == 7
    check(clean, bad, ["orders_n > 0", "orders_n = 0", 'city = "A"'])


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_generated_segments_on_tables_with_bad_keys(data: st.DataObject) -> None:
    as_of = data.draw(st.sampled_from(AS_OF_CHOICES))
    clean = data.draw(datasets(as_of))
    copies = data.draw(st.lists(st.integers(0, 20), max_size=4))
    without_key = data.draw(st.integers(0, 2))
    segments = [data.draw(conditions(max_leaves=3)) for _ in range(2)]
    # rankings and population aggregates see every row: exact copies tie with
    # themselves, so those are left to the tests on clean data
    segments = [s for s in segments if not any(w in s for w in RANKED)] or ["buyers"]
    check(clean, with_bad_keys(clean, copies, without_key), segments)


RANKED = ("ntile", " top ", " bottom ", "percentile", "cumulative", " avg avg_amount among")


def test_validate_check_data_reports_null_and_repeated_keys(tmp_path: Path) -> None:
    database = tmp_path / "shop.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE TABLE customers (id BIGINT, city TEXT)")
        con.execute("INSERT INTO customers VALUES (1, 'A'), (2, 'B'), (2, 'B'), (NULL, 'C')")
        con.execute("INSERT INTO customers VALUES (3, 'A'), (3, 'A'), (3, 'C'), (NULL, NULL)")
    project = tmp_path / "shop.seg"
    project.write_text(
        "segdsl 1\nentity customer from customers {\n  key id\n  city: string\n}\n"
        'segment in_a = city = "A"\n'
    )
    url = f"duckdb:///{database}"
    result = CliRunner().invoke(
        app, ["validate", str(project), "--db", url, "--check-data", "--format", "json"]
    )
    assert "Traceback" not in result.output
    assert result.exit_code == 0, result.output  # a warning
    (found,) = json.loads(result.stdout)["diagnostics"]
    assert (found["code"], found["line"], found["severity"]) == ("SEG411", 2, "warning")
    assert found["message"] == (
        "the entity `customer` has 8 rows for 3 distinct keys: of them, 2 have no key "
        "and 3 repeat another row's key"
    )
    sizes = CliRunner().invoke(app, ["run", str(project), "--db", url, "--format", "json"])
    assert json.loads(sizes.stdout)["population"] == 3
    assert json.loads(sizes.stdout)["segments"] == {"in_a": 2}  # 1, and 3 by one of its rows
    with duckdb.connect(str(database)) as con:
        con.execute("DELETE FROM customers WHERE id IS NULL OR id = 3")
        con.execute("DELETE FROM customers WHERE id = 2")
    clean = CliRunner().invoke(app, ["validate", str(project), "--db", url, "--check-data"])
    assert clean.exit_code == 0 and "SEG411" not in clean.output


def test_validate_check_data_refuses_repeated_keys_of_a_relied_on_key(tmp_path: Path) -> None:
    """`key id rely` promises one row per key (member queries drop their DISTINCT): a
    repeated key is an error (SEG404); a NULL key alone breaks nothing."""
    database = tmp_path / "shop.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("CREATE TABLE customers (id BIGINT, city TEXT)")
        con.execute("INSERT INTO customers VALUES (1, 'A'), (2, 'B'), (2, 'B'), (NULL, 'C')")
    project = tmp_path / "shop.seg"
    project.write_text(
        "segdsl 1\nentity customer from customers {\n  key id rely\n  city: string\n}\n"
        'segment in_a = city = "A"\n'
    )
    url = f"duckdb:///{database}"
    command = ["validate", str(project), "--db", url, "--check-data", "--format", "json"]
    result = CliRunner().invoke(app, command)
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    (found,) = json.loads(result.stdout)["diagnostics"]
    assert (found["code"], found["line"], found["severity"]) == ("SEG404", 2, "error")
    assert "1 of its 4 rows repeats another row's key" in found["message"]
    with duckdb.connect(str(database)) as con:
        con.execute("DELETE FROM customers WHERE id = 2")
    kept = CliRunner().invoke(app, command)
    assert kept.exit_code == 0, kept.output
    (warning,) = json.loads(kept.stdout)["diagnostics"]  # the NULL key: SEG411 still warns
    assert (warning["code"], warning["severity"]) == ("SEG411", "warning")
