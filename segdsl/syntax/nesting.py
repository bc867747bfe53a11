"""AST → diagnostics for expressions nested deeper than the compiler follows (SEG006).

The later stages walk expressions recursively, so nesting is limited to `MAX_DEPTH`
levels (`not`, signs, parentheses around a different operator, aggregates, calls).
Chains of one operator do not nest: `a and b and …`, `a or b or …` and `a + b - …`
or `a * b * …` count as one level however long they are (the checker flattens them).
"""

from __future__ import annotations

import dataclasses

from segdsl.diagnostics import Diagnostic
from segdsl.source import Span
from segdsl.syntax import nodes

MAX_DEPTH = 200


def nesting_problems(module: nodes.Module) -> list[Diagnostic]:
    """A diagnostic for each statement holding an expression nested too deeply."""
    problems: list[Diagnostic] = []
    for statement in module.statements:
        pending: list[tuple[object, int]] = [(statement, 0)]
        while pending:
            node, depth = pending.pop()
            if depth > MAX_DEPTH:
                span = getattr(node, "span", statement.span)
                problems.append(
                    Diagnostic(
                        "SEG006",
                        f"this expression is nested more than {MAX_DEPTH} levels deep",
                        span,
                        help="name the inner parts as measures or segments of their own",
                    )
                )
                break
            for child in _children(node):
                pending.append((child, depth if _continues(node, child) else depth + 1))
    return problems


def _children(node: object) -> list[object]:
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return []
    found: list[object] = []
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        for item in value if isinstance(value, tuple) else (value,):
            if dataclasses.is_dataclass(item) and not isinstance(item, Span | nodes.Ident):
                found.append(item)
    return found


def _continues(parent: object, child: object) -> bool:
    """Whether `child` is part of the same flat chain as `parent`."""
    if isinstance(parent, nodes.And) and isinstance(child, nodes.And):
        return True
    if isinstance(parent, nodes.Or) and isinstance(child, nodes.Or):
        return True
    if isinstance(parent, nodes.Arith) and isinstance(child, nodes.Arith):
        return child is parent.left and _group(parent.op) == _group(child.op) != "/"
    return False


def _group(op: str) -> str:
    return "+" if op in "+-" else op
