"""Spans and offsets ↔ LSP positions (0-based lines, UTF-16 code units by default)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from lsprotocol import types

from segdsl.source import SourceFile, Span


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def position(source: SourceFile | None, line: int, column: int) -> types.Position:
    """The LSP position of 1-based `line` and code-point `column`."""
    if source is None:
        return types.Position(max(line - 1, 0), max(column - 1, 0))
    text = source.line_text(line)
    return types.Position(max(line - 1, 0), _utf16_length(text[: max(column - 1, 0)]))


def span_range(source: SourceFile | None, span: Span) -> types.Range:
    return types.Range(
        position(source, span.line, span.column), position(source, span.end_line, span.end_column)
    )


def offset_range(source: SourceFile, start: int, end: int) -> types.Range:
    return span_range(source, source.span(start, end))


def offset(source: SourceFile, where: types.Position) -> int:
    """The 0-based code-point offset of an LSP position (clamped to the text)."""
    line_text = source.line_text(where.line + 1)
    units = 0
    column = 0
    for char in line_text:
        if units >= where.character:
            break
        units += 2 if ord(char) > 0xFFFF else 1
        column += 1
    lines = source.text.split("\n")
    if where.line >= len(lines):
        return len(source.text)
    start = sum(len(line) + 1 for line in lines[: where.line])
    return min(start + column, len(source.text))


def path_uri(path: str) -> str:
    """The `file:` URI of an absolute path."""
    return Path(path).as_uri()


def uri_path(uri: str) -> Path | None:
    """The path of a `file:` URI (None for other schemes, such as unsaved documents)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(url2pathname(parsed.path))
