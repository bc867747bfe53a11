"""A half-typed file → the statements that still parse, with their real positions.

`seg validate` stops at syntax errors. An editor wants the rest of the project
checked while one definition is being typed, so each broken statement is blanked out
(spaces, newlines kept, so every offset stays the same) and the file is parsed again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from segdsl.diagnostics import Diagnostic
from segdsl.lsp.chunks import PieceCache
from segdsl.source import SourceFile
from segdsl.syntax import nodes
from segdsl.syntax.parser import STATEMENT_KEYWORDS, parse

SYNTAX_CODES = frozenset({"SEG001", "SEG002", "SEG005"})
_STATEMENT = re.compile(r"^(?:{})\b".format("|".join(STATEMENT_KEYWORDS)), re.MULTILINE)
_DECLARED = re.compile(
    r"^(?P<kind>{})\s+(?P<name>[A-Za-z_]\w*)".format("|".join(STATEMENT_KEYWORDS)), re.MULTILINE
)
_MEMBER = re.compile(r"^\s*(?:(?:key|time)\s+)?(?P<name>[A-Za-z_]\w*)\s*(?::|$)", re.MULTILINE)
_MAX_ROUNDS = 50
_KEYWORD_AND_NAME = re.compile(r"(?:\w+[ \t]+)?")


@dataclass(frozen=True)
class Salvaged:
    """One file's parse for the editor: what `seg validate` reports, and what still parsed."""

    diagnostics: tuple[Diagnostic, ...]  # exactly the parser's
    module: nodes.Module | None  # the whole file, or the statements that parsed
    broken_names: frozenset[str] = frozenset()  # names declared in blanked-out statements
    broken_entity: bool = False

    @property
    def complete(self) -> bool:
        """True when the file parsed without errors (nothing was dropped)."""
        return self.module is not None and not any(d.is_error for d in self.diagnostics)


def salvage(source: SourceFile, pieces: PieceCache | None = None) -> Salvaged:
    """Parse `source`; on syntax errors, parse it again without the broken statements.

    With `pieces`, the statements that did not change since its last parse are re-used.
    """
    result = pieces.parse(source) if pieces is not None else parse(source)
    if result.module is not None:
        return Salvaged(result.diagnostics, result.module)
    blanked: list[tuple[int, int]] = []
    attempt = result
    text = source.text
    last = -1
    for _ in range(_MAX_ROUNDS):
        if not attempt.diagnostics:
            break
        position = attempt.diagnostics[0].span.start
        own = position == last  # dropping the statement before did not help: drop this one
        if own and blanked:
            blanked.pop()
            text = _blank(source.text, blanked)
        region = _statement_around(text, position, cut_short=not own)
        if region in blanked or region[0] == region[1]:
            break
        blanked.append(region)
        last = position
        text = _blank(source.text, blanked)
        attempt = parse(SourceFile(source.path, text))
        if attempt.module is not None:
            return _salvaged(result.diagnostics, attempt.module, source.text, blanked)
    return _salvaged(result.diagnostics, None, source.text, blanked)


def _salvaged(
    diagnostics: tuple[Diagnostic, ...],
    module: nodes.Module | None,
    text: str,
    blanked: list[tuple[int, int]],
) -> Salvaged:
    names: set[str] = set()
    entity = False
    for start, end in blanked:
        chunk = text[start:end]
        for match in _DECLARED.finditer(chunk):
            names.add(match.group("name"))
            entity = entity or match.group("kind") == "entity"
        if re.match(r"\s*(entity|table)\b", chunk):
            names.update(m.group("name") for m in _MEMBER.finditer(chunk))
    return Salvaged(diagnostics, module, frozenset(names), entity)


def _statement_around(text: str, position: int, *, cut_short: bool = True) -> tuple[int, int]:
    """The statement to drop for an error at `position`: the one holding it, from its
    keyword to the next statement's, or the one before when the error is at the start
    of a statement (a statement cut short swallows the next keyword as a name)."""
    starts = [m.start() for m in _STATEMENT.finditer(text) if m.start() <= position]
    start = starts[-1] if starts else 0
    if cut_short and starts and _KEYWORD_AND_NAME.fullmatch(text, start, position):
        previous = starts[-2] if len(starts) > 1 else 0
        return previous, start
    line_end = text.find("\n", position)
    following = _STATEMENT.search(text, line_end + 1) if line_end != -1 else None
    end = following.start() if following else len(text)
    return start, max(end, position)


def _blank(text: str, regions: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in regions:
        for index in range(start, min(end, len(chars))):
            if chars[index] != "\n":
                chars[index] = " "
    return "".join(chars)
