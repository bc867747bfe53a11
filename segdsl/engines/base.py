"""What every engine offers: the `Engine` base class and `EngineError` (kind + one-line message).

Input: compiled SQL text; output: `Rows` blocks (names + Python values, no
Arrow), plan text, table descriptions, or a clean `EngineError`. Shared pieces live here: the one
write statement (`materialize_statement`), the read-only check on a query's
first keyword, and `run_interruptible` (Ctrl-C / time limit → cancel callback).
"""

from __future__ import annotations

import abc
import concurrent.futures
import contextlib
import re
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, TypeVar, get_args

from segdsl.engines.rows import Rows, concat
from segdsl.engines.urls import redact

if TYPE_CHECKING:
    from pathlib import Path

    from sqlglot import exp

__all__ = [
    "BUSY_MARKER",
    "DEFAULT_BATCH_ROWS",
    "Batches",
    "BusyError",
    "Engine",
    "EngineError",
    "ErrorKind",
    "MaterializeKind",
    "TableName",
    "WriteSession",
    "materialize_statement",
    "one_line",
    "tables_read",
]

ErrorKind = Literal[
    "unreachable",
    "not_found",
    "permission",
    "timeout",
    "cancelled",
    "invalid_query",
    "too_expensive",
    "other",
]
ERROR_KINDS: frozenset[str] = frozenset(get_args(ErrorKind))
MaterializeKind = Literal["table", "view"]
Batches = Generator[Rows, None, None]
"""What `Engine.query_batches` returns: close it to end a query early."""
TableName = str | Sequence[str]
DialectName = Literal["duckdb", "postgres", "bigquery", "spark", "clickhouse"]

DEFAULT_BATCH_ROWS = 50_000
_MAX_MESSAGE = 500

T = TypeVar("T")


