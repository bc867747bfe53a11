"""Shared fixtures: the corpus project and engine runners loaded with the corpus data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from segdsl.compiler import Compiler
from segdsl.project import load_project
from tests.corpus.fixture import TABLES
from tests.support.availability import require_postgres
from tests.support.runners import (
    ChdbRunner,
    DuckDBRunner,
    PostgresRunner,
    Runner,
    SparkRunner,
    ZetaSQLRunner,
)

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Compiler:
    compiler = Compiler(load_project(CORPUS))
    assert compiler.analysis.ok, compiler.diagnostics
    return compiler


@pytest.fixture(scope="session")
def corpus_duckdb() -> Iterator[Runner]:
    runner = DuckDBRunner(TABLES)
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def corpus_postgres() -> Iterator[Runner]:
    require_postgres()
    runner = PostgresRunner(TABLES)
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def corpus_bigquery() -> Iterator[Runner]:
    runner = ZetaSQLRunner(TABLES)
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the whole session (tests/support/browser.py)."""
    from tests.support.browser import launch

    with launch() as chromium:
        yield chromium


@pytest.fixture(scope="session")
def corpus_spark() -> Iterator[Runner]:
    runner = SparkRunner(TABLES)
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def corpus_clickhouse() -> Iterator[Runner]:
    runner = ChdbRunner(TABLES)
    yield runner
    runner.close()
