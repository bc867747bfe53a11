"""The state the query builder's parts share, and table aliases."""

from __future__ import annotations

import re

from sqlglot import exp

from segdsl import ir
from segdsl.plan import Plan, slug
from segdsl.sql.builder.cuts import Cut
from segdsl.sql.dialects import Dialect
from segdsl.timeline import AsOf

# the query's own relation names: CTEs (generated ones start like `t1_`, `m3_`; see
# `internal_name`), subqueries and the late-attribute entity; a table alias is never one
_OWN_NAMES = re.compile(
    r"[a-z][0-9]+(_.*)?|ranked_[0-9]+|population|candidates|entity_rows|ranked_rows|groups"
    r"|first_step|then_step|__entity|members|before|after"
)


class BuilderBase:
    """What the parts of `QueryBuilder` share: the plan, the dialect and as-of time, what
    the members' condition lets the query skip, the CTEs built so far, table aliases."""

    plan: Plan
    dialect: Dialect
    as_of: AsOf
    entity: ir.Entity
    required: set[object]
    forbidden: set[ir.RowSource]
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
    candidates: bool
    relation: str

    def sql(self, expr: ir.Expr, source: ir.RowSource | None) -> exp.Expr:
        """`expr` as SQL, reading row columns of `source` (`Expressions.sql`)."""
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

    def _hop_alias(self, source: ir.RowSource, hop: int) -> str:
        return self._table_alias(source.hops[hop].table)
