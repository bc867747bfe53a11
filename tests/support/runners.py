"""Run one SQL string against fixture tables on DuckDB, Postgres, ZetaSQL (BigQuery) or Spark.

Every runner loads the same :class:`~tests.support.tables.TableSpec` fixtures, and
``query()`` returns rows of normalised Python values (see :func:`normalize_value`)
so results of the per-dialect SQL can be compared with ``==`` across engines.
Rows keep the engine's order; sort them yourself (:func:`sorted_rows`) when the
query has no total ORDER BY. Engine errors are raised as :class:`EngineError`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import functools
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, Protocol

import duckdb
import psycopg
import pyarrow as pa
from psycopg import sql as pgsql
from wasmtime import Config, Engine, Func, Linker, Module, Store, WasiConfig, WasmtimeError
from zetasql.api import CatalogBuilder, PreparedQuery, TableBuilder
from zetasql.core.exceptions import ZetaSQLError
from zetasql.core.local_service import ZetaSqlLocalService
from zetasql.core.wasm_client import WasmClient, get_tzinfo_dir
from zetasql.types import (
    AnalyzerOptions,
    LanguageOptions,
    NameResolutionMode,
    ProductMode,
    TableContent,
    TableData,
    ZetaSQLBuiltinFunctionOptions,
)
from zetasql.wasi import get_wasm_path
from zetasql.wasi._pb2.zetasql.local_service import local_service_pb2

from segdsl.engines.clickhouse_engine import SESSION_LOCK, acquire_session, release_session
from tests.support import zetasql_values
from tests.support.tables import (
    DECIMAL_PRECISION,
    DECIMAL_SCALE,
    PHYSICAL_TYPES,
    ColumnType,
    TableSpec,
)
from tests.support.tables import Engine as EngineName

DEFAULT_POSTGRES_DSN: Final = "postgresql://postgres@127.0.0.1:5432/test"

ZETASQL_DEFAULT_TIMEZONE: Final = "UTC"
"""BigQuery's default time zone; ZetaSQL's own default is America/Los_Angeles."""


class EngineError(Exception):
    """A query (or fixture load) failed inside an engine.

    ``engine`` is the runner name, ``message`` the engine's message and ``code`` an
    engine-specific classification when known (ZetaSQL status code name such as
    ``INVALID_ARGUMENT``, Postgres SQLSTATE, DuckDB exception class name).
    """

    def __init__(self, engine: str, message: str, *, code: str | None = None) -> None:
        super().__init__(f"[{engine}] {message}")
        self.engine = engine
        self.message = message
        self.code = code


class Runner(Protocol):
    """Common interface of the three engine runners."""

    @property
    def name(self) -> EngineName:
        """``"duckdb"``, ``"postgres"``, ``"bigquery"`` or ``"spark"``."""
        ...

    def query(self, sql: str) -> list[tuple[object, ...]]:
        """Run ``sql`` and return its rows as normalised Python tuples."""
        ...

    def close(self) -> None:
        """Release the engine resources; safe to call twice."""
        ...


# --- normalisation -----------------------------------------------------------


def normalize_value(value: object) -> object:
    """Map an engine's Python value to the canonical form used for comparisons.

    * ``Decimal``: trailing zeros stripped (``1.5000`` -> ``1.5``, ``3.000`` -> ``3``),
      so engines with different scales give identical, equal-hashing values;
    * aware ``datetime``: converted to ``datetime.UTC``; naive ones are unchanged;
    * lists (arrays) become tuples so rows stay hashable; ``memoryview`` -> ``bytes``;
    * everything else (int, float, bool, str, date, None, ...) is returned as is.
    """
    if isinstance(value, decimal.Decimal):
        return _normalize_decimal(value)
    if isinstance(value, dt.datetime) and value.utcoffset() is not None:
        return value.astimezone(dt.UTC)
    if isinstance(value, list | tuple):
        return tuple(normalize_value(item) for item in value)
    if isinstance(value, dict):
        return {key: normalize_value(item) for key, item in value.items()}
    if isinstance(value, memoryview):
        return value.tobytes()
    return value


def normalize_rows(rows: Iterable[Sequence[object]]) -> list[tuple[object, ...]]:
    """Apply :func:`normalize_value` to every cell; row order is kept."""
    return [tuple(normalize_value(value) for value in row) for row in rows]


def sorted_rows(rows: Iterable[Sequence[object]]) -> list[tuple[object, ...]]:
    """Rows sorted with NULLs (``None``) last in each column, for order-free checks."""
    return sorted(
        (tuple(row) for row in rows),
        key=lambda row: tuple((value is None, value) for value in row),
    )


def typed_rows(rows: Iterable[Sequence[object]]) -> list[tuple[tuple[str, object], ...]]:
    """Pair each value with its type name, so ``typed_rows(got) == typed_rows(expected)``
    does not let ``1 == 1.0 == True == Decimal(1)`` hide a type difference.
    """
    return [tuple((type(value).__name__, value) for value in row) for row in rows]


def _normalize_decimal(value: decimal.Decimal) -> decimal.Decimal:
    if not value.is_finite():
        return value
    if value.is_zero():
        return decimal.Decimal(0)  # also folds -0 and 0E-9
    if value == value.to_integral_value():
        return value.quantize(decimal.Decimal(1), context=decimal.Context(prec=200))
    return value.normalize(context=decimal.Context(prec=200))


def _check_unique_names(tables: Sequence[TableSpec]) -> None:
    names = [t.name.lower() for t in tables]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate table names (case-insensitive): {names}")


# --- DuckDB --------------------------------------------------------------------

_ARROW_TYPES: Final[Mapping[ColumnType, pa.DataType]] = {
    "integer": pa.int64(),
    "number": pa.float64(),
    "decimal": pa.decimal128(18, 4),
    "string": pa.string(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}


def _duckdb_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DuckDBRunner:
    """In-memory DuckDB database with the fixture tables, session TimeZone UTC.

    Values travel as typed Arrow columns in both directions (no values are
    formatted into SQL): DuckDB's Python row conversion needs ``pytz`` for
    TIMESTAMPTZ, which is not a project dependency, while Arrow needs nothing extra.
    """

    name: Final = "duckdb"

    def __init__(self, tables: Sequence[TableSpec]) -> None:
        _check_unique_names(tables)
        self._conn = duckdb.connect(":memory:")
        try:
            self._conn.execute("SET TimeZone = 'UTC'")
            for spec in tables:
                self._load(spec)
        except duckdb.Error as exc:
            self._conn.close()
            raise _duckdb_error(exc) from exc

    def _load(self, spec: TableSpec) -> None:
        columns = ", ".join(
            f"{_duckdb_identifier(c.name)} {PHYSICAL_TYPES['duckdb'][c.type]}" for c in spec.columns
        )
        self._conn.execute(f"CREATE TABLE {_duckdb_identifier(spec.name)} ({columns})")
        if not spec.rows:
            return
        arrays = [
            pa.array([row[index] for row in spec.rows], type=_ARROW_TYPES[column.type])
            for index, column in enumerate(spec.columns)
        ]
        data = pa.Table.from_arrays(arrays, names=list(spec.column_names))
        self._conn.from_arrow(data).insert_into(_duckdb_identifier(spec.name))

    def query(self, sql: str) -> list[tuple[object, ...]]:
        """Run ``sql``; statements without a result set return ``[]``."""
        try:
            relation = self._conn.sql(sql)
            if relation is None:
                return []
            types = [str(t) for t in relation.types]
            result = relation.to_arrow_table()
        except duckdb.Error as exc:
            raise _duckdb_error(exc) from exc
        columns = [
            _from_duckdb_column(column.to_pylist(), type_name)
            for column, type_name in zip(result.columns, types, strict=True)
        ]
        return normalize_rows(zip(*columns, strict=True))

    def close(self) -> None:
        """Close the connection (drops the in-memory database)."""
        self._conn.close()


def _from_duckdb_column(values: list[Any], type_name: str) -> list[Any]:
    # Arrow has no 128-bit integer: DuckDB exports HUGEINT (e.g. SUM(BIGINT)) as
    # DECIMAL(38, 0), but DuckDB's own Python API returns int.
    if type_name in ("HUGEINT", "UHUGEINT"):
        return [None if value is None else int(value) for value in values]
    return values


def _duckdb_error(exc: duckdb.Error) -> EngineError:
    return EngineError("duckdb", str(exc), code=type(exc).__name__)


# --- Postgres ------------------------------------------------------------------


def postgres_available(dsn: str = DEFAULT_POSTGRES_DSN, *, timeout: float = 2.0) -> bool:
    """True if a connection to ``dsn`` can be opened within ``timeout`` seconds."""
    try:
        with psycopg.connect(dsn, connect_timeout=max(1, round(timeout))):
            return True
    except psycopg.Error:
        return False


class PostgresRunner:
    """A fresh, uniquely named schema on a Postgres server, dropped by ``close()``.

    The connection is in autocommit mode with ``search_path`` set to the schema and
    ``TimeZone`` set to UTC, so a failing query does not poison later ones.
    """

    name: Final = "postgres"

    def __init__(self, tables: Sequence[TableSpec], dsn: str = DEFAULT_POSTGRES_DSN) -> None:
        _check_unique_names(tables)
        self.schema = f"segdsl_test_{uuid.uuid4().hex[:16]}"
        try:
            self._conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
        except psycopg.Error as exc:
            raise _postgres_error(exc) from exc
        self._closed = False
        try:
            schema = pgsql.Identifier(self.schema)
            self._conn.execute(pgsql.SQL("CREATE SCHEMA {}").format(schema))
            self._conn.execute(pgsql.SQL("SET search_path TO {}").format(schema))
            self._conn.execute("SET TimeZone = 'UTC'")
            for spec in tables:
                self._load(spec)
        except psycopg.Error as exc:
            self.close()
            raise _postgres_error(exc) from exc

    def _load(self, spec: TableSpec) -> None:
        table = pgsql.Identifier(spec.name)
        columns = pgsql.SQL(", ").join(
            pgsql.SQL("{} {}").format(
                pgsql.Identifier(c.name), pgsql.SQL(PHYSICAL_TYPES["postgres"][c.type])
            )
            for c in spec.columns
        )
        self._conn.execute(pgsql.SQL("CREATE TABLE {} ({})").format(table, columns))
        if not spec.rows:
            return
        insert = pgsql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            table,
            pgsql.SQL(", ").join(pgsql.Identifier(name) for name in spec.column_names),
            pgsql.SQL(", ").join(pgsql.Placeholder() * len(spec.columns)),
        )
        with self._conn.cursor() as cursor:
            cursor.executemany(insert, spec.rows)

    def query(self, sql: str) -> list[tuple[object, ...]]:
        """Run ``sql``; statements without a result set return ``[]``."""
        try:
            with self._conn.cursor() as cursor:
                cursor.execute(sql)  # no params: sent verbatim, "%" needs no escaping
                rows = cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as exc:
            raise _postgres_error(exc) from exc
        return normalize_rows(rows)

    def close(self) -> None:
        """Drop the schema (CASCADE) and close the connection."""
        if self._closed:
            return
        self._closed = True
        try:
            if not self._conn.closed:
                self._conn.execute(
                    pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        pgsql.Identifier(self.schema)
                    )
                )
        finally:
            self._conn.close()


def _postgres_error(exc: psycopg.Error) -> EngineError:
    return EngineError("postgres", str(exc).strip(), code=exc.sqlstate)


# --- ZetaSQL (BigQuery) ----------------------------------------------------------


class _CachingWasmClient(WasmClient):  # type: ignore[misc]
    """``WasmClient`` whose wasmtime engine keeps compiled code in its on-disk cache.

    Identical to zetasql's own ``WasmClient.__init__`` except for
    ``Config.cache = True``: compiling the 28 MB zetasql.wasm takes ~17 s, loading
    it from wasmtime's cache (``~/.cache/wasmtime``) takes ~0.3 s.
    """

    def __init__(self, wasm_path: str) -> None:
        wasi = WasiConfig()
        wasi.inherit_stdout()
        wasi.inherit_stderr()
        wasi.inherit_stdin()
        if tzinfo_dir := get_tzinfo_dir():
            wasi.preopen_dir(tzinfo_dir, "/usr/share/zoneinfo")
        config = Config()
        config.shared_memory = True
        with contextlib.suppress(WasmtimeError):  # no usable cache dir: just compile
            config.cache = True
        engine = Engine(config)
        self.store = Store(engine)
        self.store.set_wasi(wasi)
        self.module = Module.from_file(engine, wasm_path)
        linker = Linker(engine)
        linker.define_wasi()
        self.instance = linker.instantiate(self.store, self.module)
        self.exports = self.instance.exports(self.store)
        initialize = self.exports.get("_initialize")
        if isinstance(initialize, Func):
            initialize(self.store)
        self.memory = self.exports["memory"]


class _CachingLocalService(ZetaSqlLocalService):  # type: ignore[misc]
    def __init__(self) -> None:
        self.wasm_client = _CachingWasmClient(get_wasm_path())


@functools.cache
def zetasql_service() -> Any:
    """The process-wide ZetaSQL local service used by :class:`ZetaSQLRunner`.

    Uses wasmtime's compiled-code cache unless ``SEGDSL_ZETASQL_WASM_CACHE=0``, in
    which case zetasql's default singleton (recompiled in every process) is used.
    The service is single-threaded; do not share runners across threads.
    """
    if os.environ.get("SEGDSL_ZETASQL_WASM_CACHE", "1") == "0":
        return ZetaSqlLocalService.get_instance()
    return _CachingLocalService()


@functools.cache
def _language_options(service: Any) -> Any:
    """All released language features, BigQuery's external product mode."""
    maximum = service.get_language_options(maximum_features=True)
    return LanguageOptions(
        name_resolution_mode=NameResolutionMode.NAME_RESOLUTION_DEFAULT,
        product_mode=ProductMode.PRODUCT_EXTERNAL,
        enabled_language_features=list(maximum.enabled_language_features),
    )


