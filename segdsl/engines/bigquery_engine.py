"""BigQuery URL + SQL → dry-run estimate, cost guard, then streamed `Rows` (read as Arrow pages).

Every statement is dry-run first: the dry run's statement type must be SELECT
(or the CREATE of `materialize`), and its ``total_bytes_processed`` must not
exceed ``maximum_bytes_billed`` (`check_cost`, kind ``too_expensive``). The same
limit is set on the real job, with labels (``tool=segdsl``) and a job time
limit. Results are read page by page over the REST API (``to_arrow_iterable``).
Credentials come from the environment (application default credentials), or
are anonymous when the endpoint (``api_endpoint``, else ``BIGQUERY_EMULATOR_HOST``)
is a loopback address (a local emulator) or the URL says ``credentials=anonymous``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import decimal
import json
import os
import re
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import requests.exceptions
from google.api_core import exceptions as google_errors
from google.api_core.client_options import ClientOptions
from google.auth import exceptions as auth_errors
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY, DEFAULT_RETRY
from sqlglot import exp

from segdsl.engines.arrow import rows_from_arrow
from segdsl.engines.base import (
    BUSY_MARKER,
    DEFAULT_BATCH_ROWS,
    Batches,
    BusyError,
    Engine,
    EngineError,
    ErrorKind,
    MaterializeKind,
    Spent,
    TableName,
    WriteSession,
    display_name,
    effective_timeout,
    is_own,
    leading_keyword,
    marker_text,
    materialize_statement,
    parse_query,
    refuse_replacing,
    table_expression,
    tables_read,
)
from segdsl.engines.urls import BigQueryURL, mask

__all__ = [
    "DEFAULT_LABELS",
    "BigQueryEngine",
    "check_cost",
    "format_bytes",
    "query_parameter",
]

DEFAULT_LABELS: Mapping[str, str] = {"tool": "segdsl"}
_QUERY_TYPES = frozenset({"SELECT"})
_MATERIALIZE_TYPES = frozenset({"CREATE_TABLE_AS_SELECT", "CREATE_VIEW"})
_HTTP_PREFIX = re.compile(r"^(?:\d{3} )?(?:GET|POST|PUT|PATCH|DELETE) \S+: ")


# ---------------------------------------------------------------- pure helpers


def format_bytes(count: int) -> str:
    """``1536`` → ``"1.5 KiB"``."""
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{count} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def check_cost(estimate: int | None, limit: int | None) -> None:
    """Raise ``too_expensive`` if the dry run's ``estimate`` exceeds ``limit`` bytes.

    No limit, or no estimate, lets the query through (the real job still carries
    ``maximum_bytes_billed``, which BigQuery enforces itself).
    """
    if limit is None or estimate is None or estimate <= limit:
        return
    raise EngineError(
        "too_expensive",
        f"bigquery: the query would process {format_bytes(estimate)} ({estimate} bytes), "
        f"over maximum_bytes_billed {format_bytes(limit)} ({limit} bytes); "
        "narrow the query or raise the limit",
    )


def _scalar_type(value: object) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, decimal.Decimal):
        return "NUMERIC"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, bytes):
        return "BYTES"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP" if value.utcoffset() is not None else "DATETIME"
    if isinstance(value, dt.date):
        return "DATE"
    if isinstance(value, dt.time):
        return "TIME"
    raise EngineError(
        "invalid_query", f"bigquery: cannot pass a {type(value).__name__} as a query parameter"
    )


def query_parameter(
    name: str, value: object
) -> bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter:
    """A named ``@name`` parameter whose BigQuery type follows the Python value.

    bool → BOOL, int → INT64, float → FLOAT64, Decimal → NUMERIC, str → STRING,
    bytes → BYTES, aware datetime → TIMESTAMP, naive datetime → DATETIME,
    date → DATE, time → TIME; a non-empty list/tuple of one of these → ARRAY.
    """
    if value is None:
        raise EngineError(
            "invalid_query", f"bigquery: parameter @{name} is None; its type cannot be inferred"
        )
    if isinstance(value, list | tuple):
        kinds = {_scalar_type(item) for item in value if item is not None}
        if len(kinds) != 1:
            raise EngineError(
                "invalid_query",
                f"bigquery: array parameter @{name} needs non-null items of one type",
            )
        return bigquery.ArrayQueryParameter(name, kinds.pop(), list(value))
    return bigquery.ScalarQueryParameter(name, _scalar_type(value), cast(Any, value))


# ---------------------------------------------------------------- the engine


class BigQueryEngine(Engine):
    """A google-cloud-bigquery client with a cost guard and a default dataset."""

    dialect = "bigquery"
    reads_column_types = True

    def __init__(
        self,
        url: BigQueryURL,
        *,
        statement_timeout: float | None = 300.0,
        maximum_bytes_billed: int | None = None,
        connect_timeout: float = 15.0,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self._url = url
        self._label = f"bigquery {mask(url.raw)}" if url.raw else "bigquery"
        self._timeout = effective_timeout(statement_timeout)
        limits = [v for v in (url.maximum_bytes_billed, maximum_bytes_billed) if v is not None]
        self.maximum_bytes_billed: int | None = min(limits) if limits else None
        self.labels: dict[str, str] = dict(DEFAULT_LABELS if labels is None else labels)
        self._retry = DEFAULT_RETRY.with_deadline(connect_timeout)
        self._job_retry = DEFAULT_JOB_RETRY.with_deadline(max(connect_timeout, 60.0))
        self._request_timeout = max(connect_timeout, 30.0)
        endpoint = url.api_endpoint or os.environ.get(EMULATOR_VARIABLE) or None
        options = ClientOptions(api_endpoint=endpoint) if endpoint else None
        anonymous = url.anonymous(endpoint)
        if anonymous and endpoint is None:
            raise EngineError(
                "other",
                f"{self._label}: credentials=anonymous is for an emulator: give its "
                f"address as api_endpoint=http://host:port or in {EMULATOR_VARIABLE}",
            )
        # google-auth leaves the credentials constructors unannotated (a stubs gap)
        credentials = AnonymousCredentials() if anonymous else None  # type: ignore[no-untyped-call]
        if anonymous and url.project is None:
            raise EngineError("other", f"{self._label}: name the project: bigquery://project/...")
        self.emulator = anonymous
        problem = (
            None if anonymous else credentials_file_problem(os.environ.get(CREDENTIALS_VARIABLE))
        )
        if problem is not None:  # checked first: google-auth crashes on some bad files
            raise EngineError("permission", f"{self._label}: {problem}")
        try:
            self._client: bigquery.Client | None = bigquery.Client(
                project=url.project,
                credentials=credentials,
                location=url.location,
                client_options=options,
            )
        except (auth_errors.GoogleAuthError, google_errors.GoogleAPIError, OSError) as error:
            failure = self._error(error)
            if endpoint is not None and failure.kind == "permission":
                failure = EngineError(
                    failure.kind,
                    f"{failure.message} (an emulator at {endpoint} needs no credentials: "
                    "add credentials=anonymous to the URL)",
                )
            raise failure from None
        self._estimates_only = False
        self._spent = Spent()
        self._sent_estimates = 0  # dry-run bytes of the jobs sent so far (the command's)
        self._dry_runs: dict[str, bigquery.QueryJob] = {}  # by SQL, for queries reserved
        self._described: dict[str, dict[str, str]] = {}  # catalog answers, per run
        self.partitioning: dict[str, str] = {}  # "path" → its partitioning column
        self.project: str = url.project or self._client.project
        self.default_dataset: str | None = f"{self.project}.{url.dataset}" if url.dataset else None

    # ------------------------------------------------------------ plumbing

    @property
    def client(self) -> bigquery.Client:
        if self._client is None:
            raise EngineError("other", f"{self._label}: the client is closed")
        return self._client

    def close(self) -> None:
        if self._client is not None:
            # google-cloud-bigquery leaves Client.close unannotated (a stubs gap)
            self._client.close()  # type: ignore[no-untyped-call]
            self._client = None

    def _error(self, error: BaseException) -> EngineError:
        kind, detail = _classify(error)
        return EngineError(kind, f"{self._label}: {detail}")

    def job_config(
        self,
        *,
        dry_run: bool,
        params: Mapping[str, object] | None = None,
        default_dataset: bool = True,
    ) -> bigquery.QueryJobConfig:
        """The configuration of every job: labels, parameters, default dataset, guards."""
        config = bigquery.QueryJobConfig(
            dry_run=dry_run,
            use_legacy_sql=False,
            labels=dict(self.labels),
            query_parameters=[query_parameter(k, v) for k, v in (params or {}).items()],
        )
        if self.default_dataset and default_dataset:
            config.default_dataset = self.default_dataset
        if dry_run:
            config.use_query_cache = False
        else:
            if self.maximum_bytes_billed is not None:
                config.maximum_bytes_billed = self.maximum_bytes_billed
            if self._timeout:
                config.job_timeout_ms = max(1, round(self._timeout * 1000))
        return config

    def dry_run(
        self,
        sql: str,
        params: Mapping[str, object] | None = None,
        *,
        default_dataset: bool = True,
    ) -> bigquery.QueryJob:
        """The dry-run job for ``sql`` (statement type, bytes estimate, schema)."""
        config = self.job_config(dry_run=True, params=params, default_dataset=default_dataset)
        try:
            return self.client.query(
                sql,
                job_config=config,
                retry=self._retry,
                job_retry=None,
                timeout=self._request_timeout,
            )
        except KeyboardInterrupt:
            raise EngineError("cancelled", f"{self._label}: dry run cancelled") from None
        except Exception as error:
            raise self._error(error) from None

    def _guarded_job(
        self,
        sql: str,
        params: Mapping[str, object] | None,
        allowed: frozenset[str],
        *,
        original: str,
        default_dataset: bool = True,
    ) -> bigquery.QueryJob:
        """Dry run, statement-type and cost checks, then the real job (not yet waited for).

        The cost check counts the estimates of the jobs this engine sent before: the
        byte limit bounds a whole command, not each of its queries."""
        reserved = self._dry_runs.pop(sql, None) if not params and default_dataset else None
        dry = reserved or self.dry_run(sql, params, default_dataset=default_dataset)
        statement_type = dry.statement_type
        if statement_type is None:  # not reported: decide from the parsed text
            parse_query(original, "bigquery")
            statement_type = "SELECT" if "SELECT" in allowed else next(iter(allowed))
        if statement_type not in allowed:
            raise EngineError(
                "permission",
                f"{self._label}: only read-only queries can be run, not {statement_type} "
                "(the only write is materialize: CREATE OR REPLACE TABLE/VIEW ... AS <query>)",
            )
        estimate = int(dry.total_bytes_processed or 0)
        if self._estimates_only:
            raise EngineError(
                "permission",
                f"{self._label}: this command sends dry runs only (the query would process "
                f"{format_bytes(estimate)})",
            )
        self._check_total(self._sent_estimates + estimate, 1)
        config = self.job_config(dry_run=False, params=params, default_dataset=default_dataset)
        self._sent_estimates += estimate
        try:
            return self.client.query(
                sql,
                job_config=config,
                retry=self._retry,
                job_retry=self._job_retry,
                timeout=self._request_timeout,
            )
        except KeyboardInterrupt:
            raise EngineError("cancelled", f"{self._label}: query cancelled") from None
        except Exception as error:
            raise self._error(error) from None

    def _check_total(self, total: int, queries: int) -> None:
        """``too_expensive`` when ``total`` bytes (this command's queries so far and the
        ``queries`` about to be sent) would exceed ``maximum_bytes_billed``."""
        try:
            check_cost(total, self.maximum_bytes_billed)
        except EngineError as error:
            detail = error.message.removeprefix("bigquery: ")
            if self._sent_estimates or queries > 1:
                detail = detail.replace(
                    "the query would process",
                    f"the {queries + self._spent.queries} queries of this command would process",
                )
            raise EngineError(error.kind, f"{self._label}: {detail}") from None

    def reserve(self, sqls: Sequence[str]) -> None:
        """Dry-run every query of a command first and refuse them all if, with the
        queries already sent, their estimates add up to more than the limit."""
        if self.maximum_bytes_billed is None:
            return
        pending = list(dict.fromkeys(sqls))
        for sql in pending:
            if sql not in self._dry_runs:
                self._dry_runs[sql] = self.dry_run(sql)
        estimates = sum(int(self._dry_runs[sql].total_bytes_processed or 0) for sql in pending)
        self._check_total(self._sent_estimates + estimates, len(pending))

    def estimates_only(self) -> None:
        self._estimates_only = True

    @property
    def spent(self) -> Spent:
        return self._spent

    def _count(self, job: bigquery.QueryJob) -> None:
        """Add a finished job's bytes to what this command spent."""
        self._spent.queries += 1
        self._spent.bytes_processed += int(job.total_bytes_processed or 0)
        self._spent.bytes_billed += int(job.total_bytes_billed or 0)

    def _storage_client(self) -> object | None:
        """A BigQuery Storage Read API client when google-cloud-bigquery-storage is
        installed (the `bigquery-storage` extra) and the endpoint is Google's: large
        results then come as Arrow streams over gRPC instead of JSON pages."""
        if self.emulator or self._url.api_endpoint:
            return None
        try:
            from google.cloud import bigquery_storage  # noqa: F401
        except ImportError:
            return None
        # the client the library makes for to_arrow(create_bqstorage_client=True): same
        # credentials, project and client info as the BigQuery client
        return self.client._ensure_bqstorage_client()

    def _cancel(self, job: bigquery.QueryJob) -> None:
        with contextlib.suppress(Exception):
            job.cancel(retry=self._retry, timeout=10)

    # ------------------------------------------------------------ queries

    def query_batches(
        self,
        sql: str,
        *,
        params: Mapping[str, object] | None = None,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> Batches:
        batches = self._batches(sql, params, batch_rows)
        try:
            for batch in batches:
                yield rows_from_arrow(batch)
        finally:
            batches.close()

    def arrow_batches(self, sql: str) -> Generator[object, None, None]:
        return self._batches(sql, None, DEFAULT_BATCH_ROWS)

    def _batches(
        self,
        sql: str,
        params: Mapping[str, object] | None,
        batch_rows: int,
        *,
        default_dataset: bool = True,
        storage_api: bool = True,
    ) -> Generator[pa.RecordBatch, None, None]:
        job = self._guarded_job(
            sql, params, _QUERY_TYPES, original=sql, default_dataset=default_dataset
        )
        with self._job_errors(job):
            rows = job.result(
                page_size=batch_rows,
                timeout=self._timeout,
                retry=self._retry,
                job_retry=self._job_retry,
            )
            self._count(job)
            storage = self._storage_client() if storage_api else None
            sent = False
            for batch in rows.to_arrow_iterable(bqstorage_client=cast(Any, storage)):
                sent = True
                # Storage Read API streams come in their own sizes: pages of batch_rows
                for start in range(0, max(batch.num_rows, 1), batch_rows):
                    yield batch.slice(start, batch_rows)
            if not sent:
                empty = rows.to_arrow()
                yield pa.RecordBatch.from_pylist([], schema=empty.schema)

    @contextlib.contextmanager
    def _job_errors(self, job: bigquery.QueryJob, what: str = "query") -> Iterator[None]:
        """A job's Ctrl-C and time limit cancel it; every failure is an `EngineError`."""
        try:
            yield
        except KeyboardInterrupt:
            self._cancel(job)
            raise EngineError(
                "cancelled", f"{self._label}: {what} cancelled (job {job.job_id})"
            ) from None
        except concurrent.futures.TimeoutError:
            self._cancel(job)
            raise EngineError(
                "timeout", f"{self._label}: {what} stopped after the {self._timeout:g} s time limit"
            ) from None
        except EngineError:
            raise
        except Exception as error:
            raise self._error(error) from None

    def estimate_bytes(self, sql: str) -> int | None:
        estimate = self.dry_run(sql).total_bytes_processed
        return None if estimate is None else int(estimate)

    def explain(self, sql: str) -> str:
        dry = self.dry_run(sql)
        estimate = dry.total_bytes_processed
        limit = self.maximum_bytes_billed
        tables = [f"{t.project}.{t.dataset_id}.{t.table_id}" for t in (dry.referenced_tables or [])]
        schema = ", ".join(f"{f.name} {f.field_type}" for f in (dry.schema or []))
        lines = [
            "BigQuery dry run",
            f"statement type: {dry.statement_type or 'unknown'}",
            "bytes processed (estimate): "
            + ("unknown" if estimate is None else f"{estimate} ({format_bytes(estimate)})"),
            "maximum bytes billed: "
            + ("none" if limit is None else f"{limit} ({format_bytes(limit)})"),
            f"referenced tables: {', '.join(tables) or 'none'}",
            f"result columns: {schema or 'unknown'}",
        ]
        return "\n".join(lines)

    # ------------------------------------------------------------ the one write

    def materialize(
        self,
        sql: str,
        name: TableName,
        *,
        kind: MaterializeKind = "table",
        replace: bool = False,
    ) -> None:
        statement = materialize_statement(sql, name, kind, "bigquery")
        target = self._qualified([part.name for part in table_expression(name, "bigquery").parts])
        if target in {self._qualified(parts) for parts in tables_read(sql, "bigquery")}:
            raise refuse_replacing(name, "input", label=self._label)
        existing = self._existing(target)
        if existing is not None and not replace and not is_own(existing.description):
            raise refuse_replacing(name, "foreign", label=self._label)
        job = self._guarded_job(statement, None, _MATERIALIZE_TYPES, original=sql)
        try:
            job.result(timeout=self._timeout, retry=self._retry, job_retry=self._job_retry)
            self._count(job)
        except KeyboardInterrupt:
            self._cancel(job)
            raise EngineError("cancelled", f"{self._label}: materialize cancelled") from None
        except concurrent.futures.TimeoutError:
            self._cancel(job)
            raise EngineError(
                "timeout", f"{self._label}: materialize stopped after {self._timeout:g} s"
            ) from None
        except Exception as error:
            failure = self._error(error)
            raise EngineError(
                failure.kind, f"{failure.message} (while materializing {display_name(name)})"
            ) from None
        self._mark(target, kind)

    def _qualified(self, parts: Sequence[str]) -> str:
        """``project.dataset.table`` for a written name (the URL's defaults fill in)."""
        project, dataset = self._dataset_of(tuple(parts[:-1]))
        return f"{project}.{dataset}.{parts[-1]}"

    def _existing(self, target: str) -> bigquery.Table | None:
        try:
            return self.client.get_table(target, retry=self._retry, timeout=self._request_timeout)
        except google_errors.NotFound:
            return None
        except Exception as error:
            raise self._error(error) from None

    def _mark(self, target: str, kind: MaterializeKind) -> None:
        """Describe the new table or view as segdsl's, so the next run may replace it."""
        try:
            table = self.client.get_table(target, retry=self._retry, timeout=self._request_timeout)
            table.description = marker_text(kind)
            self.client.update_table(
                table, ["description"], retry=self._retry, timeout=self._request_timeout
            )
        except Exception as error:
            raise self._error(error) from None

    # ------------------------------------------------------------ history writes

    @contextlib.contextmanager
    def write_session(self, lock: str) -> Iterator[WriteSession]:
        """A BigQuery session: reads and DDL (temporary tables, the history's own tables)
        run at once, inside it; INSERT, UPDATE, DELETE and MERGE are kept and sent when
        the block ends, as one script ``BEGIN TRANSACTION; ...; COMMIT TRANSACTION;``.
        One job commits whole or not at all: a failing statement, a cancelled job or a
        client that dies before sending it leaves every table as it was.

        BigQuery has no lock to wait on, so ``lock`` only names the write in messages:
        the writer's first statement is its own compare-and-set (`segdsl.history`), and
        a script failing on it (an error starting with `BUSY_MARKER`) or aborted by
        BigQuery for a concurrent update of the same table raises `BusyError`. Reads
        see the tables as they were before the kept writes: read first, then write."""
        session = _BigQuerySession(self, lock)
        try:
            yield session
            session.commit()
        finally:
            session.close()

    # ------------------------------------------------------------ catalog

    def _dataset_of(self, prefix: Sequence[str]) -> tuple[str, str]:
        """(project, dataset) from the parts before a table name (URL defaults fill in)."""
        if len(prefix) == 2:
            return prefix[0], prefix[1]
        if len(prefix) == 1:
            return self.project, prefix[0]
        if not prefix and self._url.dataset:
            return self.project, self._url.dataset
        raise EngineError(
            "invalid_query",
            f"{self._label}: name the dataset (bigquery://project/dataset, or dataset.table)",
        )

    def describe_tables(self, tables: Sequence[tuple[str, ...]]) -> dict[str, dict[str, str]]:
        """Column types from one INFORMATION_SCHEMA.COLUMNS query per dataset (answers
        are kept for the engine's life: one command); the partitioning column of each
        table goes to `partitioning`."""
        groups: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {}
        for path in tables:
            if not 1 <= len(path) <= 3:
                raise EngineError("invalid_query", f"{self._label}: bad table path {path!r}")
            if ".".join(path) in self._described:
                continue
            project, dataset = self._dataset_of(path[:-1])
            if self._estimates_only:  # tables.get is a free metadata call, not a query
                self._describe_one(project, dataset, path)
                continue
            groups.setdefault((project, dataset), []).append((path[-1], path))
        for (project, dataset), members in groups.items():
            dataset_sql = table_expression((project, dataset), "bigquery").sql("bigquery")
            sql = (
                "SELECT table_name, column_name, data_type, is_partitioning_column "
                f"FROM {dataset_sql}.INFORMATION_SCHEMA.COLUMNS "
                "WHERE table_name IN UNNEST(@tables) ORDER BY table_name, ordinal_position"
            )
            names = sorted({table for table, _ in members})
            columns: dict[str, dict[str, str]] = {}
            partitions: dict[str, str] = {}
            # Fully qualified, so no default dataset (the emulator fails on
            # INFORMATION_SCHEMA with both).
            batches = self._batches(
                sql, {"tables": names}, 10_000, default_dataset=False, storage_api=False
            )
            for row in (item for batch in batches for item in rows_from_arrow(batch).to_pylist()):
                table, column = str(row["table_name"]), str(row["column_name"])
                columns.setdefault(table, {})[column] = str(row["data_type"])
                if str(row.get("is_partitioning_column") or "").upper() == "YES":
                    partitions[table] = column
            for table, path in members:
                key = ".".join(path)
                if table not in columns:
                    raise EngineError(
                        "not_found",
                        f"{self._label}: table {project}.{dataset}.{table} does not exist",
                    )
                self._described[key] = columns[table]
                if table in partitions:
                    self.partitioning[key] = partitions[table]
        return {".".join(path): self._described[".".join(path)] for path in tables}

    def _describe_one(self, project: str, dataset: str, path: tuple[str, ...]) -> None:
        """One table's columns and partitioning from the tables.get metadata call."""
        table = self._existing(f"{project}.{dataset}.{path[-1]}")
        if table is None:
            raise EngineError(
                "not_found", f"{self._label}: table {project}.{dataset}.{path[-1]} does not exist"
            )
        key = ".".join(path)
        self._described[key] = {str(f.name): str(f.field_type) for f in table.schema or []}
        partitioning = table.time_partitioning
        if partitioning is not None and partitioning.field:
            self.partitioning[key] = str(partitioning.field)

    def list_tables(self, schema: str | None = None) -> list[str]:
        project, dataset = self._dataset_of(tuple(schema.split(".")) if schema else ())
        try:
            found = self.client.list_tables(
                f"{project}.{dataset}", retry=self._retry, timeout=self._request_timeout
            )
            return sorted(str(table.table_id) for table in found)
        except KeyboardInterrupt:
            raise EngineError("cancelled", f"{self._label}: cancelled") from None
        except Exception as error:
            raise self._error(error) from None


# ---------------------------------------------------------------- write session

_DEFERRED = frozenset({"insert", "update", "delete", "merge"})


class _BigQuerySession(WriteSession):
    """Statements of one `BigQueryEngine.write_session` (see there)."""

    def __init__(self, engine: BigQueryEngine, lock: str) -> None:
        self._engine = engine
        self._lock = lock
        self._session_id: str | None = None
        self.writes: list[str] = []

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        if leading_keyword(sql) in _DEFERRED:
            self.writes.append(sql)
            return []
        job = self._submit(sql)
        rows = self._wait(job, "query")
        return [tuple(row.values()) for row in rows]

    def qualify(self, query: exp.Expr) -> exp.Expr:
        """Unqualified tables (not CTEs) named with the URL's dataset: the session's jobs
        have no default dataset, where the emulator cannot create or read temporary
        tables (and BigQuery would look for them there first)."""
        default = self._engine.default_dataset
        if default is None:
            return query
        project, dataset = default.split(".", 1)
        ctes = {cte.alias for cte in query.find_all(exp.CTE)}
        for table in query.find_all(exp.Table):
            if table.name and not table.args.get("db") and table.name not in ctes:
                table.set("db", exp.to_identifier(dataset, quoted=True))
                table.set("catalog", exp.to_identifier(project, quoted=True))
        return query

    def _submit(self, sql: str) -> bigquery.QueryJob:
        engine = self._engine
        config = engine.job_config(dry_run=False, default_dataset=False)
        if self._session_id is None:
            config.create_session = True
        else:
            config.connection_properties = [
                bigquery.ConnectionProperty("session_id", self._session_id)
            ]
        try:
            job = engine.client.query(
                sql,
                job_config=config,
                retry=engine._retry,
                job_retry=None,  # a failed write is not sent again
                timeout=engine._request_timeout,
            )
        except KeyboardInterrupt:
            raise EngineError("cancelled", f"{engine._label}: cancelled") from None
        except Exception as error:
            raise engine._error(error) from None
        return job

    def _wait(self, job: bigquery.QueryJob, what: str) -> bigquery.table.RowIterator:
        engine = self._engine
        try:
            with engine._job_errors(job, what):
                rows = job.result(timeout=engine._timeout, retry=engine._retry)
        except EngineError as failure:
            lowered = failure.message.lower()
            if failure.kind in ("cancelled", "timeout"):
                raise
            if BUSY_MARKER in failure.message or "concurrent update" in lowered:
                raise BusyError(
                    f"{engine._label}: another snapshot wrote {self._lock} first "
                    f"(job {job.job_id} rolled back)"
                ) from None
            raise failure from None
        engine._count(job)
        if self._session_id is None and job.session_info is not None:
            self._session_id = job.session_info.session_id
        return rows

    def commit(self) -> None:
        """Send the kept writes as one transaction (nothing when there are none)."""
        if not self.writes:
            return
        begin = exp.Transaction().sql("bigquery")
        end = exp.Commit().sql("bigquery")
        # finished statements, one script: BigQuery runs it as one job
        script = ";\n".join([begin, *self.writes, end]) + ";"
        job = self._submit(script)
        try:
            self._wait(job, "the snapshot's transaction")
        except EngineError as error:
            if error.kind != "cancelled" or not _committed(job):
                raise
        self.writes = []

    def close(self) -> None:
        """End the BigQuery session and its temporary tables (best effort)."""
        if self._session_id is None or self._engine._client is None:
            return
        with contextlib.suppress(Exception):
            self._submit("CALL BQ.ABORT_SESSION()").result(timeout=30)
        self._session_id = None


def _committed(job: bigquery.QueryJob) -> bool:
    """Whether a job cancelled at Ctrl-C had committed already (it may have ended first)."""
    deadline = time.monotonic() + 30
    with contextlib.suppress(Exception):
        while time.monotonic() < deadline:
            job.reload(timeout=30)
            if job.state == "DONE":
                return job.error_result is None
            time.sleep(0.5)
    return False


# ---------------------------------------------------------------- errors


def _reasons(error: google_errors.GoogleAPICallError) -> set[str]:
    return {str(item.get("reason", "")) for item in (error.errors or []) if isinstance(item, dict)}


def _api_message(error: google_errors.GoogleAPICallError) -> str:
    for item in error.errors or []:
        if isinstance(item, dict) and item.get("message"):
            return str(item["message"]).split("\n\n")[0]
    return _HTTP_PREFIX.sub("", str(error.message)).split("\n\n")[0]


def _classify(error: BaseException) -> tuple[ErrorKind, str]:
    """(kind, one-line detail) for an exception from the client library."""
    kind: ErrorKind
    if isinstance(error, EngineError):
        return error.kind, error.message
    if isinstance(error, google_errors.RetryError):
        cause = error.cause
        if cause is not None and cause is not error:
            kind, detail = _classify(cause)
            if kind in ("other", "unreachable"):
                return "unreachable", f"gave up retrying: {detail}"
            return kind, detail
        return "unreachable", " ".join(str(error).split())
    if isinstance(error, google_errors.GoogleAPICallError):
        reasons = _reasons(error)
        detail = _api_message(error)
        lowered = detail.lower()
        if "bytesBilledLimitExceeded" in reasons or "bytes billed" in lowered:
            kind = "too_expensive"
        elif (
            isinstance(error, google_errors.NotFound)
            or "notFound" in reasons
            or "unrecognized name" in lowered
            or ("column" in lowered and "not found" in lowered)
        ):
            kind = "not_found"
        elif isinstance(error, google_errors.Unauthorized | google_errors.Forbidden) and not (
            reasons & {"quotaExceeded", "rateLimitExceeded"}
        ):
            kind = "permission"
        elif "timed out" in lowered or isinstance(
            error, google_errors.DeadlineExceeded | google_errors.GatewayTimeout
        ):
            kind = "timeout"
        elif "stopped" in reasons or "cancelled" in lowered:
            kind = "cancelled"
        elif isinstance(error, google_errors.BadRequest) or "invalidQuery" in reasons:
            kind = "invalid_query"
        elif isinstance(error, google_errors.ServiceUnavailable):
            kind = "unreachable"
        else:
            kind = "other"
        return kind, detail
    if isinstance(error, auth_errors.DefaultCredentialsError):
        named = os.environ.get(CREDENTIALS_VARIABLE)
        problem = credentials_file_problem(named)
        if problem is not None:
            return "permission", problem
        if named:  # a credentials file the library still refused: say why
            detail = " ".join(str(error).split())
            return "permission", f"{CREDENTIALS_VARIABLE} points at {named}: {detail}"
        return "permission", (
            "no Google credentials found: run `gcloud auth application-default login` "
            f"or set {CREDENTIALS_VARIABLE}"
        )
    if _network_failure(error):
        return "unreachable", f"cannot reach Google to get an access token: {_short(error)}"
    if isinstance(error, auth_errors.GoogleAuthError):
        return "permission", f"Google authentication failed: {error}"
    if isinstance(error, requests.exceptions.Timeout):
        return "timeout", f"request timed out: {error}"
    if isinstance(error, requests.exceptions.ConnectionError | ConnectionError):
        return "unreachable", f"cannot reach the BigQuery API: {_short(error)}"
    if isinstance(error, concurrent.futures.TimeoutError):
        return "timeout", "timed out"
    return "other", f"{type(error).__name__}: {error}"


CREDENTIALS_VARIABLE = "GOOGLE_APPLICATION_CREDENTIALS"
EMULATOR_VARIABLE = "BIGQUERY_EMULATOR_HOST"  # google-cloud-bigquery reads it too
_CREDENTIAL_TYPES = frozenset(
    {
        "authorized_user",
        "service_account",
        "external_account",
        "external_account_authorized_user",
        "impersonated_service_account",
        "gdch_service_account",
    }
)


def credentials_file_problem(path: str | None) -> str | None:
    """What is wrong with the key file ``GOOGLE_APPLICATION_CREDENTIALS`` names (None: nothing).

    >>> credentials_file_problem("/no/such/key.json")
    'GOOGLE_APPLICATION_CREDENTIALS points at /no/such/key.json, which does not exist'
    """
    if not path:
        return None
    where = f"{CREDENTIALS_VARIABLE} points at {path}"
    file = Path(path).expanduser()
    if not file.exists():
        return f"{where}, which does not exist"
    if not file.is_file():
        return f"{where}, which is not a file"
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        return f"{where}, which cannot be read: {error.strerror or error}"
    except (UnicodeDecodeError, json.JSONDecodeError):
        return f"{where}, which is not JSON (expected a Google credentials JSON key file)"
    kind = data.get("type") if isinstance(data, dict) else None
    if kind not in _CREDENTIAL_TYPES:
        shown = "no `type`" if kind is None else f"type {kind!r}"
        return (
            f"{where}, which is JSON but not a Google credentials file ({shown}; expected "
            "a service account key or `gcloud auth application-default login` output)"
        )
    return None


def _network_failure(error: BaseException) -> bool:
    """A token request that failed on the network (not a refused credential)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(
            current,
            auth_errors.TransportError
            | requests.exceptions.ConnectionError
            | requests.exceptions.Timeout
            | ConnectionError
            | TimeoutError,
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def _short(error: BaseException) -> str:
    text = str(error)
    match = re.search(r"\[Errno [^\]]*\][^')\"]*", text)
    return match.group(0).strip() if match else text
