"""Plan + IR → sqlglot expression trees for one dialect and one as-of time.

The query is a chain of named CTEs:

1. one aggregation CTE per related table (`orders_per_customer`): every
   aggregate over that table in one scan, filters as CASE expressions;
2. one CTE per first/last/nth value, per grouped aggregate and per sequence;
3. `population`: the entity joined with all of them, one row per entity, with
   zero-row defaults applied (count/sum → 0, exists → false);
4. `ranked_N`: window functions over the population, one layer per depth;
5. the final SELECT (members, a membership table, or counts).

Two-valued logic: a condition on a missing value may be NULL in SQL; it is
coalesced to false wherever its value is used (under NOT, as an output column,
as a ranking population), so `not X` is exactly the complement of `X`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Callable
from decimal import Decimal
from typing import assert_never

from sqlglot import exp

from segdsl import ir
from segdsl import types as t
from segdsl.plan import (
    KEY,
    POPULATION_AGGREGATES,
    Plan,
    always_ranked,
    extreme_row_time,
    internal_name,
    relied_on,
    rows_forbidden,
    rows_required,
    slug,
)
from segdsl.sql.dialects import Dialect
from segdsl.timeline import ELAPSED_UNITS, AsOf

TRUE = exp.true()
FALSE = exp.false()
UP_TO_AS_OF = ir.Bounds(None, False, ir.AsOfOffset(ir.DurationValue(0, "s")), True)
NOT_JOINED = ""  # the "CTE" of a table anti-joined instead of aggregated
# entity key types a table's link can stand in for, as SQL types (see `stand_in`)
KEY_TYPES = {t.INTEGER: exp.DataType.Type.BIGINT, t.STRING: exp.DataType.Type.TEXT}
# the query's own relation names: CTEs (generated ones start like `t1_`, `m3_`; see
# `internal_name`), subqueries and the late-attribute entity; a table alias is never one
_OWN_NAMES = re.compile(
    r"[a-z][0-9]+(_.*)?|ranked_[0-9]+|population|candidates|entity_rows|ranked_rows|groups"
    r"|first_step|then_step|__entity|members|before|after"
)


def _col(name: str, table: str | None = None) -> exp.Column:
    column = exp.Column(this=exp.Identifier(this=name, quoted=True))
    if table is not None:
        column.set("table", exp.Identifier(this=table, quoted=True))
    return column


def _num(value: int | Decimal | float) -> exp.Expr:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    literal = exp.Literal.number(str(abs(value)))
    return exp.Neg(this=literal) if value < 0 else literal


_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.DPipe)
_BINARY: dict[str, type[exp.Binary]] = {
    "+": exp.Add,
    "-": exp.Sub,
    "*": exp.Mul,
    "=": exp.EQ,
    "!=": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
}
_AGGREGATES: dict[str, type[exp.Func]] = {
    "count": exp.Count,
    "sum": exp.Sum,
    "avg": exp.Avg,
    "min": exp.Min,
    "max": exp.Max,
}


def _paren(node: exp.Expr) -> exp.Expr:
    """Parenthesise an operand whose own operator could bind less tightly."""
    if isinstance(node, (*_ARITHMETIC, exp.Connector, exp.Not)):
        return exp.Paren(this=node)
    return node


def _and(items: list[exp.Expr]) -> exp.Expr:
    if not items:
        return TRUE
    wrap = [exp.Paren(this=i) if isinstance(i, exp.Or) else i for i in items]
    result = wrap[0]
    for item in wrap[1:]:
        result = exp.And(this=result, expression=item)
    return result


def _and_once(items: list[exp.Expr]) -> exp.Expr:
    """`_and` with each conjunct once: a table's as-of cap and window bounds often repeat."""
    return _and(list(dict.fromkeys(part for item in items for part in _conjuncts_of(item))))


def _conjuncts_of(expression: exp.Expr) -> list[exp.Expr]:
    if isinstance(expression, exp.And):
        return [*_conjuncts_of(expression.this), *_conjuncts_of(expression.expression)]
    return [expression]


def _or(items: list[exp.Expr]) -> exp.Expr:
    result = items[0]
    for item in items[1:]:
        result = exp.Or(this=result, expression=item)
    return result


def _case(condition: exp.Expr, then: exp.Expr, default: exp.Expr | None = None) -> exp.Case:
    case = exp.Case(ifs=[exp.If(this=condition, true=then)])
    if default is not None:
        case.set("default", default)
    return case


def _join(
    select: exp.Select,
    relation: exp.Expr,
    left: exp.Expr,
    right: exp.Expr,
    *,
    side: str,
) -> None:
    """Attach `JOIN relation ON left = right` (built directly: the string API would parse)."""
    condition = exp.EQ(this=left, expression=right.copy())
    select.append("joins", exp.Join(this=relation, on=condition, side=side))


def _coalesce(value: exp.Expr, default: exp.Expr) -> exp.Expr:
    return exp.Coalesce(this=value, expressions=[default])


def table_ref(path: tuple[str, ...], alias: str) -> exp.Table:
    """The warehouse table at `path` (`catalog.db.table`), quoted, under `alias`."""
    parts = [exp.to_identifier(part, quoted=True) for part in path]
    table = exp.Table(this=parts[-1])
    if len(parts) >= 2:
        table.set("db", parts[-2])
    if len(parts) >= 3:
        table.set("catalog", parts[-3])
    return exp.alias_(table, alias, quoted=True, copy=False)  # type: ignore[return-value]


