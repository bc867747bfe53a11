"""Syntax trees → plain English, with every window resolved to concrete times.

`describe(node)` renders a definition's body for `seg explain`: conditions as
nested "all of / any of" lists, aggregates as "the number of orders rows …",
windows as exact bounds at the as-of time ("after 2025-06-01 00:00, up to and
including 2025-07-01 00:00").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from segdsl import ir
from segdsl.semantic.check import Checker
from segdsl.syntax import nodes
from segdsl.syntax.printer import duration_text, expr_text, window_text
from segdsl.timeline import AsOf

COMPARE_WORDS = {
    "=": "is",
    "!=": "is not",
    "<": "is less than",
    "<=": "is at most",
    ">": "is more than",
    ">=": "is at least",
}
UNIT_WORDS = {
    "s": "second",
    "min": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "mo": "month",
    "y": "year",
}


def moment_text(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M") + (f":{value.second:02d}" if value.second else "")


def bounds_text(bounds: ir.Bounds, as_of: AsOf) -> str:
    """`after 2025-06-01 00:00, up to and including 2025-07-01 00:00`."""
    parts = []
    if bounds.lower is not None:
        word = "from" if bounds.lower_inclusive else "after"
        parts.append(f"{word} {moment_text(as_of.resolve(bounds.lower))}")
    if bounds.upper is not None:
        word = "up to and including" if bounds.upper_inclusive else "before"
        parts.append(f"{word} {moment_text(as_of.resolve(bounds.upper))}")
    return ", ".join(parts) if parts else "at any time"


@dataclass
class Describer:
    """Renders syntax in words; the checker resolves windows and parameters."""

    checker: Checker
    as_of: AsOf

    def duration(self, node: nodes.Duration) -> str:
        value = self.checker.duration(node)
        if value is None:
            return duration_text(node)
        unit = UNIT_WORDS[value.unit]
        amount = f"{value.amount} {unit}{'s' if value.amount != 1 else ''}"
        return amount if isinstance(node, nodes.DurationLit) else f"{amount} (`{node.text}`)"

    def window(self, node: nodes.Window) -> str:
        source = window_text(node)
        bounds = self.checker.window(node)
        if bounds is None:
            return source
        return f"{source} ({bounds_text(bounds, self.as_of)})"

    def lines(self, node: nodes.Expr, indent: int = 0) -> list[str]:
        """Nested bullet lines for a condition."""
        pad = "  " * indent
        chain = _flatten(node)
        if chain is not None:
            word, operands = chain
            out = [f"{pad}{word}:"]
            for operand in operands:
                sub = self.lines(operand, indent + 1)
                sub[0] = sub[0][: len(pad) + 2] + "- " + sub[0][len(pad) + 2 :]
                out.extend(sub)
            return out
        if isinstance(node, nodes.Not):
            inner = self.lines(node.operand, indent + 1)
            if len(inner) == 1:
                return [f"{pad}not: {inner[0].strip()}"]
            return [f"{pad}none of the following holds:", *inner]
        return [f"{pad}{self.text(node)}"]

    def text(self, node: nodes.Expr) -> str:
        match node:
            case nodes.Compare():
                return f"{self.text(node.left)} {COMPARE_WORDS[node.op]} {self.text(node.right)}"
            case nodes.Between():
                word = "is not between" if node.negated else "is between"
                return (
                    f"{self.text(node.operand)} {word} {self.text(node.low)} "
                    f"and {self.text(node.high)} (inclusive)"
                )
            case nodes.InList():
                word = "is not one of" if node.negated else "is one of"
                return f"{self.text(node.operand)} {word} " + ", ".join(
                    self.text(i) for i in node.items
                )
            case nodes.InWindow():
                word = "is not in" if node.negated else "is in"
                return f"{self.text(node.operand)} {word} {self.window(node.window)}"
            case nodes.Presence():
                return f"{self.text(node.operand)} is {'known' if node.present else 'missing'}"
            case nodes.TextMatch():
                op = node.op.replace("_", " ")
                return f"{self.text(node.operand)} {op} {self.text(node.pattern)}"
            case nodes.Rank():
                size = (
                    node.size.text if isinstance(node.size, nodes.Ident) else expr_text(node.size)
                )
                side = "highest" if node.side == "top" else "lowest"
                among = f" among {expr_text(node.among)}" if node.among is not None else ""
                return (
                    f"{self.text(node.operand)} is among the {size} {side}{among} "
                    "(ties broken by key)"
                )
            case nodes.Sequence():
                limit = f" within {self.duration(node.within)}" if node.within is not None else ""
                first, then = self.event_set(node.first), self.event_set(node.then)
                if node.negated:
                    passed = " (and that time has passed)" if node.within is not None else ""
                    return f"some {first} is not followed by any {then}{limit}{passed}"
                return f"some {first} is followed by a later {then}{limit}"
            case nodes.TimeSince():
                return f"the time since {self.text(node.operand)}"
            case nodes.TimeBetween():
                return f"the time from {self.text(node.start)} to {self.text(node.end)}"
            case nodes.Aggregate():
                return self.aggregate(node)
            case nodes.NestedAggregate():
                return f"the {node.func} over groups of {self.text(node.inner)}"
            case nodes.DurationLit():
                return self.duration(node)
            case nodes.IfThenElse():
                return (
                    f"({self.text(node.then)} if {self.text(node.condition)}, "
                    f"otherwise {self.text(node.otherwise)})"
                )
            case nodes.And() | nodes.Or() | nodes.Not():
                return "(" + " ".join(line.strip() for line in self.lines(node)) + ")"
            case _:
                return expr_text(node)

    def event_set(self, node: nodes.EventSet) -> str:
        text = f"{node.table.text} row"
        if node.window is not None:
            text += f" during {self.window(node.window)}"
        if node.where is not None:
            text += f" where {expr_text(node.where)}"
        return text

    def aggregate(self, node: nodes.Aggregate) -> str:
        target = node.target.text
        args = ", ".join(expr_text(a) for a in node.args) if node.args else ""
        func = node.func
        if (
            func in ("ntile", "percentile", "cumulative share")
            or target not in self.checker.decls.tables
        ):
            among = (
                f" among {expr_text(node.among)}" if node.among is not None else " over everyone"
            )
            what = {
                "ntile": f"the {args}-tile (1 = lowest) of {target}",
                "percentile": f"the percentile of {target}",
                "cumulative share": f"the cumulative share of {target} from the largest down",
            }.get(func, f"the {func} of {target}")
            return what + among
        rows = f"{target} rows of every member together" if node.overall else f"{target} rows"
        base = {
            "count": f"the number of distinct {args} among {rows}"
            if node.distinct
            else (f"the number of {rows} with {args} known" if args else f"the number of {rows}"),
            "exists": f"there is at least one of the {rows}",
            "sum": f"the total {args} of {rows}",
            "avg": f"the average {args} of {rows}",
            "min": f"the smallest {args} of {rows}",
            "max": f"the largest {args} of {rows}",
            "first": f"the {args} of the first of the {rows}"
            if args
            else f"the time of the first of the {rows}",
            "last": f"the {args} of the last of the {rows}"
            if args
            else f"the time of the last of the {rows}",
            "nth": f"the value at position {args} of the {rows} in time order",
        }[func]
        if node.window is not None:
            base += f" during {self.window(node.window)}"
        if node.per is not None:
            base += f", per {expr_text(node.per)}"
        if node.where is not None:
            base += f", counting only rows where {expr_text(node.where)}"
        return base


def _flatten(node: nodes.Expr) -> tuple[str, list[nodes.Expr]] | None:
    if not isinstance(node, (nodes.And, nodes.Or)):
        return None
    kind = type(node)
    operands: list[nodes.Expr] = []

    def walk(current: nodes.Expr) -> None:
        if isinstance(current, kind):
            walk(current.left)
            walk(current.right)
        else:
            operands.append(current)

    walk(node)
    return ("all of" if kind is nodes.And else "any of"), operands
