"""What the members' condition lets the query skip or check early: parts that
only need one table's aggregates (HAVING), group bounds, attribute-only parts
(candidates), the columns rankings read."""

from __future__ import annotations

from segdsl import ir
from segdsl.plan import Plan


def _having_parts(
    plan: Plan, condition: ir.Expr, required: set[object]
) -> dict[ir.RowSource, list[ir.Expr]]:
    """Top-level `and` parts of `condition` that use nothing but one required table's aggregates."""
    parts: dict[ir.RowSource, list[ir.Expr]] = {}
    for part in _conjuncts(condition):
        sources = _only_aggregates(part)
        if sources is not None and len(sources) == 1:
            (source,) = sources
            if source in required and source in plan.aggregations:
                parts.setdefault(source, []).append(part)
    return parts


def _group_bounds(condition: ir.Expr, required: set[object]) -> dict[ir.Aggregation, list[ir.Expr]]:
    """Top-level `and` parts bounding an inner-joined `max … per …` from below (or a
    `min … per …` from above) by a constant: every group on the wrong side can go."""
    bounds: dict[ir.Aggregation, list[ir.Expr]] = {}
    for part in _conjuncts(condition):
        if not isinstance(part, ir.Compare) or not isinstance(ir.unwrap(part.right), ir.Const):
            continue
        left = ir.unwrap(part.left)
        if not isinstance(left, ir.AggregateRef) or left.aggregation not in required:
            continue
        outer = left.aggregation.outer
        if (outer == "max" and part.op in (">", ">=")) or (
            outer == "min" and part.op in ("<", "<=")
        ):
            bounds.setdefault(left.aggregation, []).append(part)
    return bounds


def _columns_read(expr: ir.Expr, plan: Plan, layer: set[ir.PopulationSpec]) -> list[str]:
    """The population columns `expr` reads, besides the values of the `layer`'s rankings."""
    match expr:
        case ir.EntityColumn(attribute=attribute):
            return [plan.aliases[attribute]] if attribute in plan.aliases else []  # or the key
        case ir.AggregateRef(aggregation=aggregation):
            return [plan.aliases[aggregation]]
        case ir.SequenceRef(sequence=sequence):
            return [plan.aliases[sequence]]
        case ir.PopulationRef(spec=spec):
            return [] if spec in layer else [plan.aliases[spec]]
    return [name for child in ir.children(expr) for name in _columns_read(child, plan, layer)]


def _ranked_reads(plan: Plan) -> set[str]:
    """The population columns some ranking reads (its value or who takes part)."""
    return {
        name
        for layer in plan.layers
        for _, spec in layer
        for part in (spec.value, spec.population)
        if part is not None
        for name in _columns_read(part, plan, set())
    }


def _attributes_only(expr: ir.Expr) -> bool:
    """Whether `expr` reads nothing but the entity's own columns (and constants)."""
    if isinstance(expr, ir.AggregateRef | ir.SequenceRef | ir.PopulationRef):
        return False
    return all(_attributes_only(child) for child in ir.children(expr))


def _conjuncts(expr: ir.Expr) -> list[ir.Expr]:
    inner = ir.unwrap(expr)
    if isinstance(inner, ir.And):
        return [part for item in inner.items for part in _conjuncts(item)]
    return [inner]


def _only_aggregates(expr: ir.Expr) -> set[ir.RowSource] | None:
    """The sources of the plain aggregates `expr` uses; None if it uses anything else
    per entity."""
    match expr:
        case ir.AggregateRef(aggregation=aggregation):
            if aggregation.group is not None or aggregation.func in (
                "first_value",
                "last_value",
                "nth_value",
            ):
                return None
            return {aggregation.source}
        case (
            ir.EntityColumn()
            | ir.SequenceRef()
            | ir.PopulationRef()
            | ir.SplitRef()
            | ir.RowColumn()
        ):
            return None
        case _:
            found: set[ir.RowSource] = set()
            for child in ir.children(expr):
                sources = _only_aggregates(child)
                if sources is None:
                    return None
                found |= sources
            return found
