"""Grouped tables (`table purchase_days = paid per day { value = sum(amount) }`) on
generated purchases: every measure over them, on DuckDB, Postgres, GoogleSQL, ClickHouse
(and Spark, one wide query), equal to values worked out here in Python from the rows,
without the compiler: rows up to the as-of time, in the project's time zone, grouped per
customer and day / ISO week / month / session, each group timed by its period's start
(a session: by its first row)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from segdsl.cli.main import app
from segdsl.compiler import Compiler
from segdsl.project import Project
from segdsl.settings import Settings
from segdsl.syntax.printer import format_text
from tests.generators import FIXED_EXAMPLES
from tests.support.availability import require_postgres
from tests.support.batch import members_by_segment
from tests.support.runners import (
    ChdbRunner,
    DuckDBRunner,
    PostgresRunner,
    Runner,
    SparkRunner,
    ZetaSQLRunner,
    close_all,
)
from tests.support.tables import ColumnSpec, TableSpec

EXAMPLES = FIXED_EXAMPLES  # generated purchases, a fixed project: as a fixed group
ZONE = "America/New_York"
CUSTOMERS = 5
# as-of times away from daylight-saving changes (New York: 2024-03-10, 2024-11-03), one in
# the middle of a day (later rows that day are not counted), one on a Sunday night
AS_OF_CHOICES = [
    dt.datetime(2024, 3, 1, 0, 0),
    dt.datetime(2024, 2, 29, 12, 0),
    dt.datetime(2024, 6, 30, 23, 59, 59),
    dt.datetime(2024, 7, 3, 9, 30),
]

MODEL = """
segdsl 1
entity customer from customers {
  key id
}
table purchases from purchases {
  link customer_id to customer
  time bought_at: STORAGE
  amount: decimal
  session: string
  status: string
}
table paid = purchases where status = "paid"
table purchase_days = paid per day {
  value = sum(amount)
  n = count
  biggest = max(amount)
}
table purchase_weeks = purchases per week { n = count }
table purchase_months = purchases per month {
  total = sum(amount)
  last_at = last
}
table sessions = purchases per session {
  n = count
  spend = sum(amount)
  priced = count(amount)
}
table big_days = purchase_days where value > 50
measure days_n = count purchase_days
measure first_day_value = first(value) of purchase_days
measure last_day_value = last(value) of purchase_days
measure recent_days = count purchase_days during last 7d
measure big_days_n = count big_days
measure busy_days = count purchase_days where n >= 2
measure top_day_item = max(biggest) of purchase_days
measure weeks_n = count purchase_weeks
measure first_week_n = first(n) of purchase_weeks
measure months_max = max(total) of purchase_months
measure last_month_at = max(last_at) of purchase_months
measure sessions_n = count sessions
measure max_session_spend = max(spend) of sessions
measure busy_sessions = count sessions where n >= 2
measure priced_items = sum(priced) of sessions
measure first_session_spend = first(spend) of sessions
measure repeat_mean = if days_n > 1
  then (sum(value) of purchase_days - first_day_value) / (days_n - 1)
  else 0
