"""IR outputs → a query plan: which aggregations, sequences and rankings one query needs.

The plan is dialect neutral and independent of the as-of time. It groups every
aggregation by the rows it reads, so a whole project is evaluated with one scan
of each related table, and orders population rankings into layers (a ranking
over another ranking's result comes one layer later).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from segdsl import ir

KEY = "__key"
SLUG_LENGTH = 24


def slug(name: str) -> str:
    """`name` as lowercase ASCII letters, digits and underscores, at most 24 characters:
    the readable part of a generated SQL name, which no engine folds or truncates."""
    return re.sub(r"[^a-z0-9_]+", "", name.lower())[:SLUG_LENGTH]


def internal_name(prefix: str, number: int, name: str | None = None) -> str:
    """A generated name `m3_revenue` (prefix, a number unique in its query, the slug of
    the user's name): user names never become SQL names, so two of them cannot collide
    on an engine that folds case (`n`, `N`) or truncates (Postgres, 63 bytes), nor with
    the query's own names (`population`)."""
    part = slug(name) if name else ""
    return f"{prefix}{number}_{part}" if part else f"{prefix}{number}"


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
    aliases: dict[object, str] = field(default_factory=dict)  # generated (`internal_name`)

    def groups(self) -> list[object]:
        """The row groups with a CTE of their own: first/last values, grouped
        aggregations and sequences (see `rows_required`)."""
        return [group for _, group in (*self.ordered, *self.grouped, *self.sequences)]


def build_plan(entity: ir.Entity, outputs: list[Output]) -> Plan:
    """Collect what `outputs` need, in a deterministic order."""
    planner = _Planner(Plan(entity, outputs))
    for output in outputs:
        planner.visit(output.expr, None)
    return planner.plan


class _Planner:
    def __init__(self, plan: Plan):
        self.plan = plan
        self.count = 0
        self.depths: dict[ir.PopulationSpec, int] = {}

    def alias(self, prefix: str, name: str | None) -> str:
        """A column name of the query: a for attributes, m for aggregates, q for
        sequences, r for rankings (see `internal_name`)."""
        self.count += 1
        return internal_name(prefix, self.count, name)

    def visit(self, expr: ir.Expr, name: str | None) -> int:
        """Register what `expr` needs; return its ranking depth (0 = no ranking inside)."""
        match expr:
            case ir.Named(expr=inner):
                return self.visit(inner, expr.name if expr.kind == "measure" else None)
            case ir.EntityColumn(column=column, attribute=attribute):
                if attribute not in self.plan.aliases:
                    alias = self.alias("a", attribute)
                    self.plan.aliases[attribute] = alias
                    self.plan.attributes[alias] = column
                return 0
            case ir.AggregateRef(aggregation=aggregation):
                self.aggregation(aggregation, name)
                return 0
            case ir.SequenceRef(sequence=sequence):
                if sequence not in self.plan.aliases:
                    alias = self.alias("q", name)
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
            alias = self.alias("m", name or aggregation.source.name)
            self.plan.grouped.append((alias, aggregation))
        elif aggregation.func in ("first_value", "last_value", "nth_value"):
            alias = self.alias("m", name or aggregation.source.name)
            self.plan.ordered.append((alias, aggregation))
        else:
            group = self.plan.aggregations.setdefault(aggregation.source, [])
            alias = self.alias("m", name or aggregation.source.name)
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
        alias = self.alias("r", name)
        self.plan.layers[depth - 1].append((alias, spec))
        self.plan.aliases[spec] = alias
        self.depths[spec] = depth
        return depth


# ------------------------------------------------------------------ strictness
class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


class _Positive(_Unknown):
    """A count known to be at least 1 (otherwise unknown)."""

    def __repr__(self) -> str:
        return "POSITIVE"


UNKNOWN = _Unknown()
POSITIVE = _Positive()


def relied_on(group: object, entity: ir.Entity) -> bool:
    """Whether every row of a row group (see `rows_required`) up to the as-of time belongs
    to the population: each hop of the table it reads declares `rely` (the row has its
    parent and is not older than it) and, when the entity has a time, the rows are timed
    by the table linking to the entity (a row by the as-of time then belongs to an entity
    that joined by then; a time of the row's own further down would need every table
    between to have one)."""
    source = _rows_of(group)
    if not all(hop.rely for hop in source.hops):
        return False
    return entity.time is None or (
        source.time is not None and source.time.hop == len(source.hops) - 1
    )


def _rows_of(group: object) -> ir.RowSource:
    """The table whose rows make up a row group (a sequence: its first step's)."""
    match group:
        case ir.RowSource():
            return group
        case ir.Aggregation():
            return group.source
        case ir.SequenceSpec():
            return group.first.source
    raise TypeError(f"not a row group: {group!r}")


def rows_required(plan: Plan, condition: ir.Expr) -> set[object]:
    """Row groups without which `condition` cannot hold: members with no rows there are out.

    A group is a related table's aggregations (keyed by its RowSource), or one
    ordered/grouped aggregation, sequence or ranking (keyed by itself). The condition
    is evaluated with that group at its zero-row values (count 0, exists false,
    others missing) and everything else unknown; if the result cannot be true, the
    query may inner-join that group. Rankings see the whole population, so with
    rankings a table's group qualifies only if every ranking's population already
    leaves out entities without its rows (`… among buyers`); the last layer's
    rankings qualify as groups of their own.
    """
    groups: list[tuple[object, set[object]]] = [
        (source, {a for _, a in aggregations}) for source, aggregations in plan.aggregations.items()
    ]
    groups += [(group, {group}) for group in plan.groups()]
    if plan.layers:
        specs = [spec for layer in plan.layers for _, spec in layer]
        groups = [
            (key, members) for key, members in groups if all(_outside(s, members) for s in specs)
        ]
        groups += [
            (spec, {spec}) for _, spec in plan.layers[-1] if spec.func not in POPULATION_AGGREGATES
        ]
    required: set[object] = set()
    for key, members in groups:
        if _truth(_abstract(condition, members)) is False:
            required.add(key)
    return required


def _outside(spec: ir.PopulationSpec, empty: set[object]) -> bool:
    """Whether entities at their zero-row values for the `empty` groups take no part in
    `spec` (outside its population, or without a value to rank)."""
    if spec.population is not None and _truth(_abstract(spec.population, empty)) is False:
        return True
    return _abstract(spec.value, empty) is None


def always_ranked(spec: ir.PopulationSpec) -> bool:
    """Whether every entity of `spec`'s population has a value to rank: a count or sum
    (zero without rows), or the earliest/latest time of rows the population cannot lack
    (`recency among buyers`: rows without a time are never counted)."""
    value = ir.unwrap(spec.value)
    if not isinstance(value, ir.AggregateRef) or value.aggregation.group is not None:
        return False
    aggregation = value.aggregation
    if aggregation.func in ("count", "count_distinct", "sum", "exists"):
        return True
    if not extreme_row_time(aggregation) or spec.population is None:
        return False
    # without rows passing the aggregation's filter, so is every aggregate of those rows
    wanted = set(ir.and_parts(aggregation.filter))
    same_rows = {
        other
        for other in _aggregations(spec.population)
        if other.source == aggregation.source
        and other.group is None
        and wanted <= set(ir.and_parts(other.filter))
    }
    return _truth(_abstract(spec.population, same_rows | {aggregation})) is False


def extreme_row_time(aggregation: ir.Aggregation) -> bool:
    """Whether `aggregation` is the earliest or latest time of its table's rows: every
    read of a table stops at the as-of time (rows without a time are never counted), so
    such a value is never after it, and present whenever the rows are."""
    return (
        aggregation.func in ("min", "max")
        and aggregation.group is None
        and aggregation.value == aggregation.source.time
    )


def _aggregations(expr: ir.Expr) -> list[ir.Aggregation]:
    if isinstance(expr, ir.AggregateRef):
        return [expr.aggregation]
    return [found for child in ir.children(expr) for found in _aggregations(child)]


def rows_forbidden(plan: Plan, condition: ir.Expr) -> set[ir.RowSource]:
    """Related tables whose every aggregate is a row count or `exists` that `condition`
    needs to be zero or false: members have no such rows, so an anti-join can replace
    aggregating the table (`orders_count = 0`, `not exists email_opens during …`).

    Each aggregate is tried on its own at "at least one row" (count ≥ 1, exists true)
    with everything else unknown. Not with rankings, which need the whole population.
    """
    if plan.layers:
        return set()
    forbidden = set()
    for source, aggregations in plan.aggregations.items():
        counts = [a for _, a in aggregations if counts_rows(a)]
        if len(counts) == len(aggregations) and all(
            _truth(_abstract(condition, set(), nonempty=a)) is False for a in counts
        ):
            forbidden.add(source)
    return forbidden


def holds_with_rows(condition: ir.Expr, counted: ir.Aggregation) -> bool:
    """Whether `condition` holds for every entity whose row count (or `exists`) `counted`
    is at least one, whatever else it has (`orders_count > 0`)."""
    return _truth(_abstract(condition, set(), nonempty=counted)) is True


def counts_rows(aggregation: ir.Aggregation) -> bool:
    """Whether `aggregation` is a row count (`count …` of no value) or `exists`."""
    if aggregation.group is not None:
        return False
    return aggregation.func == "exists" or (
        aggregation.func == "count" and aggregation.value is None
    )


def _unknown(value: object) -> bool:
    return isinstance(value, _Unknown)


def _truth(value: object) -> object:
    """Two-valued truth of an abstract value: True, False or UNKNOWN (missing is false)."""
    if _unknown(value):
        return UNKNOWN
    return value is True


def _compare_positive(op: ir.CompareOp, left: object, right: object) -> object:
    """`count op number` (or mirrored) where the count is at least 1."""
    if left is POSITIVE:
        number = right
    else:
        number, op = left, ir.FLIPPED[op]
    if isinstance(number, bool) or not isinstance(number, int | float | Decimal):
        return UNKNOWN
    if number < 1:
        return {"=": False, "!=": True, "<": False, "<=": False, ">": True, ">=": True}[op]
    if number == 1:
        return {"<": False, ">=": True}.get(op, UNKNOWN)
    return UNKNOWN


def _abstract(expr: ir.Expr, empty: set[object], nonempty: ir.Aggregation | None = None) -> object:
    """Evaluate with the `empty` row groups at their zero-row values, the `nonempty`
    row count at POSITIVE (exists true), the rest UNKNOWN."""
    match expr:
        case ir.Const(value=constant):
            return UNKNOWN if isinstance(constant, ir.DurationValue) else constant
        case ir.Named(expr=inner):
            return _abstract(inner, empty, nonempty)
        case ir.AggregateRef(aggregation=aggregation):
            if aggregation == nonempty:
                return True if aggregation.func == "exists" else POSITIVE
            if aggregation not in empty:
                return UNKNOWN
            if aggregation.group is not None:
                return 0 if aggregation.outer in ("count", "sum") else None
            return {"count": 0, "count_distinct": 0, "sum": 0, "exists": False}.get(
                aggregation.func
            )
        case ir.SequenceRef(sequence=sequence):
            return False if sequence in empty else UNKNOWN
        case ir.PopulationRef(spec=spec):
            ranked = spec.func not in POPULATION_AGGREGATES
            if spec in empty or (ranked and empty and _outside(spec, empty)):
                return False if spec.func in ("top", "bottom") else None
            return UNKNOWN
        case ir.And(items=items):
            values = [_truth(_abstract(item, empty, nonempty)) for item in items]
            if any(v is False for v in values):
                return False
            return True if all(v is True for v in values) else UNKNOWN
        case ir.Or(items=items):
            values = [_truth(_abstract(item, empty, nonempty)) for item in items]
            if any(v is True for v in values):
                return True
            return False if all(v is False for v in values) else UNKNOWN
        case ir.Not(operand=operand):
            value = _truth(_abstract(operand, empty, nonempty))
            return UNKNOWN if _unknown(value) else not value
        case ir.IsPresent(operand=operand, present=present):
            value = _abstract(operand, empty, nonempty)
            return UNKNOWN if _unknown(value) else (value is not None) == present
        case ir.Compare(op=op, left=left, right=right):
            a, b = _abstract(left, empty, nonempty), _abstract(right, empty, nonempty)
            if a is None or b is None:
                return None
            if a is POSITIVE or b is POSITIVE:
                return _compare_positive(op, a, b)
            if _unknown(a) or _unknown(b):
                return UNKNOWN
            try:
                return _COMPARE[op](a, b)
            except TypeError:
                return UNKNOWN
        case ir.Arith(op=op, left=left, right=right):
            a, b = _abstract(left, empty, nonempty), _abstract(right, empty, nonempty)
            if a is None or b is None:
                return None
            if _unknown(a) or _unknown(b) or isinstance(a, bool) or isinstance(b, bool):
                return UNKNOWN
            try:
                return _ARITH[op](a, b)
            except (TypeError, ArithmeticError):
                return None if op == "/" else UNKNOWN
        case ir.Negate(operand=operand):
            negated = _abstract(operand, empty, nonempty)
            if negated is None or _unknown(negated):
                return negated
            return -negated  # type: ignore[operator]  # a number: the checker typed it
        case (
            ir.InWindow(operand=operand)
            | ir.InList(operand=operand)
            | ir.TextMatch(operand=operand)
            | ir.ToTimestamp(operand=operand)
            | ir.DatePart(operand=operand)
            | ir.TruncateTime(operand=operand)
            | ir.AddDuration(operand=operand)
            | ir.Age(operand=operand)
        ):
            return None if _abstract(operand, empty, nonempty) is None else UNKNOWN
        case ir.Elapsed(start=start, end=end):
            return (
                None
                if None in (_abstract(start, empty, nonempty), _abstract(end, empty, nonempty))
                else UNKNOWN
            )
        case _:
            return UNKNOWN


POPULATION_AGGREGATES = ("sum", "avg", "min", "max", "count")  # one value for everyone

_COMPARE: dict[str, Callable[[Any, Any], object]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITH: dict[str, Callable[[Any, Any], object]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
