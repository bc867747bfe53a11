"""Sequence CTEs: members with a row (not) followed by another in time."""

from __future__ import annotations

from sqlglot import exp

from segdsl import ir
from segdsl.plan import KEY, internal_name
from segdsl.sql.builder.common import STEP, STEP_OF, STEPS, TRUE, _and, _and_once, _col, _num, _or
from segdsl.sql.builder.reading import Reading

# a step's rows: the table, whether times are instants, and the rows' own condition
_StepRead = tuple[ir.RowSource, bool, exp.Expr]


class Sequences(Reading):
    """One CTE per sequence; where the dialect prefers it, the steps' rows of each table
    read once for all of them (`Dialect.share_sequence_reads`)."""

    # where a step reads its rows from a shared CTE: (CTE, flag column)
    shared_steps: dict[_StepRead, tuple[str, str]]

    def _event_rows(
        self, events: ir.EventSetSpec, *, elapsed: bool = False, after: ir.TimeAnchor | None = None
    ) -> exp.Select:
        """Key and time of the rows; with `elapsed`, times as UTC wall clock (instants);
        with `after`, only rows later than that time."""
        source = events.source
        select, key = self._from_source(source)
        filters = self._row_filters(source, key)
        condition = self._step_condition(events, after)
        if condition is not None:
            filters.append(condition)
        select = select.select(*self._step_columns_of(source, key, elapsed), copy=False)
        return select.where(_and_once(filters), copy=False) if filters else select

    def _step_condition(
        self, events: ir.EventSetSpec, after: ir.TimeAnchor | None
    ) -> exp.Expr | None:
        """What a step's rows meet beyond every read's filters: later than `after`, the
        step's own filter."""
        source = events.source
        assert source.time is not None
        parts = []
        if after is not None:
            bounds = ir.Bounds(after, False, None, False)
            parts.append(self.in_window(source.time, bounds, source))
        if events.filter is not None:
            parts.append(self.condition(events.filter, source))
        return _and_once(parts) if parts else None

    def _step_columns_of(
        self, source: ir.RowSource, key: exp.Expr, elapsed: bool
    ) -> list[exp.Expr]:
        assert source.time is not None
        at = self._instant_wall(source.time, source) if elapsed else self.row(source, source.time)
        columns = [
            exp.alias_(key, KEY, quoted=True, copy=False),
            exp.alias_(at, "at", quoted=True, copy=False),
        ]
        if self.steps is not None:  # a trend: the rows as of each step (`_from_source`)
            columns.append(exp.alias_(_col(STEP, STEPS), STEP, quoted=True, copy=False))
        return columns

    def _step_reads(
        self, sequence: ir.SequenceSpec
    ) -> list[tuple[str, ir.EventSetSpec, ir.TimeAnchor | None, _StepRead]]:
        """The `first_step` and `then_step` reads of a sequence: each one's rows, the time
        they are later than (None: any) and what a shared CTE knows the read by."""
        elapsed = self.steps_in_utc(sequence)
        after = self._earliest_first(sequence, elapsed)
        return [
            (
                name,
                events,
                start,
                (events.source, elapsed, self._step_condition(events, start) or TRUE),
            )
            for name, events, start in (
                ("first_step", sequence.first, None),
                ("then_step", sequence.then, after),
            )
        ]

    def _shared_step_ctes(self) -> list[tuple[str, exp.Select]]:
        """Where the dialect prefers it, one CTE per table the sequences' steps read (and
        way of reading times): its rows of any step, key, time and a flag per distinct
        step condition. Records in `shared_steps` where each step reads its rows."""
        if not self.dialect.share_sequence_reads or self.steps is not None:
            return []
        reads: dict[tuple[ir.RowSource, bool], list[exp.Expr]] = {}
        for _, sequence in self.plan.sequences:
            for _, _, _, (source, elapsed, condition) in self._step_reads(sequence):
                reads.setdefault((source, elapsed), []).append(condition)
        ctes: list[tuple[str, exp.Select]] = []
        for (source, elapsed), conditions in reads.items():
            if len(conditions) < 2:
                continue
            name = internal_name("s", len(ctes) + 1, source.name)
            select, key = self._from_source(source)
            columns = self._step_columns_of(source, key, elapsed)
            distinct = list(dict.fromkeys(conditions))
            for number, condition in enumerate(distinct, start=1):
                flag = f"step_{number}"
                columns.append(exp.alias_(condition.copy(), flag, quoted=True, copy=False))
                self.shared_steps[(source, elapsed, condition)] = (name, flag)
            filters = self._row_filters(source, key)
            if TRUE not in distinct:
                filters.append(_or([exp.Paren(this=c.copy()) for c in distinct]))
            select = select.select(*columns, copy=False)
            ctes.append((name, select.where(_and_once(filters), copy=False) if filters else select))
        return ctes

    def _sequence_cte(self, sequence: ir.SequenceSpec) -> exp.Select:
        """Members with a `first` row that is (not) followed by a `then` row in time."""
        # an hours/minutes/seconds limit is elapsed time: compare the rows' instants
        elapsed = self.steps_in_utc(sequence)
        steps: list[exp.Expr] = []
        for alias, events, after, read in self._step_reads(sequence):
            if read in self.shared_steps:
                cte, flag = self.shared_steps[read]
                rows = exp.select(_col(KEY), _col("at")).from_(
                    exp.to_identifier(cte, quoted=True), copy=False
                )
                rows = rows.where(_col(flag), copy=False)
            else:
                rows = self._event_rows(events, elapsed=elapsed, after=after)
            steps.append(rows.subquery(alias, copy=False))
        first, then = steps
        follows = self._follows(sequence)
        followed = exp.Exists(
            this=exp.select(_num(1)).from_(then, copy=False).where(_and(follows), copy=False)
        )
        conditions: list[exp.Expr] = [followed]
        if sequence.negated:
            conditions = [exp.Not(this=followed)]
            if sequence.within is not None:
                # the time limit must have passed by the as-of time to know nothing followed
                deadline = self._wall_at(ir.AsOfOffset(sequence.within))
                if elapsed:
                    deadline = self._utc_wall_at(
                        ir.AsOfOffset(ir.DurationValue(0, "s")), -sequence.within.seconds
                    )
                conditions.insert(0, exp.LTE(this=_col("at", "first_step"), expression=deadline))
        per_step: list[exp.Expr] = []
        if self.steps is not None:
            per_step = [exp.alias_(_col(STEP, "first_step"), STEP_OF, quoted=True, copy=False)]
        return (
            exp.select(_col(KEY, "first_step"), *per_step)
            .distinct(copy=False)
            .from_(first, copy=False)
            .where(_and(conditions), copy=False)
        )

    def _earliest_first(self, sequence: ir.SequenceSpec, elapsed: bool) -> ir.TimeAnchor | None:
        """The lower end of the first step's window: a `then` row must come after a first
        row, so only rows after it can follow one (`then` reads just those). Not where
        times compare as instants: around a clock change, wall-clock order is not theirs."""
        first = sequence.first
        if elapsed or first.source.time is None:
            return None
        lower = self._window_lower(first.filter, first.source.time)
        return None if lower is None else lower[0]

    def _follows(self, sequence: ir.SequenceSpec) -> list[exp.Expr]:
        """A `then_step` row follows a `first_step` row: same member, strictly later, and
        within the limit (if any)."""
        follows: list[exp.Expr] = [
            exp.EQ(this=_col(KEY, "then_step"), expression=_col(KEY, "first_step")),
            exp.GT(this=_col("at", "then_step"), expression=_col("at", "first_step")),
        ]
        if self.steps is not None:  # a trend: rows as of the same step
            follows.append(
                exp.EQ(this=_col(STEP, "then_step"), expression=_col(STEP, "first_step"))
            )
        if sequence.within is not None:
            limit = self.dialect.add_duration(_col("at", "first_step"), sequence.within)
            follows.append(exp.LTE(this=_col("at", "then_step"), expression=limit))
        return follows

    def steps_in_utc(self, sequence: ir.SequenceSpec) -> bool:
        """Whether the sequence compares its rows' instants (an h/min/s limit where clocks
        change): then `sequence_steps` gives times as UTC wall clock."""
        return sequence.within is not None and self._is_elapsed(sequence.within)

    def sequence_steps(self, sequence: ir.SequenceSpec, key: exp.Expr, limit: int) -> exp.Select:
        """For `seg why`: one member's rows of the first step (newest first, at most `limit`),
        each with the time of the first row of the next step after it within the limit
        (`next_at`, NULL if none)."""
        elapsed = self.steps_in_utc(sequence)
        first = self._event_rows(sequence.first, elapsed=elapsed).subquery("first_step", copy=False)
        then = self._event_rows(sequence.then, elapsed=elapsed).subquery("then_step", copy=False)
        follows = self._follows(sequence)
        at = _col("at", "first_step")
        return (
            exp.select(
                exp.alias_(at, "at", quoted=True),
                exp.alias_(exp.Min(this=_col("at", "then_step")), "next_at", quoted=True),
            )
            .from_(first, copy=False)
            .join(then, on=_and(follows), join_type="LEFT", copy=False)
            .where(exp.EQ(this=_col(KEY, "first_step"), expression=key), copy=False)
            .group_by(at.copy(), copy=False)
            .order_by(exp.Ordered(this=at.copy(), desc=True), copy=False)
            .limit(_num(limit), copy=False)
        )
