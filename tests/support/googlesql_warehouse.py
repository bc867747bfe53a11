"""A tiny BigQuery stand-in for write paths: tables kept in Python, every statement run on
ZetaSQL's reference implementation of GoogleSQL.

`GoogleSQLWarehouse.engine()` gives an object `segdsl.history.snapshot` can write to
(dialect `bigquery`, `write_session`) that behaves like `BigQueryEngine.write_session`:
reads and DDL run at once, INSERT and UPDATE are kept and applied at the end, all or
none (a failing one leaves every table as it was). SELECTs are evaluated by the reference
engine; INSERT and UPDATE by its `EvaluateModify` (which returns the rows it inserts and
the new values of the rows it updates: each table has a hidden `__row` number so an
updated row is put back in its place). CREATE TABLE, CREATE TABLE AS SELECT (its SELECT
evaluated there), DROP TABLE and CREATE SCHEMA are kept in Python, and the
INFORMATION_SCHEMA query for table descriptions is answered from them (the reference
engine has no INFORMATION_SCHEMA).

Table references lose their dataset before they reach the reference engine (its catalog
here is flat): statements are parsed with sqlglot, their tables' dataset and project
removed, and rendered again; `flat` checks that rendering the parsed statement unchanged
gives back the very text segdsl sent, so only the names differ.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from zetasql.wasi._pb2.zetasql.local_service import local_service_pb2

from segdsl.engines.base import BUSY_MARKER, BusyError, EngineError, WriteSession
from tests.support import zetasql_values
from tests.support.runners import ZetaSQLRunner
from tests.support.tables import ColumnType, table

ROW = "__row"
_BY_NAME: dict[str, ColumnType] = {
    "key": "integer",
    "definition": "string",
    "label": "string",
    "definition_hash": "string",
    "change": "string",
    "valid_from": "timestamp",
    "valid_to": "timestamp",
    "last_run_id": "integer",
    "taken_at": "timestamptz",
}
"""Column types of the tables segdsl creates with CREATE TABLE AS SELECT."""
_BY_TYPE: dict[str, ColumnType] = {
    "INT64": "integer",
    "STRING": "string",
    "BOOL": "boolean",
    "DATETIME": "timestamp",
    "TIMESTAMP": "timestamptz",
}
_INSERT, _UPDATE = 1, 3  # EvaluateModifyResponse.Row.operation


@dataclass
class _Table:
    columns: dict[str, ColumnType]
    rows: list[list[object]] = field(default_factory=list)  # each ends with its __row
    description: str | None = None


def flat(sql: str) -> tuple[exp.Expr, str]:
    """The parsed statement and its text with every table's dataset and project left out."""
    tree = sqlglot.parse_one(sql, read="bigquery")
    assert tree.sql("bigquery") == sql, f"sqlglot does not give back the statement:\n{sql}"
    flattened = tree.copy()
    for found in flattened.find_all(exp.Table):
        found.set("db", None)
        found.set("catalog", None)
    return tree, flattened.sql("bigquery")


