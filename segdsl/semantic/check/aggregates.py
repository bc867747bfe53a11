"""Aggregates over a table's rows: filters, windows, `per` groups and nested aggregates."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal, cast

from segdsl import ir
from segdsl import types as t
from segdsl.diagnostics import did_you_mean
from segdsl.semantic.check.base import (
    CheckerBase,
    RowScope,
)
from segdsl.semantic.declarations import TableInfo
from segdsl.source import Span
from segdsl.syntax import nodes

POPULATION_ONLY = {"ntile", "percentile", "cumulative share"}
TABLE_FIGURES = {"count", "sum", "avg", "min", "max"}  # what `… of all <table>` computes


class Aggregates(CheckerBase):
    """`count orders where …`, `sum(amount) of orders`, `max count … per …`."""

    def aggregate(self, node: nodes.Aggregate | nodes.NestedAggregate) -> ir.Expr:
        if not self.require_entity(node.span):
            return ir.Invalid(t.ERROR, span=node.span)
        if isinstance(node, nodes.NestedAggregate):
            return self.nested_aggregate(node)
        target = node.target.text
        if target in self.decls.tables:
            return self.table_aggregate(node, self.decls.tables[target])
        if target in self.decls.definitions or target in self.decls.attributes:
            return self.population_aggregate(node)
        candidates = [*self.decls.tables, *self.decls.definitions, *self.decls.attributes]
        return self.error(
            "SEG104",
            f"unknown table or measure `{target}`",
            node.target.span,
            did_you_mean(target, candidates),
        )

    def table_filter(self, table: TableInfo) -> ir.Expr | None:
        """The filter that a derived table adds to its base (including the base's own)."""
        if table.name in self.table_filters:
            return self.table_filters[table.name]
        self.table_filters[table.name] = None  # cycles were reported by the collector
        parts: list[ir.Expr] = []
        if table.base is not None:
            base_filter = self.table_filter(self.decls.tables[table.base])
            if base_filter is not None:
                parts.append(base_filter)
        if table.where is not None:
            parts.append(self.condition(table.where, RowScope(table)))
        result = None if not parts else parts[0] if len(parts) == 1 else ir.And(tuple(parts))
        self.table_filters[table.name] = result
        return result

    def rows_filter(
        self,
        table: TableInfo,
        window: nodes.Window | None,
        where: nodes.Expr | None,
        span: Span,
    ) -> ir.Expr | None:
        parts: list[ir.Expr] = []
        derived = self.table_filter(table)
        if derived is not None:
            parts.append(derived)
        if window is not None:
            time = table.source.time
            bounds = self.window(window)
            if time is None:
                self.error(
                    "SEG108",
                    f"`{table.name}` has no time column, so it cannot be limited to a window",
                    span,
                    "declare it inside the table, e.g. `time ordered_at`",
                )
            elif bounds is not None:
                parts.append(ir.InWindow(time, bounds, span=span))
        if where is not None:
            parts.append(self.condition(where, RowScope(table)))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else ir.And(tuple(parts), span=span)

    def table_aggregate(self, node: nodes.Aggregate, table: TableInfo) -> ir.Expr:
        func = node.func
        if func in POPULATION_ONLY:
            return self.error(
                "SEG205",
                f"`{func}` ranks values over the population, not rows of `{table.name}`",
                node.span,
                f"define a measure first, then e.g. `{func}(5) of that_measure`"
                if func == "ntile"
                else f"define a measure first, then e.g. `{func} of that_measure`",
            )
        if node.among is not None:
            self.error(
                "SEG114",
                "`among` limits a population ranking; filter rows with `where`",
                node.among.span if hasattr(node.among, "span") else node.span,
            )
        if node.per is not None:
            self.error(
                "SEG114",
                "`per` needs an outer aggregate saying how to combine the groups",
                node.per.span,
                f"e.g. `max {func} {table.name} per …` for the largest group",
            )
        result = self.row_aggregate(node, table, group=None, outer=None)
        if not node.overall:
            return result
        if func not in TABLE_FIGURES:
            return self.error(
                "SEG205",
                f"`{func} all` is not a figure of a table",
                node.span,
                f"`all` goes with count, sum, avg, min and max: `avg(amount) of all {table.name}`",
            )
        if not isinstance(result, ir.AggregateRef):
            return result
        return ir.TableFigure(result.aggregation, result.type, span=node.span)

    def row_aggregate(
        self,
        node: nodes.Aggregate,
        table: TableInfo,
        group: ir.Expr | None,
        outer: Literal["count", "sum", "avg", "min", "max"] | None,
    ) -> ir.Expr:
        func = node.func
        scope = RowScope(table)
        args = [self.expr(arg, scope) for arg in node.args] if node.args is not None else None
        row_filter = self.rows_filter(table, node.window, node.where, node.span)
        source = table.source
        span = node.span

        def make(
            ir_func: ir.AggregateFunc,
            type_: t.Type,
            value: ir.Expr | None = None,
            n: int | None = None,
        ) -> ir.Expr:
            aggregation = ir.Aggregation(ir_func, source, value, row_filter, n, group, outer)
            return ir.AggregateRef(aggregation, type_, span=span)

        def needs_time() -> ir.RowColumn | None:
            if source.time is None:
                self.error(
                    "SEG108",
                    f"`{func}` needs the time order of `{table.name}`, which has no time column",
                    span,
                    "declare it inside the table, e.g. `time ordered_at`",
                )
            return source.time

        def arg_count(allowed: Sequence[int], usage: str) -> bool:
            count = 0 if args is None else len(args)
            if count not in allowed:
                self.error("SEG204", f"`{func}` takes {usage}", span)
                return False
            return True

        if node.distinct and func != "count":
            self.error("SEG205", "`distinct` only goes with `count`", span)
        if func == "count":
            if node.distinct:
                if not arg_count(
                    [1], f"one value: `count distinct(page_category) of {table.name}`"
                ):
                    return ir.Invalid(t.ERROR, span=span)
                assert args is not None
                return make("count_distinct", t.INTEGER, args[0])
            if args is None or not args:
                return make("count", t.INTEGER)
            if not arg_count([1], "at most one value"):
                return ir.Invalid(t.ERROR, span=span)
            assert args is not None
            present = ir.IsPresent(args[0], True)
            row_filter = present if row_filter is None else ir.And((row_filter, present))
            return make("count", t.INTEGER)
        if func == "exists":
            if args:
                self.error(
                    "SEG204", f"`exists` takes no value: `exists {table.name} where …`", span
                )
            return make("exists", t.BOOLEAN)
        if func in ("sum", "avg", "min", "max"):
            if not arg_count([1], f"one value: `{func}(amount) of {table.name}`"):
                return ir.Invalid(t.ERROR, span=span)
            assert args is not None
            value = args[0]
            if value.type.is_error:
                return ir.Invalid(t.ERROR, span=span)
            if func in ("sum", "avg") and not value.type.is_numeric:
                return self.error(
                    "SEG202",
                    f"`{func}` needs numbers, not {value.type}",
                    node.args[0].span if node.args else span,
                )
            if value.type.kind in (t.Kind.BOOLEAN, t.Kind.DURATION):
                return self.error("SEG202", f"`{func}` cannot order {value.type} values", span)
            type_ = (
                t.NUMBER
                if func == "avg"
                else (
                    value.type
                    if func != "sum" or value.type.kind is not t.Kind.INTEGER
                    else t.INTEGER
                )
            )
            return make(cast(ir.AggregateFunc, func), type_, value)
        if func in ("first", "last"):
            time = needs_time()
            if time is None:
                return ir.Invalid(t.ERROR, span=span)
            if not args:
                return make("min" if func == "first" else "max", time.type, time)
            if not arg_count([0, 1], f"at most one value: `{func}(channel) of {table.name}`"):
                return ir.Invalid(t.ERROR, span=span)
            assert args is not None
            return make("first_value" if func == "first" else "last_value", args[0].type, args[0])
        if func == "nth":
            time = needs_time()
            if not arg_count(
                [1, 2], f"a position and optionally a value: `nth(2) of {table.name}`"
            ):
                return ir.Invalid(t.ERROR, span=span)
            assert args is not None and node.args is not None
            position = args[0]
            n = position.value if isinstance(position, ir.Const) else None
            if not isinstance(n, Decimal) or n != n.to_integral_value() or n < 1:
                return self.error(
                    "SEG209", "the position must be a whole number from 1", node.args[0].span
                )
            if time is None:
                return ir.Invalid(t.ERROR, span=span)
            if len(args) == 1:
                return make("nth_value", time.type, time, int(n))
            return make("nth_value", args[1].type, args[1], int(n))
        return self.error("SEG205", f"`{func}` cannot aggregate rows", span)

    def nested_aggregate(self, node: nodes.NestedAggregate) -> ir.Expr:
        inner = node.inner
        if isinstance(inner, nodes.NestedAggregate) or inner.per is None:
            return self.error(
                "SEG114",
                f"`{node.func}` over an aggregate needs `per` on the inner one",
                node.span,
                "e.g. `max count views per page_category`",
            )
        if node.func not in ("count", "sum", "avg", "min", "max"):
            return self.error("SEG205", f"`{node.func}` cannot combine groups", node.span)
        table = self.decls.tables.get(inner.target.text)
        if table is None:
            return self.error(
                "SEG104",
                f"unknown table `{inner.target.text}`",
                inner.target.span,
                did_you_mean(inner.target.text, self.decls.tables),
            )
        if inner.overall:
            return self.error(
                "SEG114",
                "`all` makes one figure for everyone; it cannot be grouped with `per`",
                node.span,
            )
        group = self.expr(inner.per, RowScope(table))
        outer = node.func  # narrowed to count, sum, avg, min or max by the test above
        result = self.row_aggregate(inner, table, group, outer)
        if isinstance(result, ir.AggregateRef):
            inner_type = result.type
            if outer in ("sum", "avg") and not inner_type.is_numeric:
                return self.error("SEG202", f"`{outer}` needs numbers, not {inner_type}", node.span)
            type_ = t.INTEGER if outer == "count" else t.NUMBER if outer == "avg" else inner_type
            return ir.AggregateRef(result.aggregation, type_, span=node.span)
        return result
