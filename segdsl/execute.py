"""Compiled segments + an engine → results: sizes, label counts, member rows.

The orchestration between the compiler and the execution layer. Every function
runs as few queries as it can: all segment sizes come from one query that reads
each related table once; a membership table (a column per segment or classifier)
is one query too. Nothing here prints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlglot import exp

from segdsl import ir
from segdsl.compiler import AsOfInput, Compiler, MomentInput
from segdsl.diagnostics import CompileError, Diagnostic
from segdsl.schema import Used
from segdsl.source import Span

if TYPE_CHECKING:
    from segdsl.engines import Engine

DEMO_ENV = "SEGDSL_DEMO_DB"


@dataclass
class Sizes:
    """Segment sizes and label counts for one run."""

    population: int
    segments: dict[str, int] = field(default_factory=dict)
    labels: dict[str, dict[str | None, int]] = field(default_factory=dict)


def resolve_names(compiler: Compiler, names: Sequence[str]) -> list[str]:
    """The definitions the `-s` selectors select (names, globs, tags, owners, kinds; see
    segdsl.selection), else all segments, classifiers and splits."""
    if names:
        return compiler.select(names)
    compiler.raise_for_errors()
    return [
        name
        for name, definition in compiler.analysis.definitions.items()
        if definition.kind in ("segment", "classifier", "split")
    ]


def used_columns(compiler: Compiler, names: Sequence[str]) -> Used:
    """(warehouse path, physical column casefolded) of every column the definitions
    `names` read: the entity's key and time, links, time columns and the columns used."""
    expressions = [compiler.definition(name).expr for name in names]  # SEG502, errors
    entity = compiler.analysis.entity
    assert entity is not None
    used: set[tuple[tuple[str, ...], str]] = {(entity.source, entity.key.name.casefold())}
    if entity.time is not None:
        used.add((entity.source, entity.time.name.casefold()))
    seen: set[int] = set()

    def walk(node: object, source: ir.RowSource | None) -> None:
        if id(node) in seen and not isinstance(node, ir.RowColumn):
            return
        seen.add(id(node))
        if isinstance(node, ir.Grouping):
            source = node.base  # the grouping reads its base table's rows
        elif isinstance(node, ir.RowSource) and node.grouping is not None:
            source = node  # its own columns are made by the query, not read
        elif isinstance(node, ir.RowSource):
            source = node
            for index, hop in enumerate(node.hops):
                used.add((hop.source, hop.link.casefold()))
                if hop.parent_key is not None:
                    parent = node.hops[index + 1].source if index + 1 < len(node.hops) else None
                    used.add((parent or entity.source, hop.parent_key.casefold()))
        elif isinstance(node, ir.RowColumn) and source is not None and source.grouping is None:
            used.add((source.hops[node.hop].source, node.column.name.casefold()))
        elif isinstance(node, ir.EntityColumn):
            used.add((entity.source, node.column.name.casefold()))
        if isinstance(node, tuple | list):
            for item in node:
                walk(item, source)
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            inner = getattr(node, "source", None)
            if isinstance(inner, ir.RowSource):
                walk(inner, source)
                source = inner
            for item in dataclasses.fields(node):
                walk(getattr(node, item.name), source)

    for expression in expressions:
        walk(expression, None)
    return frozenset(used)


def fit_to_warehouse(compiler: Compiler, engine: Engine, names: Sequence[str]) -> Compiler:
    """The compiler again with the column types of the tables `names` read (one catalog
    query, engines that `reads_column_types`): an untyped time column stored as an
    instant (BigQuery TIMESTAMP, Postgres timestamptz) is compiled as one. A missing
    column or a declared type the warehouse contradicts (SEG402, SEG403) stops the
    command here, before any query that costs anything is sent."""
    if not engine.reads_column_types or compiler.warehouse is not None:
        return compiler
    from segdsl.schema import WarehouseSchema, adopt_storage, schema_diagnostics

    used = used_columns(compiler, names)
    tables = sorted({source for source, _ in used})
    schema = WarehouseSchema(engine.dialect, engine.describe_tables(tables))
    modules = adopt_storage(compiler.project.modules, schema)
    problems = [d for d in schema_diagnostics(modules, schema, used) if d.is_error]
    if problems:
        raise CompileError(problems, compiler.project.source_map)
    return Compiler(compiler.project, compiler.params, warehouse=schema)


def count_columns(names: Sequence[str]) -> dict[str, str]:
    """The result column counting each name's members (`c1`, `c2`, …; beside `population`):
    a user's name is never a column name, so `n` and `N`, a segment named `population`
    or names alike in their first 63 bytes each keep their own count."""
    return {name: f"c{index}" for index, name in enumerate(names, start=1)}


