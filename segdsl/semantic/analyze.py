"""Parsed modules → an analysed project: declarations, parameters and checked definitions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from segdsl import ir
from segdsl import types as t
from segdsl.diagnostics import Diagnostic, did_you_mean
from segdsl.semantic import time_range
from segdsl.semantic.checker import CheckedDefinition, Checker
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
    if decls.order:  # every definition is about the entity's members, even `true`
        checker.require_entity(decls.spans[decls.order[0]])
    for name in decls.order:
        checker.definition(name)
    diagnostics.extend(checker.diagnostics)
    definitions = {name: d for name, d in checker.checked.items() if d is not None}
    ordered = {name: definitions[name] for name in decls.order if name in definitions}
    # one source construct may be checked twice (`x between a and b` is two comparisons)
    unique = list(dict.fromkeys(diagnostics))
    return Analysis(decls, ordered, values, unique)


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
