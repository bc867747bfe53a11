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
from segdsl.demo import build_demo_database
from segdsl.project import load_project

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.hand_sql import HAND_SQL, expert_forms, fair_floor, same_population  # noqa: E402


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    path = tmp_path_factory.mktemp("bench") / "demo.duckdb"
    build_demo_database(path, scale=0.2)
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
    """The one-pass baseline: a row for every customer, every table the pass reads,
    each column it reads, nothing dropped by the joins."""
    names = [name for name in compiler.analysis.definitions if name in HAND_SQL]
    floor = fair_floor(compiler.table_sql(names, dialect="duckdb"), "duckdb")
    (rows, distinct) = demo.execute(
        f"SELECT COUNT(*), COUNT(DISTINCT id) FROM ({floor})"
    ).fetchone()  # type: ignore[misc]
    assert rows == distinct == demo.execute("SELECT COUNT(*) FROM shop.customers").fetchone()[0]  # type: ignore[index]
    for read in ("events_occurred_at", "events_event_name", "orders_amount", "order_items_product"):
        assert read in floor
    latest = demo.execute(
        f"SELECT MAX(events_occurred_at), MAX(orders_ordered_at) FROM ({floor})"
    ).fetchall()
    tables = demo.execute(
        "SELECT (SELECT MAX(occurred_at) FROM shop.events),"
        " (SELECT MAX(ordered_at) FROM shop.orders)"
    ).fetchall()
    assert latest == tables
