"""ClickHouse URL + SQL → `Rows`, Parquet files, plans and table descriptions.

Two ways in, one engine: a server over HTTP(S) through clickhouse-connect
(``segdsl[clickhouse]``), or the embedded ClickHouse of the ``chdb`` package
(``segdsl[chdb]``) on a data folder. chdb runs one embedded server per process, on
one folder (`acquire_session`): ``clickhouse://`` without a folder is a private
database in whichever embedded server the process has open (a temporary one if
none), dropped when the engine closes.

Read-only: a query must parse (sqlglot, ClickHouse dialect) as exactly one SELECT,
and it is sent with ``readonly = 1`` added last to its SETTINGS (no writes, no
table functions reading files or URLs) and ``max_execution_time`` for the time
limit. The one write is `materialize`: ``CREATE OR REPLACE TABLE … ENGINE =
MergeTree ORDER BY () AS <query> COMMENT '<marker>'`` (or a VIEW).
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Generator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

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
from segdsl.engines.urls import ClickHouseURL, mask, secrets_of

__all__ = ["SESSION_LOCK", "ClickHouseEngine", "acquire_session", "release_session"]


# ---------------------------------------------------------------- chdb sessions

_SESSIONS = threading.Lock()
SESSION_LOCK = threading.Lock()
"""Held from a `USE db` to the end of the query after it: the session is shared."""
_open: dict[str, Any] = {}  # "session", "path" (None: temporary), "folder", "users"


def acquire_session(path: Path | None) -> tuple[Any, Path | None]:
    """The process's chdb session on ``path`` (None: whichever is open, else a temporary
    one) and the path it is on (None: temporary). Release it with `release_session`.

    chdb runs one embedded server per process, on one folder: a different folder can
    be opened only when no engine uses the open one.
    """
    from chdb.session import Session

    with _SESSIONS:
        current = _open.get("session")
        wanted = path.expanduser().resolve() if path is not None else None
        if current is not None and (wanted is None or _open["path"] == wanted):
            _open["users"] += 1
            return current, _open["path"]
        if current is not None:
            if _open["users"]:
                raise EngineError(
                    "other",
                    f"chdb: this process already uses the embedded ClickHouse on "
                    f"{_open['path'] or 'a temporary folder'}; one folder per process",
                )
            _close_session()
        if wanted is not None:
            wanted.mkdir(parents=True, exist_ok=True)
            folder = wanted
        else:
            folder = Path(tempfile.mkdtemp(prefix="segdsl-chdb-"))
        try:
            session = Session(str(folder))  # type: ignore[no-untyped-call]
        except RuntimeError as error:
            raise EngineError("unreachable", f"chdb: {_message(error)}") from None
        _open.update(session=session, path=wanted, folder=folder, users=1)
        return session, wanted


def release_session() -> None:
    """One user fewer; a session on a named folder is closed with its last user."""
    with _SESSIONS:
        if not _open.get("session"):
            return
        _open["users"] = max(0, _open["users"] - 1)
        if _open["users"] == 0 and _open["path"] is not None:
            _close_session()


def _close_session() -> None:
    session, path, folder = _open["session"], _open["path"], _open["folder"]
    _open.clear()
    session.close()
    if path is None:
        shutil.rmtree(folder, ignore_errors=True)


@atexit.register
def _close_at_exit() -> None:
    with _SESSIONS:
        if _open.get("session"):
            _close_session()


# ---------------------------------------------------------------- backends


class _Chdb:
    """The embedded ClickHouse: one session per process, maybe a private database."""

    def __init__(self, url: ClickHouseURL) -> None:
        self.session, _ = acquire_session(url.path)
        self.database: str | None = None
        self.closed = False
        if url.path is None:
            self.database = f"segdsl_{uuid.uuid4().hex[:16]}"
            try:
                self.command(f"CREATE DATABASE `{self.database}`")
            except BaseException:
                self.close()
                raise

    def arrow(self, sql: str, params: Mapping[str, object] | None) -> Any:
        with SESSION_LOCK:
            if self.database is not None:
                self.session.query(f"USE `{self.database}`", "CSV")
            result = self.session.query(sql, "ArrowTable", params=dict(params or {}))
        return result

    def command(self, sql: str) -> None:
        with SESSION_LOCK:
            if self.database is not None and not sql.startswith("CREATE DATABASE"):
                self.session.query(f"USE `{self.database}`", "CSV")
            self.session.query(sql, "CSV")

    def cancel(self) -> None:
        """chdb cannot stop a running query: the time limit (max_execution_time) does."""

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.database is not None:
                self.session.query(f"DROP DATABASE IF EXISTS `{self.database}`", "CSV")
        finally:
            release_session()


class _Server:
    """A ClickHouse server over HTTP(S) (clickhouse-connect)."""

    def __init__(self, url: ClickHouseURL, connect_timeout: float) -> None:
        import clickhouse_connect

        self.client = clickhouse_connect.get_client(
            host=url.host,
            port=url.port or (8443 if url.secure else 8123),
            username=url.user or "default",
            password=url.password or "",
            database=url.database or "__default__",
            secure=url.secure,
            connect_timeout=connect_timeout,
        )

    def arrow(self, sql: str, params: Mapping[str, object] | None) -> Any:
        # a closed HTTP connection (Ctrl-C) cancels the server's read-only query
        return self.client.query_arrow(
            sql,
            parameters=dict(params or {}),
            settings={"cancel_http_readonly_queries_on_client_close": 1},
        )

    def command(self, sql: str) -> None:
        self.client.command(sql)

    def cancel(self) -> None:
        self.client.close()

    def close(self) -> None:
        self.client.close()


# ---------------------------------------------------------------- the engine


class ClickHouseEngine(Engine):
    """A ClickHouse server, or the embedded ClickHouse (chdb)."""

    dialect = "clickhouse"

    def __init__(
        self,
        url: ClickHouseURL,
        *,
        statement_timeout: float | None = 300.0,
        connect_timeout: float = 15.0,
    ) -> None:
        self._url = url
        self._secrets = secrets_of(url)
        self._label = f"clickhouse {mask(url.raw) if url.raw else ''}".strip()
        self._timeout = effective_timeout(statement_timeout)
        self._backend: _Chdb | _Server | None = None
        try:
            self._backend = _Chdb(url) if url.embedded else _Server(url, connect_timeout)
        except EngineError as error:
            raise EngineError(error.kind, f"{self._label}: {error.message}") from None
        except Exception as error:
            raise self._error(error, default="unreachable") from None

    @property
    def backend(self) -> _Chdb | _Server:
        if self._backend is None:
            raise EngineError("other", f"{self._label}: the connection is closed")
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            backend, self._backend = self._backend, None
            backend.close()

    # ------------------------------------------------------------ errors

    def _error(self, error: BaseException, *, default: ErrorKind = "other") -> EngineError:
        message = _message(error)
        return EngineError(
            _kind_of(error, message, default), f"{self._label}: {message}", secrets=self._secrets
        )

    def _run(self, call: Any) -> Any:
        backend = self.backend
        try:
            return run_interruptible(
                call,
                backend.cancel,
                timeout=None if self._timeout is None else self._timeout + 5,
                on_timeout=lambda: EngineError(
                    "timeout",
                    f"{self._label}: query stopped after the {self._timeout:g} s time limit",
                ),
                on_cancel=lambda: EngineError("cancelled", f"{self._label}: query cancelled"),
            )
        except EngineError:
            raise
        except Exception as error:
            raise self._error(error) from None

    # ------------------------------------------------------------ queries

    def _read_only(self, sql: str) -> str:
        """``sql`` as one SELECT with ``readonly = 1`` (and the time limit) in its SETTINGS."""
        require_query(sql, self._label)
        try:
            query = parse_query(sql, "clickhouse")
        except EngineError as error:
            message = error.message.replace("materialize takes", "expected")
            raise EngineError(error.kind, f"{self._label}: {message}") from None
        settings = list(query.args.get("settings") or [])
        if self._timeout is not None:
            settings.append(_setting("max_execution_time", max(1, round(self._timeout))))
        settings.append(_setting("readonly", 1))  # last: the settings before it still apply
        query.set("settings", settings)
        return query.sql(dialect="clickhouse", identify=True)

    def _arrow(self, sql: str, params: Mapping[str, object] | None = None) -> Any:
        guarded = self._read_only(sql)
        backend = self.backend
        table = self._run(lambda: backend.arrow(guarded, params))
        return _naive_times(table)

    def query_batches(
        self,
        sql: str,
        *,
        params: Mapping[str, object] | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> Batches:
        from segdsl.engines.arrow import batches_of, rows_from_arrow

        for batch in batches_of(self._arrow(sql, params), batch_rows):
            yield rows_from_arrow(batch)

    def arrow_batches(self, sql: str) -> Generator[object, None, None]:
        from segdsl.engines.arrow import batches_of

        yield from batches_of(self._arrow(sql))

    def explain(self, sql: str) -> str:
        text = parse_query(sql, "clickhouse").sql(dialect="clickhouse", identify=True)
        backend = self.backend
        table = self._run(lambda: backend.arrow(f"EXPLAIN PLAN {text}", None))
        return "\n".join(str(value) for value in table.column(0).to_pylist())

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

        query = materialized_query(sql, kind, "clickhouse")
        target = table_expression(name, "clickhouse")
        if target.catalog:
            raise EngineError(
                "invalid_query",
                f"{self._label}: a ClickHouse table name is database.table, "
                f"not {display_name(name)}",
            )
        current = self._current_database()
        resolved = (target.db or current, target.name)
        reads = {
            (parts[-2] if len(parts) > 1 else current, parts[-1])
            for parts in tables_read(sql, "clickhouse")
        }
        if resolved in reads:
            raise refuse_replacing(name, "input", label=self._label)
        existing = (
            self._arrow(
                "SELECT comment FROM system.tables "
                "WHERE database = {d:String} AND name = {t:String}",
                {"d": resolved[0], "t": resolved[1]},
            )
            .column(0)
            .to_pylist()
        )
        if existing and not replace and not is_own(existing[0]):
            raise refuse_replacing(name, "foreign", label=self._label)
        properties: list[exp.Expr] = []
        if kind == "table":
            properties += [
                exp.EngineProperty(this=exp.var("MergeTree")),
                exp.Order(expressions=[exp.Ordered(this=exp.Tuple(expressions=[]))]),
            ]
        properties.append(marker_property(kind))
        create = exp.Create(
            this=target,
            kind=kind.upper(),
            replace=True,
            expression=query,
            properties=exp.Properties(expressions=properties),
        )
        statement = create.sql(dialect="clickhouse", identify=True)
        backend = self.backend
        with materializing(name):
            self._run(lambda: backend.command(statement))

    def _current_database(self) -> str:
        rows = self._arrow("SELECT currentDatabase()").column(0).to_pylist()
        return str(rows[0])

    # ------------------------------------------------------------ catalog

    def describe_tables(self, tables: Sequence[tuple[str, ...]]) -> dict[str, dict[str, str]]:
        result: dict[str, dict[str, str]] = {}
        for path in tables:
            if not 1 <= len(path) <= 2:
                raise EngineError("invalid_query", f"{self._label}: bad table path {path!r}")
            database = path[0] if len(path) == 2 else self._current_database()
            columns = self._arrow(
                "SELECT name, type FROM system.columns "
                "WHERE database = {d:String} AND table = {t:String} ORDER BY position",
                {"d": database, "t": path[-1]},
            )
            key = ".".join(path)
            names, kinds = columns.column(0).to_pylist(), columns.column(1).to_pylist()
            if not names:
                raise EngineError("not_found", f"{self._label}: table {key} does not exist")
            result[key] = {str(n): str(k) for n, k in zip(names, kinds, strict=True)}
        return result

    def list_tables(self, schema: str | None = None) -> list[str]:
        names = self._arrow(
            "SELECT name FROM system.tables WHERE database = {d:String} ORDER BY name",
            {"d": schema if schema is not None else self._current_database()},
        )
        return [str(name) for name in names.column(0).to_pylist()]

    # ------------------------------------------------------------ loading (seg demo)

    def load_arrow(
        self, database: str, table: str, columns: Sequence[str], batches: Iterable[Any]
    ) -> int:
        """Replace ``database.table`` (``columns``: ``name Type`` definitions) with the rows
        of the Arrow record ``batches``; return the rows. The demo warehouse's copy."""
        backend = self.backend
        target = f"`{database}`.`{table}`"
        statements = [
            f"CREATE DATABASE IF NOT EXISTS `{database}`",
            f"DROP TABLE IF EXISTS {target}",
            f"CREATE TABLE {target} ({', '.join(columns)}) ENGINE = MergeTree ORDER BY ()",
        ]
        for statement in statements:
            self._run(lambda statement=statement: backend.command(statement))
        import pyarrow as pa

        count = 0
        for batch in batches:
            data = pa.Table.from_batches([batch])
            count += data.num_rows
            if isinstance(backend, _Server):
                insert = backend.client.insert_arrow
                self._run(lambda data=data, insert=insert: insert(table, data, database=database))
            else:
                self._run(lambda data=data: _chdb_insert(backend.session, target, data))
        return count


