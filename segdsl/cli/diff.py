"""`seg diff`: which segments change meaning between two git revisions, and who moves."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from segdsl.cli.common import (
    EXIT_FINDINGS,
    AsOfOption,
    DataFormat,
    DataFormatOption,
    ParamOption,
    compiler_for,
    fail,
    fail_on_compile_error,
    parse_params,
)
from segdsl.cli.database import engine_errors, open_engine, progress
from segdsl.cli.jsonout import emit, iso_time

if TYPE_CHECKING:
    from segdsl.diff import Change


def diff(
    base: Annotated[str, typer.Argument(help="The base revision (e.g. origin/main).")],
    head: Annotated[
        str | None, typer.Argument(help="The head revision (default: the working tree).")
    ] = None,
    path: Annotated[
        Path, typer.Option("--path", help="The project folder inside the repository.")
    ] = Path("."),
    db: Annotated[
        str | None,
        typer.Option("--db", help="Count members entering and leaving on this database."),
    ] = None,
    as_of: AsOfOption = None,
    param: ParamOption = None,
    sample: Annotated[int, typer.Option("--sample", min=0, help="Keys to show per direction.")] = 5,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when a definition changed in meaning.")
    ] = False,
    output_format: DataFormatOption = DataFormat.text,
) -> None:
    """Review a change by its effect: segments changed in meaning (not formatting), with --db
    how many members enter and leave each, with sample keys."""
    from segdsl.diff import GitError, compare, load_revision, membership_change_sql, sample_keys

    params = parse_params(param)
    try:
        base_project = load_revision(path, base)
        head_project = load_revision(path, head)
    except GitError as error:
        fail(f"git: {error}")
    base_compiler = compiler_for(base_project, params)
    head_compiler = compiler_for(head_project, params)
    for compiler in (base_compiler, head_compiler):
        with fail_on_compile_error(compiler.project):
            compiler.raise_for_errors()
    with fail_on_compile_error(head_project), engine_errors():
        moment = head_compiler.as_of(as_of)
        changes = compare(base_compiler, head_compiler)
        moved = [c for c in changes if c.status == "changed" and c.kind == "segment"]
        if db and moved:
            with (
                open_engine(db, head_project.settings) as engine,
                progress(f"comparing {len(moved)} segments"),
            ):
                for change in moved:
                    counts_sql, samples_sql = membership_change_sql(
                        base_compiler,
                        head_compiler,
                        change.name,
                        dialect=engine.dialect,
                        as_of=moment,
                    )
                    row = engine.query(counts_sql).to_pylist()[0]
                    change.before, change.after = (
                        int(row["before_members"]),
                        int(row["after_members"]),
                    )
                    change.entered, change.left = int(row["entered"]), int(row["left"])
                    change.entered_sample, change.left_sample = sample_keys(
                        engine.query(samples_sql).to_pylist(), sample
                    )
    if output_format is DataFormat.json:
        payload = {
            "base": base,
            "head": head or "working tree",
            "as_of": iso_time(moment),
            "changes": [change.__dict__ for change in changes],
        }
        emit(payload)
    else:
        _print(changes, base, head)
    if exit_code and any(c.status != "text_only" for c in changes):
        raise typer.Exit(EXIT_FINDINGS)


def _print(changes: list[Change], base: str, head: str | None) -> None:
    typer.echo(f"{base} → {head or 'working tree'}")
    if not changes:
        typer.echo("no definition changed")
        return
    groups = [
        ("changed in meaning", "changed"),
        ("added", "added"),
        ("removed", "removed"),
        ("changed in text only (formatting, comments, metadata)", "text_only"),
    ]
    for title, status in groups:
        selected = [c for c in changes if c.status == status]
        if not selected:
            continue
        typer.echo(f"\n{title}:")
        for change in selected:
            line = f"  {change.kind} {change.name}"
            if change.reason:
                line += f" — {change.reason}"
            typer.echo(line)
            if change.entered is not None:
                typer.echo(
                    f"      {change.before:,} → {change.after:,} members: "
                    f"+{change.entered:,} entered, "
                    f"−{change.left:,} left"
                )
                if change.entered_sample:
                    typer.echo("      entered, e.g.: " + ", ".join(map(str, change.entered_sample)))
                if change.left_sample:
                    typer.echo("      left, e.g.: " + ", ".join(map(str, change.left_sample)))
