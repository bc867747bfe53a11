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

Both are marked as segdsl's by their comment; a table of that name without the mark
is never written to (`seg run --materialize` does not replace them either: its own
mark is a different one).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from segdsl.engines.base import DialectName, table_expression

HISTORY = "segdsl_history"
RUNS = "segdsl_runs"
MARKER = "segdsl: history"
COMMENTS = {
    HISTORY: f"{MARKER}: membership intervals; written only by `seg snapshot`",
    RUNS: f"{MARKER}: one row per definition and snapshot; written only by `seg snapshot`",
}

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


SchemaPath = str | tuple[str, ...]
"""A schema, or (catalog, schema): DuckDB needs the catalog when a schema has the name of
a database (a file `history.duckdb` is the database `history`)."""


def schema_path(
    schema: str, dialect: DialectName, current_database: Callable[[str], object]
) -> SchemaPath:
    """The schema, with the current database in front on DuckDB (`current_database` runs
    a query and returns its first value)."""
    if dialect != "duckdb":
        return schema
    catalog = current_database(exp.select(exp.func("current_database")).sql("duckdb"))
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
        this=exp.Schema(this=table(schema, RUNS, dialect), expressions=columns), kind="TABLE"
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
    return exp.Create(this=table(schema, HISTORY, dialect), kind="TABLE", expression=select)


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
    """(table name, comment) of the two tables where they exist."""
    names = exp.Tuple(expressions=[exp.Literal.string(HISTORY), exp.Literal.string(RUNS)])
    if dialect == "duckdb":
        select = (
            exp.select("table_name", "comment")
            .from_("duckdb_tables()")
            .where(
                exp.and_(
                    exp.EQ(
                        this=exp.func("lower", exp.column("schema_name")),
                        expression=exp.func("lower", exp.Literal.string(schema)),
                    ),
                    exp.EQ(
                        this=exp.column("database_name"),
                        expression=exp.func("current_database"),
                    ),
                    exp.In(this=exp.column("table_name"), expressions=names.expressions),
                )
            )
        )
        return select.sql("duckdb")
    select = (
        exp.select(
            exp.column("relname", table="c"),
            exp.func(
                "obj_description", exp.column("oid", table="c"), exp.Literal.string("pg_class")
            ),
        )
        .from_(exp.to_table("pg_catalog.pg_class", alias="c"))
        .join(
            exp.to_table("pg_catalog.pg_namespace", alias="n"),
            on=exp.EQ(
                this=exp.column("oid", table="n"), expression=exp.column("relnamespace", table="c")
            ),
        )
        .where(
            exp.and_(
                exp.EQ(
                    this=exp.column("nspname", table="n"), expression=exp.Literal.string(schema)
                ),
                exp.In(this=exp.column("relname", table="c"), expressions=names.expressions),
            )
        )
    )
    return select.sql("postgres")
