"""The lifetime-value inputs of examples/lifetime.seg against the `lifetimes` package's own
`summary_data_from_transaction_data` (freq "D") on generated orders: frequency (repeat
purchase days), recency and T in days, and the mean spend of the repeat days.

lifetimes keeps every transaction of the observation end's day; segdsl counts rows up to
the as-of time, so the as-of time is the end of that day (rows are on whole seconds)."""

from __future__ import annotations

import datetime as dt
import warnings
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segdsl.compiler import Compiler
from segdsl.project import Project
from tests.support.availability import require_postgres
from tests.support.runners import DuckDBRunner, PostgresRunner, Runner, ZetaSQLRunner, close_all
from tests.support.tables import ColumnSpec, TableSpec

with warnings.catch_warnings():
    # lifetimes 0.11 sets a pandas option that pandas 3 deprecates, on import
    warnings.simplefilter("ignore")
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

EXAMPLE = Path(__file__).parent.parent / "examples" / "lifetime.seg"
MODEL = """segdsl 1
entity customer from customers {
  key id
}
table orders from orders {
  link customer_id to customer
  time ordered_at
  amount: money
  status: string
}
table paid_orders = orders where status = "paid"
"""
MEASURES = ["btyd_frequency", "btyd_recency", "btyd_age", "btyd_monetary"]
CUSTOMERS = 6
END = dt.date(2025, 1, 25)
AS_OF = dt.datetime.combine(END, dt.time(23, 59, 59))


def compiler() -> Compiler:
    example = EXAMPLE.read_text().removeprefix("segdsl 1\n")
    return Compiler(Project.from_text(MODEL + example))


orders = st.lists(
    st.tuples(
        st.integers(1, CUSTOMERS),
        # a month before the end to two days after it, several on some days
        st.integers(-30 * 86400, 2 * 86400).map(
            lambda s: dt.datetime.combine(END, dt.time()) + dt.timedelta(seconds=s)
        ),
        st.integers(1, 50_000).map(lambda c: Decimal(c) / 100),
        st.sampled_from(["paid", "paid", "paid", "refunded"]),
    ),
    max_size=30,
)


def lifetimes_summary(rows: list[tuple[int, dt.datetime, Decimal, str]]) -> dict[int, tuple]:
    paid = [(c, t, float(a)) for c, t, a, s in rows if s == "paid"]
    if not paid:
        return {}
    frame = pd.DataFrame(paid, columns=["customer_id", "date", "amount"])
    summary = summary_data_from_transaction_data(
        frame,
        customer_id_col="customer_id",
        datetime_col="date",
        monetary_value_col="amount",
        observation_period_end=END.isoformat(),
        freq="D",
    )
    return {
        int(customer): tuple(
            round(float(row[name]), 6) for name in ("frequency", "recency", "T", "monetary_value")
        )
        for customer, row in summary.iterrows()
    }


def segdsl_summary(runner: Runner) -> dict[int, tuple]:
    sql = compiler().table_sql(MEASURES, dialect=runner.name, as_of=AS_OF)  # type: ignore[arg-type]
    return {
        int(key): tuple(None if v is None else round(float(v), 6) for v in values)  # type: ignore[arg-type]
        for key, *values in runner.query(sql)
    }


def tables(rows: list[tuple[int, dt.datetime, Decimal, str]]) -> list[TableSpec]:
    return [
        TableSpec(
            "customers",
            (ColumnSpec("id", "integer"),),
            tuple((key,) for key in range(1, CUSTOMERS + 1)),
        ),
        TableSpec(
            "orders",
            (
                ColumnSpec("customer_id", "integer"),
                ColumnSpec("ordered_at", "timestamp"),
                ColumnSpec("amount", "decimal"),
                ColumnSpec("status", "string"),
            ),
            tuple(rows),
        ),
    ]


def check(rows: list[tuple[int, dt.datetime, Decimal, str]], runner: Runner) -> None:
    expected = lifetimes_summary(rows)
    got = segdsl_summary(runner)
    for customer in range(1, CUSTOMERS + 1):
        if customer in expected:
            assert got[customer] == expected[customer], (runner.name, customer)
        else:  # no purchase day by the end: lifetimes leaves the customer out
            assert got[customer] == (0, None, None, 0), (runner.name, customer)


def test_the_recipe_case() -> None:
    """The worked case of lifetimes' documentation in the shared recipes: two purchases
    on day 0 are one purchase day, a purchase after the end is not counted."""
    rows = [
        (1, dt.datetime(2025, 1, 1, 9), Decimal(10), "paid"),
        (1, dt.datetime(2025, 1, 1, 18), Decimal(5), "paid"),
        (1, dt.datetime(2025, 1, 5), Decimal(20), "paid"),
        (1, dt.datetime(2025, 1, 20), Decimal(30), "paid"),
        (2, dt.datetime(2025, 1, 10), Decimal(100), "paid"),
        (3, dt.datetime(2025, 1, 2), Decimal(7), "paid"),
        (3, dt.datetime(2025, 1, 30), Decimal(999), "paid"),
    ]
    runner = DuckDBRunner(tables(rows))
    try:
        got = segdsl_summary(runner)
    finally:
        runner.close()
    # frequency, recency, T, monetary value, as lifetimes printed them
    assert got[1] == (2, 19, 24, 25)
    assert got[2] == (0, 0, 15, 0)
    assert got[3] == (0, 0, 23, 0)
    assert lifetimes_summary(rows) == {k: got[k] for k in (1, 2, 3)}


@pytest.mark.parametrize("engine", ["duckdb", "postgres", "bigquery"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=orders)
def test_btyd_summary_equals_lifetimes(
    engine: str, rows: list[tuple[int, dt.datetime, Decimal, str]]
) -> None:
    if engine == "postgres":
        require_postgres()
    factory = {"duckdb": DuckDBRunner, "postgres": PostgresRunner, "bigquery": ZetaSQLRunner}
    runner = factory[engine](tables(rows))
    try:
        check(rows, runner)
    finally:
        close_all([runner])
