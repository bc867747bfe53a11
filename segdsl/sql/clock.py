"""A moving as-of time: SQL whose as-of time is computed when it runs.

`MovingAsOf` stands where an `AsOf` would: `seg compile --as-of now` (the current
time in the project time zone, to the second, as `AsOf.now`) or `--as-of param` (a
named query parameter holding that wall-clock time). `Clock` turns the symbolic
times of the IR (`ir.AsOfOffset`, `ir.PeriodStart`, …) into SQL expressions derived
from ONE clock expression, the as-of wall-clock time (`Clock.node`), the way
`AsOf.resolve` turns them into Python datetimes for literals.

`pin` replaces every copy of the clock expression in a tree by a literal time, so a
moving query can be run as of any instant (the differential tests compare it with
the literal-as-of SQL).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlglot import exp

from segdsl import ir
from segdsl.sql.dialects import Dialect
from segdsl.timeline import ELAPSED_UNITS

PARAMETER = "as_of"


@dataclass(frozen=True)
class MovingAsOf:
    """An as-of time the query computes: now, or the query parameter `parameter`."""

    zone: ZoneInfo
    parameter: str | None = None  # None: the time the query runs

    def __str__(self) -> str:
        if self.parameter is None:
            return f"now ({self.zone.key}, when the query runs)"
        return f"the query parameter `{self.parameter}` ({self.zone.key} wall-clock time)"


_MONTHS = {"month": 1, "quarter": 3, "year": 12}


class Clock:
    """SQL expressions for the times of one moving as-of time, in one dialect."""

    def __init__(self, moving: MovingAsOf, dialect: Dialect, *, clocks_change: bool) -> None:
        self.moving = moving
        self.dialect = dialect
        self.clocks_change = clocks_change
        zone = moving.zone.key
        if moving.parameter is None:
            self.node = dialect.now_wall(zone)
        else:
            self.node = dialect.wall_parameter(moving.parameter)

    def now(self) -> exp.Expr:
        return self.node.copy()

    def wall(self, anchor: ir.TimeAnchor) -> exp.Expr:
        """The wall-clock time (TIMESTAMP; BigQuery DATETIME) an anchor stands for."""
        match anchor:
            case ir.AsOfOffset(duration):
                if duration.amount == 0:
                    return self.now()
                if duration.unit in ELAPSED_UNITS:
                    return self.elapsed(self.now(), -duration.amount * _seconds(duration))
                return self._add(self.now(), ir.DurationValue(-duration.amount, duration.unit))
            case ir.PeriodStart(unit, offset):
                start = self.dialect.date_to_wall(self.dialect.truncate(unit, self.now()))
                if offset == 0:
                    return start
                if unit in ("day", "week"):
                    step = ir.DurationValue(offset, "d" if unit == "day" else "w")
                else:
                    step = ir.DurationValue(offset * _MONTHS[unit], "mo")
                return self._add(start, step)
            case ir.FixedTime(value):
                return self.dialect.wall_literal(value)
            case ir.YearsBeforeAsOfDate(years):
                day = self.dialect.date_to_wall(self.dialect.truncate("day", self.now()))
                return self._add(day, ir.DurationValue(-12 * years, "mo"))

    def today(self) -> exp.Expr:
        """The as-of date (DATE)."""
        return self.dialect.wall_to_date(self.now())

    def instant(self, wall: exp.Expr) -> exp.Expr:
        """A wall-clock time in the project zone as an instant (TIMESTAMPTZ)."""
        return self.dialect.to_instant(_p(wall), self.moving.zone.key)

    def utc_wall(self, wall: exp.Expr) -> exp.Expr:
        """A wall-clock time as the UTC wall-clock time of its instant."""
        return self.dialect.wall_clock(_p(self.instant(wall)), "UTC")

    def elapsed(self, wall: exp.Expr, seconds: int) -> exp.Expr:
        """The wall-clock time `seconds` of real time after `wall` (before if negative)."""
        step = ir.DurationValue(seconds, "s")
        if not self.clocks_change:
            return self.dialect.add_duration(_p(wall), step)
        utc = self.dialect.add_duration(_p(self.utc_wall(wall)), step)
        instant = self.dialect.to_instant(_p(utc), "UTC")
        return self.dialect.wall_clock(_p(instant), self.moving.zone.key)

    def _add(self, wall: exp.Expr, duration: ir.DurationValue) -> exp.Expr:
        return self.dialect.add_duration(_p(wall), duration)


def _p(value: exp.Expr) -> exp.Expr:
    """`value` in parentheses where an operator would bind it wrongly (`a + b AT TIME ZONE`)."""
    return exp.Paren(this=value) if isinstance(value, exp.Binary | exp.AtTimeZone) else value


def _seconds(duration: ir.DurationValue) -> int:
    return ir.FIXED_UNIT_SECONDS[duration.unit]


def pin(tree: exp.Expr, clock: Clock, wall: dt.datetime) -> exp.Expr:
    """`tree` with every copy of the clock expression replaced by the literal `wall`."""
    literal = clock.dialect.wall_literal(wall)
    node = clock.node

    def swap(found: exp.Expr) -> exp.Expr:
        return literal.copy() if found == node else found

    return tree.transform(swap, copy=True)
