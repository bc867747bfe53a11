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

Each step lives in its own module of this package (see docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlglot import exp

from segdsl import ir
from segdsl import types as t
from segdsl.plan import KEY, POPULATION_AGGREGATES, Plan, relied_on, rows_forbidden, rows_required
from segdsl.sql.builder.common import (
    KEY_TYPES,
    STEP,
    STEPS,
    WAREHOUSE,
    _and,
    _case,
    _col,
    _num,
)
from segdsl.sql.builder.cuts import ranking_cuts
from segdsl.sql.builder.grouping import GroupedRows
from segdsl.sql.builder.narrowing import (
    _attributes_only,
    _columns_read,
    _conjuncts,
    _group_bounds,
    _having_parts,
    _ranked_reads,
)
from segdsl.sql.builder.population import Population
from segdsl.sql.builder.pruning import _whole_populations, _without_unread
from segdsl.sql.builder.rankings import Rankings
from segdsl.sql.builder.running import INTERVALS, RunningTotals, cumulative
from segdsl.sql.builder.sequences import Sequences
from segdsl.sql.builder.windows import clocks_change
from segdsl.sql.clock import Clock, MovingAsOf
from segdsl.sql.dialects import Dialect
from segdsl.timeline import AsOf


class QueryBuilder(RunningTotals, Population, Sequences, Rankings, GroupedRows):
    """Renders one plan for one dialect and as-of time."""

    def __init__(
        self,
        plan: Plan,
        dialect: Dialect,
        as_of: AsOf | MovingAsOf,
        *,
        members_of: ir.Expr | None = None,
        steps: Sequence[dt.datetime] | None = None,
    ):
        """With `steps` (wall-clock as-of times; `as_of` then a `MovingAsOf` in the
        project zone), a trend: the query evaluates the plan at every step at once (a
        spine CTE `steps`; every CTE reading rows joins it and groups by key and step),
        and `counts`/`distribution` give one row per step (column `as_of`) and label;
        rankings are partitioned by step, sequences and table figures matched per step.

        With `members_of` (the condition the final query keeps), tables the condition
        cannot do without are inner-joined, and its parts that only need one such table
        are checked already while aggregating that table (HAVING); tables it must not
        have rows in are anti-joined instead of aggregated."""
        self.plan = plan
        self.required: set[object] = set()
        self.forbidden: set[ir.RowSource] = set()
        self.whole_populations: set[ir.PopulationSpec] = set()
        self.candidate_conditions: list[ir.Expr] = []  # members' attribute-only conditions
        self.having: dict[ir.RowSource, list[ir.Expr]] = {}
        self.group_having: dict[ir.Aggregation, list[ir.Expr]] = {}  # `max … per …` bounds
        if members_of is not None:
            self.required = rows_required(plan, members_of)
            self.forbidden = rows_forbidden(plan, members_of) - self.required
            # rankings among everyone the query keeps (`among buyers`, the orders
            # inner-joined): their population is not tested, nor aggregated when nothing
            # else reads it
            self.whole_populations = _whole_populations(plan, self.required)
            if self.whole_populations:
                plan = _without_unread(plan, self.whole_populations)
                self.plan = plan
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
        self.cuts, self.cut_conditions = ranking_cuts(plan, members_of, self.required, dialect)
        if steps is not None:  # a `LIMIT` cuts one population, a trend ranks one per step
            self.cuts, self.cut_conditions = {}, []
        self.as_of = as_of
        self.clock = (
            Clock(as_of, dialect, clocks_change=clocks_change(as_of.zone.key))
            if isinstance(as_of, MovingAsOf)
            else None
        )
        self.steps = tuple(steps) if steps is not None else None
        if self.steps is not None:
            assert members_of is None and self.clock is not None
            # the as-of time is the step's, a column of the spine (and of `population`)
            self.clock.node = _col(STEP)
        self.entity = plan.entity
        self.table_aliases: dict[str, str] = {}  # declared table name → its SQL alias
        self.entity_alias = self._table_alias(plan.entity.name)
        self.ctes: list[tuple[str, exp.Select]] = []
        self.materialized_layers: set[str] = set()  # layers joining several rankings
        self.source_ctes: dict[ir.RowSource, str] = {}
        self.figure_ctes: dict[ir.TableFigure, str] = {}
        self.aggregate_ctes: dict[str, str] = {}  # a table's aggregates apart from its CTE
        self.shared_steps = {}
        self.candidates = False  # whether a `candidates` CTE narrows the rows read
        self.relation = ""
        self.one_part_tables = set()
        self.renamed: dict[str, str] = {}  # CTEs named like a one-part warehouse table
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
        enforced += self.cut_conditions
        remaining = [part for part in _conjuncts(condition) if part not in enforced]
        if remaining:
            select = select.where(_and([self.condition(part) for part in remaining]), copy=False)
        return self._with(self._once_per_key(select))

    def _once_per_key(self, select: exp.Select) -> exp.Select:
        """`select` without repeated rows, where an entity table repeating a key (SEG411)
        can repeat them: a population read from a table grouped by key has each once, and
        an entity whose key relies (`key id rely`) one row per key."""
        if self.stand_in is not None or self.entity.unique_key:
            return select
        return select.distinct(copy=False)

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
            # an ntile test an inner-joined cut enforces holds in every row (its column is
            # TRUE, not the bucket)
            parts = [part for part in _conjuncts(where) if part not in self.cut_conditions]
            if parts:
                select = select.where(_and([self.condition(part) for part in parts]), copy=False)
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
        select = exp.select(*self._per_step(), *columns).from_(
            exp.to_identifier(self.relation, quoted=True), copy=False
        )
        if self.steps is not None:
            select = select.group_by(_num(1), copy=False)
        return self._with(select)

    def _runs(self, aggregation: ir.Aggregation) -> bool:
        """Whether a trend computes the aggregate as a running total (`running.py`)."""
        return self.steps is not None and cumulative(aggregation)

    def _per_step(self) -> list[exp.Expr]:
        """In a trend, the column `as_of` (the step) that the final SELECT groups by."""
        if self.steps is None:
            return []
        return [exp.alias_(_col(STEP), "as_of", quoted=True, copy=False)]

    def distribution(self, label: ir.Expr, *, distinct: bool = False) -> exp.Select:
        """How many entities carry each label (missing labels counted under NULL); with
        `distinct`, how many distinct keys (see `counts`)."""
        value = self.value(label)
        counted = exp.Count(this=exp.Distinct(expressions=[_col(KEY)]) if distinct else exp.Star())
        steps = self._per_step()
        select = (
            exp.select(
                *steps,
                exp.alias_(value, "label", quoted=True, copy=False),
                exp.alias_(counted, "members", quoted=True, copy=False),
            )
            .from_(exp.to_identifier(self.relation, quoted=True), copy=False)
            .group_by(*(_num(n) for n in range(1, len(steps) + 2)), copy=False)
        )
        return self._with(select)

    def _with(self, select: exp.Select) -> exp.Select:
        self._clear_of_warehouse_tables(select)
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

    def _clear_of_warehouse_tables(self, select: exp.Select) -> None:
        """Renames the CTEs that share a name with a warehouse table named without a
        schema (`table steps from steps`, in any case: DuckDB folds it), which every
        later reference would otherwise read as the CTE, in the CTEs and in `select`."""
        names = {name for name, _ in self.ctes}
        taken = names | self.one_part_tables | set(self.renamed.values())
        taken |= set(self.table_aliases.values())
        for name in names:
            if name.lower() in self.one_part_tables:
                counter = 2
                while f"{name}_{counter}".lower() in taken:
                    counter += 1
                self.renamed[name] = f"{name}_{counter}"
                taken.add(self.renamed[name])
        if not self.renamed:
            return
        self.ctes = [
            (self.renamed.get(name, name), _renamed_relations(cte, self.renamed))
            for name, cte in self.ctes
        ]
        self.materialized_layers = {self.renamed.get(n, n) for n in self.materialized_layers}
        _renamed_relations(select, self.renamed)

    # -------------------------------------------------------------- CTE chain
    def _build(self) -> None:
        plan = self.plan
        if self.steps is not None:
            self.ctes.append((STEPS, _spine(self.dialect, self.steps)))
        reads_rows = set(plan.aggregations) - self.forbidden or plan.ordered or plan.grouped
        self.candidates = bool(self.candidate_conditions and (reads_rows or plan.sequences))
        if self.candidates:
            self.ctes.append(("candidates", self._candidates_cte()))
        for source, aggregations in self.plan.aggregations.items():
            if source not in self.forbidden:
                name = self._source_cte_name(source)
                self.source_ctes[source] = name
                running = [item for item in aggregations if self._runs(item[1])]
                if running:  # a trend's running totals; the other aggregates in their own CTE
                    if not any(cte == INTERVALS for cte, _ in self.ctes):
                        self.ctes.append((INTERVALS, self._intervals_cte()))
                    cte = self._running_source_cte(name, source, running)
                    self.ctes.append((name, cte))
                    aggregations = [item for item in aggregations if item not in running]
                    if not aggregations:
                        continue
                    name = f"{name}_windows"
                    self.aggregate_ctes.update((alias, name) for alias, _ in aggregations)
                self.ctes.append((name, self._source_cte(source, aggregations)))
        for alias, aggregation in self.plan.ordered:
            self.ctes.append((f"{alias}_value", self._ordered_cte(alias, aggregation)))
        for alias, aggregation in self.plan.grouped:
            self.ctes.append((f"{alias}_groups", self._grouped_cte(alias, aggregation)))
        self.ctes += self._shared_step_ctes()
        for alias, sequence in self.plan.sequences:
            self.ctes.append((f"{alias}_sequence", self._sequence_cte(sequence)))
        if self.steps is not None:
            self._step_figures()
        self.ctes.append(("population", self._population_cte()))
        self.relation = "population"
        for depth, layer in enumerate(self.plan.layers, start=1):
            last = depth == len(self.plan.layers)
            name = f"ranked_{depth}"
            self.ctes.append((name, self._ranking_layer(name, layer, last=last)))
            self.relation = name


def _renamed_relations(tree: exp.Select, renamed: dict[str, str]) -> exp.Select:
    """`tree` with its references to the query's own relations in `renamed` renamed, in
    place (warehouse tables, marked by `table_ref`, keep their names)."""
    for node in list(tree.walk()):
        if isinstance(node, exp.Table) and not node.meta.get(WAREHOUSE) and not node.db:
            if node.name in renamed:
                node.set("this", exp.to_identifier(renamed[node.name], quoted=True))
        elif isinstance(node, exp.TableAlias) and node.name in renamed:  # `intervals AS steps`
            node.set("this", exp.to_identifier(renamed[node.name], quoted=True))
        elif isinstance(node, exp.Identifier) and isinstance(node.parent, exp.From | exp.Join):
            if node.arg_key == "this" and node.name in renamed:  # FROM "population"
                node.replace(exp.to_identifier(renamed[node.name], quoted=True))
        elif isinstance(node, exp.Column) and node.table in renamed:
            node.set("table", exp.to_identifier(renamed[node.table], quoted=True))
    return tree


def _spine(dialect: Dialect, steps: Sequence[dt.datetime]) -> exp.Select:
    """`SELECT <as-of> AS __as_of UNION ALL …`, balanced (sqlglot renders recursively);
    where the dialect `inlines_ctes`, one `arrayJoin` of them."""
    if dialect.inlines_ctes:
        times = exp.Array(expressions=[dialect.wall_literal(step) for step in steps])
        return exp.select(exp.alias_(exp.Explode(this=times), STEP, quoted=True, copy=False))
    rows = [
        exp.select(exp.alias_(dialect.wall_literal(step), STEP, quoted=True, copy=False))
        for step in steps
    ]

    def union(part: list[exp.Select]) -> exp.Query:
        if len(part) == 1:
            return part[0]
        middle = len(part) // 2
        return exp.union(union(part[:middle]), union(part[middle:]), distinct=False, copy=False)

    spine = union(rows).subquery("spine", copy=False)
    return exp.select(_col(STEP)).from_(spine, copy=False)
