"""The read paths of `seg changes` on DuckDB, Postgres and GoogleSQL (ZetaSQL), on the
corpus: the two-as-of query and the history query give the changes a set difference
of the members at both times gives, on every engine.

The history table here is built in Python from the members at the two times (what
`seg snapshot` records; its write path is tested on DuckDB and Postgres in
test_history.py, and on BigQuery in test_bigquery_history_sql.py and
engines/test_bigquery_history.py), and loaded like the corpus tables, so its name has no
schema part.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlglot import exp

from segdsl.compiler import Compiler
from segdsl.history.changes import Interval, changes_query
from segdsl.history.membership import definition_hash, membership_query
from segdsl.sql.dialects import get_dialect
from tests.corpus.fixture import TABLES
from tests.support.runners import Runner, all_runners, close_all, sorted_rows
from tests.support.tables import TableSpec, table

T1, T2 = "2025-03-01", "2025-07-01"
NAMES = ["buyers", "recent_visit", "sleeping", "lifecycle", "test_split"]


def _history(corpus: Compiler, duckdb: Runner) -> TableSpec:
    """Validity intervals of NAMES observed at T1 and T2."""
    sql = get_dialect("duckdb").render(membership_query(corpus, NAMES, "duckdb", T1))
    at_1 = set(duckdb.query(sql))
    sql = get_dialect("duckdb").render(membership_query(corpus, NAMES, "duckdb", T2))
    at_2 = set(duckdb.query(sql))
    t1, t2 = corpus.as_of(T1).wall, corpus.as_of(T2).wall
    rows = []
    for key, name, label in at_1:
        end = None if (key, name, label) in at_2 else t2
        rows.append((key, name, label, definition_hash(corpus, name), t1, end))
    for key, name, label in at_2 - at_1:
        rows.append((key, name, label, definition_hash(corpus, name), t2, None))
    columns = {
        "key": "integer",
        "definition": "string",
        "label": "string",
        "definition_hash": "string",
        "valid_from": "timestamp",
        "valid_to": "timestamp",
    }
    return table("segdsl_history", columns, rows)  # type: ignore[arg-type]


HISTORY_ENGINES = ("duckdb", "postgres", "bigquery")


@pytest.fixture(scope="module")
def runners(corpus: Compiler) -> Iterator[list[Runner]]:
    plain = all_runners(TABLES, include_postgres=False)
    try:
        history = _history(corpus, plain[0])
    finally:
        close_all(plain)
    # history is written on DuckDB, Postgres and BigQuery; ClickHouse
    # and Spark keep none (its evaluation path orders rows differently there: not proven)
    every = all_runners([*TABLES, history])
    close_all([r for r in every if r.name not in HISTORY_ENGINES])
    started = [r for r in every if r.name in HISTORY_ENGINES]
    yield started
    close_all(started)


def _no_schema(query: exp.Select) -> exp.Select:
    for found in query.find_all(exp.Table):
        if found.name == "segdsl_history":
            found.set("db", None)
    return query


def _members(corpus: Compiler, runner: Runner, as_of: str) -> dict[tuple[object, str], object]:
    sql = get_dialect(runner.name).render(membership_query(corpus, NAMES, runner.name, as_of))
    return {(key, name): label for key, name, label in runner.query(sql)}


@pytest.mark.parametrize("name", NAMES)
def test_changes_on_every_engine(corpus: Compiler, runners: list[Runner], name: str) -> None:
    labelled = corpus.definition(name).kind != "segment"
    seen = []
    for runner in runners:
        before = {k: v for (k, n), v in _members(corpus, runner, T1).items() if n == name}
        after = {k: v for (k, n), v in _members(corpus, runner, T2).items() if n == name}
        expected = []
        for key in before.keys() | after.keys():
            if key in before and key in after and before[key] == after[key]:
                continue
            change = "entered" if key not in before else "left" if key not in after else "moved"
            row = (key, change, before.get(key), after.get(key))
            expected.append(row if labelled else row[:2])
        interval = Interval(corpus.as_of(T1), corpus.as_of(T2), "evaluation", "")
        render = get_dialect(runner.name).render
        evaluated = runner.query(render(changes_query(corpus, name, interval, runner.name, None)))
        interval = Interval(corpus.as_of(T1), corpus.as_of(T2), "history", "")
        query = _no_schema(changes_query(corpus, name, interval, runner.name, "hist"))
        from_history = runner.query(render(query))
        assert sorted_rows(evaluated) == sorted_rows(expected), runner.name
        assert sorted_rows(from_history) == sorted_rows(expected), runner.name
        assert evaluated == from_history, "both ordered by change and key"
        seen.append(sorted_rows(expected))
    assert seen[0] == seen[1] == seen[2]


def test_the_corpus_changes_between_the_two_times(corpus: Compiler, runners: list[Runner]) -> None:
    before, after = _members(corpus, runners[0], T1), _members(corpus, runners[0], T2)
    changed = {name for (_, name) in before.keys() ^ after.keys()}
    changed |= {
        name for key, name in before.keys() & after.keys() if before[key, name] != after[key, name]
    }
    assert changed >= {"buyers", "lifecycle"}
