"""`if condition then value else other`: one value or the other, of one type."""

from __future__ import annotations

from segdsl import ir
from segdsl import types as t
from segdsl.semantic.check.base import CheckerBase, Scope
from segdsl.syntax import nodes


class Conditionals(CheckerBase):
    """`if … then … else …` as an `ir.Case`: a missing condition takes the `else` value."""

    def if_then_else(self, node: nodes.IfThenElse, scope: Scope) -> ir.Expr:
        condition = self.condition(node.condition, scope)
        then = self.expr(node.then, scope)
        otherwise = self.expr(node.otherwise, scope)
        if then.type.is_error or otherwise.type.is_error:
            known = otherwise.type if then.type.is_error else then.type
            return ir.Invalid(known, span=node.span)
        type_ = self.branch_type(node, then, otherwise)
        if type_.is_error:
            return ir.Invalid(t.ERROR, span=node.span)
        if type_.kind is t.Kind.TIMESTAMP:
            then, otherwise = self.as_timestamp(then), self.as_timestamp(otherwise)
        return ir.Case(((condition, then),), otherwise, type_, span=node.span)

    def branch_type(self, node: nodes.IfThenElse, then: ir.Expr, otherwise: ir.Expr) -> t.Type:
        """The type both branches have, or ERROR (reported) if they differ."""
        left, right = then.type, otherwise.type
        for side, part in ((then, node.then), (otherwise, node.otherwise)):
            value = side.value if isinstance(side, ir.Const) else None
            if isinstance(value, ir.DurationValue) and value.is_calendar:
                self.error(
                    "SEG207",
                    f"`{value}` has no fixed length, so it cannot be a value of `if`",
                    part.span,
                    "use days or weeks, e.g. `180d`",
                )
                return t.ERROR
        if not t.comparable(left, right):
            self.error(
                "SEG201",
                f"the two values of `if` have different types: {left} and {right}",
                node.span,
                "give `then` and `else` values of one type, e.g. numbers in both",
            )
            return t.ERROR
        if left.is_numeric and right.is_numeric:
            return t.numeric_result(left, right, "+")
        if left.is_time and right.is_time:
            return left if left == right else t.TIMESTAMP
        if t.Kind.LABEL in (left.kind, right.kind):
            self.check_labels(then, otherwise)
            self.check_labels(otherwise, then)
            return left if left.kind is t.Kind.LABEL else right
        return left
