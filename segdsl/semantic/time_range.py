"""Times that leave the supported range → diagnostics (SEG211).

Python's `datetime` and BigQuery hold the years 1 to 9999, so every time the compiler
writes into SQL must lie in that range. Literals and durations are checked as written
(`range_problem`); windows, ages and the as-of time once the as-of moment is known
(`as_of_problems`), since `last 5000y` fits in 2025 but not in the year 3000. A day
is kept free at each end: a wall-clock time near the edge must still convert to UTC.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from segdsl import ir
from segdsl.diagnostics import Diagnostic
from segdsl.source import NO_SPAN, Span
from segdsl.timeline import AsOf

EARLIEST = dt.datetime(1, 1, 2)
LATEST = dt.datetime(9999, 12, 30, 23, 59, 59, 999999)
MAX_YEARS = 9998  # the widest span between two supported times, in whole years
_ROUGH_SECONDS = {"mo": 31 * 86400, "y": 366 * 86400, **ir.FIXED_UNIT_SECONDS}
_CALENDAR_SECONDS = {"day": 86400, "week": 7 * 86400, "month": 31 * 86400}
_CALENDAR_SECONDS |= {"quarter": 92 * 86400, "year": 366 * 86400}
RANGE = "0001-01-02 to 9999-12-30"
HELP = (
    f"times must lie between 0001-01-02 and 9999-12-30; durations may be at most {MAX_YEARS} years"
)


def too_long(seconds: int) -> bool:
    return seconds > MAX_YEARS * 366 * 86400


def duration_problem(duration: ir.DurationValue) -> str | None:
    """Why a duration is too long for any as-of time, or None."""
    if too_long(abs(duration.amount) * _ROUGH_SECONDS[duration.unit]):
        return f"the duration `{duration}` is longer than {MAX_YEARS} years"
    return None


def periods_problem(count: int, unit: ir.CalendarUnit) -> str | None:
    """Why `last <count> calendar <unit>s` reaches too far for any as-of time, or None."""
    if too_long(count * _CALENDAR_SECONDS[unit]):
        return f"{count} calendar {unit}s are longer than {MAX_YEARS} years"
    return None


def value_problem(value: ir.ConstValue) -> str | None:
    """Why a literal date, timestamp or duration is out of range, or None."""
    if isinstance(value, ir.DurationValue):
        return duration_problem(value)
    if isinstance(value, dt.datetime):
        moment = value.replace(tzinfo=None)
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        return None
    if EARLIEST <= moment <= LATEST:
        return None
    return f"`{value.isoformat()}` is outside the supported range of times ({RANGE})"


def as_of_problem(as_of: AsOf) -> str | None:
    if EARLIEST <= as_of.wall <= LATEST:
        return None
    return f"the as-of time {as_of.wall.isoformat()} is outside the supported range ({RANGE})"


def as_of_problems(exprs: Iterable[ir.Expr], as_of: AsOf) -> list[Diagnostic]:
    """A diagnostic for each time in `exprs` that falls outside the range at `as_of`."""
    problems: dict[tuple[Span, str], Diagnostic] = {}
    seen: set[int] = set()
    pending: list[tuple[object, Span]] = [(expr, NO_SPAN) for expr in exprs]
    while pending:
        value, span = pending.pop()
        if isinstance(value, (tuple, list)):
            pending.extend((item, span) for item in value)
            continue
        if not dataclasses.is_dataclass(value) or isinstance(value, type) or id(value) in seen:
            continue
        seen.add(id(value))
        own = getattr(value, "span", None)
        if isinstance(own, Span) and own != NO_SPAN:
            span = own
        message = _anchor_problem(value, as_of)
        if message is not None:
            problems.setdefault((span, message), Diagnostic("SEG211", message, span, help=HELP))
            continue
        pending.extend((getattr(value, f.name), span) for f in dataclasses.fields(value))
    return list(problems.values())


def _anchor_problem(value: object, as_of: AsOf) -> str | None:
    """Why a time anchor (or a duration reckoned back from the as-of time) leaves the range."""
    when = f"at the as-of time {as_of.wall.isoformat(sep=' ')}"
    match value:
        case ir.DurationValue():
            anchor: ir.TimeAnchor = ir.AsOfOffset(value)
            what = f"`{value}` before the as-of time"
        case ir.AsOfOffset(duration):
            anchor, what = value, f"`{duration} ago`"
        case ir.PeriodStart(unit, offset):
            side = "before" if offset < 0 else "after"
            shifted = f"{abs(offset)} {unit}s {side} " if offset else ""
            anchor, what = value, f"the start of the {unit} {shifted}the as-of time's"
        case ir.YearsBeforeAsOfDate(years):
            anchor, what = value, f"{years} years before the as-of date"
        case ir.FixedTime():
            anchor, what = value, f"`{value.value.isoformat()}`"
        case _:
            return None
    try:
        moment: dt.datetime | None = as_of.resolve(anchor)
    except (OverflowError, ValueError):
        moment = None
    if moment is not None and EARLIEST <= moment <= LATEST:
        return None
    return f"{what} falls outside the supported range of times ({RANGE}) {when}"
