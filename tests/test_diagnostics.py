"""Every diagnostic code, triggered by a small input, with its location, message and help."""

from __future__ import annotations

import json

import pytest

from segdsl.compiler import Compiler, check
from segdsl.diagnostics import CompileError, Diagnostic, render_github, render_json, render_text
from segdsl.project import Project
from segdsl.source import SourceFile
from segdsl.sql.support import dialect_diagnostics

MODEL = """segdsl 1
entity customer from customers {
  key id
  country: string
  birth_date: date
}
table orders from orders {
  link customer_id to customer
  time ordered_at
  amount: money
  status: string
}
table facts from facts {
  link customer_id to customer
  amount: money
}
measure cart_adds = count orders
measure recency = time since last orders
classifier stage {
  a when cart_adds > 1
  else b
}
"""
BASE_LINES = MODEL.count("\n")

# (label, source appended to MODEL, code, line relative to the appended text, column,
#  words the message contains, words the help contains)
CASES = [
    ("syntax", "segment s = cart_adds >", "SEG005", 1, 24, "end of file", "expected"),
    (
        "unexpected token",
        "segment s = cart_adds > > 1",
        "SEG001",
        1,
        25,
        "unexpected `>`",
        "expected",
    ),
    (
        "bad character",
        "segment s = cart_adds > 0 && cart_adds < 5",
        "SEG002",
        1,
        27,
        "unexpected character",
        "`and`",
    ),
    (
        "where needs parentheses",
        "segment s = exists orders where amount > 1",
        "SEG001",
        1,
        27,
        "`where`",
        "parentheses",
    ),
    ("duration unit", "segment s = recency < 30m", "SEG001", 1, 25, "name `m`", "min"),
    # grouped tables
    (
        "grouped by an unknown column",
        "table t = orders per stauts { n = count }",
        "SEG212",
        1,
        22,
        "no column `stauts`",
        "status",
    ),
    (
        "a group value that is not an aggregate of the group",
        "table t = orders per day { c = first(amount) }",
        "SEG213",
        1,
        28,
        "not a value of a group",
        "earliest or latest time",
    ),
    (
        "grouped by a calendar unit without a time",
        "table t = facts per week { n = count }",
        "SEG214",
        1,
        21,
        "no time column",
        "group by a column",
    ),
    (
        "a group column declared twice",
        "table t = orders per day { day = count }",
        "SEG102",
        1,
        28,
        "declared twice in `t`",
        None,
    ),
    (
        "a group column of the wrong type",
        "table t = orders per day { s = sum(status) }",
        "SEG202",
        1,
        36,
        "needs numbers",
        None,
    ),
    (
        "a grouped table's columns in a filter",
        "table t = orders per status { n = count }\nmeasure m = count t where amount > 1",
        "SEG105",
        2,
        27,
        "`t` has no column `amount`",
        None,
    ),
    # issue 21: the new constructs' own mistakes
    (
        "if values of two types",
        'measure m = if cart_adds > 1 then 1 else "none"',
        "SEG201",
        1,
        13,
        "different types: integer and string",
        "one type",
    ),
    ("round digits", "measure m = round(cart_adds, 12)", "SEG209", 1, 30, "-9 to 9", "cents"),
    ("calendar duration in days", "measure m = days(1mo)", "SEG207", 1, 18, "`1mo`", "180d"),
    ("exists all", "measure m = exists all orders", "SEG205", 1, 13, "`exists all`", "avg"),
    (
        "all of a measure",
        "measure m = avg all cart_adds",
        "SEG114",
        1,
        13,
        "is a measure",
        "`avg cart_adds`",
    ),
    (
        "window point of another type",
        "segment s = birth_date in from birth_date to cart_adds",
        "SEG206",
        1,
        46,
        "not integer",
        "signed_up_at + 24h",
    ),
    # issue 21.7: mistakes seen on a first attempt, each with its own help
    ("double equals", 'segment s = country == "DE"', "SEG001", 1, 22, "`=`", "single `=`"),
    (
        "unquoted text",
        "segment s = country = Germany",
        "SEG101",
        1,
        23,
        "unknown name `Germany`",
        '`"Germany"`',
    ),
    (
        "unquoted text in a list",
        'segment s = country in ["DE", Germany]',
        "SEG101",
        1,
        31,
        "unknown name `Germany`",
        '`"Germany"`',
    ),
    (
        "duration with a space",
        "segment s = (count orders during last 60 days) > 1",
        "SEG001",
        1,
        42,
        "name `days`",
        "`60d`",
    ),
    (
        "window without in",
        "segment s = birth_date more than 60d ago",
        "SEG001",
        1,
        24,
        "`more`",
        "`birth_date in more than 60d ago`",
    ),
    (
        "hyphen in a source",
        "table t from demo-proj.shop.t {\n  link customer_id to customer\n}",
        "SEG001",
        1,
        18,
        "`-`",
        '`from "demo-proj".shop.t`',
    ),
    (
        "where help quotes the expression",
        "segment s = cart_adds > 1 and count orders where amount > 100 >= 2",
        "SEG001",
        1,
        44,
        "`where`",
        "`cart_adds > 1 and (count orders where amount > 100) >= 2`",
    ),
    ("language version", "", "SEG003", None, None, "version", "segdsl 1"),
    (
        "impossible date",
        "segment s = birth_date > 2025-02-30",
        "SEG004",
        1,
        26,
        "does not exist",
        "YYYY-MM-DD",
    ),
    (
        "unknown name",
        "segment s = cart_add > 0",
        "SEG101",
        1,
        13,
        "unknown name `cart_add`",
        "cart_adds",
    ),
    (
        "duplicate",
        "measure cart_adds = count orders",
        "SEG102",
        1,
        9,
        "already defined",
        "first definition",
    ),
    ("cycle", "segment a = b\nsegment b = a", "SEG103", 2, 13, "loop", "depend on itself"),
    ("unknown table", "measure m = count ordrs", "SEG104", 1, 19, "ordrs", "orders"),
    (
        "unknown column",
        "measure m = sum(amout) of orders",
        "SEG105",
        1,
        17,
        "no column `amout`",
        "amount",
    ),
    ("unknown type", "param p: numbr = 1", "SEG106", 1, 10, "numbr", "number"),
    (
        "second entity",
        "entity other from others {\n  key id\n}",
        "SEG107",
        1,
        8,
        "second entity",
        "customer",
    ),
    (
        "window without time",
        "measure m = count facts during last 30d",
        "SEG108",
        1,
        13,
        "no time column",
        "time",
    ),
    ("unknown label", 'segment s = stage = "c"', "SEG109", 1, 21, "not one of the labels", None),
    (
        "unknown unit",
        "measure m = count orders during previous mnth",
        "SEG110",
        1,
        42,
        "mnth",
        "month",
    ),
    ("unknown function", 'segment s = lowr(country) = "de"', "SEG111", 1, 13, "lowr", "lower"),
    (
        "param without value",
        "param p: integer\nsegment s = cart_adds > p",
        "SEG112",
        1,
        7,
        "no default",
        "--param",
    ),
    (
        "measure in a filter",
        "measure m = count orders where cart_adds > 1",
        "SEG113",
        1,
        32,
        "not a column",
        "columns",
    ),
    (
        "per without outer",
        "measure m = count orders per status",
        "SEG114",
        1,
        30,
        "outer aggregate",
        "max",
    ),
    (
        "type mismatch",
        "segment s = country > 2025-01-01",
        "SEG201",
        1,
        13,
        "cannot compare string with date",
        None,
    ),
    ("duration needs a unit", "segment s = recency < 30", "SEG201", 1, 23, "duration", "`30d`"),
    (
        "wrong operand",
        "segment s = sum(status) of orders > 1",
        "SEG202",
        1,
        17,
        "needs numbers",
        None,
    ),
    ("not a condition", "segment s = cart_adds", "SEG203", 1, 13, "expected a condition", "> 0"),
    (
        "argument count",
        'segment s = coalesce(country) = "x"',
        "SEG204",
        1,
        13,
        "takes 2 arguments",
        None,
    ),
    ("ntile on rows", "measure m = ntile(5) of orders", "SEG205", 1, 13, "ranks values", "measure"),
    (
        "window on a number",
        "segment s = cart_adds in last 30d",
        "SEG206",
        1,
        13,
        "date or timestamp",
        None,
    ),
    (
        "calendar duration",
        "segment s = max recency among (cart_adds > 0) < 6mo",
        "SEG207",
        1,
        49,
        "no fixed length",
        "180d",
    ),
    (
        "duration arithmetic",
        "segment s = recency + 1 > 2d",
        "SEG202",
        1,
        13,
        "cannot compute duration + integer",
        None,
    ),
    (
        "split sizes",
        "split t {\n  a 60%\n  b 30%\n}",
        "SEG208",
        1,
        7,
        "add up to 90%",
        "exactly one bucket",
    ),
    ("bad ntile", "measure m = ntile(1) of cart_adds", "SEG209", 1, 19, "from 2 to 1000", None),
    ("empty list", "segment s = country in []", "SEG210", 1, 13, "empty list", "at least one"),
    ("empty list negated", "segment s = country not in []", "SEG210", 1, 13, "`in []`", None),
    (
        "duration past the range",
        "segment s = exists orders during last 9999y",
        "SEG211",
        1,
        39,
        "`9999y` is longer than 9998 years",
        "0001-01-02 and 9999-12-30",
    ),
    (
        "window point past the range",
        "segment s = exists orders during since 9999-12-31",
        "SEG211",
        1,
        40,
        "`9999-12-31` is outside",
        "9999-12-30",
    ),
    (
        "calendar periods past the range",
        "segment s = count orders during last 99999999 calendar months > 1",
        "SEG211",
        1,
        33,
        "99999999 calendar months",
        None,
    ),
    (
        "compared duration past the range",
        "segment s = recency > 999999999d",
        "SEG211",
        1,
        23,
        "`999999999d`",
        None,
    ),
    (
        "timestamp past the range",
        "segment s = (exists orders where ordered_at < 0001-01-01T00:00:00)",
        "SEG211",
        1,
        47,
        "`0001-01-01T00:00:00` is outside",
        None,
    ),
]


