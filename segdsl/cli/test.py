"""`seg test`: run the project's segment tests (rows in, expected members or labels out)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from segdsl.cli.common import (
    EXIT_FINDINGS,
    OutputFormat,
    compiler_for,
    fail,
    fail_on_compile_error,
    parse_params,
    print_diagnostics,
    usage_error,
)

if TYPE_CHECKING:
    from segdsl.diagnostics import Diagnostic
    from segdsl.segtest.runner import Difference, Outcome


class TestFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"

    __test__ = False


def test_command(
    path: Annotated[Path, typer.Argument(help="The project (its folder or a file in it).")] = Path(
        "."
    ),
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            "-s",
            help="Only the tests of these definitions: names, globs, tag:NAME, owner:NAME.",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Run on this Postgres database (in a transaction that is rolled back) "
            "instead of an in-memory DuckDB.",
        ),
    ] = None,
    output: Annotated[
        TestFormat, typer.Option("--format", help="text, json or github.")
    ] = TestFormat.text,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Override a parameter: NAME=VALUE.")
    ] = None,
) -> None:
    """Run the segment tests in the project's tests/ folder (TOML files of cases).

    Each case loads a few rows into an empty database, runs its segment (or classifier)
    as `seg run` would and compares the members (labels) with those it expects.
    Exit status: 0 all passed, 1 a test failed or could not run, 2 usage error.
    """
    from segdsl.diagnostics import render_github, sort_key
    from segdsl.engines import EngineError
    from segdsl.project import load_project
    from segdsl.segtest.cases import read_test_file, test_files
    from segdsl.segtest.runner import database, run_case
    from segdsl.source import SourceFile

    project = load_project(path)
    if project.root is None:
        usage_error(f"{path} is not in a project: segment tests live in a project's tests/ folder")
    sources: dict[str, SourceFile] = dict(project.source_map)
    compiler = compiler_for(project, parse_params(param))
    problems = [d for d in compiler.diagnostics if d.is_error]
    files = [read_test_file(file) for file in test_files(project.root)]
    for file in files:
        sources[file.source.path] = file.source
        problems.extend(file.diagnostics)
    if not files:
        fail(f"no test files in {project.root / 'tests'} (write tests/*.toml; see docs/cli.md)")
    cases = [case for file in files for case in file.cases]
    if select:
        from segdsl.selection import select as selected

        with fail_on_compile_error(project):
            chosen = set(selected(compiler.analysis.definitions, select, sources))
        cases = [case for case in cases if case.definition in chosen]
        if not cases:
            fail("no test case is for " + ", ".join(sorted(chosen)))
    outcomes: list[Outcome] = []
    if not problems:
        try:
            with database(db) as engine:
                outcomes = [run_case(compiler, case, engine) for case in cases]
        except EngineError as error:
            fail(str(error))
    for outcome in outcomes:
        problems.extend(outcome.problems)
    failures = [_failure(o) for o in outcomes if o.differences]
    passed = sum(1 for o in outcomes if o.passed)
    summary = (
        f"{len(cases)} test{'s' if len(cases) != 1 else ''}: {passed} passed, "
        f"{len(failures)} failed, {len(cases) - passed - len(failures)} could not run"
        if outcomes
        else f"{len(cases)} tests not run"
    )
    problems.sort(key=sort_key)
    if output is TestFormat.json:
        from segdsl.cli.jsonout import emit

        emit(
            {
                "tests": [_as_dict(o) for o in outcomes],
                "diagnostics": [d.to_dict() for d in problems],
                "passed": passed,
                "failed": len(failures),
                "errors": sum(1 for d in problems if d.is_error),
                "warnings": sum(1 for d in problems if not d.is_error),
            }
        )
    elif output is TestFormat.github:
        found = [*problems, *failures]
        if found:
            typer.echo(render_github(found))
        typer.echo(summary, err=True)
    else:
        for outcome in outcomes:
            _show(outcome)
        print_diagnostics(problems, sources, OutputFormat.text, err=True)
        typer.echo(summary, err=True)
    if problems or failures:
        raise typer.Exit(EXIT_FINDINGS)


def _failure(outcome: Outcome) -> Diagnostic:
    from segdsl.diagnostics import Diagnostic

    case = outcome.case
    lines = [_difference_line(case.definition, d) for d in outcome.differences]
    return Diagnostic(
        "SEG583",
        f"test `{case.name}` failed: " + "; ".join(lines),
        case.span,
        f"`seg test -s {case.definition}` shows each key's conditions and rows",
    )


def _difference_line(definition: str, difference: Difference) -> str:
    key, expected, actual = difference.key, difference.expected, difference.actual
    if expected == "member":
        return f"{key} should be a member of {definition} but is not"
    if actual == "member":
        return f"{key} is a member of {definition} but should not be"
    return f"{key} should be labelled {_label(expected)} but is {_label(actual)}"


def _label(label: str | None) -> str:
    return "(no label)" if label is None else f"`{label}`"


def _show(outcome: Outcome) -> None:
    from segdsl.explain.why_render import why_lines

    case = outcome.case
    status = "PASS" if outcome.passed else ("FAIL" if outcome.differences else "ERROR")
    typer.echo(f"{status}  {case.span.path}:{case.span.line}  {case.name}")
    for difference in outcome.differences:
        typer.echo(f"      {_difference_line(case.definition, difference)} (as of {outcome.as_of})")
        if difference.why is not None:
            for line in why_lines(difference.why):
                typer.echo(f"        {line}")
        for table, row in difference.rows:
            values = ", ".join(f"{name} = {_value(value)}" for name, value in row.items())
            typer.echo(f"        row of {table}: {values}")


def _value(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    return repr(value) if isinstance(value, bool) else str(value)


def _as_dict(outcome: Outcome) -> dict[str, object]:
    from segdsl.cli.jsonout import iso_time

    case = outcome.case
    return {
        "name": case.name,
        "definition": case.definition,
        "path": case.span.path,
        "line": case.span.line,
        "as_of": None if outcome.as_of is None else iso_time(outcome.as_of),
        "status": "passed" if outcome.passed else ("failed" if outcome.differences else "error"),
        "differences": [
            {
                "key": d.key,
                "expected": d.expected,
                "actual": d.actual,
                "rows": [{"table": table, "row": row} for table, row in d.rows],
            }
            for d in outcome.differences
        ],
    }
