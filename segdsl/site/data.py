"""An analysed project (+ an engine) → everything the catalogue pages show.

`gather` needs no database: per definition its metadata, source text, words, SQL for
every dialect and what it uses and what uses it. `measure` adds the numbers in a few
queries, whatever the number of definitions: every segment's size at the as-of time
(one query, plus one per classifier or split for its labels), the sizes at earlier
weekly as-of times for the sparklines (one query per point), every segment's funnel
(one query for all of them) and the overlap of every pair (one query).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from segdsl import ir
from segdsl.compiler import Compiler
from segdsl.diagnostics import CompileError
from segdsl.explain.dependencies import Dependency, dependency_tree
from segdsl.explain.report import explain, funnel_steps
from segdsl.settings import DIALECT_NAMES
from segdsl.source import Span
from segdsl.timeline import AsOf

if TYPE_CHECKING:
    from segdsl.engines import Engine

DEFINITION_KINDS = ("segment", "classifier", "split", "measure")
SPARKLINE_WEEKS = 8  # points of a sparkline: the as-of time and the 7 weeks before it


@dataclass(frozen=True)
class DialectSql:
    """A definition's SQL on one dialect, or why that dialect cannot express it."""

    dialect: str
    sql: str | None
    problem: str | None = None


@dataclass
class Entry:
    """One definition as the catalogue shows it."""

    name: str
    kind: str
    location: str
    description: str | None
    owner: str | None
    tags: tuple[str, ...]
    source_text: str
    comment: str  # the comment lines right above it, without `#`
    words: list[str]
    sql: list[DialectSql]
    dependencies: Dependency
    uses: list[str]  # definitions it refers to directly
    tables: list[str]  # tables it reads directly
    used_by: list[str] = field(default_factory=list)  # definitions referring to it directly
    funnel_steps: list[str] = field(default_factory=list)  # a segment's cumulative conditions


@dataclass(frozen=True)
class Point:
    """Segment sizes at one as-of time."""

    as_of: AsOf
    population: int
    sizes: dict[str, int]


@dataclass
class Numbers:
    """What the database says at the as-of time."""

    dialect: str
    population: int
    sizes: dict[str, int]
    labels: dict[str, dict[str | None, int]]
    history: list[Point]  # oldest first, the as-of time last
    funnels: dict[str, list[tuple[str, int]]]  # with the population first
    overlap: dict[str, dict[str, int]]  # symmetric; the diagonal is each size


@dataclass
class Catalogue:
    title: str
    as_of: AsOf
    entries: dict[str, Entry]
    numbers: Numbers | None = None

    def of_kind(self, kind: str) -> list[Entry]:
        return [entry for entry in self.entries.values() if entry.kind == kind]

    @property
    def segments(self) -> list[str]:
        return [entry.name for entry in self.of_kind("segment")]


def gather(compiler: Compiler, as_of: AsOf, title: str) -> Catalogue:
    """Every definition of the project with its words, SQL and dependencies.

    Raises CompileError when the project has errors (as every command does)."""
    compiler.raise_for_errors()
    decls = compiler.analysis.decls
    entries: dict[str, Entry] = {}
    for name, definition in compiler.analysis.definitions.items():
        explained = None
        sqls = []
        for dialect in DIALECT_NAMES:
            try:
                report = explain(compiler, name, dialect=dialect, as_of=as_of)
            except CompileError as error:
                sqls.append(DialectSql(dialect, None, _first_message(error)))
                continue
            explained = explained or report
            sqls.append(DialectSql(dialect, report.sql))
        tree = dependency_tree(decls, name)
        source_text = _source_text(compiler, decls.definitions[name].span)
        entries[name] = Entry(
            name=name,
            kind=definition.kind,
            location=_location(compiler, definition.span),
            description=definition.description,
            owner=definition.owner,
            tags=definition.tags,
            source_text=source_text,
            comment=_comment(source_text),
            words=explained.words if explained else [],
            sql=sqls,
            dependencies=tree,
            uses=_unique(c.name for c in tree.children if c.kind in DEFINITION_KINDS),
            tables=_unique(c.name for c in tree.children if c.kind == "table"),
            funnel_steps=(
                [label for label, _ in funnel_steps(compiler, name)]
                if definition.kind == "segment"
                else []
            ),
        )
    for entry in entries.values():
        for used in entry.uses:
            if used in entries and entry.name not in entries[used].used_by:
                entries[used].used_by.append(entry.name)
    return Catalogue(title, as_of, entries)


