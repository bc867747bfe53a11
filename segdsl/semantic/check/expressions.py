"""Expressions: the dispatch from syntax to each construct, literals and conditions."""

from __future__ import annotations

import datetime as dt
from typing import assert_never

from segdsl import ir
from segdsl import types as t
from segdsl.semantic import time_range, windows
from segdsl.semantic.check.base import (
    CheckerBase,
    RowScope,
    Scope,
    and_,
    or_,
)
from segdsl.syntax import nodes


class Expressions(CheckerBase):
    """Every expression node to typed IR; literals are checked here."""

    def condition(self, node: nodes.Expr, scope: Scope) -> ir.Expr:
        """An expression that must be true/false."""
        expr = self.expr(node, scope)
        if expr.type.is_error or expr.type.kind is t.Kind.BOOLEAN:
            return expr
        return self.error(
            "SEG203",
            f"expected a condition, found a value of type {expr.type}",
            node.span,
            _condition_help(expr.type),
            t.BOOLEAN,
        )

    def expr(self, node: nodes.Expr, scope: Scope) -> ir.Expr:
        match node:
            case (
                nodes.NumberLit()
                | nodes.PercentLit()
                | nodes.StringLit()
                | nodes.BoolLit()
                | nodes.DateLit()
                | nodes.TimestampLit()
                | nodes.DurationLit()
            ):
                return self.in_range(self.literal(node))
            case nodes.Name():
                return self.name(node, scope)
            case nodes.Call():
                return self.call(node, scope)
            case nodes.Negate():
                operand = self.expr(node.operand, scope)
                if not (operand.type.is_numeric or operand.type.is_error):
                    return self.error(
                        "SEG202", f"cannot negate a value of type {operand.type}", node.span
                    )
                return ir.Negate(operand, operand.type, span=node.span)
            case nodes.Arith():
                return self.arith(node, scope)
            case nodes.Compare():
                left = self.expr(node.left, scope)
                right = self.expr(node.right, scope)
                self.quote_hint(node.right, right, left)
                self.quote_hint(node.left, left, right)
                return self.compare(node.op, left, right, node.span)
            case nodes.Between():
                operand = self.expr(node.operand, scope)
                low = self.expr(node.low, scope)
                high = self.expr(node.high, scope)
                if node.negated:
                    return or_(
                        self.compare("<", operand, low, node.span),
                        self.compare(">", operand, high, node.span),
                        node.span,
                    )
                return and_(
                    self.compare(">=", operand, low, node.span),
                    self.compare("<=", operand, high, node.span),
                    node.span,
                )
            case nodes.InList():
                return self.in_list(node, scope)
            case nodes.InWindow():
                return self.in_window(node, scope)
            case nodes.Rank():
                return self.rank(node, scope)
            case nodes.Presence():
                operand = self.expr(node.operand, scope)
                return ir.IsPresent(operand, node.present, span=node.span)
            case nodes.TextMatch():
                operand = self.expr(node.operand, scope)
                pattern = self.expr(node.pattern, scope)
                for side, part in ((operand, node.operand), (pattern, node.pattern)):
                    if side.type.kind not in (t.Kind.STRING, t.Kind.ERROR, t.Kind.LABEL):
                        self.error(
                            "SEG202",
                            f"`{node.op.replace('_', ' ')}` works on text, not on {side.type}",
                            part.span,
                        )
                return ir.TextMatch(node.op, operand, pattern, span=node.span)
            case nodes.And():
                parts = [self.condition(part, scope) for part in _chain(node, nodes.And)]
                return ir.And(_flat(parts, ir.And), span=node.span)
            case nodes.Or():
                parts = [self.condition(part, scope) for part in _chain(node, nodes.Or)]
                return ir.Or(_flat(parts, ir.Or), span=node.span)
            case nodes.Not():
                return ir.Not(self.condition(node.operand, scope), span=node.span)
            case nodes.TimeSince():
                operand = self.time_value(node.operand, scope, "time since")
                now = ir.TimePoint(windows.NOW, t.TIMESTAMP, span=node.span)
                return ir.Elapsed(operand, now, span=node.span)
            case nodes.TimeBetween():
                start = self.time_value(node.start, scope, "time between")
                end = self.time_value(node.end, scope, "time between")
                return ir.Elapsed(start, end, span=node.span)
            case nodes.Ago():
                duration = self.duration(node.duration)
                if duration is None:
                    return ir.Invalid(t.TIMESTAMP, span=node.span)
                return ir.TimePoint(windows.ago(duration), t.TIMESTAMP, span=node.span)
            case nodes.IfThenElse():
                return self.if_then_else(node, scope)
            case nodes.Aggregate() | nodes.NestedAggregate():
                if isinstance(scope, RowScope):
                    return self.error(
                        "SEG114",
                        "an aggregate cannot be used inside a table's filter",
                        node.span,
                        "define it as a measure and combine the measures in a segment",
                    )
                return self.aggregate(node)
            case nodes.Sequence():
                if isinstance(scope, RowScope):
                    return self.error(
                        "SEG114", "a sequence cannot be used inside a table's filter", node.span
                    )
                return self.sequence(node)
            case _:
                assert_never(node)

    def literal(self, node: nodes.Literal_) -> ir.Const:
        """A literal's value and type (dates and durations not yet checked for range)."""
        match node:
            case nodes.NumberLit():
                integral = node.value == node.value.to_integral_value()
                return ir.Const(node.value, t.INTEGER if integral else t.DECIMAL, span=node.span)
            case nodes.PercentLit():
                return ir.Const(node.value / 100, t.DECIMAL, span=node.span)
            case nodes.StringLit():
                return ir.Const(node.value, t.STRING, span=node.span)
            case nodes.BoolLit():
                return ir.Const(node.value, t.BOOLEAN, span=node.span)
            case nodes.DateLit():
                return ir.Const(node.value, t.DATE, span=node.span)
            case nodes.TimestampLit():
                return ir.Const(self.wall_clock(node.value), t.TIMESTAMP, span=node.span)
            case nodes.DurationLit():
                duration = ir.DurationValue(node.amount, node.unit)
                return ir.Const(duration, t.DURATION, span=node.span)
            case _:
                assert_never(node)

    def in_range(self, const: ir.Const) -> ir.Expr:
        """The literal, or an error if it is a time or duration out of range."""
        problem = time_range.value_problem(const.value)
        if problem is None:
            return const
        return self.error("SEG211", problem, const.span, time_range.HELP)

    def wall_clock(self, value: dt.datetime) -> dt.datetime:
        """A timestamp literal as wall-clock time in the project's time zone."""
        if value.tzinfo is None:
            return value
        return value.astimezone(self.time_zone).replace(tzinfo=None)


def _chain(node: nodes.And | nodes.Or, kind: type[nodes.And | nodes.Or]) -> list[nodes.Expr]:
    """The operands of a chain of `and` (or of `or`), left to right, found without recursing."""
    operands: list[nodes.Expr] = []
    pending: list[nodes.Expr] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, kind):
            pending += (current.right, current.left)
        else:
            operands.append(current)
    return operands


def _flat(parts: list[ir.Expr], kind: type[ir.And | ir.Or]) -> tuple[ir.Expr, ...]:
    items: list[ir.Expr] = []
    for part in parts:
        items.extend(part.items if isinstance(part, kind) else (part,))
    return tuple(items)


def _condition_help(type_: t.Type) -> str:
    if type_.is_numeric:
        return "compare it, e.g. `… > 0`"
    if type_.is_time:
        return "test it against a window, e.g. `… in last 30d`"
    if type_.kind is t.Kind.DURATION:
        return "compare it with a duration, e.g. `… < 30d`"
    if type_.kind is t.Kind.LABEL:
        return f'compare it with a label, e.g. `… = "{type_.labels[0]}"`' if type_.labels else ""
    return 'compare it with a value, e.g. `… = "x"`'