class QueryBuilder:
    """Renders one plan for one dialect and as-of time."""

    def __init__(
        self,
        plan: Plan,
        dialect: Dialect,
        as_of: AsOf,
        *,
        members_of: ir.Expr | None = None,
    ):
        """With `members_of` (the condition the final query keeps), tables the condition
        cannot do without are inner-joined, and its parts that only need one such table
        are checked already while aggregating that table (HAVING); tables it must not
        have rows in are anti-joined instead of aggregated."""
        self.plan = plan
        self.required: set[object] = set()
        self.forbidden: set[ir.RowSource] = set()
        self.candidate_conditions: list[ir.Expr] = []  # members' attribute-only conditions
        self.having: dict[ir.RowSource, list[ir.Expr]] = {}
        self.group_having: dict[ir.Aggregation, list[ir.Expr]] = {}  # `max … per …` bounds
        if members_of is not None:
            self.required = rows_required(plan, members_of)
            self.forbidden = rows_forbidden(plan, members_of) - self.required
            if not plan.layers:  # rankings need every entity
                self.having = _having_parts(plan, members_of, self.required)
                self.group_having = _group_bounds(members_of, self.required)
                self.candidate_conditions = [
                    part for part in _conjuncts(members_of) if _attributes_only(part)
                ]
        # a row group members cannot lack, whose rows all belong to the population: its
        # CTE (one row per entity with such rows) is the population, not joined with the
        # entity table; attributes only read after the rankings (`champions and city =
        # "Moscow"`, member rows' attributes) are then joined to the last ranking layer,
        # so that the rankings sort narrow rows
        self.stand_in: object | None = None
        self.late_attributes: dict[str, ir.Column] = {}
        if (
            members_of is not None
            and plan.entity.key.type in KEY_TYPES
            and (
                not plan.attributes
                or (bool(plan.layers) and not _ranked_reads(plan) & set(plan.attributes))
            )
        ):
            relied = (
                group
                for group in (*plan.aggregations, *plan.groups())
                if group in self.required and relied_on(group, plan.entity)
            )
            self.stand_in = next(relied, None)
            if self.stand_in is not None:
                self.late_attributes = dict(plan.attributes)
        # members are in every ranking of the last layer: the layer then needs no join
        # back to the population, its first ranking CTE carries the columns they read
        # (where the dialect prefers that to joining back for them)
        self.carried: list[str] | None = None
        if members_of is not None and plan.layers:
            last = plan.layers[-1]
            ranked = [spec for _, spec in last if spec.func not in POPULATION_AGGREGATES]
            if ranked and all(spec in self.required for spec in ranked):
                # what the outputs read (member rows may carry attributes), not just the
                # members' condition
                layer = {spec for _, spec in last}
                read = list(
                    dict.fromkeys(
                        name
                        for output in plan.outputs
                        for name in _columns_read(output.expr, plan, layer)
                        if name not in self.late_attributes
                    )
                )
                if not read or dialect.rankings_carry_columns:
                    self.carried = read
        self._inline_aggregates: dict[ir.Aggregation, exp.Expr] | None = None
        self.dialect = dialect
        self.as_of = as_of
        self.entity = plan.entity
        self.table_aliases: dict[str, str] = {}  # declared table name → its SQL alias
        self.entity_alias = self._table_alias(plan.entity.name)
        self.ctes: list[tuple[str, exp.Select]] = []
        self.materialized_layers: set[str] = set()  # layers joining several rankings
        self.source_ctes: dict[ir.RowSource, str] = {}
        self.candidates = False  # whether a `candidates` CTE narrows the rows read
        self.relation = ""
        self._build()

    # -------------------------------------------------------------- public
    def members(self, condition: ir.Expr) -> exp.Select:
        """The keys of the entities for which `condition` holds.

        Parts every row of the relation already meets (checked in a required table's
        HAVING, or by the candidates semi-join) are not checked again: the repeated
        filter cost time and, on Postgres, skewed its row estimates.
        """
        select = exp.select(exp.alias_(_col(KEY), self.entity.key.name, quoted=True, copy=False))
        select = select.from_(exp.to_identifier(self.relation, quoted=True), copy=False)
        enforced = [
            part for parts in (*self.having.values(), *self.group_having.values()) for part in parts
        ]
        if self.candidates:
            enforced += self.candidate_conditions
        remaining = [part for part in _conjuncts(condition) if part not in enforced]
        if remaining:
            select = select.where(_and([self.condition(part) for part in remaining]), copy=False)
        return self._with(self._once_per_key(select))

    def _once_per_key(self, select: exp.Select) -> exp.Select:
        """`select` without repeated rows, where an entity table repeating a key (SEG411)
        can repeat them: a population read from a table grouped by key has each once."""
        return select if self.stand_in is not None else select.distinct(copy=False)

    def table(self, outputs: list[tuple[str, ir.Expr]], where: ir.Expr | None = None) -> exp.Select:
        """One row per entity: its key and every output (booleans two-valued)."""
        columns: list[exp.Expr] = [
            exp.alias_(_col(KEY), self.entity.key.name, quoted=True, copy=False)
        ]
        for name, expr in outputs:
            value = self.value(expr)
            if expr.type.kind is t.Kind.BOOLEAN:
                value = self.dialect.truth_output(value)
            columns.append(exp.alias_(value, name, quoted=True, copy=False))
        select = exp.select(*columns).from_(
            exp.to_identifier(self.relation, quoted=True), copy=False
        )
        if where is not None:
            select = select.where(self.condition(where), copy=False)
        return self._with(self._once_per_key(select))

    def counts(self, outputs: list[tuple[str, ir.Expr]], *, distinct: bool = False) -> exp.Select:
        """The population size and how many entities satisfy each condition, and the
        number of distinct keys (`keys`: below `population` when the entity table repeats
        keys). With `distinct`, every count is of distinct keys (a key counts when one of
        its rows does); a count of rows costs less, and is the same for unique keys."""
        population = exp.Count(this=exp.Distinct(expressions=[_col(KEY)])) if distinct else None
        columns: list[exp.Expr] = [
            exp.alias_(population or exp.Count(this=exp.Star()), "population", quoted=True),
            exp.alias_(exp.Count(this=exp.Distinct(expressions=[_col(KEY)])), "keys", quoted=True),
        ]
        for name, condition in outputs:
            counted = exp.Count(this=_case(self.condition(condition), _num(1)))
            if distinct:
                keys = _case(self.condition(condition), _col(KEY))
                counted = exp.Count(this=exp.Distinct(expressions=[keys]))
            columns.append(exp.alias_(counted, name, quoted=True, copy=False))
        return self._with(
            exp.select(*columns).from_(exp.to_identifier(self.relation, quoted=True), copy=False)
        )

    def distribution(self, label: ir.Expr, *, distinct: bool = False) -> exp.Select:
        """How many entities carry each label (missing labels counted under NULL); with
        `distinct`, how many distinct keys (see `counts`)."""
        value = self.value(label)
        counted = exp.Count(this=exp.Distinct(expressions=[_col(KEY)]) if distinct else exp.Star())
        select = (
            exp.select(
                exp.alias_(value, "label", quoted=True, copy=False),
                exp.alias_(counted, "members", quoted=True, copy=False),
            )
            .from_(exp.to_identifier(self.relation, quoted=True), copy=False)
            .group_by(_num(1), copy=False)
        )
        return self._with(select)

    def _with(self, select: exp.Select) -> exp.Select:
        for name, cte in self.ctes:
            materialized = (
                name in self.materialized_layers and self.dialect.materialize_ranking_layers
            )
            select = select.with_(
                exp.to_identifier(name, quoted=True),
                as_=cte,
                materialized=materialized or None,
                copy=False,
            )
        return select

    # -------------------------------------------------------------- CTE chain
    def _build(self) -> None:
        plan = self.plan
        reads_rows = set(plan.aggregations) - self.forbidden or plan.ordered or plan.grouped
        self.candidates = bool(self.candidate_conditions and (reads_rows or plan.sequences))
        if self.candidates:
            self.ctes.append(("candidates", self._candidates_cte()))
        for source, aggregations in self.plan.aggregations.items():
            if source not in self.forbidden:
                name = self._source_cte_name(source)
                self.source_ctes[source] = name
                self.ctes.append((name, self._source_cte(source, aggregations)))
        for alias, aggregation in self.plan.ordered:
            self.ctes.append((f"{alias}_value", self._ordered_cte(alias, aggregation)))
        for alias, aggregation in self.plan.grouped:
            self.ctes.append((f"{alias}_groups", self._grouped_cte(alias, aggregation)))
        for alias, sequence in self.plan.sequences:
            self.ctes.append((f"{alias}_sequence", self._sequence_cte(sequence)))
        self.ctes.append(("population", self._population_cte()))
        self.relation = "population"
        for depth, layer in enumerate(self.plan.layers, start=1):
            last = depth == len(self.plan.layers)
            name = f"ranked_{depth}"
            self.ctes.append((name, self._ranking_layer(name, layer, last=last)))
            self.relation = name

    def _candidates_cte(self) -> exp.Select:
        """The keys of the entities meeting the members' attribute-only conditions (and,
        where the dialect prefers it, without rows they must not have): related rows of
        anyone else need not be read (a semi-join)."""
        entity = self.entity
        columns: list[exp.Expr] = [
            exp.alias_(_col(entity.key.name, self.entity_alias), KEY, quoted=True, copy=False)
        ]
        for name, column in self.plan.attributes.items():
            value = self.canonical(_col(column.name, self.entity_alias), column)
            columns.append(exp.alias_(value, name, quoted=True, copy=False))
        rows = exp.select(*columns).from_(table_ref(entity.source, self.entity_alias), copy=False)
        conditions = [self.condition(part) for part in self.candidate_conditions]
        key = _col(KEY, "entity_rows")
        if self.dialect.anti_join_in_candidates:
            conditions += [exp.Not(this=self._any_rows(source, key)) for source in self.forbidden]
        return (
            exp.select(_col(KEY))
            .from_(rows.subquery("entity_rows", copy=False), copy=False)
            .where(_and(conditions), copy=False)
        )

    def _among_candidates(self, key: exp.Expr) -> exp.Expr:
        keys = exp.select(_col(KEY)).from_(exp.to_identifier("candidates", quoted=True))
        return exp.In(this=key.copy(), query=keys.subquery(copy=False))

    def _source_cte_name(self, source: ir.RowSource) -> str:
        return internal_name("t", len(self.source_ctes) + 1, source.name)

    def _table_alias(self, table: str) -> str:
        """The SQL alias of a declared table: its slug, unless that is taken (case twins,
        long names sharing a prefix) or one of the query's own names."""
        if table not in self.table_aliases:
            base = slug(table) or "table"
            if _OWN_NAMES.fullmatch(base):
                base = f"x_{base}"
            taken = set(self.table_aliases.values())
            candidate, counter = base, 1
            while candidate in taken:
                counter += 1
                candidate = f"{base}_{counter}"
            self.table_aliases[table] = candidate
        return self.table_aliases[table]

    def _hop_alias(self, source: ir.RowSource, hop: int) -> str:
        return self._table_alias(source.hops[hop].table)

    def _from_source(self, source: ir.RowSource) -> tuple[exp.Select, exp.Expr]:
        """SELECT … FROM the joined hops; returns it and the entity key expression."""
        hops = source.hops
        alias = self._table_alias
        select = exp.select().from_(table_ref(hops[0].source, alias(hops[0].table)), copy=False)
        for child, parent in itertools.pairwise(hops):
            assert child.parent_key is not None
            on = exp.EQ(
                this=_col(child.link, alias(child.table)),
                expression=_col(child.parent_key, alias(parent.table)),
            )
            parent_table = table_ref(parent.source, alias(parent.table))
            select.append("joins", exp.Join(this=parent_table, on=on, kind="INNER"))
        return select, _col(hops[-1].link, alias(hops[-1].table))

    def _cap(self, source: ir.RowSource) -> exp.Expr | None:
        """Rows at or before the as-of time (rows without a time are never counted)."""
        if source.time is None:
            return None
        return self.in_window(source.time, UP_TO_AS_OF, source)

    def _row_filters(self, source: ir.RowSource, key: exp.Expr) -> list[exp.Expr]:
        """What every read of `source` keeps: rows up to the as-of time, of candidates."""
        filters = [f for f in (self._cap(source),) if f is not None]
        if self.candidates:
            filters.append(self._among_candidates(key))
        return filters

    def _counted_filters(
        self,
        source: ir.RowSource,
        aggregations: list[tuple[str, ir.Aggregation]],
        common: list[ir.Expr],
        residuals: list[ir.Expr | None],
    ) -> list[exp.Expr]:
        """Rows some aggregate counts: the widest window, the filter parts all aggregates
        share (`common`), and the OR of what differs (`residuals`, from _factor_filters)."""
        filters: list[exp.Expr] = []
        widest = self._widest_lower(source, aggregations)
        if widest is not None:
            assert source.time is not None
            bounds = ir.Bounds(ir.FixedTime(widest[0]), widest[1], None, False)
            filters.append(self.in_window(source.time, bounds, source))
        filters += [self.condition(part, source) for part in common]
        if residuals and all(r is not None for r in residuals):
            distinct = [r for r in dict.fromkeys(residuals) if r is not None]
            if not self._windows_cover(source, distinct, widest):
                filters.append(_or([self.condition(r, source) for r in distinct]))
        return filters

    def _widest_lower(
        self, source: ir.RowSource, aggregations: list[tuple[str, ir.Aggregation]]
    ) -> tuple[dt.datetime, bool] | None:
        """The lower end (time, inclusive) of the widest window every aggregation of this
        table lies in: the WHERE filter pushed down to the scan."""
        if source.time is None:
            return None
        lowers: list[tuple[dt.datetime, bool]] = []
        for _, aggregation in aggregations:
            lower = self._window_lower(aggregation.filter, source.time)
            if lower is None:
                return None
            lowers.append(lower)
        if not lowers:
            return None
        earliest = min(value for value, _ in lowers)
        return earliest, any(incl for value, incl in lowers if value == earliest)

    def _windows_cover(
        self,
        source: ir.RowSource,
        filters: list[ir.Expr],
        lower: tuple[dt.datetime, bool] | None,
    ) -> bool:
        """Whether `filters`, each a window on the table's time, together take in every
        row from `lower` (None: the earliest) up to the as-of time (`last 90d` and the
        90 days before it): then the OR of them keeps no fewer rows than the WHERE."""
        time = source.time
        # windows compare wall-clock times here; a DATE column compares dates, and a
        # TIMESTAMPTZ one instants, which a daylight-saving gap puts out of order
        if time is None or time.column.storage in ("date", "timestamptz"):
            return False
        windows = []
        for condition in filters:
            if not (isinstance(condition, ir.InWindow) and condition.operand == time):
                return False
            bounds = condition.bounds
            start = dt.datetime.min if bounds.lower is None else self.as_of.resolve(bounds.lower)
            end = None if bounds.upper is None else self.as_of.resolve(bounds.upper)
            inclusive = bounds.lower_inclusive or bounds.lower is None
            windows.append((start, inclusive, end, bounds.upper_inclusive))
        # covered up to `reach` (the moment itself too when its flag is set); a lower end
        # the pushed-down filter leaves out need not be covered
        reach = (dt.datetime.min, False) if lower is None else (lower[0], not lower[1])
        for start, inclusive, end, end_inclusive in sorted(windows, key=lambda w: (w[0], not w[1])):
            if start > reach[0] or (start == reach[0] and not (reach[1] or inclusive)):
                return False
            if end is None:
                return True
            reach = max(reach, (end, end_inclusive))
        return reach >= (self.as_of.wall, True)

    def _window_lower(
        self, condition: ir.Expr | None, time: ir.RowColumn
    ) -> tuple[dt.datetime, bool] | None:
        for part in ir.and_parts(condition):
            if (
                isinstance(part, ir.InWindow)
                and part.operand == time
                and part.bounds.lower is not None
            ):
                return self.as_of.resolve(part.bounds.lower), part.bounds.lower_inclusive
        return None

    def _source_cte(
        self, source: ir.RowSource, aggregations: list[tuple[str, ir.Aggregation]]
    ) -> exp.Select:
        """Every aggregate over one table in one scan.

        Filter parts shared by all aggregates go to WHERE; what differs stays in CASE
        expressions, and WHERE also keeps only rows that some aggregate counts.
        """
        select, key = self._from_source(source)
        common, residuals = _factor_filters([a.filter for _, a in aggregations])
        columns: list[exp.Expr] = [exp.alias_(key, KEY, quoted=True, copy=False)]
        inline: dict[ir.Aggregation, exp.Expr] = {}
        for (alias, aggregation), residual in zip(aggregations, residuals, strict=True):
            value = self._aggregate(aggregation, residual)
            # in HAVING the entity has rows: counts are never NULL there, and a bare
            # COUNT lets Postgres estimate the condition (a COALESCE hides it)
            never_null = aggregation.func in ("count", "count_distinct", "exists")
            copied = value.copy()
            inline[aggregation] = copied if never_null else self._zero_rows(aggregation, copied)
            columns.append(exp.alias_(value, alias, quoted=True, copy=False))
        select = select.select(*columns, copy=False)
        filters = self._row_filters(source, key)
        filters += self._counted_filters(source, aggregations, common, residuals)
        if filters:
            select = select.where(_and_once(filters), copy=False)
        select = select.group_by(key, copy=False)
        if source in self.having:
            self._inline_aggregates = inline
            try:
                parts = [self.condition(part) for part in self.having[source]]
            finally:
                self._inline_aggregates = None
            # every group has a row: `COUNT(*) > 0` holds, and the inner join keeps it so
            parts = [part for part in parts if not _counts_any_row(part)]
            if parts:
                select = select.having(_and(parts), copy=False)
        return select

    def _aggregate(self, aggregation: ir.Aggregation, residual: ir.Expr | None = None) -> exp.Expr:
        """The aggregate expression; rows outside `residual` (if any) count as NULL."""
        source = aggregation.source
        func = aggregation.func
        present = ir.unwrap(residual) if residual is not None else None
        if func == "count" and isinstance(present, ir.IsPresent) and present.present:
            # `count … where x is present`: COUNT(x), cheaper than COUNT(CASE …)
            return exp.Count(this=self.sql(present.operand, source))
        condition = self.condition(residual, source) if residual is not None else None

        def when(value: exp.Expr) -> exp.Expr:
            return value if condition is None else _case(condition, value)

        if func == "count":
            return (
                exp.Count(this=exp.Star()) if condition is None else exp.Count(this=when(_num(1)))
            )
        if func == "exists":
            counted = (
                exp.Count(this=exp.Star()) if condition is None else exp.Count(this=when(_num(1)))
            )
            return exp.GT(this=counted, expression=_num(0))
        assert aggregation.value is not None
        if extreme_row_time(aggregation) and isinstance(aggregation.value, ir.RowColumn):
            # aggregate the stored value, convert once per entity (the conversion is monotonic)
            value_column = aggregation.value
            raw = _col(value_column.column.name, self._hop_alias(source, value_column.hop))
            node = exp.Min(this=when(raw)) if func == "min" else exp.Max(this=when(raw))
            return self.canonical(node, aggregation.value.column)
        value = self.value(aggregation.value, source)
        if func in ("min", "max") and aggregation.value.type.kind is t.Kind.STRING:
            value = self.dialect.text_order(value)
        if func == "count_distinct":
            return exp.Count(this=exp.Distinct(expressions=[when(value)]))
        return _AGGREGATES[func](this=when(value))

    def _ordered_cte(self, alias: str, aggregation: ir.Aggregation) -> exp.Select:
        source = aggregation.source
        assert source.time is not None and aggregation.value is not None
        select, key = self._from_source(source)
        value = self.value(aggregation.value, source)
        time = self.row(source, source.time)
        descending = aggregation.func == "last_value"
        order = exp.Order(
            expressions=[
                exp.Ordered(this=time, desc=descending),
                exp.Ordered(this=self._tie_break(value, aggregation.value), desc=False),
            ]
        )
        rank = exp.Window(this=exp.RowNumber(), partition_by=[key.copy()], order=order)
        filters = self._row_filters(source, key)
        if aggregation.filter is not None:
            filters.append(self.condition(aggregation.filter, source))
        filters.append(exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())))
        inner = select.select(
            exp.alias_(key, KEY, quoted=True, copy=False),
            exp.alias_(value, "value", quoted=True, copy=False),
            exp.alias_(rank, "position", quoted=True, copy=False),
            copy=False,
        ).where(_and_once(filters), copy=False)
        position = aggregation.n if aggregation.func == "nth_value" else 1
        return (
            exp.select(_col(KEY), exp.alias_(_col("value"), alias, quoted=True, copy=False))
            .from_(inner.subquery("ranked_rows", copy=False))
            .where(exp.EQ(this=_col("position"), expression=_num(position or 1)), copy=False)
        )

    def _tie_break(self, value: exp.Expr, expr: ir.Expr) -> exp.Expr:
        copy = value.copy()
        return self.dialect.text_order(copy) if expr.type.kind is t.Kind.STRING else copy

    def _grouped_cte(self, alias: str, aggregation: ir.Aggregation) -> exp.Select:
        source = aggregation.source
        assert aggregation.group is not None and aggregation.outer is not None
        select, key = self._from_source(source)
        group = self.value(aggregation.group, source)
        inner_aggregation = ir.Aggregation(aggregation.func, source, aggregation.value)
        filters = self._row_filters(source, key)
        if aggregation.filter is not None:
            filters.append(self.condition(aggregation.filter, source))
        filters.append(exp.Not(this=exp.Is(this=group.copy(), expression=exp.Null())))
        per_group = self._aggregate(inner_aggregation)
        inner = (
            select.select(
                exp.alias_(key.copy(), KEY, quoted=True, copy=False),
                exp.alias_(per_group.copy(), "per_group", quoted=True, copy=False),
                copy=False,
            )
            .where(_and_once(filters), copy=False)
            .group_by(key, group, copy=False)
        )
        if aggregation in self.group_having:
            # `max count … per g >= 3` holds exactly when some group counts 3: smaller
            # groups cannot be the maximum of a member, so they are dropped at once
            self._inline_aggregates = {aggregation: per_group}
            try:
                bounds = [self.condition(part) for part in self.group_having[aggregation]]
            finally:
                self._inline_aggregates = None
            inner = inner.having(_and(bounds), copy=False)
        combined = _AGGREGATES[aggregation.outer](this=_col("per_group"))
        return (
            exp.select(_col(KEY), exp.alias_(combined, alias, quoted=True, copy=False))
            .from_(inner.subquery("groups", copy=False))
            .group_by(_col(KEY), copy=False)
        )

    def _event_rows(self, events: ir.EventSetSpec, *, elapsed: bool = False) -> exp.Select:
        """Key and time of the rows; with `elapsed`, times as UTC wall clock (instants)."""
        source = events.source
        assert source.time is not None
        select, key = self._from_source(source)
        filters = self._row_filters(source, key)
        if events.filter is not None:
            filters.append(self.condition(events.filter, source))
        at = self._instant_wall(source.time, source) if elapsed else self.row(source, source.time)
        select = select.select(
            exp.alias_(key, KEY, quoted=True, copy=False),
            exp.alias_(at, "at", quoted=True, copy=False),
            copy=False,
        )
        return select.where(_and_once(filters), copy=False) if filters else select

    def _sequence_cte(self, sequence: ir.SequenceSpec) -> exp.Select:
        """Members with a `first` row that is (not) followed by a `then` row in time."""
        # an hours/minutes/seconds limit is elapsed time: compare the rows' instants
        elapsed = sequence.within is not None and self._is_elapsed(sequence.within)
        first = self._event_rows(sequence.first, elapsed=elapsed).subquery("first_step", copy=False)
        then = self._event_rows(sequence.then, elapsed=elapsed).subquery("then_step", copy=False)
        follows: list[exp.Expr] = [
            exp.EQ(this=_col(KEY, "then_step"), expression=_col(KEY, "first_step")),
            exp.GT(this=_col("at", "then_step"), expression=_col("at", "first_step")),
        ]
        if sequence.within is not None:
            limit = self.dialect.add_duration(_col("at", "first_step"), sequence.within)
            follows.append(exp.LTE(this=_col("at", "then_step"), expression=limit))
        followed = exp.Exists(
            this=exp.select(_num(1)).from_(then, copy=False).where(_and(follows), copy=False)
        )
        conditions: list[exp.Expr] = [followed]
        if sequence.negated:
            conditions = [exp.Not(this=followed)]
            if sequence.within is not None:
                # the time limit must have passed by the as-of time to know nothing followed
                deadline = self.dialect.wall_literal(self._shift_as_of(sequence.within))
                if elapsed:
                    moment = self.as_of.instant(self.as_of.wall) - dt.timedelta(
                        seconds=sequence.within.seconds
                    )
                    deadline = self.dialect.wall_literal(moment.replace(tzinfo=None))
                conditions.insert(0, exp.LTE(this=_col("at", "first_step"), expression=deadline))
        return (
            exp.select(_col(KEY, "first_step"))
            .distinct(copy=False)
            .from_(first, copy=False)
            .where(_and(conditions), copy=False)
        )

    def _shift_as_of(self, duration: ir.DurationValue) -> dt.datetime:
        return self.as_of.resolve(ir.AsOfOffset(duration))

    def _clocks_change(self) -> bool:
        """Whether wall-clock differences in the project zone can differ from elapsed
        time (not in UTC or a fixed offset, whose SQL stays plain)."""
        return not _FIXED_ZONE.fullmatch(self.as_of.zone.key)

    def _is_elapsed(self, duration: ir.DurationValue) -> bool:
        """Whether adding `duration` to a wall-clock time must go through its instant:
        hours and smaller where the clocks change."""
        return duration.unit in ELAPSED_UNITS and self._clocks_change()

    def _instant_wall(self, expr: ir.Expr, source: ir.RowSource | None) -> exp.Expr:
        """A time as the UTC wall-clock time of its instant (differences are elapsed)."""
        inner = ir.unwrap(expr)
        if isinstance(inner, ir.TimePoint):
            moment = self.as_of.instant(self.as_of.resolve(inner.anchor))
            return self.dialect.wall_literal(moment.replace(tzinfo=None))
        if isinstance(inner, ir.RowColumn) and source is not None:
            raw: exp.Expr = _col(inner.column.name, self._hop_alias(source, inner.hop))
            if inner.column.storage == "timestamptz":  # an instant already: keep its fold
                return self.dialect.wall_clock(raw, "UTC")
            if inner.column.storage == "date":
                raw = self.dialect.date_to_wall(raw)
            return self._utc_wall(raw)
        return self._utc_wall(self.sql(expr, source))

    def _utc_wall(self, wall: exp.Expr) -> exp.Expr:
        zone = self.as_of.zone.key
        return self.dialect.wall_clock(self.dialect.to_instant(wall, zone), "UTC")

    def _population_cte(self) -> exp.Select:
        entity = self.entity
        alias = self.entity_alias
        # one row per entity from each CTE: (output name, CTE, value there, row group)
        per_entity: list[tuple[str, str, exp.Expr, object]] = []
        for source, aggregations in self.plan.aggregations.items():
            if source in self.forbidden:
                for name, aggregation in aggregations:
                    nothing = _num(0) if aggregation.func == "count" else FALSE
                    per_entity.append((name, NOT_JOINED, nothing, source))
                continue
            cte = self.source_ctes[source]
            for name, aggregation in aggregations:
                per_entity.append(
                    (name, cte, self._zero_rows(aggregation, _col(name, cte)), source)
                )
        for name, aggregation in self.plan.ordered:
            per_entity.append((name, f"{name}_value", _col(name, f"{name}_value"), aggregation))
        for name, aggregation in self.plan.grouped:
            cte = f"{name}_groups"
            zero = aggregation.outer in ("count", "sum")
            value = _coalesce(_col(name, cte), _num(0)) if zero else _col(name, cte)
            per_entity.append((name, cte, value, aggregation))
        for name, sequence in self.plan.sequences:
            cte = f"{name}_sequence"
            present = exp.Not(this=exp.Is(this=_col(KEY, cte), expression=exp.Null()))
            per_entity.append((name, cte, present, sequence))

        if self.stand_in is not None:
            stand_in_cte = next(cte for _, cte, _, group in per_entity if group == self.stand_in)
            # the link's values as the entity key's type (a DOUBLE link, a text key, …):
            # member lists, split hashes and tie-breaks see the key as the entity has it
            key_type = KEY_TYPES[entity.key.type]
            key: exp.Expr = exp.cast(_col(KEY, stand_in_cte), key_type, copy=False)
            select = exp.select().from_(exp.to_identifier(stand_in_cte, quoted=True), copy=False)
            joined = {stand_in_cte, NOT_JOINED}
            stored_key = _col(KEY, stand_in_cte)
        else:
            key = _col(entity.key.name, alias)
            select = exp.select().from_(table_ref(entity.source, alias), copy=False)
            joined = {NOT_JOINED}
            stored_key = key.copy()
        # an entity is a key: a row without one (SEG411; for rows read instead of the
        # entity, one without a link, which `rely` rules out) makes no member
        select = select.where(exp.Not(this=exp.Is(this=stored_key, expression=exp.Null())))
        columns: list[exp.Expr] = [exp.alias_(key.copy(), KEY, quoted=True, copy=False)]
        for name, column in self.plan.attributes.items():
            if name in self.late_attributes:
                continue
            columns.append(
                exp.alias_(
                    self.canonical(_col(column.name, alias), column), name, quoted=True, copy=False
                )
            )
        for name, cte, value, group in per_entity:
            columns.append(exp.alias_(value, name, quoted=True, copy=False))
            if cte not in joined:
                joined.add(cte)
                side = "INNER" if group in self.required else "LEFT"
                _join(select, exp.to_identifier(cte, quoted=True), _col(KEY, cte), key, side=side)
        select = select.select(*columns, copy=False)
        if entity.time is not None and self.stand_in is None:
            # members who joined after the as-of time are not yet part of the population
            signed_up = self._raw_window(_col(entity.time.name, alias), entity.time, UP_TO_AS_OF)
            missing = exp.Is(this=_col(entity.time.name, alias), expression=exp.Null())
            select = select.where(_or([signed_up, missing]), copy=False)
        if self.candidates:
            select = select.where(self._among_candidates(key), copy=False)
        if not (self.candidates and self.dialect.anti_join_in_candidates):
            for source in self.forbidden:
                select = select.where(exp.Not(this=self._any_rows(source, key)), copy=False)
        return select

    def _any_rows(self, source: ir.RowSource, key: exp.Expr) -> exp.Expr:
        """EXISTS a row of `source` for the entity `key` that some aggregate counts."""
        select, link = self._from_source(source)
        aggregations = self.plan.aggregations[source]
        common, residuals = _factor_filters([a.filter for _, a in aggregations])
        filters: list[exp.Expr] = [exp.EQ(this=link, expression=key.copy())]
        filters += [f for f in (self._cap(source),) if f is not None]
        filters += self._counted_filters(source, aggregations, common, residuals)
        rows = select.select(_num(1), copy=False).where(_and_once(filters), copy=False)
        return exp.Exists(this=rows)

    def _zero_rows(self, aggregation: ir.Aggregation, column: exp.Expr) -> exp.Expr:
        if aggregation.func in ("count", "count_distinct"):
            return _coalesce(column, _num(0))
        if aggregation.func == "sum":
            return _coalesce(column, _num(0))
        if aggregation.func == "exists":
            return _coalesce(column, FALSE)
        return column

    def _ranking_layer(
        self, name: str, layer: list[tuple[str, ir.PopulationSpec]], *, last: bool
    ) -> exp.Select:
        """Rankings over just their members (narrow rows sort fast), joined back; or, when
        every member is in every ranking, joined with each other, the first carrying the
        columns the members read. Rankings of the same members share one CTE where the
        dialect prefers fewer joins to parallel sorts."""
        previous = self.relation
        aggregates = [(alias, spec) for alias, spec in layer if spec.func in POPULATION_AGGREGATES]
        ranked: dict[str, list[tuple[str, ir.PopulationSpec]]] = {}  # CTE → its rankings
        by_members: dict[tuple[exp.Expr, ...], str] = {}  # members → the CTE ranking them
        for alias, spec in layer:
            if spec.func in POPULATION_AGGREGATES:
                continue
            cte = f"{alias}_ranking"
            if self.dialect.share_ranking_ctes:
                cte = by_members.setdefault(tuple(self._ranking_members(spec)), cte)
            ranked.setdefault(cte, []).append((alias, spec))
        # a shared CTE is named after its first ranking, in the plural (never a single
        # ranking's name: those end in `_ranking`)
        ranked = {cte + ("s" if len(specs) > 1 else ""): specs for cte, specs in ranked.items()}
        carried = self.carried if last else None
        base = next(iter(ranked)) if carried is not None else previous
        for cte, specs in ranked.items():
            own = carried if carried is not None and cte == base else []
            self.ctes.append((cte, self._ranking(specs, previous, own)))
        if carried is not None:
            columns: list[exp.Expr] = [_col(KEY, base)]
            columns += [exp.alias_(_col(c, base), c, quoted=True, copy=False) for c in carried]
            select = exp.select(*columns)
        else:
            select = exp.select(
                exp.Column(this=exp.Star(), table=exp.to_identifier(previous, quoted=True))
            )
        if len(layer) - len(aggregates) > 1 and any(cte != base for cte in ranked):
            self.materialized_layers.add(name)  # joins several rankings
        select = select.from_(exp.to_identifier(base, quoted=True), copy=False)
        for cte, specs in ranked.items():
            for alias, spec in specs:
                value: exp.Expr = _col(alias, cte)
                if spec.func in ("top", "bottom"):
                    value = _coalesce(value, FALSE)
                select = select.select(
                    exp.alias_(value, alias, quoted=True, copy=False), copy=False
                )
            if cte != base:
                required = all(spec in self.required for _, spec in specs)
                side = "INNER" if last and required else "LEFT"
                relation = exp.to_identifier(cte, quoted=True)
                _join(select, relation, _col(KEY, cte), _col(KEY, base), side=side)
        if last and self.late_attributes:
            # the stand-in population's members all have their row in the entity table;
            # joined in a materialised layer (where the dialect wants one): Postgres
            # otherwise applies the members' `r_score = 5` first, expects one row, and
            # joins an entity table without an index on its key by nested loops
            # (moscow_champions at 50k customers: 9.9 s instead of 0.4 s)
            self.materialized_layers.add(name)
            entity = self.entity
            alias = "__entity"  # never a CTE's name, in any case
            _join(
                select,
                table_ref(entity.source, alias),
                _col(entity.key.name, alias),
                _col(KEY, base),
                side="INNER",
            )
            for name, column in self.late_attributes.items():
                value = self.canonical(_col(column.name, alias), column)
                select = select.select(exp.alias_(value, name, quoted=True, copy=False), copy=False)
        for alias, spec in aggregates:  # one row each: cross-joined
            cte = f"{alias}_ranking"
            self.ctes.append((cte, self._population_aggregate(spec, previous)))
            value = _col("value", cte)
            if spec.func in ("count", "sum"):
                value = _coalesce(value, _num(0))
            select = select.select(exp.alias_(value, alias, quoted=True, copy=False), copy=False)
            select.append("joins", exp.Join(this=exp.to_identifier(cte, quoted=True), kind="CROSS"))
        return select

    def _ranking_members(self, spec: ir.PopulationSpec) -> list[exp.Expr]:
        """Who takes part in a ranking: its population, with a value to rank."""
        members: list[exp.Expr] = []
        if spec.population is not None:
            members.append(self.condition(spec.population))
        if not always_ranked(spec):
            members.append(exp.Not(this=exp.Is(this=self.value(spec.value), expression=exp.Null())))
        return members

    def _population_aggregate(self, spec: ir.PopulationSpec, relation: str) -> exp.Select:
        """One value over the population (`avg revenue among buyers`)."""
        value = self.value(spec.value)
        aggregate = (
            exp.Count(this=exp.Star())
            if spec.func == "count"
            else _AGGREGATES[spec.func](this=value)
        )
        select = exp.select(exp.alias_(aggregate, "value", quoted=True, copy=False))
        select = select.from_(exp.to_identifier(relation, quoted=True), copy=False)
        members = self._ranking_members(spec)
        return select.where(_and(members), copy=False) if members else select

    def _ranking(
        self, specs: list[tuple[str, ir.PopulationSpec]], relation: str, carried: list[str]
    ) -> exp.Select:
        """The members of the rankings' population (the same for all of `specs`) with
        their ranks, one column per ranking, and the `carried` columns of `relation`."""
        columns: list[exp.Expr] = [_col(KEY), *(_col(name) for name in carried)]
        for alias, spec in specs:
            columns.append(exp.alias_(self._rank(spec), alias, quoted=True, copy=False))
        select = exp.select(*columns).from_(exp.to_identifier(relation, quoted=True), copy=False)
        members = self._ranking_members(specs[0][1])
        return select.where(_and(members), copy=False) if members else select

    def _rank(self, spec: ir.PopulationSpec) -> exp.Expr:
        """A ranking's window expression over its members."""
        value = self.value(spec.value)
        key = _col(KEY)
        func = spec.func

        def window(node: exp.Expr, *order: exp.Ordered, frame: bool = False) -> exp.Window:
            spec_node = exp.Window(this=node)
            if order:
                spec_node.set("order", exp.Order(expressions=list(order)))
            if frame:
                spec_node.set(
                    "spec",
                    exp.WindowSpec(
                        kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW"
                    ),
                )
            return spec_node

        # NULLs never reach these orderings; stating BigQuery's default keeps sqlglot quiet
        ascending = exp.Ordered(this=value.copy(), desc=False, nulls_first=True)
        descending = exp.Ordered(this=value.copy(), desc=True, nulls_first=False)
        by_key = exp.Ordered(this=key, desc=False, nulls_first=True)
        ranked: exp.Expr
        if func == "ntile":
            assert spec.buckets is not None
            ntile = exp.Anonymous(this="NTILE", expressions=[_num(spec.buckets)])
            ranked = window(ntile, ascending, by_key.copy())
        elif func == "percentile":
            ranked = window(exp.Anonymous(this="PERCENT_RANK", expressions=[]), ascending)
        elif func == "cumulative_share":
            running = window(exp.Sum(this=value.copy()), descending, by_key.copy(), frame=True)
            total = window(exp.Sum(this=value.copy()))
            ranked = exp.Div(
                this=self.dialect.to_double(running),
                expression=exp.Nullif(this=self.dialect.to_double(total), expression=_num(0)),
            )
        else:  # top / bottom
            order = descending if func == "top" else ascending
            row_number = window(exp.RowNumber(), order, by_key.copy())
            if spec.count is not None:
                ranked = exp.LTE(this=row_number, expression=_num(spec.count))
            else:
                assert spec.fraction is not None
                numerator, denominator = spec.fraction.as_integer_ratio()
                ranked = exp.LT(
                    this=exp.Mul(
                        this=exp.Paren(this=exp.Sub(this=row_number, expression=_num(1))),
                        expression=_num(denominator),
                    ),
                    expression=exp.Mul(
                        this=_num(numerator), expression=window(exp.Count(this=exp.Star()))
                    ),
                )
        return ranked

    # -------------------------------------------------------------- expressions
    def row(self, source: ir.RowSource, column: ir.RowColumn) -> exp.Expr:
        """A row-level column as a language value (times as wall-clock)."""
        raw = _col(column.column.name, self._hop_alias(source, column.hop))
        return self.canonical(raw, column.column)

    def canonical(self, raw: exp.Expr, column: ir.Column) -> exp.Expr:
        if column.storage == "timestamptz":
            return self.dialect.wall_clock(raw, self.as_of.zone.key)
        return raw

    def condition(self, expr: ir.Expr, source: ir.RowSource | None = None) -> exp.Expr:
        """A boolean that may be NULL where a value is missing (NULL acts as false)."""
        return self.sql(expr, source)

    def value(self, expr: ir.Expr, source: ir.RowSource | None = None) -> exp.Expr:
        """A value; conditions become two-valued TRUE/FALSE."""
        node = self.sql(expr, source)
        if expr.type.kind is t.Kind.BOOLEAN and not _never_null(expr):
            return _coalesce(node, FALSE)
        return node

    def sql(self, expr: ir.Expr, source: ir.RowSource | None) -> exp.Expr:
        match expr:
            case ir.Const():
                return self.const(expr)
            case ir.TimePoint(anchor=anchor):
                return self.dialect.wall_literal(self.as_of.resolve(anchor))
            case ir.EntityColumn(attribute=attribute):
                if attribute not in self.plan.aliases:  # the entity key
                    return _col(KEY)
                return _col(self.plan.aliases[attribute])
            case ir.RowColumn():
                assert source is not None, "row column outside an aggregation"
                return self.row(source, expr)
            case ir.ToTimestamp(operand=operand):
                return self.dialect.date_to_wall(self.sql(operand, source))
            case ir.Arith(op=op, left=left, right=right):
                lhs, rhs = _paren(self.sql(left, source)), _paren(self.sql(right, source))
                if op == "/":
                    return exp.Div(
                        this=self.dialect.to_double(lhs),
                        expression=exp.Nullif(this=rhs, expression=_num(0)),
                    )
                return _BINARY[op](this=lhs, expression=rhs)
            case ir.Negate(operand=operand):
                return exp.Neg(this=_paren(self.sql(operand, source)))
            case ir.Compare(op=op, left=left, right=right):
                return self.compare(op, left, right, source)
            case ir.And(items=items):
                return _and([self.sql(item, source) for item in items])
            case ir.Or(items=items):
                return _or([self.sql(item, source) for item in items])
            case ir.Not(operand=operand):
                return exp.Not(this=_paren(self.value(operand, source)))
            case ir.IsPresent(operand=operand, present=present):
                missing = exp.Is(this=self.sql(operand, source), expression=exp.Null())
                return exp.Not(this=missing) if present else missing
            case ir.InList(operand=operand, items=items):
                return exp.In(
                    this=self.sql(operand, source), expressions=[self.const(i) for i in items]
                )
            case ir.TextMatch(op=op, operand=operand, pattern=pattern):
                return self.text_match(op, self.sql(operand, source), self.sql(pattern, source))
            case ir.InWindow(operand=operand, bounds=bounds):
                return self.in_window(operand, bounds, source)
            case ir.DatePart(part=part, operand=operand):
                return self.dialect.date_part(part, self.sql(operand, source))
            case ir.TruncateTime(unit=unit, operand=operand):
                return self.dialect.truncate(unit, self.sql(operand, source))
            case ir.Age(operand=operand):
                return self.age(self.sql(operand, source))
            case ir.Function(name=name, args=args):
                rendered = [self.sql(arg, source) for arg in args]
                if name == "coalesce":
                    return _coalesce(rendered[0], rendered[1])
                functions = {
                    "lower": exp.Lower,
                    "upper": exp.Upper,
                    "length": exp.Length,
                    "abs": exp.Abs,
                    "floor": exp.Floor,
                    "ceil": exp.Ceil,
                }
                if name == "round":
                    return self.dialect.round_half_away(_paren(rendered[0]))
                return functions[name](this=rendered[0])
            case ir.Elapsed(start=start, end=end):
                if not self._clocks_change():
                    return self.dialect.seconds_between(
                        self.sql(start, source), self.sql(end, source)
                    )
                return self.dialect.seconds_between(
                    self._instant_wall(start, source), self._instant_wall(end, source)
                )
            case ir.AddDuration(operand=operand, duration=duration):
                if not self._is_elapsed(duration):
                    return self.dialect.add_duration(_paren(self.sql(operand, source)), duration)
                utc = _paren(self._instant_wall(operand, source))
                instant = self.dialect.to_instant(
                    _paren(self.dialect.add_duration(utc, duration)), "UTC"
                )
                return self.dialect.wall_clock(instant, self.as_of.zone.key)
            case ir.Case(whens=whens, default=default):
                case = exp.Case(
                    ifs=[
                        exp.If(this=self.sql(c, source), true=self.sql(v, source)) for c, v in whens
                    ]
                )
                case.set("default", self.sql(default, source))
                return case
            case ir.AggregateRef(aggregation=aggregation):
                if self._inline_aggregates is not None:
                    return self._inline_aggregates[aggregation].copy()
                return _col(self.plan.aliases[aggregation])
            case ir.SequenceRef(sequence=sequence):
                return _col(self.plan.aliases[sequence])
            case ir.PopulationRef(spec=spec):
                return _col(self.plan.aliases[spec])
            case ir.SplitRef(split=split):
                return self.split(split)
            case ir.Named(expr=inner):
                return self.sql(inner, source)
            case ir.Invalid():
                raise AssertionError("invalid IR reached SQL generation")
            case _:
                assert_never(expr)

    def const(self, const: ir.Const) -> exp.Expr:
        value = const.value
        if value is None:
            return exp.Null()
        if isinstance(value, bool):
            return TRUE if value else FALSE
        if isinstance(value, (int, float, Decimal)):
            return _num(value)
        if isinstance(value, str):
            return exp.Literal.string(value)
        if isinstance(value, dt.datetime):
            return self.dialect.wall_literal(value)
        if isinstance(value, dt.date):
            return self.dialect.date_literal(value)
        if isinstance(value, ir.DurationValue):
            return _num(value.seconds)
        assert_never(value)

    def compare(
        self, op: str, left: ir.Expr, right: ir.Expr, source: ir.RowSource | None
    ) -> exp.Expr:
        lhs = (
            self.value(left, source) if left.type.kind is t.Kind.BOOLEAN else self.sql(left, source)
        )
        rhs = (
            self.value(right, source)
            if right.type.kind is t.Kind.BOOLEAN
            else self.sql(right, source)
        )
        if isinstance(lhs, (exp.Connector, exp.Not)):
            lhs = exp.Paren(this=lhs)
        if isinstance(rhs, (exp.Connector, exp.Not)):
            rhs = exp.Paren(this=rhs)
        if op in ("<", "<=", ">", ">=") and t.Kind.STRING in (left.type.kind, right.type.kind):
            lhs, rhs = self.dialect.text_order(lhs), self.dialect.text_order(rhs)
        return _BINARY[op](this=lhs, expression=rhs)

    def text_match(self, op: str, text: exp.Expr, pattern: exp.Expr) -> exp.Expr:
        if op == "contains":
            position = exp.Anonymous(this="STRPOS", expressions=[_paren(text), pattern])
            return exp.GT(this=position, expression=_num(0))
        side = "LEFT" if op == "starts_with" else "RIGHT"
        prefix = exp.Anonymous(
            this=side, expressions=[_paren(text), exp.Length(this=pattern.copy())]
        )
        return exp.EQ(this=prefix, expression=pattern)

    def age(self, birth: exp.Expr) -> exp.Expr:
        today = self.as_of.date

        def part(name: str) -> exp.Expr:
            return exp.Extract(this=exp.var(name), expression=birth.copy())

        later_month = exp.GT(this=part("MONTH"), expression=_num(today.month))
        same_month_later_day = exp.And(
            this=exp.EQ(this=part("MONTH"), expression=_num(today.month)),
            expression=exp.GT(this=part("DAY"), expression=_num(today.day)),
        )
        not_yet = _case(_or([later_month, same_month_later_day]), _num(1), _num(0))
        return exp.Sub(
            this=exp.Sub(this=_num(today.year), expression=part("YEAR")), expression=_paren(not_yet)
        )

    def split(self, split: ir.SplitSpec) -> exp.Expr:
        text = exp.DPipe(
            this=exp.Literal.string(f"{split.seed}:"), expression=self.dialect.to_text(_col(KEY))
        )
        bucket = self.dialect.hash_bucket(text, 10_000)
        ifs = [
            exp.If(
                this=exp.LT(this=bucket.copy(), expression=_num(bound)),
                true=exp.Literal.string(label),
            )
            for label, bound in zip(split.labels, split.upper_bounds, strict=True)
        ]
        labelled = exp.Case(ifs=ifs)
        if split.population is None:
            return labelled
        return _case(self.condition(split.population), labelled)

    # -------------------------------------------------------------- windows
    def in_window(
        self, operand: ir.Expr, bounds: ir.Bounds, source: ir.RowSource | None
    ) -> exp.Expr:
        inner = ir.unwrap(operand)
        if (
            isinstance(inner, ir.AggregateRef)
            and extreme_row_time(inner.aggregation)
            and self._includes_as_of(bounds)
        ):
            # `last_order_at in last 90d`: the latest order time is never after the as-of
            # time; a redundant `<=` only makes Postgres underestimate the rows left
            bounds = dataclasses.replace(bounds, upper=None, upper_inclusive=False)
        if (
            source is not None
            and isinstance(inner, ir.RowColumn)
            and inner.column.storage is not None
        ):
            raw = _col(inner.column.name, self._hop_alias(source, inner.hop))
            return self._raw_window(raw, inner.column, bounds)
        return self.window(self.sql(operand, source), operand, bounds)

    def _includes_as_of(self, bounds: ir.Bounds) -> bool:
        """Whether `bounds` end at or after the as-of time, which they include."""
        if bounds.upper is None:
            return False
        upper = self.as_of.resolve(bounds.upper)
        return upper > self.as_of.wall or (upper == self.as_of.wall and bounds.upper_inclusive)

    def window(self, value: exp.Expr, operand: ir.Expr, bounds: ir.Bounds) -> exp.Expr:
        """`value` (a wall-clock time or a date, per the operand's type) inside `bounds`."""
        if operand.type.kind is t.Kind.DATE:
            return self._date_window(value, bounds)
        return self._wall_window(value, bounds, self.dialect.wall_literal)

    def _raw_window(self, raw: exp.Expr, column: ir.Column, bounds: ir.Bounds) -> exp.Expr:
        """A stored column compared in its own type, so engines can prune partitions."""
        if column.storage == "date":
            return self._date_window(raw, bounds)
        if column.storage == "timestamptz":
            return self._wall_window(
                raw, bounds, lambda wall: self.dialect.instant_literal(self.as_of.instant(wall))
            )
        return self._wall_window(raw, bounds, self.dialect.wall_literal)

    def _wall_window(
        self, value: exp.Expr, bounds: ir.Bounds, make: Callable[[dt.datetime], exp.Expr]
    ) -> exp.Expr:
        """`value` within `bounds`, each bound made a literal by `make`."""
        parts: list[exp.Expr] = []
        if bounds.lower is not None:
            lower = make(self.as_of.resolve(bounds.lower))
            above = exp.GTE if bounds.lower_inclusive else exp.GT
            parts.append(above(this=value.copy(), expression=lower))
        if bounds.upper is not None:
            upper = make(self.as_of.resolve(bounds.upper))
            below = exp.LTE if bounds.upper_inclusive else exp.LT
            parts.append(below(this=value.copy(), expression=upper))
        return _and(parts) if parts else exp.Not(this=exp.Is(this=value, expression=exp.Null()))

    def _date_window(self, value: exp.Expr, bounds: ir.Bounds) -> exp.Expr:
        """A date d stands for its midnight; compare dates with the equivalent date bounds."""
        parts: list[exp.Expr] = []
        if bounds.lower is not None:
            lower = self.as_of.resolve(bounds.lower)
            first_day = lower.date()
            if not (bounds.lower_inclusive and lower.time() == dt.time()):
                first_day += dt.timedelta(days=1)
            parts.append(
                exp.GTE(this=value.copy(), expression=self.dialect.date_literal(first_day))
            )
        if bounds.upper is not None:
            upper = self.as_of.resolve(bounds.upper)
            last_day = upper.date()
            if not bounds.upper_inclusive and upper.time() == dt.time():
                last_day -= dt.timedelta(days=1)
            parts.append(exp.LTE(this=value.copy(), expression=self.dialect.date_literal(last_day)))
        return _and(parts) if parts else exp.Not(this=exp.Is(this=value, expression=exp.Null()))