def sizes_sql(
    compiler: Compiler,
    names: Sequence[str],
    dialect: str,
    as_of: AsOfInput,
    *,
    distinct: bool = False,
) -> str:
    """One query: the population, its distinct keys (`keys`) and the size of every
    segment in `names` (columns `population` and, per segment, its `count_columns`);
    with `distinct`, each a count of distinct keys (see `QueryBuilder.counts`)."""
    segments = [n for n in names if compiler.definition(n).kind == "segment"]
    columns = count_columns(segments)
    outputs: list[tuple[str, ir.Expr]] = [
        (columns[name], compiler.definition(name).expr) for name in segments
    ]
    builder = compiler.builder(outputs, dialect, as_of)
    return builder.dialect.render(builder.counts(outputs, distinct=distinct))


def labels_sql(
    compiler: Compiler, name: str, dialect: str, as_of: AsOfInput, *, distinct: bool = False
) -> str:
    """One query: how many members (with `distinct`: distinct keys) carry each label of
    a classifier or split."""
    expr = compiler.definition(name).expr
    builder = compiler.builder([(name, expr)], dialect, as_of)
    return builder.dialect.render(builder.distribution(expr, distinct=distinct))


def size_queries(
    compiler: Compiler, names: Sequence[str], dialect: str, as_of: AsOfInput
) -> list[str]:
    """The queries `run_sizes` sends (a second pass counting distinct keys only if the
    entity repeats keys): the sizes, then the labels of each classifier and split."""
    labelled = [n for n in names if compiler.definition(n).kind in ("classifier", "split")]
    return [
        sizes_sql(compiler, names, dialect, as_of),
        *(labels_sql(compiler, name, dialect, as_of) for name in labelled),
    ]


def run_sizes(compiler: Compiler, engine: Engine, names: Sequence[str], as_of: AsOfInput) -> Sizes:
    """Sizes of segments (one query) and label counts of classifiers and splits.

    Sizes count members, distinct keys: where the entity table repeats a key (SEG411),
    the counts are taken again as distinct keys; for unique keys the cheaper count of
    rows is the same. All queries are `Engine.reserve`d before the first is sent."""
    first, *label_queries = size_queries(compiler, names, engine.dialect, as_of)
    engine.reserve([first, *label_queries])
    row = engine.query(first).to_pylist()[0]
    repeated = row["keys"] != row["population"]
    if repeated:
        sql = sizes_sql(compiler, names, engine.dialect, as_of, distinct=True)
        row = engine.query(sql).to_pylist()[0]
    sizes = Sizes(population=int(row["population"]))
    segments = [n for n in names if compiler.definition(n).kind == "segment"]
    for name, column in count_columns(segments).items():
        sizes.segments[name] = int(row[column])
    labelled = [n for n in names if compiler.definition(n).kind in ("classifier", "split")]
    for name, plain in zip(labelled, label_queries, strict=True):
        sql = plain
        if repeated:
            sql = labels_sql(compiler, name, engine.dialect, as_of, distinct=True)
        counts = engine.query(sql).to_pylist()
        ordered = _label_order(compiler.definition(name).expr.type.labels)
        sizes.labels[name] = dict(
            sorted(
                ((r["label"], int(r["members"])) for r in counts),
                key=lambda item: ordered(item[0]),
            )
        )
    return sizes


def _label_order(labels: tuple[str, ...]) -> Callable[[str | None], tuple[int, str]]:
    def key(label: str | None) -> tuple[int, str]:
        return (labels.index(label), "") if label in labels else (len(labels), str(label))

    return key


def attribute_outputs(compiler: Compiler, attributes: Sequence[str]) -> list[tuple[str, ir.Expr]]:
    """Entity attributes to add to member rows; unknown names are SEG101 errors."""
    outputs: list[tuple[str, ir.Expr]] = []
    known = compiler.analysis.decls.attributes
    problems = []
    for name in attributes:
        if name not in known:
            from segdsl.diagnostics import did_you_mean

            problems.append(
                Diagnostic(
                    "SEG101",
                    f"unknown attribute `{name}`",
                    Span("<attributes>", 1, 1, 1, 1),
                    did_you_mean(name, known) or "attributes: " + ", ".join(sorted(known)),
                )
            )
            continue
        outputs.append((name, ir.EntityColumn(known[name], name)))
    if problems:
        raise CompileError(problems, {})
    return outputs


