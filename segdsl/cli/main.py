"""The `seg` command: registers subcommands and turns crashes into a plain message."""

from __future__ import annotations

import gc
import signal
import sys
from types import FrameType
from typing import Annotated, NoReturn

import typer

from segdsl import __version__
from segdsl.cli.compile import compile_command
from segdsl.cli.demo import demo
from segdsl.cli.diff import diff
from segdsl.cli.docs import docs
from segdsl.cli.explain import explain, why
from segdsl.cli.fmt import fmt
from segdsl.cli.history import changes, snapshot
from segdsl.cli.listing import list_command
from segdsl.cli.run import overlap, run
from segdsl.cli.schema import app as schema_app
from segdsl.cli.terminal import ColorMode, set_color_mode
from segdsl.cli.test import test_command
from segdsl.cli.trend import trend
from segdsl.cli.validate import validate

app = typer.Typer(
    name="seg",
    help="Customer segments as code: validate, compile, run and explain .seg files.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"seg {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    color: Annotated[
        ColorMode,
        typer.Option(
            "--color",
            metavar="WHEN",
            show_default=False,
            help="auto (tables and colour on a terminal), always or never.",
        ),
    ] = ColorMode.auto,
) -> None:
    """Customer segments as code."""
    set_color_mode(color)


app.command("validate")(validate)
app.command("compile")(compile_command)
app.command("fmt")(fmt)
app.command("run")(run)
app.command("overlap")(overlap)
app.command("demo")(demo)
app.command("explain")(explain)
app.command("why")(why)
app.command("diff")(diff)
app.command("test")(test_command)
app.command("list")(list_command)
app.command("docs")(docs)
app.command("snapshot")(snapshot)
app.command("changes")(changes)
app.command("trend")(trend)
app.add_typer(schema_app, name="schema")


@app.command("lsp")
def lsp() -> None:
    """Run the language server over stdio, for editors (needs segdsl's `lsp` extra)."""
    try:
        from segdsl.lsp.server import serve  # pygls loads only when the server starts
    except ModuleNotFoundError as missing:
        typer.echo(f"error: `seg lsp` needs {missing.name}: pip install 'segdsl[lsp]'", err=True)
        raise typer.Exit(2) from None
    serve()


EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, as a shell reports a process ended by SIGTERM
_terminated = False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM ends the command the way Ctrl-C does (a running query is cancelled, a
    half-written export's `.part` file removed), then `main` exits with 143."""
    global _terminated
    _terminated = True
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the clean-up
    raise KeyboardInterrupt


def main() -> None:
    """Console entry point: no Python traceback ever reaches the user."""
    _tune_garbage_collection()
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app()
    except KeyboardInterrupt:
        _exit_interrupted()
    except SystemExit:
        if _terminated:
            _exit_interrupted()
        raise
    except Exception as error:  # a bug: say so plainly, without a traceback
        if _terminated:  # an error while stopping is the stop's doing, not a bug
            _exit_interrupted()
        typer.echo(
            f"internal error [SEG901]: {type(error).__name__}: {error}\n"
            "This is a bug in segdsl, not in your files. "
            "Please report it with the command you ran.",
            err=True,
        )
        sys.exit(1)


def _tune_garbage_collection() -> None:
    """Collect less often in this short-lived process (as mypy does).

    Parsed files and plans are acyclic, so reference counting frees them; the cycle
    collector mostly re-scanned the imported modules and every tree built so far, a
    tenth of the time of `seg validate` on a large project (docs/performance.md).
    """
    gc.freeze()  # what the imports created stays alive until exit anyway
    gc.set_threshold(200_000, 30, 30)


def _exit_interrupted() -> NoReturn:
    if _terminated:
        typer.echo("terminated", err=True)
        sys.exit(EXIT_TERMINATED)
    typer.echo("cancelled", err=True)
    sys.exit(130)
