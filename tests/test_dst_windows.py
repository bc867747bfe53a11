"""Windows across daylight-saving changes (issue 18.9): `last 24h` is 24 real hours
(hours, minutes and seconds are elapsed time), `last 1d` is one calendar step in the
project time zone (23 or 25 real hours on the day clocks change). Rows sit exactly on
the bounds and one second either side; the members expected are worked out here from
zoneinfo alone, and every engine (DuckDB, Postgres, GoogleSQL) must select them.

SEGDSL_DST_EXAMPLES sets the number of generated cases (default 40).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segdsl.compiler import Compiler
from segdsl.project import Project
from segdsl.settings import Settings
from tests.generators import MODEL, shop_tables
from tests.support.availability import require_postgres
from tests.support.batch import members_by_segment
from tests.support.reference import evaluate_members
from tests.support.runners import SparkRunner, all_runners, close_all
from tests.support.tables import ENGINES, TableSpec

UTC = dt.UTC
# the changes of 2025: (zone, the first wall-clock time after the change, spring?)
CHANGES = {
    "berlin_spring": ("Europe/Berlin", dt.datetime(2025, 3, 30, 3, 0)),
    "berlin_autumn": ("Europe/Berlin", dt.datetime(2025, 10, 26, 2, 0)),
    "new_york_spring": ("America/New_York", dt.datetime(2025, 3, 9, 3, 0)),
    "new_york_autumn": ("America/New_York", dt.datetime(2025, 11, 2, 1, 0)),
}
ELAPSED = {"s": 1, "min": 60, "h": 3600}
# the engines of `all_runners`: Spark runs its own, batched cases (`spark=True`)
RUNNER_ENGINES = [engine for engine in ENGINES if engine != "spark"]
EXAMPLES = int(os.environ.get("SEGDSL_DST_EXAMPLES", "40"))


@dataclass(frozen=True)
class Window:
    amount: int
    unit: str  # s, min, h (elapsed) or d, w (calendar)

    def __str__(self) -> str:
        return f"last {self.amount}{self.unit}"


def lower_bound(as_of: dt.datetime, window: Window) -> dt.datetime:
    """The excluded lower end of `window` as an aware instant: real time back for
    elapsed units, the wall clock stepped back (the earlier of a repeated hour, the
    offset before a skipped one) for calendar units."""
    if window.unit in ELAPSED:  # in UTC: Python steps an aware time's wall clock
        return as_of.astimezone(UTC) - dt.timedelta(seconds=window.amount * ELAPSED[window.unit])
    days = window.amount * (7 if window.unit == "w" else 1)
    wall = as_of.replace(tzinfo=None, fold=0) - dt.timedelta(days=days)
    return wall.replace(tzinfo=as_of.tzinfo).astimezone(UTC)


def project(zone: str, windows: list[Window]) -> Compiler:
    lines = [MODEL]
    for index, window in enumerate(windows):
        lines.append(f"segment events_{index} = exists events during {window}")
        lines.append(f"segment orders_{index} = exists orders during {window}")
    return Compiler(Project.from_text("\n".join(lines) + "\n", settings=Settings(time_zone=zone)))


def check(
    zone: str,
    as_of: dt.datetime,
    windows: list[Window],
    moments: list[dt.datetime],
    *,
    spark: bool = False,
) -> int:
    """One customer per moment, with an event at that instant (timestamptz) and an order
    at its wall-clock time (timestamp); every window's members on every engine against
    the bounds computed here. Returns how many (engine, segment) pairs were compared."""
    require_postgres()
    tz = ZoneInfo(zone)
    as_of = as_of.astimezone(tz)
    keys = range(1, len(moments) + 1)
    walls = [m.astimezone(tz).replace(tzinfo=None) for m in moments]
    tables = shop_tables(
        [(key, None, None, None, None) for key in keys],
        orders=[(k, w, k, Decimal(1), "paid") for k, w in zip(keys, walls, strict=True)],
        events=[(k, m, "view") for k, m in zip(keys, moments, strict=True)],
    )
    compiler = project(zone, windows)
    as_of_text = as_of.isoformat()
    as_of_wall = as_of.replace(tzinfo=None)
    expected: dict[str, set[int]] = {}
    for index, window in enumerate(windows):
        lower = lower_bound(as_of, window)
        lower_wall = lower.astimezone(tz).replace(tzinfo=None)
        expected[f"events_{index}"] = {
            k for k, m in zip(keys, moments, strict=True) if lower < m <= as_of
        }
        # wall-clock times compare as wall-clock times (a repeated hour's two are one)
        expected[f"orders_{index}"] = {
            k for k, w in zip(keys, walls, strict=True) if lower_wall < w <= as_of_wall
        }
    return members_on_every_engine(
        compiler, tables, expected, as_of_text, context=(zone, str(windows)), spark=spark
    )


def members_on_every_engine(
    compiler: Compiler,
    tables: tuple[TableSpec, ...],
    expected: Mapping[str, set[int]],
    as_of: str,
    *,
    context: tuple[object, ...],
    spark: bool = False,
) -> int:
    """Each segment's members on every engine of `all_runners` (with `spark`: on Spark
    only, all segments in one query) equal `expected`; the number of (engine, segment)
    pairs compared."""
    if spark:
        runner = SparkRunner(tables)
        try:
            got = members_by_segment(compiler, runner, sorted(expected), as_of)
        finally:
            runner.close()
        assert got == {name: frozenset(keys) for name, keys in expected.items()}, context
        return len(expected)
    runners = all_runners(tables)
    compared = 0
    try:
        for runner in runners:
            for segment, want in expected.items():
                sql = compiler.members_sql(segment, dialect=runner.name, as_of=as_of)
                got = {row[0] for row in runner.query(sql)}
                assert got == want, (runner.name, *context, as_of, segment)
                compared += 1
    finally:
        close_all(runners)
    return compared


def boundary_moments(as_of: dt.datetime, windows: list[Window]) -> list[dt.datetime]:
    """Each window's lower bound, a second either side, and the old wrong bound (the
    wall clock stepped back by the hours) with a second either side."""
    moments = []
    tz = as_of.tzinfo
    assert tz is not None
    for window in windows:
        lower = lower_bound(as_of, window)
        naive = as_of.replace(tzinfo=None) - (as_of.astimezone(UTC) - lower)
        wall_lower = naive.replace(tzinfo=tz).astimezone(UTC)
        for point in (lower, wall_lower):
            moments += [point + dt.timedelta(seconds=s) for s in (-1, 0, 1)]
    return sorted(set(moments))


@pytest.mark.parametrize(
    ("change", "as_of_wall", "fold"),
    [
        ("berlin_spring", dt.datetime(2025, 3, 30, 12, 0), 0),
        ("berlin_spring", dt.datetime(2025, 3, 31, 1, 30), 0),
        ("berlin_autumn", dt.datetime(2025, 10, 26, 12, 0), 0),
        ("berlin_autumn", dt.datetime(2025, 10, 26, 2, 30), 1),  # the second 02:30
        ("new_york_spring", dt.datetime(2025, 3, 9, 12, 0), 0),
        ("new_york_autumn", dt.datetime(2025, 11, 2, 1, 30), 1),  # the second 01:30
        ("new_york_autumn", dt.datetime(2025, 11, 2, 1, 30), 0),  # the first 01:30
        ("new_york_autumn", dt.datetime(2025, 11, 3, 0, 30), 0),
    ],
)
def test_hours_are_elapsed_and_days_are_calendar_steps(
    change: str, as_of_wall: dt.datetime, fold: int
) -> None:
    zone = CHANGES[change][0]
    as_of = as_of_wall.replace(tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)
    windows = [Window(24, "h"), Window(2, "h"), Window(90, "min"), Window(1, "d"), Window(1, "w")]
    check(zone, as_of, windows, boundary_moments(as_of.astimezone(ZoneInfo(zone)), windows))


def test_last_24h_is_24_real_hours_across_the_spring_change() -> None:
    """The reported case, by hand: as-of 2025-03-30 12:00 in Berlin (10:00Z, after the
    clocks went forward), `last 24h` starts at 10:00Z the day before, `last 1d` at
    12:00 wall clock the day before (11:00Z)."""
    as_of = dt.datetime(2025, 3, 30, 10, 0, tzinfo=UTC)
    moments = [
        dt.datetime(2025, 3, 29, 10, 0, tzinfo=UTC),  # on the 24h bound: out
        dt.datetime(2025, 3, 29, 10, 30, tzinfo=UTC),  # in `last 24h` only
        dt.datetime(2025, 3, 29, 11, 0, 1, tzinfo=UTC),  # in both
    ]
    assert check("Europe/Berlin", as_of, [Window(24, "h"), Window(1, "d")], moments) == 4 * len(
        RUNNER_ENGINES
    )
    # the expectation above, written out: customer 2 is in `last 24h` but not `last 1d`
    assert lower_bound(as_of.astimezone(ZoneInfo("Europe/Berlin")), Window(24, "h")) == (moments[0])


@pytest.mark.parametrize(
    ("bound", "as_of", "event"),
    [
        # 30 days before 02:30 on 29 April is 02:30 on 30 March, a wall time Berlin skips;
        # the event at 03:10 CEST is after it on the wall clock
        ("30d ago", dt.datetime(2025, 4, 29, 2, 30), dt.datetime(2025, 3, 30, 1, 10, tzinfo=UTC)),
        # 2 hours before 04:00 CET is 02:00 CET (01:00Z); the event at 02:30 CEST (00:30Z)
        # is later on the wall clock, earlier as an instant
        ("2h ago", dt.datetime(2025, 10, 26, 4, 0), dt.datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),
    ],
)
def test_a_bound_on_the_latest_time_across_a_change(
    bound: str, as_of: dt.datetime, event: dt.datetime
) -> None:
    """`last events > 30d ago` compares the latest event's wall-clock time; with the
    table's other aggregates unbounded too, every engine keeps the same member (the bound
    is not pushed down to the rows as an instant, which a change puts elsewhere)."""
    require_postgres()
    text = f"{MODEL}\nsegment bounded = last events > {bound}\n"
    text += f"segment unbounded = last events > {bound} and count events >= 0\n"
    compiler = Compiler(Project.from_text(text, settings=Settings(time_zone="Europe/Berlin")))
    signed = dt.datetime(2024, 1, 1, tzinfo=UTC)
    tables = shop_tables([(1, signed, "A", None, 1.0)], events=[(1, event, "view")])
    moment = compiler.as_of(as_of.isoformat())
    assert evaluate_members(compiler, compiler.definition("bounded").expr, tables, moment) == {1}
    runners = all_runners(tables)
    try:
        for runner in runners:
            found = members_by_segment(compiler, runner, ["bounded", "unbounded"], moment)
            assert found == {"bounded": {1}, "unbounded": {1}}, runner.name
    finally:
        close_all(runners)


@st.composite
def dst_cases(draw: st.DrawFn) -> tuple[str, dt.datetime, list[Window], list[dt.datetime]]:
    zone, change = CHANGES[draw(st.sampled_from(sorted(CHANGES)))]
    tz = ZoneInfo(zone)
    # an as-of within two days after the change (sometimes in the repeated hour)
    first = change.replace(tzinfo=tz).astimezone(UTC)
    as_of = first + dt.timedelta(minutes=draw(st.integers(-120, 2 * 24 * 60)))
    windows = draw(
        st.lists(
            st.builds(
                Window,
                st.sampled_from([1, 2, 3, 23, 24, 25, 48, 90]),
                st.sampled_from(["s", "min", "h", "d", "w"]),
            ),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    moments = boundary_moments(as_of.astimezone(tz), windows)
    moments += draw(
        st.lists(
            st.integers(0, 3 * 24 * 3600).map(lambda s: as_of - dt.timedelta(seconds=s)),
            max_size=4,
        )
    )
    return zone, as_of, windows, sorted(set(moments))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(dst_cases())
def test_windows_near_daylight_saving_changes(
    case: tuple[str, dt.datetime, list[Window], list[dt.datetime]],
) -> None:
    check(*case)


# ---------------------------------------------------------------- sequences and durations
SEQUENCE_SEGMENTS = """
table carts = orders where status = "cart"
table paid = orders where status = "paid"
segment carts_paid = carts then paid within 2h
segment carts_unpaid = carts then no paid within 2h
segment adds_bought = adds then buys within 2h
segment adds_unbought = adds then no buys within 2h
segment orders_recent = time since last orders < 3h
segment events_recent = time since last events < 3h
segment orders_quick = time between first orders and last orders < 2h
segment events_quick = time between first events and last events < 2h
"""
LIMIT = dt.timedelta(hours=2)


def instant_of(wall: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A wall-clock time's instant: the earlier in a repeated hour, the offset before
    the change for a skipped time (02:30 is 03:30), as documented."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def sequence_expectations(
    tz: ZoneInfo, as_of: dt.datetime, pairs: list[tuple[dt.datetime, dt.datetime]]
) -> dict[str, set[int]]:
    """The members of SEQUENCE_SEGMENTS for one customer per (first, then) pair of
    instants: events at the instants, cart and paid orders at their wall-clock times."""
    as_of_wall = as_of.astimezone(tz).replace(tzinfo=None)
    recent_lower = (as_of - dt.timedelta(hours=3)).astimezone(tz).replace(tzinfo=None)
    expected: dict[str, set[int]] = {name: set() for name in SEGMENT_NAMES}
    for key, pair in enumerate(pairs, start=1):
        walls = [m.astimezone(tz).replace(tzinfo=None, fold=0) for m in pair]
        views = {  # per table: (instants of first and then, which of the two are visible)
            "events": (pair, [m <= as_of for m in pair], ("adds_bought", "adds_unbought")),
            "orders": (
                [instant_of(w, tz) for w in walls],
                [w <= as_of_wall for w in walls],
                ("carts_paid", "carts_unpaid"),
            ),
        }
        for table, ((a, b), (a_seen, b_seen), (followed_name, unfollowed_name)) in views.items():
            if not a_seen:
                continue
            if b_seen and a < b <= a + LIMIT:
                expected[followed_name].add(key)
            elif a + LIMIT <= as_of:
                expected[unfollowed_name].add(key)
            # durations of aggregates compare wall-clock times (the language's view of
            # every time; the latest time of two in a repeated hour is either)
            seen = [w for w, visible in zip(walls, (a_seen, b_seen), strict=True) if visible]
            if max(seen) > recent_lower:
                expected[f"{table}_recent"].add(key)
            shifted = (instant_of(min(seen), tz) + LIMIT).astimezone(tz).replace(tzinfo=None)
            if max(seen) < shifted:
                expected[f"{table}_quick"].add(key)
    return expected


SEGMENT_NAMES = [line.split()[1] for line in SEQUENCE_SEGMENTS.splitlines() if "segment" in line]


def check_sequences(
    zone: str,
    as_of: dt.datetime,
    pairs: list[tuple[dt.datetime, dt.datetime]],
    *,
    spark: bool = False,
) -> int:
    require_postgres()
    tz = ZoneInfo(zone)
    keys = range(1, len(pairs) + 1)
    orders, events = [], []
    for key, (first, then) in zip(keys, pairs, strict=True):
        for moment, status, kind in ((first, "cart", "add"), (then, "paid", "buy")):
            wall = moment.astimezone(tz).replace(tzinfo=None, fold=0)
            orders.append((key, wall, key, Decimal(1), status))
            events.append((key, moment, kind))
    tables = shop_tables(
        [(key, None, None, None, None) for key in keys], orders=orders, events=events
    )
    text = MODEL + SEQUENCE_SEGMENTS
    compiler = Compiler(Project.from_text(text, settings=Settings(time_zone=zone)))
    expected = sequence_expectations(tz, as_of, pairs)
    resolved = compiler.as_of(as_of.isoformat())
    for segment, want in expected.items():  # the reference evaluator follows the same rule
        expr = compiler.definition(segment).expr
        assert evaluate_members(compiler, expr, tables, resolved) == want, ("reference", segment)
    return members_on_every_engine(
        compiler, tables, expected, as_of.isoformat(), context=(zone,), spark=spark
    )


def straddling_pairs(
    tz: ZoneInfo, as_of: dt.datetime, change: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """First rows every 30 minutes from 2 hours before the change to an hour after,
    and on the `then no` deadline (as-of − 2h) and a second either side; each followed
    by a row 1h, 2h − 1s, 2h, 2h + 1s and 3h of real time later, and 2h − 1s, 2h and
    2h + 1s later on the wall clock (the old, wrong limit)."""
    second = dt.timedelta(seconds=1)
    firsts = [change + dt.timedelta(minutes=30 * k) for k in range(-4, 3)]
    firsts += [as_of - LIMIT + s * second for s in (-1, 0, 1)]
    pairs = []
    for first in firsts:
        offsets = [dt.timedelta(hours=1), LIMIT - second, LIMIT, LIMIT + second, 3 * LIMIT / 2]
        thens = [first + offset for offset in offsets]
        wall = first.astimezone(tz).replace(tzinfo=None)
        thens += [instant_of(wall + LIMIT + s * second, tz) for s in (-1, 0, 1)]
        pairs += [(first, then) for then in thens]
    return pairs


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_sequence_limits_and_durations_are_elapsed(change: str) -> None:
    """`A then B within 2h` and `then no B within 2h` with rows straddling the change,
    on a wall-clock table (orders) and a timestamptz one (events); `time since last X
    < 3h` and `time between first X and last X < 2h` on the same rows."""
    zone, first_after = CHANGES[change]
    tz = ZoneInfo(zone)
    change_at = first_after.replace(tzinfo=tz).astimezone(UTC)
    as_of = change_at + dt.timedelta(hours=2, minutes=30)  # in UTC: Python steps an
    # aware time's wall clock
    pairs = straddling_pairs(tz, as_of, change_at)
    assert check_sequences(zone, as_of, pairs) == len(RUNNER_ENGINES) * len(SEGMENT_NAMES)


@st.composite
def sequence_cases(
    draw: st.DrawFn,
) -> tuple[str, dt.datetime, list[tuple[dt.datetime, dt.datetime]]]:
    """An as-of near a change and (first, then) pairs around it: then a few seconds
    either side of 1h, 2h or 3h of real or of wall-clock time after first."""
    zone, change = CHANGES[draw(st.sampled_from(sorted(CHANGES)))]
    tz = ZoneInfo(zone)
    change_at = change.replace(tzinfo=tz).astimezone(UTC)
    as_of = change_at + dt.timedelta(minutes=draw(st.integers(-60, 6 * 60)))
    pairs = []
    for _ in range(draw(st.integers(1, 12))):
        first = change_at + dt.timedelta(minutes=draw(st.integers(-4 * 60, 3 * 60)))
        gap = dt.timedelta(hours=draw(st.sampled_from([1, 2, 3])))
        gap += dt.timedelta(seconds=draw(st.integers(-2, 2)))
        if draw(st.booleans()):  # real time
            then = first + gap
        else:  # wall-clock time
            then = instant_of(first.astimezone(tz).replace(tzinfo=None) + gap, tz)
        pairs.append((first, then))
    return zone, as_of, pairs


@settings(
    max_examples=max(EXAMPLES // 2, 1),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sequence_cases())
def test_sequences_near_daylight_saving_changes(
    case: tuple[str, dt.datetime, list[tuple[dt.datetime, dt.datetime]]],
) -> None:
    check_sequences(*case)


@pytest.mark.xdist_group("spark")  # one worker, one Spark session for all Spark tests
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_spark_across_daylight_saving_changes(change: str) -> None:
    """On Spark (its session zone UTC; FROM_UTC_TIMESTAMP/TO_UTC_TIMESTAMP for the
    project zone): the sequence limits and durations straddling each change, and the
    hour and day windows around it, each data set in one query."""
    zone, first_after = CHANGES[change]
    tz = ZoneInfo(zone)
    change_at = first_after.replace(tzinfo=tz).astimezone(UTC)
    as_of = change_at + dt.timedelta(hours=2, minutes=30)
    pairs = straddling_pairs(tz, as_of, change_at)
    assert check_sequences(zone, as_of, pairs, spark=True) == len(SEGMENT_NAMES)
    windows = [Window(24, "h"), Window(2, "h"), Window(90, "min"), Window(1, "d"), Window(1, "w")]
    moments = boundary_moments(as_of.astimezone(tz), windows)
    assert check(zone, as_of, windows, moments, spark=True) == 2 * len(windows)
