"""`seg fmt`: rewrite .seg files in the canonical layout, or check that they are."""

from __future__ import annotations

import difflib
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from segdsl.cli.common import EXIT_FINDINGS, OutputFormat, print_diagnostics, usage_error
from segdsl.cli.jsonout import emit
from segdsl.diagnostics import Diagnostic
from segdsl.settings import find_settings, load_settings
from segdsl.source import SourceFile, Span, read_source

STDIN = Path("-")


def fmt(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders (default: .); `-` reads stdin, writes stdout."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a file would change.")
    ] = False,
    diff: Annotated[
        bool,
        typer.Option("--diff", help="Print a unified diff, change nothing; exit 1 on changes."),
    ] = False,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="text, json or github.")
    ] = OutputFormat.text,
) -> None:
    """Format .seg files: one canonical layout, comments kept."""
    from segdsl.project import find_projects
    from segdsl.syntax.parser import parse
    from segdsl.syntax.printer import format_module

    if paths and STDIN in paths:
        if len(paths) > 1 or output is not OutputFormat.text:
            usage_error("`-` (standard input) goes alone, with --format text")
        _format_stdin(check=check, diff=diff)
        return
    dry = check or diff
    selections, problems = find_projects(paths or [Path(".")])
    sources: dict[str, SourceFile] = {}
    changed: list[str] = []
    for selection, settings, setting_problems in selections:
        problems.extend(setting_problems)
        for file in selection.named:
            source = read_source(file)
            if isinstance(source, Diagnostic):
                problems.append(source)
                continue
            text = source.text
            result = parse(source)
            if result.module is None:
                problems.extend(result.diagnostics)
                sources[source.path] = source
                continue
            formatted = format_module(result.module, text, settings.line_width)
            if formatted == text:
                continue
            changed.append(str(file))
            if diff:
                typer.echo(_unified_diff(text, formatted, str(file)), nl=False)
            if not dry:
                try:
                    write_in_place(file, formatted)
                except OSError as error:
                    problems.append(_file_problem(file, f"cannot write {file}: {error}"))
    _report(changed, problems, sources, output, dry)
    if problems or (dry and changed):
        raise typer.Exit(EXIT_FINDINGS)


def _file_problem(path: Path, message: str, help_: str | None = None) -> Diagnostic:
    return Diagnostic("SEG504", message, Span(str(path), 1, 1, 1, 1), help_)


def write_in_place(path: Path, text: str) -> None:
    """Replace the file's content atomically, keeping its permissions. A symlink is
    followed: the file it points to changes and the link stays a link."""
    target = path.resolve()
    mode = stat.S_IMODE(target.stat().st_mode)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _unified_diff(before: str, after: str, name: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"{name} (original)",
            f"{name} (formatted)",
        )
    )


def _format_stdin(*, check: bool, diff: bool) -> None:
    """`seg fmt -`: standard input to standard output (for editors), with the width of
    the settings found from the current folder."""
    from segdsl.syntax.parser import parse
    from segdsl.syntax.printer import format_module

    settings, _ = load_settings(find_settings(Path(".")))
    path = "<stdin>"
    try:
        text = sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError as error:
        problem = _file_problem(
            Path(path), f"cannot read {path}: not UTF-8 text (byte {error.start})"
        )
        print_diagnostics([problem], {}, OutputFormat.text, err=True)
        raise typer.Exit(EXIT_FINDINGS) from None
    text = text.replace("\r\n", "\n")
    source = SourceFile(path, text)
    result = parse(source)
    if result.module is None:
        print_diagnostics(result.diagnostics, {path: source}, OutputFormat.text, err=True)
        raise typer.Exit(EXIT_FINDINGS)
    formatted = format_module(result.module, text, settings.line_width)
    if diff:
        typer.echo(_unified_diff(text, formatted, path), nl=False)
    elif not check:
        sys.stdout.write(formatted)
        sys.stdout.flush()
    if (check or diff) and formatted != text:
        raise typer.Exit(EXIT_FINDINGS)


def _report(
    changed: list[str],
    problems: list[Diagnostic],
    sources: dict[str, SourceFile],
    output: OutputFormat,
    dry: bool,
) -> None:
    verb = "would reformat" if dry else "reformatted"
    if output is OutputFormat.json:
        errors = sum(1 for p in problems if p.is_error)
        emit(
            {
                "check": dry,
                "changed": changed,
                "diagnostics": [p.to_dict() for p in problems],
                "errors": errors,
                "warnings": len(problems) - errors,
            }
        )
        return
    if output is OutputFormat.github:
        for path in changed:
            typer.echo(
                f"::error file={path},title=seg fmt::{path} is not formatted (run `seg fmt`)"
            )
        print_diagnostics(problems, sources, output)
        return
    for path in changed:
        typer.echo(f"{verb} {path}", err=True)
    print_diagnostics(problems, sources, output, err=True)
    typer.echo(f"{len(changed)} file{'s' if len(changed) != 1 else ''} {verb}", err=True)
