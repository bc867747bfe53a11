"""Sequence CTEs: members with a row (not) followed by another in time."""

from __future__ import annotations

from sqlglot import exp

from segdsl import ir
from segdsl.plan import KEY
from segdsl.sql.builder.common import STEP, STEP_OF, STEPS, _and, _and_once, _col, _num
from segdsl.sql.builder.reading import Reading


class Sequences(Reading):
    """One CTE per sequence."""

    def _event_rows(
        self, events: ir.EventSetSpec, *, elapsed: bool = False, after: ir.TimeAnchor | None = None
    ) -> exp.Select:
        """Key and time of the rows; with `elapsed`, times as UTC wall clock (instants);
        with `after`, only rows later than that time."""
        source = events.source
        assert source.time is not None
        select, key = self._from_source(source)
        filters = self._row_filters(source, key)
        if after is not None:
            bounds = ir.Bounds(after, False, None, False)
            filters.append(self.in_window(source.time, bounds, source))
        if events.filter is not None:
            filters.append(self.condition(events.filter, source))
        at = self._instant_wall(source.time, source) if elapsed else self.row(source, source.time)
        select = select.select(
            exp.alias_(key, KEY, quoted=True, copy=False),
            exp.alias_(at, "at", quoted=True, copy=False),
            copy=False,
        )
        if self.steps is not None:  # a trend: the rows as of each step (`_from_source`)
            step = _col(STEP, STEPS)
            select = select.select(exp.alias_(step, STEP, quoted=True, copy=False), copy=False)
        return select.where(_and_once(filters), copy=False) if filters else select

    def _sequence_cte(self, sequence: ir.SequenceSpec) -> exp.Select:
        """Members with a `first` row that is (not) followed by a `then` row in time."""
        # an hours/minutes/seconds limit is elapsed time: compare the rows' instants
        elapsed = self.steps_in_utc(sequence)
        first = self._event_rows(sequence.first, elapsed=elapsed).subquery("first_step", copy=False)
        then = self._event_rows(
            sequence.then, elapsed=elapsed, after=self._earliest_first(sequence, elapsed)
        ).subquery("then_step", copy=False)
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
        steps: list[exp.Expr] = []
        if self.steps is not None:
            steps = [exp.alias_(_col(STEP, "first_step"), STEP_OF, quoted=True, copy=False)]
        return (
            exp.select(_col(KEY, "first_step"), *steps)
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
