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
from segdsl.cli.database import engine_errors, on_database, open_engine, progress
from segdsl.cli.freshness import (
    is_pinned,
    note_as_of,
    note_unpinned,
    report_spent,
    stale_check_sql,
    warn_if_stale,
)
from segdsl.cli.jsonout import emit, iso_time
from segdsl.cli.terminal import rich_layout, share_table, show, show_lines

if TYPE_CHECKING:
    from rich.console import RenderableType

    from segdsl.engines.base import Spent
    from segdsl.explain.dependencies import Dependency
    from segdsl.explain.report import Explanation, WhyNode
    from segdsl.explain.why_render import WhyLine


def explain(
    path: Annotated[list[Path], typer.Argument(help="Files or folders of .seg files.")],
    segment: Annotated[
        str,
        typer.Option(
            "--segment",
            "-s",
            help="The definition: a name, or a glob or tag:/owner: selecting one.",
        ),
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
    from segdsl.project import load_project

    if plan and db is None:
        usage_error("--plan needs --db")
    if funnel_too and not plan:
        usage_error("--funnel goes with --plan (without --plan, --db counts the funnel)")
    project = load_project(path)
    with fail_on_compile_error(project), engine_errors():
        compiler = compiler_for(project, parse_params(param))
        segment = compiler.select_one(segment)  # a name, or a glob/tag/owner selecting one
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
    if rich_layout():
        _show_explanation(report, funnel, plan_text)
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
    segment: Annotated[
        str,
        typer.Option("--segment", "-s", help="The segment: a name, or a selector selecting one."),
    ],
    db: DatabaseOption = None,
    as_of: AsOfOption = None,
    param: ParamOption = None,
    output_format: DataFormatOption = DataFormat.text,
) -> None:
    """For one member: every condition of a segment (or rule of a classifier) and its values.

    A sequence shows the member's rows behind it, a ranking the member's position.
    """
    from segdsl.execute import fit_to_warehouse
    from segdsl.explain.reasons import add_reasons
    from segdsl.explain.report import fill_why, why_sql, why_tree
    from segdsl.explain.why_render import why_dict, why_lines

    with on_database(path, db, param) as opened:
        compiler = opened.compiler
        segment = compiler.select_one(segment)  # a name, or a glob/tag/owner selecting one
        moment = compiler.as_of(as_of)
        with opened.open_engine() as engine:
            compiler = fit_to_warehouse(compiler, engine, [segment])
            tree = why_tree(compiler, segment)
            sql, columns = why_sql(compiler, tree, key, dialect=engine.dialect, as_of=moment)
            pinned = is_pinned(as_of, opened.project.settings)
            freshness = None if pinned else stale_check_sql(compiler, [segment], engine.dialect)
            engine.reserve([query for query in (freshness, sql) if query])
            note_as_of(engine, compiler, [segment], moment, pinned=pinned)
            rows = engine.query(sql).to_pylist()
            if rows:
                fill_why(tree, columns, rows[0])
                add_reasons(
                    compiler,
                    tree,
                    key,
                    lambda text: engine.query(text).to_pylist(),
                    engine.dialect,
                    moment,
                )
            report_spent(engine)
    if not rows:
        typer.echo(
            f"{key} is not in the population as of {moment} (no such key, or joined later)",
            err=True,
        )
        raise typer.Exit(1)
    classifier = bool(tree.expr.type.labels)
    if output_format is DataFormat.json:
        payload = {
            "key": key,
            "segment": segment,
            "as_of": iso_time(moment),
            "member": tree.result,
            **({"label": tree.label} if classifier else {}),
            **why_dict(tree),
        }
        emit(payload)
        return
    if classifier:
        label = "no label" if tree.label is None else f"labelled {tree.label}"
        heading = f"{key} is {label} by {segment} (as of {moment})"
    else:
        verdict = "IN" if tree.result else "NOT in"
        heading = f"{key} is {verdict} {segment} (as of {moment})"
    if rich_layout():
        _show_why(tree, heading)
        return
    typer.echo(f"{heading}\n")
    for line in why_lines(tree):
        typer.echo(line)


def _show_explanation(
    report: Explanation, funnel: list[tuple[str, int]], plan_text: str | None
) -> None:
    """`seg explain` on a terminal: the same sections, the dependencies as a tree and the
    funnel as a table with a bar per step."""
    from rich.text import Text

    title = Text(f"{report.kind} {report.name}", style="bold")
    if report.description:
        title.append(f" — {report.description}")
    show(title)
    meta = [f"defined at {report.location}"]
    if report.owner:
        meta.append(f"owner {report.owner}")
    if report.tags:
        meta.append("tags " + ", ".join(report.tags))
    show_lines([" · ".join(meta), f"as of {report.as_of}", ""])
    show(Text("Definition", style="bold"))
    show_lines([report.definition, ""])
    show(Text("In words", style="bold"))
    show_lines([*report.words, ""])
    if report.dependency_tree is not None:
        show(Text("Depends on", style="bold"))
        show(_dependency_tree(report.dependency_tree), indent=2)
        show_lines([""])
    show(Text(f"SQL ({report.dialect})", style="bold"))
    show_lines(report.sql.splitlines())
    if funnel:
        show(Text("\nFunnel", style="bold"))
        show(share_table("step", funnel, funnel[0][1]), indent=2)
    if plan_text:
        show(Text("\nPlan", style="bold"))
        show_lines(plan_text.splitlines())


def _dependency_tree(root: Dependency) -> RenderableType:
    from rich.text import Text
    from rich.tree import Tree

    from segdsl.explain.dependencies import label

    def styled(node: Dependency) -> Text:
        style = "bold" if node.kind in ("segment", "measure", "classifier", "split") else ""
        return Text(label(node), style=style)

    def grow(tree: Tree, node: Dependency) -> None:
        for child in node.children:
            grow(tree.add(styled(child)), child)

    tree = Tree(styled(root), guide_style="dim")
    grow(tree, root)
    return tree


def _show_why(root: WhyNode, heading: str) -> None:
    """`seg why` on a terminal: the conditions as a tree, passed green and failed red (a
    sequence's rows and rules not reached dim)."""
    from rich.text import Text
    from rich.tree import Tree

    from segdsl.explain.why_render import why_rows

    def styled(line: WhyLine) -> Text:
        colour = {True: "green", False: "red", None: "dim"}[line.passed]
        text = Text()
        text.append(f"{line.mark} ", style=colour)
        text.append(line.text, style="dim" if line.passed is None else "")
        if line.note:
            text.append(line.note, style="dim")
        return text

    rows = why_rows(root)
    tree = Tree(styled(rows[0]), guide_style="dim")
    parents = [tree]  # the branch at each depth
    for line in rows[1:]:
        del parents[line.depth :]
        parents.append(parents[-1].add(styled(line)))
    show(Text(heading, style="bold"))
    show(Text(""))
    show(tree)