def analyse(extra: str) -> tuple[Compiler, str]:
    text = MODEL + extra + "\n"
    if extra == "":
        text = text.replace("segdsl 1", "segdsl 7", 1)
    return Compiler(Project.from_text(text, path="case.seg")), text


@pytest.mark.parametrize(
    ("extra", "code", "line", "column", "message", "help_"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_diagnostic(
    extra: str,
    code: str,
    line: int | None,
    column: int | None,
    message: str | None,
    help_: str | None,
) -> None:
    compiler, _ = analyse(extra)
    found = [d for d in compiler.diagnostics if d.code == code]
    assert found, [f"{d.code} {d.message}" for d in compiler.diagnostics]
    diagnostic = found[0]
    assert diagnostic.span.path == "case.seg"
    if line is not None:
        assert (diagnostic.span.line, diagnostic.span.column) == (BASE_LINES + line, column), (
            diagnostic
        )
    if message is not None:
        assert message in diagnostic.message
    if help_ is not None:
        assert diagnostic.help is not None and help_ in diagnostic.help


def test_every_registered_code_is_tested_somewhere() -> None:
    from pathlib import Path

    from segdsl.codes import CODES

    tests = "\n".join(p.read_text() for p in Path(__file__).parent.rglob("test_*.py"))
    untested = [code for code in CODES if code not in tests]
    assert untested == []


def test_all_errors_of_a_run_are_reported() -> None:
    compiler, _ = analyse(
        "segment a = nope > 1\nsegment b = country > 1\nmeasure m = count nothing"
    )
    assert [d.code for d in compiler.diagnostics] == ["SEG101", "SEG201", "SEG104"]


def test_one_problem_is_reported_once() -> None:
    compiler, _ = analyse("segment a = country between 1 and 5")
    assert [d.code for d in compiler.diagnostics] == ["SEG201"]


def test_syntax_errors_in_several_statements_are_all_reported() -> None:
    compiler, _ = analyse("segment a = ((\nsegment b = cart_adds > 1\nsegment c = )")
    assert [d.code for d in compiler.diagnostics] == ["SEG001", "SEG001"]


def test_rendering_shows_location_source_line_caret_and_help() -> None:
    compiler, text = analyse("segment s = cart_add > 0")
    rendered = render_text(compiler.diagnostics, {"case.seg": SourceFile("case.seg", text)})
    assert rendered.splitlines() == [
        f"case.seg:{BASE_LINES + 1}:13: error[SEG101]: unknown name `cart_add`",
        "   |",
        f"{BASE_LINES + 1} | segment s = cart_add > 0",
        "   |             ^^^^^^^^",
        "  = help: did you mean `cart_adds`?",
    ]


def test_json_and_github_formats() -> None:
    compiler, _ = analyse("segment s = cart_add > 0")
    payload = json.loads(render_json(compiler.diagnostics))
    assert payload["errors"] == 1
    assert payload["diagnostics"][0]["code"] == "SEG101"
    assert payload["diagnostics"][0]["line"] == BASE_LINES + 1
    github = render_github(compiler.diagnostics)
    assert github.startswith(f"::error file=case.seg,line={BASE_LINES + 1},col=13,")
    assert "title=SEG101::unknown name `cart_add` (help: did you mean `cart_adds`?)" in github


def test_dialect_limits() -> None:
    project = Project.from_text(
        MODEL.replace("from orders {", "from other_db.shop.orders {")
        + "segment s = cart_adds > 0\n"
    )
    compiler = Compiler(project)
    assert compiler.analysis.ok
    assert dialect_diagnostics(compiler.analysis.decls, "duckdb") == []
    (problem,) = dialect_diagnostics(compiler.analysis.decls, "postgres")
    assert problem.code == "SEG301" and "at most 2" in problem.message
    with pytest.raises(CompileError) as raised:
        compiler.members_sql("s", dialect="postgres")
    assert raised.value.diagnostics[0].code == "SEG301"
    assert [d.code for d in check(project, dialect="postgres")] == ["SEG301"]
    assert check(project, dialect="duckdb") == []


def test_unknown_dialect_requested() -> None:
    compiler, _ = analyse("segment loyal = cart_adds > 5")
    with pytest.raises(CompileError) as raised:
        compiler.members_sql("loyal", dialect="postgress")
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "SEG505" and diagnostic.help == "did you mean `postgres`?"


def test_unknown_segment_requested() -> None:
    compiler, _ = analyse("segment loyal = cart_adds > 5")
    with pytest.raises(CompileError) as raised:
        compiler.members_sql("loyl")
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "SEG502" and diagnostic.help == "did you mean `loyal`?"


def test_unregistered_codes_are_bugs() -> None:
    from segdsl.source import NO_SPAN

    with pytest.raises(AssertionError):
        Diagnostic("SEG999", "nope", NO_SPAN)


def test_a_project_without_an_entity_is_reported_when_checked() -> None:
    compiler = Compiler(Project.from_text("segment s = true\nsegment t = not s\n", "e.seg"))
    (problem,) = compiler.diagnostics
    assert (problem.code, problem.span.line, problem.span.column) == ("SEG107", 1, 9)


def test_a_parameter_override_past_the_range_is_reported() -> None:
    text = MODEL + "param window: duration = 30d\nsegment s = exists orders during last window\n"
    compiler = Compiler(Project.from_text(text, "case.seg"), params={"window": "9999y"})
    assert [d.code for d in compiler.diagnostics] == ["SEG211"]
    assert "`window`" in compiler.diagnostics[0].message


@pytest.mark.parametrize(
    ("condition", "as_of", "column", "words"),
    [
        # the span is the aggregate's: the IR keeps no span for its window
        ("exists orders during last 30d", "0001-01-02", 13, "`30d ago`"),
        ("exists orders during last 5000y", "2025-07-01", 13, "`5000y ago`"),
        ("exists orders during this year", "0001-01-02", 13, "start of the year"),
        ("count orders during last 5000 calendar years > 1", "2025-07-01", 13, "5000 years"),
        ("age(birth_date) >= 9000", "2025-07-01", 13, "9000 years before"),
        ("orders then no orders within 3000y", "2025-07-01", 13, "`3000y` before"),
    ],
)
def test_windows_that_leave_the_range_at_the_as_of_time(
    condition: str, as_of: str, column: int, words: str
) -> None:
    compiler, _ = analyse(f"segment s = {condition}")
    assert compiler.analysis.ok
    for dialect in ("duckdb", "postgres", "bigquery"):
        with pytest.raises(CompileError) as raised:
            compiler.members_sql("s", dialect=dialect, as_of=as_of)
        (problem,) = raised.value.diagnostics
        assert problem.code == "SEG211" and words in problem.message, problem
        assert (problem.span.line, problem.span.column) == (BASE_LINES + 1, column)


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00+05:00"])
def test_an_as_of_time_past_the_range_is_reported(as_of: str) -> None:
    compiler, _ = analyse("segment s = cart_adds > 1")
    with pytest.raises(CompileError) as raised:
        compiler.members_sql("s", as_of=as_of)
    assert [d.code for d in raised.value.diagnostics] == ["SEG503"]


def test_explain_reports_a_window_out_of_range_instead_of_crashing() -> None:
    from segdsl.explain.report import explain

    compiler, _ = analyse("segment s = exists orders during last 30d")
    with pytest.raises(CompileError) as raised:
        explain(compiler, "s", as_of="0001-01-02")
    assert [d.code for d in raised.value.diagnostics] == ["SEG211"]