class GoogleSQLWarehouse:
    def __init__(self, tables: dict[str, tuple[dict[str, ColumnType], list[tuple[object, ...]]]]):
        self.tables: dict[str, _Table] = {}
        self.statements: list[str] = []  # every statement segdsl sent, as sent
        for name, (columns, rows) in tables.items():
            self.tables[name] = _Table(dict(columns), [[*row, i] for i, row in enumerate(rows)])
        self._next_row = 1_000_000
        self._cached: tuple[str, ZetaSQLRunner] | None = None

    # ------------------------------------------------------------ running

    def _runner(self) -> ZetaSQLRunner:
        """A runner with the tables as they are now (kept while they do not change:
        registering a catalog is most of the time a statement takes)."""
        state = repr(sorted((name, t.columns, t.rows) for name, t in self.tables.items()))
        if self._cached is not None and self._cached[0] == state:
            return self._cached[1]
        self.close()
        specs = [
            table(name, {**t.columns, ROW: "integer"}, t.rows) for name, t in self.tables.items()
        ]
        self._cached = (state, ZetaSQLRunner(specs))
        return self._cached[1]

    def close(self) -> None:
        if self._cached is not None:
            self._cached[1].close()
            self._cached = None

    def query(self, sql: str) -> list[tuple[object, ...]]:
        return self._runner().query(sql)

    def rows(self, name: str) -> list[tuple[object, ...]]:
        """A table's rows without the hidden row number, sorted."""
        found = self.tables.get(name)
        return sorted((tuple(row[:-1]) for row in found.rows), key=repr) if found else []

    def run(self, sql: str) -> list[tuple[object, ...]]:
        """A read or DDL statement, at once."""
        self.statements.append(sql)
        if "INFORMATION_SCHEMA" in sql:
            return self._descriptions(sqlglot.parse_one(sql, read="bigquery"))
        tree, text = flat(sql)
        if isinstance(tree, exp.Create) and str(tree.args.get("kind")).upper() == "SCHEMA":
            self.analyse(sql)  # a dataset: nothing to keep
            return []
        if isinstance(tree, exp.Create | exp.Drop):
            self.analyse(text)
        if isinstance(tree, exp.Create):
            return self._create(tree, text)
        if isinstance(tree, exp.Drop):
            self.tables.pop(tree.this.name if isinstance(tree.this, exp.Table) else "", None)
            for found in tree.expressions or []:
                self.tables.pop(found.name, None)
            return []
        assert isinstance(tree, exp.Query), sql
        return self.query(text)

    def _create(self, tree: exp.Create, text: str) -> list[tuple[object, ...]]:
        kind = str(tree.args.get("kind") or "").upper()
        if kind == "SCHEMA":
            return []
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        assert isinstance(target, exp.Table)
        name = target.name
        if tree.args.get("exists") and name in self.tables:
            return []
        assert name not in self.tables, f"{name} exists"
        description = None
        for prop in tree.find_all(exp.Property):
            if prop.name == "description":
                description = prop.args["value"].name
        query = tree.expression
        if isinstance(tree.this, exp.Schema):
            columns: dict[str, ColumnType] = {
                c.name: _BY_TYPE[c.args["kind"].sql("bigquery")]
                for c in tree.this.expressions
                if isinstance(c, exp.ColumnDef)
            }
            self.tables[name] = _Table(columns, [], description)
            return []
        assert isinstance(query, exp.Query)
        rows = self.query(flat(query.sql("bigquery"))[1])
        columns = {column: _BY_NAME[column] for column in query.named_selects}
        self.tables[name] = _Table(
            columns, [[*row, self._row_number()] for row in rows], description
        )
        return []

    def analyse(self, text: str) -> None:
        """Raise unless the reference engine's analyser accepts the statement (DDL,
        which it analyses but does not run)."""
        runner = self._runner()
        try:
            runner._service.analyze(
                sql_statement=text,
                options=runner._options.to_proto(),
                registered_catalog_id=runner._catalog_id,
            )
        except Exception as error:
            raise EngineError("invalid_query", f"googlesql: {error}") from None

    def _descriptions(self, tree: exp.Expr) -> list[tuple[object, ...]]:
        wanted = {
            literal.name
            for found in tree.find_all(exp.In)
            for literal in found.expressions
            if isinstance(literal, exp.Literal)
        }
        return [
            (name, None if t.description is None else f'"{t.description}"')
            for name, t in self.tables.items()
            if name in wanted
        ]

    def _row_number(self) -> int:
        self._next_row += 1
        return self._next_row

    def modify(self, sql: str) -> None:
        """An INSERT or UPDATE, evaluated by the reference engine and applied here."""
        tree, text = flat(sql)
        assert isinstance(tree, exp.Insert | exp.Update), sql
        runner = self._runner()
        try:
            response = runner._service.wasm_client.call_grpc_func(
                "ZetaSqlLocalService_EvaluateModify",
                local_service_pb2.EvaluateModifyRequest(
                    sql=text,
                    options=runner._options.to_proto(),
                    registered_catalog_id=runner._catalog_id,
                ),
                local_service_pb2.EvaluateModifyResponse,
            )
        except Exception as error:
            raise EngineError("invalid_query", f"googlesql: {error}") from None
        target = self.tables[response.table_name]
        by_number = {row[-1]: index for index, row in enumerate(target.rows)}
        for row in response.content:
            values = [zetasql_values.from_cell(cell) for cell in row.cell]
            if row.operation == _INSERT:
                values[-1] = self._row_number()
                target.rows.append(values)
            else:
                assert row.operation == _UPDATE, row.operation
                target.rows[by_number[values[-1]]] = values

    # ------------------------------------------------------------ the engine

    def engine(self) -> Any:
        return _Engine(self)


class _Session(WriteSession):
    def __init__(self, warehouse: GoogleSQLWarehouse) -> None:
        self.warehouse = warehouse
        self.writes: list[str] = []

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        if sql.split(None, 1)[0].upper() in ("INSERT", "UPDATE"):
            self.writes.append(sql)
            self.warehouse.statements.append(sql)
            return []
        return self.warehouse.run(sql)

    def commit(self) -> None:
        saved = {
            name: _Table(dict(t.columns), [list(r) for r in t.rows], t.description)
            for name, t in self.warehouse.tables.items()
        }
        try:
            for sql in self.writes:
                self.warehouse.modify(sql)
        except EngineError as error:
            self.warehouse.tables = saved  # the transaction: all or nothing
            if BUSY_MARKER in error.message:
                raise BusyError(f"googlesql: {error.message}") from None
            raise


class _Engine:
    dialect = "bigquery"

    def __init__(self, warehouse: GoogleSQLWarehouse) -> None:
        self.warehouse = warehouse

    @contextlib.contextmanager
    def write_session(self, lock: str) -> Iterator[WriteSession]:
        session = _Session(self.warehouse)
        yield session
        session.commit()
