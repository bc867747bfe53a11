"""Spark URL + SQL → streamed `Rows`, plans and table descriptions (pyspark 4).

``spark://local`` runs a Spark session inside this process (local mode, one per
process: `local_session`); ``sc://host:port`` talks to a Spark Connect server. Both
run with the settings the Spark dialect relies on (segdsl/sql/dialects.py `Spark`):
``spark.sql.ansi.enabled = true`` (a failed cast or an overflow is an error, never a
silent NULL or a wrapped number) and ``spark.sql.session.timeZone = UTC`` (instants
show as UTC wall-clock times). Results are read as Arrow (``DataFrame.toArrow``),
which keeps instants aware in UTC whatever the process's time zone.

Tables come from the session's catalog; `tables` (``[spark] tables`` in seg.toml)
names Parquet files or folders to read as temporary views. A local session also
holds the demo warehouse's ``shop`` tables (external tables over its Parquet export,
`demo_tables`) unless the catalog already has a ``shop`` database.

Spark has no read-only session: queries are guarded by `require_query` (one SELECT
statement; sqlglot parses it as exactly one query first). The one write,
`materialize`, creates a Parquet table (or a view) marked by its comment, into a
fresh name first and renamed over the old one, so a failed query leaves the old
table in place.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow  # noqa: F401  (DataFrame.toArrow needs it; missing: as pyspark)
import pyspark  # noqa: F401  (missing: `connect` names the extra to install)

from segdsl.engines.base import (
    DEFAULT_BATCH_ROWS,
    Batches,
    Engine,
    EngineError,
    ErrorKind,
    MaterializeKind,
    TableName,
    display_name,
    effective_timeout,
    in_main_thread,
    is_own,
    marker_property,
    materialized_query,
    materializing,
    parse_query,
    refuse_replacing,
    require_query,
    run_interruptible,
    table_expression,
    tables_read,
)
from segdsl.engines.urls import SparkURL, mask

__all__ = ["SESSION_SETTINGS", "SparkEngine", "local_session"]

SESSION_SETTINGS: dict[str, str] = {
    # the dialect's semantics (segdsl/sql/dialects.py `Spark`)
    "spark.sql.ansi.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    # Parquet times without a zone (DuckDB TIMESTAMP) are wall-clock times
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}
"""Runtime settings every session gets (local or Spark Connect)."""

_LOCAL_SETTINGS: dict[str, str] = {
    "spark.driver.memory": "1g",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",  # no "[Stage 0:>" bars on the terminal
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
_LOG4J = """rootLogger.level = error
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %p %c{1}: %m%n
"""
_NOT_FOUND = ("TABLE_OR_VIEW_NOT_FOUND", "UNRESOLVED_COLUMN", "SCHEMA_NOT_FOUND", "PATH_NOT_FOUND")
_DEMO_SCHEMA = "shop"
_lock = threading.Lock()


@functools.cache
def local_session() -> Any:
    """The process's local Spark session (started on first use; Java 17 or newer).

    Its warehouse, metastore and scratch files live in a temporary folder; its logs
    go to stderr at level ERROR only, with no progress bars.
    """
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no "resolves to a loopback" warning
    _quiet_warnings()
    from pyspark.logger import PySparkLogger
    from pyspark.sql import SparkSession

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        # otherwise every SQL error is also logged to stderr with the JVM's stack trace
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
    scratch = Path(tempfile.mkdtemp(prefix="segdsl-spark-"))
    log4j = scratch / "log4j2.properties"
    log4j.write_text(_LOG4J, encoding="utf-8")
    builder = SparkSession.builder.master("local[2]").appName("segdsl")
    for key, value in {**_LOCAL_SETTINGS, **SESSION_SETTINGS}.items():
        builder = builder.config(key, value)
    builder = (
        builder.config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .config("spark.local.dir", str(scratch / "local"))
        .config(
            "spark.driver.extraJavaOptions",
            f"-Dlog4j.configurationFile=file:{log4j} -Dderby.system.home={scratch}",
        )
    )
    with _quiet_stderr():
        session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


@contextlib.contextmanager
def _quiet_stderr() -> Generator[None, None, None]:
    """The JVM's start-up lines ("Setting default log level …") go to /dev/null."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _quiet_warnings() -> None:
    """pyspark's warnings that say nothing about the user's query."""
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    warnings.filterwarnings("ignore", message="Failed to set", category=UserWarning)


def _connect_session(remote: str) -> Any:
    from pyspark.sql import SparkSession

    _quiet_warnings()

    session = SparkSession.builder.remote(remote).getOrCreate()
    for key, value in SESSION_SETTINGS.items():
        session.conf.set(key, value)
    return session