# zones whose clocks never change: wall-clock arithmetic is elapsed time there
_FIXED_ZONE = re.compile(r"(Etc/)?(UTC|UCT|GMT|GMT[+-]\d+|Zulu|Universal|Greenwich)")


def _never_null(expr: ir.Expr) -> bool:
    """Booleans that SQL already computes as TRUE/FALSE for every entity."""
    inner = ir.unwrap(expr)
    if isinstance(inner, ir.AggregateRef):
        return inner.aggregation.func == "exists"
    if isinstance(inner, (ir.SequenceRef, ir.IsPresent)):
        return True
    if isinstance(inner, ir.PopulationRef):
        return inner.spec.func in ("top", "bottom")
    if isinstance(inner, ir.Not):
        return True
    if isinstance(inner, ir.Const):
        return inner.value is not None
    return False


def _counts_any_row(condition: exp.Expr) -> bool:
    """Whether `condition` is `COUNT(*) > 0` or `COUNT(*) >= 1`: true in every group."""
    match condition:
        case exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal(this="0")):
            return True
        case exp.GTE(this=exp.Count(this=exp.Star()), expression=exp.Literal(this="1")):
            return True
    return False


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


def _factor_filters(filters: list[ir.Expr | None]) -> tuple[list[ir.Expr], list[ir.Expr | None]]:
    """(conjuncts every filter shares, what remains of each filter)."""
    parts = [list(ir.and_parts(f)) for f in filters]
    common = [c for c in parts[0] if all(c in other for other in parts[1:])] if parts else []
    residuals: list[ir.Expr | None] = []
    for own in parts:
        rest = [c for c in own if c not in common]
        residuals.append(None if not rest else rest[0] if len(rest) == 1 else ir.And(tuple(rest)))
    return common, residuals
