"""Shared CLI plumbing: options, output formats, exit codes, error reporting."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from segdsl.cli.terminal import use_color
from segdsl.diagnostics import Diagnostic, render_github, render_text
from segdsl.source import SourceFile

if TYPE_CHECKING:
    from segdsl.compiler import Compiler
    from segdsl.project import Project

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
# a bad name, as-of or set of paths on the command line, a selector, or an unusable
# output folder
USAGE_CODES = frozenset(
    {
        "SEG502",
        "SEG503",
        "SEG520",
        "SEG530",
        "SEG535",
        "SEG536",
        "SEG537",
        "SEG560",
        "SEG566",
        "SEG567",
    }
)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"


class DataFormat(StrEnum):
    text = "text"
    json = "json"


# options shared by several commands
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Date or ISO timestamp (default: now).")
]
ParamOption = Annotated[list[str] | None, typer.Option("--param", help="NAME=VALUE")]
DataFormatOption = Annotated[DataFormat, typer.Option("--format", help="text or json.")]
SelectOption = Annotated[
    list[str] | None,
    typer.Option(
        "--select",
        "-s",
        help="A name, a glob (`cart_*`), tag:NAME, owner:NAME or kind:KIND (repeatable).",
    ),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: the settings, else the demo)."),
]


def parse_params(values: Sequence[str] | None) -> dict[str, str]:
    """`--param name=value` options → a dict (a usage error if malformed)."""
    params: dict[str, str] = {}
    for item in values or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            usage_error(f"--param expects NAME=VALUE, got {item!r}")
        params[name.strip()] = value.strip()
    return params


def compiler_for(project: Project, params: Mapping[str, str]) -> Compiler:
    """A compiler for `project`. The compiler (and sqlglot) load only here, so `seg
    validate` and `seg fmt` never import them."""
    from segdsl.compiler import Compiler

    return Compiler(project, params)


def usage_error(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def fail(message: str, code: int = EXIT_FINDINGS) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def print_diagnostics(
    diagnostics: Sequence[Diagnostic],
    sources: dict[str, SourceFile],
    output: OutputFormat,
    *,
    summary: str | None = None,
    err: bool = False,
) -> None:
    """Diagnostics in the chosen format on stdout (stderr with `err`); the summary always
    goes to stderr, and only for text."""
    if output is OutputFormat.json:
        from segdsl.cli.jsonout import emit

        errors = sum(1 for d in diagnostics if d.is_error)
        emit(
            {
                "diagnostics": [d.to_dict() for d in diagnostics],
                "errors": errors,
                "warnings": len(diagnostics) - errors,
            }
        )
        return
    if output is OutputFormat.github:
        if diagnostics:
            typer.echo(render_github(diagnostics), err=err)
        return
    if diagnostics:
        typer.echo(
            render_text(diagnostics, sources, color=use_color(sys.stderr if err else None)),
            err=err,
        )
    if summary:
        typer.echo(summary, err=True)


class _CompileErrorGuard:
    """Turns CompileError and a bad as-of into diagnostics and exit status 1."""

    def __init__(self, sources: dict[str, SourceFile]):
        self.sources = sources

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, tb: object) -> None:
        from segdsl.diagnostics import CompileError

        if isinstance(error, CompileError):
            print_diagnostics(  # on stderr: `seg compile … > out.sql` gets no error text
                error.diagnostics, {**self.sources, **error.sources}, OutputFormat.text, err=True
            )
            usage = all(d.code in USAGE_CODES for d in error.diagnostics)
            raise typer.Exit(EXIT_USAGE if usage else EXIT_FINDINGS)


def fail_on_compile_error(project: object) -> _CompileErrorGuard:
    from segdsl.project import Project

    assert isinstance(project, Project)
    return _CompileErrorGuard(project.source_map)
