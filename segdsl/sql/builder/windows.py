"""Times inside windows, and elapsed time across clock changes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable

from sqlglot import exp

from segdsl import ir
from segdsl import types as t
from segdsl.plan import extreme_row_time
from segdsl.sql.builder.base import BuilderBase
from segdsl.sql.builder.common import _and, _col
from segdsl.timeline import ELAPSED_UNITS


class Windows(BuilderBase):
    """Window conditions on times and dates, and times as instants (elapsed time)."""

    def in_window(
        self, operand: ir.Expr, bounds: ir.Bounds, source: ir.RowSource | None
    ) -> exp.Expr:
        inner = ir.unwrap(operand)
        if (
            isinstance(inner, ir.AggregateRef)
            and extreme_row_time(inner.aggregation)
            and self._includes_as_of(bounds)
        ):
            # `last_order_at in last 90d`: the latest order time is never after the as-of
            # time; a redundant `<=` only makes Postgres underestimate the rows left
            bounds = dataclasses.replace(bounds, upper=None, upper_inclusive=False)
        if (
            source is not None
            and isinstance(inner, ir.RowColumn)
            and inner.column.storage is not None
        ):
            raw = _col(inner.column.name, self._hop_alias(source, inner.hop))
            return self._raw_window(raw, inner.column, bounds)
        return self.window(self.sql(operand, source), operand, bounds)

    def _includes_as_of(self, bounds: ir.Bounds) -> bool:
        """Whether `bounds` end at or after the as-of time, which they include (for a
        moving as-of time: at every as-of time)."""
        if bounds.upper is None:
            return False
        if self.fixed is None:
            match bounds.upper:
                case ir.AsOfOffset(duration):
                    return duration.amount < 0 or (duration.amount == 0 and bounds.upper_inclusive)
                case ir.PeriodStart(offset=offset):
                    return offset >= 1  # the start of a later period is after any as-of time
            return False
        upper = self.fixed.resolve(bounds.upper)
        return upper > self.fixed.wall or (upper == self.fixed.wall and bounds.upper_inclusive)

    def window(self, value: exp.Expr, operand: ir.Expr, bounds: ir.Bounds) -> exp.Expr:
        """`value` (a wall-clock time or a date, per the operand's type) inside `bounds`."""
        if operand.type.kind is t.Kind.DATE:
            return self._date_window(value, bounds)
        return self._wall_window(value, bounds, self._wall_at)

    def _raw_window(self, raw: exp.Expr, column: ir.Column, bounds: ir.Bounds) -> exp.Expr:
        """A stored column compared in its own type, so engines can prune partitions."""
        if column.storage == "date":
            return self._date_window(raw, bounds)
        if column.storage == "timestamptz":
            return self._wall_window(raw, bounds, self._instant_at)
        return self._wall_window(raw, bounds, self._wall_at)

    def _wall_window(
        self, value: exp.Expr, bounds: ir.Bounds, make: Callable[[ir.TimeAnchor], exp.Expr]
    ) -> exp.Expr:
        """`value` within `bounds`, each bound made a literal (or clock expression) by `make`."""
        parts: list[exp.Expr] = []
        if bounds.lower is not None:
            lower = make(bounds.lower)
            above = exp.GTE if bounds.lower_inclusive else exp.GT
            parts.append(above(this=value.copy(), expression=lower))
        if bounds.upper is not None:
            upper = make(bounds.upper)
            below = exp.LTE if bounds.upper_inclusive else exp.LT
            parts.append(below(this=value.copy(), expression=upper))
        return _and(parts) if parts else exp.Not(this=exp.Is(this=value, expression=exp.Null()))

    def _date_window(self, value: exp.Expr, bounds: ir.Bounds) -> exp.Expr:
        """A date d stands for its midnight; compare dates with the equivalent date bounds
        (for a moving as-of time, the midnight with the bounds' wall-clock times)."""
        if self.fixed is None:
            return self._wall_window(self.dialect.date_to_wall(value), bounds, self._wall_at)
        parts: list[exp.Expr] = []
        if bounds.lower is not None:
            lower = self.fixed.resolve(bounds.lower)
            first_day = lower.date()
            if not (bounds.lower_inclusive and lower.time() == dt.time()):
                first_day += dt.timedelta(days=1)
            parts.append(
                exp.GTE(this=value.copy(), expression=self.dialect.date_literal(first_day))
            )
        if bounds.upper is not None:
            upper = self.fixed.resolve(bounds.upper)
            last_day = upper.date()
            if not bounds.upper_inclusive and upper.time() == dt.time():
                last_day -= dt.timedelta(days=1)
            parts.append(exp.LTE(this=value.copy(), expression=self.dialect.date_literal(last_day)))
        return _and(parts) if parts else exp.Not(this=exp.Is(this=value, expression=exp.Null()))

    def _clocks_change(self) -> bool:
        """Whether wall-clock differences in the project zone can differ from elapsed
        time (not in UTC or a fixed offset, whose SQL stays plain)."""
        return clocks_change(self.as_of.zone.key)

    def _is_elapsed(self, duration: ir.DurationValue) -> bool:
        """Whether adding `duration` to a wall-clock time must go through its instant:
        hours and smaller where the clocks change."""
        return duration.unit in ELAPSED_UNITS and self._clocks_change()

    def _instant_wall(self, expr: ir.Expr, source: ir.RowSource | None) -> exp.Expr:
        """A time as the UTC wall-clock time of its instant (differences are elapsed)."""
        inner = ir.unwrap(expr)
        if isinstance(inner, ir.TimePoint):
            return self._utc_wall_at(inner.anchor)
        if isinstance(inner, ir.RowColumn) and source is not None:
            raw: exp.Expr = _col(inner.column.name, self._hop_alias(source, inner.hop))
            if inner.column.storage == "timestamptz":  # an instant already: keep its fold
                return self.dialect.wall_clock(raw, "UTC")
            if inner.column.storage == "date":
                raw = self.dialect.date_to_wall(raw)
            return self._utc_wall(raw)
        return self._utc_wall(self.sql(expr, source))

    def _utc_wall(self, wall: exp.Expr) -> exp.Expr:
        zone = self.as_of.zone.key
        return self.dialect.wall_clock(self.dialect.to_instant(wall, zone), "UTC")


# zones whose clocks never change: wall-clock arithmetic is elapsed time there
_FIXED_ZONE = re.compile(r"(Etc/)?(UTC|UCT|GMT|GMT[+-]\d+|Zulu|Universal|Greenwich)")


def clocks_change(zone: str) -> bool:
    """Whether wall-clock differences in `zone` can differ from elapsed time."""
    return not _FIXED_ZONE.fullmatch(zone)