def one_line(text: str, *, limit: int = _MAX_MESSAGE) -> str:
    """``text`` with all whitespace runs collapsed to one space, cut to ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class EngineError(Exception):
    """A failure in the execution layer: ``kind`` says what, ``message`` says it in one line.

    The message always goes through `redact`, so it never shows a password.
    """

    def __init__(
        self, kind: ErrorKind, message: str, *, secrets: tuple[str | None, ...] = ()
    ) -> None:
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown EngineError kind {kind!r}")
        self.kind: ErrorKind = kind
        self.message = one_line(redact(message, secrets))
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"EngineError({self.kind!r}, {self.message!r})"


class BusyError(EngineError):
    """Another writer holds the lock a write session asked for (see `Engine.write_session`)."""

    def __init__(self, message: str) -> None:
        super().__init__("other", message)


BUSY_MARKER = "segdsl-busy:"
"""Starts the message of a write that finds another writer came first where the engine
has no lock to take (BigQuery: the writer's own compare-and-set fails); the engine turns
such a failure into `BusyError`."""


class WriteSession(abc.ABC):
    """Statements inside one write transaction (`Engine.write_session`)."""

    @abc.abstractmethod
    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one statement; its rows (none for statements that return none)."""

    def qualify(self, query: exp.Expr) -> exp.Expr:
        """The query with its tables named as the session needs them (BigQuery: the
        URL's dataset on unqualified ones); as it is elsewhere."""
        return query


# ---------------------------------------------------------------- read-only check

_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_WRITE_KEYWORDS = frozenset(
    re.findall(
        r"\w+",
        """abort alter analyze attach begin call checkpoint cluster comment commit copy create
        deallocate declare delete detach discard do drop end execute export grant import insert
        install load lock merge move notify prepare reassign refresh reindex release replace
        reset revoke rollback savepoint security set start truncate unlisten update upsert use
        vacuum""",
    )
)


def leading_keyword(sql: str) -> str:
    """The first keyword of ``sql`` (lower case), skipping comments and opening parentheses."""
    text = _COMMENTS.sub(" ", sql).lstrip().lstrip("(").lstrip()
    match = re.match(r"[A-Za-z_]+", text)
    return match.group(0).lower() if match else ""


def require_query(sql: str, engine: str) -> None:
    """Raise a ``permission`` `EngineError` if ``sql`` starts with a writing or session keyword.

    Other text goes on to the engine, which reports typos as syntax errors; the
    engine's own guard (read-only transaction or connection) stays the real one.
    """
    keyword = leading_keyword(sql)
    if keyword in _WRITE_KEYWORDS or not keyword:
        shown = keyword.upper() or "an empty statement"
        raise EngineError(
            "permission",
            f"{engine}: only read-only queries can be run, not {shown} "
            "(the only write is materialize: CREATE OR REPLACE TABLE/VIEW ... AS <query>)",
        )


# ---------------------------------------------------------------- materialize

_SQLGLOT_DIALECT: dict[str, str] = {
    "duckdb": "duckdb",
    "postgres": "postgres",
    "bigquery": "bigquery",
    "spark": "spark",
    "clickhouse": "clickhouse",
}


def parse_query(sql: str, dialect: DialectName) -> exp.Query:
    """Parse ``sql`` as exactly one query (SELECT / set operation, CTEs allowed)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        statements = [s for s in sqlglot.parse(sql, dialect=_SQLGLOT_DIALECT[dialect]) if s]
    except SqlglotError as error:
        raise EngineError(
            "invalid_query", f"{dialect}: cannot parse the query to materialize: {error}"
        ) from None
    if len(statements) != 1:
        raise EngineError(
            "invalid_query",
            f"{dialect}: materialize takes exactly one query, got {len(statements)} statements",
        )
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise EngineError(
            "permission",
            f"{dialect}: materialize takes a query (SELECT), not {statement.key.upper()}",
        )
    return statement


def table_expression(name: TableName, dialect: DialectName) -> exp.Table:
    """A quoted sqlglot table for ``name``.

    A string is read as the dialect would read it in SQL (``schema.table``, quoted
    parts kept as written, unquoted parts normalised, e.g. lower-cased on Postgres);
    a sequence of strings is taken as the exact parts. At most three parts.
    """
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    if isinstance(name, str):
        try:
            table = sqlglot.parse_one(name, into=exp.Table, dialect=_SQLGLOT_DIALECT[dialect])
        except (SqlglotError, ValueError):
            raise EngineError("invalid_query", f"{dialect}: {name!r} is not a table name") from None
        if not isinstance(table, exp.Table) or table.alias or not table.name:
            raise EngineError("invalid_query", f"{dialect}: {name!r} is not a table name")
        extra = set(table.args) - {"this", "db", "catalog"}
        parts = [table.args.get(key) for key in ("catalog", "db", "this")]
        if any(table.args.get(key) for key in extra) or not all(
            part is None or isinstance(part, exp.Identifier) for part in parts
        ):
            raise EngineError("invalid_query", f"{dialect}: {name!r} is not a plain table name")
        if dialect != "duckdb":  # DuckDB ignores case anyway; keep the name as written
            table = normalize_identifiers(table, dialect=_SQLGLOT_DIALECT[dialect])
        assert isinstance(table, exp.Table)
        names = [part.name for part in table.parts]
    else:
        names = list(name)
    if not 1 <= len(names) <= 3 or not all(isinstance(p, str) and p for p in names):
        raise EngineError(
            "invalid_query", f"{dialect}: a table name has 1 to 3 non-empty parts, got {names!r}"
        )
    padded: list[str | None] = [None] * (3 - len(names)) + list(names)
    catalog, db, this = padded
    return exp.Table(
        this=exp.to_identifier(this, quoted=True),
        db=exp.to_identifier(db, quoted=True) if db else None,
        catalog=exp.to_identifier(catalog, quoted=True) if catalog else None,
    )


def materialize_statement(
    sql: str, name: TableName, kind: MaterializeKind, dialect: DialectName, *, replace: bool = True
) -> str:
    """``CREATE [OR REPLACE] TABLE|VIEW <name> AS <sql>``, built as a sqlglot tree.

    ``sql`` must parse as exactly one query; anything else is refused.
    """
    from sqlglot import exp

    query = materialized_query(sql, kind, dialect)
    create = exp.Create(
        this=table_expression(name, dialect),
        kind=kind.upper(),
        replace=replace,
        expression=query,
    )
    return create.sql(dialect=_SQLGLOT_DIALECT[dialect])


def materialized_query(sql: str, kind: MaterializeKind, dialect: DialectName) -> exp.Query:
    """``sql`` parsed as exactly one query to store as a ``kind``; anything else is refused."""
    if kind not in ("table", "view"):
        raise EngineError(
            "invalid_query", f"materialize kind must be 'table' or 'view', not {kind!r}"
        )
    return parse_query(sql, dialect)


MARKER = "segdsl: materialized"
"""How a table or view segdsl created is marked (its comment / description starts so)."""


def marker_text(kind: MaterializeKind) -> str:
    return f"{MARKER} {kind}; replaced by the next `seg run --materialize`"


def is_own(comment: object) -> bool:
    """True when a table comment / description says segdsl created the table."""
    return isinstance(comment, str) and comment.startswith(MARKER)


def comment_statement(name: TableName, kind: MaterializeKind, dialect: DialectName) -> str:
    """``COMMENT ON TABLE|VIEW <name> IS '<marker>'`` (DuckDB and Postgres)."""
    from sqlglot import exp

    comment = exp.Comment(
        this=table_expression(name, dialect),
        kind=kind.upper(),
        expression=exp.Literal.string(marker_text(kind)),
    )
    return comment.sql(dialect=_SQLGLOT_DIALECT[dialect])


def tables_read(sql: str, dialect: DialectName) -> list[tuple[str, ...]]:
    """The tables a query reads, as their written parts (CTE names left out)."""
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    found: list[tuple[str, ...]] = []
    for scope in traverse_scope(parse_query(sql, dialect)):
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and source.name:
                parts = (source.catalog, source.db, source.name)
                found.append(tuple(part for part in parts if part))
    return found


def marker_property(kind: MaterializeKind) -> exp.SchemaCommentProperty:
    """The ``COMMENT '<marker>'`` of a CREATE (engines that take the comment there)."""
    from sqlglot import exp

    return exp.SchemaCommentProperty(this=exp.Literal.string(marker_text(kind)))


@contextlib.contextmanager
def materializing(name: TableName) -> Generator[None, None, None]:
    """An `EngineError` inside says which table was being materialised."""
    try:
        yield
    except EngineError as error:
        raise EngineError(
            error.kind, f"{error.message} (while materializing {display_name(name)})"
        ) from None


def refuse_replacing(name: TableName, reason: str, *, label: str = "") -> EngineError:
    """The refusal to overwrite ``name``: the model's input, or a table segdsl did not make
    (the message after ``label``, the engine's, when given)."""
    shown = display_name(name)
    prefix = f"{label}: " if label else ""
    if reason == "input":
        return EngineError(
            "permission",
            f"{prefix}refusing to replace {shown}: the query reads it "
            "(materialize into another table)",
        )
    return EngineError(
        "permission",
        f"{prefix}refusing to replace {shown}: it exists and segdsl did not create it "
        "(choose another name, or pass --replace to replace it anyway)",
    )


def drop_statement(name: TableName, kind: MaterializeKind, dialect: DialectName) -> str:
    """``DROP TABLE|VIEW IF EXISTS <name>`` (for engines without CREATE OR REPLACE TABLE)."""
    from sqlglot import exp

    drop = exp.Drop(tables=[table_expression(name, dialect)], kind=kind.upper(), exists=True)
    return drop.sql(dialect=_SQLGLOT_DIALECT[dialect])


def display_name(name: TableName) -> str:
    """``name`` as text for messages."""
    return name if isinstance(name, str) else ".".join(name)


# ---------------------------------------------------------------- interrupts

MAX_TIMEOUT = (2**31 - 1) / 1000
"""The longest statement time limit, in seconds (about 24.8 days: Postgres's maximum)."""


def effective_timeout(seconds: float | None) -> float | None:
    """The time limit an engine applies: None (no limit) for None, 0 or past `MAX_TIMEOUT`.

    Longer limits overflow the clocks below (Python's lock waits, Postgres's
    ``statement_timeout``), so they mean what they say in practice: no limit.

    >>> effective_timeout(100_000_000_000) is None, effective_timeout(30.0)
    (True, 30.0)
    """
    if seconds is None or seconds == 0 or seconds > MAX_TIMEOUT:
        return None
    if not seconds > 0:  # negative or NaN
        raise EngineError("other", f"the statement time limit must be positive, not {seconds!r}")
    return float(seconds)


def run_interruptible(
    call: Callable[[], T],
    cancel: Callable[[], object],
    *,
    timeout: float | None,
    on_timeout: Callable[[], EngineError],
    on_cancel: Callable[[], EngineError],
) -> T:
    """Run a blocking ``call`` in a worker thread so Ctrl-C and ``timeout`` can stop it.

    On KeyboardInterrupt or after ``timeout`` seconds, ``cancel()`` is called (e.g.
    ``connection.interrupt()``), the worker is waited for, and the error from
    ``on_cancel()`` / ``on_timeout()`` is raised. From a non-main thread (where no
    KeyboardInterrupt arrives) only the timeout applies.
    """
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def work() -> None:
        if not future.set_running_or_notify_cancel():
            return  # cancelled before it started
        try:
            future.set_result(call())
        except BaseException as error:
            future.set_exception(error)

    try:
        # The future exists before the thread: a Ctrl-C that lands while the thread
        # starts still finds it (and cancels the call before it runs, or stops it).
        threading.Thread(target=work, name="segdsl-query").start()
        return _result(future, timeout)
    except concurrent.futures.TimeoutError:
        reason = on_timeout
    except KeyboardInterrupt:
        reason = on_cancel
    if not future.cancel():  # already running: stop it in the database
        _cancel_until_done(future, cancel)
    raise reason() from None


def _result(future: concurrent.futures.Future[T], timeout: float | None) -> T:
    """The call's result, waiting in short steps.

    A process-directed SIGINT may be delivered to another thread (the worker, or one of
    the database's own); Python then runs its handler only when the main thread next
    executes, so a wait that never wakes up would never see the Ctrl-C.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        step = _WAKE_UP if deadline is None else min(_WAKE_UP, deadline - time.monotonic())
        if step <= 0:
            raise concurrent.futures.TimeoutError
        with contextlib.suppress(concurrent.futures.TimeoutError):
            return future.result(timeout=step)


_WAKE_UP = 0.1  # seconds between two looks at pending signals while a query runs


def _cancel_until_done(
    future: concurrent.futures.Future[T], cancel: Callable[[], object], *, limit: float = 30.0
) -> None:
    """Cancel the call and wait for it to end, cancelling again while it still runs.

    An interrupt that lands before the database has started the statement is a no-op
    there (DuckDB's `interrupt()` stops only a running query), so one cancel can be
    lost on a busy machine. A second Ctrl-C stops waiting.
    """
    deadline = time.monotonic() + limit
    with contextlib.suppress(KeyboardInterrupt):
        cancel()
        while not future.done() and time.monotonic() < deadline:
            if not concurrent.futures.wait([future], timeout=0.2).done:
                cancel()


def in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


# ---------------------------------------------------------------- the engine


@dataclass
class Spent:
    """Bytes the queries of one command processed and were billed for (BigQuery)."""

    bytes_processed: int = 0
    bytes_billed: int = 0
    queries: int = 0

    def to_json(self) -> dict[str, int]:
        return {
            "bytes_processed": self.bytes_processed,
            "bytes_billed": self.bytes_billed,
            "queries": self.queries,
        }


class Engine(abc.ABC):
    """A connection to one database that runs compiled SQL read-only.

    Use as a context manager, or call `close`. Query parameters use the engine's
    own placeholders: DuckDB ``$name``, Postgres ``%(name)s``, BigQuery ``@name``.
    `query_batches` always yields at least one (possibly empty) batch, so the
    schema is known even for an empty result.
    """

    dialect: DialectName
    # `seg run`, `explain --db` and `why` read the column types of the tables they use
    # first (segdsl.execute.fit_to_warehouse) and compile to match: a BigQuery TIMESTAMP
    # or a Postgres timestamptz is an instant even where `time occurred_at` has no type
    reads_column_types: ClassVar[bool] = False

    @abc.abstractmethod
    def query_batches(
        self,
        sql: str,
        *,
        params: Mapping[str, object] | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> Batches:
        """Stream the result of one read-only query as record batches of ≤ ``batch_rows`` rows."""

    def query(self, sql: str, params: Mapping[str, object] | None = None) -> Rows:
        """The whole result as one `Rows` block (for small results)."""
        return concat(self.query_batches(sql, params=params))

    def write_parquet(self, sql: str, path: Path) -> int:
        """Write the query's result to the Parquet file ``path``; return the row count.

        The default streams Arrow batches (`arrow_batches`) into pyarrow's writer;
        DuckDB writes Parquet itself.
        """
        from segdsl.engines.arrow import write_parquet

        return write_parquet(self.arrow_batches(sql), path, engine=self.dialect)

    def arrow_batches(self, sql: str) -> Generator[object, None, None]:
        """The result as pyarrow record batches (engines that can; needs pyarrow)."""
        raise EngineError("other", f"{self.dialect}: cannot produce Arrow batches")

    @abc.abstractmethod
    def materialize(
        self,
        sql: str,
        name: TableName,
        *,
        kind: MaterializeKind = "table",
        replace: bool = False,
    ) -> None:
        """Store the query's result as table or view ``name``; the only write.

        The new table or view is marked as segdsl's (a comment / description), and
        a marked one is replaced. An existing table or view without the mark is
        replaced only with ``replace=True``; a table the query reads, never.
        Refusals are ``permission`` errors.
        """

    def write_session(self, lock: str) -> contextlib.AbstractContextManager[WriteSession]:
        """One write transaction holding the lock named ``lock``: committed when the block
        ends normally, rolled back on any error, Ctrl-C or crash. A second session on the
        same lock (any process) gets `BusyError` instead of waiting. Only segdsl's own
        history tables are written this way (`segdsl.history`)."""
        raise EngineError("other", f"{self.dialect}: cannot write a history here")

    @abc.abstractmethod
    def explain(self, sql: str) -> str:
        """The engine's own plan (BigQuery: dry-run statistics) as text."""

    def estimate_bytes(self, sql: str) -> int | None:
        """Bytes the query would process (BigQuery dry run); None where unknown."""
        return None

    def reserve(self, sqls: Sequence[str]) -> None:
        """Refuse, before any of them is sent, queries that together would cost more
        than the engine allows (BigQuery: the sum of their dry-run estimates and of the
        queries already sent against ``maximum_bytes_billed``). Others allow all."""
        return None

    def estimates_only(self) -> None:
        """From now on send nothing that costs (BigQuery: dry runs and free metadata
        calls only; a query job is refused). Engines that bill nothing ignore this."""
        return None

    @property
    def spent(self) -> Spent | None:
        """What the queries sent so far cost (BigQuery); None where nothing is billed."""
        return None

    @abc.abstractmethod
    def describe_tables(self, tables: Sequence[tuple[str, ...]]) -> dict[str, dict[str, str]]:
        """For each table path: column name → engine type name, in column order.

        Keys are the paths joined with ``.``; a missing table raises ``not_found``.
        """

    @abc.abstractmethod
    def list_tables(self, schema: str | None = None) -> list[str]:
        """Names of the tables and views in ``schema`` (default: the current one), sorted."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection; further calls fail."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
