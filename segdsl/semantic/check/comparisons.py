"""Comparisons: `=`/`<`…, durations and ages, labels, `in [...]`, `in <window>`, times."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from segdsl import ir
from segdsl import types as t
from segdsl.diagnostics import did_you_mean
from segdsl.semantic import time_range, windows
from segdsl.semantic.check.base import (
    CheckerBase,
    Scope,
    and_,
    span_of,
)
from segdsl.source import NO_SPAN, Span
from segdsl.syntax import nodes


class Comparisons(CheckerBase):
    """Conditions that compare a value with another, a list or a window."""

    def compare(self, op: nodes.CompareOp, left: ir.Expr, right: ir.Expr, span: Span) -> ir.Expr:
        if left.type.is_error or right.type.is_error:
            return ir.Invalid(t.BOOLEAN, span=span)
        if left.type.kind is t.Kind.DURATION or right.type.kind is t.Kind.DURATION:
            return self.compare_durations(op, left, right, span)
        if not t.comparable(left.type, right.type):
            help_ = None
            if left.type.is_time or right.type.is_time:
                help_ = "write a date as 2025-03-01 or a timestamp as 2025-03-01T09:30:00"
            return self.error(
                "SEG201",
                f"cannot compare {left.type} with {right.type}",
                span,
                help_,
                t.BOOLEAN,
            )
        if t.Kind.BOOLEAN in (left.type.kind, right.type.kind) and op not in ("=", "!="):
            return self.error(
                "SEG202", f"true/false values cannot be compared with `{op}`", span, type_=t.BOOLEAN
            )
        self.check_labels(left, right)
        self.check_labels(right, left)
        lowered = self.age_limit(op, left, right, span)
        if lowered is not None:
            return lowered
        left, right = self.widen(left, right)
        return ir.Compare(op, left, right, span=span)

    def age_limit(
        self, op: nodes.CompareOp, left: ir.Expr, right: ir.Expr, span: Span
    ) -> ir.Expr | None:
        """`age(birth_date) >= 35` as `birth_date <= (as-of date − 35 years)`.

        No per-row arithmetic.
        """
        if isinstance(right, ir.Age) and isinstance(left, ir.Const):
            left, right, op = right, left, ir.FLIPPED[op]
        if not (isinstance(left, ir.Age) and isinstance(right, ir.Const)):
            return None
        birth = left.operand
        years = right.value
        if birth.type.kind is not t.Kind.DATE or not isinstance(years, Decimal):
            return None
        if years != years.to_integral_value() or abs(years) > time_range.MAX_YEARS:
            return None
        n = int(years)

        def at_least(k: int) -> ir.Expr:  # age >= k  ⇔  born on or before the cutoff
            bounds = ir.Bounds(None, False, ir.YearsBeforeAsOfDate(k), True)
            return ir.InWindow(birth, bounds, span=span)

        def below(k: int) -> ir.Expr:  # age < k
            bounds = ir.Bounds(ir.YearsBeforeAsOfDate(k), False, None, False)
            return ir.InWindow(birth, bounds, span=span)

        match op:
            case ">=":
                return at_least(n)
            case ">":
                return at_least(n + 1)
            case "<":
                return below(n)
            case "<=":
                return below(n + 1)
            case "=":
                bounds = ir.Bounds(
                    ir.YearsBeforeAsOfDate(n + 1), False, ir.YearsBeforeAsOfDate(n), True
                )
                return ir.InWindow(birth, bounds, span=span)
            case "!=":
                return ir.Or((below(n), at_least(n + 1)), span=span)
        return None

    def check_labels(self, labelled: ir.Expr, other: ir.Expr) -> None:
        if labelled.type.kind is not t.Kind.LABEL:
            return
        if isinstance(other, ir.Const) and isinstance(other.value, str):
            if other.value not in labelled.type.labels:
                self.error(
                    "SEG109",
                    f"`{other.value}` is not one of the labels "
                    + ", ".join(f"`{x}`" for x in labelled.type.labels),
                    other.span,
                    did_you_mean(other.value, labelled.type.labels),
                )
        elif other.type.kind is t.Kind.LABEL and set(other.type.labels) != set(
            labelled.type.labels
        ):
            self.error(
                "SEG201", "these values come from classifiers with different labels", other.span
            )

    def compare_durations(
        self, op: nodes.CompareOp, left: ir.Expr, right: ir.Expr, span: Span
    ) -> ir.Expr:
        for side, _other in ((left, right), (right, left)):
            if side.type.kind is not t.Kind.DURATION:
                help_ = None
                if isinstance(side, ir.Const) and side.type.is_numeric:
                    help_ = f"write a duration with its unit, e.g. `{side.value}d` for days"
                return self.error(
                    "SEG201",
                    f"cannot compare a duration with {side.type}",
                    span_of(side) if span_of(side) is not NO_SPAN else span,
                    help_,
                    t.BOOLEAN,
                )
        # Put the constant on the right: `30d > recency` is `recency < 30d`.
        if _duration_const(left) is not None and _duration_const(right) is None:
            left, right, op = right, left, ir.FLIPPED[op]
        constant = _duration_const(right)
        elapsed = ir.unwrap(left)
        if constant is not None and isinstance(elapsed, ir.Elapsed):
            if _is_now(elapsed.end):
                # now - start < D  ⇔  start > now - D
                point = ir.TimePoint(windows.ago(constant), t.TIMESTAMP, span=span_of(right))
                return ir.Compare(ir.FLIPPED[op], elapsed.start, point, span=span)
            # end - start < D  ⇔  end < start + D
            shifted = ir.AddDuration(elapsed.start, constant, t.TIMESTAMP, span=span_of(right))
            return ir.Compare(op, elapsed.end, shifted, span=span)
        for side in (left, right):
            value = _duration_const(side)
            if value is not None and value.is_calendar:
                return self.error(
                    "SEG207",
                    f"`{value}` has no fixed length, so it cannot be compared with this duration",
                    span_of(side),
                    "use days or weeks, e.g. `180d`",
                    t.BOOLEAN,
                )
        return ir.Compare(op, left, right, span=span)

    def quote_hint(self, node: nodes.Expr, checked: ir.Expr, other: ir.Expr) -> None:
        """`city = Moscow`: an unknown bare name compared with text, and like no declared
        name, was meant as text; the unknown-name diagnostic just reported for it says to
        quote it."""
        if not (isinstance(node, nodes.Name) and len(node.parts) == 1):
            return
        if not isinstance(checked, ir.Invalid) or not self.diagnostics:
            return
        if other.type.kind not in (t.Kind.STRING, t.Kind.LABEL):
            return
        last = self.diagnostics[-1]
        if last.code == "SEG101" and last.span == node.span and last.help is None:
            text = node.parts[0].text
            self.diagnostics[-1] = dataclasses.replace(
                last, help=f'text is written in quotes: `"{text}"`'
            )

    def in_list(self, node: nodes.InList, scope: Scope) -> ir.Expr:
        operand = self.expr(node.operand, scope)
        items: list[ir.Const] = []
        for item_node in node.items:
            item = self.expr(item_node, scope)
            self.quote_hint(item_node, item, operand)
            if not isinstance(item, ir.Const):
                if not item.type.is_error:
                    self.error("SEG202", "list items must be literal values", item_node.span)
                continue
            if not t.comparable(operand.type, item.type) or item.type.kind is t.Kind.DURATION:
                self.error(
                    "SEG201", f"cannot compare {operand.type} with {item.type}", item_node.span
                )
                continue
            if operand.type.kind is t.Kind.LABEL:
                self.check_labels(operand, item)
            if operand.type.kind is t.Kind.TIMESTAMP and item.type.kind is t.Kind.DATE:
                assert isinstance(item.value, dt.date)
                item = ir.Const(
                    dt.datetime.combine(item.value, dt.time()), t.TIMESTAMP, span=item.span
                )
            items.append(item)
        if not node.items:
            return self.error(
                "SEG210",
                "an empty list: `in []` never holds",
                node.span,
                "list at least one value, or leave the condition out",
                t.BOOLEAN,
            )
        if not items:
            return ir.Invalid(t.BOOLEAN, span=node.span)
        if operand.type.kind is t.Kind.DATE and any(i.type.kind is t.Kind.TIMESTAMP for i in items):
            operand = self.as_timestamp(operand)
        result: ir.Expr = ir.InList(operand, tuple(items), span=node.span)
        if node.negated:
            result = and_(
                ir.IsPresent(operand, True, span=node.span),
                ir.Not(result, span=node.span),
                node.span,
            )
        return result

    def in_window(self, node: nodes.InWindow, scope: Scope) -> ir.Expr:
        operand = self.expr(node.operand, scope)
        inside = self.window_condition(operand, node.window, scope, node.span)
        if not (operand.type.is_time or operand.type.is_error):
            return self.error(
                "SEG206",
                f"a window applies to a date or timestamp, not {operand.type}",
                node.operand.span,
                "e.g. `last orders in last 30d`",
                t.BOOLEAN,
            )
        if inside is None:
            return ir.Invalid(t.BOOLEAN, span=node.span)
        if node.negated:
            return and_(
                ir.IsPresent(operand, True, span=node.span),
                ir.Not(inside, span=node.span),
                node.span,
            )
        return inside

    def time_value(self, node: nodes.Expr, scope: Scope, what: str) -> ir.Expr:
        expr = self.expr(node, scope)
        if expr.type.is_error:
            return expr
        if not expr.type.is_time:
            return self.error(
                "SEG202", f"`{what}` needs a date or timestamp, not {expr.type}", node.span
            )
        return self.as_timestamp(expr)


def _duration_const(expr: ir.Expr) -> ir.DurationValue | None:
    expr = ir.unwrap(expr)
    if isinstance(expr, ir.Const) and isinstance(expr.value, ir.DurationValue):
        return expr.value
    return None


def _is_now(expr: ir.Expr) -> bool:
    return isinstance(expr, ir.TimePoint) and expr.anchor == windows.NOW
