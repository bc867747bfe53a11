"""How text output looks: plain (for scripts) or rich tables, bars and trees (for people).

Two decisions, made once per run (`--color auto|always|never`, NO_COLOR, FORCE_COLOR):

- **layout**: rich tables with share bars and box-drawn trees when standard output is a
  terminal, or when colour is forced (`--color always`, or FORCE_COLOR set); otherwise
  *plain text*, byte for byte what scripts have always read. A pipe, a file or a CI log
  gets plain text unless colour is forced.
- **colour**: `--color always` → yes; `--color never` → no; `auto` → not when NO_COLOR is
  set (non-empty), yes when FORCE_COLOR is set (non-empty), else only on a terminal.

`--format json` never goes through here. rich loads only for the rich layout.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, TextIO

import typer

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table


class ColorMode(StrEnum):
    auto = "auto"
    always = "always"
    never = "never"


_mode = ColorMode.auto


def set_color_mode(mode: ColorMode) -> None:
    """The `--color` option (the root command's), for the rest of the run."""
    global _mode
    _mode = mode


def _env(name: str) -> bool:
    return bool(os.environ.get(name, ""))


def _is_terminal(stream: TextIO | None) -> bool:
    target = stream or sys.stdout
    return bool(getattr(target, "isatty", lambda: False)())


def color_forced() -> bool:
    """`--color always`, or FORCE_COLOR with `--color auto`."""
    return _mode is ColorMode.always or (_mode is ColorMode.auto and _env("FORCE_COLOR"))


def use_color(stream: TextIO | None = None) -> bool:
    """Whether to colour what goes to `stream` (default: standard output)."""
    if _mode is not ColorMode.auto:
        return _mode is ColorMode.always
    if _env("NO_COLOR"):
        return False
    return _env("FORCE_COLOR") or _is_terminal(stream)


def rich_layout(stream: TextIO | None = None) -> bool:
    """Tables, bars and trees (else plain text): on a terminal, or when colour is forced."""
    return color_forced() or _is_terminal(stream)


def console(stream: TextIO | None = None) -> Console:
    """A rich console on `stream` (default: standard output) for the rich layout."""
    from rich.console import Console

    target = stream or sys.stdout
    colour = use_color(target)
    return Console(
        file=target,
        force_terminal=True,
        no_color=not colour,
        color_system="auto" if colour else None,
        highlight=False,
        emoji=False,
    )


def show(renderable: RenderableType, *, indent: int = 0) -> None:
    """Print one rich renderable on standard output (indented by `indent` columns)."""
    if indent:
        from rich.padding import Padding

        renderable = Padding(renderable, (0, 0, 0, indent), expand=False)
    console().print(renderable)


def show_lines(lines: Sequence[str], *, indent: int = 2) -> None:
    """Lines of text as they are (long lines wrap in the terminal, not here), indented."""
    out = console()
    for line in lines:
        out.print(" " * indent + line, soft_wrap=True, markup=False)


def bar(share: float, width: int = 20) -> RenderableType:
    """A horizontal bar for a share between 0 and 1."""
    from rich.bar import Bar

    return Bar(size=1.0, begin=0.0, end=max(0.0, min(share, 1.0)), width=width, color="cyan")


def share_text(count: int, total: int) -> str:
    """`12.5%` (one decimal), or `-` without a population."""
    return f"{100 * count / total:.1f}%" if total else "-"


def table() -> Table:
    """An empty rich table in the one style of `seg`: a bold header over a rule."""
    from rich import box
    from rich.table import Table

    return Table(box=box.SIMPLE_HEAD, header_style="bold", show_edge=False, pad_edge=False)


def share_table(header: str, rows: Sequence[tuple[str, int]], total: int) -> Table:
    """Counts with their share of `total` and a bar: sizes, labels, funnel steps."""
    shares = table()
    shares.add_column(header)
    shares.add_column("members", justify="right", no_wrap=True)
    shares.add_column("share", justify="right", no_wrap=True)
    shares.add_column("", no_wrap=True)
    for name, count in rows:
        share = count / total if total else 0.0
        shares.add_row(name, f"{count:,}", share_text(count, total), bar(share))
    return shares


@dataclass(frozen=True)
class Column:
    header: str
    numeric: bool = False
    wrap: bool = False  # the last, free-text column: wraps in rich, unpadded in plain


def print_table(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
    """A table: rich on a terminal; plain columns separated by two spaces otherwise."""
    if rich_layout():
        rich_table = table()
        for column in columns:
            rich_table.add_column(
                column.header,
                justify="right" if column.numeric else "left",
                no_wrap=not column.wrap,
                overflow="fold" if column.wrap else "ellipsis",
            )
        for row in rows:
            rich_table.add_row(*row)
        show(rich_table)
        return
    widths = [max([len(c.header), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    for cells in [[c.header for c in columns], *rows]:
        parts = []
        for index, (cell, column) in enumerate(zip(cells, columns, strict=True)):
            last = index == len(columns) - 1
            if column.numeric:
                parts.append(cell.rjust(widths[index]))
            else:
                parts.append(cell if last else cell.ljust(widths[index]))
        typer.echo("  ".join(parts).rstrip())
