"""Window syntax → symbolic `ir.Bounds`, with the boundary rules of docs/language.md.

- Relative ranges (`last 30d`, `between 60d ago and 45d ago`) are open at the
  older end and closed at the newer end: as_of − 30d < t ≤ as_of.
- Calendar periods (`this month`, `previous quarter`, `last 3 calendar months`)
  are half open: start ≤ t < end.
- A date or a period used as a point covers its whole length: `since 2025-01-01`
  starts at its midnight, `until 2025-01-31` includes all of that day,
  `after previous month` starts when that month has ended.
- An instant (`30d ago`, a timestamp) is exact: `after` is strict, `until` is not.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from segdsl import ir

CALENDAR_UNITS: dict[str, ir.CalendarUnit] = {
    "day": "day",
    "days": "day",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "quarter": "quarter",
    "quarters": "quarter",
    "year": "year",
    "years": "year",
}

NOW = ir.AsOfOffset(ir.DurationValue(0, "s"))


def ago(duration: ir.DurationValue) -> ir.AsOfOffset:
    return ir.AsOfOffset(duration)


def last(duration: ir.DurationValue) -> ir.Bounds:
    return ir.Bounds(ago(duration), False, NOW, True)


def last_calendar(count: int, unit: ir.CalendarUnit) -> ir.Bounds:
    return ir.Bounds(ir.PeriodStart(unit, -count), True, ir.PeriodStart(unit, 0), False)


def this_period(unit: ir.CalendarUnit) -> ir.Bounds:
    return ir.Bounds(ir.PeriodStart(unit, 0), True, NOW, True)


def previous_period(unit: ir.CalendarUnit) -> ir.Bounds:
    return ir.Bounds(ir.PeriodStart(unit, -1), True, ir.PeriodStart(unit, 0), False)


def between_ago(older: ir.DurationValue, newer: ir.DurationValue) -> ir.Bounds:
    return ir.Bounds(ago(older), False, ago(newer), True)


def more_than_ago(duration: ir.DurationValue) -> ir.Bounds:
    return ir.Bounds(None, False, ago(duration), True)


# A resolved point: where it starts, where it ends, and whether it is an instant.
PointSpan = tuple[ir.TimeAnchor, ir.TimeAnchor, bool]


def date_point(value: dt.date) -> PointSpan:
    start = dt.datetime.combine(value, dt.time())
    return ir.FixedTime(start), ir.FixedTime(start + dt.timedelta(days=1)), False


def instant_point(anchor: ir.TimeAnchor) -> PointSpan:
    return anchor, anchor, True


def period_point(which: Literal["this", "previous"], unit: ir.CalendarUnit) -> PointSpan:
    offset = 0 if which == "this" else -1
    return ir.PeriodStart(unit, offset), ir.PeriodStart(unit, offset + 1), False


def bound(kind: Literal["before", "after", "since", "until"], point: PointSpan) -> ir.Bounds:
    start, end, instant = point
    if kind == "since":
        return ir.Bounds(start, True, None, False)
    if kind == "before":
        return ir.Bounds(None, False, start, False)
    if kind == "after":
        return ir.Bounds(end, not instant, None, False)
    return ir.Bounds(None, False, end, instant)  # until


def from_to(first: PointSpan, second: PointSpan) -> ir.Bounds:
    lower = bound("since", first)
    upper = bound("until", second)
    return ir.Bounds(lower.lower, lower.lower_inclusive, upper.upper, upper.upper_inclusive)