segment no_days = days_n = 0
segment two_days = days_n >= 2
segment big_first = first_day_value > 20 and sessions_n >= 1
segment quiet_sessions = recent_days >= 1 and not (busy_sessions > 0)
segment week_then_big = purchase_weeks then big_days
segment top_sessions = max_session_spend in top 2
"""
SEGMENTS = ["no_days", "two_days", "big_first", "quiet_sessions", "week_then_big", "top_sessions"]
MEASURES = [
    "days_n",
    "first_day_value",
    "last_day_value",
    "recent_days",
    "big_days_n",
    "busy_days",
    "top_day_item",
    "weeks_n",
    "first_week_n",
    "months_max",
    "last_month_at",
    "sessions_n",
    "max_session_spend",
    "busy_sessions",
    "priced_items",
    "first_session_spend",
    "repeat_mean",
]
COLUMN_TYPE = {"timestamp": "timestamp", "timestamptz": "timestamptz", "date": "date"}


def compiler_for(storage: str) -> Compiler:
    text = MODEL.replace("STORAGE", storage)
    return Compiler(Project.from_text(text, settings=Settings(time_zone=ZONE)))


@st.composite
def purchases(draw: st.DrawFn, as_of: dt.datetime, storage: str) -> list[tuple[object, ...]]:
    """Rows around the as-of time: several on one day (some after the as-of time on its
    day), on day, week and month boundaries, NULL amounts, sessions and statuses."""
    offsets = st.one_of(
        st.integers(-3 * 86400, 3 * 86400),  # around the as-of time, its day included
        st.integers(-60, 60).map(lambda d: d * 86400),  # whole days
        st.integers(-90 * 86400, 2 * 86400),
    )
    rows: list[tuple[object, ...]] = []
    for _ in range(draw(st.integers(0, 14))):
        customer = draw(st.integers(1, CUSTOMERS))
        wall = as_of + dt.timedelta(seconds=draw(offsets))
        moment: object
        if draw(st.integers(0, 15)) == 0:
            moment = None
        elif storage == "date":
            moment = wall.date()
        elif storage == "timestamptz":
            moment = wall.replace(tzinfo=ZoneInfo(ZONE)).astimezone(dt.UTC)
        else:
            moment = wall
        amount = draw(st.one_of(st.none(), st.integers(0, 8000).map(lambda c: Decimal(c) / 100)))
        session = draw(st.sampled_from([None, "a", "b", "c"]))
        status = draw(st.sampled_from([None, "paid", "paid", "refunded"]))
        rows.append((customer, moment, amount, session, status))
    return rows


def tables(rows: list[tuple[object, ...]], storage: str) -> list[TableSpec]:
    customers = TableSpec(
        "customers",
        (ColumnSpec("id", "integer"),),
        tuple((key,) for key in range(1, CUSTOMERS + 1)),
    )
    columns = (
        ColumnSpec("customer_id", "integer"),
        ColumnSpec("bought_at", COLUMN_TYPE[storage]),  # type: ignore[arg-type]
        ColumnSpec("amount", "decimal"),
        ColumnSpec("session", "string"),
        ColumnSpec("status", "string"),
    )
    return [customers, TableSpec("purchases", columns, tuple(rows))]


# ------------------------------------------------------------------ the expected values
def wall_time(moment: object) -> dt.datetime | None:
    """A row's time on the project's wall clock (a date: its midnight)."""
    if moment is None:
        return None
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is not None:
            return moment.astimezone(ZoneInfo(ZONE)).replace(tzinfo=None)
        return moment
    assert isinstance(moment, dt.date)
    return dt.datetime.combine(moment, dt.time())


def period_start(wall: dt.datetime, unit: str) -> dt.datetime:
    day = wall.date()
    if unit == "week":
        day -= dt.timedelta(days=day.weekday())  # ISO weeks start on Monday
    elif unit == "month":
        day = day.replace(day=1)
    return dt.datetime.combine(day, dt.time())


class Group:
    """One group's rows: (wall time, amount)."""

    def __init__(self) -> None:
        self.rows: list[tuple[dt.datetime, Decimal | None]] = []

    @property
    def total(self) -> Decimal:
        return sum((a for _, a in self.rows if a is not None), Decimal(0))

    @property
    def priced(self) -> int:
        return sum(1 for _, a in self.rows if a is not None)

    @property
    def biggest(self) -> Decimal | None:
        return max((a for _, a in self.rows if a is not None), default=None)


def grouped(
    rows: list[tuple[object, ...]],
    as_of: dt.datetime,
    key: Callable[[dt.datetime, tuple[object, ...]], object],
    keep: Callable[[tuple[object, ...]], bool] = lambda row: True,
) -> dict[int, dict[object, Group]]:
    """customer → group value → its rows, of the rows up to the as-of time that `keep`s."""
    groups: dict[int, dict[object, Group]] = defaultdict(dict)
    for row in rows:
        wall = wall_time(row[1])
        if wall is None or wall > as_of or not keep(row):
            continue
        value = key(wall, row)
        if value is None:
            continue
        group = groups[row[0]].setdefault(value, Group())  # type: ignore[index]
        group.rows.append((wall, row[2]))  # type: ignore[arg-type]
    return groups


