"""Columns as the warehouse stores them (issue 22.4): before `seg run`, `explain --db` and
`why`, BigQuery and Postgres read the column types of the tables used; a time column
declared without a type (`time occurred_at`) that holds instants (BigQuery TIMESTAMP,
Postgres timestamptz) compiles as one, and a declared type the warehouse contradicts
is SEG403 before any query is sent.

Proved by execution: the members of windows whose lower bound falls between an event's
instant and the same wall-clock time read in UTC, on GoogleSQL (ZetaSQL) with a TIMESTAMP
column and on Postgres with a timestamptz column and a UTC session, against the members
worked out here from zoneinfo alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from segdsl import execute
from segdsl.compiler import Compiler
from segdsl.diagnostics import CompileError, render_text
from segdsl.engines import connect
from segdsl.project import Project
from segdsl.schema import WarehouseSchema, schema_diagnostics, warehouse_kind
from segdsl.settings import Settings
from tests.generators import MODEL, shop_tables
from tests.support.availability import require_postgres
from tests.support.runners import DEFAULT_POSTGRES_DSN, PostgresRunner, ZetaSQLRunner
from tests.support.tables import PHYSICAL_TYPES, TableSpec

ZONE = "Europe/Berlin"
AS_OF = dt.datetime(2025, 7, 1, 12, 0, tzinfo=ZoneInfo(ZONE))
# the untyped model: `time occurred_at` and `time signed_up_at` say nothing of storage
UNTYPED = MODEL.replace("time occurred_at: timestamptz", "time occurred_at").replace(
    "time signed_up_at: timestamptz", "time signed_up_at"
)
SEGMENTS = """
segment active_week = exists events during last 7d
segment active_day = exists events during last 1d
segment new_week = signed_up_at in last 7d
"""


@dataclass
class CatalogOnly:
    """An engine that answers the catalog query from fixture tables and records it."""

    dialect: str
    tables: Sequence[TableSpec]
    reads_column_types: bool = True
    described: list[list[tuple[str, ...]]] = field(default_factory=list)

    def describe_tables(self, paths: Sequence[tuple[str, ...]]) -> dict[str, dict[str, str]]:
        self.described.append(list(paths))
        types = PHYSICAL_TYPES[self.dialect]  # type: ignore[index]
        by_name = {spec.name: spec for spec in self.tables}
        return {
            ".".join(path): {c.name: types[c.type] for c in by_name[path[-1]].columns}
            for path in paths
        }


def compiler(model: str = UNTYPED) -> Compiler:
    text = model + SEGMENTS
    return Compiler(Project.from_text(text, "shop.seg", settings=Settings(time_zone=ZONE)))


def moments() -> list[dt.datetime]:
    """Around each window's lower bound: the instant ±1 s, and the same wall-clock time
    read in UTC (where a TIMESTAMP compared as a DATETIME puts the bound) ±1 s."""
    found = []
    for days in (1, 7):
        lower = AS_OF - dt.timedelta(days=days)
        as_utc_wall = lower.replace(tzinfo=dt.UTC)
        for point in (lower, as_utc_wall):
            found += [point + dt.timedelta(seconds=s) for s in (-1, 0, 1)]
    return sorted(set(found))


def fixture() -> tuple[tuple[TableSpec, ...], dict[str, set[int]]]:
    points = moments()
    keys = range(1, len(points) + 1)
    tables = shop_tables(
        [(k, m, None, None, None) for k, m in zip(keys, points, strict=True)],
        orders=[(k, dt.datetime(2025, 6, 30), k, Decimal(1), "paid") for k in keys],
        events=[(k, m, "view") for k, m in zip(keys, points, strict=True)],
    )
    expected = {
        "active_week": {
            k for k, m in zip(keys, points, strict=True) if AS_OF - dt.timedelta(days=7) < m
        },
        "active_day": {
            k for k, m in zip(keys, points, strict=True) if AS_OF - dt.timedelta(days=1) < m
        },
    }
    expected["new_week"] = expected["active_week"]
    return tables, expected


def members(runner: ZetaSQLRunner | PostgresRunner, fitted: Compiler, segment: str) -> set[int]:
    sql = fitted.members_sql(segment, dialect=runner.name, as_of=AS_OF.isoformat())
    return {int(str(row[0])) for row in runner.query(sql)}


def test_bigquery_timestamp_columns_compile_as_instants() -> None:
    tables, expected = fixture()
    engine = CatalogOnly("bigquery", tables)
    plain = compiler()
    fitted = execute.fit_to_warehouse(plain, engine, list(expected))  # type: ignore[arg-type]
    assert engine.described == [[("customers",), ("events",)]]  # one catalog query
    runner = ZetaSQLRunner(tables)
    try:
        # as declared, the TIMESTAMP column meets DATETIME bounds: BigQuery refuses
        with pytest.raises(Exception, match="No matching signature"):
            members(runner, plain, "active_week")
        for segment, want in expected.items():
            assert members(runner, fitted, segment) == want, segment
    finally:
        runner.close()


def test_postgres_timestamptz_columns_compile_as_instants() -> None:
    require_postgres()
    tables, expected = fixture()
    runner = PostgresRunner(tables)  # its session's TimeZone is UTC, the project's Berlin
    try:
        url = f"{DEFAULT_POSTGRES_DSN}?options=-csearch_path%3D{runner.schema}"
        with connect(url) as engine:
            fitted = execute.fit_to_warehouse(compiler(), engine, list(expected))
        got = {segment: members(runner, fitted, segment) for segment in expected}
        assert got == expected
        # as declared (wall-clock times), the bounds were read in the session's zone
        unfitted = {segment: members(runner, compiler(), segment) for segment in expected}
        assert unfitted != expected
    finally:
        runner.close()


def test_a_declared_type_the_warehouse_contradicts_is_refused_before_any_query() -> None:
    tables, expected = fixture()
    model = UNTYPED.replace("time occurred_at", "time occurred_at: timestamp")
    engine = CatalogOnly("bigquery", tables)
    project_compiler = compiler(model)
    with pytest.raises(CompileError) as caught:
        execute.fit_to_warehouse(project_compiler, engine, list(expected))  # type: ignore[arg-type]
    [problem] = caught.value.diagnostics
    assert problem.code == "SEG403"
    assert "`events.occurred_at` is TIMESTAMP in the warehouse" in problem.message
    assert problem.help == "declare it as `timestamptz`"
    shown = render_text(caught.value.diagnostics, project_compiler.project.source_map)
    lines = model.splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "occurred_at: timestamp" in text)
    assert f"shop.seg:{line}:" in shown and "^" in shown


def test_only_the_columns_used_are_checked() -> None:
    """A wrong type on a column no requested definition reads does not stop the run."""
    tables, _ = fixture()
    model = UNTYPED.replace("kind: string", "kind: integer")  # events.kind is a STRING
    engine = CatalogOnly("bigquery", tables)
    fitted = execute.fit_to_warehouse(compiler(model), engine, ["active_week"])  # type: ignore[arg-type]
    assert fitted.warehouse is not None


def test_engines_that_do_not_read_types_compile_as_declared() -> None:
    tables, _ = fixture()
    engine = CatalogOnly("duckdb", tables, reads_column_types=False)
    plain = compiler()
    assert execute.fit_to_warehouse(plain, engine, ["active_week"]) is plain  # type: ignore[arg-type]
    assert engine.described == []


@pytest.mark.parametrize(
    ("type_name", "dialect", "kind"),
    [
        ("TIMESTAMP", "bigquery", "timestamptz"),
        ("DATETIME", "bigquery", "timestamp"),
        ("timestamp with time zone", "postgres", "timestamptz"),
        ("timestamp without time zone", "postgres", "timestamp"),
        ("DateTime64(3, 'UTC')", "clickhouse", "timestamptz"),
        ("Nullable(DateTime64(6, 'Europe/Berlin'))", "clickhouse", "timestamptz"),
        ("DateTime64(3)", "clickhouse", "timestamp"),
        ("Date32", "clickhouse", "date"),
    ],
)
def test_warehouse_kinds(type_name: str, dialect: str, kind: str) -> None:
    assert warehouse_kind(type_name, dialect) == kind


def test_validate_with_a_recorded_schema_follows_the_same_rule() -> None:
    """`seg validate --schema`: an untyped time on a TIMESTAMP is fine, a declared
    `timestamp` on one is SEG403."""
    tables, _ = fixture()
    engine = CatalogOnly("bigquery", tables)
    schema = WarehouseSchema("bigquery", engine.describe_tables([(t.name,) for t in tables]))
    untyped = compiler().project.modules
    declared = compiler(UNTYPED.replace("time occurred_at", "time occurred_at: timestamp"))
    assert [d.code for d in schema_diagnostics(untyped, schema)] == []
    assert [d.code for d in schema_diagnostics(declared.project.modules, schema)] == ["SEG403"]
