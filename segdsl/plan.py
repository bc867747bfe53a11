"""IR outputs → a query plan: which aggregations, sequences and rankings one query needs.

The plan is dialect neutral and independent of the as-of time. It groups every
aggregation by the rows it reads, so a whole project is evaluated with one scan
of each related table, and orders population rankings into layers (a ranking
over another ranking's result comes one layer later).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segdsl import ir

KEY = "__key"


@dataclass(frozen=True)
class Output:
    """One column the query produces: a segment, a classifier, a measure, or a funnel step."""

    name: str
    expr: ir.Expr


@dataclass
class Plan:
    entity: ir.Entity
    outputs: list[Output]
    attributes: dict[str, ir.Column] = field(default_factory=dict)  # alias → entity column
    aggregations: dict[ir.RowSource, list[tuple[str, ir.Aggregation]]] = field(default_factory=dict)
    ordered: list[tuple[str, ir.Aggregation]] = field(default_factory=list)  # first/last/nth value
    grouped: list[tuple[str, ir.Aggregation]] = field(default_factory=list)  # with `per`
    sequences: list[tuple[str, ir.SequenceSpec]] = field(default_factory=list)
    layers: list[list[tuple[str, ir.PopulationSpec]]] = field(default_factory=list)
    aliases: dict[object, str] = field(default_factory=dict)


def build_plan(entity: ir.Entity, outputs: list[Output]) -> Plan:
    """Collect what `outputs` need, in a deterministic order."""
    planner = _Planner(Plan(entity, outputs))
    for output in outputs:
        planner.visit(output.expr, None)
    return planner.plan


class _Planner:
    def __init__(self, plan: Plan):
        self.plan = plan
        self.used: set[str] = {KEY}
        self.depths: dict[ir.PopulationSpec, int] = {}

    def alias(self, preferred: str | None, fallback: str) -> str:
        base = preferred or fallback
        candidate = base
        counter = 1
        while candidate in self.used:
            counter += 1
            candidate = f"{base}_{counter}"
        self.used.add(candidate)
        return candidate

    def visit(self, expr: ir.Expr, name: str | None) -> int:
        """Register what `expr` needs; return its ranking depth (0 = no ranking inside)."""
        match expr:
            case ir.Named(expr=inner):
                return self.visit(inner, expr.name if expr.kind == "measure" else None)
            case ir.EntityColumn(column=column, attribute=attribute):
                if attribute not in self.plan.aliases:
                    alias = self.alias(attribute, "attribute")
                    self.plan.aliases[attribute] = alias
                    self.plan.attributes[alias] = column
                return 0
            case ir.AggregateRef(aggregation=aggregation):
                self.aggregation(aggregation, name)
                return 0
            case ir.SequenceRef(sequence=sequence):
                if sequence not in self.plan.aliases:
                    alias = self.alias(name, f"_seq{len(self.plan.sequences) + 1}")
                    self.plan.aliases[sequence] = alias
                    self.plan.sequences.append((alias, sequence))
                return 0
            case ir.PopulationRef(spec=spec):
                return self.population(spec, name)
            case _:
                return max((self.visit(c, None) for c in ir.children(expr)), default=0)

    def aggregation(self, aggregation: ir.Aggregation, name: str | None) -> None:
        if aggregation in self.plan.aliases:
            return
        if aggregation.group is not None:
            alias = self.alias(name, f"_grouped{len(self.plan.grouped) + 1}")
            self.plan.grouped.append((alias, aggregation))
        elif aggregation.func in ("first_value", "last_value", "nth_value"):
            alias = self.alias(name, f"_ordered{len(self.plan.ordered) + 1}")
            self.plan.ordered.append((alias, aggregation))
        else:
            group = self.plan.aggregations.setdefault(aggregation.source, [])
            alias = self.alias(name, f"_{aggregation.source.name}_{len(group) + 1}")
            group.append((alias, aggregation))
        self.plan.aliases[aggregation] = alias

    def population(self, spec: ir.PopulationSpec, name: str | None) -> int:
        if spec in self.depths:
            return self.depths[spec]
        inner = self.visit(spec.value, None)
        if spec.population is not None:
            inner = max(inner, self.visit(spec.population, None))
        depth = inner + 1
        while len(self.plan.layers) < depth:
            self.plan.layers.append([])
        alias = self.alias(name, f"_rank{sum(len(layer) for layer in self.plan.layers) + 1}")
        self.plan.layers[depth - 1].append((alias, spec))
        self.plan.aliases[spec] = alias
        self.depths[spec] = depth
        return depth
