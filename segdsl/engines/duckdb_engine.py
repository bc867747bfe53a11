"""DuckDB URL + SQL → streamed `Rows`, Parquet files, plans and table descriptions.

A file database is opened with ``read_only=True``; `materialize` closes that
connection, runs its one CREATE OR REPLACE statement on a read-write connection
and closes it again. An in-memory database has a single connection; there (and
for files too) every query must be exactly one SELECT statement, as DuckDB
itself classifies it. Each blocking call runs in a worker thread so that Ctrl-C
or the statement time limit calls ``connection.interrupt()``.

Every connection is locked down before use (`_lock_down`): no file, network or
extension access except the folders the project allows for reading and a
private spool folder for Parquet exports; no Python-variable replacement scans;
no progress bar; and the configuration locked so no statement can undo it.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from segdsl.engines.base import (
    DEFAULT_BATCH_ROWS,
    Batches,
    BusyError,
    Engine,
    EngineError,
    ErrorKind,
    MaterializeKind,
    TableName,
    WriteSession,
    comment_statement,
    display_name,
    effective_timeout,
    is_own,
    materialize_statement,
    refuse_replacing,
    run_interruptible,
    table_expression,
    tables_read,
)
from segdsl.engines.rows import Rows
from segdsl.engines.urls import DuckDBURL, mask

__all__ = ["DuckDBEngine"]

_COLUMNS = (
    "SELECT column_name, data_type FROM duckdb_columns() "
    "WHERE lower(database_name) = lower(coalesce($d, current_database())) "
    "AND lower(schema_name) = lower(coalesce($s, current_schema())) "
    "AND lower(table_name) = lower($t) ORDER BY column_index"
)

T = TypeVar("T")


class DuckDBEngine(Engine):
    """A DuckDB file (read-only) or in-memory database."""

    dialect = "duckdb"

    def __init__(
        self,
        url: DuckDBURL,
        *,
        statement_timeout: float | None = 300.0,
        read_folders: Sequence[Path] = (),
    ) -> None:
        self._url = url
        self._label = f"duckdb {mask(url.raw) if url.raw else ''}".strip()
        self._timeout = effective_timeout(statement_timeout)
        self._read_folders = tuple(_folder(path) for path in read_folders)
        self._spool = _process_spool()
        self._path: Path | None = None if url.path is None else url.path.expanduser().resolve()
        if self._path is not None and not self._path.is_file():
            hint = ""
            if url.path is not None and not url.path.is_absolute():
                hint = (
                    " (duckdb:///path is relative to the current folder; "
                    "use duckdb:////absolute/path for an absolute one)"
                )
            raise EngineError(
                "unreachable", f"{self._label}: no database file at {self._path}{hint}"
            )
        self._con: duckdb.DuckDBPyConnection | None = self._open(read_only=self._path is not None)

    # ------------------------------------------------------------ connections

    def _open(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        database = ":memory:" if self._path is None else str(self._path)
        # DuckDB allows reading its spill folder, so that folder is a private one
        config: dict[str, str | bool | int | float | list[str]] = {
            **dict(self._url.config),
            **_CONNECT_CONFIG,
            "temp_directory": str(self._spool / _spill_name(self._path)),
        }
        with _OPENING:  # engines of one process share a file's database: lock it down once
            try:
                con = duckdb.connect(database, read_only=read_only, config=config)
            except (duckdb.IOException, duckdb.ConnectionException) as error:
                raise self._error(error, default="unreachable") from None
            except duckdb.Error as error:  # e.g. a bad value for a config option in the URL
                raise EngineError("other", f"{self._label}: {_first_lines(str(error))}") from None
            try:
                self._lock_down(con)
            except duckdb.Error as error:
                con.close()
                raise EngineError("other", f"{self._label}: {_first_lines(str(error))}") from None
            except EngineError:
                con.close()
                raise
            return con

    def _lock_down(self, con: duckdb.DuckDBPyConnection) -> None:
        """Shut every door to files, the network and extensions but the allowed folders.

        ``allowed_directories`` can only be set while external access is on, and
        ``lock_configuration`` last keeps any later statement from changing them.
        """
        folders = [f"{self._spool}{os.sep}", *self._read_folders]
        locked = con.execute("SELECT current_setting('lock_configuration')").fetchall()
        if locked[0][0]:  # another engine of this process has this file open, locked down
            allowed = con.execute("SELECT current_setting('allowed_directories')").fetchall()
            if not set(folders) <= {str(item) for item in allowed[0][0]}:
                raise EngineError(
                    "other",
                    f"{self._label}: the database file is open in this process with other "
                    "allowed folders; close that connection first",
                )
        else:
            con.execute("SET allowed_directories = $folders", {"folders": folders})
            for statement in _LOCK_DOWN:
                con.execute(statement)

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The open (read-only for files) connection."""
        if self._con is None:
            self._con = self._open(read_only=self._path is not None)
        return self._con

    def close(self) -> None:
        self._disconnect()

    def _disconnect(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    # ------------------------------------------------------------ errors

    def _error(self, error: BaseException, *, default: ErrorKind = "other") -> EngineError:
        return EngineError(_kind_of(error, default), f"{self._label}: {_first_lines(str(error))}")

    def _run(self, call: Callable[[], T], con: duckdb.DuckDBPyConnection | None = None) -> T:
        """``call()`` with Ctrl-C / time limit → ``interrupt()``; DuckDB errors → `EngineError`."""
        target = con if con is not None else self.connection
        try:
            return run_interruptible(
                call,
                target.interrupt,
                timeout=self._timeout,
                on_timeout=lambda: EngineError(
                    "timeout",
                    f"{self._label}: query stopped after the {self._timeout:g} s time limit",
                ),
                on_cancel=lambda: EngineError("cancelled", f"{self._label}: query cancelled"),
            )
        except duckdb.Error as error:
            raise self._error(error) from None

    def _require_select(self, sql: str) -> None:
        try:
            statements = self.connection.extract_statements(sql)
        except duckdb.Error as error:
            raise self._error(error, default="invalid_query") from None
        if len(statements) != 1:
            raise EngineError(
                "invalid_query",
                f"{self._label}: expected exactly one statement, got {len(statements)}",
            )
        kind = statements[0].type
        if kind != duckdb.StatementType.SELECT:
            raise EngineError(
                "permission",
                f"{self._label}: only read-only queries can be run, not {kind.name} "
                "(the only write is materialize: CREATE OR REPLACE TABLE/VIEW ... AS <query>)",
            )

    # ------------------------------------------------------------ queries

    def query_batches(
        self,
        sql: str,
        *,
        params: Mapping[str, object] | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> Batches:
        self._require_select(sql)
        con = self.connection
        values = dict(params) if params else None
        self._run(lambda: con.execute(sql, values), con)
        try:
            names = [str(column[0]) for column in con.description or []]
            types = [str(column[1]).upper() for column in con.description or []]
            sent = False
            while rows := self._run(lambda: con.fetchmany(batch_rows), con):
                sent = True
                yield Rows.of(names, rows, types)
            if not sent:
                yield Rows.of(names, [], types)
        finally:
            _abandon(con)

    def write_parquet(self, sql: str, path: Path) -> int:
        """Write the result to ``path`` with DuckDB's own Parquet writer (no pyarrow).

        DuckDB may write only into the engine's private spool folder; the file is
        moved to ``path`` from there.
        """
        self._require_select(sql)
        con = self.connection
        spooled = self._spool / f"{uuid.uuid4().hex}.parquet"
        try:
            self._run(lambda: con.sql(sql).write_parquet(str(spooled)), con)
            count = self._run(
                lambda: con.execute(
                    "SELECT count(*) FROM read_parquet($path)", {"path": str(spooled)}
                ).fetchall(),
                con,
            )
            shutil.move(spooled, path)
        finally:
            spooled.unlink(missing_ok=True)
        return int(count[0][0])

    def explain(self, sql: str) -> str:
        self._require_select(sql)
        con = self.connection
        rows = self._run(lambda: con.execute(f"EXPLAIN {sql}").fetchall())
        return "\n".join(str(row[-1]) for row in rows)

    # ------------------------------------------------------------ the one write

    def materialize(
        self,
        sql: str,
        name: TableName,
        *,
        kind: MaterializeKind = "table",
        replace: bool = False,
    ) -> None:
        statements = [
            materialize_statement(sql, name, kind, "duckdb"),
            comment_statement(name, kind, "duckdb"),
        ]
        target = tuple(part.name for part in table_expression(name, "duckdb").parts)
        reads = tables_read(sql, "duckdb")
        if self._path is None:
            self._write(self.connection, name, target, reads, statements, replace)
            return
        self._disconnect()
        try:
            writer = self._open(read_only=False)
        except EngineError as error:
            raise self._busy(error, name) from None
        try:
            self._write(writer, name, target, reads, statements, replace)
        finally:
            writer.close()

    def _write(
        self,
        con: duckdb.DuckDBPyConnection,
        name: TableName,
        target: tuple[str, ...],
        reads: Sequence[tuple[str, ...]],
        statements: Sequence[str],
        replace: bool,
    ) -> None:
        """Check the target may be replaced, then create and mark it in one transaction."""

        def write() -> None:
            con.execute("BEGIN TRANSACTION")
            try:
                resolved = _resolve(con, target)
                if resolved in {_resolve(con, table) for table in reads}:
                    raise refuse_replacing(name, "input")
                existing = con.execute(
                    _EXISTING, dict(zip("dst", resolved, strict=True))
                ).fetchall()
                if existing and not replace and not is_own(existing[0][0]):
                    raise refuse_replacing(name, "foreign")
                for statement in statements:
                    con.execute(statement)
                con.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise

        try:
            self._run(write, con)
        except EngineError as error:
            if error.kind == "permission" and error.message.startswith("refusing"):
                raise EngineError(error.kind, f"{self._label}: {error.message}") from None
            if "write-write conflict" in error.message:  # another connection wrote it first
                raise self._busy(error, name) from None
            raise EngineError(
                error.kind, f"{error.message} (while materializing {display_name(name)})"
            ) from None

    def _busy(self, error: EngineError, name: TableName) -> EngineError:
        """A clearer error when another connection in this process holds the file."""
        message = error.message.lower()
        if any(word in message for word in ("different configuration", "lock", "conflict")):
            return EngineError(
                "unreachable",
                f"{self._label}: cannot materialize {display_name(name)}: the database file is "
                "open elsewhere (another connection or process); try again when it is closed",
            )
        return error

    @contextlib.contextmanager
    def write_session(self, lock: str) -> Iterator[WriteSession]:
        """A read-write connection in one transaction. The file's own lock keeps other
        processes out (a second writer gets `BusyError`); a process lock, other threads."""
        held = _SESSION_LOCKS.setdefault((str(self._path), lock), threading.Lock())
        if not held.acquire(blocking=False):
            raise BusyError(f"{self._label}: another session of this process is writing {lock}")
        try:
            if self._path is None:
                con = self.connection
            else:
                self._disconnect()
                try:
                    con = self._open(read_only=False)
                except EngineError as error:
                    if "lock" in error.message.lower():
                        raise BusyError(
                            f"{self._label}: another process has the database file open "
                            f"(cannot take the lock for {lock})"
                        ) from None
                    raise
            try:
                session = _DuckDBSession(self, con)
                self._run(lambda: con.execute("BEGIN TRANSACTION"), con)
                try:
                    yield session
                    self._run(lambda: con.execute("COMMIT"), con)
                except BaseException:
                    with contextlib.suppress(duckdb.Error):
                        con.execute("ROLLBACK")
                    raise
            finally:
                if self._path is not None:
                    con.close()
        finally:
            held.release()

    # ------------------------------------------------------------ catalog

    def describe_tables(self, tables: Sequence[tuple[str, ...]]) -> dict[str, dict[str, str]]:
        con = self.connection
        result: dict[str, dict[str, str]] = {}
        for path in tables:
            if not 1 <= len(path) <= 3:
                raise EngineError("invalid_query", f"{self._label}: bad table path {path!r}")
            database, schema, table = (None,) * (3 - len(path)) + tuple(path)
            names = {"d": database, "s": schema, "t": table}
            rows = self._run(functools.partial(_fetch_all, con, _COLUMNS, names))
            key = ".".join(path)
            if not rows:
                raise EngineError("not_found", f"{self._label}: table {key} does not exist")
            result[key] = {str(column): str(kind) for column, kind in rows}
        return result

    def list_tables(self, schema: str | None = None) -> list[str]:
        con = self.connection
        rows = self._run(
            lambda: con.execute(
                "SELECT DISTINCT table_name FROM duckdb_columns() "
                "WHERE database_name = current_database() "
                "AND lower(schema_name) = lower(coalesce($s, current_schema())) "
                "AND NOT internal ORDER BY 1",
                {"s": schema},
            ).fetchall()
        )
        return [str(row[0]) for row in rows]


# ---------------------------------------------------------------- helpers


_CONNECT_CONFIG: dict[str, str] = {
    # never fetch or load extensions (httpfs for URLs, sqlite/excel readers, ...)
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
}
_LOCK_DOWN: tuple[str, ...] = (
    "SET enable_external_access = false",
    # FROM some_name must not read a Python variable (external access off blocks
    # that too, on every connection to the database)
    "SET python_enable_replacements = false",
    "SET enable_progress_bar = false",  # it writes to stdout, into captured output
    "SET lock_configuration = true",
)


_OPENING = threading.Lock()
_SESSION_LOCKS: dict[tuple[str, str], threading.Lock] = {}


class _DuckDBSession(WriteSession):
    def __init__(self, engine: DuckDBEngine, con: duckdb.DuckDBPyConnection) -> None:
        self._engine = engine
        self._con = con

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        con = self._con
        return self._engine._run(lambda: _fetch_all(con, sql, {}), con)


@functools.cache
def _process_spool() -> Path:
    """This process's private folder for Parquet exports and spill files (removed at exit).

    One per process, so every engine on one database file asks DuckDB for the
    same configuration (DuckDB shares a file's database within a process).
    """
    folder = Path(tempfile.mkdtemp(prefix="segdsl-duckdb-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _spill_name(path: Path | None) -> str:
    """A spill folder per database (DuckDB's spill file names are per database only)."""
    key = str(path) if path is not None else uuid.uuid4().hex
    return "spill-" + hashlib.sha256(key.encode()).hexdigest()[:16]


_EXISTING = (
    "SELECT comment FROM duckdb_tables() WHERE lower(database_name) = lower($d) "
    "AND lower(schema_name) = lower($s) AND lower(table_name) = lower($t) "
    "UNION ALL SELECT comment FROM duckdb_views() WHERE lower(database_name) = lower($d) "
    "AND lower(schema_name) = lower($s) AND lower(view_name) = lower($t) AND NOT internal"
)


def _resolve(con: duckdb.DuckDBPyConnection, parts: Sequence[str]) -> tuple[str, str, str]:
    """(database, schema, table) of a written table name, lower case, defaults filled in."""
    database, schema, table = (None,) * (3 - len(parts)) + tuple(parts)
    row = con.execute(
        "SELECT coalesce($d, current_database()), coalesce($s, current_schema())",
        {"d": database, "s": schema},
    ).fetchall()[0]
    return (str(row[0]).lower(), str(row[1]).lower(), str(table).lower())


def _abandon(con: duckdb.DuckDBPyConnection) -> None:
    """End a result read only in part (DuckDB ≥ 2 blocks the connection until then)."""
    abort = getattr(con, "abort", None)
    if abort is not None:
        with contextlib.suppress(duckdb.Error):
            abort()


def _folder(path: Path) -> str:
    """An absolute folder path ending in the separator, so ``/a/b`` does not allow ``/a/bc``."""
    return f"{str(Path(path).expanduser().resolve()).rstrip(os.sep)}{os.sep}"


def _fetch_all(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object]) -> list[Any]:
    return con.execute(sql, dict(params)).fetchall()


def _first_lines(message: str) -> str:
    """DuckDB's message up to its ``LINE n:`` context or first blank line."""
    kept: list[str] = []
    for line in message.splitlines():
        if not line.strip() or line.startswith("LINE "):
            break
        kept.append(line.strip())
    return " ".join(kept) or message.strip()


def _kind_of(error: BaseException, default: ErrorKind) -> ErrorKind:
    text = str(error).lower()
    if isinstance(error, duckdb.InterruptException):
        return "cancelled"
    if isinstance(error, duckdb.CatalogException | duckdb.BinderException):
        return "not_found" if ("does not exist" in text or "not found" in text) else "invalid_query"
    if isinstance(error, duckdb.PermissionException) or "read-only mode" in text:
        return "permission"
    if isinstance(error, duckdb.IOException | duckdb.ConnectionException):
        return "unreachable"
    if isinstance(error, duckdb.ParserException | duckdb.SyntaxException):
        return "invalid_query"
    if isinstance(
        error,
        duckdb.ConversionException
        | duckdb.InvalidInputException
        | duckdb.OutOfRangeException
        | duckdb.TypeMismatchException
        | duckdb.InvalidTypeException
        | duckdb.NotImplementedException,
    ):
        return "invalid_query"
    return default
