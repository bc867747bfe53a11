"""Parsed modules → an analysed project: declarations, parameters and checked definitions."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from segdsl import ir
from segdsl import types as t
from segdsl.diagnostics import Diagnostic, did_you_mean
from segdsl.semantic import time_range
from segdsl.semantic.check import CheckedDefinition, Checker
from segdsl.semantic.declarations import Declarations, collect
from segdsl.source import Span
from segdsl.syntax import nodes
from segdsl.syntax.parser import parse_value

ParamValue = str | int | float | Decimal | bool | dt.date | dt.datetime | ir.DurationValue


@dataclass(frozen=True)
class Analysis:
    """The checked project: what compilers and tools work from."""

    decls: Declarations
    definitions: dict[str, CheckedDefinition]
    params: dict[str, ir.Const]
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def entity(self) -> ir.Entity | None:
        return self.decls.entity

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def analyze(
    modules: Sequence[nodes.Module],
    *,
    time_zone: ZoneInfo,
    params: Mapping[str, ParamValue] | None = None,
) -> Analysis:
    """Resolve names, check types and lower every definition to IR."""
    decls, diagnostics = collect(modules)
    values = resolve_params(decls, params or {}, time_zone, diagnostics)
    checker = Checker(decls, values, time_zone)
    checker.resolve_grouped_tables()
    if decls.order:  # every definition is about the entity's members, even `true`
        checker.require_entity(decls.spans[decls.order[0]])
    for name in [*dependencies_first(decls), *decls.order]:  # memoised: each checked once
        checker.definition(name)
    diagnostics.extend(checker.diagnostics)
    definitions = {name: d for name, d in checker.checked.items() if d is not None}
    depths: dict[int, int] = {}
    for name, definition in list(definitions.items()):
        if ir_depth(definition.expr, depths) > MAX_IR_DEPTH:
            del definitions[name]
            diagnostics.append(
                Diagnostic(
                    "SEG006",
                    f"`{name}` nests more than {MAX_IR_DEPTH} levels deep with the measures "
                    "and segments it uses",
                    decls.spans[name],
                    "shorten the chain of definitions that build on each other",
                )
            )
    ordered = {name: definitions[name] for name in decls.order if name in definitions}
    # one source construct may be checked twice (`x between a and b` is two comparisons)
    unique = list(dict.fromkeys(diagnostics))
    return Analysis(decls, ordered, values, unique)


# How deep the plan and SQL stages, which recurse, can follow an expression (with the
# measures and segments it uses inlined); tests/test_fuzz.py checks one at the limit.
MAX_IR_DEPTH = 250


def ir_depth(root: object, depths: dict[int, int]) -> int:
    """How deeply `root`'s nodes nest, without recursing; `depths` memoises shared nodes."""
    pending: list[tuple[object, bool]] = [(root, False)]
    while pending:
        node, expanded = pending.pop()
        if id(node) in depths:
            continue
        children = _ir_children(node)
        if expanded or not children:
            depths[id(node)] = 1 + max((depths[id(child)] for child in children), default=0)
            continue
        pending.append((node, True))
        pending.extend((child, False) for child in children if id(child) not in depths)
    return depths[id(root)]


def dependencies_first(decls: Declarations) -> list[str]:
    """The definitions in source order, each after those it names (found without
    recursing), so checking one never recurses through a long chain of others."""
    position = {name: index for index, name in enumerate(decls.order)}
    uses = {
        name: sorted(set(_names_in(decl, decls)) - {name}, key=position.__getitem__)
        for name, decl in decls.definitions.items()
    }
    ordered: dict[str, None] = {}
    tainted: set[str] = set()  # in a cycle, or using one: left to source order
    for root in decls.order:
        pending: list[tuple[str, bool]] = [(root, False)]
        path: list[str] = []
        while pending:
            name, expanded = pending.pop()
            if expanded:
                path.pop()
                ordered[name] = None
                if any(used in tainted for used in uses[name]):
                    tainted.add(name)
                continue
            if name in ordered:
                continue
            if name in path:
                tainted.update(path[path.index(name) :])
                continue
            path.append(name)
            pending.append((name, True))
            pending.extend((used, False) for used in reversed(uses[name]) if used not in ordered)
    return [name for name in ordered if name not in tainted]


def _names_in(decl: object, decls: Declarations) -> list[str]:
    """The definitions a declaration may name (any identifier spelled like one)."""
    found: dict[str, None] = {}
    pending = [decl]
    while pending:
        node = pending.pop()
        if isinstance(node, nodes.Ident) and node.text in decls.definitions:
            found[node.text] = None
        pending.extend(_ir_children(node))
    return list(found)


def _ir_children(node: object) -> list[object]:
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return []
    found: list[object] = []
    for item in (getattr(node, f.name) for f in dataclasses.fields(node)):
        values = item if isinstance(item, tuple) else (item,)
        found.extend(v for v in values if dataclasses.is_dataclass(v) and not isinstance(v, type))
    return found


OVERRIDE_SPAN = Span("<parameters>", 1, 1, 1, 1)


