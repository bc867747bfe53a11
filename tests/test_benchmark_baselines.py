"""The benchmark's hand-written baselines answer the same question as segdsl.

`benchmarks/run.py` checks this before timing at full scale; here it runs on a small
demo warehouse in every test run, so a compiler change that alters members, or a
baseline that no longer matches, is caught without running the benchmark.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from segdsl.compiler import Compiler
from segdsl.project import load_project

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.hand_sql import (  # noqa: E402
    HAND_SQL,
    POPULATION_TABLE,
    beyond_floor,
    expert_forms,
    fair_floor,
    population_sql,
    same_population,
)
from tests.support.demo_copies import DemoCopies  # noqa: E402


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, demo_copies: DemoCopies
) -> Iterator[duckdb.DuckDBPyConnection]:
    path = tmp_path_factory.mktemp("bench") / "demo.duckdb"
    demo_copies.copy(path, scale=0.2)
    connection = duckdb.connect(str(path), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def compiler() -> Compiler:
    return Compiler(load_project(ROOT / "examples"))


def keys(connection: duckdb.DuckDBPyConnection, sql: str) -> set[object]:
    return {row[0] for row in connection.execute(sql).fetchall()}


@pytest.mark.parametrize("segment", sorted(HAND_SQL))
def test_hand_written_sql_returns_the_segments_members(
    demo: duckdb.DuckDBPyConnection, compiler: Compiler, segment: str
) -> None:
    ours = keys(demo, compiler.members_sql(segment, dialect="duckdb"))
    assert ours, "an empty segment would compare nothing"
    assert keys(demo, HAND_SQL[segment]) == ours
    assert keys(demo, same_population(HAND_SQL[segment])) == ours


@pytest.mark.parametrize("segment", sorted(HAND_SQL))
def test_every_expert_form_returns_the_segments_members(
    demo: duckdb.DuckDBPyConnection, compiler: Compiler, segment: str
) -> None:
    ours = keys(demo, compiler.members_sql(segment, dialect="duckdb"))
    for form, sql in expert_forms(segment, "duckdb").items():
        assert keys(demo, sql) == ours, form


def test_fair_floor_has_every_customer_and_reads_what_the_pass_reads(
    demo: duckdb.DuckDBPyConnection, compiler: Compiler
) -> None:
    """The one-pass baseline: a row for every customer of the population, every table
    the pass reads, each column it reads up to the as-of time, nothing dropped by the
    joins."""
    names = [name for name in compiler.analysis.definitions if name in HAND_SQL]
    floor = fair_floor(compiler.table_sql(names, dialect="duckdb"), "duckdb")
    (rows, distinct) = demo.execute(
        f"SELECT COUNT(*), COUNT(DISTINCT id) FROM ({floor})"
    ).fetchone()  # type: ignore[misc]
    population = "signed_up_at <= TIMESTAMP '2025-07-01' OR signed_up_at IS NULL"
    customers = demo.execute(f"SELECT COUNT(*) FROM shop.customers WHERE {population}").fetchone()
    assert rows == distinct == customers[0]  # type: ignore[index]
    for read in ("events_occurred_at", "events_event_name", "orders_amount", "order_items_product"):
        assert read in floor
    latest = demo.execute(
        f"SELECT MAX(events_occurred_at), MAX(orders_ordered_at) FROM ({floor})"
    ).fetchall()
    as_of = "TIMESTAMP '2025-07-01'"
    tables = demo.execute(
        f"SELECT (SELECT MAX(occurred_at) FROM shop.events WHERE occurred_at <= {as_of}),"
        f" (SELECT MAX(ordered_at) FROM shop.orders WHERE ordered_at <= {as_of})"
    ).fetchall()
    assert latest == tables


def test_the_parts_beyond_the_floor_are_the_passes_groupings_sequences_and_rankings(
    demo: duckdb.DuckDBPyConnection, compiler: Compiler
) -> None:
    """Each part runs alone and gives the rows the pass's CTE of the same name gives."""
    names = list(compiler.analysis.definitions)
    sql = compiler.table_sql(names, dialect="duckdb")
    parts = beyond_floor(sql, "duckdb")
    assert [len(parts[part]) for part in ("groupings", "sequences")] == [1, 1]
    assert parts["rankings"]
    demo.execute(f"CREATE TEMP TABLE {POPULATION_TABLE} AS {population_sql(sql, 'duckdb')}")
    try:
        population = demo.execute(f"SELECT COUNT(*) FROM {POPULATION_TABLE}").fetchone()
        assert population == demo.execute("SELECT COUNT(*) FROM shop.customers").fetchone()
        for queries in parts.values():
            for query in queries:
                assert demo.execute(f"SELECT COUNT(*) FROM ({query})").fetchone()[0] > 0  # type: ignore[index]
    finally:
        demo.execute(f"DROP TABLE {POPULATION_TABLE}")
