"""Diagnostics as data, and their renderings as text, JSON and GitHub annotations."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from segdsl.codes import CODES
from segdsl.source import SourceFile, Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One finding about the user's input: a code, a message, where, and how to fix it."""

    code: str
    message: str
    span: Span
    help: str | None = None
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        assert self.code in CODES, f"unregistered diagnostic code {self.code}"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict with a stable shape."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "help": self.help,
            "path": self.span.path,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
        }


class CompileError(Exception):
    """Raised by the library API when the input has errors; carries the diagnostics."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: Mapping[str, SourceFile]):
        self.diagnostics = list(diagnostics)
        self.sources = dict(sources)
        super().__init__(render_text(self.diagnostics, self.sources, color=False))


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A help line suggesting the closest candidate name, if one is close enough."""
    matches = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None


def sort_key(diagnostic: Diagnostic) -> tuple[str, int, int, str]:
    span = diagnostic.span
    return (span.path, span.line, span.column, diagnostic.code)


def render_text(
    diagnostics: Sequence[Diagnostic],
    sources: Mapping[str, SourceFile],
    *,
    color: bool = False,
) -> str:
    """Compiler-style text: location, code and message, the source line with a caret, help."""
    blocks = [_render_one(d, sources.get(d.span.path), color) for d in diagnostics]
    return "\n\n".join(blocks)


def _paint(text: str, style: str, color: bool) -> str:
    codes = {"red": "31", "yellow": "33", "blue": "34", "bold": "1", "cyan": "36"}
    return f"\033[{codes[style]}m{text}\033[0m" if color else text


def _render_one(diagnostic: Diagnostic, source: SourceFile | None, color: bool) -> str:
    span = diagnostic.span
    level_style = "red" if diagnostic.is_error else "yellow"
    location = "" if span.path.startswith("<") and source is None else f"{span}: "
    head = (
        f"{location}{_paint(diagnostic.severity.value, level_style, color)}"
        f"[{diagnostic.code}]: {_paint(diagnostic.message, 'bold', color)}"
    )
    lines = [head]
    if source is not None:
        text = source.line_text(span.line).expandtabs(1)
        gutter = str(span.line)
        pad = " " * len(gutter)
        last_column = span.end_column if span.end_line == span.line else len(text) + 1
        caret = "^" * max(1, last_column - span.column)
        lines.append(f"{pad} |")
        lines.append(f"{gutter} | {text}")
        lines.append(f"{pad} | {' ' * (span.column - 1)}{_paint(caret, level_style, color)}")
    if diagnostic.help:
        lines.append(f"  = help: {diagnostic.help}")
    return "\n".join(lines)


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    """A JSON document: {"diagnostics": [...], "errors": n, "warnings": n}."""
    errors = sum(1 for d in diagnostics if d.is_error)
    payload = {
        "diagnostics": [d.to_dict() for d in diagnostics],
        "errors": errors,
        "warnings": len(diagnostics) - errors,
    }
    return json.dumps(payload, indent=2)


def render_github(diagnostics: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands, one annotation per diagnostic."""

    def escape(value: str) -> str:
        return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def escape_property(value: str) -> str:
        return escape(value).replace(":", "%3A").replace(",", "%2C")

    out = []
    for d in diagnostics:
        s = d.span
        message = d.message + (f" (help: {d.help})" if d.help else "")
        out.append(
            f"::{'error' if d.is_error else 'warning'} "
            f"file={escape_property(s.path)},line={s.line},"
            f"col={s.column},endLine={s.end_line},endColumn={s.end_column},"
            f"title={escape_property(d.code)}::{escape(message)}"
        )
    return "\n".join(out)
