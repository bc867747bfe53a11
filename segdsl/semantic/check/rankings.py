"""Rankings over the population: `top 10% by …`, `ntile`, `percentile`, sums over members."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from segdsl import ir
from segdsl import types as t
from segdsl.semantic.check.base import (
    ENTITY,
    CheckerBase,
    RowScope,
    Scope,
)
from segdsl.syntax import nodes


class Rankings(CheckerBase):
    """Aggregates and rankings whose rows are the population's members."""

    def population_aggregate(self, node: nodes.Aggregate) -> ir.Expr:
        func = node.func
        value = self.name(nodes.Name((node.target,), span=node.target.span), ENTITY)
        for clause, word in ((node.window, "during"), (node.per, "per"), (node.where, "where")):
            if clause is not None:
                self.error(
                    "SEG114",
                    f"`{word}` applies to rows of a table, but `{node.target.text}` is a measure",
                    node.span,
                    "use `among` to choose the population",
                )
        if node.overall:
            self.error(
                "SEG114",
                f"`all` takes the rows of a table, but `{node.target.text}` is a measure",
                node.span,
                f"a measure over the population is one value already: `{func} {node.target.text}`",
            )
        population = self.condition(node.among, ENTITY) if node.among is not None else None
        if value.type.is_error:
            return ir.Invalid(t.ERROR, span=node.span)
        orderable = (
            value.type.is_numeric or value.type.is_time or value.type.kind is t.Kind.DURATION
        )
        args = node.args or ()
        if func == "ntile":
            if len(args) != 1 or not isinstance(args[0], nodes.NumberLit):
                return self.error(
                    "SEG204", "`ntile` takes the number of groups: `ntile(5) of revenue`", node.span
                )
            buckets = args[0].value
            if buckets != buckets.to_integral_value() or not 2 <= buckets <= 1000:
                return self.error(
                    "SEG209",
                    "the number of groups must be a whole number from 2 to 1000",
                    args[0].span,
                )
            if not orderable:
                return self.error("SEG202", f"cannot rank {value.type} values", node.target.span)
            spec = ir.PopulationSpec("ntile", value, population, buckets=int(buckets))
            return ir.PopulationRef(spec, t.INTEGER, span=node.span)
        if args:
            return self.error("SEG204", f"`{func}` takes no arguments over a measure", node.span)
        if func in ("percentile", "cumulative share"):
            if func == "percentile" and not orderable:
                return self.error("SEG202", f"cannot rank {value.type} values", node.target.span)
            if func == "cumulative share" and not value.type.is_numeric:
                return self.error(
                    "SEG202", f"a share needs numbers, not {value.type}", node.target.span
                )
            ir_func: ir.PopulationFunc = (
                "percentile" if func == "percentile" else "cumulative_share"
            )
            return ir.PopulationRef(
                ir.PopulationSpec(ir_func, value, population), t.NUMBER, span=node.span
            )
        if func in ("sum", "avg", "min", "max", "count"):
            if func in ("sum", "avg") and not value.type.is_numeric:
                return self.error(
                    "SEG202", f"`{func}` needs numbers, not {value.type}", node.target.span
                )
            type_ = {"count": t.INTEGER, "avg": t.NUMBER}.get(func, value.type)
            if func == "sum" and value.type.kind is t.Kind.INTEGER:
                type_ = t.INTEGER
            spec = ir.PopulationSpec(cast(ir.PopulationFunc, func), value, population)
            return ir.PopulationRef(spec, type_, span=node.span)
        return self.error(
            "SEG205",
            f"`{func}` works on rows of a table, but `{node.target.text}` is a measure",
            node.span,
        )

    def rank(self, node: nodes.Rank, scope: Scope) -> ir.Expr:
        if isinstance(scope, RowScope):
            return self.error(
                "SEG114", "rankings cannot be used inside a table's filter", node.span
            )
        value = self.expr(node.operand, scope)
        population = self.condition(node.among, ENTITY) if node.among is not None else None
        size = node.size
        if isinstance(size, nodes.Ident):
            const = self.params.get(size.text)
            if const is None:
                return self.error("SEG101", f"unknown parameter `{size.text}`", size.span)
            number = const.value
            is_fraction = (
                const.type.kind is t.Kind.DECIMAL and isinstance(number, Decimal) and number < 1
            )
        else:
            number = size.value / 100 if isinstance(size, nodes.PercentLit) else size.value
            is_fraction = isinstance(size, nodes.PercentLit)
        if value.type.is_error:
            return ir.Invalid(t.BOOLEAN, span=node.span)
        if not (value.type.is_numeric or value.type.is_time or value.type.kind is t.Kind.DURATION):
            return self.error(
                "SEG202", f"cannot rank {value.type} values", node.operand.span, type_=t.BOOLEAN
            )
        if not isinstance(number, Decimal):
            return self.error(
                "SEG209", "the size must be a number or a percentage", node.span, type_=t.BOOLEAN
            )
        if is_fraction:
            if not 0 < number <= 1:
                return self.error(
                    "SEG209",
                    "a top/bottom percentage must be above 0% and at most 100%",
                    node.span,
                    type_=t.BOOLEAN,
                )
            spec = ir.PopulationSpec(node.side, value, population, fraction=number)
        else:
            if number != number.to_integral_value() or number < 1:
                return self.error(
                    "SEG209",
                    "a top/bottom count must be a whole number from 1",
                    node.span,
                    type_=t.BOOLEAN,
                )
            spec = ir.PopulationSpec(node.side, value, population, count=int(number))
        return ir.PopulationRef(spec, t.BOOLEAN, span=node.span)
