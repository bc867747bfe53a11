"""Source text and spans: file contents → line/column lookups for diagnostics."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A region of one source file: 1-based line/column, 0-based offsets (end exclusive)."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    start: int = 0
    end: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    def to(self, other: Span) -> Span:
        """The span from the start of this one to the end of `other`."""
        return Span(
            self.path,
            self.line,
            self.column,
            other.end_line,
            other.end_column,
            self.start,
            other.end,
        )


NO_SPAN = Span("<builtin>", 1, 1, 1, 1)
_NEWLINE = re.compile("\n")


@dataclass(frozen=True)
class SourceFile:
    """The text of one `.seg` file (or a snippet) with fast line lookups."""

    path: str
    text: str
    _line_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = (0, *(match.end() for match in _NEWLINE.finditer(self.text)))
        object.__setattr__(self, "_line_starts", starts)

    def line_text(self, line: int) -> str:
        """The text of 1-based `line`, without its newline ('' if out of range)."""
        if line < 1 or line > len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end == -1 else self.text[start:end]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a 0-based character offset."""
        offset = max(0, min(offset, len(self.text)))
        line_index = bisect.bisect_right(self._line_starts, offset) - 1
        return line_index + 1, offset - self._line_starts[line_index] + 1

    def span(self, start: int, end: int) -> Span:
        """A span between two 0-based offsets."""
        # `position` twice, inlined: the parser asks for a span per node
        starts, size = self._line_starts, len(self.text)
        first, last = max(0, min(start, size)), max(0, min(end, size))
        line, end_line = bisect.bisect_right(starts, first), bisect.bisect_right(starts, last)
        column, end_column = first - starts[line - 1] + 1, last - starts[end_line - 1] + 1
        return Span(self.path, line, column, end_line, end_column, start, end)