# ---------------------------------------------------------------- helpers


def _chdb_insert(session: Any, target: str, data: Any) -> None:
    rows = data  # noqa: F841 (chdb's Python() table function finds it by name)
    with SESSION_LOCK:
        session.query(f"INSERT INTO {target} SELECT * FROM Python(rows)", "CSV")


def _setting(name: str, value: int) -> Any:
    from sqlglot import exp

    return exp.EQ(this=exp.column(name), expression=exp.Literal.number(value))


def _naive_times(table: Any) -> Any:
    """Zoned timestamps as naive UTC ones: segdsl's SQL shows wall-clock times in UTC."""
    import pyarrow as pa

    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            naive = table.column(index).cast(pa.timestamp(field.type.unit))
            table = table.set_column(index, pa.field(field.name, naive.type), naive)
    return table


_CODE_NAME = re.compile(r"\(([A-Z][A-Z_0-9]+)\)")
_KINDS: dict[str, ErrorKind] = {
    "UNKNOWN_TABLE": "not_found",
    "UNKNOWN_DATABASE": "not_found",
    "TIMEOUT_EXCEEDED": "timeout",
    "QUERY_WAS_CANCELLED": "cancelled",
    "READONLY": "permission",
    "ACCESS_DENIED": "permission",
    "AUTHENTICATION_FAILED": "permission",
    "REQUIRED_PASSWORD": "permission",
}


def _message(error: BaseException) -> str:
    """ClickHouse's message without its stack trace and version suffix."""
    text = str(error).strip()
    text = text.split("Stack trace:")[0].strip()
    return re.sub(r"\s*\(version [^)]*\)", "", text)


def _kind_of(error: BaseException, message: str, default: ErrorKind) -> ErrorKind:
    names = _CODE_NAME.findall(message)
    if names:
        return _KINDS.get(names[-1], "invalid_query")
    kind = type(error).__name__
    if kind == "OperationalError" or "connection refused" in message.lower():
        return "unreachable"
    return default
