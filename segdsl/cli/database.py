"""Which database a command talks to, with progress display and clean engine errors."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from segdsl.cli.common import EXIT_FINDINGS, compiler_for, fail_on_compile_error, parse_params

if TYPE_CHECKING:
    from segdsl.compiler import Compiler
    from segdsl.engines import Engine
    from segdsl.project import Project
    from segdsl.settings import Settings


def database_url(option: str | None, settings: Settings, *, allow_demo: bool = True) -> str:
    """--db, else the URL variable named in the settings, else `database`, else the demo."""
    if option:
        return option
    from_env = os.environ.get(settings.database_url_env)
    if from_env:
        return from_env
    if settings.database:
        return settings.database
    if not allow_demo:
        typer.echo(
            f"error: no database: pass --db URL or set {settings.database_url_env}", err=True
        )
        raise typer.Exit(2)
    return demo_database()


def demo_database() -> str:
    """The embedded demo warehouse's URL, building it first if it is not there yet."""
    from segdsl.execute import demo_database_path, demo_url

    path = demo_database_path()
    if not path.exists():
        from segdsl.demo import build_demo_database

        path.parent.mkdir(parents=True, exist_ok=True)
        with progress("building the demo warehouse (first run only)"):
            build_demo_database(path, scale=1.0)
        typer.echo(f"built the demo warehouse at {path}", err=True)
    return demo_url(path)


def interactive() -> bool:
    """Progress is shown on a terminal and never in CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextlib.contextmanager
def progress(message: str) -> Iterator[None]:
    """A spinner with elapsed time on a terminal; nothing otherwise."""
    if not interactive():
        yield
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    start = time.monotonic()
    with Progress(*columns, console=console, transient=True) as bar:
        bar.add_task(message, total=None)
        yield
    console.print(f"[dim]{message}: {time.monotonic() - start:.1f}s[/dim]")


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """EngineError and export failures → one line on stderr and exit status 1."""
    from segdsl.engines import EngineError
    from segdsl.engines.export import ExportError

    try:
        yield
    except EngineError as error:
        typer.echo(f"error ({error.kind}): {error.message}", err=True)
        raise typer.Exit(EXIT_FINDINGS) from None
    except ExportError as error:
        typer.echo(f"error (export): {error}", err=True)
        raise typer.Exit(EXIT_FINDINGS) from None


def open_engine(url: str, settings: Settings, *, maximum_bytes_billed: int | None = None) -> Engine:
    from segdsl.engines import connect

    spark_demo = None
    if url.strip().rstrip("/").lower() == "spark://local":
        spark_demo = spark_demo_folder()
    with progress("starting Spark") if spark_demo is not None else contextlib.nullcontext():
        return connect(
            url,
            statement_timeout=float(settings.statement_timeout),
            maximum_bytes_billed=maximum_bytes_billed,
            labels={"tool": "segdsl"},
            read_folders=settings.read_folders,
            spark_tables=dict(settings.spark_tables),
            spark_demo=spark_demo,
        )


def spark_demo_folder() -> Path:
    """The demo warehouse as Parquet files for a local Spark session (built on first use)."""
    from segdsl.demo.spark_parquet import export_parquet
    from segdsl.execute import demo_database_path

    demo_database()  # builds the DuckDB demo first if it is not there yet
    return export_parquet(demo_database_path())


@dataclass(frozen=True)
class OnDatabase:
    """A project compiled for a command that runs it on a database (`on_database`)."""

    project: Project
    url: str
    compiler: Compiler

    def open_engine(self, *, maximum_bytes_billed: int | None = None) -> Engine:
        return open_engine(
            self.url, self.project.settings, maximum_bytes_billed=maximum_bytes_billed
        )


@contextlib.contextmanager
def on_database(
    path: Sequence[Path], db: str | None, param: Sequence[str] | None
) -> Iterator[OnDatabase]:
    """The project at `path` compiled with the `--param` values, and the database of `--db`
    (else the settings'): inside the block, compile errors end the command with their
    diagnostics and engine errors with one line."""
    from segdsl.project import load_project

    project = load_project(path)
    url = database_url(db, project.settings)
    with fail_on_compile_error(project), engine_errors():
        yield OnDatabase(project, url, compiler_for(project, parse_params(param)))