def expected(rows: list[tuple[object, ...]], as_of: dt.datetime) -> dict[int, dict[str, object]]:
    days = grouped(rows, as_of, lambda wall, _: period_start(wall, "day"), lambda r: r[4] == "paid")
    weeks = grouped(rows, as_of, lambda wall, _: period_start(wall, "week"))
    months = grouped(rows, as_of, lambda wall, _: period_start(wall, "month"))
    sessions = grouped(rows, as_of, lambda _, row: row[3])
    result: dict[int, dict[str, object]] = {}
    for customer in range(1, CUSTOMERS + 1):
        own_days = sorted(days.get(customer, {}).items())
        values = [group.total for _, group in own_days]
        own_weeks = sorted(weeks.get(customer, {}).items())
        own_months = months.get(customer, {})
        # a session's time is its first row's
        own_sessions = sorted(
            sessions.get(customer, {}).values(), key=lambda g: (min(w for w, _ in g.rows), g.total)
        )
        count = len(values)
        big_starts = [start for start, group in own_days if group.total > 50]
        result[customer] = {
            "week_then_big": any(w < b for w, _ in own_weeks for b in big_starts),
            "days_n": count,
            "first_day_value": values[0] if values else None,
            "last_day_value": values[-1] if values else None,
            "recent_days": sum(
                1 for start, _ in own_days if as_of - dt.timedelta(days=7) < start <= as_of
            ),
            "big_days_n": sum(1 for v in values if v > 50),
            "busy_days": sum(1 for _, g in own_days if len(g.rows) >= 2),
            "top_day_item": max(
                (g.biggest for _, g in own_days if g.biggest is not None), default=None
            ),
            "weeks_n": len(own_weeks),
            "first_week_n": len(own_weeks[0][1].rows) if own_weeks else None,
            "months_max": max((g.total for g in own_months.values()), default=None),
            "last_month_at": max(
                (max(w for w, _ in g.rows) for g in own_months.values()), default=None
            ),
            "sessions_n": len(own_sessions),
            "max_session_spend": max((g.total for g in own_sessions), default=None),
            "busy_sessions": sum(1 for g in own_sessions if len(g.rows) >= 2),
            "priced_items": sum(g.priced for g in own_sessions),
            "first_session_spend": own_sessions[0].total if own_sessions else None,
            "repeat_mean": (sum(values) - values[0]) / (count - 1) if count > 1 else 0,
        }
    return result


def expected_members(values: dict[int, dict[str, object]]) -> dict[str, frozenset[int]]:
    """Each segment's members, from the measures' values worked out above."""

    def where(test: Callable[[dict[str, object]], bool]) -> frozenset[int]:
        return frozenset(key for key, own in values.items() if test(own))

    def number(value: object) -> Decimal:
        assert isinstance(value, int | Decimal)
        return Decimal(value)

    ranked = sorted(
        (key for key, own in values.items() if own["max_session_spend"] is not None),
        key=lambda key: (-number(values[key]["max_session_spend"]), key),
    )
    return {
        "no_days": where(lambda v: v["days_n"] == 0),
        "two_days": where(lambda v: number(v["days_n"]) >= 2),
        "big_first": where(
            lambda v: (
                v["first_day_value"] is not None
                and number(v["first_day_value"]) > 20
                and number(v["sessions_n"]) >= 1
            )
        ),
        "quiet_sessions": where(
            lambda v: number(v["recent_days"]) >= 1 and not number(v["busy_sessions"]) > 0
        ),
        "week_then_big": where(lambda v: v["week_then_big"] is True),
        "top_sessions": frozenset(ranked[:2]),
    }


def members(compiler: Compiler, runner: Runner, as_of: dt.datetime) -> dict[str, frozenset[int]]:
    found = {}
    for segment in SEGMENTS:
        sql = compiler.members_sql(segment, dialect=runner.name, as_of=as_of)  # type: ignore[arg-type]
        found[segment] = frozenset(int(row[0]) for row in runner.query(sql))  # type: ignore[call-overload]
    return found


