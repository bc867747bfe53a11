"""Random valid segments over the example model (tests/fuzz.py) compile for every
dialect and run; extreme values give diagnostics; DuckDB and Postgres agree.

The number of cases is SEGDSL_FUZZ_CASES (default 300; the engine comparison runs a
third of them). Seeds are fixed: a failure names the seed and the condition, and
`SegmentFuzzer(seed).condition()` gives it back.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import duckdb
import psycopg
import pytest
from psycopg import sql

from segdsl.compiler import Compiler
from segdsl.demo.postgres_copy import copy_to_postgres
from segdsl.diagnostics import CompileError
from segdsl.project import Project, load_project
from segdsl.source import SourceFile
from tests.fuzz import SegmentFuzzer
from tests.support.availability import require_postgres
from tests.support.demo_copies import DemoCopies

CASES = int(os.environ.get("SEGDSL_FUZZ_CASES", "300"))
EXAMPLES = Path(__file__).parent.parent / "examples"
AS_OF = "2025-07-01"
DIALECTS = ("duckdb", "postgres", "bigquery", "spark")


def example_sources(schema: str = "shop") -> list[SourceFile]:
    return [
        SourceFile(str(path), path.read_text().replace("from shop.", f"from {schema}."))
        for path in sorted(EXAMPLES.glob("*.seg"))
    ]


@cache
def parsed_examples(schema: str) -> Project:
    return Project.from_sources(example_sources(schema), load_project(EXAMPLES).settings, [])


def compiler_for(condition: str, schema: str = "shop") -> Compiler:
    """The example project with `segment fuzz = <condition>` added (examples parsed once)."""
    examples = parsed_examples(schema)
    added = Project.from_text(f"segment fuzz = {condition}\n", "fuzz.seg")
    project = Project(
        [*examples.sources, *added.sources],
        examples.settings,
        [*examples.diagnostics, *added.diagnostics],
        [*examples.modules, *added.modules],
    )
    return Compiler(project)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, demo_copies: DemoCopies) -> Path:
    return demo_copies.copy(tmp_path_factory.mktemp("fuzz") / "demo.duckdb", scale=0.02).path


@pytest.fixture(scope="module")
def duck(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(warehouse), read_only=True)
    yield connection
    connection.close()


def run_case(seed: int, duck: duckdb.DuckDBPyConnection) -> str | None:
    """None if the case went well, else what went wrong."""
    fuzzer = SegmentFuzzer(seed)
    condition = fuzzer.condition()
    try:
        compiler = compiler_for(condition)
        if not compiler.analysis.ok:
            codes = [d.code for d in compiler.diagnostics if d.is_error]
            if not fuzzer.edgy or "SEG901" in codes:
                return f"seed {seed}: {condition}\n  diagnostics {codes}"
            return None
        for dialect in DIALECTS:
            compiler.members_sql("fuzz", dialect=dialect, as_of=AS_OF)
        duck.execute(compiler.members_sql("fuzz", dialect="duckdb", as_of=AS_OF)).fetchall()
        duck.execute(compiler.table_sql(["fuzz"], dialect="duckdb", as_of=AS_OF)).fetchall()
    except CompileError as error:
        codes = [d.code for d in error.diagnostics]
        if not fuzzer.edgy or "SEG901" in codes:
            return f"seed {seed}: {condition}\n  {error}"
    except Exception:  # every other exception is a crash: report it with its seed
        return f"seed {seed}: {condition}\n  {traceback.format_exc(limit=-3)}"
    return None


def test_random_segments_compile_for_every_dialect_and_run(
    duck: duckdb.DuckDBPyConnection,
) -> None:
    failures = [f for seed in range(CASES) if (f := run_case(seed, duck)) is not None]
    assert not failures, f"{len(failures)} of {CASES} cases failed:\n" + "\n".join(failures[:10])


def test_the_generator_reaches_every_kind_of_condition() -> None:
    """The cases above include every construct the generator knows, and extremes."""
    conditions = [SegmentFuzzer(seed).condition() for seed in range(CASES)]
    text = "\n".join(conditions)
    for construct in (
        " and ",
        " or ",
        "not ",
        " between ",
        " in [",
        " is missing",
        " * ",
        " during ",
        " then ",
        " then no ",
        " in top ",
        "ntile(",
        " among ",
        "lifecycle =",
        "reminder_test",
        " per ",
        "time since",
        " where ",
        " contains ",
        " - ",
    ):
        assert construct in text, construct
    assert any(_edgy(seed) for seed in range(CASES))


def _edgy(seed: int) -> bool:
    fuzzer = SegmentFuzzer(seed)
    fuzzer.condition()
    return fuzzer.edgy


@pytest.fixture(scope="module")
def postgres_schema(warehouse: Path) -> Iterator[str]:
    dsn = require_postgres()
    schema = f"segdsl_fuzz_{os.getpid()}"
    copy_to_postgres(warehouse, dsn, schema)
    yield schema
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


def test_duckdb_and_postgres_select_the_same_members(
    duck: duckdb.DuckDBPyConnection, postgres_schema: str
) -> None:
    """The same random segments over the same data: the same members on both engines."""
    mismatches: list[str] = []
    checked = 0
    with psycopg.connect(require_postgres(), autocommit=True) as connection:
        for seed in range(max(CASES // 3, 20)):
            fuzzer = SegmentFuzzer(seed)
            condition = fuzzer.condition()
            duck_compiler = compiler_for(condition)
            if fuzzer.edgy and not duck_compiler.analysis.ok:
                continue
            try:
                duck_sql = duck_compiler.members_sql("fuzz", dialect="duckdb", as_of=AS_OF)
            except CompileError:
                if fuzzer.edgy:
                    continue
                raise
            expected = {row[0] for row in duck.execute(duck_sql).fetchall()}
            pg_sql = compiler_for(condition, postgres_schema).members_sql(
                "fuzz", dialect="postgres", as_of=AS_OF
            )
            with connection.cursor() as cursor:
                cursor.execute(pg_sql.encode())
                found = {row[0] for row in cursor.fetchall()}
            checked += 1
            if found != expected:
                mismatches.append(
                    f"seed {seed}: {condition}\n  only DuckDB {sorted(expected - found)[:5]}"
                    f", only Postgres {sorted(found - expected)[:5]}"
                )
    assert checked >= max(CASES // 3, 20) * 9 // 10
    assert not mismatches, "\n".join(mismatches[:10])
