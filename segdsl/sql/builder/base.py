"""The state the query builder's parts share, and table aliases."""

from __future__ import annotations

import datetime as dt
import re

from sqlglot import exp

from segdsl import ir
from segdsl.plan import Plan, slug
from segdsl.sql.builder.common import table_ref
from segdsl.sql.builder.cuts import Cut
from segdsl.sql.clock import Clock, MovingAsOf
from segdsl.sql.dialects import Dialect
from segdsl.timeline import AsOf

# the query's own relation names: CTEs (generated ones start like `t1_`, `m3_`; see
# `internal_name`), subqueries and the late-attribute entity; a table alias is never one
_OWN_NAMES = re.compile(
    r"[a-z][0-9]+(_.*)?|ranked_[0-9]+|population|candidates|entity_rows|ranked_rows|groups"
    r"|first_step|then_step|__entity|members|before|after|steps|intervals|spine"
)


class BuilderBase:
    """What the parts of `QueryBuilder` share: the plan, the dialect and as-of time, what
    the members' condition lets the query skip, the CTEs built so far, table aliases."""

    plan: Plan
    dialect: Dialect
    as_of: AsOf | MovingAsOf
    clock: Clock | None  # for a moving as-of time: its times as SQL expressions
    steps: tuple[dt.datetime, ...] | None  # a trend: the as-of times of its spine
    entity: ir.Entity
    required: set[object]
    forbidden: set[ir.RowSource]
    whole_populations: set[ir.PopulationSpec]  # rankings whose population is everyone kept
    candidate_conditions: list[ir.Expr]
    having: dict[ir.RowSource, list[ir.Expr]]
    group_having: dict[ir.Aggregation, list[ir.Expr]]
    stand_in: object | None
    late_attributes: dict[str, ir.Column]
    carried: list[str] | None
    cuts: dict[ir.PopulationSpec, Cut]  # rankings computed as the first rows of an order
    cut_conditions: list[ir.Expr]  # members' parts their inner-joined cuts enforce
    _inline_aggregates: dict[ir.Aggregation, exp.Expr] | None
    table_aliases: dict[str, str]
    entity_alias: str
    ctes: list[tuple[str, exp.Select]]
    materialized_layers: set[str]
    source_ctes: dict[ir.RowSource, str]
    figure_ctes: dict[ir.TableFigure, str]  # a trend's table figures per step
    aggregate_ctes: dict[str, str]  # a trend's aggregates not in their table's CTE
    candidates: bool
    relation: str
    one_part_tables: set[str]  # warehouse tables named without a schema, lowercased

    def sql(self, expr: ir.Expr, source: ir.RowSource | None) -> exp.Expr:
        """`expr` as SQL, reading row columns of `source` (`Expressions.sql`)."""
        raise NotImplementedError

    # -------------------------------------------------------------- times
    # Every time the as-of time stands for goes through these: a literal for a fixed
    # as-of time (`AsOf.resolve`), an expression of the clock for a moving one.

    @property
    def fixed(self) -> AsOf | None:
        """The as-of time when it is fixed (compile-time decisions may compare times)."""
        return self.as_of if isinstance(self.as_of, AsOf) else None

    def _wall_at(self, anchor: ir.TimeAnchor) -> exp.Expr:
        """The wall-clock time an anchor stands for (TIMESTAMP; BigQuery DATETIME)."""
        if self.clock is not None:
            return self.clock.wall(anchor)
        assert isinstance(self.as_of, AsOf)
        return self.dialect.wall_literal(self.as_of.resolve(anchor))

    def _instant_at(self, anchor: ir.TimeAnchor) -> exp.Expr:
        """The instant an anchor stands for (TIMESTAMPTZ; BigQuery TIMESTAMP)."""
        if self.clock is not None:
            return self.clock.instant(self.clock.wall(anchor))
        assert isinstance(self.as_of, AsOf)
        return self.dialect.instant_literal(self.as_of.instant(self.as_of.resolve(anchor)))

    def _utc_wall_at(self, anchor: ir.TimeAnchor, seconds: int = 0) -> exp.Expr:
        """The UTC wall-clock time of the anchor's instant, plus `seconds` of real time."""
        if self.clock is not None:
            utc = self.clock.utc_wall(self.clock.wall(anchor))
            if seconds:
                utc = self.dialect.add_duration(exp.Paren(this=utc), ir.DurationValue(seconds, "s"))
            return utc
        assert isinstance(self.as_of, AsOf)
        moment = self.as_of.instant(self.as_of.resolve(anchor)) + dt.timedelta(seconds=seconds)
        return self.dialect.wall_literal(moment.replace(tzinfo=None))

    def _grouped_rows(self, source: ir.RowSource) -> exp.Select:
        """The rows of a grouped table (`GroupedRows._grouped_rows`)."""
        raise NotImplementedError

    def table_figure(self, figure: ir.TableFigure) -> exp.Expr:
        """One value over every member's rows (`Aggregates.table_figure`)."""
        raise NotImplementedError

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

    def _warehouse_table(self, path: tuple[str, ...], alias: str) -> exp.Table:
        """The warehouse table at `path` under `alias` (`table_ref`); a table named without
        a schema is noted, so that no CTE of the query takes its name (`QueryBuilder._with`)."""
        if len(path) == 1:
            self.one_part_tables.add(path[0].lower())
        return table_ref(path, alias)

    def _hop_alias(self, source: ir.RowSource, hop: int) -> str:
        return self._table_alias(source.hops[hop].table)
