"""`seg why` beyond values: the rows behind a sequence and a member's standing in a ranking.

Both need a query of their own once the member's values are known (`fill_why`): the
rows of a sequence's first step with what followed each, and how many members of a
ranking's population are ahead of the member.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from decimal import Decimal

from segdsl import ir
from segdsl.compiler import Compiler
from segdsl.explain.report import SequenceStep, Standing, WhyNode, key_const, walk
from segdsl.timeline import AsOf

Run = Callable[[str], list[dict[str, object]]]  # SQL → rows (as dicts)

STEPS_SHOWN = 10  # rows of a sequence's first step shown, newest first


def add_reasons(
    compiler: Compiler, root: WhyNode, key: object, run: Run, dialect: str, as_of: AsOf
) -> None:
    """Fill in the steps of sequence nodes and the standing of ranking nodes."""
    for node in walk(root):
        if node.sequence is not None:
            node.steps = _steps(compiler, node.sequence, key, run, dialect, as_of)
        if node.ranking is not None and node.score is not None:
            node.standing = _standing(compiler, node.ranking, key, node.score, run, dialect, as_of)


def _steps(
    compiler: Compiler, sequence: ir.SequenceSpec, key: object, run: Run, dialect: str, as_of: AsOf
) -> list[SequenceStep]:
    entity = compiler.analysis.entity
    assert entity is not None
    builder = compiler.builder([], dialect, as_of)
    key_sql = builder.const(key_const(key, entity.key.type))
    query = builder.sequence_steps(sequence, key_sql, STEPS_SHOWN)
    rows = run(builder.dialect.render(query))
    within = sequence.within
    elapsed = builder.steps_in_utc(sequence)
    steps = []
    for row in rows:
        at, next_at = row["at"], row["next_at"]
        decided = True
        if within is not None and isinstance(at, dt.datetime):
            if elapsed:
                deadline = as_of.instant(as_of.wall) - dt.timedelta(seconds=within.seconds)
                decided = at <= deadline.astimezone(dt.UTC).replace(tzinfo=None)
                at = _local(at, as_of)
                next_at = _local(next_at, as_of)
            else:
                decided = at <= as_of.resolve(ir.AsOfOffset(within))
        followed = next_at is not None
        matches = (not followed and decided) if sequence.negated else followed
        steps.append(SequenceStep(at, next_at, decided, matches))
    return steps


def _local(utc_wall: object, as_of: AsOf) -> object:
    """A UTC wall-clock time (how elapsed-time sequences compare rows) in the project's zone."""
    if not isinstance(utc_wall, dt.datetime):
        return utc_wall
    return utc_wall.replace(tzinfo=dt.UTC).astimezone(as_of.zone).replace(tzinfo=None)


def _standing(
    compiler: Compiler,
    spec: ir.PopulationSpec,
    key: object,
    score: object,
    run: Run,
    dialect: str,
    as_of: AsOf,
) -> Standing | None:
    """How many members of the ranking's population have a value, and how many come first
    in its order (descending for top and cumulative shares, ascending otherwise; ties by key)."""
    entity = compiler.analysis.entity
    assert entity is not None
    if not spec.value.type.is_numeric or not isinstance(score, (int, float, Decimal)):
        return None
    value = ir.Const(Decimal(str(score)), spec.value.type)
    key_column = ir.EntityColumn(entity.key, entity.key.name)
    member = key_const(key, entity.key.type)
    taking_part: list[ir.Expr] = [ir.IsPresent(spec.value, True)]
    if spec.population is not None:
        taking_part.insert(0, spec.population)
    before: ir.CompareOp = ">" if spec.func in ("top", "cumulative_share") else "<"
    ahead = ir.Or(
        (
            ir.Compare(before, spec.value, value),
            ir.And(
                (
                    ir.Compare("=", spec.value, value),
                    ir.Compare("<", key_column, member),
                )
            ),
        )
    )
    outputs: list[tuple[str, ir.Expr]] = [
        ("members", ir.And(tuple(taking_part))),
        ("ahead", ir.And((*taking_part, ahead))),
        ("taking_part", ir.And((*taking_part, ir.Compare("=", key_column, member)))),
    ]
    builder = compiler.builder(outputs, dialect, as_of)
    (row,) = run(builder.dialect.render(builder.counts(outputs)))
    if not int(str(row["taking_part"])):  # outside the ranking's population
        return None
    members, position = int(str(row["members"])), int(str(row["ahead"])) + 1
    cut_off = None
    if spec.count is not None:
        cut_off = spec.count
    elif spec.fraction is not None:
        cut_off = math.ceil(spec.fraction * members)
    return Standing(position, members, cut_off)
