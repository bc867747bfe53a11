"""The two tables `seg snapshot` keeps in a schema, as sqlglot trees.

`segdsl_history` holds validity intervals: key, definition, label (NULL for a
segment), definition_hash, valid_from, valid_to. An interval says the key had that
label (was a member) at every recorded as-of time from `valid_from` up to, not
including, `valid_to` (NULL: still, at the last one). Times are wall-clock times in
the project's time zone, like the as-of time.

`segdsl_runs` has one row per definition and run: run_id, as_of, definition, kind,
definition_hash, definition_changed (its hash differs from the run before), members,
entered, left (NULL when the definition changed: the two meanings are not compared),
backfill, started_at, finished_at (instants).

Both are marked as segdsl's by their comment (on BigQuery: the table description, set
by the CREATE itself); a table of that name without the mark is never written to
(`seg run --materialize` does not replace them either: its own mark is a different one).

On BigQuery a third table, `segdsl_lock`, holds one row: the last run_id. Every snapshot's
transaction starts by moving it from the run_id it planned after to its own, and fails
when it finds another (BigQuery has no lock to take; `Engine.write_session`).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from segdsl.engines.base import BUSY_MARKER, DialectName, table_expression
from segdsl.sql.dialects import get_dialect

HISTORY = "segdsl_history"
RUNS = "segdsl_runs"
LOCK = "segdsl_lock"
MARKER = "segdsl: history"
COMMENTS = {
    HISTORY: f"{MARKER}: membership intervals; written only by `seg snapshot`",
    RUNS: f"{MARKER}: one row per definition and snapshot; written only by `seg snapshot`",
    LOCK: f"{MARKER}: the last run_id; every snapshot moves it in its transaction",
}


def own_tables(dialect: DialectName) -> tuple[str, ...]:
    """The tables `seg snapshot` keeps in a schema on this engine."""
    return (HISTORY, RUNS, LOCK) if get_dialect(dialect).history_lock_table else (HISTORY, RUNS)


RUN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "BIGINT"),
    ("as_of", "TIMESTAMP"),
    ("definition", "TEXT"),
    ("kind", "TEXT"),
    ("definition_hash", "TEXT"),
    ("definition_changed", "BOOLEAN"),
    ("members", "BIGINT"),
    ("entered", "BIGINT"),
    ("left", "BIGINT"),
    ("backfill", "BOOLEAN"),
    ("started_at", "TIMESTAMPTZ"),
    ("finished_at", "TIMESTAMPTZ"),
)


def is_own(comment: object) -> bool:
    return isinstance(comment, str) and comment.startswith(MARKER)


def _marked(name: str, dialect: DialectName) -> exp.Properties | None:
    """The mark in the CREATE, where the engine takes it there (else `comment` follows)."""
    return get_dialect(dialect).create_comment(COMMENTS[name])


SchemaPath = str | tuple[str, ...]
"""A schema, or (catalog, schema): DuckDB needs the catalog when a schema has the name of
a database (a file `history.duckdb` is the database `history`)."""


def schema_path(
    schema: str, dialect: DialectName, current_database: Callable[[str], object]
) -> SchemaPath:
    """The schema, with the current database in front where the dialect names a schema
    with its catalog (`current_database` runs a query and returns its first value); a
    dotted `project.dataset` as two parts where that names the catalog."""
    sql = get_dialect(dialect)
    if sql.dotted_schema_names_catalog and "." in schema:
        project, dataset = schema.split(".", 1)
        return (project, dataset)
    if not sql.schema_needs_catalog:
        return schema
    catalog = current_database(exp.select(exp.func("current_database")).sql(sql.sqlglot_name))
    return (str(catalog), schema)


def _parts(schema: SchemaPath) -> tuple[str, ...]:
    return (schema,) if isinstance(schema, str) else schema


def table(
    schema: SchemaPath, name: str, dialect: DialectName, alias: str | None = None
) -> exp.Table:
    found = table_expression((*_parts(schema), name), dialect)
    if alias:
        found.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
    return found


def create_runs(schema: SchemaPath, dialect: DialectName) -> exp.Create:
    columns = [
        exp.ColumnDef(this=exp.to_identifier(name, quoted=True), kind=exp.DataType.build(kind))
        for name, kind in RUN_COLUMNS
    ]
    return exp.Create(
        this=exp.Schema(this=table(schema, RUNS, dialect), expressions=columns),
        kind="TABLE",
        exists=get_dialect(dialect).creates_tables_outside_transaction,
        properties=_marked(RUNS, dialect),
    )


def create_history(schema: SchemaPath, dialect: DialectName, like: exp.Table) -> exp.Create:
    """The history table with the key column typed as in `like` (the new membership)."""
    text = exp.DataType.build("TEXT")
    wall = exp.DataType.build("TIMESTAMP")
    select = (
        exp.select(
            exp.column("key", quoted=True),
            exp.column("definition", quoted=True),
            exp.column("label", quoted=True),
            exp.alias_(exp.cast(exp.Null(), text), "definition_hash", quoted=True),
            exp.alias_(exp.cast(exp.Null(), wall), "valid_from", quoted=True),
            exp.alias_(exp.cast(exp.Null(), wall), "valid_to", quoted=True),
        )
        .from_(like.copy())
        .where(exp.false())
    )
    return exp.Create(
        this=table(schema, HISTORY, dialect),
        kind="TABLE",
        expression=select,
        exists=get_dialect(dialect).creates_tables_outside_transaction,
        properties=_marked(HISTORY, dialect),
    )


def create_lock(schema: SchemaPath, dialect: DialectName) -> exp.Create:
    """The lock table (`Dialect.history_lock_table`): one row, the last run_id recorded
    (0 without runs)."""
    last = exp.Coalesce(
        this=exp.Max(this=exp.column("run_id", quoted=True)),
        expressions=[exp.Literal.number(0)],
    )
    select = exp.select(
        exp.alias_(last, "last_run_id", quoted=True),
        exp.alias_(exp.cast(exp.Null(), "TIMESTAMPTZ"), "taken_at", quoted=True),
    ).from_(table(schema, RUNS, dialect))
    return exp.Create(
        this=table(schema, LOCK, dialect),
        kind="TABLE",
        expression=select,
        exists=True,
        properties=_marked(LOCK, dialect),
    )


def claim(schema: SchemaPath, dialect: DialectName, last: int, run_id: int) -> exp.Update:
    """Move the lock row from `last` to `run_id`, or fail the statement (and with it the
    transaction) with an error starting with `BUSY_MARKER` when another run moved it."""
    column = exp.column("last_run_id", quoted=True)
    busy = exp.func(
        "ERROR",
        exp.Literal.string(
            f"{BUSY_MARKER} another snapshot recorded a run since this one read run {last}"
        ),
    )
    moved = exp.func(
        "IF",
        exp.EQ(this=column.copy(), expression=exp.Literal.number(last)),
        exp.Literal.number(run_id),
        busy,
    )
    return exp.Update(
        this=table(schema, LOCK, dialect),
        expressions=[
            exp.EQ(this=column, expression=moved),
            exp.EQ(
                this=exp.column("taken_at", quoted=True),
                expression=exp.func("CURRENT_TIMESTAMP"),
            ),
        ],
        where=exp.Where(this=exp.true()),
    )


def comment(schema: SchemaPath, name: str, dialect: DialectName) -> exp.Comment:
    return exp.Comment(
        this=table(schema, name, dialect),
        kind="TABLE",
        expression=exp.Literal.string(COMMENTS[name]),
    )


def create_schema(schema: SchemaPath, dialect: DialectName) -> exp.Create:
    parts = _parts(schema)
    path = exp.Table(
        db=exp.to_identifier(parts[-1], quoted=True),
        catalog=exp.to_identifier(parts[0], quoted=True) if len(parts) > 1 else None,
    )
    return exp.Create(this=path, kind="SCHEMA", exists=True)


def comments_query(schema: str, dialect: DialectName) -> str:
    """(table name, comment) of segdsl's tables where they exist (read the comment with
    `Dialect.catalog_comment`)."""
    return get_dialect(dialect).table_comments_query(schema, own_tables(dialect))
