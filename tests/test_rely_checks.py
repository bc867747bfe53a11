"""`link … rely` checks (`seg validate --check-data`): the rows that break the promise,
counted by the generated query on DuckDB, Postgres and GoogleSQL (BigQuery's engine)."""

from __future__ import annotations

import datetime as dt

import pytest

from segdsl.project import Project
from segdsl.sql.dialects import get_dialect
from segdsl.sql.rely_checks import rely_checks
from tests.support.availability import require_postgres
from tests.support.runners import DuckDBRunner, PostgresRunner, Runner, ZetaSQLRunner
from tests.support.tables import table

MODEL = """
segdsl 1
entity customer from customers {
  key id
  time signed_up_at: timestamptz
}
table orders from orders {
  link customer_id to customer rely
  time ordered_at: timestamp
  id: integer
}
table items from items {
  link order_id to orders.id rely
  id: integer
}
table visits from visits {
  link customer_id to customer rely
  time visit_date: date
}
table events from events {
  link customer_id to customer
  time occurred_at: timestamptz
}
table paid = orders where id > 1
table shipments from shipments {
  link item_id to items.id rely
  time shipped_at: timestamp
}
"""


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


TABLES = (
    table(
        "customers",
        {"id": "integer", "signed_up_at": "timestamptz"},
        [(1, utc(2025, 1, 1, 10)), (2, None), (3, utc(2025, 3, 1))],
    ),
    table(
        "orders",
        {"customer_id": "integer", "ordered_at": "timestamp", "id": "integer"},
        [
            (1, dt.datetime(2025, 1, 1, 9), 1),  # an hour before customer 1 signed up
            (1, dt.datetime(2025, 1, 2), 2),
            (2, dt.datetime(2020, 1, 1), 3),  # sign-up time unknown: fine
            (9, dt.datetime(2025, 1, 2), 4),  # no such customer
            (None, dt.datetime(2025, 1, 2), 5),  # no customer at all
            (3, None, 6),  # no time: fine
        ],
    ),
    table("items", {"order_id": "integer", "id": "integer"}, [(1, 10), (99, 11)]),  # no order 99
    table(
        "shipments",
        {"item_id": "integer", "shipped_at": "timestamp"},
        [
            (10, dt.datetime(2025, 1, 1, 8)),  # before its item's order (item 10: order 1)
            (10, dt.datetime(2025, 1, 5)),
            (11, dt.datetime(2025, 1, 5)),  # its item has no order: no time to compare with
            (12, dt.datetime(2025, 1, 5)),  # no such item
        ],
    ),
    table(
        "visits",
        {"customer_id": "integer", "visit_date": "date"},
        [
            (1, dt.date(2025, 1, 1)),  # midnight is before 10:00 that day
            (3, dt.date(2025, 3, 1)),  # the very moment customer 3 signed up: fine
            (1, dt.date(2025, 1, 2)),
        ],
    ),
    table("events", {"customer_id": "integer", "occurred_at": "timestamptz"}, [(9, None)]),
)

# (rows, rows without a parent, rows older than it); items have no time of their own
EXPECTED = {
    "orders": (6, 2, 1),
    "items": (2, 1, None),
    "visits": (3, 0, 1),
    "shipments": (4, 1, 1),  # compared with the time items inherit from orders
}


def link_line(table: str) -> int:
    """The line of the `link` in `table`'s declaration in MODEL (1-based)."""
    lines = MODEL.splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"table {table} from")))
    return next(n for n in range(start, len(lines)) if lines[n].strip().startswith("link")) + 1


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "bigquery"])
def test_rely_checks_count_the_rows_that_break_the_promise(engine: str) -> None:
    analysis = Project.from_text(MODEL).analyze()
    assert analysis.ok
    runner: Runner
    if engine == "duckdb":
        runner = DuckDBRunner(TABLES)
    elif engine == "postgres":
        require_postgres()
        runner = PostgresRunner(TABLES)
    else:
        runner = ZetaSQLRunner(TABLES)
    dialect = get_dialect(engine)
    try:
        checks = rely_checks(analysis.decls, dialect, "UTC")
        found = {}
        for check in checks:
            (row,) = runner.query(dialect.render(check.query))
            found[check.table] = row
        assert found == EXPECTED
        assert {c.table: c.span.line for c in checks} == {t: link_line(t) for t in EXPECTED}
    finally:
        runner.close()
