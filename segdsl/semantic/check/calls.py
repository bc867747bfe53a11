"""Function calls: date parts and truncations, text and number functions, `coalesce`."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from segdsl import ir
from segdsl import types as t
from segdsl.diagnostics import did_you_mean
from segdsl.semantic.check.base import (
    CheckerBase,
    Scope,
)
from segdsl.source import Span
from segdsl.syntax import nodes

DATE_PARTS: dict[str, ir.DatePartName] = {
    "year": "year",
    "quarter": "quarter",
    "month": "month",
    "day": "day",
    "weekday": "weekday",
    "hour": "hour",
    "day_of_year": "day_of_year",
}

TRUNCATIONS: dict[str, ir.CalendarUnit] = {
    "date": "day",
    "week_start": "week",
    "month_start": "month",
    "quarter_start": "quarter",
    "year_start": "year",
}

STRING_FUNCTIONS = {"lower", "upper", "length"}
NUMBER_FUNCTIONS = {"abs", "round", "floor", "ceil"}
# a duration as a number of these units (`days(time since signed_up_at)`)
DURATION_UNITS: dict[str, ir.DurationValue] = {
    "hours": ir.DurationValue(1, "h"),
    "days": ir.DurationValue(1, "d"),
    "weeks": ir.DurationValue(1, "w"),
}
MAX_DIGITS = 9  # `round(x, digits)`: 10**digits is exact in a double
FUNCTIONS = sorted(
    {
        *DATE_PARTS,
        *TRUNCATIONS,
        *STRING_FUNCTIONS,
        *NUMBER_FUNCTIONS,
        *DURATION_UNITS,
        "age",
        "coalesce",
    }
)


class Calls(CheckerBase):
    """`f(x)` for the built-in functions."""

    def call(self, node: nodes.Call, scope: Scope) -> ir.Expr:
        name = node.function.text
        args = [self.expr(arg, scope) for arg in node.args]
        if name not in FUNCTIONS:
            return self.error(
                "SEG111",
                f"unknown function `{name}`",
                node.function.span,
                did_you_mean(name, FUNCTIONS),
            )
        expected = 2 if name == "coalesce" else 1
        if name in ("round", "floor", "ceil") and len(args) == 2:
            return self.rounded(node, args)
        if len(args) != expected:
            return self.error(
                "SEG204",
                f"`{name}` takes {expected} argument{'s' if expected > 1 else ''}, not {len(args)}",
                node.span,
            )
        arg = args[0]
        if name in DURATION_UNITS:
            return self.duration_number(arg, DURATION_UNITS[name], node.args[0].span, node.span)
        if name in DATE_PARTS or name in TRUNCATIONS or name == "age":
            if not (arg.type.is_time or arg.type.is_error):
                return self.error(
                    "SEG202",
                    f"`{name}` needs a date or timestamp, not {arg.type}",
                    node.args[0].span,
                )
            if name == "age":
                return ir.Age(arg, t.INTEGER, span=node.span)
            if name in DATE_PARTS:
                part = DATE_PARTS[name]
                if part == "hour" and arg.type.kind is t.Kind.DATE:
                    return self.error("SEG202", "a date has no hour", node.args[0].span)
                return ir.DatePart(part, arg, t.INTEGER, span=node.span)
            return ir.TruncateTime(TRUNCATIONS[name], arg, t.DATE, span=node.span)
        if name in STRING_FUNCTIONS:
            if arg.type.kind not in (t.Kind.STRING, t.Kind.ERROR):
                return self.error(
                    "SEG202", f"`{name}` needs text, not {arg.type}", node.args[0].span
                )
            result = t.INTEGER if name == "length" else t.STRING
            return ir.Function(cast(ir.FunctionName, name), (arg,), result, span=node.span)
        if name in NUMBER_FUNCTIONS:
            if not (arg.type.is_numeric or arg.type.is_error):
                return self.error(
                    "SEG202", f"`{name}` needs a number, not {arg.type}", node.args[0].span
                )
            result = arg.type if name == "abs" else t.INTEGER
            return ir.Function(cast(ir.FunctionName, name), (arg,), result, span=node.span)
        # coalesce
        left, right = args
        if not t.comparable(left.type, right.type) or left.type.kind is t.Kind.DURATION:
            return self.error(
                "SEG201",
                f"`coalesce` needs two values of one type, not {left.type} and {right.type}",
                node.span,
            )
        left, right = self.widen(left, right)
        result_type = right.type if left.type.is_error else left.type
        if left.type.is_numeric and right.type.is_numeric:
            result_type = t.numeric_result(left.type, right.type, "+")
        return ir.Function("coalesce", (left, right), result_type, span=node.span)

    def rounded(self, node: nodes.Call, args: list[ir.Expr]) -> ir.Expr:
        """`round(x, digits)`, `floor(x, digits)`, `ceil(x, digits)`: to a multiple of
        10^-digits (halves away from zero); digits may be negative (`round(x, -2)`)."""
        name = cast(ir.FunctionName, node.function.text)
        value, digits = args
        if not (value.type.is_numeric or value.type.is_error):
            return self.error(
                "SEG202", f"`{name}` needs a number, not {value.type}", node.args[0].span
            )
        if digits.type.is_error:
            return ir.Invalid(t.ERROR, span=node.span)
        count = _whole_constant(digits)
        if count is None or abs(count) > MAX_DIGITS:
            return self.error(
                "SEG209",
                f"the digits of `{name}` must be a whole number from -{MAX_DIGITS} to {MAX_DIGITS}",
                node.args[1].span,
                f"e.g. `{name}(avg_check, 2)` for cents",
            )
        if value.type.is_error:
            return ir.Invalid(t.ERROR, span=node.span)
        places = ir.Const(Decimal(count), t.INTEGER, span=digits.span)
        result = t.NUMBER if count > 0 else t.INTEGER
        return ir.Function(name, (value, places), result, span=node.span)

    def duration_number(
        self, value: ir.Expr, unit: ir.DurationValue, value_span: Span, span: Span
    ) -> ir.Expr:
        """A duration as a number of `unit`s (`days(d)`; `d / 7d` with `unit` 7d)."""
        if value.type.is_error:
            return ir.Invalid(t.ERROR, span=span)
        if value.type.kind is not t.Kind.DURATION:
            return self.error(
                "SEG202",
                f"a duration is needed here, not {value.type}",
                value_span,
                "e.g. `days(time since signed_up_at)`",
            )
        constant = ir.unwrap(value)
        for fixed in (constant.value if isinstance(constant, ir.Const) else None, unit):
            if isinstance(fixed, ir.DurationValue) and fixed.is_calendar:
                return self.error(
                    "SEG207",
                    f"`{fixed}` has no fixed length, so it cannot be counted in other units",
                    value_span,
                    "use days or weeks, e.g. `180d`",
                )
        if unit.seconds == 0:
            return self.error("SEG209", "a duration cannot be divided by zero", span)
        seconds = ir.Const(Decimal(unit.seconds), t.INTEGER, span=span)
        return ir.Arith("/", value, seconds, t.NUMBER, span=span)


def _whole_constant(expr: ir.Expr) -> int | None:
    """The value of a constant whole number (`2`, `-1`, a parameter), else None."""
    value: object = None
    if isinstance(expr, ir.Const):
        value = expr.value
    elif isinstance(expr, ir.Negate) and isinstance(expr.operand, ir.Const):
        inner = expr.operand.value
        value = -inner if isinstance(inner, Decimal) else None
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return None
