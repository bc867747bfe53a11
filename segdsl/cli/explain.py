"""`seg explain` and `seg why`: what a segment means, why it has its size, why a member is in."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from segdsl.cli.common import (
    AsOfOption,
    DatabaseOption,
    DataFormat,
    DataFormatOption,
    ParamOption,
    compiler_for,
    fail_on_compile_error,
    parse_params,
    usage_error,
)
from segdsl.cli.database import database_url, engine_errors, open_engine, progress
from segdsl.cli.freshness import (
    is_pinned,
    note_unpinned,
    report_spent,
    stale_check_sql,
    warn_if_stale,
)
from segdsl.cli.jsonout import emit, iso_time
from segdsl.project import load_project

if TYPE_CHECKING:
    from segdsl.engines.base import Spent


def explain(
    path: Annotated[list[Path], typer.Argument(help="Files or folders of .seg files.")],
    segment: Annotated[
        str, typer.Option("--segment", "-s", help="The segment (or measure, classifier, split).")
    ],
    db: Annotated[
        str | None, typer.Option("--db", help="Also count how many pass each condition here.")
    ] = None,
    dialect: Annotated[
        str | None,
        typer.Option(help="SQL dialect to show (default: the --db's, else the settings')."),
    ] = None,
    as_of: AsOfOption = None,
    param: ParamOption = None,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan", help="Add the engine's plan (BigQuery: bytes to process, dry runs only)."
        ),
    ] = False,
    funnel_too: Annotated[
        bool, typer.Option("--funnel", help="With --plan: also count the funnel (a real query).")
    ] = False,
    output_format: DataFormatOption = DataFormat.text,
) -> None:
    """A segment in plain words, its dependencies, windows at the as-of time, its SQL and funnel."""
    from segdsl.explain.report import explain as build
    from segdsl.explain.report import funnel_sql

    if plan and db is None:
        usage_error("--plan needs --db")
    if funnel_too and not plan:
        usage_error("--funnel goes with --plan (without --plan, --db counts the funnel)")
    project = load_project(path)
    with fail_on_compile_error(project), engine_errors():
        compiler = compiler_for(project, parse_params(param))
        moment = compiler.as_of(as_of)
        engine = open_engine(db, project.settings) if db else None
        # --plan on an engine that bills (BigQuery) counts nothing unless --funnel asks
        counting = engine is not None and (funnel_too or not plan or engine.spent is None)
        if engine is not None and not counting:
            engine.estimates_only()  # --plan: dry runs and metadata only, nothing billed
        chosen = dialect or (engine.dialect if engine else None)
        if engine is not None and chosen == engine.dialect:
            from segdsl.execute import fit_to_warehouse

            with contextlib.ExitStack() as closing:
                closing.callback(engine.close)  # if the column types stop the command
                compiler = fit_to_warehouse(compiler, engine, [segment])
                closing.pop_all()
        report = build(compiler, segment, dialect=chosen, as_of=moment)
        funnel: list[tuple[str, int]] = []
        plan_text = None
        spent: Spent | None = None
        if engine is not None:
            with engine:
                pinned = is_pinned(as_of, project.settings)
                if counting and not pinned:
                    note_unpinned(moment)
                if counting:
                    sql, labels = (
                        funnel_sql(compiler, segment, dialect=engine.dialect, as_of=moment)
                        if report.kind == "segment"
                        else ("", [])
                    )
                    freshness = (
                        None if pinned else stale_check_sql(compiler, [segment], engine.dialect)
                    )
                    engine.reserve([query for query in (freshness, sql) if query])
                    if not pinned:
                        warn_if_stale(engine, compiler, [segment], moment)
                if counting and report.kind == "segment":
                    with progress("counting the funnel"):
                        row = engine.query(sql).to_pylist()[0]
                    funnel = [("population", int(row["population"]))]
                    funnel += [(label, int(row[f"step_{i + 1}"])) for i, label in enumerate(labels)]
                if plan:
                    plan_sql = (
                        compiler.members_sql(segment, dialect=engine.dialect, as_of=moment)
                        if report.kind == "segment"
                        else report.sql
                    )
                    plan_text = engine.explain(plan_sql)  # BigQuery: the dry run's estimate
                spent = engine.spent
                if output_format is not DataFormat.json:
                    report_spent(engine)
    if output_format is DataFormat.json:
        payload: dict[str, object] = {
            "name": report.name,
            "kind": report.kind,
            "location": report.location,
            "description": report.description,
            "owner": report.owner,
            "tags": list(report.tags),
            "as_of": iso_time(moment),
            "definition": report.definition,
            "words": report.words,
            "dependencies": report.dependencies,
            "dialect": report.dialect,
            "sql": report.sql,
            "funnel": [{"step": label, "members": count} for label, count in funnel],
            "plan": plan_text,
        }
        if spent is not None:  # BigQuery: what the queries cost (none with --plan alone)
            payload["cost"] = spent.to_json()
        emit(payload)
        return
    title = f"{report.kind} {report.name}" + (
        f" — {report.description}" if report.description else ""
    )
    meta = [f"defined at {report.location}"]
    if report.owner:
        meta.append(f"owner {report.owner}")
    if report.tags:
        meta.append("tags " + ", ".join(report.tags))
    typer.echo(title)
    typer.echo("  " + " · ".join(meta))
    typer.echo(f"  as of {report.as_of}\n")
    typer.echo("Definition\n  " + report.definition + "\n")
    typer.echo("In words")
    for line in report.words:
        typer.echo("  " + line)
    typer.echo("\nDepends on")
    for line in report.dependencies:
        typer.echo("  " + line)
    typer.echo(f"\nSQL ({report.dialect})")
    for line in report.sql.splitlines():
        typer.echo("  " + line)
    if funnel:
        typer.echo("\nFunnel")
        width = max(len(label) for label, _ in funnel)
        population = funnel[0][1]
        for label, count in funnel:
            share = f"{100 * count / population:5.1f}%" if population else ""
            typer.echo(f"  {label:<{width}}  {count:>10,}  {share}")
    if plan_text:
        typer.echo("\nPlan")
        for line in plan_text.splitlines():
            typer.echo("  " + line)


def why(
    key: Annotated[str, typer.Argument(help="The member's key (e.g. a customer id).")],
    path: Annotated[list[Path], typer.Argument(help="Files or folders of .seg files.")],
    segment: Annotated[str, typer.Option("--segment", "-s", help="The segment.")],
    db: DatabaseOption = None,
    as_of: AsOfOption = None,
    param: ParamOption = None,
    output_format: DataFormatOption = DataFormat.text,
) -> None:
    """For one member: every condition of the segment, its values, and whether it passed."""
    from segdsl.execute import fit_to_warehouse
    from segdsl.explain.report import WhyNode, fill_why, why_sql, why_tree

    project = load_project(path)
    url = database_url(db, project.settings)
    with fail_on_compile_error(project), engine_errors():
        compiler = compiler_for(project, parse_params(param))
        moment = compiler.as_of(as_of)
        with open_engine(url, project.settings) as engine:
            compiler = fit_to_warehouse(compiler, engine, [segment])
            tree = why_tree(compiler, segment)
            sql, columns = why_sql(compiler, tree, key, dialect=engine.dialect, as_of=moment)
            pinned = is_pinned(as_of, project.settings)
            freshness = None if pinned else stale_check_sql(compiler, [segment], engine.dialect)
            engine.reserve([query for query in (freshness, sql) if query])
            if not pinned:
                note_unpinned(moment)
                warn_if_stale(engine, compiler, [segment], moment)
            rows = engine.query(sql).to_pylist()
            report_spent(engine)
    if not rows:
        typer.echo(
            f"{key} is not in the population as of {moment} (no such key, or joined later)",
            err=True,
        )
        raise typer.Exit(1)
    fill_why(tree, columns, rows[0])

    def as_dict(node: WhyNode) -> dict[str, object]:
        return {
            "condition": node.text,
            "passed": node.result,
            "values": {label: value for label, value in node.shown},
            "children": [as_dict(child) for child in node.children],
        }

    if output_format is DataFormat.json:
        payload = {
            "key": key,
            "segment": segment,
            "as_of": iso_time(moment),
            "member": tree.result,
            **as_dict(tree),
        }
        emit(payload)
        return
    verdict = "IN" if tree.result else "NOT in"
    typer.echo(f"{key} is {verdict} {segment} (as of {moment})\n")

    def show(node: WhyNode, depth: int) -> None:
        mark = "✓" if node.result else "✗"
        values = ", ".join(
            f"{label} = {'missing' if value is None else value}" for label, value in node.shown
        )
        typer.echo(f"{'  ' * depth}{mark} {node.text}" + (f"    [{values}]" if values else ""))
        for child in node.children:
            show(child, depth + 1)

    show(tree, 0)
