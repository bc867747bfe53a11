"""Window syntax (`last 30d`, `this month`, `from … to …`) to symbolic `ir.Bounds`.

After `in`, a point may also be an expression (`in from signed_up_at to signed_up_at + 24h`):
its side of the window becomes a comparison with the value, with the boundary rules
of the other points (a date covers its whole day, an instant is exact).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, assert_never

from segdsl import ir
from segdsl import types as t
from segdsl.diagnostics import did_you_mean
from segdsl.semantic import time_range, windows
from segdsl.semantic.check.base import CheckerBase, Scope, and_
from segdsl.source import Span
from segdsl.syntax import nodes

BoundKind = Literal["before", "after", "since", "until"]


class Windows(CheckerBase):
    """Durations, calendar units, points in time and windows."""

    def duration(self, node: nodes.Duration) -> ir.DurationValue | None:
        if isinstance(node, nodes.DurationLit):
            duration = ir.DurationValue(node.amount, node.unit)
            problem = time_range.duration_problem(duration)
            if problem is not None:
                self.error("SEG211", problem, node.span, time_range.HELP)
                return None
            return duration
        const = self.params.get(node.text)
        if const is not None and isinstance(const.value, ir.DurationValue):
            return const.value
        if node.text in self.decls.param_types:
            if self.decls.param_types[node.text].kind is not t.Kind.DURATION:
                self.error("SEG202", f"the parameter `{node.text}` is not a duration", node.span)
            return None
        self.error(
            "SEG101",
            f"unknown duration `{node.text}`",
            node.span,
            "write e.g. `30d` or name a duration parameter",
        )
        return None

    def unit(self, node: nodes.Ident) -> ir.CalendarUnit | None:
        unit = windows.CALENDAR_UNITS.get(node.text)
        if unit is None:
            self.error(
                "SEG110",
                f"unknown calendar unit `{node.text}`",
                node.span,
                did_you_mean(node.text, windows.CALENDAR_UNITS)
                or "use day, week, month, quarter or year",
            )
        return unit

    def point(self, node: nodes.Point) -> windows.PointSpan | None:
        match node:
            case nodes.DatePoint():
                if self.in_range(ir.Const(node.value, t.DATE, span=node.span)).type.is_error:
                    return None
                return windows.date_point(node.value)
            case nodes.TimestampPoint():
                wall = self.wall_clock(node.value)
                if self.in_range(ir.Const(wall, t.TIMESTAMP, span=node.span)).type.is_error:
                    return None
                return windows.instant_point(ir.FixedTime(wall))
            case nodes.AgoPoint():
                duration = self.duration(node.duration)
                return windows.instant_point(windows.ago(duration)) if duration else None
            case nodes.PeriodPoint():
                unit = self.unit(node.unit)
                return windows.period_point(node.which, unit) if unit else None
            case nodes.ValuePoint():
                self.error(
                    "SEG114",
                    "a point of this window must be a date, a timestamp, `30d ago`, "
                    "`this month` or a parameter",
                    node.span,
                    "an expression can be a point of a window after `in` only",
                )
                return None
            case nodes.NamePoint():
                const = self.params.get(node.name.text)
                if const is not None and isinstance(const.value, dt.datetime):
                    return windows.instant_point(ir.FixedTime(const.value))
                if const is not None and isinstance(const.value, dt.date):
                    return windows.date_point(const.value)
                if node.name.text in self.decls.param_types:
                    if not self.decls.param_types[node.name.text].is_time:
                        self.error(
                            "SEG202",
                            f"the parameter `{node.name.text}` is not a date or timestamp",
                            node.span,
                        )
                    return None
                self.error(
                    "SEG101",
                    f"unknown name `{node.name.text}`",
                    node.span,
                    "a window point is a date, a timestamp, `30d ago`, `this month` "
                    "or a date parameter; after `in`, also a member's own time "
                    "(`first_order in from signed_up_at to signed_up_at + 30d`)",
                )
                return None
            case _:
                assert_never(node)

    def window(self, node: nodes.Window) -> ir.Bounds | None:
        match node:
            case nodes.LastWindow():
                duration = self.duration(node.duration)
                return windows.last(duration) if duration else None
            case nodes.LastCalendarWindow():
                unit = self.unit(node.unit)
                if node.count < 1:
                    self.error(
                        "SEG209", "the number of calendar periods must be at least 1", node.span
                    )
                    return None
                if unit is None:
                    return None
                problem = time_range.periods_problem(node.count, unit)
                if problem is not None:
                    self.error("SEG211", problem, node.span, time_range.HELP)
                    return None
                return windows.last_calendar(node.count, unit)
            case nodes.PeriodWindow():
                unit = self.unit(node.unit)
                if unit is None:
                    return None
                return (
                    windows.this_period(unit)
                    if node.which == "this"
                    else windows.previous_period(unit)
                )
            case nodes.BetweenAgoWindow():
                older = self.duration(node.start)
                newer = self.duration(node.end)
                if older is None or newer is None:
                    return None
                if _rough_seconds(older) <= _rough_seconds(newer):
                    self.error(
                        "SEG209",
                        "write the longer duration first: `between 60d ago and 45d ago`",
                        node.span,
                    )
                    return None
                return windows.between_ago(older, newer)
            case nodes.MoreThanAgoWindow():
                duration = self.duration(node.duration)
                return windows.more_than_ago(duration) if duration else None
            case nodes.BoundWindow():
                point = self.point(node.point)
                return windows.bound(node.kind, point) if point else None
            case nodes.FromToWindow():
                first = self.point(node.start)
                second = self.point(node.end)
                return windows.from_to(first, second) if first and second else None
            case _:
                assert_never(node)

    def window_condition(
        self, operand: ir.Expr, node: nodes.Window, scope: Scope, span: Span
    ) -> ir.Expr | None:
        """`operand in <window>` after `in`: an `ir.InWindow`, with comparisons for the
        sides whose point is an expression; None where the window has errors."""
        sides: list[tuple[BoundKind, nodes.Point]] = []
        if isinstance(node, nodes.BoundWindow):
            sides = [(node.kind, node.point)]
        elif isinstance(node, nodes.FromToWindow):
            sides = [("since", node.start), ("until", node.end)]
        if not any(self._is_value_point(point) for _, point in sides):
            bounds = self.window(node)
            return None if bounds is None else ir.InWindow(operand, bounds, span=span)
        parts: list[ir.Expr | None] = [
            self._window_side(kind, point, operand, scope, span) for kind, point in sides
        ]
        if any(part is None for part in parts):
            return None
        checked = [part for part in parts if part is not None]
        return checked[0] if len(checked) == 1 else and_(checked[0], checked[1], span)

    def _is_value_point(self, point: nodes.Point) -> bool:
        """An expression, or a name that is not a parameter (`since signed_up_at`)."""
        if isinstance(point, nodes.ValuePoint):
            return True
        if isinstance(point, nodes.NamePoint):
            name = point.name.text
            return name not in self.params and name not in self.decls.param_types
        return False

    def _window_side(
        self, kind: BoundKind, point: nodes.Point, operand: ir.Expr, scope: Scope, span: Span
    ) -> ir.Expr | None:
        if not self._is_value_point(point):
            resolved = self.point(point)
            if resolved is None:
                return None
            return ir.InWindow(operand, windows.bound(kind, resolved), span=span)
        if isinstance(point, nodes.NamePoint):
            value = self.name(nodes.Name((point.name,), span=point.span), scope)
        else:
            assert isinstance(point, nodes.ValuePoint)
            value = self.expr(point.value, scope)
        if value.type.is_error:
            return None
        if not value.type.is_time:
            self.error(
                "SEG206",
                f"a point of a window is a date or timestamp, not {value.type}",
                point.span,
                "e.g. `in from signed_up_at to signed_up_at + 24h`",
            )
            return None
        if not operand.type.is_time:
            return None  # reported by the caller
        if value.type.kind is t.Kind.DATE and kind in ("after", "until"):
            # a date covers its whole day: after it is from the next midnight on
            day = operand
            if operand.type.kind is not t.Kind.DATE:
                day = ir.TruncateTime("day", operand, t.DATE, span=operand.span)
            return self.compare(">" if kind == "after" else "<=", day, value, span)
        ops: dict[BoundKind, ir.CompareOp] = {
            "since": ">=",
            "before": "<",
            "after": ">",
            "until": "<=",
        }
        return self.compare(ops[kind], operand, value, span)


def _rough_seconds(duration: ir.DurationValue) -> int:
    if duration.unit == "mo":
        return duration.amount * 30 * 86400
    if duration.unit == "y":
        return duration.amount * 365 * 86400
    return duration.seconds
