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
from benchmarks.hand_sql import HAND_SQL, SCAN_FLOOR, same_population  # noqa: E402


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


def test_scan_floor_has_every_customer_and_reads_every_row(
    demo: duckdb.DuckDBPyConnection,
) -> None:
    """The one-pass baseline is a membership table's floor: a row for every customer,
    each fact table read whole, nothing dropped by the joins."""
    floor = f"""SELECT COUNT(*), COUNT(DISTINCT id), SUM(lines), MAX(last_event),
                       MAX(last_order) FROM ({SCAN_FLOOR})"""
    tables = """SELECT (SELECT COUNT(*) FROM shop.customers),
                       (SELECT COUNT(*) FROM shop.customers),
                       (SELECT COUNT(*) FROM shop.order_items),
                       (SELECT MAX(occurred_at) FROM shop.events),
                       (SELECT MAX(ordered_at) FROM shop.orders)"""
    assert demo.execute(floor).fetchall() == demo.execute(tables).fetchall()
