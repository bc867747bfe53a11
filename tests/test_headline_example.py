"""The headline example of docs/language.md runs on the demo warehouse on every engine.

`recency < 30d and cart_adds > 0 and not purchased` is the segment every reader meets
first; examples/behaviour.seg defines it as `recent_cart_no_purchase`. Here it runs on a
small build of the demo warehouse loaded into DuckDB, Postgres and GoogleSQL (BigQuery's
reference engine), and the members are compared with a direct computation over the rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from segdsl.compiler import Compiler
from segdsl.project import Project, load_project
from segdsl.source import SourceFile
from tests.support.availability import require_postgres
from tests.support.demo_copies import DemoCopies
from tests.support.runners import Runner, all_runners, close_all
from tests.support.tables import TableSpec, table

ROOT = Path(__file__).resolve().parents[1]
SEGMENT = "recent_cart_no_purchase"
AS_OF = dt.datetime(2025, 7, 1)
WINDOW_START = AS_OF - dt.timedelta(days=30)


@pytest.fixture(scope="module")
def demo_tables(
    tmp_path_factory: pytest.TempPathFactory, demo_copies: DemoCopies
) -> tuple[TableSpec, TableSpec]:
    """The customers and events of a small demo build, as engine-neutral fixture tables."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo_copies.copy(path, scale=0.05)
    con = duckdb.connect(str(path), read_only=True)
    try:
        customers = con.execute("SELECT id, signed_up_at FROM shop.customers").fetchall()
        events = con.execute(
            "SELECT customer_id, occurred_at, event_name FROM shop.events"
        ).fetchall()
    finally:
        con.close()
    return (
        table("customers", {"id": "integer", "signed_up_at": "timestamp"}, customers),
        table(
            "events",
            {"customer_id": "integer", "occurred_at": "timestamp", "event_name": "string"},
            events,
        ),
    )


@pytest.fixture(scope="module")
def runners(demo_tables: tuple[TableSpec, TableSpec]) -> Iterator[list[Runner]]:
    require_postgres()
    started = all_runners(demo_tables)
    yield started
    close_all(started)


def examples_without_schema() -> Compiler:
    """The example project, reading the fixture's unqualified table names."""
    examples = load_project(ROOT / "examples")
    sources = [
        SourceFile(source.path, source.text.replace(" from shop.", " from "))
        for source in examples.sources
    ]
    return Compiler(Project.from_sources(sources, examples.settings, []))


def expected_members(customers: TableSpec, events: TableSpec) -> set[int]:
    """Visited in the 30 days up to the as-of time, added to cart, no purchase event."""
    recent: dict[int, set[str]] = {}
    for customer_id, occurred_at, name in events.rows:
        assert isinstance(occurred_at, dt.datetime) and isinstance(customer_id, int)
        if WINDOW_START < occurred_at <= AS_OF:
            recent.setdefault(customer_id, set()).add(str(name))
    signed_up = {
        key
        for key, signed_up_at in customers.rows
        if not isinstance(signed_up_at, dt.datetime) or signed_up_at <= AS_OF
    }
    return {
        key
        for key, names in recent.items()
        if key in signed_up and "add_to_cart" in names and "purchase" not in names
    }


def test_headline_segment_is_the_documented_one() -> None:
    compiler = examples_without_schema()
    assert compiler.diagnostics == []
    text = (ROOT / "examples" / "behaviour.seg").read_text(encoding="utf-8")
    assert "recency < 30d and cart_adds > 0 and not purchased" in text


def test_headline_segment_runs_on_every_engine(
    runners: list[Runner], demo_tables: tuple[TableSpec, TableSpec]
) -> None:
    compiler = examples_without_schema()
    expected = expected_members(*demo_tables)
    assert expected, "the demo build has no customer for the headline example"
    for runner in runners:
        sql = compiler.members_sql(SEGMENT, dialect=runner.name, as_of="2025-07-01")
        members = {row[0] for row in runner.query(sql)}
        assert members == expected, runner.name