def rows_sql(
    compiler: Compiler,
    names: Sequence[str],
    dialect: str,
    as_of: MomentInput,
    *,
    attributes: Sequence[str] = (),
    limit: int | None = None,
) -> str:
    """Member rows: for one segment its members; otherwise everyone with a column per name."""
    extra = attribute_outputs(compiler, attributes)
    single = len(names) == 1 and compiler.definition(names[0]).kind == "segment"
    columns = [name for name, _ in extra] if single else [*names, *(name for name, _ in extra)]
    _check_columns(compiler, columns, dialect)
    if single:
        condition = compiler.definition(names[0]).expr
        builder = compiler.builder(
            [(names[0], condition), *extra], dialect, as_of, members_of=condition
        )
        select = builder.table(extra, where=condition)
    else:
        outputs = [(name, compiler.definition(name).expr) for name in names]
        builder = compiler.builder([*outputs, *extra], dialect, as_of)
        select = builder.table([*outputs, *extra])
    if limit is not None:  # the first keys, so that the same run gives the same rows
        key = exp.column(builder.entity.key.name, quoted=True)
        select = select.order_by(key, copy=False).limit(limit, copy=False)
    return builder.dialect.render(select)


def _check_columns(compiler: Compiler, names: Sequence[str], dialect: str) -> None:
    """SEG410 when two columns of a member table (the key first) would share a name on
    the engine: it would keep one of them, or refuse the table."""
    engine = compiler.dialect(dialect)
    entity = compiler.analysis.entity
    assert entity is not None
    seen: dict[str, str] = {engine.column_key(entity.key.name): entity.key.name}
    spans = compiler.analysis.decls.spans
    problems = []
    for name in dict.fromkeys(names):
        other = seen.setdefault(engine.column_key(name), name)
        if other != name:
            problems.append(
                Diagnostic(
                    "SEG410",
                    f"columns `{other}` and `{name}` would get the same name on {engine.name}",
                    spans.get(name, Span("<columns>", 1, 1, 1, 1)),
                    "rename one of them (names must differ in more than case on DuckDB and "
                    "BigQuery, and within their first 63 bytes on Postgres), or ask for "
                    "fewer columns",
                )
            )
    if problems:
        raise CompileError(problems, compiler.project.source_map)


def demo_database_path() -> Path:
    """Where the embedded demo warehouse lives (built on first use)."""
    import os

    configured = os.environ.get(DEMO_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    from segdsl.cache import cache_folder

    return cache_folder() / "demo.duckdb"


def demo_url(path: Path) -> str:
    return f"duckdb:///{path.resolve()}"


def overlap_sql(
    compiler: Compiler,
    names: Sequence[str],
    dialect: str,
    as_of: AsOfInput,
    *,
    distinct: bool = False,
) -> str:
    """One query: the size of every segment and of every pair's intersection (columns
    named by `overlap_columns`)."""
    columns = overlap_columns(names)
    outputs = [(columns[name, name], compiler.definition(name).expr) for name in names]
    pairs = []
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            both = ir.And((compiler.definition(first).expr, compiler.definition(second).expr))
            pairs.append((columns[first, second], both))
    builder = compiler.builder(outputs, dialect, as_of)
    return builder.dialect.render(builder.counts([*outputs, *pairs], distinct=distinct))


def run_overlap(
    compiler: Compiler, engine: Engine, names: Sequence[str], as_of: AsOfInput
) -> tuple[int, dict[str, dict[str, int]]]:
    """Population size and the symmetric matrix of intersections (the diagonal is each size)."""
    row = engine.query(overlap_sql(compiler, names, engine.dialect, as_of)).to_pylist()[0]
    if row["keys"] != row["population"]:  # the entity table repeats keys (see run_sizes)
        sql = overlap_sql(compiler, names, engine.dialect, as_of, distinct=True)
        row = engine.query(sql).to_pylist()[0]
    matrix: dict[str, dict[str, int]] = {name: {} for name in names}
    for (first, second), column in overlap_columns(names).items():
        matrix[first][second] = matrix[second][first] = int(row[column])
    return int(row["population"]), matrix


def overlap_columns(names: Sequence[str]) -> dict[tuple[str, str], str]:
    """The result column of each segment (`c1`, keyed by (name, name)) and of each pair's
    intersection (`c1_2`, keyed by the pair in the order of `names`)."""
    columns = {(name, name): f"c{index}" for index, name in enumerate(names, start=1)}
    for i, first in enumerate(names, start=1):
        for j, second in enumerate(names[i:], start=i + 1):
            columns[first, second] = f"c{i}_{j}"
    return columns
