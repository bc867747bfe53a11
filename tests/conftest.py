"""Shared fixtures: the corpus project and engine runners loaded with the corpus data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from segdsl.compiler import Compiler
from segdsl.project import load_project
from tests.corpus.fixture import TABLES
from tests.support.availability import require_postgres
from tests.support.demo_copies import DemoCopies
from tests.support.runners import (
    ChdbRunner,
    DuckDBRunner,
    PostgresRunner,
    Runner,
    SparkRunner,
    ZetaSQLRunner,
)

CORPUS = Path(__file__).parent / "corpus"


UNGROUPED = pytest.StashKey[bool]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With `--dist loadgroup`, pytest-xdist sends the tests of one `xdist_group` to one
    worker by renaming them (`…@spark`) on its workers: a test of a group that kept its
    name runs on any worker (one more Spark session there), and fails here."""
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers only
        return
    for item in items:
        if item.get_closest_marker("xdist_group") is not None and "@" not in item.nodeid:
            item.stash[UNGROUPED] = True


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.stash.get(UNGROUPED, False):
        pytest.fail(
            "pytest-xdist did not group this xdist_group test: a pytest this pytest-xdist "
            "does not support? (pyproject.toml)",
            pytrace=False,
        )


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
def demo_copies(tmp_path_factory: pytest.TempPathFactory) -> DemoCopies:
    """Copies of the demo warehouse, each scale built once per session (per xdist worker)."""
    return DemoCopies(tmp_path_factory.mktemp("demo-builds"))


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
