"""`seg compile --dbt`: `dbt build` with dbt-duckdb and dbt-postgres on the demo warehouse
makes models whose rows are what `seg run` gives at the same as-of time.

dbt lives in its own virtualenv (its pins differ from segdsl's): the `dbt` executable
is taken from `SEGDSL_DBT`, else `.venv-dbt/bin/dbt` in the repository, else PATH. Make
it with `python3 -m venv .venv-dbt && .venv-dbt/bin/pip install -r
tests/dbt-requirements.txt` (`.ci/run` does). Without dbt the tests are skipped, and fail
when CI is set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from segdsl.cli.main import app
from segdsl.compiler import Compiler
from segdsl.dbt import write_dbt
from segdsl.demo.warehouse import copy_to_postgres
from segdsl.engines import connect
from segdsl.project import Project, load_project
from tests.support.availability import require_postgres, running_in_ci
from tests.support.demo_copies import DemoCopies
from tests.support.runners import DEFAULT_POSTGRES_DSN

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NAMES = ["loyal", "sleeping", "lifecycle", "new_customers", "reminder_test"]
AS_OF = "2025-07-01 00:00:00"


def _dbt() -> str:
    found = os.environ.get("SEGDSL_DBT") or (
        str(ROOT / ".venv-dbt" / "bin" / "dbt")
        if (ROOT / ".venv-dbt" / "bin" / "dbt").exists()
        else shutil.which("dbt")
    )
    if not found:
        message = "dbt is not installed (see this module's docstring)"
        if running_in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_copies: DemoCopies) -> Path:
    return demo_copies.copy(tmp_path_factory.mktemp("demo") / "demo.duckdb", scale=0.02).path


@pytest.fixture(scope="module")
def pg_database(demo: Path) -> Iterator[str]:
    require_postgres(DEFAULT_POSTGRES_DSN)
    name = f"dbt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(DEFAULT_POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        copy_to_postgres(demo, psycopg.conninfo.make_conninfo(DEFAULT_POSTGRES_DSN, dbname=name))
        yield name
    finally:
        with psycopg.connect(DEFAULT_POSTGRES_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _project(folder: Path, output: dict[str, object]) -> None:
    (folder / "models").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text(
        json.dumps(
            {
                "name": "segdsl_check",
                "version": "1.0",
                "profile": "segdsl_check",
                "model-paths": ["models"],
            }
        )
    )
    profile = {"segdsl_check": {"target": "main", "outputs": {"main": output}}}
    (folder / "profiles.yml").write_text(json.dumps(profile))


def _build(dbt: str, folder: Path, *extra: str) -> None:
    done = subprocess.run(
        [dbt, "build", "--profiles-dir", str(folder), "--project-dir", str(folder), *extra],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


@pytest.mark.parametrize("engine_name", ["duckdb", "postgres"])
def test_dbt_models_match_seg_run(
    request: pytest.FixtureRequest, demo: Path, tmp_path: Path, engine_name: str
) -> None:
    dbt = _dbt()
    folder = tmp_path / "project"
    if engine_name == "duckdb":
        warehouse = tmp_path / "warehouse.duckdb"
        shutil.copy(demo, warehouse)
        url = f"duckdb:///{warehouse}"
        _project(folder, {"type": "duckdb", "path": str(warehouse), "schema": "analytics"})
    else:
        database = request.getfixturevalue("pg_database")
        url = f"postgresql://postgres@127.0.0.1:5432/{database}"
        _project(
            folder,
            {
                "type": "postgres",
                "host": "127.0.0.1",
                "port": 5432,
                "user": "postgres",
                "password": "",
                "dbname": database,
                "schema": "analytics",
                "threads": 1,
            },
        )
    names = [arg for name in NAMES for arg in ("-s", name)]
    result = CliRunner().invoke(
        app,
        [
            "compile",
            str(EXAMPLES),
            *names,
            "--dialect",
            engine_name,
            "--dbt",
            str(folder / "models" / "segdsl"),
        ],
    )
    assert result.exit_code == 0, result.stderr
    sources = (folder / "models" / "segdsl" / "sources.yml").read_text()
    assert '"name": "shop"' in sources and '"name": "orders"' in sources
    schema = json.loads((folder / "models" / "segdsl" / "schema.yml").read_text().split("\n", 1)[1])
    described = {model["name"]: model for model in schema["models"]}
    assert described["new_customers"]["meta"]["owner"] == "crm"
    assert described["new_customers"]["description"] == "First purchase in the last 30 days"

    _build(dbt, folder, "--vars", json.dumps({"segdsl_as_of": AS_OF}))
    compiler = Compiler(load_project(EXAMPLES))
    with connect(url) as engine:

        def rows(sql: str) -> list[str]:
            return sorted(repr(sorted(row.items())) for row in engine.query(sql).to_pylist())

        for name in NAMES:
            model = f'SELECT * FROM "analytics"."{name}"'
            if compiler.definition(name).kind == "segment":
                expected = compiler.members_sql(name, dialect=engine_name, as_of=AS_OF)
            else:
                expected = compiler.table_sql([name], dialect=engine_name, as_of=AS_OF)
            assert rows(model) == rows(expected), name
        membership = 'SELECT * FROM "analytics"."segdsl_membership"'
        expected = compiler.table_sql(NAMES, dialect=engine_name, as_of=AS_OF)
        assert rows(membership) == rows(expected)
        assert len(rows(membership)) > 100
    # without the var, the as-of time is the run's start: it builds (the demo ended in 2025)
    _build(dbt, folder)


def test_tables_named_like_the_querys_own_relations_are_dbt_sources(tmp_path: Path) -> None:
    """A one-part warehouse table named like a CTE of the query (`candidates`) is a dbt
    source like any other; the query's CTEs (renamed clear of it) are not."""
    text = (
        "segdsl 1\nentity customer from candidates {\n  key id\n  city: string\n}\n"
        "table orders from population {\n  link customer_id to customer\n}\n"
        'segment moscow_buyers = city = "Moscow" and exists orders\n'
    )
    compiler = Compiler(Project.from_text(text))
    write_dbt(compiler, ["moscow_buyers"], "duckdb", tmp_path)
    sql = (tmp_path / "moscow_buyers.sql").read_text()
    sources = (tmp_path / "sources.yml").read_text()
    assert "FROM {{ source('segdsl', 'candidates') }} AS \"customer\"" in sql, sql
    assert "FROM {{ source('segdsl', 'population') }} AS \"orders\"" in sql, sql
    assert 'FROM "candidates_2"' in sql and 'FROM "population_2"' in sql, sql
    tables = json.loads(sources.split("\n", 1)[1])["sources"][0]["tables"]
    assert sorted(table["name"] for table in tables) == ["candidates", "population"]