def resolve_params(
    decls: Declarations,
    overrides: Mapping[str, ParamValue],
    time_zone: ZoneInfo,
    diagnostics: list[Diagnostic],
) -> dict[str, ir.Const]:
    """Each parameter's value: the override if given, else its default."""
    for name in overrides:
        if name not in decls.param_types:
            diagnostics.append(
                Diagnostic(
                    "SEG112",
                    f"unknown parameter `{name}`",
                    OVERRIDE_SPAN,
                    did_you_mean(name, decls.param_types)
                    or (
                        "declared parameters: " + ", ".join(sorted(decls.param_types))
                        if decls.param_types
                        else "the project declares no parameters"
                    ),
                )
            )
    literal_checker = Checker(decls, {}, time_zone)
    values: dict[str, ir.Const] = {}
    for name, decl in decls.params.items():
        expected = decls.param_types[name]
        if name in overrides:
            const = _override_const(overrides[name], name, literal_checker, diagnostics)
            where = OVERRIDE_SPAN
        elif decl.default is not None:
            const = _literal(decl.default, literal_checker)
            where = decl.default.span
            if const is None:
                diagnostics.append(
                    Diagnostic("SEG112", f"the default of `{name}` must be a literal value", where)
                )
        else:
            diagnostics.append(
                Diagnostic(
                    "SEG112",
                    f"the parameter `{name}` has no default and no value was given",
                    decl.name.span,
                    f"pass one with `--param {name}=…` or give it a default",
                )
            )
            continue
        if const is None:
            continue
        converted = _conform(const, expected)
        if converted is None:
            diagnostics.append(
                Diagnostic(
                    "SEG112",
                    f"the parameter `{name}` is {_article(expected)}, "
                    f"but its value is {_article(const.type)}",
                    where,
                    _example(expected),
                )
            )
            continue
        problem = time_range.value_problem(converted.value)
        if problem is not None:
            diagnostics.append(Diagnostic("SEG211", f"`{name}`: {problem}", where, time_range.HELP))
            continue
        values[name] = converted
    literal_checker.diagnostics.clear()
    return values


def _override_const(
    value: ParamValue, name: str, checker: Checker, diagnostics: list[Diagnostic]
) -> ir.Const | None:
    if isinstance(value, str):
        parsed, problem = parse_value(value, path=f"<--param {name}>")
        if problem is not None:
            diagnostics.append(problem)
            return None
        assert parsed is not None
        const = _literal(parsed, checker)
        if const is None:
            diagnostics.append(
                Diagnostic("SEG112", f"the value of `{name}` must be a literal", OVERRIDE_SPAN)
            )
        return const
    return _python_const(value, checker.time_zone)


def _python_const(value: ParamValue, time_zone: ZoneInfo) -> ir.Const:
    if isinstance(value, bool):
        return ir.Const(value, t.BOOLEAN)
    if isinstance(value, int):
        return ir.Const(Decimal(value), t.INTEGER)
    if isinstance(value, (float, Decimal)):
        return ir.Const(Decimal(str(value)), t.DECIMAL)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # an instant: read it on the project's clock
            value = value.astimezone(time_zone).replace(tzinfo=None)
        return ir.Const(value, t.TIMESTAMP)
    if isinstance(value, dt.date):
        return ir.Const(value, t.DATE)
    if isinstance(value, ir.DurationValue):
        return ir.Const(value, t.DURATION)
    return ir.Const(value, t.STRING)


def _literal(node: nodes.Expr | tuple[nodes.Expr, ...], checker: Checker) -> ir.Const | None:
    if isinstance(node, tuple):  # a list (`--param p=[1, 2]`) is not one literal
        return None
    negate = isinstance(node, nodes.Negate)
    inner = node.operand if isinstance(node, nodes.Negate) else node
    if not isinstance(inner, nodes.Literal_):
        return None
    const = checker.literal(inner)
    if negate:
        if not isinstance(const.value, Decimal):
            return None
        return ir.Const(-const.value, const.type, span=node.span)
    return const


def _conform(const: ir.Const, expected: t.Type) -> ir.Const | None:
    if const.type.kind == expected.kind:
        return const
    if expected.is_numeric and const.type.is_numeric:
        if (
            expected.kind is t.Kind.INTEGER
            and isinstance(const.value, Decimal)
            and const.value != const.value.to_integral_value()
        ):
            return None
        return ir.Const(const.value, expected, span=const.span)
    if expected.kind is t.Kind.TIMESTAMP and const.type.kind is t.Kind.DATE:
        assert isinstance(const.value, dt.date)
        return ir.Const(dt.datetime.combine(const.value, dt.time()), expected, span=const.span)
    return None


def _example(expected: t.Type) -> str:
    examples = {
        t.Kind.DURATION: "e.g. `30d`, `12h`, `6mo`",
        t.Kind.DATE: "e.g. `2025-03-01`",
        t.Kind.TIMESTAMP: "e.g. `2025-03-01T09:30:00`",
        t.Kind.STRING: 'e.g. `"instagram_ads"`',
        t.Kind.BOOLEAN: "`true` or `false`",
    }
    return examples.get(expected.kind, "e.g. `5` or `12.5`")


def _article(type_: object) -> str:
    """`a number`, `an integer`."""
    text = str(type_)
    return f"an {text}" if text[:1] in "aeiou" else f"a {text}"
