"""`seg test`: segment tests run as a user runs them, on DuckDB and on Postgres.

The examples' own tests must pass on both engines; a wrong expectation must fail with
the key, its conditions and its rows; bad test files get diagnostics with a place; and
on Postgres nothing is left behind or touched.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from segdsl.cli.main import app
from segdsl.compiler import Compiler
from segdsl.engines import EngineError
from segdsl.project import load_project
from segdsl.segtest.cases import read_test_file
from segdsl.segtest.fixtures import Layout
from segdsl.segtest.runner import database
from segdsl.source import Span
from segdsl.sql.dialects import get_dialect
from tests.support.availability import require_postgres

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
runner = CliRunner()
EXAMPLE_COMPILER = Compiler(load_project(EXAMPLES))
HERE = Span("case.toml", 1, 1, 1, 1)

REMINDER_CASE = """
as_of = "2025-07-01"

[[test]]
name = "reminders"
segment = "cart_reminder_2h"
[test.given]
cart_add_events = [
  { customer_id = 1, occurred_at = 2025-06-30T12:00:00 },
  { customer_id = 2, occurred_at = 2025-06-30T12:00:00 },
]
purchase_events = [{ customer_id = 2, occurred_at = 2025-06-30T12:30:00 }]
[test.expect]
members = [MEMBERS]
"""


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the examples without their tests, to which a test writes its own."""
    target = tmp_path / "shop"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("tests"))
    (target / "tests").mkdir()
    return target


def write_case(project: Path, text: str, name: str = "case.toml") -> Path:
    path = project / "tests" / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def postgres() -> str:
    return require_postgres()


def test_the_examples_tests_pass_on_duckdb() -> None:
    result = invoke("test", str(EXAMPLES))
    assert result.exit_code == 0, result.output
    assert result.stdout.count("PASS") == 7
    assert "7 tests: 7 passed, 0 failed" in result.stderr


def test_the_examples_tests_pass_on_postgres(postgres: str) -> None:
    result = invoke("test", str(EXAMPLES), "--db", postgres)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("PASS") == 7


