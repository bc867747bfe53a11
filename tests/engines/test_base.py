"""Shared pieces: EngineError, the read-only check, the materialize statement, interrupts."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from segdsl.engines import connect
from segdsl.engines.base import (
    EngineError,
    drop_statement,
    leading_keyword,
    materialize_statement,
    require_query,
    run_interruptible,
)


def test_engine_error_is_one_masked_line() -> None:
    error = EngineError(
        "unreachable",
        "could not connect to postgresql://u:hunter22@h/db\n\tIs the server running?",
        secrets=("hunter22",),
    )
    assert str(error) == "could not connect to postgresql://u:***@h/db Is the server running?"
    assert error.kind == "unreachable"
    assert "hunter22" not in repr(error)


def test_engine_error_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown EngineError kind"):
        EngineError("oops", "x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sql", "keyword"),
    [
        ("SELECT 1", "select"),
        ("  -- note\n/* block\n comment */ with x as (select 1) select * from x", "with"),
        ("((select 1))", "select"),
        ("insert into t values (1)", "insert"),
        ("", ""),
    ],
)
def test_leading_keyword(sql: str, keyword: str) -> None:
    assert leading_keyword(sql) == keyword


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t VALUES (1)",
        "drop table t",
        "/* x */ DELETE FROM t",
        "COPY t TO 'f'",
        "SET x=1",
        " ",
    ],
)
def test_require_query_refuses_writes(sql: str) -> None:
    with pytest.raises(EngineError) as caught:
        require_query(sql, "postgres")
    assert caught.value.kind == "permission"


@pytest.mark.parametrize(
    "sql", ["SELECT 1", "WITH a AS (SELECT 1) SELECT * FROM a", "VALUES (1)", "selec 1"]
)
def test_require_query_lets_queries_and_typos_through(sql: str) -> None:
    require_query(sql, "postgres")  # typos are the engine's syntax errors


@pytest.mark.parametrize(
    ("dialect", "name", "kind", "expected"),
    [
        ("duckdb", "segments", "table", 'CREATE OR REPLACE TABLE "segments" AS SELECT 1 AS a'),
        (
            "duckdb",
            "Main.Active",
            "view",
            'CREATE OR REPLACE VIEW "Main"."Active" AS SELECT 1 AS a',
        ),
        (
            "postgres",
            'Analytics."Big Spenders"',
            "table",
            'CREATE OR REPLACE TABLE "analytics"."Big Spenders" AS SELECT 1 AS a',
        ),
        (
            "postgres",
            ("Exact", "Name"),
            "view",
            'CREATE OR REPLACE VIEW "Exact"."Name" AS SELECT 1 AS a',
        ),
        (
            "bigquery",
            "my-project.ds.Seg",
            "table",
            "CREATE OR REPLACE TABLE `my-project`.`ds`.`Seg` AS SELECT 1 AS a",
        ),
        (
            "bigquery",
            "`my-project.ds.seg`",
            "view",
            "CREATE OR REPLACE VIEW `my-project`.`ds`.`seg` AS SELECT 1 AS a",
        ),
    ],
)
def test_materialize_statement_quotes_the_name(
    dialect: str, name: str | tuple[str, ...], kind: str, expected: str
) -> None:
    assert materialize_statement("SELECT 1 AS a", name, kind, dialect) == expected  # type: ignore[arg-type]


def test_materialize_statement_keeps_the_query() -> None:
    sql = "WITH a AS (SELECT 1 AS x) SELECT x FROM a UNION ALL SELECT 2 AS x"
    statement = materialize_statement(sql, "t", "table", "postgres", replace=False)
    assert statement == f'CREATE TABLE "t" AS {sql}'


def test_drop_statement() -> None:
    assert drop_statement("s.t", "view", "postgres") == 'DROP VIEW IF EXISTS "s"."t"'


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("SELECT 1; DROP TABLE orders", "invalid_query"),
        ("DELETE FROM orders", "permission"),
        ("INSERT INTO t SELECT 1", "permission"),
        ("SELECT FROM WHERE (", "invalid_query"),
    ],
)
def test_materialize_statement_refuses_anything_but_one_query(sql: str, kind: str) -> None:
    with pytest.raises(EngineError) as caught:
        materialize_statement(sql, "t", "table", "duckdb")
    assert caught.value.kind == kind


@pytest.mark.parametrize(
    "name",
    ["t; DROP TABLE x", "t AS x", "f(x)", "a.b.c.d", "", "select", ("a", ""), ("a", "b", "c", "d")],
)
def test_materialize_statement_refuses_bad_names(name: str | tuple[str, ...]) -> None:
    with pytest.raises(EngineError) as caught:
        materialize_statement("SELECT 1", name, "table", "postgres")
    assert caught.value.kind == "invalid_query"


def test_materialize_statement_refuses_other_kinds() -> None:
    with pytest.raises(EngineError):
        materialize_statement("SELECT 1", "t", "index", "duckdb")  # type: ignore[arg-type]


def test_run_interruptible_times_out_and_cancels() -> None:
    stop = threading.Event()
    started = time.monotonic()
    with pytest.raises(EngineError) as caught:
        run_interruptible(
            lambda: stop.wait(10),
            stop.set,
            timeout=0.2,
            on_timeout=lambda: EngineError("timeout", "too slow"),
            on_cancel=lambda: EngineError("cancelled", "cancelled"),
        )
    assert caught.value.kind == "timeout"
    assert stop.is_set()
    assert time.monotonic() - started < 5


def test_run_interruptible_passes_results_and_errors() -> None:
    def fail() -> None:
        raise ZeroDivisionError

    def never() -> EngineError:
        raise AssertionError

    assert (
        run_interruptible(lambda: 42, lambda: None, timeout=None, on_timeout=never, on_cancel=never)
        == 42
    )
    with pytest.raises(ZeroDivisionError):
        run_interruptible(fail, lambda: None, timeout=None, on_timeout=never, on_cancel=never)


def test_connect_reports_bad_urls_as_engine_errors() -> None:
    with pytest.raises(EngineError) as caught:
        connect("mysql://root:Secret123@h/db")
    assert caught.value.kind == "other"
    assert "Secret123" not in str(caught.value)


def test_importing_the_package_loads_no_driver() -> None:
    code = (
        "import sys; import segdsl.engines as e; e.parse_url('postgresql://u:p@h/db'); "
        "e.mask('x'); "
        "heavy = [m for m in ('duckdb', 'psycopg', 'google.cloud.bigquery', 'pyarrow') "
        "if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
