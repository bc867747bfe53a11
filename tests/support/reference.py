"""An independent reference evaluator ("oracle") for the compiler's IR.

It computes, directly in Python from the same fixture rows the engine runners load,
which members a condition selects and what value an expression has per member.
Differential tests compare its answers with the members DuckDB, Postgres and
GoogleSQL select when running the generated SQL.

The semantics are derived from docs/language.md and the IR definitions in
segdsl/ir.py only; this module deliberately does not import (or mirror) the SQL
generator or the planner. It only borrows the shared calendar arithmetic from
segdsl/timeline.py (`AsOf.resolve` for window anchors, `shift` for durations).

Value conventions of the evaluator (and of `evaluate_values`):

* `None` is a missing value;
* numbers are `int`, `Decimal` (decimal columns and literals) or `float`
  (number columns, `/`, averages, shares, percentiles);
* times are naive wall-clock `datetime`s in the project zone (`timestamptz`
  values are converted), dates stay `date`s (as points in time: their midnight);
* durations are seconds as `float`;
* conditions are `True`/`False`, or `None` when a comparison involves a missing
  value (a missing condition counts as false everywhere it is used).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Protocol

from segdsl import ir
from segdsl.timeline import ELAPSED_UNITS, AsOf, shift
from tests.support.tables import TableSpec

Key = Any
"""An entity key as stored in the fixture (an `int` or a `str`)."""

Row = Mapping[str, object]
JoinedRow = tuple[Row, ...]
"""One row of `hops[0]` joined with its parents: index i is the row of `hops[i]`."""

TimedRow = tuple[dt.datetime | None, JoinedRow]
"""A visible row with its time (None for tables without a time column)."""


class _HasEntity(Protocol):
    @property
    def entity(self) -> ir.Entity | None: ...


class _HasAnalysis(Protocol):
    @property
    def analysis(self) -> _HasEntity: ...


Model = ir.Entity | _HasEntity | _HasAnalysis
"""An `ir.Entity`, an `Analysis` (has `.entity`) or a `Compiler` (has `.analysis`)."""


# ---------------------------------------------------------------------- public API
def evaluate_members(
    model: Model, condition: ir.Expr, tables: Sequence[TableSpec], as_of: AsOf
) -> set[Key]:
    """Keys of the population members for whom `condition` is true (missing → false)."""
    return ReferenceEvaluator(entity_of(model), tables, as_of).members(condition)


def evaluate_values(
    model: Model, expr: ir.Expr, tables: Sequence[TableSpec], as_of: AsOf
) -> dict[Key, object]:
    """`expr` for every member of the population (see the module doc for value forms)."""
    return ReferenceEvaluator(entity_of(model), tables, as_of).values(expr)


def population_keys(model: Model, tables: Sequence[TableSpec], as_of: AsOf) -> set[Key]:
    """The members of the population at the as-of time (entity time ≤ as-of or missing)."""
    return set(ReferenceEvaluator(entity_of(model), tables, as_of).population)


def entity_of(model: Model) -> ir.Entity:
    """The entity of a Compiler, an Analysis, or the entity itself."""
    if isinstance(model, ir.Entity):
        return model
    analysis = getattr(model, "analysis", model)
    entity = getattr(analysis, "entity", None)
    if not isinstance(entity, ir.Entity):
        raise TypeError(f"no entity declared in {model!r}")
    return entity


class ReferenceError(Exception):
    """The evaluator was given something it cannot evaluate (bad fixture or IR)."""


# ---------------------------------------------------------------------- evaluator
@dataclass(frozen=True)
class _Scope:
    """Where an expression is evaluated: for one entity, or for one joined row."""

    key: Key = None
    row: JoinedRow | None = None


class ReferenceEvaluator:
    """Evaluates IR over fixture tables for one entity declaration and as-of moment.

    Entity-level computations (aggregations, sequences, rankings, splits) are computed
    for the whole population at once and memoised per IR node.
    """

    def __init__(self, entity: ir.Entity, tables: Sequence[TableSpec], as_of: AsOf) -> None:
        self.entity = entity
        self.as_of = as_of
        self.now = as_of.wall.replace(fold=0)
        self.tables: dict[str, list[Row]] = {}
        for spec in tables:
            if spec.name in self.tables:
                raise ReferenceError(f"two fixture tables are called {spec.name!r}")
            self.tables[spec.name] = [
                dict(zip(spec.column_names, row, strict=True)) for row in spec.rows
            ]
        self.population: dict[Key, Row] = self._population()
        self._cache: dict[int, tuple[object, dict[Key, object]]] = {}
        self._visible: dict[int, tuple[ir.RowSource, dict[Key, list[TimedRow]]]] = {}
        self._indexes: dict[tuple[str, str], dict[object, list[Row]]] = {}

    # ------------------------------------------------------------------ results
    def members(self, condition: ir.Expr) -> set[Key]:
        return {key for key in self.population if self.eval(condition, _Scope(key)) is True}

    def values(self, expr: ir.Expr) -> dict[Key, object]:
        return {key: self.eval(expr, _Scope(key)) for key in self.population}

    # ------------------------------------------------------------------ tables
    def _rows(self, source: tuple[str, ...]) -> list[Row]:
        name = source[-1]
        if name not in self.tables:
            raise ReferenceError(
                f"no fixture table {name!r} (for {'.'.join(source)}); have {sorted(self.tables)}"
            )
        return self.tables[name]

    def _population(self) -> dict[Key, Row]:
        """Entity rows by key; members whose time is after the as-of are not yet members."""
        population: dict[Key, Row] = {}
        key_name = self.entity.key.name
        for row in self._rows(self.entity.source):
            key = _column(row, key_name)
            if key is None:
                raise ReferenceError("an entity row has no key; fixtures need present keys")
            if key in population:
                raise ReferenceError(f"the entity key {key!r} appears twice")
            if self.entity.time is not None:
                time = _as_time(_cell(_column(row, self.entity.time.name), self.as_of.zone))
                if time is not None and time > self.now:
                    continue
            population[key] = row
        return population

    def _index(self, source: tuple[str, ...], column: str) -> dict[object, list[Row]]:
        """Rows of a parent table by the value of the column children link to."""
        cache_key = (source[-1], column)
        if cache_key not in self._indexes:
            index: dict[object, list[Row]] = {}
            for row in self._rows(source):
                value = _column(row, column)
                if value is not None:
                    index.setdefault(value, []).append(row)
            self._indexes[cache_key] = index
        return self._indexes[cache_key]

    def _joined(self, source: ir.RowSource) -> Iterable[tuple[Key, JoinedRow]]:
        """Every row of `hops[0]` joined along the hops to an entity key (inner joins)."""
        if source.grouping is not None:
            yield from self._group_rows(source.grouping)
            return
        hops = source.hops
        for row in self._rows(hops[0].source):
            chains: list[JoinedRow] = [(row,)]
            for position, hop in enumerate(hops):
                last = position == len(hops) - 1
                if (hop.parent_key is None) != last:
                    raise ReferenceError(f"malformed hops in {source!r}")
                if last:
                    break
                parent = hops[position + 1]
                assert hop.parent_key is not None
                index = self._index(parent.source, hop.parent_key)
                chains = [
                    (*chain, parent_row)
                    for chain in chains
                    for parent_row in index.get(_column(chain[-1], hop.link), ())
                    if _column(chain[-1], hop.link) is not None
                ]
            for chain in chains:
                key = _column(chain[-1], hops[-1].link)
                if key is not None and key in self.population:
                    yield key, chain

    def _group_rows(self, grouping: ir.Grouping) -> Iterable[tuple[Key, JoinedRow]]:
        """A grouped table's rows: the base's rows seen at the as-of time and in its
        filter, per member and group value (a calendar unit's value: the period's start,
        as a wall-clock time); a row of the group's value, its first row's time and each
        aggregate over the group's rows."""
        for key, items in self._filtered(grouping.base, grouping.filter).items():
            groups: dict[object, tuple[object, list[TimedRow]]] = {}
            for item in items:
                value = self.eval(grouping.by, _Scope(row=item[1]))
                if value is not None:
                    groups.setdefault(_distinct_key(value), (value, []))[1].append(item)
            for value, members in groups.values():
                row: Row = {grouping.by_column: value if grouping.unit is None else _as_time(value)}
                if grouping.time_column is not None:
                    row[grouping.time_column] = min(time for time, _ in members if time is not None)
                for name, aggregation in grouping.columns:
                    kept = members
                    if aggregation.filter is not None:
                        condition = aggregation.filter
                        kept = [
                            m for m in members if self.eval(condition, _Scope(row=m[1])) is True
                        ]
                    row[name] = self._aggregate(aggregation, kept)
                yield key, (row,)

    def visible_rows(self, source: ir.RowSource) -> dict[Key, list[TimedRow]]:
        """Rows per member as seen at the as-of: time present and not after the as-of."""
        cached = self._visible.get(id(source))
        if cached is not None:
            return cached[1]
        result: dict[Key, list[TimedRow]] = {}
        as_of = self._moment(self.as_of.wall)
        for key, joined in self._joined(source):
            time: dt.datetime | None = None
            if source.time is not None:
                time = _as_time(self.eval(source.time, _Scope(row=joined)))
                if time is None:
                    continue
                # an instant is seen by its own instant (in a repeated hour too)
                if source.time.column.storage == "timestamptz":
                    if self._moment(time) > as_of:
                        continue
                elif time > self.now:
                    continue
            result.setdefault(key, []).append((time, joined))
        self._visible[id(source)] = (source, result)
        return result

    def _filtered(
        self, source: ir.RowSource, condition: ir.Expr | None
    ) -> dict[Key, list[TimedRow]]:
        visible = self.visible_rows(source)
        if condition is None:
            return visible
        return {
            key: [item for item in rows if self.eval(condition, _Scope(row=item[1])) is True]
            for key, rows in visible.items()
        }

    # ------------------------------------------------------------------ expressions
    def eval(self, expr: ir.Expr, scope: _Scope) -> object:
        match expr:
            case ir.Named(expr=inner):
                return self.eval(inner, scope)
            case ir.Const(value=value):
                return _const(value)
            case ir.TimePoint(anchor=anchor):
                return self.as_of.resolve(anchor)
            case ir.EntityColumn(column=column):
                if scope.row is not None or scope.key not in self.population:
                    raise ReferenceError(f"entity column {column.name} outside entity scope")
                return _cell(_column(self.population[scope.key], column.name), self.as_of.zone)
            case ir.RowColumn(hop=hop, column=column):
                if scope.row is None:
                    raise ReferenceError(f"row column {column.name} outside a row scope")
                return _cell(_column(scope.row[hop], column.name), self.as_of.zone)
            case ir.ToTimestamp(operand=operand):
                return _as_time(self.eval(operand, scope))
            case ir.Arith(op=op, left=left, right=right):
                return _arith(op, self.eval(left, scope), self.eval(right, scope))
            case ir.Negate(operand=operand):
                negated = self.eval(operand, scope)
                return None if negated is None else -_number(negated)
            case ir.Compare(op=op, left=left, right=right):
                return _compare(op, self.eval(left, scope), self.eval(right, scope))
            case ir.And(items=items):
                return all(self.eval(item, scope) is True for item in items)
            case ir.Or(items=items):
                return any(self.eval(item, scope) is True for item in items)
            case ir.Not(operand=operand):
                return self.eval(operand, scope) is not True
            case ir.IsPresent(operand=operand, present=present):
                return (self.eval(operand, scope) is not None) == present
            case ir.InList(operand=operand, items=items):
                member = self.eval(operand, scope)
                if member is None:
                    return None
                return any(_compare("=", member, _const(item.value)) is True for item in items)
            case ir.TextMatch(op=op, operand=operand, pattern=pattern):
                return _text_match(op, self.eval(operand, scope), self.eval(pattern, scope))
            case ir.InWindow(operand=operand, bounds=bounds):
                return self.in_window(self.eval(operand, scope), bounds)
            case ir.DatePart(part=part, operand=operand):
                return _date_part(part, self.eval(operand, scope))
            case ir.TruncateTime(unit=unit, operand=operand):
                return _truncate(unit, self.eval(operand, scope))
            case ir.Age(operand=operand):
                return _age(self.eval(operand, scope), self.as_of.date)
            case ir.Function(name=name, args=args):
                return _function(name, [self.eval(arg, scope) for arg in args])
            case ir.Elapsed(start=start, end=end):
                first = self._instant(start, scope)
                second = self._instant(end, scope)
                if first is None or second is None:
                    return None
                return (second - first).total_seconds()
            case ir.AddDuration(operand=operand, duration=duration):
                if duration.unit in ELAPSED_UNITS:
                    moment = self._instant(operand, scope)
                    if moment is None:
                        return None
                    later = moment + dt.timedelta(seconds=duration.seconds)
                    return later.astimezone(self.as_of.zone).replace(tzinfo=None)
                value = _as_time(self.eval(operand, scope))
                return None if value is None else shift(value, duration, 1)
            case ir.Case(whens=whens, default=default):
                for condition, result in whens:
                    if self.eval(condition, scope) is True:
                        return self.eval(result, scope)
                return self.eval(default, scope)
            case ir.AggregateRef(aggregation=aggregation):
                return self._entity_value(aggregation, scope, self._aggregation)
            case ir.TableFigure(aggregation=aggregation):
                pooled = self._filtered(aggregation.source, aggregation.filter)
                return self._aggregate(
                    aggregation, [row for rows in pooled.values() for row in rows]
                )
            case ir.SequenceRef(sequence=sequence):
                return self._entity_value(sequence, scope, self._sequence)
            case ir.PopulationRef(spec=spec):
                return self._entity_value(spec, scope, self._ranking)
            case ir.SplitRef(split=split):
                return self._entity_value(split, scope, self._split)
            case ir.Invalid():
                raise ReferenceError("cannot evaluate an expression that has a diagnostic")
        raise ReferenceError(f"unhandled IR node {expr!r}")

    def _instant(self, expr: ir.Expr, scope: _Scope) -> dt.datetime | None:
        """A time's instant: durations are elapsed time. The as-of time and a
        timestamptz row's time are exact; any other wall-clock time in a repeated hour
        is its earlier instant (a skipped time counts with the offset before the change)."""
        value = _as_time(self.eval(expr, scope))
        if value is None:
            return None
        inner = ir.unwrap(expr)
        exact = isinstance(inner, ir.TimePoint) or (
            isinstance(inner, ir.RowColumn) and inner.column.storage == "timestamptz"
        )
        return self._moment(value if exact else value.replace(fold=0))

    def _moment(self, wall: dt.datetime) -> dt.datetime:
        """A wall-clock time (its `fold` picks the occurrence of a repeated hour) as UTC."""
        return wall.replace(tzinfo=self.as_of.zone).astimezone(dt.UTC)

    def _entity_value(
        self, node: Any, scope: _Scope, compute: Callable[[Any], dict[Key, object]]
    ) -> object:
        if scope.row is not None:
            raise ReferenceError(f"{type(node).__name__} inside a row-level expression")
        cached = self._cache.get(id(node))
        if cached is None:
            cached = (node, compute(node))  # keep `node` alive so its id stays unique
            self._cache[id(node)] = cached
        return cached[1].get(scope.key)

    def in_window(self, value: object, bounds: ir.Bounds) -> bool:
        """A date (its midnight) or timestamp inside the window; missing is outside."""
        time = _as_time(value)
        if time is None:
            return False
        if bounds.lower is not None:
            lower = self.as_of.resolve(bounds.lower)
            if time < lower or (time == lower and not bounds.lower_inclusive):
                return False
        if bounds.upper is not None:
            upper = self.as_of.resolve(bounds.upper)
            if time > upper or (time == upper and not bounds.upper_inclusive):
                return False
        return True

    # ------------------------------------------------------------------ aggregations
    def _aggregation(self, aggregation: ir.Aggregation) -> dict[Key, object]:
        rows_by_key = self._filtered(aggregation.source, aggregation.filter)
        result: dict[Key, object] = {}
        for key in self.population:
            rows = rows_by_key.get(key, [])
            if aggregation.group is None:
                result[key] = self._aggregate(aggregation, rows)
            else:
                result[key] = self._grouped(aggregation, aggregation.group, rows)
        return result

    def _grouped(self, aggregation: ir.Aggregation, group: ir.Expr, rows: list[TimedRow]) -> object:
        groups: dict[object, list[TimedRow]] = {}
        for item in rows:
            label = self.eval(group, _Scope(row=item[1]))
            if label is not None:
                groups.setdefault(_distinct_key(label), []).append(item)
        inner = [self._aggregate(aggregation, members) for members in groups.values()]
        outer = aggregation.outer
        if outer == "count":
            return len(groups)
        present = [value for value in inner if value is not None]
        if outer == "sum":
            return _sum(present)
        if outer == "avg":
            return _mean(present)
        if outer == "min":
            return min(present, key=_order) if present else None
        if outer == "max":
            return max(present, key=_order) if present else None
        raise ReferenceError(f"unknown outer aggregate {outer!r}")

    def _aggregate(self, aggregation: ir.Aggregation, rows: list[TimedRow]) -> object:
        func = aggregation.func
        if func == "count":
            return len(rows)
        if func == "exists":
            return bool(rows)
        if aggregation.value is None:
            raise ReferenceError(f"`{func}` needs a value")
        value_expr = aggregation.value
        pairs = [(time, self.eval(value_expr, _Scope(row=joined))) for time, joined in rows]
        present = [(time, value) for time, value in pairs if value is not None]
        values = [value for _, value in present]
        if func == "count_distinct":
            return len({_distinct_key(value) for value in values})
        if func == "sum":
            return _sum(values)
        if func == "avg":
            return _mean(values)
        if func == "min":
            return min(values, key=_order) if values else None
        if func == "max":
            return max(values, key=_order) if values else None
        if func in ("first_value", "last_value", "nth_value"):
            # time order, ties broken by the value itself, smallest first
            timed = [(time, value) for time, value in present if time is not None]
            if len(timed) != len(present):
                raise ReferenceError(f"`{func}` needs the rows' time order")
            ordered = sorted(timed, key=lambda pair: _order(pair[1]))
            ordered.sort(key=lambda pair: pair[0], reverse=func == "last_value")
            position = 1 if func != "nth_value" else aggregation.n
            if position is None or position < 1:
                raise ReferenceError("nth_value needs a position from 1")
            return ordered[position - 1][1] if len(ordered) >= position else None
        raise ReferenceError(f"unknown aggregate {func!r}")

    # ------------------------------------------------------------------ sequences
    def _event_times(self, events: ir.EventSetSpec) -> dict[Key, list[dt.datetime]]:
        if events.source.time is None:
            raise ReferenceError("a sequence needs tables with a time column")
        return {
            key: sorted(time for time, _ in rows if time is not None)
            for key, rows in self._filtered(events.source, events.filter).items()
        }

    def _sequence(self, spec: ir.SequenceSpec) -> dict[Key, object]:
        firsts = self._event_times(spec.first)
        thens = self._event_times(spec.then)
        within = spec.within
        if within is not None and within.unit in ELAPSED_UNITS:
            # an elapsed limit: compare the rows' instants (a timestamptz row keeps its
            # fold; a wall-clock row in a repeated hour is the earlier instant)
            limit = dt.timedelta(seconds=within.seconds)
            now = self._moment(self.as_of.wall)
            firsts = {key: [self._moment(a) for a in times] for key, times in firsts.items()}
            thens = {key: [self._moment(b) for b in times] for key, times in thens.items()}
            return self._sequence_members(
                spec.negated,
                firsts,
                thens,
                lambda a, b: a < b <= a + limit,
                lambda a: a + limit <= now,
            )

        def follows(a: dt.datetime, b: dt.datetime) -> bool:
            return a < b and (within is None or b <= shift(a, within, 1))

        return self._sequence_members(
            spec.negated,
            firsts,
            thens,
            follows,
            lambda a: within is None or shift(a, within, 1) <= self.now,
        )

    def _sequence_members(
        self,
        negated: bool,
        firsts: dict[Key, list[dt.datetime]],
        thens: dict[Key, list[dt.datetime]],
        follows: Callable[[dt.datetime, dt.datetime], bool],
        over: Callable[[dt.datetime], bool],
    ) -> dict[Key, object]:
        """Per member: some first time followed by a then time (`negated`: some first
        time whose limit is `over` at the as-of time and that nothing follows)."""

        result: dict[Key, object] = {}
        for key in self.population:
            a_times = firsts.get(key, [])
            b_times = thens.get(key, [])
            if not negated:
                result[key] = any(follows(a, b) for a in a_times for b in b_times)
            else:
                result[key] = any(
                    over(a) and not any(follows(a, b) for b in b_times) for a in a_times
                )
        return result

    # ------------------------------------------------------------------ rankings
    def _ranking(self, spec: ir.PopulationSpec) -> dict[Key, object]:
        members: list[tuple[Key, object]] = []
        for key in self.population:
            if spec.population is not None and self.eval(spec.population, _Scope(key)) is not True:
                continue
            value = self.eval(spec.value, _Scope(key))
            if value is not None:
                members.append((key, value))
        count = len(members)
        ascending = sorted(members, key=lambda m: (_order(m[1]), _key_order(m[0])))
        descending = sorted(members, key=lambda m: _key_order(m[0]))
        descending.sort(key=lambda m: _order(m[1]), reverse=True)
        result: dict[Key, object] = {}
        func = spec.func

        if func == "ntile":
            if spec.buckets is None or spec.buckets < 1:
                raise ReferenceError("ntile needs a number of buckets")
            size, bigger = divmod(count, spec.buckets)
            position = 0
            for bucket in range(1, spec.buckets + 1):
                take = size + (1 if bucket <= bigger else 0)
                for key, _ in ascending[position : position + take]:
                    result[key] = bucket
                position += take
        elif func == "percentile":
            for key, value in members:
                lower = sum(1 for _, other in members if _order(other) < _order(value))
                result[key] = 0.0 if count == 1 else float(Fraction(lower, count - 1))
        elif func == "cumulative_share":
            total = sum((_fraction(value) for _, value in members), Fraction(0))
            running = Fraction(0)
            for key, value in descending:
                running += _fraction(value)
                result[key] = None if total == 0 else float(running / total)
        elif func in ("top", "bottom"):
            ordered = descending if func == "top" else ascending
            for key in self.population:
                result[key] = False
            for row_number, (key, _) in enumerate(ordered, start=1):
                if spec.count is not None:
                    chosen = row_number <= spec.count
                elif spec.fraction is not None:
                    chosen = row_number - 1 < Fraction(spec.fraction) * count
                else:
                    raise ReferenceError("top/bottom needs a count or a fraction")
                result[key] = chosen
        elif func in ("sum", "avg", "min", "max", "count"):
            values = [value for _, value in members]
            overall: object
            if func == "count":
                overall = count
            elif func == "sum":
                overall = _sum(values)
            elif func == "avg":
                overall = _mean(values)
            elif func == "min":
                overall = min(values, key=_order) if values else None
            else:
                overall = max(values, key=_order) if values else None
            result = dict.fromkeys(self.population, overall)
        else:
            raise ReferenceError(f"unknown population function {func!r}")
        return result

    # ------------------------------------------------------------------ splits
    def _split(self, spec: ir.SplitSpec) -> dict[Key, object]:
        result: dict[Key, object] = {}
        for key in self.population:
            if spec.population is not None and self.eval(spec.population, _Scope(key)) is not True:
                result[key] = None
                continue
            result[key] = split_label(spec, key)
        return result


