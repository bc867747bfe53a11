"""`partition by` (issue 22.5): a table the warehouse partitions by its time's date gets,
in every windowed read, a filter on that column BigQuery can prune partitions with;
results do not change (executed on DuckDB, Postgres and GoogleSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlglot
from sqlglot import exp

from segdsl.compiler import Compiler
from segdsl.diagnostics import CompileError
from segdsl.project import Project
from segdsl.settings import Settings
from segdsl.syntax.printer import format_text
from tests.support.availability import require_postgres
from tests.support.runners import all_runners, close_all
from tests.support.tables import table

AS_OF = "2025-07-01T00:00:00"
MODEL = """segdsl 1
entity customer from customers {
  key id
}
table orders from orders {
  link customer_id to customer
  time ordered_at
  order_date: date
  amount: money
  PARTITION
}
measure spent_90d = sum(amount) of orders during last 90d
segment recent = exists orders during last 30d
segment big = sum(amount) of orders during last 90d >= 100
segment ever = exists orders
"""
SEGMENTS = ("recent", "big", "ever")


def compiler(partition: str) -> Compiler:
    text = MODEL.replace("PARTITION", partition)
    return Compiler(Project.from_text(text, "shop.seg", settings=Settings(time_zone="UTC")))


def filters_on(sql: str, column: str, dialect: str) -> list[exp.Expr]:
    """Comparisons of `column` with a constant anywhere in the query."""
    tree = sqlglot.parse_one(sql, read=dialect)
    return [
        node
        for node in tree.find_all(exp.GTE, exp.LTE)
        if isinstance(node.this, exp.Column)
        and node.this.name == column
        and not node.expression.find(exp.Column)
    ]


def test_windowed_reads_filter_the_partition_column() -> None:
    sql = compiler("partition by order_date").counts_sql(
        ["recent", "big"], dialect="bigquery", as_of=AS_OF
    )
    found = filters_on(sql, "order_date", "bigquery")
    bounds = sorted(node.expression.sql("bigquery") for node in found)
    # a day before the widest window (90 days) and a day after the as-of time
    assert bounds == ["CAST('2025-04-01' AS DATE)", "CAST('2025-07-02' AS DATE)"]
    assert (
        filters_on(
            compiler("").counts_sql(["recent", "big"], dialect="bigquery", as_of=AS_OF),
            "order_date",
            "bigquery",
        )
        == []
    )


def test_a_table_partitioned_by_its_time_is_filtered_on_it() -> None:
    sql = compiler("partition by ordered_at").counts_sql(
        ["recent"], dialect="bigquery", as_of=AS_OF
    )
    assert filters_on(sql, "ordered_at", "bigquery")


def test_partition_by_must_name_a_time_column() -> None:
    with pytest.raises(CompileError) as caught:
        compiler("partition by amount").counts_sql(["recent"], dialect="bigquery", as_of=AS_OF)
    [problem] = caught.value.diagnostics
    assert problem.code == "SEG108" and "not a time or date column" in problem.message


def test_partition_by_prints_back() -> None:
    text = MODEL.replace("PARTITION", "partition   by order_date")
    printed = format_text(text)
    assert printed is not None and "\n  partition by order_date\n" in printed
    assert format_text(printed) == printed


def test_results_do_not_change() -> None:
    require_postgres()
    start = dt.datetime(2025, 3, 1, 6, 0)
    orders = [
        (
            key,
            start + dt.timedelta(days=day, hours=key),
            (start + dt.timedelta(days=day)).date(),
            Decimal(40 + key),
        )
        for key in range(1, 9)
        for day in range(0, 130, 3 * key)
    ]
    tables = (
        table("customers", {"id": "integer"}, [(key,) for key in range(1, 12)]),
        table(
            "orders",
            {
                "customer_id": "integer",
                "ordered_at": "timestamp",
                "order_date": "date",
                "amount": "decimal",
            },
            orders,
        ),
    )
    plain, partitioned = compiler(""), compiler("partition by order_date")
    runners = all_runners(tables)
    try:
        for runner in runners:
            for segment in SEGMENTS:
                want = runner.query(plain.members_sql(segment, dialect=runner.name, as_of=AS_OF))
                got = runner.query(
                    partitioned.members_sql(segment, dialect=runner.name, as_of=AS_OF)
                )
                assert sorted(got) == sorted(want), (runner.name, segment)
                assert 0 < len(want) < 11 or segment == "ever", (runner.name, segment)
            sizes = [
                runner.query(c.counts_sql(list(SEGMENTS), dialect=runner.name, as_of=AS_OF))
                for c in (plain, partitioned)
            ]
            assert sizes[0] == sizes[1] and sizes[0][0][0] == 11, runner.name
    finally:
        close_all(runners)
