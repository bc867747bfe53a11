"""A file's text → its parse, re-using the statements whose text did not change.

The file is cut before each statement keyword at the start of a line (where the parser
resynchronises too); each piece is parsed on its own and kept by its text, and its spans
are moved to where the piece now starts. When every piece parses without a diagnostic,
the result is the whole file's parse (`tests/test_lsp_units.py` checks spans too);
otherwise the whole file is parsed as `seg validate` parses it.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from typing import Any

from segdsl.source import SourceFile, Span
from segdsl.syntax import nodes
from segdsl.syntax.parser import STATEMENT_KEYWORDS, ParseResult, parse

_STATEMENT = re.compile(r"^(?:{})\b".format("|".join(STATEMENT_KEYWORDS)), re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class _Piece:
    """One piece parsed alone: spans relative to its start (line 1, offset 0)."""

    module: nodes.Module | None


class PieceCache:
    """Pieces of one file by their text (the ones of the last parse only)."""

    def __init__(self) -> None:
        self.pieces: dict[tuple[str, bool], _Piece] = {}

    def parse(self, source: SourceFile) -> ParseResult:
        """`parse(source)`, re-using the pieces that did not change since the last call."""
        text = source.text
        starts = [m.start() for m in _STATEMENT.finditer(text)]
        bounds = [0, *[s for s in starts if s > 0], len(text)]
        used: dict[tuple[str, bool], _Piece] = {}
        statements: list[nodes.Statement] = []
        comments: list[nodes.Comment] = []
        version: int | None = None
        first_span: Span | None = None
        last_span: Span | None = None
        line = 1
        for index, (start, end) in enumerate(itertools.pairwise(bounds)):
            chunk = text[start:end]
            key = (chunk, index == 0)
            piece = used.get(key) or self.pieces.get(key)
            if piece is None:
                result = parse(SourceFile(source.path, chunk))
                piece = _Piece(None if result.diagnostics else result.module)
            used[key] = piece
            if piece.module is None:
                self.pieces = used
                return parse(source)
            module = piece.module
            if index == 0:
                version = module.version
            if module.statements or module.version is not None:
                shifted = _shift(module.span, start, line - 1)
                first_span = first_span or shifted
                last_span = shifted
            statements.extend(_shift(s, start, line - 1) for s in module.statements)
            comments.extend(_shift(c, start, line - 1) for c in module.comments)
            line += chunk.count("\n")
        self.pieces = used
        if first_span is None or last_span is None:
            return parse(source)
        span = first_span.to(last_span)
        return ParseResult(nodes.Module(version, tuple(statements), tuple(comments), span=span), ())


_FIELDS: dict[type, tuple[str, ...]] = {}


def _shift(node: Any, offset: int, lines: int) -> Any:
    """`node` with every span moved by `offset` characters and `lines` lines."""
    if not offset and not lines:
        return node
    if isinstance(node, Span):
        return Span(
            node.path,
            node.line + lines,
            node.column,
            node.end_line + lines,
            node.end_column,
            node.start + offset,
            node.end + offset,
        )
    if isinstance(node, tuple):
        return tuple(_shift(item, offset, lines) for item in node)
    kind = type(node)
    names = _FIELDS.get(kind)
    if names is None:
        if not dataclasses.is_dataclass(node):
            return node
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(node))
    moved = object.__new__(kind)
    for name in names:
        object.__setattr__(moved, name, _shift(getattr(node, name), offset, lines))
    return moved
