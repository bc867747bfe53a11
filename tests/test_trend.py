"""`seg trend`: a segment's size at every step of a calendar spine, in one query, equals
its size evaluated at that step's as-of time (a literal as-of), on DuckDB, Postgres,
GoogleSQL (ZetaSQL), ClickHouse (chdb) and Spark; every definition of the corpus
(rankings, population aggregates, sequences and table figures included), on month ends
and across daylight-saving changes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from segdsl.cli.main import app
from segdsl.compiler import Compiler
from segdsl.diagnostics import CompileError
from segdsl.execute import count_columns, labels_sql, sizes_sql
from segdsl.project import load_project
from segdsl.settings import Settings
from segdsl.trend import labels_trend_sql, sizes_trend_sql, steps
from tests.corpus.fixture import TABLES
from tests.support.demo_copies import DemoCopies
from tests.support.runners import Runner, all_runners, close_all, normalize_value

CORPUS = Path(__file__).parent / "corpus"
EXAMPLES = Path(__file__).parents[1] / "examples"
# month ends from October to June (New York leaves and re-enters daylight saving time),
# and 02:30 every week around the night New York's clocks skip 02:00-03:00
SPANS = [("2024-10-31", "2025-06-30", "1mo"), ("2025-02-23T02:30", "2025-03-16T02:30", "1w")]


@pytest.fixture(scope="module")
def runners() -> Iterator[list[Runner]]:
    started = all_runners(TABLES)
    yield started
    close_all(started)


def _compiler(zone: str) -> Compiler:
    project = load_project(CORPUS)
    project = dataclasses.replace(project, settings=Settings(time_zone=zone))
    compiler = Compiler(project)
    assert compiler.analysis.ok, compiler.diagnostics
    return compiler


def _definitions(compiler: Compiler, kinds: tuple[str, ...]) -> list[str]:
    return [
        name
        for name, definition in compiler.analysis.definitions.items()
        if definition.kind in kinds
    ]


def _wall(value: object) -> dt.datetime:
    assert isinstance(value, dt.datetime), value
    return value.replace(tzinfo=None)


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("span", SPANS, ids=["month-ends", "weekly-dst"])
def test_trend_sizes_equal_the_sizes_at_each_step(
    runners: list[Runner], zone: str, span: tuple[str, str, str]
) -> None:
    compiler = _compiler(zone)
    segments = _definitions(compiler, ("segment",))
    assert len(segments) >= 10
    at = steps(compiler, *span)
    assert len(at) >= 4
    columns = ["population", *count_columns(segments).values()]
    changing = set()
    for runner in runners:
        sql = sizes_trend_sql(compiler, segments, runner.name, at, distinct=False)
        rows = runner.query(sql)
        assert len(rows) == len(at)
        got = {_wall(row[0]): [normalize_value(v) for v in row[1:]] for row in rows}
        for moment in at:
            fixed = runner.query(sizes_sql(compiler, segments, runner.name, moment))
            assert len(fixed) == 1
            # the fixed query's columns: population, keys, c1, …
            expected = dict(zip(["population", "keys", *columns[1:]], fixed[0], strict=True))
            trend_row = dict(
                zip(["population", "keys", *columns[1:]], got[moment.wall], strict=True)
            )
            assert {k: normalize_value(v) for k, v in expected.items()} == trend_row, (
                runner.name,
                moment.wall,
            )
            changing.add(repr(trend_row))
    assert len(changing) >= 3  # the steps do give different sizes


@pytest.mark.xdist_group("spark")  # one worker, one Spark session for all Spark tests
def test_trend_sizes_on_spark(corpus_spark: Runner) -> None:
    """Spark too: every segment of the corpus at three quarter ends (fewer steps than
    the other engines: each Spark query takes seconds)."""
    compiler = _compiler("America/New_York")
    segments = _definitions(compiler, ("segment",))
    at = steps(compiler, "2024-12-31", "2025-06-30", "3mo")
    assert len(at) == 3
    rows = corpus_spark.query(sizes_trend_sql(compiler, segments, "spark", at, distinct=False))
    got = {_wall(row[0]): [normalize_value(v) for v in row[1:]] for row in rows}
    assert set(got) == {moment.wall for moment in at}
    for moment in at:
        (fixed,) = corpus_spark.query(sizes_sql(compiler, segments, "spark", moment))
        assert got[moment.wall] == [normalize_value(v) for v in fixed], moment.wall
    assert len({repr(sizes) for sizes in got.values()}) == 3


# table figures (one value over every member's rows) are each step's own; running totals
# over a table timed by DATE, and over one without a time (its rows count at every step)
FIGURES = """
segment above_shop_check = avg_check > avg(amount) of all paid_orders_rows
segment many_orders = paid_orders * 50 > count of all orders
segment top_above_shop = revenue in top 20% among above_shop_check
segment two_visit_days = count visits >= 2 and (exists visits where channel = "email")
segment visited_early = min(visit_date) of visits < 2024-12-15
table untimed_visits from visits {
  link customer_id to customer
  channel: string
}
segment email_visitor = (count untimed_visits where channel = "email") >= 2
"""


def test_trend_table_figures_equal_the_figures_at_each_step(
    runners: list[Runner], tmp_path: Path
) -> None:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    (tmp_path / "corpus" / "figures.seg").write_text(FIGURES)
    compiler = Compiler(load_project(tmp_path / "corpus"))
    assert compiler.analysis.ok, compiler.diagnostics
    names = ["above_shop_check", "many_orders", "top_above_shop", "two_visit_days"]
    names += ["visited_early", "email_visitor"]
    at = steps(compiler, *SPANS[0])
    columns = ["population", "keys", *count_columns(names).values()]
    for runner in runners:
        rows = runner.query(sizes_trend_sql(compiler, names, runner.name, at, distinct=False))
        got = {_wall(row[0]): [normalize_value(v) for v in row[1:]] for row in rows}
        sizes = set()
        for moment in at:
            (fixed,) = runner.query(sizes_sql(compiler, names, runner.name, moment))
            expected = [normalize_value(v) for v in fixed]
            assert dict(zip(columns, got[moment.wall], strict=True)) == dict(
                zip(columns, expected, strict=True)
            ), (runner.name, moment.wall)
            sizes.add(tuple(expected[2:]))
        assert len(sizes) >= 3


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_trend_labels_equal_the_labels_at_each_step(runners: list[Runner], zone: str) -> None:
    compiler = _compiler(zone)
    classifiers = _definitions(compiler, ("classifier", "split"))
    assert classifiers
    at = steps(compiler, *SPANS[0])
    for runner in runners:
        for name in classifiers:
            rows = runner.query(labels_trend_sql(compiler, name, runner.name, at, distinct=False))
            got: dict[dt.datetime, set[tuple[object, object]]] = {m.wall: set() for m in at}
            for as_of, label, members in rows:
                got[_wall(as_of)].add((label, normalize_value(members)))
            for moment in at:
                fixed = runner.query(labels_sql(compiler, name, runner.name, moment))
                expected = {(label, normalize_value(n)) for label, n in fixed}
                assert got[moment.wall] == expected, (runner.name, name, moment.wall)


def test_cli_trend_json_export_rankings_and_refusal(
    tmp_path: Path, demo_copies: DemoCopies
) -> None:
    """`seg trend --format json` follows its schema and agrees with `seg run` at a step (a
    ranking, a table figure and a grouped table too); `--output` writes one row per step
    and definition (and label); a measure is refused."""
    from jsonschema import Draft202012Validator

    path = tmp_path / "demo.duckdb"
    demo_copies.copy(path, scale=0.02)
    url = f"duckdb:///{path}"
    base = [str(EXAMPLES), "--db", url, "-s", "loyal", "-s", "lifecycle"]
    span = ["--from", "2025-01-31", "--to", "2025-04-30", "--every", "1mo"]
    runner = CliRunner()
    result = runner.invoke(app, ["trend", *base, *span, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    schema = json.loads((EXAMPLES.parent / "docs/schemas/trend.schema.json").read_text())
    assert not list(Draft202012Validator(schema).iter_errors(document))
    assert [s["as_of"][:10] for s in document["steps"]] == [
        "2025-01-31",
        "2025-02-28",
        "2025-03-31",
        "2025-04-30",
    ]
    sizes = runner.invoke(app, ["run", *base, "--as-of", "2025-02-28", "--format", "json"])
    assert sizes.exit_code == 0, sizes.stderr
    expected = json.loads(sizes.stdout)
    step = document["steps"][1]
    assert step["segments"] == expected["segments"] and step["labels"] == expected["labels"]
    output = tmp_path / "trend.jsonl"
    exported = runner.invoke(app, ["trend", *base, *span, "-o", str(output)])
    assert exported.exit_code == 0, exported.stderr
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    labels = len(document["steps"][0]["labels"]["lifecycle"])
    assert len(rows) == 4 * (1 + labels)
    ranked = ["-s", "champions", "-s", "above_average_check", "-s", "loyal_repeaters"]
    both = [str(EXAMPLES), "--db", url, *ranked]
    result = runner.invoke(app, ["trend", *both, *span, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    sizes = runner.invoke(app, ["run", *both, "--as-of", "2025-03-31", "--format", "json"])
    assert sizes.exit_code == 0, sizes.stderr
    got = json.loads(result.stdout)["steps"][2]["segments"]
    assert got == json.loads(sizes.stdout)["segments"]
    measure = runner.invoke(app, ["trend", str(EXAMPLES), "--db", url, "-s", "orders_count", *span])
    assert measure.exit_code != 0 and "SEG594" in measure.stderr


def test_steps_refuse_bad_requests() -> None:
    compiler = _compiler("UTC")
    for args, code in [
        (("2025-01-01", "2025-02-01", "1 fortnight"), "SEG591"),
        (("2025-02-01", "2025-01-01", "1d"), "SEG592"),
        (("2020-01-01", "2025-01-01", "1h"), "SEG593"),
    ]:
        with pytest.raises(CompileError) as error:
            steps(compiler, *args)
        assert error.value.diagnostics[0].code == code