# ------------------------------------------------------------------ comparing
def comparable(value: object) -> object:
    if isinstance(value, float | Decimal) and not isinstance(value, bool):
        return round(float(value), 6)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def measured(
    compiler: Compiler, runner: Runner, as_of: dt.datetime
) -> dict[int, dict[str, object]]:
    sql = compiler.table_sql(MEASURES, dialect=runner.name, as_of=as_of)  # type: ignore[arg-type]
    rows = runner.query(sql)
    return {
        int(row[0]): {name: comparable(v) for name, v in zip(MEASURES, row[1:], strict=True)}
        for row in rows
    }


def as_expected(
    rows: list[tuple[object, ...]], as_of: dt.datetime, storage: str
) -> dict[int, dict[str, object]]:
    result = {}
    for key, values in expected(rows, as_of).items():
        values = {name: values[name] for name in MEASURES}
        last_at = values["last_month_at"]
        if storage == "date" and isinstance(last_at, dt.datetime):
            values["last_month_at"] = last_at.date()  # the latest time of a date column
        result[key] = {name: comparable(v) for name, v in values.items()}
    return result


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, dt.datetime, list[tuple[object, ...]]]:
    storage = draw(st.sampled_from(["timestamp", "timestamptz", "date"]))
    as_of = draw(st.sampled_from(AS_OF_CHOICES))
    return storage, as_of, draw(purchases(as_of, storage))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario=scenarios())
def test_grouped_tables_agree_with_python(
    scenario: tuple[str, dt.datetime, list[tuple[object, ...]]],
) -> None:
    require_postgres()
    storage, as_of, rows = scenario
    compiler = compiler_for(storage)
    assert compiler.analysis.ok, [d.message for d in compiler.diagnostics]
    want = as_expected(rows, as_of, storage)
    want_members = expected_members(expected(rows, as_of))
    runners: list[Runner] = []
    try:
        for factory in (DuckDBRunner, PostgresRunner, ZetaSQLRunner, ChdbRunner):
            runners.append(factory(tables(rows, storage)))
            assert measured(compiler, runners[-1], as_of) == want, runners[-1].name
            assert members(compiler, runners[-1], as_of) == want_members, runners[-1].name
    finally:
        close_all(runners)


@pytest.mark.xdist_group("spark")  # one worker, one Spark session for all Spark tests
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_grouped_tables_on_spark(
    scenario: tuple[str, dt.datetime, list[tuple[object, ...]]],
) -> None:
    storage, as_of, rows = scenario
    compiler = compiler_for(storage)
    spark = SparkRunner(tables(rows, storage))
    try:
        assert measured(compiler, spark, as_of) == as_expected(rows, as_of, storage)
        found = members_by_segment(compiler, spark, SEGMENTS, as_of)
        assert found == expected_members(expected(rows, as_of))
    finally:
        close_all([spark])


def test_formatting_keeps_a_grouped_table() -> None:
    text = (
        "segdsl 1\n\n"
        "table visits = events per session_id {\n"
        "  pages = count\n"
        "  products = count distinct(lower(product))\n"
        "  started = first\n"
        "}\n"
    )
    assert format_text(text) == text
    squeezed = "segdsl 1\ntable visits = events per session_id { pages = count products = "
    squeezed += "count distinct(lower(product)) started = first }\n"
    assert format_text(squeezed) == text


def test_explain_shows_what_a_grouped_table_reads() -> None:
    examples = Path(__file__).parent.parent / "examples"
    shown = CliRunner().invoke(app, ["explain", str(examples), "-s", "btyd_frequency"])
    assert shown.exit_code == 0, shown.stderr
    tree = shown.stdout.split("Depends on")[1].split("SQL")[0]
    assert "purchase_days (table) — paid_orders per day" in tree
    assert "paid_orders (table) — orders filtered; shop.orders" in tree
    for column in ("day", "amount", "ordered_at", "status"):
        assert f"{column} (column)" in tree
