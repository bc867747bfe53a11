"""Source text and spans: file contents → line/column lookups for diagnostics; reading
a `.seg` file safely (`read_source`)."""

from __future__ import annotations

import bisect
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segdsl.diagnostics import Diagnostic

# The largest `.seg` file read: 1 MiB. The largest example file is 2 KB and a project of
# a thousand definitions about 150 KB; parsing takes about a second per MB.
MAX_SOURCE_BYTES = 1024 * 1024
BOM = "\ufeff"


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


def read_source(path: str | Path) -> SourceFile | Diagnostic:
    """The text of a `.seg` file, or the diagnostic saying why it cannot be read.

    Only regular files are read (a pipe or a device gives SEG507 instead of a hang), at
    most MAX_SOURCE_BYTES of them (SEG506), as UTF-8 (SEG508); a byte-order mark is
    dropped, so columns count from the first character after it.
    """
    from segdsl.diagnostics import Diagnostic  # diagnostics imports this module

    name = str(path)
    where = Span(name, 1, 1, 1, 1)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        handle = os.open(name, flags)  # a pipe opened without O_NONBLOCK waits for a writer
    except OSError as error:
        return Diagnostic("SEG504", f"cannot read {name}: {error.strerror}", where)
    with os.fdopen(handle, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):  # what was opened, not a name
            return Diagnostic(
                "SEG507",
                f"{name} is not a regular file",
                where,
                help="only regular files are read as .seg sources, not pipes or devices",
            )
        try:
            data = stream.read(MAX_SOURCE_BYTES + 1)
        except OSError as error:
            return Diagnostic("SEG504", f"cannot read {name}: {error.strerror}", where)
    if len(data) > MAX_SOURCE_BYTES:
        return too_large(name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        return Diagnostic(
            "SEG508",
            f"{name} is not UTF-8 text: byte 0x{data[error.start]:02x} cannot start a character",
            Span(name, line, column, line, column + 1),
            help="save the file as UTF-8",
        )
    return SourceFile(name, text.removeprefix(BOM))


def too_large(path: str) -> Diagnostic:
    """SEG506: a file (or text) over MAX_SOURCE_BYTES."""
    from segdsl.diagnostics import Diagnostic  # diagnostics imports this module

    return Diagnostic(
        "SEG506",
        f"{path} is larger than {MAX_SOURCE_BYTES:,} bytes",
        Span(path, 1, 1, 1, 1),
        help="split it into several files (a folder of .seg files is one project)",
    )