def split_bucket(seed: str, key: Key) -> int:
    """MD5(`seed:key`), first 8 hex digits as an integer, modulo 10000."""
    digest = hashlib.md5(f"{seed}:{key}".encode()).hexdigest()
    return int(digest[:8], 16) % 10000


def split_label(spec: ir.SplitSpec, key: Key) -> str:
    """The first bucket whose cumulative upper bound is above the member's hash bucket."""
    bucket = split_bucket(spec.seed, key)
    for label, bound in zip(spec.labels, spec.upper_bounds, strict=True):
        if bucket < bound:
            return label
    raise ReferenceError(f"split {spec.name} does not cover bucket {bucket}")


# ---------------------------------------------------------------------- values
def _column(row: Row, name: str) -> object:
    if name not in row:
        raise ReferenceError(f"the fixture has no column {name!r} (columns: {sorted(row)})")
    return row[name]


def _cell(value: object, zone: dt.tzinfo) -> object:
    """A stored value as the language sees it: instants become wall-clock times in `zone`."""
    if isinstance(value, dt.datetime) and value.utcoffset() is not None:
        # the fold tells a repeated hour's two apart (naive comparisons ignore it)
        return value.astimezone(zone).replace(tzinfo=None)
    return value


def _as_time(value: object) -> dt.datetime | None:
    """A date or timestamp as a wall-clock point in time (a date is its midnight)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    raise ReferenceError(f"{value!r} is not a date or timestamp")


def _const(value: ir.ConstValue) -> object:
    if isinstance(value, ir.DurationValue):
        if value.is_calendar:
            raise ReferenceError(f"{value} has no fixed length in seconds")
        return float(value.seconds)
    return value


def _number(value: object) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ReferenceError(f"{value!r} is not a number")
    return value


def _arith(op: str, left: object, right: object) -> object:
    if left is None or right is None:
        return None
    a, b = _number(left), _number(right)
    if op == "/":
        if b == 0:
            return None
        if isinstance(a, float) or isinstance(b, float):
            return float(a) / float(b)
        return float(Fraction(a) / Fraction(b))
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    raise ReferenceError(f"unknown operator {op!r}")


def _comparable(left: object, right: object) -> tuple[object, object]:
    """Bring two present values to one Python type: dates vs timestamps, floats vs decimals."""
    if isinstance(left, dt.date) and isinstance(right, dt.date):
        if isinstance(left, dt.datetime) != isinstance(right, dt.datetime):
            return _as_time(left), _as_time(right)
        return left, right
    if isinstance(left, bool) or isinstance(right, bool):
        return left, right
    if isinstance(left, float) and isinstance(right, Decimal | int):
        return left, float(right)
    if isinstance(right, float) and isinstance(left, Decimal | int):
        return float(left), right
    return left, right


def _compare(op: str, left: object, right: object) -> bool | None:
    if left is None or right is None:
        return None
    a, b = _comparable(left, right)
    if op == "=":
        return a == b
    if op == "!=":
        return a != b
    x: Any = a
    y: Any = b
    if op == "<":
        return bool(x < y)
    if op == "<=":
        return bool(x <= y)
    if op == ">":
        return bool(x > y)
    if op == ">=":
        return bool(x >= y)
    raise ReferenceError(f"unknown comparison {op!r}")


def _text_match(op: str, text: object, pattern: object) -> bool | None:
    if text is None or pattern is None:
        return None
    if not isinstance(text, str) or not isinstance(pattern, str):
        raise ReferenceError(f"text match on {text!r}, {pattern!r}")
    if op == "contains":
        return pattern in text
    if op == "starts_with":
        return text.startswith(pattern)
    if op == "ends_with":
        return text.endswith(pattern)
    raise ReferenceError(f"unknown text match {op!r}")


def _date_part(part: str, value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, dt.date):
        raise ReferenceError(f"{part} of {value!r}")
    if part == "year":
        return value.year
    if part == "quarter":
        return (value.month - 1) // 3 + 1
    if part == "month":
        return value.month
    if part == "day":
        return value.day
    if part == "weekday":
        return value.isoweekday()  # 1 = Monday … 7 = Sunday
    if part == "day_of_year":
        return value.timetuple().tm_yday
    if part == "hour":
        if not isinstance(value, dt.datetime):
            raise ReferenceError("a date has no hour")
        return value.hour
    raise ReferenceError(f"unknown date part {part!r}")


def _truncate(unit: str, value: object) -> dt.date | None:
    """The date starting the day / ISO week / month / quarter / year containing `value`."""
    if value is None:
        return None
    if not isinstance(value, dt.date):
        raise ReferenceError(f"truncate {value!r}")
    day = value.date() if isinstance(value, dt.datetime) else value
    if unit == "day":
        return day
    if unit == "week":
        return day - dt.timedelta(days=day.isoweekday() - 1)
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    if unit == "year":
        return dt.date(day.year, 1, 1)
    raise ReferenceError(f"unknown calendar unit {unit!r}")


def _age(value: object, today: dt.date) -> int | None:
    """Whole years at `today`; the birthday counts from its day (Feb 29 → Mar 1)."""
    if value is None:
        return None
    if not isinstance(value, dt.date):
        raise ReferenceError(f"age of {value!r}")
    born = value.date() if isinstance(value, dt.datetime) else value
    before_birthday = (today.month, today.day) < (born.month, born.day)
    return today.year - born.year - (1 if before_birthday else 0)


def _function(name: str, args: list[object]) -> object:
    if name == "coalesce":
        return next((arg for arg in args if arg is not None), None)
    if len(args) == 2:  # round/floor/ceil(x, digits)
        return _rounded(name, args[0], int(_number(args[1])))
    (value,) = args
    if value is None:
        return None
    if name in ("lower", "upper", "length"):
        if not isinstance(value, str):
            raise ReferenceError(f"{name} of {value!r}")
        return (
            value.lower() if name == "lower" else value.upper() if name == "upper" else len(value)
        )
    number = _number(value)
    if name == "abs":
        return abs(number)
    if name == "round":  # half away from zero
        return int(Decimal(number).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if name == "floor":
        return math.floor(number)
    if name == "ceil":
        return math.ceil(number)
    raise ReferenceError(f"unknown function {name!r}")


def _rounded(name: str, value: object, places: int) -> object:
    """`round(x, d)` as the engines compute it: x times 10^d in its own type (exact for
    decimals, one rounding for doubles), to a whole number, divided as a double; a
    negative d divides the double by 10^-d and multiplies back."""
    if value is None:
        return None
    number = _number(value)
    scale = 10 ** abs(places)
    if places > 0:
        return float(_function(name, [number * scale])) / scale  # type: ignore[arg-type]
    if places < 0:
        return _function(name, [float(number) / scale]) * scale  # type: ignore[operator]
    return _function(name, [number])


def _order(value: object) -> Any:
    """A sort key for present values of one type (numbers of any kind compare exactly)."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return _fraction(value)
    return value


def _key_order(key: Key) -> Any:
    return key


def _fraction(value: object) -> Fraction:
    number = _number(value)
    return Fraction(number)


def _distinct_key(value: object) -> object:
    """Equal values (1, 1.0, Decimal('1.00')) count once; dates and times as they are."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return _fraction(value)
    return value


def _sum(values: Sequence[object]) -> object:
    """Total of present values; 0 when there are none."""
    if not values:
        return 0
    if any(isinstance(value, float) for value in values):
        return math.fsum(float(_number(value)) for value in values)
    total: Any = 0
    for value in values:
        total = total + _number(value)
    return total


def _mean(values: Sequence[object]) -> float | None:
    if not values:
        return None
    if any(isinstance(value, float) for value in values):
        return math.fsum(float(_number(value)) for value in values) / len(values)
    return float(sum((_fraction(value) for value in values), Fraction(0)) / len(values))
