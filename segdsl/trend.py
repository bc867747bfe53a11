"""Size over time: segment sizes and label counts at every step of a calendar spine.

`trend_sql` evaluates definitions at many as-of times in ONE query: a spine CTE of the
steps' as-of times, every CTE that reads rows joined to the steps (the as-of cap and the
windows, written against the step's as-of time, keep each row in the steps that count it)
and grouped by key and step, the population crossed with the steps, rankings partitioned by
step. All segments share one query; each classifier or split has one (its label counts
per step).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from segdsl import ir
from segdsl.compiler import Compiler
from segdsl.diagnostics import CompileError, Diagnostic
from segdsl.execute import _label_order, count_columns
from segdsl.plan import Output, build_plan
from segdsl.source import Span
from segdsl.sql.builder.query import QueryBuilder
from segdsl.sql.clock import MovingAsOf
from segdsl.timeline import ELAPSED_UNITS, AsOf, shift

if TYPE_CHECKING:
    from segdsl.engines import Engine

MAX_STEPS = 1000
_EVERY = re.compile(r"\s*([1-9][0-9]{0,5})\s*(s|min|h|d|w|mo|y)\s*")


@dataclass
class Trend:
    """Sizes per step: `population[i]`, `segments[name][i]`, `labels[name][label][i]`
    for the as-of time `steps[i]`."""

    steps: list[dt.datetime]
    zone: ZoneInfo
    population: list[int]
    segments: dict[str, list[int]] = field(default_factory=dict)
    labels: dict[str, dict[str | None, list[int]]] = field(default_factory=dict)

    def rows(self) -> list[dict[str, object]]:
        """One row per step and definition (and label): the export's rows."""
        rows: list[dict[str, object]] = []
        for index, step in enumerate(self.steps):
            common = {"as_of": step, "population": self.population[index]}
            for name, sizes in self.segments.items():
                rows.append({**common, "definition": name, "label": None, "size": sizes[index]})
            for name, labels in self.labels.items():
                for label, sizes in labels.items():
                    rows.append(
                        {**common, "definition": name, "label": label, "size": sizes[index]}
                    )
        return rows


def _request_error(code: str, message: str, help_text: str) -> CompileError:
    return CompileError([Diagnostic(code, message, Span("<request>", 1, 1, 1, 1), help_text)], {})


def parse_every(text: str) -> ir.DurationValue:
    """`1w`, `7d`, `1mo`, `6h`, … (SEG591 otherwise)."""
    found = _EVERY.fullmatch(text)
    if found is None:
        raise _request_error(
            "SEG591",
            f"`--every {text}` is not a step length",
            "write a positive whole number and a unit: 1d, 1w, 1mo, 1y, 6h, 30min",
        )
    return ir.DurationValue(int(found[1]), found[2])  # type: ignore[arg-type]


def steps(compiler: Compiler, start: str, end: str, every: str) -> list[AsOf]:
    """The as-of times from `start` to `end` (inclusive) every `every`: calendar units
    count from `start` on the wall clock (monthly from Jan 31: Feb 29, Mar 31, …), hours
    and shorter are real time (a daylight-saving change shifts the wall clock)."""
    duration = parse_every(every)
    first, last = compiler.as_of(start), compiler.as_of(end)
    if not first.wall <= last.wall:
        raise _request_error(
            "SEG592",
            f"--from ({first.wall}) is after --to ({last.wall})",
            "a trend runs from an earlier time to a later one",
        )
    found: list[AsOf] = []
    while True:
        count = len(found)
        if duration.unit in ELAPSED_UNITS:
            wall = first.elapsed(first.wall, count * duration.seconds)
        else:
            wall = shift(first.wall, ir.DurationValue(count * duration.amount, duration.unit), 1)
        if wall > last.wall:
            return found
        if count == MAX_STEPS:
            raise _request_error(
                "SEG593",
                f"more than {MAX_STEPS} steps from {first.wall} to {last.wall} every {every}",
                "choose a longer --every or a shorter interval",
            )
        found.append(compiler.as_of(wall))