class ZetaSQLRunner:
    """GoogleSQL (BigQuery dialect) on ZetaSQL's reference implementation.

    The catalog (tables plus built-in functions) and the table contents are
    registered once per runner; each query is prepared, evaluated and released.
    Language options: all released features, ``PRODUCT_EXTERNAL`` (BigQuery type
    names: ``FLOAT64`` works, ``DOUBLE`` does not), default time zone UTC.
    """

    name: Final = "bigquery"

    def __init__(self, tables: Sequence[TableSpec], *, service: Any = None) -> None:
        _check_unique_names(tables)
        self._service = service if service is not None else zetasql_service()
        language = _language_options(self._service)
        catalog = CatalogBuilder("segdsl")
        content: dict[str, Any] = {}
        for spec in tables:
            builder = TableBuilder(spec.name)
            for column in spec.columns:
                builder.add_column(column.name, zetasql_values.TYPE_KINDS[column.type])
            catalog.add_table(builder.build())
            rows = [
                TableData.Row(
                    cell=[
                        zetasql_values.to_cell(column.type, value)
                        for column, value in zip(spec.columns, row, strict=True)
                    ]
                )
                for row in spec.rows
            ]
            content[spec.name] = TableContent(table_data=TableData(row=rows))
        catalog.with_builtin_functions(ZetaSQLBuiltinFunctionOptions(language_options=language))
        try:
            response = self._service.register_catalog(
                simple_catalog=catalog.build(), table_content=content
            )
        except ZetaSQLError as exc:
            raise _zetasql_error(exc) from exc
        self._catalog_id: int | None = int(response.registered_id)
        self._options = AnalyzerOptions(
            language_options=language, default_timezone=ZETASQL_DEFAULT_TIMEZONE
        )

    def query(self, sql: str) -> list[tuple[object, ...]]:
        """Analyse and run ``sql``; analysis and runtime errors raise :class:`EngineError`."""
        if self._catalog_id is None:
            raise EngineError(self.name, "runner is closed")
        try:
            prepared = (
                PreparedQuery.builder()
                .set_sql(sql)
                .set_analyzer_options(self._options)
                .set_registered_catalog_id(self._catalog_id)
                .set_service(self._service)
                .prepare()
            )
            with prepared:
                # Evaluate through the raw protobuf API: zetasql 0.1.5's proto-model
                # wrapper drops the fields of google.protobuf.Timestamp, so TIMESTAMP
                # results would come back empty from PreparedQuery.execute().
                response = self._service.wasm_client.call_grpc_func(
                    "ZetaSqlLocalService_EvaluateQuery",
                    local_service_pb2.EvaluateQueryRequest(
                        prepared_query_id=prepared.prepared_query_id
                    ),
                    local_service_pb2.EvaluateQueryResponse,
                )
        except ZetaSQLError as exc:
            raise _zetasql_error(exc) from exc
        return normalize_rows(
            [zetasql_values.from_cell(cell) for cell in row.cell]
            for row in response.content.table_data.row
        )

    def close(self) -> None:
        """Unregister the catalog and its table contents."""
        if self._catalog_id is None:
            return
        catalog_id, self._catalog_id = self._catalog_id, None
        try:
            self._service.unregister_catalog(registered_id=catalog_id)
        except ZetaSQLError as exc:
            raise _zetasql_error(exc) from exc