def test_rows_of_a_derived_table_get_its_filter_values(project: Path) -> None:
    """Rows given for `cart_add_events` are events with name = "add_to_cart": customer 2
    bought within the 2 hours, 1 did not."""
    write_case(project, REMINDER_CASE.replace("MEMBERS", "1"))
    assert invoke("test", str(project)).exit_code == 0


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_a_wrong_expectation_fails_with_the_key_its_conditions_and_rows(
    project: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    write_case(project, REMINDER_CASE.replace("MEMBERS", "1, 2"))
    db = ["--db", request.getfixturevalue("postgres")] if engine == "postgres" else []
    result = invoke("test", str(project), *db)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("FAIL  ") and lines[0].endswith("reminders")
    assert "2 should be a member of cart_reminder_2h but is not" in lines[1]
    assert any("✗ cart_add_events during last 7d then no purchase_events" in x for x in lines)
    assert any(
        'row of events: customer_id = 2, name = "purchase", occurred_at = 2025-06-30 12:30:00'
        in line
        for line in lines
    )
    assert not any("customer_id = 1" in line for line in lines)  # only the wrong key's rows
    assert "1 test: 0 passed, 1 failed" in result.stderr


def test_github_annotations_point_at_the_failing_case(project: Path) -> None:
    path = write_case(project, "# a comment\n" + REMINDER_CASE.replace("MEMBERS", ""))
    result = invoke("test", str(project), "--format", "github")
    assert result.exit_code == 1
    header = path.read_text().splitlines().index("[[test]]") + 1
    assert result.stdout.startswith(f"::error file={path},line={header},")
    assert ",title=SEG583::" in result.stdout
    assert "1 is a member of cart_reminder_2h but should not be" in result.stdout


def test_json_output(project: Path) -> None:
    from tests.test_cli_contract import conforms

    write_case(project, REMINDER_CASE.replace("MEMBERS", "2"))
    result = invoke("test", str(project), "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    conforms("test", document)
    (case,) = document["tests"]
    assert case["status"] == "failed"
    assert case["as_of"] == "2025-07-01T00:00:00+00:00"
    assert [(d["key"], d["expected"], d["actual"]) for d in case["differences"]] == [
        ("1", None, "member"),
        ("2", "member", None),
    ]


def test_grouped_tables_are_made_from_the_given_rows(project: Path) -> None:
    """A grouped table's rows come from its base table's given rows: two orders on one day
    are one purchase day (customer 1 bought on one day only, customer 2 on two days 40
    days apart; customer 3's refund is not a purchase)."""
    write_case(
        project,
        """
[[test]]
name = "repeaters"
segment = "loyal_repeaters"
as_of = 2025-07-01
[test.given]
customer = [{ id = 1 }, { id = 2 }, { id = 3 }]
orders = [
  { customer_id = 1, ordered_at = 2025-06-01T09:00:00, amount = 5, status = "paid" },
  { customer_id = 1, ordered_at = 2025-06-01T18:00:00, amount = 5, status = "paid" },
  { customer_id = 2, ordered_at = 2025-05-01T10:00:00, amount = 5, status = "paid" },
  { customer_id = 2, ordered_at = 2025-06-10T10:00:00, amount = 5, status = "paid" },
  { customer_id = 3, ordered_at = 2025-05-01T10:00:00, amount = 5, status = "paid" },
  { customer_id = 3, ordered_at = 2025-06-10T10:00:00, amount = 5, status = "refunded" },
]
[test.expect]
members = [2]
""",
    )
    result = invoke("test", str(project))
    assert result.exit_code == 0, result.stdout + result.stderr


def test_classifier_labels_are_compared(project: Path) -> None:
    write_case(
        project,
        """
[[test]]
name = "stages"
classifier = "lifecycle"
as_of = 2025-07-01
[test.given]
customer = [{ id = 1 }, { id = 2 }]
paid_orders = [{ customer_id = 2, ordered_at = 2025-06-20T10:00:00, amount = 5 }]
[test.expect]
labels = { 1 = "prospect", 2 = "active" }
""",
    )
    result = invoke("test", str(project))
    assert result.exit_code == 1
    assert "2 should be labelled `active` but is `new`" in result.stdout


@pytest.mark.parametrize(
    ("text", "code", "message", "line"),
    [
        ("[[test]\nname = 1", "SEG580", "not a valid TOML file", 1),
        ('[[test]]\nname = "x"\nsegment = "buyers"\n', "SEG580", "`expect` must give", 1),
        (
            '[[test]]\nname = "x"\nsegment = "buyers"\n[test.given]\n'
            "evnts = [{ customer_id = 1 }]\n[test.expect]\nmembers = []\n",
            "SEG581",
            "no table or entity called `evnts`",
            5,
        ),
        (
            '[[test]]\nname = "x"\nsegment = "buyers"\n[test.given]\n'
            'orders = [{ customer_id = 1, amount = "lots" }]\n[test.expect]\nmembers = []\n',
            "SEG581",
            "`orders.amount`: 'lots' is not a decimal",
            5,
        ),
        (
            '[[test]]\nname = "x"\nsegment = "buyers"\n[test.given]\n'
            "orders = [{ customer_id = 1, amont = 5 }]\n[test.expect]\nmembers = []\n",
            "SEG581",
            "`orders` has no column `amont`",
            5,
        ),
        (
            '[[test]]\nname = "x"\nsegment = "buyers"\n[test.given]\n'
            "email_activity = [{ customer_id = 1 }]\n[test.expect]\nmembers = []\n",
            "SEG581",
            "filters `events` by more than equalities",
            5,
        ),
        (
            '[[test]]\nname = "x"\nsegment = "buyers"\n[test.given]\n'
            "purchase_days = [{ customer_id = 1 }]\n[test.expect]\nmembers = []\n",
            "SEG581",
            "`purchase_days` groups the rows of `paid_orders`",
            5,
        ),
        (
            '\n\n[[test]]\nname = "x"\nsegment = "lifecycle"\n[test.expect]\nmembers = []\n',
            "SEG582",
            "`lifecycle` is a classifier, not a segment",
            3,
        ),
        (
            '[[test]]\nname = "x"\nsegment = "buyrs"\n[test.expect]\nmembers = []\n',
            "SEG502",
            "no segment, classifier, split or measure called `buyrs`",
            1,
        ),
    ],
)
def test_bad_test_files_get_diagnostics(
    project: Path, text: str, code: str, message: str, line: int
) -> None:
    path = write_case(project, text)
    result = invoke("test", str(project), "--format", "json")
    assert result.exit_code == 1
    (diagnostic,) = json.loads(result.stdout)["diagnostics"]
    assert diagnostic["code"] == code
    assert message in diagnostic["message"]
    assert (diagnostic["path"], diagnostic["line"]) == (str(path), line)
    text_result = invoke("test", str(project))
    assert f"{path}:{line}:" in text_result.stderr and "^" in text_result.stderr
    assert "Traceback" not in text_result.output


def test_help_suggests_the_table_meant(project: Path) -> None:
    write_case(
        project,
        '[[test]]\nname = "x"\nsegment = "buyers"\n[test.given]\n'
        "ordrs = [{ customer_id = 1 }]\n[test.expect]\nmembers = []\n",
    )
    assert "did you mean `orders`?" in invoke("test", str(project)).stderr


def test_values_are_data_never_sql(project: Path, postgres: str) -> None:
    """A value that would end a string literal is stored as written, on both engines."""
    hostile = "x'); DROP TABLE segdsl_victim; --"
    write_case(
        project,
        f"""
[[test]]
name = "quotes"
segment = "from_instagram"
as_of = 2025-07-01
[test.given]
customer = [{{ id = 1, acquisition_source = "instagram_ads", city = "{hostile}" }},
            {{ id = 2, acquisition_source = "{hostile}" }}]
[test.expect]
members = [1]
""",
    )
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS segdsl_victim (x int)")
        try:
            for db in ([], ["--db", postgres]):
                result = invoke("test", str(project), *db)
                assert result.exit_code == 0, result.output
            assert conn.execute("SELECT to_regclass('segdsl_victim')").fetchone() == (
                "segdsl_victim",
            )
        finally:
            conn.execute("DROP TABLE IF EXISTS segdsl_victim")


def test_postgres_is_left_as_it_was(project: Path, postgres: str) -> None:
    """Cases run in a schema of their own inside a transaction that is rolled back: the
    warehouse's own tables of the same names are neither read nor changed."""
    write_case(project, REMINDER_CASE.replace("MEMBERS", "1"))
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS shop CASCADE")
        conn.execute("CREATE SCHEMA shop")
        conn.execute("CREATE TABLE shop.events (customer_id int, event_name text)")
        conn.execute("INSERT INTO shop.events VALUES (99, 'add_to_cart')")
        try:
            result = invoke("test", str(project), "--db", postgres)
            assert result.exit_code == 0, result.output
            assert conn.execute("SELECT * FROM shop.events").fetchall() == [(99, "add_to_cart")]
            left = conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'segdsl\\_case%'"
            ).fetchall()
            assert left == []
        finally:
            conn.execute("DROP SCHEMA shop CASCADE")


def test_select_runs_only_the_named_definitions_tests() -> None:
    result = invoke("test", str(EXAMPLES), "-s", "cart_*")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("PASS") == 3
    assert invoke("test", str(EXAMPLES), "-s", "owner:crm").stdout.count("PASS") == 1
    nothing = invoke("test", str(EXAMPLES), "-s", "nothing_like_*")
    assert nothing.exit_code == 2 and "SEG535" in nothing.stderr  # a usage error


def test_a_project_without_tests_says_where_they_go(project: Path) -> None:
    shutil.rmtree(project / "tests")
    result = invoke("test", str(project))
    assert result.exit_code == 1
    assert f"no test files in {project / 'tests'}" in result.stderr


# ---------------------------------------------------------------- no crashes on any input

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.dates(),
    st.datetimes(),
)
NAMES = st.sampled_from(["customer", "orders", "events", "cart_add_events", "email_activity", "x"])
COLUMNS = st.sampled_from(["id", "customer_id", "amount", "ordered_at", "name", "status", "y"])


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_as_a_test_file_gives_diagnostics_not_crashes(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "case.toml"
        path.write_text("[[test]]\n" + text, encoding="utf-8")
        found = read_test_file(path)
    assert all(d.code.startswith("SEG") for d in found.diagnostics)
    assert found.cases or found.diagnostics


@settings(max_examples=150, deadline=None)
@given(
    given_rows=st.dictionaries(
        NAMES, st.lists(st.dictionaries(COLUMNS, SCALARS, max_size=4), max_size=3), max_size=4
    )
)
def test_any_rows_load_or_give_diagnostics(given_rows: dict[str, list[dict[str, object]]]) -> None:
    layout = Layout(EXAMPLE_COMPILER.analysis.decls, ZoneInfo("UTC"))
    rows, problems = layout.rows(given_rows, lambda table, column: HERE)
    assert all(d.code == "SEG581" for d in problems)
    if not problems:
        statements = layout.statements(rows)
        for statement in statements:
            get_dialect("postgres").render(statement)
        try:
            with database(None) as db, db.session(statements):  # loads into DuckDB
                pass
        except EngineError:
            pass  # e.g. an integer beyond BIGINT: a message, not a crash
