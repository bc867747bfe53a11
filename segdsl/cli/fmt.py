"""`seg fmt`: rewrite .seg files in the canonical layout, or check that they are."""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from segdsl.cli.common import EXIT_FINDINGS, OutputFormat, print_diagnostics
from segdsl.diagnostics import Diagnostic
from segdsl.project import seg_files
from segdsl.source import SourceFile, read_source
from segdsl.syntax.parser import parse
from segdsl.syntax.printer import format_module


def fmt(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: .).")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a file would change.")
    ] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Show what would change.")] = False,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="text, json or github.")
    ] = OutputFormat.text,
) -> None:
    """Format .seg files: one canonical layout, comments kept."""
    files, problems = seg_files(paths or [Path(".")])
    sources: dict[str, SourceFile] = {}
    changed: list[str] = []
    for file in files:
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
        formatted = format_module(result.module, text)
        if formatted == text:
            continue
        changed.append(str(file))
        if diff:
            typer.echo(
                "".join(
                    difflib.unified_diff(
                        text.splitlines(keepends=True),
                        formatted.splitlines(keepends=True),
                        f"{file} (original)",
                        f"{file} (formatted)",
                    )
                ),
                nl=False,
            )
        if not check:
            _write_atomically(file, formatted)
    _report(changed, problems, sources, output, check)
    if problems or (check and changed):
        raise typer.Exit(EXIT_FINDINGS)


def _report(
    changed: list[str],
    problems: list[Diagnostic],
    sources: dict[str, SourceFile],
    output: OutputFormat,
    check: bool,
) -> None:
    verb = "would reformat" if check else "reformatted"
    if output is OutputFormat.json:
        typer.echo(
            json.dumps(
                {"changed": changed, "check": check, "errors": [p.to_dict() for p in problems]},
                indent=2,
            )
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
        typer.echo(f"{verb} {path}")
    print_diagnostics(problems, sources, output)
    typer.echo(f"{len(changed)} file{'s' if len(changed) != 1 else ''} {verb}", err=True)


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
