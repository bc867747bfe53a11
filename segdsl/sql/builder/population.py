"""The population CTE (one row per entity with every value the rankings and
members read) and the candidates CTE that narrows the rows read."""

from __future__ import annotations

from sqlglot import exp

from segdsl import ir
from segdsl.plan import KEY
from segdsl.sql.builder.aggregates import Aggregates
from segdsl.sql.builder.common import (
    FALSE,
    KEY_TYPES,
    NOT_JOINED,
    STEP,
    STEP_OF,
    STEPS,
    UP_TO_AS_OF,
    _and,
    _and_once,
    _coalesce,
    _col,
    _join,
    _num,
    _or,
)
from segdsl.sql.builder.reading import _factor_filters


class Population(Aggregates):
    """The `candidates` and `population` CTEs."""

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
        rows = exp.select(*columns).from_(
            self._warehouse_table(entity.source, self.entity_alias), copy=False
        )
        conditions = [self.condition(part) for part in self.candidate_conditions]
        key = _col(KEY, "entity_rows")
        if self.dialect.anti_join_in_candidates:
            conditions += [exp.Not(this=self._any_rows(source, key)) for source in self.forbidden]
        return (
            exp.select(_col(KEY))
            .from_(rows.subquery("entity_rows", copy=False), copy=False)
            .where(_and(conditions), copy=False)
        )

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
            for name, aggregation in aggregations:
                cte = self.aggregate_ctes.get(name, self.source_ctes[source])
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
            select = exp.select().from_(self._warehouse_table(entity.source, alias), copy=False)
            joined = {NOT_JOINED}
            stored_key = key.copy()
        # an entity is a key: a row without one (SEG411; for rows read instead of the
        # entity, one without a link, which `rely` rules out) makes no member
        select = select.where(exp.Not(this=exp.Is(this=stored_key, expression=exp.Null())))
        columns: list[exp.Expr] = [exp.alias_(key.copy(), KEY, quoted=True, copy=False)]
        if self.steps is not None:
            # a trend: each entity once per step (the CTEs carry their rows' step)
            steps = exp.to_identifier(STEPS, quoted=True)
            select.append("joins", exp.Join(this=exp.Table(this=steps), kind="CROSS"))
            columns.append(exp.alias_(_col(STEP, STEPS), STEP, quoted=True, copy=False))
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
                step = None
                if self.steps is not None:
                    step = exp.EQ(this=_col(STEP_OF, cte), expression=_col(STEP, STEPS))
                relation = exp.to_identifier(cte, quoted=True)
                _join(select, relation, _col(KEY, cte), key, side=side, also=step)
        for cte in self.figure_ctes.values():  # a trend's table figures, per step
            columns.append(exp.alias_(_col("value", cte), cte, quoted=True, copy=False))
            step = exp.EQ(this=_col(STEP_OF, cte), expression=_col(STEP, STEPS))
            select.append(
                "joins", exp.Join(this=exp.to_identifier(cte, quoted=True), on=step, side="LEFT")
            )
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
