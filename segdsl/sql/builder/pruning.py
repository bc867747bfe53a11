"""What a members query need not compute: the population test of a ranking that everyone
the query keeps takes part in, and the aggregates only such tests read."""

from __future__ import annotations

import dataclasses

from segdsl import ir
from segdsl.plan import Plan, counts_rows, holds_with_rows
from segdsl.sql.builder.reading import _factor_filters


def _whole_populations(plan: Plan, required: set[object]) -> set[ir.PopulationSpec]:
    """Rankings whose population every row of `population` is in: `… among buyers` when
    the query inner-joins the orders and `orders_count` counts every row it reads there
    (each joined entity has at least one)."""
    counting: list[ir.Aggregation] = []
    for source, aggregations in plan.aggregations.items():
        if source in required:
            _, residuals = _factor_filters([a.filter for _, a in aggregations])
            counting += [
                aggregation
                for (_, aggregation), residual in zip(aggregations, residuals, strict=True)
                if residual is None and counts_rows(aggregation)
            ]
    return {
        spec
        for layer in plan.layers
        for _, spec in layer
        if spec.population is not None
        and any(holds_with_rows(spec.population, counted) for counted in counting)
    }


def _without_unread(plan: Plan, whole: set[ir.PopulationSpec]) -> Plan:
    """`plan` without the aggregates read only by the populations of the `whole` rankings
    (so never), where the rows of their table's CTE stay the same: another aggregate of
    the table counts every row it keeps (its filter is the one all of them share)."""
    read: set[ir.Aggregation] = set()

    def visit(expr: ir.Expr) -> None:  # the planner's walk (`plan._Planner.visit`)
        match expr:
            case ir.AggregateRef(aggregation=aggregation):
                read.add(aggregation)
            case ir.PopulationRef(spec=spec):
                visit(spec.value)
                if spec.population is not None and spec not in whole:
                    visit(spec.population)
            case ir.SequenceRef():
                pass
            case _:
                for child in ir.children(expr):
                    visit(child)

    for output in plan.outputs:
        visit(output.expr)
    kept: dict[ir.RowSource, list[tuple[str, ir.Aggregation]]] = {}
    for source, aggregations in plan.aggregations.items():
        _, residuals = _factor_filters([a.filter for _, a in aggregations])
        remaining = [pair for pair in aggregations if pair[1] in read]
        every_row = any(
            residual is None and pair[1] in read
            for pair, residual in zip(aggregations, residuals, strict=True)
        )
        kept[source] = remaining if remaining and every_row else aggregations
    return dataclasses.replace(plan, aggregations=kept)
