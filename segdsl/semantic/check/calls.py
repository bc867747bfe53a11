"""Function calls: date parts and truncations, text and number functions, `coalesce`."""

from __future__ import annotations

from typing import cast

from segdsl import ir
from segdsl import types as t
from segdsl.diagnostics import did_you_mean
from segdsl.semantic.check.base import (
    CheckerBase,
    Scope,
)
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

FUNCTIONS = sorted(
    {*DATE_PARTS, *TRUNCATIONS, *STRING_FUNCTIONS, *NUMBER_FUNCTIONS, "age", "coalesce"}
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
        if len(args) != expected:
            return self.error(
                "SEG204",
                f"`{name}` takes {expected} argument{'s' if expected > 1 else ''}, not {len(args)}",
                node.span,
            )
        arg = args[0]
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