class SparkEngine(Engine):
    """A Spark session (local or Spark Connect) running compiled Spark SQL."""

    dialect = "spark"

    def __init__(
        self,
        url: SparkURL,
        *,
        statement_timeout: float | None = 300.0,
        tables: Mapping[str, Path] | None = None,
        demo: Path | None = None,
    ) -> None:
        self._url = url
        self._label = f"spark {mask(url.raw)}" if url.raw else "spark"
        self._timeout = effective_timeout(statement_timeout)
        self._closed = False
        try:
            self._session = local_session() if url.remote is None else _connect_session(url.remote)
            if url.remote is None and demo is not None:
                self._register_demo(demo)
            for name, path in (tables or {}).items():
                self._register(name, path)
        except EngineError:
            raise
        except Exception as error:
            raise self._error(error, connecting=True) from None

    # ------------------------------------------------------------ plumbing

    @property
    def session(self) -> Any:
        if self._closed:
            raise EngineError("other", f"{self._label}: the engine is closed")
        return self._session

    def close(self) -> None:
        # the local session is the process's; a Spark Connect session stays for reuse
        self._closed = True

    def _error(self, error: BaseException, *, connecting: bool = False) -> EngineError:
        kind, detail = _classify(error, connecting=connecting)
        return EngineError(kind, f"{self._label}: {detail}")

    def _run(self, call: Any) -> Any:
        """``call()`` with the statement time limit and Ctrl-C cancelling Spark's jobs."""
        session = self.session

        def cancel() -> None:
            with contextlib.suppress(Exception):
                session.interruptAll()  # Spark Connect, and classic sessions since 4.0
            with contextlib.suppress(Exception):
                session.sparkContext.cancelAllJobs()  # a classic (local) session

        def on_timeout() -> EngineError:
            return EngineError(
                "timeout", f"{self._label}: the query ran past the statement_timeout"
            )

        def on_cancel() -> EngineError:
            return EngineError("cancelled", f"{self._label}: query cancelled")

        try:
            if not in_main_thread() and self._timeout is None:
                return call()
            return run_interruptible(
                call, cancel, timeout=self._timeout, on_timeout=on_timeout, on_cancel=on_cancel
            )
        except EngineError:
            raise
        except Exception as error:
            raise self._error(error) from None

    def _sql(self, statement: str) -> Any:
        return self._run(lambda: self.session.sql(statement).toArrow())

    # ------------------------------------------------------------ tables

    def _register(self, name: str, path: Path) -> None:
        """A temporary view `name` over the Parquet file or folder `path`."""
        from sqlglot import exp

        source = exp.Table(
            this=exp.to_identifier(str(path), quoted=True),
            db=exp.to_identifier("parquet", quoted=True),
        )
        view = exp.Create(
            this=exp.Table(this=exp.to_identifier(name, quoted=True)),
            kind="VIEW",
            replace=True,
            properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
            expression=exp.select("*").from_(source),
        )
        self._sql(view.sql("spark"))

    def _register_demo(self, folder: Path) -> None:
        """The demo warehouse's tables as external tables ``shop.<name>`` over its Parquet
        export in ``folder`` (the catalog is the process's, so this runs once)."""
        from sqlglot import exp

        with _lock:
            if self.session.catalog.databaseExists(_DEMO_SCHEMA):
                return
            self._sql(f"CREATE DATABASE `{_DEMO_SCHEMA}`")
            for table in sorted(folder.glob("*.parquet")):
                create = exp.Create(
                    this=exp.Table(
                        this=exp.to_identifier(table.stem, quoted=True),
                        db=exp.to_identifier(_DEMO_SCHEMA, quoted=True),
                    ),
                    kind="TABLE",
                    properties=exp.Properties(
                        expressions=[
                            exp.FileFormatProperty(this=exp.var("PARQUET")),
                            exp.LocationProperty(this=exp.Literal.string(str(table))),
                        ]
                    ),
                )
                self._sql(create.sql("spark"))

    # ------------------------------------------------------------ queries

    def _query(self, sql: str) -> Any:
        require_query(sql, self._label)
        parse_query(sql, "spark")  # exactly one query
        return self._sql(sql)

    def query_batches(
        self,
        sql: str,
        *,
        params: Mapping[str, object] | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> Batches:
        from segdsl.engines.arrow import batches_of, rows_from_arrow

        if params:
            raise EngineError("other", f"{self._label}: query parameters are not supported")
        for batch in batches_of(self._query(sql), batch_rows):
            yield rows_from_arrow(batch)

    def arrow_batches(self, sql: str) -> Generator[object, None, None]:
        from segdsl.engines.arrow import batches_of

        yield from batches_of(self._query(sql), DEFAULT_BATCH_ROWS)

    def explain(self, sql: str) -> str:
        require_query(sql, self._label)
        parse_query(sql, "spark")
        result = self._sql(f"EXPLAIN {sql}")
        return "\n".join(str(value) for value in result.column(0).to_pylist())

    # ------------------------------------------------------------ the one write

    def materialize(
        self,
        sql: str,
        name: TableName,
        *,
        kind: MaterializeKind = "table",
        replace: bool = False,
    ) -> None:
        from sqlglot import exp

        require_query(sql, self._label)
        query = materialized_query(sql, kind, "spark")
        target = table_expression(name, "spark")
        shown = display_name(name)
        with _lock:
            existing = self._existing(target)
            if existing is not None:
                found_kind, comment = existing
                reads = {self._qualified(_table(parts)) for parts in tables_read(sql, "spark")}
                if self._qualified(target) in reads:
                    raise refuse_replacing(name, "input", label=self._label)
                if not replace and not is_own(comment):
                    raise refuse_replacing(name, "foreign", label=self._label)
                if found_kind != kind:
                    raise EngineError(
                        "invalid_query",
                        f"{self._label}: {shown} exists and is not a {kind}; "
                        "drop it or choose another name",
                    )
            comment_property = marker_property(kind)
            with materializing(name):
                if kind == "view":
                    view = exp.Create(
                        this=target,
                        kind="VIEW",
                        replace=True,
                        properties=exp.Properties(expressions=[comment_property]),
                        expression=query,
                    )
                    self._sql(view.sql("spark"))
                    return
                # into a fresh name first: a failing query leaves the old table alone
                fresh = target.copy()
                fresh.set("this", exp.to_identifier(f"{target.name}__segdsl_new", quoted=True))
                drop_fresh = exp.Drop(tables=[fresh.copy()], kind="TABLE", exists=True)
                self._sql(drop_fresh.sql("spark"))
                create = exp.Create(
                    this=fresh.copy(),
                    kind="TABLE",
                    properties=exp.Properties(
                        expressions=[
                            exp.FileFormatProperty(this=exp.var("PARQUET")),
                            comment_property,
                        ]
                    ),
                    expression=query,
                )
                self._sql(create.sql("spark"))
                if existing is not None:
                    self._sql(
                        exp.Drop(tables=[target.copy()], kind="TABLE", exists=True).sql("spark")
                    )
                rename = exp.Alter(
                    this=fresh, kind="TABLE", actions=[exp.AlterRename(this=target.copy())]
                )
                self._sql(rename.sql("spark"))

    def _qualified(self, table: Any) -> tuple[str, ...]:
        """A table's (database, name), lower case, the current database filled in."""
        database = table.db or self.session.catalog.currentDatabase()
        return (str(database).casefold(), str(table.name).casefold())

    def _existing(self, target: Any) -> tuple[str, str | None] | None:
        """(table or view, comment) of the table or view `target` names, if it exists."""
        from sqlglot import exp

        catalog = self.session.catalog
        name = exp.Table(this=target.this.copy(), db=target.args.get("db")).sql("spark")
        try:
            if not catalog.tableExists(name):
                return None
            found = catalog.getTable(name)
        except Exception as error:
            raise self._error(error) from None
        kind = "view" if str(found.tableType).upper() == "VIEW" else "table"
        comment: str | None = found.description
        return kind, comment

    # ------------------------------------------------------------ catalog

    def describe_tables(self, tables: Sequence[tuple[str, ...]]) -> dict[str, dict[str, str]]:
        result: dict[str, dict[str, str]] = {}
        for path in tables:
            if not 1 <= len(path) <= 3:
                raise EngineError("invalid_query", f"{self._label}: bad table path {path!r}")
            key = ".".join(path)
            name = _table(path).sql("spark")
            try:
                schema = self._run(lambda name=name: self.session.table(name).schema)
            except EngineError as error:
                if error.kind == "not_found":
                    raise EngineError(
                        "not_found", f"{self._label}: table {key} does not exist"
                    ) from None
                raise
            result[key] = {field.name: field.dataType.simpleString().upper() for field in schema}
        return result

    def list_tables(self, schema: str | None = None) -> list[str]:
        try:
            found = self.session.catalog.listTables(schema)
        except Exception as error:
            raise self._error(error) from None
        return sorted(str(table.name) for table in found)


def _table(parts: Sequence[str]) -> Any:
    from sqlglot import exp

    identifiers = [exp.to_identifier(part, quoted=True) for part in parts]
    table = exp.Table(this=identifiers[-1])
    if len(identifiers) >= 2:
        table.set("db", identifiers[-2])
    if len(identifiers) >= 3:
        table.set("catalog", identifiers[-3])
    return table


def _classify(error: BaseException, *, connecting: bool) -> tuple[ErrorKind, str]:
    """(kind, one-line detail) for a pyspark error."""
    condition = ""
    getter = getattr(error, "getCondition", None)
    if callable(getter):
        with contextlib.suppress(Exception):
            condition = str(getter() or "")
    text = str(error).strip().splitlines()
    detail = text[0] if text else type(error).__name__
    kind: ErrorKind
    if condition.startswith(_NOT_FOUND):
        kind = "not_found"
    elif condition:
        kind = "invalid_query"
    elif isinstance(error, FileNotFoundError) or "JAVA_GATEWAY_EXITED" in detail:
        kind = "other"
        detail = f"cannot start Spark (is Java 17 or newer installed?): {detail}"
    elif connecting:
        kind = "unreachable"
    else:
        kind = "other"
    return kind, detail