def check_supported(compiler: Compiler, names: Sequence[str]) -> None:
    """SEG594 for a definition that has no members to count (a measure, …)."""
    problems = []
    for name in names:
        definition = compiler.definition(name)
        if definition.kind not in ("segment", "classifier", "split"):
            problems.append(
                Diagnostic(
                    "SEG594",
                    f"`{name}` is a {definition.kind}; a trend counts segments, classifiers "
                    "and splits",
                    definition.span,
                    "name a segment, classifier or split",
                )
            )
    if problems:
        raise CompileError(problems, compiler.project.source_map)


def _builder(
    compiler: Compiler,
    outputs: list[tuple[str, ir.Expr]],
    dialect: str,
    at: Sequence[AsOf],
) -> QueryBuilder:
    compiler.raise_for_errors()
    entity = compiler.analysis.entity
    assert entity is not None
    for moment in (at[0], at[-1]):
        compiler.builder(outputs, dialect, moment)  # times the engines can hold (SEG…)
    plan = build_plan(entity, [Output(name, expr) for name, expr in outputs])
    moving = MovingAsOf(compiler.project.settings.zone)
    walls = [moment.wall for moment in at]
    return QueryBuilder(plan, compiler.dialect(dialect), moving, steps=walls)


def sizes_trend_sql(
    compiler: Compiler, names: Sequence[str], dialect: str, at: Sequence[AsOf], *, distinct: bool
) -> str:
    """One query: per step (`as_of`), the population, `keys` and each segment's size."""
    columns = count_columns(names)
    outputs: list[tuple[str, ir.Expr]] = [
        (columns[name], compiler.definition(name).expr) for name in names
    ]
    builder = _builder(compiler, outputs, dialect, at)
    return builder.dialect.render(builder.counts(outputs, distinct=distinct))


def labels_trend_sql(
    compiler: Compiler, name: str, dialect: str, at: Sequence[AsOf], *, distinct: bool
) -> str:
    """One query: per step (`as_of`) and label, how many members carry it."""
    expr = compiler.definition(name).expr
    builder = _builder(compiler, [(name, expr)], dialect, at)
    return builder.dialect.render(builder.distribution(expr, distinct=distinct))


def run_trend(
    compiler: Compiler, engine: Engine, names: Sequence[str], at: Sequence[AsOf]
) -> Trend:
    """Sizes and label counts of `names` at every as-of time of `at` (one query for the
    segments, one per classifier or split; counts of distinct keys where the entity
    table repeats keys, as `execute.run_sizes`)."""
    check_supported(compiler, names)
    walls = [moment.wall for moment in at]
    index = {wall: i for i, wall in enumerate(walls)}
    segments = [n for n in names if compiler.definition(n).kind == "segment"]
    columns = count_columns(segments)

    def per_step(sql: str) -> dict[dt.datetime, dict[str, object]]:
        return {_wall(row["as_of"]): row for row in engine.query(sql).to_pylist()}

    rows = per_step(sizes_trend_sql(compiler, segments, engine.dialect, at, distinct=False))
    repeated = any(row["keys"] != row["population"] for row in rows.values())
    if repeated:
        rows = per_step(sizes_trend_sql(compiler, segments, engine.dialect, at, distinct=True))
    unknown = set(rows) - set(index)
    assert not unknown, f"steps the query did not ask for: {unknown}"
    zone = compiler.project.settings.zone
    trend = Trend(walls, zone, [_int(rows.get(wall, {}).get("population")) for wall in walls])
    for name, column in columns.items():
        trend.segments[name] = [_int(rows.get(wall, {}).get(column)) for wall in walls]
    for name in names:
        if compiler.definition(name).kind not in ("classifier", "split"):
            continue
        sql = labels_trend_sql(compiler, name, engine.dialect, at, distinct=repeated)
        counts: dict[str | None, list[int]] = {}
        for row in engine.query(sql).to_pylist():
            label = row["label"]
            counts.setdefault(label, [0] * len(walls))[index[_wall(row["as_of"])]] = int(
                row["members"]
            )
        ordered = _label_order(compiler.definition(name).expr.type.labels)
        trend.labels[name] = dict(sorted(counts.items(), key=lambda item: ordered(item[0])))
    return trend


def _wall(value: object) -> dt.datetime:
    assert isinstance(value, dt.datetime), value
    return value.replace(tzinfo=None)


def _int(value: object) -> int:
    return 0 if value is None else int(value)  # type: ignore[call-overload]
