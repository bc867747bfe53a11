"""Calendar arithmetic (segdsl/timeline.py) and the `age(...)` lowering, against rules
stated independently in the test: clamped months, period starts, time zones, and whole
years of age by the month/day rule an analyst would apply by hand.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segdsl import ir
from segdsl.compiler import Compiler
from segdsl.project import Project
from segdsl.timeline import AsOf, add_months, period_start, shift, shift_periods

UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")


def wall(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2024-03-31 10:00", -1, "2024-02-29 10:00"),  # leap February
        ("2023-03-31 10:00", -1, "2023-02-28 10:00"),
        ("2024-01-31 00:00", 1, "2024-02-29 00:00"),
        ("2024-02-29 00:00", 12, "2025-02-28 00:00"),
        ("2024-02-29 00:00", 48, "2028-02-29 00:00"),
        ("2024-12-15 00:00", 1, "2025-01-15 00:00"),
        ("2025-01-15 00:00", -1, "2024-12-15 00:00"),
        ("2024-05-31 00:00", -3, "2024-02-29 00:00"),
    ],
)
def test_months_clamp_to_the_end_of_shorter_months(start: str, months: int, expected: str) -> None:
    assert add_months(wall(start), months) == wall(expected)


def test_durations_step_the_wall_clock() -> None:
    as_of = wall("2024-03-01 00:00")
    assert shift(as_of, ir.DurationValue(30, "d"), -1) == wall("2024-01-31 00:00")
    assert shift(as_of, ir.DurationValue(1, "y"), -1) == wall("2023-03-01 00:00")
    assert shift(as_of, ir.DurationValue(6, "mo"), -1) == wall("2023-09-01 00:00")
    assert shift(as_of, ir.DurationValue(2, "w"), -1) == wall("2024-02-16 00:00")
    assert shift(as_of, ir.DurationValue(12, "h"), 1) == wall("2024-03-01 12:00")


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("day", "2024-08-14 00:00"),
        ("week", "2024-08-12 00:00"),  # a Monday
        ("month", "2024-08-01 00:00"),
        ("quarter", "2024-07-01 00:00"),
        ("year", "2024-01-01 00:00"),
    ],
)
def test_period_start(unit: ir.CalendarUnit, expected: str) -> None:
    assert period_start(wall("2024-08-14 17:45"), unit) == wall(expected)


def test_previous_periods() -> None:
    assert shift_periods(wall("2024-01-01 00:00"), "quarter", -1) == wall("2023-10-01 00:00")
    assert shift_periods(wall("2024-03-01 00:00"), "month", -1) == wall("2024-02-01 00:00")
    assert shift_periods(wall("2024-01-01 00:00"), "year", -1) == wall("2023-01-01 00:00")
    assert shift_periods(wall("2024-08-12 00:00"), "week", -1) == wall("2024-08-05 00:00")


def test_as_of_parsing_converts_offsets_to_the_project_zone() -> None:
    assert AsOf.parse("2025-07-01", BERLIN).wall == wall("2025-07-01 00:00")
    assert AsOf.parse("2025-07-01T12:30:00Z", BERLIN).wall == wall("2025-07-01 14:30")
    assert AsOf.parse("2025-01-01T00:00:00+03:00", UTC).wall == wall("2024-12-31 21:00")
    assert AsOf.parse("2025-07-01 08:00:00", UTC).wall == wall("2025-07-01 08:00")


def test_wall_times_become_utc_instants_across_daylight_saving() -> None:
    as_of = AsOf.parse("2025-03-31", BERLIN)  # the day after clocks went forward
    assert as_of.instant(wall("2025-03-31 00:00")) == dt.datetime(2025, 3, 30, 22, tzinfo=dt.UTC)
    day_before = shift(as_of.wall, ir.DurationValue(1, "d"), -1)
    assert as_of.instant(day_before) == dt.datetime(2025, 3, 29, 23, tzinfo=dt.UTC)  # 23 real hours


# ------------------------------------------------------------------ age in whole years
def whole_years(born: dt.date, on: dt.date) -> int:
    """Age as a person counts it: the year difference, minus one before the birthday."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


AGE_MODEL = """
segdsl 1
entity person from people {
  key id
  birth_date: date
}
segment at_least = age(birth_date) >= years
segment exactly = age(birth_date) = years
segment below = age(birth_date) < years
param years: number = 18
"""

awkward_dates = st.one_of(
    st.dates(dt.date(1940, 1, 1), dt.date(2030, 12, 31)),
    st.sampled_from([dt.date(y, 2, 29) for y in (1960, 1996, 2000, 2004, 2008, 2020, 2024)]),
    st.builds(lambda y, m: dt.date(y, m, 28), st.integers(1950, 2025), st.integers(1, 12)),
)


@pytest.fixture(scope="module")
def people() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE people (id INTEGER, birth_date DATE)")
    return connection


@settings(max_examples=150, deadline=None)
@given(
    births=st.lists(awkward_dates, min_size=1, max_size=12),
    as_of=awkward_dates,
    years=st.integers(0, 90),
)
def test_age_matches_the_birthday_rule(
    people: duckdb.DuckDBPyConnection, births: list[dt.date], as_of: dt.date, years: int
) -> None:
    people.execute("DELETE FROM people")
    people.executemany("INSERT INTO people VALUES (?, ?)", list(enumerate(births)))
    compiler = Compiler(Project.from_text(AGE_MODEL), params={"years": years})
    for segment, holds in [
        ("at_least", lambda age: age >= years),
        ("exactly", lambda age: age == years),
        ("below", lambda age: age < years),
    ]:
        sql = compiler.members_sql(segment, dialect="duckdb", as_of=as_of.isoformat())
        members = {row[0] for row in people.execute(sql).fetchall()}
        expected = {key for key, born in enumerate(births) if holds(whole_years(born, as_of))}
        assert members == expected, (segment, as_of, years)
