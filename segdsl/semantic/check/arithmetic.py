"""Arithmetic: numbers, durations added to times, times subtracted; long chains balanced."""

from __future__ import annotations

from segdsl import ir
from segdsl import types as t
from segdsl.semantic.check.base import (
    CheckerBase,
    Scope,
    span_of,
)
from segdsl.source import Span
from segdsl.syntax import nodes


class Arithmetic(CheckerBase):
    """`a + b`, `a * b` and their chains; dates widened to timestamps."""

    def arith(self, node: nodes.Arith, scope: Scope) -> ir.Expr:
        """A chain `a + b - c …` (or `*`, `/`), checked term by term without recursing.

        A long chain of numbers becomes a balanced tree, so the stages after this
        one recurse only as deep as its logarithm.
        """
        spine: list[nodes.Arith] = []  # the chain's nodes, innermost first
        current: nodes.Expr = node
        while isinstance(current, nodes.Arith) and _precedence(current.op) == _precedence(node.op):
            spine.append(current)
            current = current.left
        spine.reverse()
        result = self.expr(current, scope)
        terms = [result, *(self.expr(link.right, scope) for link in spine)]
        ops = [link.op for link in spine]
        if len(spine) > 2 and all(term.type.is_numeric for term in terms):
            return _regrouped(terms, ops, node.span)
        for link, right in zip(spine, terms[1:], strict=True):
            result = self.arith_pair(link, result, right)
        return result

    def arith_pair(self, node: nodes.Arith, left: ir.Expr, right: ir.Expr) -> ir.Expr:
        if left.type.is_error or right.type.is_error:
            return ir.Invalid(t.ERROR, span=node.span)
        if left.type.is_numeric and right.type.is_numeric:
            return ir.Arith(
                node.op,
                left,
                right,
                t.numeric_result(left.type, right.type, node.op),
                span=node.span,
            )
        if left.type.kind is t.Kind.DURATION and right.type.is_time and node.op == "+":
            left, right = right, left  # `24h + signed_up_at`
        durations = left.type.kind is t.Kind.DURATION and right.type.kind is t.Kind.DURATION
        if durations and node.op == "/":
            return self.duration_ratio(node, left, right)  # `time since x / 7d`: weeks
        if left.type.is_time and right.type.kind is t.Kind.DURATION and node.op in "+-":
            if not isinstance(right, ir.Const) or not isinstance(right.value, ir.DurationValue):
                return self.error(
                    "SEG202",
                    "only a fixed duration such as `30d` can be added to a time",
                    node.right.span,
                )
            duration = right.value
            if node.op == "-":
                duration = ir.DurationValue(-duration.amount, duration.unit)
            return ir.AddDuration(self.as_timestamp(left), duration, t.TIMESTAMP, span=node.span)
        if left.type.is_time and right.type.is_time and node.op == "-":
            return ir.Elapsed(self.as_timestamp(right), self.as_timestamp(left), span=node.span)
        return self.error(
            "SEG202",
            f"cannot compute {left.type} {node.op} {right.type}",
            node.span,
            "arithmetic works on numbers; `time since X` and `time between X and Y` give durations",
        )

    def duration_ratio(self, node: nodes.Arith, left: ir.Expr, right: ir.Expr) -> ir.Expr:
        """One duration divided by another: a number (durations are seconds in SQL)."""
        divisor = right.value if isinstance(right, ir.Const) else None
        if isinstance(divisor, ir.DurationValue):
            return self.duration_number(left, divisor, node.left.span, node.span)
        second = ir.DurationValue(1, "s")
        for side, part in ((left, node.left), (right, node.right)):
            if self.duration_number(side, second, part.span, node.span).type.is_error:
                return ir.Invalid(t.ERROR, span=node.span)
        return ir.Arith("/", left, right, t.NUMBER, span=node.span)

    def as_timestamp(self, expr: ir.Expr) -> ir.Expr:
        if expr.type.kind is t.Kind.DATE:
            return ir.ToTimestamp(expr, t.TIMESTAMP, span=span_of(expr))
        return expr

    def widen(self, left: ir.Expr, right: ir.Expr) -> tuple[ir.Expr, ir.Expr]:
        """Make a date comparable with a timestamp (a date stands for its midnight)."""
        if left.type.kind is t.Kind.DATE and right.type.kind is t.Kind.TIMESTAMP:
            return self.as_timestamp(left), right
        if left.type.kind is t.Kind.TIMESTAMP and right.type.kind is t.Kind.DATE:
            return left, self.as_timestamp(right)
        return left, right


def _precedence(op: str) -> int:
    return 1 if op in "+-" else 2


_FLIPPED_SIGN: dict[nodes.ArithOp, nodes.ArithOp] = {"+": "-", "-": "+", "*": "*"}


def _regrouped(terms: list[ir.Expr], ops: list[nodes.ArithOp], span: Span) -> ir.Expr:
    """`t0 op1 t1 …` (evaluated left to right) with each run of `+`/`-` or of `*`
    balanced: `a * b / c * d * e` = `((a * b) / c) * (d * e)`."""
    divisions = [index for index, op in enumerate(ops) if op == "/"]
    if not divisions:
        return _balanced(terms, ops, span)
    result = _balanced(terms[: divisions[0] + 1], ops[: divisions[0]], span)
    for number, division in enumerate(divisions):
        result = _numeric("/", result, terms[division + 1], span)
        end = divisions[number + 1] if number + 1 < len(divisions) else len(ops)
        run = terms[division + 2 : end + 1]
        if run:
            result = _numeric("*", result, _balanced(run, ops[division + 2 : end], span), span)
    return result


def _balanced(terms: list[ir.Expr], ops: list[nodes.ArithOp], span: Span) -> ir.Expr:
    """`t0 op1 t1 op2 t2 …` (evaluated left to right) as a balanced tree of numbers.

    Split before the middle operator: `a - b + c` = `a - (b - c)`, so the right half's
    signs flip when the split is at a `-`. No divisions here (`a / b * c` is not
    `a / (b * c)`): `_regrouped` keeps them in their place.
    """
    if len(terms) == 1:
        return terms[0]
    middle = len(ops) // 2
    op = ops[middle]
    right_ops = ops[middle + 1 :]
    if op == "-":
        right_ops = [_FLIPPED_SIGN[o] for o in right_ops]
    left = _balanced(terms[: middle + 1], ops[:middle], span)
    right = _balanced(terms[middle + 1 :], right_ops, span)
    return _numeric(op, left, right, span)


def _numeric(op: nodes.ArithOp, left: ir.Expr, right: ir.Expr, span: Span) -> ir.Expr:
    return ir.Arith(op, left, right, t.numeric_result(left.type, right.type, op), span=span)