def _zetasql_error(exc: ZetaSQLError) -> EngineError:
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc)
    return EngineError("bigquery", str(message), code=getattr(code, "name", None))


# --- Spark -----------------------------------------------------------------------

_SPARK_TYPES: Final[Mapping[ColumnType, str]] = {
    "integer": "LongType",
    "number": "DoubleType",
    "decimal": "DecimalType",
    "string": "StringType",
    "boolean": "BooleanType",
    "date": "DateType",
    "timestamp": "TimestampNTZType",
    "timestamptz": "TimestampType",
}


SPARK_TEST_SETTINGS: Final[Mapping[str, str]] = {
    # the fixtures are a few rows, where planning and scheduling are the cost: one task
    # per stage, no re-planning between stages and no Java code generated per operator
    # (the corpus' membership query: 60 s → 20 s on a loaded 2-core machine). The
    # results do not depend on these; the dialect's settings (ANSI, UTC) stay as segdsl
    # sets them.
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


@functools.cache
def spark_session() -> Any:
    """The process's one local Spark session (segdsl's own, with its settings: ANSI mode,
    UTC session time zone). Starting it takes 10 s or more, so Spark tests share it."""
    from segdsl.engines.spark_engine import local_session

    session = local_session()
    for key, value in SPARK_TEST_SETTINGS.items():
        session.conf.set(key, value)
    return session


class SparkRunner:
    """The fixture tables as DataFrames on the shared local Spark session.

    Every runner's tables are temporary views of the same names, so they are registered
    again before each query (a catalog update, no data copied): runners of one process
    may be alive together but query one at a time. Results are read as Arrow, so
    instants come back aware in UTC and wall-clock times naive.
    """

    name: Final = "spark"

    def __init__(self, tables: Sequence[TableSpec]) -> None:
        from pyspark.sql import types

        _check_unique_names(tables)
        self._session = spark_session()
        self._frames: dict[str, Any] = {}
        for spec in tables:
            fields = [
                types.StructField(column.name, _spark_type(types, column.type), nullable=True)
                for column in spec.columns
            ]
            schema = types.StructType(fields)
            frame = self._session.createDataFrame([tuple(row) for row in spec.rows], schema=schema)
            self._frames[spec.name] = frame.coalesce(1)

    def query(self, sql: str) -> list[tuple[object, ...]]:
        """Run ``sql`` over this runner's tables."""
        from pyspark.errors import PySparkException

        try:
            for name, frame in self._frames.items():
                frame.createOrReplaceTempView(name)
            result = self._session.sql(sql).toArrow()
        except PySparkException as exc:
            condition = exc.getCondition()
            raise EngineError("spark", str(exc).strip(), code=condition) from exc
        columns = [column.to_pylist() for column in result.columns]
        return normalize_rows(zip(*columns, strict=True))

    def close(self) -> None:
        """Forget the tables (the session stays for the next runner)."""
        self._frames.clear()


def _spark_type(types: Any, column_type: ColumnType) -> Any:
    if column_type == "decimal":
        return types.DecimalType(DECIMAL_PRECISION, DECIMAL_SCALE)
    return getattr(types, _SPARK_TYPES[column_type])()


# --- ClickHouse (chdb) -------------------------------------------------------------


def _clickhouse_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


class ChdbRunner:
    """ClickHouse through chdb: a fresh database in the process's embedded ClickHouse
    (segdsl's own `acquire_session`: chdb runs one per process, so the runners and
    segdsl's engines of a process share it; pytest-xdist workers are processes and have
    one each), dropped by ``close()``; fixture tables are Memory tables of Nullable
    columns.

    The runner sets nothing: the SQL segdsl generates carries the settings it needs
    (``join_use_nulls``, ``session_timezone``). ClickHouse has no zone-less time type
    (a DateTime64 is an instant): times come back as naive UTC datetimes, the wall
    clock segdsl's SQL shows in them.
    """

    name: Final = "clickhouse"

    def __init__(self, tables: Sequence[TableSpec], *, session: Any = None) -> None:
        _check_unique_names(tables)
        self._released = session is not None
        self._session = session if session is not None else acquire_session(None)[0]
        self.database = f"segdsl_test_{uuid.uuid4().hex[:16]}"
        self._closed = False
        self._run(f"CREATE DATABASE {_clickhouse_identifier(self.database)}")
        try:
            for spec in tables:
                self._load(spec)
        except EngineError:
            self.close()
            raise

    def _table(self, name: str) -> str:
        return f"{_clickhouse_identifier(self.database)}.{_clickhouse_identifier(name)}"

    def _load(self, spec: TableSpec) -> None:
        columns = ", ".join(
            f"{_clickhouse_identifier(c.name)} {PHYSICAL_TYPES['clickhouse'][c.type]}"
            for c in spec.columns
        )
        self._run(f"CREATE TABLE {self._table(spec.name)} ({columns}) ENGINE = Memory")
        if not spec.rows:
            return
        arrays = [
            pa.array([row[index] for row in spec.rows], type=_ARROW_TYPES[column.type])
            for index, column in enumerate(spec.columns)
        ]
        data = pa.Table.from_arrays(arrays, names=list(spec.column_names))  # noqa: F841 (read by name)
        self._run(f"INSERT INTO {self._table(spec.name)} SELECT * FROM Python(data)")

    def _run(self, sql: str, output: str = "CSV") -> Any:
        try:
            return self._session.query(sql, output)
        except RuntimeError as exc:  # chdb.ChdbError is one
            raise EngineError(self.name, str(exc).strip(), code=_chdb_code(str(exc))) from exc

    def query(self, sql: str) -> list[tuple[object, ...]]:
        """Run ``sql`` in the runner's database; statements without a result return ``[]``."""
        if self._closed:
            raise EngineError(self.name, "runner is closed")
        with SESSION_LOCK:
            self._run(f"USE {_clickhouse_identifier(self.database)}")
            result = self._run(sql, "ArrowTable")
        if not isinstance(result, pa.Table):
            return []
        columns = [column.to_pylist() for column in result.columns]
        return normalize_rows(
            tuple(_naive(value) for value in row) for row in zip(*columns, strict=True)
        )

    def close(self) -> None:
        """Drop the runner's database; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._run(f"DROP DATABASE IF EXISTS {_clickhouse_identifier(self.database)}")
        finally:
            if not self._released:
                self._released = True
                release_session()


def _naive(value: object) -> object:
    if isinstance(value, dt.datetime) and value.utcoffset() is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _chdb_code(message: str) -> str | None:
    """The error name ClickHouse ends its messages with: ``(UNKNOWN_IDENTIFIER)``."""
    found = re.findall(r"\(([A-Z][A-Z_]+)\)", message)
    return found[-1] if found else None


# --- all of them -----------------------------------------------------------------


def all_runners(
    tables: Sequence[TableSpec],
    *,
    include_postgres: bool = True,
    dsn: str = DEFAULT_POSTGRES_DSN,
) -> list[Runner]:
    """DuckDB, (optionally) Postgres, ZetaSQL and ClickHouse (chdb) runners loaded with
    ``tables``.

    If one runner cannot be created, the ones already created are closed.
    """
    factories: list[Any] = [DuckDBRunner]
    if include_postgres:
        factories.append(functools.partial(PostgresRunner, dsn=dsn))
    factories.append(ZetaSQLRunner)
    factories.append(ChdbRunner)
    runners: list[Runner] = []
    try:
        for factory in factories:
            runners.append(factory(tables))
    except BaseException:
        close_all(runners)
        raise
    return runners


def close_all(runners: Iterable[Runner]) -> None:
    """Close every runner, even if some ``close()`` calls fail (the first error is raised)."""
    first_error: BaseException | None = None
    for runner in runners:
        try:
            runner.close()
        except Exception as exc:  # keep closing the others
            first_error = first_error or exc
    if first_error is not None:
        raise first_error


@contextlib.contextmanager
def open_runners(
    tables: Sequence[TableSpec],
    *,
    include_postgres: bool = True,
    dsn: str = DEFAULT_POSTGRES_DSN,
) -> Iterator[list[Runner]]:
    """Context manager around :func:`all_runners` that closes the runners on exit."""
    runners = all_runners(tables, include_postgres=include_postgres, dsn=dsn)
    try:
        yield runners
    finally:
        close_all(runners)