def measure(
    compiler: Compiler, engine: Engine, catalogue: Catalogue, *, weeks: int = SPARKLINE_WEEKS
) -> Numbers:
    """Sizes, history, funnels and overlap of the catalogue's definitions on `engine`."""
    from segdsl import execute

    as_of = catalogue.as_of
    sized = [e.name for e in catalogue.entries.values() if e.kind != "measure"]
    segments = catalogue.segments
    now = execute.run_sizes(compiler, engine, sized, as_of)
    history = [
        point
        for k in range(weeks - 1, 0, -1)
        if (point := _sizes_at(compiler, engine, segments, _weeks_before(as_of, k))) is not None
    ]
    history.append(Point(as_of, now.population, now.segments))
    overlap: dict[str, dict[str, int]] = {name: {name: now.segments[name]} for name in segments}
    if len(segments) >= 2:
        _, overlap = execute.run_overlap(compiler, engine, segments, as_of)
    return Numbers(
        dialect=engine.dialect,
        population=now.population,
        sizes=now.segments,
        labels=now.labels,
        history=history,
        funnels=_funnels(compiler, engine, segments, as_of),
        overlap=overlap,
    )


def _weeks_before(as_of: AsOf, weeks: int) -> AsOf:
    return AsOf(as_of.wall - dt.timedelta(weeks=weeks), as_of.zone)


def _sizes_at(
    compiler: Compiler, engine: Engine, segments: Sequence[str], moment: AsOf
) -> Point | None:
    """Segment sizes at `moment` in one query; None when a window cannot be placed
    at that time (it would reach outside the supported years)."""
    from segdsl import execute

    try:
        compiler.as_of(moment)
        sql = execute.sizes_sql(compiler, segments, engine.dialect, moment)
        row = engine.query(sql).to_pylist()[0]
        if row["keys"] != row["population"]:  # repeated keys: count distinct ones
            sql = execute.sizes_sql(compiler, segments, engine.dialect, moment, distinct=True)
            row = engine.query(sql).to_pylist()[0]
    except CompileError:
        return None
    columns = execute.count_columns(segments)
    return Point(moment, int(row["population"]), {n: int(row[columns[n]]) for n in segments})


def _funnels(
    compiler: Compiler, engine: Engine, segments: Sequence[str], as_of: AsOf
) -> dict[str, list[tuple[str, int]]]:
    """Every segment's funnel from one query: a count column per step of every segment."""
    if not segments:
        return {}
    steps = {name: funnel_steps(compiler, name) for name in segments}
    outputs: list[tuple[str, ir.Expr]] = [
        (f"f{i}_{j}", expr)
        for i, name in enumerate(segments)
        for j, (_, expr) in enumerate(steps[name])
    ]
    builder = compiler.builder(outputs, engine.dialect, as_of)
    row = engine.query(builder.dialect.render(builder.counts(outputs))).to_pylist()[0]
    if row["keys"] != row["population"]:
        row = engine.query(
            builder.dialect.render(builder.counts(outputs, distinct=True))
        ).to_pylist()[0]
    population = int(row["population"])
    return {
        name: [("population", population)]
        + [(label, int(row[f"f{i}_{j}"])) for j, (label, _) in enumerate(steps[name])]
        for i, name in enumerate(segments)
    }


def _source_text(compiler: Compiler, span: Span) -> str:
    """The definition as written, with the comment lines right above it."""
    source = compiler.project.source_map.get(span.path)
    if source is None:
        return ""
    lines = source.text[: span.start].split("\n")[:-1]
    comments: list[str] = []
    while lines and lines[-1].lstrip().startswith("#"):
        comments.insert(0, lines.pop())
    return "\n".join([*comments, source.text[span.start : span.end]])


def _location(compiler: Compiler, span: Span) -> str:
    """`file:line:col`, the file relative to the project's folder (the site does not
    show where it was built)."""
    root = compiler.project.root
    path = Path(span.path)
    if root is not None:
        with contextlib.suppress(ValueError):
            path = path.resolve().relative_to(root.resolve())
    return f"{path.as_posix()}:{span.line}:{span.column}"


def _comment(source_text: str) -> str:
    lines = []
    for line in source_text.split("\n"):
        if not line.lstrip().startswith("#"):
            break
        lines.append(line.lstrip()[1:].strip())
    return " ".join(line for line in lines if line)


def _first_message(error: CompileError) -> str:
    first = error.diagnostics[0]
    return f"{first.code}: {first.message}"


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
